"""The perf-test side of the timing protocol: ISOBENCH_MIN_TIME_S, loops, lockstep.

This file runs inside the sandboxes, not in the harness: it is text put into scripts.
The demo's perf tests carry it in place of their ``from _timing import measure`` line
(``demo/tasks.py: perf_source`` reads this file), and the driver of ``setup-experiment``
perf tests (``perf/driver.py``) carries it in place of its import of this module, so that
every script stands alone in a checkout. Standard library only; it must run on the
sandbox's Python (3.8 or newer).
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable

# ISOBENCH_MIN_TIME_S (the harness's perf-test protocol) is the least time one value may
# take: each pass repeats the timed region ``loops`` times, loops calibrated so that a pass
# lasts at least that long, and the report gives the time per loop and ``loops``. Run on
# its own, of PASSES passes the fastest is reported: on a CPU-bound region other work on
# the machine only ever adds time, so the fastest pass is the least disturbed one.
# With ISOBENCH_LOCKSTEP=1 the harness runs every variant's process at once and asks each,
# in turn, on standard input for a calibration ("calibrate", or "calibrate N": N loops)
# and then for one pass at a time (answers: one JSON line each), so that the variants'
# passes alternate within milliseconds; "end" (or the end of input) asks for the usual report.
PASSES = 10
MAX_LOOPS = 1_000_000
# With ISOBENCH_STACK_OFFSET=N (the harness draws one N per lockstep round, the same for
# every variant of it), the passes run in a thread of their own whose stack begins N bytes
# lower than its start. A main thread's stack starts at a random point within a page
# (address-space randomisation), and where a test's stack falls against its data can move
# its time by 20% or more from process to process; a thread's stack starts page-aligned, so
# N alone sets that position: the same for the variants of one round (their ratio is rid of
# it), re-drawn between rounds (the mean is over positions, not one that happens to suit
# one variant). Unset: the passes run in the calling thread.
STACK_ENV = "ISOBENCH_STACK_OFFSET"


def min_time_s() -> float:
    """The least seconds per pass the harness asks for (0.1 when unset, like pyperf)."""
    raw = os.environ.get("ISOBENCH_MIN_TIME_S", "")
    try:
        return max(0.0, float(raw)) if raw else 0.1
    except ValueError:
        return 0.1


def timed(region: Callable[[], object], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        region()
    return time.perf_counter() - start


def calibrate(region: Callable[[], object], fixed: int = 0) -> tuple[int, float]:
    """``(loops per pass, seconds of the pass that reached ISOBENCH_MIN_TIME_S)``, after an
    untimed warm-up call; with ``fixed``, that many loops (the seconds of one pass of them)."""
    region()
    if fixed > 0:
        return fixed, timed(region, fixed)
    least = min_time_s()
    loops, elapsed = 1, timed(region, 1)
    while elapsed < least and loops < MAX_LOOPS:
        # Scale to the target with a margin, at least doubling; the pass that reaches it is kept.
        wanted = math.ceil(loops * least * 1.2 / max(elapsed, 1e-9))
        loops = min(MAX_LOOPS, max(2 * loops, wanted))
        elapsed = timed(region, loops)
    return loops, elapsed


def answer(**fields: object) -> None:
    print(json.dumps({"isobench": fields.pop("isobench"), **fields}), flush=True)


def stack_offset() -> int | None:
    """The offset the harness asked for (bytes, a multiple of 16), or None."""
    raw = os.environ.get(STACK_ENV, "")
    return int(raw) // 16 * 16 if raw.isdigit() else None


def on_own_stack(body: Callable[[], object], offset: int | None) -> object:
    """``body()`` in a thread of its own, its stack ``offset`` bytes below where it begins
    (a C call taking a structure of that size by value moves it; without ``ctypes``, no
    offset); ``offset`` None: in this thread. What ``body`` returns or raises comes back."""
    if offset is None:
        return body()
    outcome: list[object] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(body())
        except BaseException as exc:  # raised again in the calling thread
            failure.append(exc)

    start = _below(run, offset) if offset >= 16 else run
    thread = threading.Thread(target=start, name="isobench-passes", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def _below(run: Callable[[], None], offset: int) -> Callable[[], object]:
    """``run`` called through C with about ``offset`` bytes of its stack taken (``run``
    itself without ``ctypes``). The structure is half that: ctypes' call copies it onto
    the stack twice (its arguments, then libffi's)."""
    try:
        import ctypes
    except ImportError:  # a Python built without ctypes: no offset
        return run

    class Pad(ctypes.Structure):
        _fields_ = [("bytes", ctypes.c_char * max(8, offset // 2))]

    call = ctypes.CFUNCTYPE(None, Pad)(lambda _pad: run())
    return lambda: call(Pad())


def measure(region: Callable[[], object]) -> tuple[float, int]:
    """``(seconds per loop of the fastest pass, loops per pass)``; with ISOBENCH_STACK_OFFSET,
    the calibration and the passes run on a stack of their own (see :data:`STACK_ENV`)."""
    result = on_own_stack(lambda: _measure(region), stack_offset())
    return result  # type: ignore[return-value]


def _measure(region: Callable[[], object]) -> tuple[float, int]:
    if os.environ.get("ISOBENCH_LOCKSTEP") != "1":
        loops, elapsed = calibrate(region)
        passes = [elapsed] + [timed(region, loops) for _ in range(PASSES - 1)]
        return min(passes) / loops, loops
    loops, best = 0, math.inf
    for line in sys.stdin:
        command, _, count = line.strip().partition(" ")
        if command == "calibrate":
            loops, elapsed = calibrate(region, int(count) if count.isdigit() else 0)
            best = min(best, elapsed / loops)
            answer(isobench="calibrated", loops=loops)
        elif command == "pass" and loops:
            per_loop = timed(region, loops) / loops
            best = min(best, per_loop)
            answer(isobench="pass", time_s=per_loop)
        elif command == "end":
            break
    if not loops:
        loops, elapsed = calibrate(region)
        best = elapsed / loops
    return best, loops


def measure_passes(one_pass: Callable[[], float]) -> tuple[float, int]:
    """``(seconds of the fastest pass, 1)`` for a pass that times itself (``one_pass``
    returns its own seconds, its untimed setup run first): the same protocol as
    :func:`measure`, one loop per pass always, since a setup must come between repeats."""
    result = on_own_stack(lambda: _measure_passes(one_pass), stack_offset())
    return result  # type: ignore[return-value]


def _measure_passes(one_pass: Callable[[], float]) -> tuple[float, int]:
    if os.environ.get("ISOBENCH_LOCKSTEP") != "1":
        one_pass()  # warm-up, as calibrate's
        return min(one_pass() for _ in range(PASSES)), 1
    best, ready = math.inf, False
    for line in sys.stdin:
        command = line.strip().partition(" ")[0]
        if command == "calibrate":
            best = min(best, one_pass())
            ready = True
            answer(isobench="calibrated", loops=1)
        elif command == "pass" and ready:
            elapsed = one_pass()
            best = min(best, elapsed)
            answer(isobench="pass", time_s=elapsed)
        elif command == "end":
            break
    if not ready:
        one_pass()
        best = one_pass()
    return best, 1
