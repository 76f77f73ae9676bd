"""The driver of SWE-fficiency's ``workload`` perf tests, run in a sandbox.

A workload (``swefficiency/harness/test_spec.py``: written to ``/tmp/workload.py`` and run
once with ``python``) defines the work and ends with
``runtimes = timeit.repeat(workload, number=N, repeat=R, setup=setup)`` and prints
``Mean:`` / ``Std Dev:`` of those runtimes; their grader (``scripts/eval/get_report.py``)
divides the means. The harness writes this file beside the script as
``_isobench_workload.py`` (``perf/timing.py`` in place of its import) and runs
``python3 _isobench_workload.py SCRIPT``.

Why the timed statement and not their figure: the script is executed with
``timeit.repeat`` / ``timeit.timeit`` standing in (its output hidden), which records what
it would have timed (statement, setup, number, globals) instead of timing it. Each pass
of our protocol is then one of their repeats, exactly as ``timeit`` makes one: ``setup``
runs untimed, then ``number`` calls of the statement are timed with the garbage
collector off. A setup before every repeat is what their call asks for (their workloads
rebuild state a call consumes), so a pass is never repeated without it (one loop per
pass), and the passes go through the lockstep protocol: the variants' repeats alternate
within milliseconds instead of R repeats of one variant, then R of the other, minutes
apart. Their own harness runs all repeats in one process (one ``python`` run), and so
does this driver. A script that times nothing through ``timeit`` is run as it is and its
``Mean:`` line read (one value per process, no lockstep).

Standard library only, on the sandbox's Python (3.8 or newer); the harness reads its text.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import runpy
import sys
import timeit
from collections.abc import Callable
from typing import Any

from pytest_isobench.perf.timing import measure_passes

MEAN = re.compile(r"^Mean:\s*([0-9.eE+-]+)", re.MULTILINE)


class Recorded(Exception):
    """Raised by the stand-in once the script asked for its timing: nothing after it runs."""


def record(calls: list[dict[str, Any]]) -> Callable[..., Any]:
    def stand_in(
        stmt: Any = "pass",
        setup: Any = "pass",
        timer: Any = None,
        repeat: int = 5,
        number: int = 1000000,
        globals: Any = None,
    ) -> Any:
        calls.append({"stmt": stmt, "setup": setup, "number": number, "globals": globals})
        raise Recorded

    return stand_in


def recorded_timer(path: str) -> tuple[timeit.Timer, int] | None:
    """The ``timeit.Timer`` the script would have run and its ``number``, or None."""
    calls: list[dict[str, Any]] = []
    saved = timeit.repeat, timeit.timeit
    timeit.repeat, timeit.timeit = record(calls), record(calls)
    # the script's own namespace, kept when the stand-in stops it (string statements name its globals)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": path}
    with open(path, encoding="utf-8") as fh:
        code = compile(fh.read(), path, "exec")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(code, namespace)
    except Recorded:
        pass
    finally:
        timeit.repeat, timeit.timeit = saved
    if not calls:
        return None
    call = calls[0]
    scope = call["globals"] if call["globals"] is not None else namespace
    return timeit.Timer(call["stmt"], call["setup"], globals=scope), int(call["number"])


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: _isobench_workload.py SCRIPT")
    sys.path.insert(0, ".")
    found = recorded_timer(argv[1])
    if found is None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runpy.run_path(argv[1], run_name="__main__")
        mean = MEAN.findall(out.getvalue())
        if not mean:
            raise SystemExit(f"{argv[1]} neither calls timeit.repeat nor prints 'Mean:'")
        print(json.dumps({"time_s": float(mean[-1]), "source": "Mean:"}), flush=True)
        return
    timer, number = found
    best, loops = measure_passes(lambda: timer.timeit(number))
    print(json.dumps({"time_s": best, "loops": loops, "number": number}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
