"""What importing the plugin's entry module costs a pytest run, next to pytest-benchmark's.

Every pytest run in an environment where a plugin is installed imports its ``pytest11``
entry module, whether or not the run uses it. This times
``python -X importtime -c "import pytest; import MOD"`` for ``pytest_isobench.plugin`` and
``pytest_benchmark.plugin``: the cost of ``MOD`` is the sum of the cumulative times of the
imports ``-X importtime`` lists at the top level after ``pytest`` (what ``MOD`` added,
pytest itself excluded). Runs alternate (ours, theirs, theirs, ours, ...) after one
uncounted warm-up of each (byte-code caches written); the medians of ``--reps`` runs and
their ratio are printed (goal: ours no more than pytest-benchmark's).

Run: ``python benchmarks/bench_import.py [--reps 9] [--check]``. A script, not a test; with
``--check`` it exits 1 when ours is over pytest-benchmark's. It writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

OURS = "pytest_isobench.plugin"
THEIRS = "pytest_benchmark.plugin"


def import_cost_us(stderr: str) -> int:
    """Microseconds of the top-level imports ``-X importtime`` lists after ``pytest``'s own."""
    total = 0
    after_pytest = False
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = line.split("|", 2)
        if name[1:].startswith(" ") or not cumulative.strip().isdigit():
            continue  # a nested import (counted in its parent), or the header line
        if after_pytest:
            total += int(cumulative)
        elif name.strip() == "pytest":
            after_pytest = True
    return total


def measure(module: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import pytest; import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return import_cost_us(proc.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--check", action="store_true", help="exit 1 when ours is over pytest-benchmark's")
    args = parser.parse_args()
    measure(OURS), measure(THEIRS)  # warm-up: byte-code caches
    times: dict[str, list[int]] = {OURS: [], THEIRS: []}
    for rep in range(args.reps):
        order = (OURS, THEIRS) if rep % 2 == 0 else (THEIRS, OURS)
        for module in order:
            times[module].append(measure(module))
    ours, theirs = (statistics.median(times[m]) / 1000 for m in (OURS, THEIRS))
    ratio = ours / theirs
    print(f"import {OURS}: {ours:.1f} ms (median of {args.reps}; runs {sorted(times[OURS])} us)")
    print(f"import {THEIRS}: {theirs:.1f} ms (median of {args.reps}; runs {sorted(times[THEIRS])} us)")
    print(f"ratio ours/pytest-benchmark: {ratio:.2f} (goal <= 1)")
    return 1 if args.check and ratio > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
