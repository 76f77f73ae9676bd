"""Time a demo task's perf test on its base and head commits, outside the harness.

A plain check of the designed speedups (``python -m pytest_isobench.demo.build measure``
and the demo's tests): the perf test runs as a script in a worktree of each commit,
interleaved, and its last output line gives the time and the result's digest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .gitrun import git

if TYPE_CHECKING:
    from .tasks import DemoTask


def parse_perf_output(stdout: str) -> tuple[float, str]:
    """``(time_s, digest)`` from the last line of a perf test's standard output."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the perf test printed nothing")
    value = json.loads(lines[-1])
    if not isinstance(value, dict):
        raise ValueError(f"the last line is not a JSON object: {lines[-1]!r}")
    return float(value["time_s"]), str(value["digest"])


def runperf_script(checkout: Path, name: str, script: str, python: str = sys.executable) -> str:
    """Write *script* at the root of *checkout* and run it there; return its stdout."""
    path = checkout / f"_isobench_perf_{name}.py"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(
        [python, path.name],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{path} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def measure_task(
    repo: Path, task: DemoTask, runs: int = 15, python: str = sys.executable
) -> tuple[list[float], list[float]]:
    """Time the task's perf test on base and head (interleaved): ``(base, head)`` seconds."""
    script = task.perf_text()
    base_times: list[float] = []
    head_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="isobench-demo-wt-") as tmp:
        trees = {}
        for label, sha in (("base", task.base_commit), ("head", task.head_commit)):
            tree = Path(tmp) / label
            git(repo, "worktree", "add", "-q", "--detach", str(tree), sha)
            trees[label] = tree
        try:
            digests: set[str] = set()
            for _ in range(runs):
                for label, times in (("base", base_times), ("head", head_times)):
                    seconds, digest = parse_perf_output(runperf_script(trees[label], task.perf_name, script, python))
                    times.append(seconds)
                    digests.add(digest)
            if len(digests) != 1:
                raise RuntimeError(f"{task.instance_id}: base and head results differ")
        finally:
            for tree in trees.values():
                git(repo, "worktree", "remove", "--force", str(tree))
    return base_times, head_times
