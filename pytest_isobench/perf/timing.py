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


def measure(region: Callable[[], object]) -> tuple[float, int]:
    """``(seconds per loop of the fastest pass, loops per pass)``."""
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
