"""Paired statistics over rounds: the Hodges-Lehmann estimate of per-round log ratios
with the exact Wilcoxon signed-rank interval.

Each round runs every variant once, back to back, so the round's log ratio
``log(base) - log(other)`` cancels whatever the machine was doing during that round
(drift, a slow speed state, a noisy neighbour). The point is ``exp`` of the median of the
Walsh averages of those log ratios; the interval takes the k-th smallest and largest
Walsh averages, k from the exact null distribution of the signed-rank statistic. The
interval is distribution-free for any symmetric distribution of the log ratios, which
counterbalanced rounds provide under the null (each variant runs first as often as
second). Pure numbers in, an :class:`~pytest_isobench.measure.stats.Estimate` out; numpy
is imported lazily and nothing here may import pytest or docker.

Why not a bootstrap over rounds: ``benchmarks/bench_calibration.py`` measured both on
A/A runs (1,000 per cell, four noise models). At 8 and 12 rounds, the counts an early
look sees, the 95% percentile bootstrap of the median log ratio covered 0.918-0.949 and
the signed-rank interval 0.950-0.968, at about the same width; from 20 rounds on they
agree (0.93-0.97). And the interim looks of the sequential stop judge at a level near
0.0016, where a bootstrap needs thousands of resamples per look just to have a tail
quantile, while the exact signed-rank interval costs one sort and its level is exact.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

from pytest_isobench.measure.estimate import Direction, Estimate

if TYPE_CHECKING:
    from collections.abc import Sequence


__all__ = ["log_ratios", "min_rounds_for", "paired_speedup", "signed_rank_k", "signed_rank_pvalue"]

_EXACT_MAX_N = 400
"""Above this many rounds the signed-rank distribution is taken as normal (error < 1e-4)."""


def log_ratios(base: Sequence[float], other: Sequence[float], direction: Direction) -> list[float]:
    """Per-round ``log`` speedups of ``other`` over ``base`` (> 0: ``other`` is better)."""
    if len(base) != len(other):
        raise ValueError(f"paired values: expected equal lengths, got {len(base)} and {len(other)}")
    if direction == "lower":
        return [math.log(b) - math.log(o) for b, o in zip(base, other, strict=True)]
    return [math.log(o) - math.log(b) for b, o in zip(base, other, strict=True)]


@cache
def _null_cdf(n: int) -> Any:
    """Cumulative null distribution of the signed-rank statistic for ``n`` pairs."""
    import numpy as np

    pmf = np.zeros(n * (n + 1) // 2 + 1)
    pmf[0] = 1.0
    top = 0
    for i in range(1, n + 1):
        # Rank i is either in the positive sum or not, each with probability 1/2.
        shifted = np.zeros_like(pmf)
        shifted[i : top + i + 1] = pmf[: top + 1]
        pmf = (pmf + shifted) / 2
        top += i
    return np.cumsum(pmf)


@cache
def signed_rank_k(n: int, level: float) -> int:
    """How many Walsh averages to cut from each end for a two-sided ``1 - level`` interval.

    The largest ``k`` with ``P(T < k) <= level / 2`` under the null; 0 means that ``n``
    pairs cannot give an interval at this level (even the full range has less
    confidence).
    """
    if n < 1:
        return 0
    if n > _EXACT_MAX_N:
        from statistics import NormalDist

        mean = n * (n + 1) / 4
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        z = NormalDist().inv_cdf(1 - level / 2)
        return max(0, math.floor(mean - z * sd - 0.5) + 1)
    import numpy as np

    cdf = _null_cdf(n)
    # cdf[t] = P(T <= t); k = 1 + largest t with P(T <= t) <= level / 2.
    t = int(np.searchsorted(cdf, level / 2 * (1 + 1e-12), side="right")) - 1
    return t + 1


def min_rounds_for(level: float) -> int:
    """The fewest pairs whose signed-rank interval exists at two-sided ``level``."""
    # The whole range of the Walsh averages has level 2 / 2**n.
    return max(2, math.ceil(1 + math.log2(1 / level) - 1e-9))


def signed_rank_pvalue(d: Sequence[float]) -> float:
    """One-sided exact p-value of the signed-rank test that the log ratios ``d`` are > 0.

    Zeros are dropped (Wilcoxon's convention) and tied magnitudes get mid-ranks, so with
    ties the value is approximate; no data or all zeros give 1.0.
    """
    import numpy as np

    x = np.asarray([v for v in d if v != 0.0])
    n = len(x)
    if n == 0:
        return 1.0
    ranks = _midranks(np.abs(x))
    t_minus = float(ranks[x < 0].sum())
    # P(T- <= observed) under the null = P(T+ >= n(n+1)/2 - observed), by symmetry.
    if n > _EXACT_MAX_N:
        from statistics import NormalDist

        mean = n * (n + 1) / 4
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        return NormalDist().cdf((t_minus + 0.5 - mean) / sd)
    cdf = _null_cdf(n)
    return float(min(1.0, cdf[min(len(cdf) - 1, math.floor(t_minus))]))


def _midranks(a: Any) -> Any:
    """Ranks 1..n of ``a``, tied values sharing their mean rank (numpy only, no scipy)."""
    import numpy as np

    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    starts = np.flatnonzero(np.r_[True, sorted_a[1:] != sorted_a[:-1]])
    ends = np.r_[starts[1:], len(a)]
    mean_rank = (starts + ends + 1) / 2  # ranks starts+1 .. ends, averaged
    ranks = np.empty(len(a))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


@cache
def _pairs(n: int) -> Any:
    import numpy as np

    return np.triu_indices(n)


def walsh_averages(d: Sequence[float]) -> Any:
    """Every ``(d_i + d_j) / 2`` with ``i <= j``, sorted (a numpy array)."""
    import numpy as np

    x = np.asarray(d, dtype=float)
    i, j = _pairs(len(x))
    w = (x[i] + x[j]) / 2
    w.sort()
    return w


def paired_speedup(
    base: Sequence[float], other: Sequence[float], direction: Direction, confidence: float = 0.95
) -> Estimate:
    """The paired Hodges-Lehmann speedup of ``other`` over ``base`` with its exact interval.

    ``base[i]`` and ``other[i]`` must come from the same round. With fewer rounds than
    :func:`min_rounds_for` asks at this confidence the interval is the whole range of the
    Walsh averages (its confidence is then ``1 - 2 / 2**n``, lower than asked): the
    protocol never judges on so few rounds.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    d = log_ratios(base, other, direction)
    if not d:
        raise ValueError("paired values: expected at least one round, got none")
    w = walsh_averages(d)
    m = len(w)
    point = math.exp(float(w[(m - 1) // 2] + w[m // 2]) / 2)
    k = max(1, signed_rank_k(len(d), 1 - confidence))
    low, high = math.exp(float(w[k - 1])), math.exp(float(w[m - k]))
    return Estimate(point, min(low, point), max(high, point))
