"""Corrupt caches, damaged for real: agent patches, generated perf tests, repository clones.

A damaged entry must be detected, reported (a warning naming the file) and rebuilt, never
silently trusted: a cached patch edited by hand or cut short makes the agent run again; a
generated perf test cut short, edited or emptied is generated again at collection; a
clone missing an object or with a truncated pack is cloned again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI
from faultkit import make_project
from gitutil import git

from pytest_isobench.agents.agent import Agent, AgentContext, AgentRun
from pytest_isobench.agents.runner import CHECKSUM_KEY, cache_path, run_agent
from pytest_isobench.dataset.models import Task
from pytest_isobench.sandbox.repo import RepoCache
from pytest_isobench.testgen import cache as testgen_cache

SLOW = pytest.mark.slow


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


GENERATED = (
    "```python\nimport json, time\nt0 = time.perf_counter()\nvalue = sum(range({n}))\n"
    'print(json.dumps({{"time_s": time.perf_counter() - t0, "digest": str(value)}}))\n```\n'
)


def _forge_validated(text: str) -> str:
    """Claim validation in the header without running it (the checksum line is left as it was)."""
    lines = text.splitlines(keepends=True)
    return "".join([lines[0], "# validated: 2026-01-01T00:00:00Z forged\n", *lines[1:]])


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        # one kind of damage in the everyday tier, the rest with the slow tests (each one is
        # a collection and a perf-test generation in a pytest run of its own)
        pytest.param(lambda text: text[: len(text) * 2 // 3], "checksum does not match", id="truncated", marks=SLOW),
        pytest.param(
            lambda text: text.replace("sum(range(1))", "sum(range(7))"),
            "checksum does not match",
            id="code-edited",
            marks=SLOW,
        ),
        pytest.param(_forge_validated, "checksum does not match", id="validated-forged", marks=SLOW),
        pytest.param(
            lambda text: "".join(ln for ln in text.splitlines(True) if not ln.startswith("# sha256:")),
            "no '# sha256:'",
            id="checksum-removed",
            marks=SLOW,
        ),
        pytest.param(lambda text: "", "holds no code", id="empty", marks=SLOW),  # not even a header left
        # cut inside the first line: no header mark left
        pytest.param(lambda text: text[:14], "holds no code", id="header-cut"),
    ],
)
def test_damaged_generated_test_is_reported_at_collection_and_generated_again(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, damage: object, why: str
) -> None:
    project = make_project(pytester.path / "p", tasks=1)
    data = project.path / "data.jsonl"
    record = json.loads(data.read_text())
    record["perf_tests"] = []  # the collection hook generates it
    data.write_text(json.dumps(record) + "\n")
    answers = iter(range(1, 10))

    def answer(body: object) -> str:
        return GENERATED.format(n=next(answers))

    def collect() -> pytest.RunResult:
        args = project.args(project.path / "cache", project.path / "results")
        generate = ["--isobench-generate=missing", "--isobench-testgen-model=m"]
        return pytester.runpytest("--collect-only", "-q", *args, *generate)

    with FakeOpenAI([answer]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
        first = collect()
        found = list(pytester.path.rglob(f"generated_tests/fx/{project.ids[0]}.py"))
        assert first.ret == 0 and len(found) == 1, first.outlines[-30:]
        path = found[0]
        assert len(server.requests) == 1 and "sum(range(1))" in path.read_text()
        assert collect().ret == 0 and len(server.requests) == 1  # intact: used, no request
        path.write_text(damage(path.read_text()))  # type: ignore[operator]
        third = collect()
        printed = "\n".join(third.outlines + third.errlines)
        assert len(server.requests) == 2, f"a damaged generated test was trusted:\n{printed[-3000:]}"
    assert third.ret == 0 and "CacheWarning" in printed, printed[-3000:]
    assert f"generated test cache {path} is corrupt" in printed and why in printed, printed[-3000:]
    text = path.read_text()
    assert "sum(range(2))" in text and testgen_cache.problem(text) is None
    assert "forged" not in text and path.with_name(path.name + ".corrupt").is_file()
