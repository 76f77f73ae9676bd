"""SIGTERM and SIGHUP to pytest (CI cancelling a job, a closed terminal), and Ctrl-C pressed
again and again during clean-up, sent for real to a pytest subprocess mid-task.

Three synthetic tasks on the local backend; the first finishes, the second is being timed
when the signals arrive. Afterwards the first task's record must be byte for byte what it
was, no worktree and no process of the run may remain, and pytest must exit with its own
"interrupted" status (2).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from faultkit import make_project, output, record_bytes, start, wait_for


def _processes_under(path: Path) -> list[str]:
    """Processes whose working directory is under ``path`` (perf tests run in worktrees)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(path)):
                found.append(f"{entry.name} {cwd}")
    return found


def _interrupted_mid_task(tmp_path: Path, *signals: signal.Signals, every_s: float = 0.0) -> str:
    project = make_project(tmp_path / "p", tasks=3, extra=["", "time.sleep(60)", ""])
    cache, results = tmp_path / "cache", tmp_path / "results"
    proc = start(project, cache, results, "--isobench-backend=local")
    try:
        scripts = lambda: list((cache / "worktrees").glob(f"*/{project.ids[1]}/*/_isobench_perf_*.py"))  # noqa: E731
        wait_for(proc, lambda: len(scripts()) == 2, "the second task's perf test in both worktrees", limit_s=120)
        time.sleep(0.5)
        before = record_bytes(results)
        assert list(before) == [f"{project.ids[0]}.json"]
        for signum in signals:
            if proc.poll() is not None:
                break
            proc.send_signal(signum)
            time.sleep(every_s)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = output(project)
    assert proc.returncode == 2, text[-3000:]  # pytest's "interrupted"
    assert record_bytes(results) == before, "a finished task's record changed"
    left = [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
    assert left == [], left[:5]
    assert _processes_under(tmp_path) == []
    return text


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_ending_signal_mid_task_cleans_up(tmp_path: Path, signum: signal.Signals) -> None:
    text = _interrupted_mid_task(tmp_path, signum)
    assert f"Interrupted: {signum.name}" in text


@pytest.mark.slow
def test_ctrl_c_again_and_again_during_clean_up(tmp_path: Path) -> None:
    # The first Ctrl-C stops the run; the next ones land during clean-up and are noted.
    text = _interrupted_mid_task(tmp_path, *[signal.SIGINT] * 40, every_s=0.01)
    assert "KeyboardInterrupt" in text
