"""Ctrl-C during timing: a real pytest subprocess gets SIGINT and must leave nothing behind.

The run is one demo task with a budget far longer than the test waits, so the signal
arrives while the variants are being timed (the perf script is already in the
checkouts). Afterwards no container of that run and no worktree may remain.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from demo_project import assert_no_worktree, copy_demo
from faultkit import interruptible

LONG = ("--isobench-max-time=300", "--isobench-min-rounds=150", "-k", "ac9bebc0")


def _start(path: Path, cache: Path, *args: str) -> subprocess.Popen[bytes]:
    copy_demo(path)
    argv = [sys.executable, "-m", "pytest", "tasks/demo.yaml", "-p", "no:cacheprovider"]
    argv += [f"--isobench-cache-dir={cache}", f"--isobench-results={path / 'results'}", *LONG, *args]
    return subprocess.Popen(argv, cwd=path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=interruptible)


def _wait_for(proc: subprocess.Popen[bytes], condition: Callable[[], bool], what: str, limit_s: float = 90) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"pytest exited ({proc.returncode}) before {what}:\n{out[-3000:]}")
        if condition():
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"timed out waiting for {what}")


def _interrupt(proc: subprocess.Popen[bytes]) -> str:
    time.sleep(2.0)  # well inside the timing rounds
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"pytest did not exit within 90 s of SIGINT:\n{out.decode()[-3000:]}")
    text = out.decode()
    assert proc.returncode == 2, text[-3000:]  # pytest's "interrupted"
    assert "KeyboardInterrupt" in text
    return text


def _perf_scripts(cache: Path) -> list[Path]:
    return list((cache / "worktrees").glob("*/*/*/_isobench_perf_*.py"))


@pytest.mark.slow
def test_sigint_during_timing_leaves_no_worktree(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = _start(tmp_path / "project", cache, "--isobench-backend=local")
    _wait_for(proc, lambda: len(_perf_scripts(cache)) == 2, "the perf test was put into both worktrees")
    _interrupt(proc)
    assert_no_worktree(cache)
    # No perf-test process of ours survives either.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(cache) not in ps


@pytest.mark.docker
@pytest.mark.slow
def test_sigint_during_timing_leaves_no_container(tmp_path: Path) -> None:
    import docker

    client = docker.from_env()
    before = {c.id for c in client.containers.list(all=True, filters={"label": "io.isobench"})}
    run: dict[str, str] = {}

    def timing() -> bool:
        # Other runs may share the engine: ours is the new human container of this task.
        for container in client.containers.list(filters={"label": "io.isobench.variant=human"}):
            if container.id in before or container.labels.get("io.isobench.task") != "demo-ac9bebc0":
                continue
            code, _ = container.exec_run(["sh", "-c", "ls /work/repo/_isobench_perf_*.py"])
            if code == 0:
                run["id"] = container.labels["io.isobench.run"]
                return True
        return False

    try:
        proc = _start(tmp_path / "project", tmp_path / "cache", "--isobench-backend=docker")
        _wait_for(proc, timing, "the perf test was put into the human container", limit_s=120)
        _interrupt(proc)
        left = client.containers.list(all=True, filters={"label": f"io.isobench.run={run['id']}"})
        assert left == [], [c.name for c in left]
    finally:
        client.close()
