"""The timed passes on a stack of their own (issue 23: the real A/A's process modes).

A main thread's stack starts at a random point within a page (address-space
randomisation); where it falls against the test's data moved the demo's
``average-length-builtin`` test by about 20% from process to process. ``perf/timing.py``
runs the passes in a thread whose stack starts page-aligned, moved down by the offset the
harness drew (``ISOBENCH_STACK_OFFSET``): one per lockstep round, the same for every
variant of it, as are the environment's padding and the hash seed (``PYTHONHASHSEED``).
Checked here: the thread, what comes back from it, that the offset really moves the stack
(read from ``/proc/self/task/TID/syscall`` while the thread sleeps), and that the harness
shares one offset and one hash seed per round, re-draws them between rounds and records
them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandboxutil import one_commit_boxes

from pytest_isobench.dataset.models import PerfTest
from pytest_isobench.measure.protocol import Measurement, ProtocolSettings, run_protocol
from pytest_isobench.perf import lockstep, perftest, timing
from pytest_isobench.sandbox.protocol import Sandbox
from pytest_isobench.taskrun.build_record import perf_test_record

RUN_ID = f"test-own-stack-{uuid.uuid4().hex[:8]}"


def test_without_an_offset_the_body_runs_in_the_calling_thread() -> None:
    assert timing.on_own_stack(threading.current_thread, None) is threading.current_thread()


@pytest.mark.parametrize("offset", [0, 16, 1040, 4080])
def test_with_an_offset_the_body_runs_in_a_thread_of_its_own(offset: int) -> None:
    ran_in = timing.on_own_stack(threading.current_thread, offset)
    assert isinstance(ran_in, threading.Thread)
    assert ran_in is not threading.current_thread() and ran_in.name == "isobench-passes"


@pytest.mark.parametrize("raised", [ValueError("bad region"), SystemExit(3), KeyboardInterrupt()])
def test_what_the_body_raises_is_raised_in_the_calling_thread(raised: BaseException) -> None:
    def body() -> None:
        raise raised

    with pytest.raises(type(raised)) as caught:
        timing.on_own_stack(body, 1040)
    assert caught.value is raised


def test_the_offset_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(timing.STACK_ENV, raising=False)
    assert timing.stack_offset() is None
    monkeypatch.setenv(timing.STACK_ENV, "1043")
    assert timing.stack_offset() == 1040  # a multiple of 16
    monkeypatch.setenv(timing.STACK_ENV, "garbage")
    assert timing.stack_offset() is None


def _stack_pointer(offset: int) -> int:
    """The stack pointer of the body's thread while it sleeps in a system call."""
    seen: list[str] = []

    def body() -> None:
        tid = threading.get_native_id()

        def watch() -> None:
            time.sleep(0.1)
            seen.append(Path(f"/proc/self/task/{tid}/syscall").read_text())

        watcher = threading.Thread(target=watch)
        watcher.start()
        time.sleep(0.4)
        watcher.join()

    timing.on_own_stack(body, offset)
    fields = seen[0].split()
    if len(fields) < 3 or fields[0] == "running":
        pytest.skip(f"/proc/self/task/TID/syscall gave no stack pointer here: {seen[0]!r}")
    return int(fields[-2], 16)


def test_the_offset_moves_the_stack_by_about_that_much_and_the_same_offset_puts_it_in_the_same_place() -> None:
    if not Path(f"/proc/self/task/{threading.get_native_id()}/syscall").exists():
        pytest.skip("no /proc/self/task/TID/syscall on this system")
    # Within a page: each thread's stack is a mapping of its own, wherever it is mapped.
    low = _stack_pointer(48) % 4096
    assert _stack_pointer(48) % 4096 == low, "the same offset must give the same position in its page"
    for offset in (1040, 2064, 3088):
        moved = (low - _stack_pointer(offset)) % 4096
        assert abs(moved - (offset - 48)) <= 64, (offset, moved)


def test_a_python_without_ctypes_still_times_in_a_thread_of_its_own() -> None:
    # The sandbox's Python may lack ctypes (Debian's python3-minimal): no offset, same thread rule.
    code = (
        "import sys, threading; sys.modules['ctypes'] = None\n"
        "from pytest_isobench.perf import timing\n"
        "t = timing.on_own_stack(threading.current_thread, 2064)\n"
        "assert t is not threading.current_thread() and t.name == 'isobench-passes', t\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# Reports, as its time, the offset it was given ((offset + 1) microseconds) and the
# thread its passes ran in, through the harness's own timing code.
SAYS_ITS_OFFSET = (
    "import json, os, threading\n"
    "from pytest_isobench.perf.timing import measure, stack_offset\n"
    "def region():\n"
    "    assert (threading.current_thread().name == 'isobench-passes') == (stack_offset() is not None)\n"
    "    end = time.perf_counter() + ((stack_offset() or 0) + 1) / 1e6\n"
    "    while time.perf_counter() < end: pass\n"
    "import time\n"
    "per_loop, loops = measure(region)\n"
    "print(json.dumps({'time_s': per_loop, 'loops': loops, 'digest': str(hash('isobench'))}))\n"
)


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def boxes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Sandbox]]:
    with one_commit_boxes(request.param, tmp_path, "own-stack", RUN_ID, ("baseline", "human", "agent")) as made:
        yield made


def _prepared(boxes: dict[str, Sandbox]) -> PerfTest:
    # The script carries the timing code as the demo's perf tests do (its import replaced).
    test = PerfTest(name="offset", script=perftest.with_timing(SAYS_ITS_OFFSET))
    for box in boxes.values():
        perftest.prepare(box, test)
    return test


def test_lockstep_gives_every_variant_of_a_round_one_offset_and_redraws_it(boxes: dict[str, Sandbox]) -> None:
    test = _prepared(boxes)
    steps = lockstep.Lockstep(boxes, test, "python3", 60, cycles=2, own_stack=True, allocate=False)

    def never(name: str) -> Measurement:
        raise AssertionError(f"run_one({name!r}) called, but the test speaks the protocol")

    settings = ProtocolSettings(warmup=0, min_rounds=5, max_rounds=5, seed=3, interim_share=0.0)
    result = run_protocol(
        ["baseline", "human", "agent"], never, settings, run_together=lambda order: steps.round(order, never, 0.0)
    )
    assert steps.supported is True
    by_round: dict[int, set[int | None]] = {}
    hashing: dict[int, set[tuple[int | None, str | None]]] = {}
    for s in result.samples:
        assert s.m.error is None, s.m.error
        by_round.setdefault(s.round, set()).add(s.m.stack_offset)
        hashing.setdefault(s.round, set()).add((s.m.hash_seed, s.m.digest))
        # What the process saw: its passes took (offset + 1) microseconds or more.
        assert s.m.passes and min(s.m.passes) >= ((s.m.stack_offset or 0) + 1) / 1e6
    offsets = [next(iter(v)) for k, v in sorted(by_round.items()) if k >= 0]
    assert all(len(v) == 1 for v in by_round.values()), by_round  # one offset per round
    assert all(o is not None and 0 <= o < perftest.STACK_MAX and o % 16 == 0 for o in offsets)
    assert len(set(offsets)) >= 3, offsets  # 5 draws out of 256: repeats are rare
    # One hash seed per round too: the processes of a round hash alike (the digest is a
    # string's hash), those of different rounds do not.
    assert all(len(v) == 1 for v in hashing.values()), hashing
    seeds = [next(iter(v)) for k, v in sorted(hashing.items()) if k >= 0]
    assert all(seed is not None for seed, _ in seeds) and len({d for _, d in seeds}) >= 3, seeds
    record = perf_test_record("offset", result)
    assert record.variants["agent"].stack_offset == offsets
    assert record.variants["agent"].hash_seed == [seed for seed, _ in seeds]
    assert any(perftest.STACK_ENV in r for r in record.randomised), record.randomised
    assert any(perftest.HASH_ENV in r for r in record.randomised), record.randomised


def test_a_hash_seed_set_by_the_user_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert perftest.draw_hash_seed() is None
    assert perftest.HASH_ENV not in perftest.padded({}, 3, 16, perftest.draw_hash_seed())
    monkeypatch.delenv("PYTHONHASHSEED")
    seed = perftest.draw_hash_seed()
    assert seed is not None and perftest.padded({}, 3, 16, seed)[perftest.HASH_ENV] == str(seed)


def test_without_own_stack_no_offset_is_given(boxes: dict[str, Sandbox]) -> None:
    test = _prepared(boxes)
    m = perftest.run_once(boxes["baseline"], test, "python3", 60, min_time_s=0.0)
    assert m.error is None and m.stack_offset is None
    m = perftest.run_once(boxes["baseline"], test, "python3", 60, min_time_s=0.0, own_stack=True)
    assert m.error is None and m.stack_offset is not None
    assert m.value is not None and m.value >= (m.stack_offset + 1) / 1e6
