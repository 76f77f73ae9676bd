"""Corrupt caches, damaged for real: the agent patch cache and the repository clones.

A damaged entry must be detected, reported (a warning naming the file) and rebuilt, never
silently trusted: a cached patch edited by hand or cut short makes the agent run again; a
clone missing an object or with a truncated pack is cloned again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from gitutil import git

from pytest_isobench.agents.base import Agent, AgentContext, AgentRun
from pytest_isobench.agents.runner import CHECKSUM_KEY, cache_path, run_agent
from pytest_isobench.dataset.models import Task
from pytest_isobench.sandbox.repo import RepoCache


class _Counting(Agent):
    name = "counting"
    needs_sandbox = True

    def __init__(self) -> None:
        self.runs = 0

    def run(self, ctx: AgentContext) -> AgentRun:
        self.runs += 1
        return AgentRun(patch=f"diff --git a/m.py b/m.py\n# run {self.runs}\n")


def _ctx(tmp_path: Path) -> AgentContext:
    task = Task(instance_id="x", head_commit="abc")
    return AgentContext(task=task, repo_dir=tmp_path, base_sha="a", head_sha="b", model="m", timeout_s=1, prompt="p")


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: text.replace("# run 1", "# run 9"),  # edited: valid JSON, wrong checksum
        lambda text: "",  # emptied
    ],
    ids=["truncated", "edited", "empty"],
)
def test_damaged_agent_patch_is_reported_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    agent, ctx = _Counting(), _ctx(tmp_path)
    first = run_agent(agent, ctx, tmp_path, rerun=False)
    assert run_agent(agent, ctx, tmp_path, rerun=False) == first and agent.runs == 1  # replayed
    path = cache_path(tmp_path, "counting", "m", "x@b")
    path.write_text(damage(path.read_text()))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="isobench"):
        again = run_agent(agent, ctx, tmp_path, rerun=False)
    assert agent.runs == 2 and "# run 2" in again.patch, "a damaged cache entry was trusted"
    assert f"agent patch cache {path} is corrupt" in caplog.text
    rebuilt = json.loads(path.read_text())
    assert rebuilt["patch"] == again.patch and CHECKSUM_KEY in rebuilt


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "-q")
    shas = []
    for i in range(3):
        (repo / "m.py").write_text(f"x = {i}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"c{i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    return repo, shas


def _damage_loose_object(clone: Path, sha: str) -> None:
    (clone / "objects" / sha[:2] / sha[2:]).unlink()


def _truncate_pack(clone: Path, sha: str) -> None:
    git(clone, "repack", "-a", "-d", "-q")
    pack = next((clone / "objects" / "pack").glob("*.pack"))
    data = pack.read_bytes()
    pack.chmod(0o644)
    pack.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("damage", [_damage_loose_object, _truncate_pack], ids=["missing-object", "truncated-pack"])
def test_damaged_clone_is_reported_and_cloned_again(
    tmp_path: Path, origin: tuple[Path, list[str]], caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    repo, shas = origin
    cache = RepoCache(tmp_path / "cache")
    clone = cache.ensure(str(repo), [shas[-1]])
    damage(clone, shas[-1])  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="isobench"):
        again = cache.ensure(str(repo), [shas[-1], shas[0]])
    assert again == clone
    assert f"repository cache {clone} is damaged" in caplog.text
    assert cache.resolve(clone, shas[-1]) == shas[-1]
    assert git(clone, "fsck", "--no-progress").strip() == ""
