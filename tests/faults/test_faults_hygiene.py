"""Disk hygiene across runs: ``isobench clean`` removes every labelled leftover of any run
(containers, volumes, worktrees in the cache) and nothing else; ``isobench doctor``
reports the cache directory's size.

Leftovers are made for real: containers and volumes on a private engine (``isobench
clean`` sweeps everything labelled, so it must never run against the shared one here),
worktrees with ``git worktree add`` as two killed runs would have left them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitutil import git
from private_engine import running

from pytest_isobench.results import runstate

ISOBENCH = str(Path(sys.executable).with_name("isobench"))


def _docker(host: str, *args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(["docker", "-H", host, *args], input=stdin, capture_output=True, check=True).stdout.decode()


def _cache_with_worktrees(cache: Path) -> Path:
    repo = cache / "repos" / "r.git"
    src = cache.parent / "src"
    src.mkdir()
    git(src, "init", "-q")
    (src / "f.py").write_text("x = 1\n" * 1000)
    git(src, "add", "-A")
    git(src, "commit", "-qm", "one")
    git(cache.parent, "clone", "-q", "--bare", str(src), str(repo))
    for run in ("run-a", "run-b"):
        for variant in ("baseline", "human"):
            git(repo, "worktree", "add", "-q", "--detach", str(cache / "worktrees" / run / "t1" / variant), "HEAD")
        # What a run killed with SIGKILL leaves of its notes (results/runstate.py).
        runstate.note_inflight(cache, run, "t1", {"item_id": "t1"})
    return repo


@pytest.mark.slow
def test_clean_removes_labelled_leftovers_of_every_run_and_nothing_else(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    repo = _cache_with_worktrees(cache)
    with running(load=False) as engine:
        host = engine.host
        # A tiny image: the containers are created, never started.
        (tmp_path / "img").mkdir()
        (tmp_path / "img" / "x").write_text("x")
        tar = subprocess.run(["tar", "-C", str(tmp_path / "img"), "-c", "."], capture_output=True, check=True).stdout
        _docker(host, "import", "-", "fx-empty:1", stdin=tar)
        for run in ("run-a", "run-b"):
            labels = ["--label", "io.isobench=1", "--label", f"io.isobench.run={run}"]
            _docker(host, "create", "--name", f"isobench-{run}", *labels, "fx-empty:1", "/x")
            _docker(host, "volume", "create", "--label", "io.isobench=1", f"isobench-vol-{run}")
        _docker(host, "create", "--name", "bystander", "fx-empty:1", "/x")
        _docker(host, "volume", "create", "bystander-vol")
        env = {**os.environ, "DOCKER_HOST": host}

        doctor = subprocess.run([ISOBENCH, "doctor", f"--cache-dir={cache}"], capture_output=True, text=True, env=env)
        line = next(x for x in doctor.stdout.splitlines() if x.startswith("[ok] cache "))
        assert str(cache) in line and "worktrees" in line and "repos" in line and "kB" in line, line
        assert "4 left by earlier runs" in doctor.stdout, doctor.stdout

        clean = subprocess.run([ISOBENCH, "clean", f"--cache-dir={cache}"], capture_output=True, text=True, env=env)
        assert clean.returncode == 0, clean.stderr
        # 4 worktrees, 2 runs' notes, 2 containers, 2 volumes
        assert "10 removed" in clean.stdout, clean.stdout
        assert "removed runs/run-a" in clean.stdout and "removed runs/run-b" in clean.stdout, clean.stdout
        assert _docker(host, "ps", "-a", "--format", "{{.Names}}").split() == ["bystander"]
        assert _docker(host, "volume", "ls", "--format", "{{.Name}}").split() == ["bystander-vol"]
    assert not any(p.is_file() for p in (cache / "worktrees").rglob("*"))
    assert list((cache / "runs").iterdir()) == []
    listing = git(repo, "worktree", "list", "--porcelain")
    assert listing.count("worktree ") == 1, listing
    assert (repo / "HEAD").exists(), "the clone itself must stay"


def test_clean_keeps_the_notes_of_a_run_that_changed_recently(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    runstate.note_inflight(cache, "old-run", "t1", {"item_id": "t1"})
    runstate.note_inflight(cache, "live-run", "t2", {"item_id": "t2"})
    old = runstate.run_dir(cache, "old-run")
    for path in [old, *old.rglob("*")]:
        os.utime(path, (1_000_000, 1_000_000))
    assert runstate.clean_runs(cache, older_than_s=3600) == ["runs/old-run"]
    assert runstate.inflight(cache, "live-run", "t2") == {"item_id": "t2"}
    assert runstate.clean_runs(cache) == ["runs/live-run"]
