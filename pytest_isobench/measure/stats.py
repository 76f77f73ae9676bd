"""Statistics over timing samples: summaries, speedups, their intervals, p-values and the
combination of a task's tests.

The default speedup is paired by round (:mod:`~pytest_isobench.measure.paired`); the
unpaired Hodges-Lehmann and the median-ratio bootstrap stay available by name.
Everything here is a pure function of plain numbers, so it can be tested without a
sandbox, and the verdict and the protocol share one definition of "speedup". It must not
import pytest or docker, nor remove outliers (they are counted and reported only), and
it imports scipy lazily inside the functions that need it so that loading the plugin
stays cheap.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pytest_benchmark.stats import Stats

from pytest_isobench.measure.estimate import Direction, Estimate
from pytest_isobench.measure.paired import paired_speedup

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "ESTIMATORS",
    "Combination",
    "Direction",
    "Estimate",
    "Estimator",
    "VariantStats",
    "combine",
    "estimate_speedup",
    "faster_pvalue",
    "speedup",
    "speedup_ci",
    "speedup_hl",
    "summarize",
]

_DIRECTIONS: tuple[str, ...] = ("lower", "higher")

# pytest-benchmark's Stats is unannotated; going through Any keeps mypy --strict quiet.
_new_stats: Callable[[], Any] = Stats


@dataclass(frozen=True)
class VariantStats:
    """pytest-benchmark's summary of one variant's kept rounds, plus the coefficient of
    variation. Outliers are counted (``outliers`` is ``"<stddev>;<iqr>"``), never removed.

    ``fields`` is pytest-benchmark's ``Stats.as_dict()`` (its ``Stats.fields``: min, max,
    mean, stddev, median, ...), each also readable as an attribute (``s.median``).
    """

    fields: dict[str, Any]
    cv: float

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        """The ``stats`` object of a pytest-benchmark JSON benchmark entry."""
        return {**self.fields, "iterations": 1}


def _check(values: Sequence[float], name: str) -> list[float]:
    data = [float(v) for v in values]
    if not data:
        raise ValueError(f"{name}: expected at least one value, got none")
    bad = [v for v in data if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"{name}: expected finite positive values, got {bad[0]!r}")
    return data


def _check_direction(direction: str) -> None:
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction: expected 'lower' or 'higher', got {direction!r}")


def summarize(values: Sequence[float]) -> VariantStats:
    """Summarise one variant's values the way pytest-benchmark does."""
    data = _check(values, "values")
    st = _new_stats()
    for v in data:
        st.update(v)
    fields: dict[str, Any] = st.as_dict()
    return VariantStats(fields=fields, cv=float(st.stddev) / float(st.mean))


def _median(data: list[float]) -> float:
    s = sorted(data)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def speedup(base: Sequence[float], other: Sequence[float], direction: Direction) -> float:
    """Ratio of medians, oriented so that > 1 means ``other`` is better than ``base``."""
    _check_direction(direction)
    b = _median(_check(base, "base"))
    o = _median(_check(other, "other"))
    return b / o if direction == "lower" else o / b


@cache
def _bootstrap_seed_arg() -> str:
    # scipy 1.15 renamed random_state to rng; accept both so scipy>=1.11 works.
    from scipy import stats

    return "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def speedup_ci(
    base: Sequence[float],
    other: Sequence[float],
    direction: Direction,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """:func:`speedup` with a bootstrap confidence interval.

    The two samples are resampled independently (``paired=False``): rounds interleave
    the variants, but nothing pairs the i-th baseline run with the i-th other run. The
    percentile method is used rather than BCa because BCa's jackknife acceleration
    degenerates (NaN, warnings) on the tiny or tied samples we see at ``min_rounds``.
    The interval is widened, if needed, to include the point estimate, which the
    percentile method does not guarantee for a discrete statistic like the median.
    Both samples constant gives ``low == high == point``.
    """
    _check_direction(direction)
    b = _check(base, "base")
    o = _check(other, "other")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples: expected a positive integer, got {n_resamples!r}")
    point = speedup(b, o, direction)
    if (min(b) == max(b) and min(o) == max(o)) or len(b) < 2 or len(o) < 2:
        # No spread to resample (or too few points for scipy): the data pin the ratio.
        return Estimate(point, point, point)

    import numpy as np
    from scipy import stats

    def ratio(x: Any, y: Any, axis: int = -1) -> Any:
        mx = np.median(x, axis=axis)
        my = np.median(y, axis=axis)
        return mx / my if direction == "lower" else my / mx

    kwargs: dict[str, Any] = {_bootstrap_seed_arg(): np.random.default_rng(seed)}
    res = stats.bootstrap(
        (np.asarray(b), np.asarray(o)),
        ratio,
        n_resamples=n_resamples,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        **kwargs,
    )
    low = float(res.confidence_interval.low)
    high = float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return Estimate(point, point, point)
    return Estimate(point, min(low, point), max(high, point))


Estimator = Literal["paired-hodges-lehmann", "hodges-lehmann", "median-bootstrap"]
"""How a speedup and its interval are estimated (see :func:`estimate_speedup`)."""

ESTIMATORS: tuple[str, ...] = ("paired-hodges-lehmann", "hodges-lehmann", "median-bootstrap")
PAIRED: tuple[str, ...] = ("paired-hodges-lehmann",)
"""Estimators that need the values of the same rounds, in round order."""


def speedup_hl(
    base: Sequence[float], other: Sequence[float], direction: Direction, confidence: float = 0.95
) -> Estimate:
    """The Hodges-Lehmann speedup with its distribution-free (Mann-Whitney) interval.

    The point is ``exp`` of the median of every pairwise difference of log times
    (baseline run i against other run j); the interval takes the k-th smallest and
    largest of those differences, k from the Mann-Whitney U distribution (normal
    approximation), the interval that inverts the same rank test that decides
    significance. Unlike a ratio of medians, it stays stable when a machine flips
    between two speed states (measured here: 55 rounds that gave 1.41x [0.90, 1.96] by
    a bootstrap of the median ratio gave 1.35x [1.30, 1.40] this way).
    """
    _check_direction(direction)
    b = _check(base, "base")
    o = _check(other, "other")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    from statistics import NormalDist

    import numpy as np

    lb, lo = np.log(np.asarray(b)), np.log(np.asarray(o))
    diffs = (lb[:, None] - lo[None, :]).ravel() if direction == "lower" else (lo[None, :] - lb[:, None]).ravel()
    diffs.sort()
    point = float(np.exp(np.median(diffs)))
    n1, n2 = len(b), len(o)
    if n1 < 2 or n2 < 2 or diffs[0] == diffs[-1]:
        return Estimate(point, point, point)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    k = math.floor(n1 * n2 / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))
    k = min(max(k, 0), (len(diffs) - 1) // 2)
    low, high = float(np.exp(diffs[k])), float(np.exp(diffs[len(diffs) - 1 - k]))
    return Estimate(point, min(low, point), max(high, point))


def estimate_speedup(
    base: Sequence[float],
    other: Sequence[float],
    direction: Direction,
    confidence: float = 0.95,
    estimator: Estimator = "paired-hodges-lehmann",
    n_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """The speedup of ``other`` over ``base`` by the chosen estimator.

    ``paired-hodges-lehmann`` (the default): the per-round log ratios' Hodges-Lehmann
    estimate with the exact signed-rank interval (:func:`~.paired.paired_speedup`);
    ``base[i]`` and ``other[i]`` must come from round i. ``hodges-lehmann``: the
    unpaired two-sample version (:func:`speedup_hl`). ``median-bootstrap``: the ratio of
    medians with a percentile bootstrap interval (:func:`speedup_ci`).
    """
    if estimator == "paired-hodges-lehmann":
        _check_direction(direction)
        return paired_speedup(_check(base, "base"), _check(other, "other"), direction, confidence)
    if estimator == "median-bootstrap":
        return speedup_ci(base, other, direction, confidence, n_resamples, seed)
    if estimator != "hodges-lehmann":
        raise ValueError(f"estimator: expected one of {', '.join(map(repr, ESTIMATORS))}, got {estimator!r}")
    return speedup_hl(base, other, direction, confidence)


def _mean(values: list[float], how: Literal["geometric", "harmonic"]) -> float:
    if how == "geometric":
        return math.exp(sum(math.log(v) for v in values) / len(values))
    return len(values) / sum(1 / v for v in values)


Combination = Literal["independent", "conservative"]


def combine(
    estimates: Sequence[Estimate],
    how: Literal["geometric", "harmonic"] = "geometric",
    assume: Combination = "independent",
) -> Estimate:
    """Combine per-test speedups of one task into one figure.

    ``"geometric"`` is ISO-Bench's summary; ``"harmonic"`` is GSO's. The point is that
    mean of the points. ``assume="independent"`` (the default) treats the tests' errors
    as independent (each perf test is its own protocol run, so its noise is its own): in
    log space each interval's lower and upper half-widths are taken as ``z`` standard
    errors and added in quadrature with the mean's weights (``1/k`` for the geometric
    mean, ``(1/s_i) / sum(1/s_j)`` for the harmonic mean, its derivative in log space).
    ``assume="conservative"`` applies the mean to the lows and the highs separately,
    which is exact only when the tests' errors are perfectly correlated and otherwise
    overstates the width (1.4-2.2x for independent tests); it needs no assumption.
    """
    if how not in ("geometric", "harmonic"):
        raise ValueError(f"how: expected 'geometric' or 'harmonic', got {how!r}")
    if assume not in ("independent", "conservative"):
        raise ValueError(f"assume: expected 'independent' or 'conservative', got {assume!r}")
    if not estimates:
        raise ValueError("estimates: expected at least one estimate, got none")
    if len(estimates) == 1:
        return estimates[0]
    points = _check([e.point for e in estimates], "estimates (point)")
    lows = _check([e.low for e in estimates], "estimates (low)")
    highs = _check([e.high for e in estimates], "estimates (high)")
    center = _mean(points, how)
    if assume == "conservative":
        return Estimate(center, min(_mean(lows, how), center), max(_mean(highs, how), center))
    if how == "geometric":
        weights = [1 / len(points)] * len(points)
    else:
        inv = [1 / p for p in points]
        weights = [v / sum(inv) for v in inv]
    down = math.sqrt(
        sum((w * (math.log(p) - math.log(lo))) ** 2 for w, p, lo in zip(weights, points, lows, strict=True))
    )
    up = math.sqrt(
        sum((w * (math.log(hi) - math.log(p))) ** 2 for w, p, hi in zip(weights, points, highs, strict=True))
    )
    return Estimate(center, center * math.exp(-down), center * math.exp(up))


def faster_pvalue(base: Sequence[float], other: Sequence[float], direction: Direction) -> float:
    """One-sided Mann-Whitney U p-value; small means ``other`` is better than ``base``.

    Identical samples (no information) give 1.0 rather than NaN.
    """
    _check_direction(direction)
    b = _check(base, "base")
    o = _check(other, "other")
    from scipy import stats

    alternative = "less" if direction == "lower" else "greater"
    p = float(stats.mannwhitneyu(o, b, alternative=alternative).pvalue)
    return 1.0 if math.isnan(p) else p
