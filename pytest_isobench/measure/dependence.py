"""Serial dependence of the per-round log ratios: is a round independent of the one
before it, and how much wider must the interval be when it is not?

Everything the paired interval promises assumes independent rounds. A slowdown that stays
with one variant over several rounds (its sandbox's cache state, its memory placement, its
layout: lockstep cannot cancel what belongs to one variant's process) makes neighbouring
rounds' log ratios alike, and an interval built as if they were independent is too narrow
(the audit of issue 23: at persistence 0.8, 25% false "significant" against a nominal
2.5%).

Detection (:func:`dependence`): the lag-1 autocorrelation of the log ratios' ranks in run
order (Bartels' rank version of von Neumann's ratio test), one-sided (only positive
dependence narrows an interval), standardised by Moran's moments for a random order.
``benchmarks/bench_dependence.py`` chose it on log ratios that the project's own
``run_protocol`` produced (400 runs a cell, one-sided 5%): its size is 4.2-6.0% at 30
and 60 rounds on the independent models (heavy tails included), where the same
statistic on the values drops to 2.2-2.8% under heavy tails (one 1.5-3x round moves the
value correlation a lot and the rank correlation by one rank) with no gain in power; the
Wald-Wolfowitz runs test about the median has about half its power (at persistence 0.5,
spread 5%, 60 rounds: 57% against 85%).

Correction (:func:`widened`): the interval's log half-widths are scaled by the square root
of the long-run variance factor ``1 + 2 * sum(rho_k)`` and by the ratio of t quantiles at
the effective (rounds / factor) and the real number of rounds. The factor assumes an
ARMA(1, 1), which is what the log ratio of two variants with AR(1) factors plus per-run
noise is (its lag-1 autocorrelation alone understates the persistence): ``rho_k = rho_1
* phi**(k - 1)``, ``phi = rho_2 / rho_1``, both taken off their small-sample bias. The
same bench compared it with batch means over sqrt(n) rounds and an AR(1) factor from lag 1
alone: at 60 rounds, persistence 0.5 and 0.8 (spread 5%), they cover 0.958 and 0.920
against 0.912 and 0.848 for batch means and 0.932 and 0.850 for the AR(1) factor, at
about the same width on independent rounds. With three variants the autocorrelations are
pooled over the run's pairs (the persistence is the run's: its sandboxes, its machine),
which halves their variance: at 49 rounds, persistence 0.5, the agent/human interval covers
0.953 pooled against 0.927 alone.

Pure numbers in and out; no pytest, docker or scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from pytest_isobench.measure.estimate import Estimate

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DETECT_LEVEL", "INTERIM_FACTOR", "MIN_ROUNDS", "NO_DEPENDENCE", "Dependence", "dependence", "widened"]

DETECT_LEVEL = 0.05
"""The one-sided level at which rounds are called dependent: no early stop is taken, and
the verdict's message says so."""

WIDEN_BELOW = 0.25
"""The interval is widened when the (pooled) test's p-value is below this, a looser level
than :data:`DETECT_LEVEL`: the test has little power at the rounds a budget gives (20-33%
at persistence 0.5, spread 2%, 30-60 rounds), so an interval widened only on rejection
keeps most of its undercoverage; widened whenever the estimate exceeds 1, the intervals of
independent rounds widen too often (at 8% noise, "similar" in an A/A fell from 62% to 51%
at 0.5, to 55.5% at 0.25)."""

MIN_ROUNDS = 8
"""Fewer rounds than this give no autocorrelation worth reading: no factor is estimated."""

DETECT_FROM = 20
"""Fewer rounds than this are never called dependent (no message, no early stop kept
back): at 12 rounds the test's size is 6-9%, not 5%, and its power 12-28% (persistence
0.5, spreads 2-5%); the interim looks there are guarded by :data:`INTERIM_FACTOR`."""

INTERIM_FACTOR = 2.0
"""The least variance factor an interim look assumes. A look at 12 or 18 rounds cannot
see a persistence that lasts longer than its window (the offset is mean-removed and what
is left looks independent), and an early stop locks that offset in; the final analysis,
at two or three times the rounds, estimates the factor itself."""

MAX_FACTOR = 25.0
"""The widest correction (an effective sample of 1/25 of the rounds)."""


@dataclass(frozen=True)
class Dependence:
    """The serial dependence of one pair's log ratios, read with the run's other pairs.

    ``lag1``: the rank lag-1 autocorrelation (less its small-sample bias), pooled over the
    run's pairs; ``pvalue``: one-sided, that the rounds are independent, from the pooled
    statistic (one test per run, so that three pairs do not triple the false alarms);
    ``factor``: the long-run variance factor the interval is widened by (1: not
    widened); ``pair_lag1``: the pair's own lag-1 autocorrelation, for the record;
    ``dependent``: the test rejected at :data:`DETECT_LEVEL` after :data:`DETECT_FROM`
    rounds at least.
    """

    rounds: int
    lag1: float
    pvalue: float
    factor: float
    pair_lag1: float = 0.0

    @property
    def dependent(self) -> bool:
        return self.rounds >= DETECT_FROM and self.pvalue < DETECT_LEVEL

    @property
    def widened(self) -> bool:
        return self.factor > 1.0

    def at_least(self, factor: float) -> Dependence:
        """The same dependence, its factor raised to ``factor`` at least."""
        return replace(self, factor=max(self.factor, factor))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "lag1": round(self.lag1, 4),
            "pvalue": round(self.pvalue, 6),
            "factor": round(self.factor, 4),
            "pair_lag1": round(self.pair_lag1, 4),
            "dependent": self.dependent,
        }


NO_DEPENDENCE = Dependence(0, 0.0, 1.0, 1.0)
"""What independent rounds are taken to have."""


def _ranks(x: Sequence[float]) -> list[float]:
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def autocorrelation(x: Sequence[float], lag: int) -> float:
    """The sample autocorrelation of ``x`` at ``lag`` (0 for a constant series)."""
    n = len(x)
    mean = sum(x) / n
    dev = [v - mean for v in x]
    den = sum(v * v for v in dev)
    if den == 0 or lag >= n:
        return 0.0
    return sum(dev[i] * dev[i + lag] for i in range(n - lag)) / den


def _null_z(r1: float, n: int) -> float:
    """Standardised lag-1 autocorrelation under independence. Over the n! orders of n
    distinct values its mean is -1/(n-1) exactly and its variance close to
    (n-2)**2 / ((n-1)**2 (n+1)) (Moran's moments for a random permutation)."""
    mean = -1 / (n - 1)
    sd = (n - 2) / ((n - 1) * math.sqrt(n + 1))
    return (r1 - mean) / sd


def phi_cap(n: int) -> float:
    """The most persistence ``phi = rho_2 / rho_1`` that ``n`` rounds can claim.

    The ratio of two small, noisy autocorrelations is wild at the rounds a budget gives
    (its spread is about ``1 / (rho_1 sqrt(n))``), and ``1 / (1 - phi)`` blows an error
    near 1 up: on the demo's Docker A/A (issue 23), 17 independent-looking rounds with a
    lag-1 of 0.26 got ``phi`` 0.9 and a factor of 6.1. Capped at ``1 - 1 / sqrt(n)`` (0.76
    at 17 rounds: a factor of 3.1 there; 0.82 at 30, 0.87 at 60, 0.9 from 100 on). A cap of
    ``1 - 2 / sqrt(n)`` was tried and dropped: it narrowed the intervals of independent
    rounds in ``bench_dependence``-style runs by little and took the false "significant"
    at persistence 0.8, spread 2%, from 5.3% to 6.2% in ``bench_calibration.py``; this
    one moves the coverage at persistence 0.5 and 0.8 by at most 0.007."""
    return min(0.9, max(0.0, 1 - 1 / math.sqrt(n)))


def long_run_factor(r1: float, r2: float, n: int = 10**6) -> float:
    """``1 + 2 * sum(rho_k)`` for an ARMA(1, 1) with these two autocorrelations, its
    persistence capped by :func:`phi_cap` for ``n`` rounds."""
    if r1 <= 0:
        return 1.0
    phi = min(max(r2 / r1, 0.0), phi_cap(n)) if r2 > 0 else 0.0
    return min(MAX_FACTOR, max(1.0, 1 + 2 * r1 / (1 - phi)))


def debiased(r: float, n: int) -> float:
    """A sample autocorrelation with its small-sample bias taken off: for an AR(1) its
    expectation is about ``rho - (1 + 3 rho) / n`` (Marriott and Pope, 1954)."""
    return (n * r + 1) / (n - 3) if n > 3 else r


def dependence(d: Sequence[float], others: Sequence[Sequence[float]] = (), bias: bool = True) -> Dependence:
    """The serial dependence of the log ratios ``d`` (in run order); ``others``: the log
    ratios of the run's other pairs over the same rounds, whose autocorrelations are
    pooled with ``d``'s for the factor."""
    n = len(d)
    if n < MIN_ROUNDS:
        return Dependence(n, 0.0, 1.0, 1.0)
    r = _ranks(d)
    series = [r] + [_ranks(o) for o in others if len(o) == n]
    k = len(series)
    f1 = sum(autocorrelation(x, 1) for x in series) / k
    f2 = sum(autocorrelation(x, 2) for x in series) / k
    # The 3 pairs of 3 variants span 2 independent contrasts: the pooled statistic's
    # variance is about that of one pair over 2.
    p = 1 - NormalDist().cdf(_null_z(f1, n) * math.sqrt(min(k, 2)))
    own = autocorrelation(r, 1)
    if bias:
        f1, f2, own = debiased(f1, n), debiased(f2, n), debiased(own, n)
    factor = long_run_factor(f1, f2, n) if p < WIDEN_BELOW else 1.0
    return Dependence(n, f1, p, factor, own)


def _t_quantile(q: float, df: float) -> float:
    """Student's t quantile (Cornish-Fisher expansion: within 1% for df >= 2)."""
    z = NormalDist().inv_cdf(q)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def widened(e: Estimate, dep: Dependence, confidence: float) -> Estimate:
    """``e`` with its log half-widths scaled for ``dep`` (unchanged when not widened)."""
    if not dep.widened:
        return e
    n = dep.rounds
    n_eff = max(3.0, n / dep.factor)
    q = 1 - (1 - confidence) / 2
    scale = math.sqrt(dep.factor) * _t_quantile(q, n_eff - 1) / _t_quantile(q, n - 1)
    lp = math.log(e.point)
    low = math.exp(lp - (lp - math.log(e.low)) * scale)
    high = math.exp(lp + (math.log(e.high) - lp) * scale)
    return Estimate(e.point, low, high)
