"""One value per variant from a lockstep round: passes of all variants, cycle by cycle.

In a lockstep round (``perf/lockstep.py``) every variant's process runs one pass of its
timed region in turn, cycle after cycle, so the passes of one cycle lie within a few
tens of milliseconds of each other and share the machine's state then (a core's speed
state, a burst of other work). This module turns the passes into one value per variant
whose ratios are what the cycles say:

- each pass is divided by its cycle's median over the variants (what the machine was
  doing then cancels: a cycle run twice as slow has every pass twice as long; with three
  variants the median keeps one pass cut by a change of state from moving the others;
  on recorded bursty A/A runs it gave a per-round spread of 5.8% against 7.0% for the
  geometric mean);
- a variant's relative speed is the median of its normalised passes (a cycle cut by a
  change of state in its middle is one outlier among many);
- the scale is the fastest cycle's centre (the least disturbed moment), so a value reads
  as seconds per loop as before.

With two variants the ratio of the values is exactly the median of the per-cycle ratios.
Cycles in which a variant has no pass (it failed) are left out for every variant. Nothing
here runs processes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

__all__ = ["combine_cycles"]


def combine_cycles(passes: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Per variant, one value from its passes, cycle ``i`` being the ``i``-th pass of each.

    Only the cycles every variant completed count (the shortest list decides). Raises
    ``ValueError`` for no variant, no complete cycle, or a pass that is not a positive
    finite number.
    """
    if not passes:
        raise ValueError("passes: expected at least one variant")
    cycles = min(len(p) for p in passes.values())
    if cycles == 0:
        raise ValueError("passes: expected at least one complete cycle, got none")
    logs: dict[str, list[float]] = {}
    for variant, values in passes.items():
        bad = [v for v in values[:cycles] if not (math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"passes of {variant}: expected positive finite seconds, got {bad[0]!r}")
        logs[variant] = [math.log(v) for v in values[:cycles]]
    centres = [statistics.median(logs[v][i] for v in logs) for i in range(cycles)]
    scale = min(centres)
    return {
        v: math.exp(scale + statistics.median(x - c for x, c in zip(xs, centres, strict=True)))
        for v, xs in logs.items()
    }
