"""The Docker engine restarted mid-task, for real, on a private engine of the test's own.

Three synthetic tasks run against a dockerd started here (never the shared one). While
the second task's perf test runs, the daemon is SIGKILLed and started again. The task in
flight must end as ``error`` (infrastructure) in its record and in pytest alike (an error
in the terminal and in junitxml, run again by ``--lf``; never a failure), its reason must
name what broke in flight, the third must run, the first one's record must be byte for
byte what it was, and no container may be left on the engine.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from faultkit import make_project, output, record_bytes, records, start, wait_for
from private_engine import PrivateEngine, running


@pytest.fixture(scope="module")
def engine() -> Iterator[PrivateEngine]:
    with running() as private:
        yield private


def _containers(engine: PrivateEngine, *filters: str) -> list[str]:
    argv = ["docker", "-H", engine.host, "ps", "-a", "--format", "{{.Names}}"]
    for f in filters:
        argv += ["--filter", f"label={f}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return out.split()


@pytest.mark.docker
@pytest.mark.slow
def test_engine_restarted_mid_task(tmp_path: Path, engine: PrivateEngine) -> None:
    # Task 1 sleeps long in its first run: the engine dies under it.
    project = make_project(tmp_path / "p", tasks=3, extra=["", "time.sleep(float(os.environ.get('X', 30)))", ""])
    results = tmp_path / "results"
    env = {"DOCKER_HOST": engine.host, "ISOBENCH_ENGINE_WAIT_S": "90"}
    junit = tmp_path / "junit.xml"
    args = ["--isobench-backend=docker", "-rA", f"--junitxml={junit}"]
    proc = start(project, tmp_path / "cache", results, *args, env=env)
    try:
        in_flight = project.ids[1]

        def timing() -> bool:
            names = _containers(engine, f"io.isobench.task={in_flight}", "io.isobench.variant=human")
            if not names:
                return False
            probe = ["docker", "-H", engine.host, "exec", names[0], "sh", "-c", "ls /work/repo/_isobench_perf_*"]
            return subprocess.run(probe, capture_output=True).returncode == 0

        wait_for(proc, timing, "the second task's perf test to start", limit_s=180)
        time.sleep(1.0)
        before = record_bytes(results)
        assert list(before) == [f"{project.ids[0]}.json"], before.keys()
        engine.kill()
        engine.start()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output(project)
    assert proc.returncode == 1, text[-4000:]
    found = records(results)
    assert sorted(found) == sorted(project.ids), text[-4000:]
    assert record_bytes(results)[f"{project.ids[0]}.json"] == before[f"{project.ids[0]}.json"]
    assert found[project.ids[0]]["status"] in ("passed", "failed")
    crashed = found[in_flight]
    assert crashed["status"] == "error", crashed
    assert crashed["verdict"] is None
    assert "SandboxError" in crashed["reason"] or "engine" in crashed["reason"], crashed["reason"]
    first_line = crashed["reason"].splitlines()[0]
    assert "could not remove container" not in first_line, crashed["reason"]  # the failure in flight, not after
    assert f"ERROR fx.yaml::{in_flight}" in text and f"FAILED fx.yaml::{in_flight}" not in text, text[-3000:]
    case = ElementTree.parse(junit).getroot().find(f".//testcase[@name='{in_flight}']")
    assert case is not None and case.find("error") is not None and case.find("failure") is None
    assert found[project.ids[2]]["status"] in ("passed", "failed"), found[project.ids[2]]
    assert (results / "summary.json").is_file()
    assert _containers(engine) == [], text[-3000:]
