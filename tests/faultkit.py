"""A small synthetic project for fault tests: a git repository, a dataset and a suite.

Each task is one commit of a tiny repository whose ``speed.py`` sets a delay; the perf
test sleeps that long (plus whatever ``extra`` code a test gives it) and reports
``time_s``, so a task takes a known, short time. ``start`` runs pytest on the suite in a
subprocess of its own process group, so a test can signal it the way CI or a user does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitutil import git

PERF = """\
import json, os, sys, time
sys.path.insert(0, os.getcwd())
from speed import DELAY
{extra}
t0 = time.perf_counter()
time.sleep(DELAY)
print(json.dumps({{"time_s": time.perf_counter() - t0, "digest": "same"}}))
"""


@dataclass
class Project:
    """The synthetic suite under ``path``; ``ids`` are its item ids in the order they run."""

    path: Path
    suite: Path
    ids: list[str]

    def args(self, cache: Path, results: Path, *extra: str) -> list[str]:
        return [
            str(self.suite),
            "-p",
            "no:cacheprovider",
            f"--isobench-cache-dir={cache}",
            f"--isobench-results={results}",
            *extra,
        ]


def make_project(
    path: Path,
    tasks: int = 3,
    *,
    delay_s: float = 0.01,
    extra: Sequence[str] | None = None,
    suite: dict[str, Any] | None = None,
    name: str = "fx",
) -> Project:
    """``tasks`` tasks, each a commit halving the delay (down to a quarter of ``delay_s``).

    ``extra[k]`` is code run in the perf test of the k-th task in run order.
    """
    repo = path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q")
    shas = []
    for i in range(tasks + 1):
        delay = max(delay_s * 2 / 2**i, delay_s / 4)
        (repo / "speed.py").write_text(f"DELAY = {delay:.6f}\nSTEP = {i}\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", f"step {i}")
        shas.append(git(repo, "rev-parse", "HEAD").strip())
    # Items run in node-id order: extra[k] goes to the k-th task of that order.
    order = sorted(range(tasks), key=lambda i: f"{name}-{shas[i + 1][:8]}")
    records = []
    for k, i in enumerate(order):
        code = (extra[k] if extra is not None and k < len(extra) else "") or ""
        records.append(
            {
                "instance_id": f"{name}-task-{k}",
                "repo": str(repo),
                "base_commit": shas[i],
                "head_commit": shas[i + 1],
                "perf_tests": [{"name": "perf", "script": PERF.format(extra=code)}],
            }
        )
    data = path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    spec: dict[str, Any] = {
        "name": name,
        "dataset": "data.jsonl",
        "image": "isobench-demo:bookworm",
        "perf": {"python": "python3", "timeout_s": 60},
        "timing": {"warmup": 0, "min_rounds": 2, "max_time_s": 2, "target_ci": 0.5},
        **(suite or {}),
    }
    suite_path = path / f"{name}.yaml"
    suite_path.write_text(json.dumps(spec, indent=1))  # JSON is YAML
    return Project(path, suite_path, sorted(f"{name}-{sha[:8]}" for sha in shas[1:]))


def interruptible() -> None:
    """``preexec_fn`` for a child that a test interrupts: SIGINT at its default, so that the
    child's Python turns it into KeyboardInterrupt even when this test process was started
    where SIGINT is ignored (a background job of a non-interactive shell, as some CI runners
    start their command: the ignored disposition is inherited and Python keeps it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(
    project: Project, cache: Path, results: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """pytest on the project's suite, in a new process group, output to ``path/out.txt``."""
    out = (project.path / "out.txt").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", *project.args(cache, results, *extra)],
        cwd=project.path,
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        preexec_fn=interruptible,
    )


def output(project: Project) -> str:
    return (project.path / "out.txt").read_text(errors="replace")


def wait_for(
    proc: subprocess.Popen[bytes] | None, condition: Callable[[], bool], what: str, limit_s: float = 120
) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"pytest exited ({proc.returncode}) before {what}")
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {limit_s:g}s waiting for {what}")


def records(results: Path) -> dict[str, dict[str, Any]]:
    """Every record file under ``results/tasks``, each parsed (a broken one fails the test)."""
    found = {}
    for path in sorted((results / "tasks").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        found[record["item_id"]] = record
    return found


def record_bytes(results: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((results / "tasks").glob("*.json"))}
