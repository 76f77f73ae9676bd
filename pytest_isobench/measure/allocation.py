"""Passes per lockstep round: spend the budget where the variance is (issue 23, item 5).

A lockstep round costs a start (every variant's process starts, imports, sets up and
calibrates) plus its cycles (one pass of every variant each). What one round tells about a
ratio of two variants is limited by two parts of its variance:

- **within**: pass-to-pass noise of the per-cycle log ratio, which more cycles average
  away (the round's value is a median over cycles: its variance is about
  ``within / cycles``);
- **between**: what differs from one pair of processes to the next and stays for a
  process's life (its memory layout, its allocation, anything it carries), which no
  number of passes averages away: only more rounds do.

With ``n`` rounds of ``m`` cycles in a budget ``B`` (``n = B / (start + m * cycle)``), the
variance of the mean ratio is ``(between + within / m) / n``: least at
``m = sqrt(start / cycle * within / between)``, the classic two-stage allocation
(Cochran, *Sampling Techniques*, 10.6). Both parts and both costs are estimated from the
rounds so far, every pair of variants pooled: the within part each round carried from the
difference of the medians of its odd and its even cycles (split halves: it measures the
median's own noise at the round's cycles, heavy tails and bursts included, where a spread
of single passes would need a model of them); ``between`` from the plain variance of the
rounds' log ratios (not a robust one: a process that runs 20% slow for its life is exactly
what it must count) less that within part.

On the demo's Docker A/A (issue 23) ``demo-c7a161c8`` spends about 0.55 s starting its
three processes and 0.06 s a cycle; one process in four of that test runs about 25% slow
for its whole life (its data's placement: a fixed hash seed does not change it), so its
between part is 100 times its within part per round: 5 cycles instead of 20 give 1.6x the
rounds in the same budget. The other demo tasks keep most of their cycles.

Pure numbers: no process is run here.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["FROM_ROUNDS", "Allocation", "RoundCost", "allocate"]

FROM_ROUNDS = 8
"""Rounds seen before the cycles are chosen from them: fewer give a between variance with
too few degrees of freedom (the first rounds run the most cycles, today's behaviour)."""


@dataclass(frozen=True)
class RoundCost:
    """One lockstep round as the allocation sees it: each variant's passes (seconds per
    loop, cycle by cycle), the seconds its cycles took and the seconds the whole round took."""

    passes: Mapping[str, Sequence[float]]
    cycles_s: float
    round_s: float

    @property
    def cycles(self) -> int:
        return min((len(p) for p in self.passes.values()), default=0)


@dataclass(frozen=True)
class Allocation:
    """The cycles the next round runs, and what they were chosen from (``None``: not
    estimated yet, or no basis)."""

    cycles: int
    within: float | None = None
    between: float | None = None
    start_s: float | None = None
    cycle_s: float | None = None
    rounds: int = 0

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None, digits: int = 6) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "cycles": self.cycles,
            "within_var": r(self.within, 8),
            "between_var": r(self.between, 8),
            "start_s": r(self.start_s, 4),
            "cycle_s": r(self.cycle_s, 5),
            "rounds": self.rounds,
        }


def _pairs(passes: Mapping[str, Sequence[float]]) -> list[tuple[str, str]]:
    names = sorted(passes)
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def _cycle_ratios(rc: RoundCost, a: str, b: str) -> list[float]:
    n = rc.cycles
    return [math.log(rc.passes[a][i] / rc.passes[b][i]) for i in range(n)]


def _round_ratio(rc: RoundCost, a: str, b: str) -> float:
    """The round's log ratio as its value reads it: the median of its per-cycle ratios."""
    return statistics.median(_cycle_ratios(rc, a, b))


def _split_half(rc: RoundCost, a: str, b: str) -> float:
    """An estimate of the within part of the round's log ratio, at its own cycles: the
    medians of its odd and of its even cycles differ by pass noise alone, with twice the
    variance of a median of half the cycles each, about four times the round's."""
    x = _cycle_ratios(rc, a, b)
    return (statistics.median(x[0::2]) - statistics.median(x[1::2])) ** 2 / 4


def _estimate(rounds: Sequence[RoundCost]) -> tuple[float, float] | None:
    """``(within, between)`` variances of a pair's log ratio, pooled over the pairs:
    ``within`` per cycle (the round's within part times its cycles), ``between`` per round."""
    pairs = _pairs(rounds[0].passes)
    if not pairs:
        return None
    withins: list[float] = []
    betweens: list[float] = []
    for a, b in pairs:
        carried = [_split_half(rc, a, b) for rc in rounds]
        total = statistics.variance([_round_ratio(rc, a, b) for rc in rounds])
        withins.append(statistics.fmean(c * rc.cycles for c, rc in zip(carried, rounds, strict=True)))
        betweens.append(max(0.0, total - statistics.fmean(carried)))
    return statistics.fmean(withins), statistics.fmean(betweens)


def allocate(rounds: Sequence[RoundCost], least: int, most: int, step: int = 1) -> Allocation:
    """The cycles for the next round, between ``least`` and ``most``, a multiple of
    ``step`` (the variants' count: every variant then takes every place in a cycle equally
    often) unless that would pass ``most``. Until :data:`FROM_ROUNDS` complete rounds
    (every variant with at least two passes) are seen, the geometric middle of the bounds
    (9 of 3-20 for three variants): the variance per second of budget depends on the
    cycles' ratio to the best, so before anything is known the middle in ratio risks least
    (starting at the most, ``demo-c7a161c8`` spent 12 of its 30 s on its first 7 rounds)."""
    least = min(least, most)
    usable = [rc for rc in rounds if rc.cycles >= 2 and len(rc.passes) >= 2 and rc.round_s > rc.cycles_s > 0]
    # Rounds whose variants differ from the latest's (one failed) are not comparable.
    if usable:
        names = set(usable[-1].passes)
        usable = [rc for rc in usable if set(rc.passes) == names]
    if len(usable) < FROM_ROUNDS:
        return Allocation(_stepped(math.sqrt(least * most), least, most, step), rounds=len(usable))
    parts = _estimate(usable)
    if parts is None:
        return Allocation(_stepped(math.sqrt(least * most), least, most, step), rounds=len(usable))
    within, between = parts
    start = statistics.median(rc.round_s - rc.cycles_s for rc in usable)
    cycle = statistics.median(rc.cycles_s / rc.cycles for rc in usable)
    best = float(most) if between <= 0 or cycle <= 0 else math.sqrt(start / cycle * within / between)
    return Allocation(_stepped(best, least, most, step), within, between, start, cycle, len(usable))


def _stepped(best: float, least: int, most: int, step: int) -> int:
    """``best`` rounded, within ``[least, most]``, up to a multiple of ``step`` below ``most``."""
    cycles = max(least, min(most, round(best)))
    if step > 1 and cycles < most:
        cycles = min(most, max(least, step * math.ceil(cycles / step)))
    return cycles
