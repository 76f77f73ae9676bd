"""Misbehaving commands, run for real in both backends: a background child that outlives the
command, gigabytes of output, a command that never exits, and (Docker) one that runs past
the container's memory limit.

Each case checks what the harness got back (bounded output, the report line, the time it
took) and what survived (no process of the command, no container of the test).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitutil import one_commit_repo
from sandboxutil import sleeping

from pytest_isobench.dataset.models import PerfTest
from pytest_isobench.perf import perftest
from pytest_isobench.sandbox.bounded import HEAD_BYTES, TAIL_BYTES, BoundedBuffer
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import LABEL_RUN, Limits, Sandbox, SandboxSpec

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return one_commit_repo(tmp_path_factory.mktemp("faults-repo"))


def _spec(repo: tuple[Path, str], memory: str | None = None) -> SandboxSpec:
    return SandboxSpec(
        task_id="faults",
        variant="baseline",
        repo_dir=repo[0],
        commit=repo[1],
        image=IMAGE,
        limits=Limits(memory=memory),
        run_id=RUN_ID,
    )


def _local(repo: tuple[Path, str], tmp_path: Path) -> Iterator[Sandbox]:

    sandbox = LocalSandbox(_spec(repo), tmp_path / "worktrees")
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.close()


def _docker(repo: tuple[Path, str], memory: str | None = None) -> Iterator[Sandbox]:
    client = engine_client()
    sandbox = DockerSandbox(_spec(repo, memory), client)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.close()
        left = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
        client.close()
        assert left == [], [c.name for c in left]


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request: pytest.FixtureRequest, repo: tuple[Path, str], tmp_path: Path) -> Iterator[Sandbox]:
    if request.param == "local":
        yield from _local(repo, tmp_path)
    else:
        yield from _docker(repo)


def test_background_child_dies_with_the_command(sandbox: Sandbox) -> None:
    marker = f"{time.time_ns() % 10**6}.25"
    begin = time.perf_counter()
    result = sandbox.exec(f"sleep {marker} & echo '{{\"time_s\": 0.5}}'", 60)
    took = time.perf_counter() - begin
    assert result.ok, result.tail()
    assert took < 10, f"the command's background child held the run for {took:.1f}s"
    assert perftest.parse_report(result.stdout, None).value == 0.5
    assert not sleeping(sandbox, marker), "the background child outlived the command"


@pytest.mark.slow
def test_gigabytes_of_output_are_captured_with_a_bound(sandbox: Sandbox) -> None:
    size = 1 << 30
    command = f"head -c {size} /dev/zero | tr '\\0' x; echo; echo '{{\"time_s\": 0.25}}'"
    result = sandbox.exec(command, 300)
    assert result.ok, result.tail()
    assert len(result.stdout) <= HEAD_BYTES + TAIL_BYTES + 200
    dropped = re.search(r"\[isobench: (\d+) bytes of output dropped\]", result.stdout)
    assert dropped is not None and int(dropped.group(1)) >= size - HEAD_BYTES - TAIL_BYTES
    assert perftest.parse_report(result.stdout, None).value == 0.25


def test_a_command_that_never_exits_is_killed_at_its_limit(sandbox: Sandbox) -> None:
    marker = f"{time.time_ns() % 10**6}.5"
    begin = time.perf_counter()
    result = sandbox.exec(f"trap '' TERM; sleep {marker}", 1.5)
    took = time.perf_counter() - begin
    assert result.timed_out and not result.ok
    assert 1.5 <= took < 10, took
    assert not sleeping(sandbox, marker)
    measurement = perftest.to_measurement(result, None)
    assert measurement.error is not None and "timed out" in measurement.error


@pytest.mark.docker
def test_out_of_memory_is_named_with_the_limit(repo: tuple[Path, str]) -> None:
    for sandbox in _docker(repo, memory="64m"):
        test = PerfTest(name="hog", script="x = bytearray(512 * 1024 * 1024)\nprint('{\"time_s\": 1}')\n")
        perftest.prepare(sandbox, test)
        begin = time.perf_counter()
        m = perftest.run_once(sandbox, test, "python3", 60)
        assert time.perf_counter() - begin < 30
        assert m.value is None and m.error is not None
        assert m.error.startswith("out of memory (limit 64m)"), m.error
        # A plain exit status 137 of the command's own is not called an OOM kill.
        plain = sandbox.exec("kill -KILL $$", 30)
        assert plain.exit_code == 137 and not plain.oom_killed


def test_bounded_buffer_keeps_head_and_tail() -> None:
    buf = BoundedBuffer(head=4, tail=6)
    for chunk in (b"ab", b"cdef", b"ghij", b"klmnop"):
        buf.feed(chunk)
    assert buf.total == 16 and buf.dropped == 6
    assert buf.value() == b"abcd\n[isobench: 6 bytes of output dropped]\nklmnop"
    small = BoundedBuffer(head=4, tail=6)
    small.feed(b"abcdefgh")
    assert small.value() == b"abcdefgh" and small.dropped == 0
