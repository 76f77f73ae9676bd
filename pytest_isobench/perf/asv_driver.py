"""The driver of ``asv`` perf tests: one benchmark of the repository's own asv suite, run in a sandbox.

FormulaCode's tasks (and numpy's, pandas', scipy's, astropy's suites) measure performance
with airspeed velocity: a benchmark directory (``benchmark_dir`` of ``asv.conf.json``,
``benchmarks`` by default) of modules whose ``time_*`` functions, and ``time_*`` methods
of classes, are timed, after ``setup`` (a method, a module function, or a function's
``setup`` attribute), over the product of ``params``, with ``setup_cache``'s value as the
first argument when a class defines one. The harness writes this file beside the
checkout as ``_isobench_asv.py`` (``perf/timing.py`` in place of its import) and runs::

    python3 _isobench_asv.py NAME        NAME: module.Class.time_x, module.time_x,
                                         optionally with asv's "(p1, p2)" naming one
                                         parameter combination (reprs, as asv names them)

The benchmark directory is imported as a package, as asv does (relative imports in the
suite work). ``setup`` runs once per parameter combination, untimed; then the
benchmark's callable, for every selected combination in turn, is the region our timing
protocol times (``ISOBENCH_MIN_TIME_S``, loops, lockstep), instead of asv's own
``number`` / ``repeat`` / ``sample_time``, so that these benchmarks get the same
statistics as every other test. A ``setup`` raising ``NotImplementedError`` (asv's way
to skip) ends the run with an error naming it; ``teardown`` is not called (the process
ends).

Standard library only, on the sandbox's Python (3.8 or newer); the harness reads its text.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from pytest_isobench.perf.timing import measure

CONF = "asv.conf.json"


def benchmark_dir() -> str:
    """``benchmark_dir`` of the checkout's ``asv.conf.json`` (which allows ``//`` comments)."""
    if not os.path.exists(CONF):
        return "benchmarks"
    with open(CONF, encoding="utf-8") as fh:
        text = "\n".join(line for line in fh if not line.lstrip().startswith("//"))
    try:
        return str(json.loads(text).get("benchmark_dir") or "benchmarks")
    except ValueError:
        return "benchmarks"


def split_params(name: str) -> tuple[str, str | None]:
    """``("module.Class.time_x", "1, 'a'")`` from asv's ``module.Class.time_x(1, 'a')``."""
    if name.endswith(")") and "(" in name:
        head, _, rest = name.partition("(")
        return head, rest[:-1]
    return name, None


def resolve(folder: str, dotted: str) -> tuple[Any, Any, str]:
    """``(module, owner, attribute)``: the benchmark's module, the class or module that
    holds it, and its name; the longest importable module prefix wins."""
    parent, package = os.path.split(os.path.abspath(folder))
    sys.path.insert(0, parent)
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join([package, *parts[:cut]]))
        except ModuleNotFoundError:
            continue
        owner: Any = module
        for part in parts[cut:-1]:
            owner = getattr(owner, part)
        return module, owner, parts[-1]
    raise SystemExit(f"no module of {dotted!r} in the asv benchmark directory {folder!r}")


def combinations(params: Any) -> list[tuple[Any, ...]]:
    """asv's ``params``: one list (one parameter) or a list of lists (their product)."""
    if not params:
        return [()]
    if all(isinstance(p, (list, tuple)) for p in params):
        return list(itertools.product(*params))
    return [(p,) for p in params]


def selected(params: Any, wanted: str | None) -> list[tuple[Any, ...]]:
    combos = combinations(params)
    if wanted is None:
        return combos
    chosen = [c for c in combos if ", ".join(repr(v) for v in c) == wanted.strip()]
    if not chosen:
        raise SystemExit(f"no parameter combination ({wanted}) among {len(combos)}")
    return chosen


def prepared(module: Any, owner: Any, attr: str, combo: tuple[Any, ...], cache: tuple[Any, ...]) -> Callable[[], Any]:
    """The benchmark's callable for ``combo``, its ``setup`` done (a fresh instance each)."""
    args = (*cache, *combo)
    if isinstance(owner, type):
        instance = owner()
        setup = getattr(instance, "setup", None)
        bench = getattr(instance, attr)
    else:
        bench = getattr(owner, attr)
        setup = getattr(bench, "setup", None) or getattr(module, "setup", None)
    if callable(setup):
        try:
            setup(*args)
        except NotImplementedError as exc:
            raise SystemExit(f"asv skips this benchmark: setup raised NotImplementedError {exc}") from None
    return lambda: bench(*args)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: _isobench_asv.py BENCHMARK")
    sys.path.insert(0, os.getcwd())
    name, wanted = split_params(argv[1])
    module, owner, attr = resolve(benchmark_dir(), name)
    target = owner if isinstance(owner, type) else getattr(owner, attr)
    cache: tuple[Any, ...] = ()
    setup_cache = getattr(owner, "setup_cache", None) if isinstance(owner, type) else None
    if callable(setup_cache):
        cache = (setup_cache(owner()),)
    calls = [prepared(module, owner, attr, c, cache) for c in selected(getattr(target, "params", None), wanted)]

    def region() -> None:
        for call in calls:
            call()

    per_loop, loops = measure(region)
    print(json.dumps({"time_s": per_loop, "loops": loops, "combinations": len(calls)}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
