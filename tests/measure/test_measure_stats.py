"""Tests of the measure layer's statistics with plain numbers."""

from __future__ import annotations

import math
import random

import pytest

from pytest_isobench.measure.stats import (
    Estimate,
    combine,
    faster_pvalue,
    speedup,
    speedup_ci,
    summarize,
)


def lognormal(n: int, scale: float, sigma: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [scale * rng.lognormvariate(0.0, sigma) for _ in range(n)]


def test_summarize_matches_pytest_benchmark_keys_and_counts_outliers() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    d = s.as_dict()
    assert set(d) == {
        "min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3",
        "iqr_outliers", "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops",
        "total", "iterations",
    }  # fmt: skip
    assert (d["min"], d["max"], d["median"], d["rounds"]) == (1.0, 100.0, 3.0, 5)
    assert d["iterations"] == 1
    assert d["iqr_outliers"] == 1
    assert d["outliers"] == f"{d['stddev_outliers']};1"
    assert d["hd15iqr"] == 4.0  # the outlier is reported, not removed: max stays 100
    assert s.cv == pytest.approx(s.stddev / s.mean)
    assert d["total"] == 110.0


@pytest.mark.parametrize("bad", [[], [1.0, 0.0], [1.0, -2.0], [math.nan]])
def test_non_positive_or_empty_values_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="values"):
        summarize(bad)
    with pytest.raises(ValueError, match="base"):
        speedup(bad, [1.0, 1.0], "lower")
    with pytest.raises(ValueError, match="other"):
        speedup_ci([1.0, 1.0], bad, "lower")


def test_bad_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="direction"):
        speedup([1.0], [1.0], "faster")  # type: ignore[arg-type]


def test_speedup_orientation() -> None:
    assert speedup([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], "lower") == 2.0
    assert speedup([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], "higher") == 0.5
    assert speedup([100.0], [150.0], "higher") == 1.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bootstrap_ci_contains_the_true_ratio(seed: int) -> None:
    base = lognormal(30, 1.0, 0.05, seed)
    other = lognormal(30, 1.0 / 1.5, 0.05, seed + 100)
    est = speedup_ci(base, other, "lower")
    assert est.contains(1.5)
    assert not est.contains(1.0)
    assert est.low <= est.point <= est.high
    assert est.rel_half_width < 0.1


def test_bootstrap_ci_higher_is_better() -> None:
    base = lognormal(30, 100.0, 0.05, 7)
    other = lognormal(30, 150.0, 0.05, 8)
    assert speedup_ci(base, other, "higher").contains(1.5)


def test_identical_samples_contain_one() -> None:
    values = lognormal(5, 1.0, 0.1, 4)
    est = speedup_ci(values, list(values), "lower")
    assert est.point == 1.0
    assert est.contains(1.0)
    assert est.low < 1.0 < est.high


def test_zero_variance_gives_a_point_interval() -> None:
    est = speedup_ci([2.0] * 5, [1.0] * 5, "lower")
    assert est == Estimate(2.0, 2.0, 2.0)
    assert est.rel_half_width == 0.0


def test_one_constant_sample_does_not_crash() -> None:
    est = speedup_ci([1.0] * 5, [1.0, 1.0, 1.0, 1.0, 1.1], "lower")
    assert est.point == 1.0
    assert est.low <= 1.0 <= est.high


def test_bootstrap_is_deterministic_with_the_seed() -> None:
    base = lognormal(8, 1.0, 0.2, 11)
    other = lognormal(8, 0.8, 0.2, 12)
    a = speedup_ci(base, other, "lower", seed=5)
    assert a == speedup_ci(base, other, "lower", seed=5)
    assert a != speedup_ci(base, other, "lower", seed=6)


def test_narrower_interval_at_lower_confidence() -> None:
    base = lognormal(20, 1.0, 0.1, 21)
    other = lognormal(20, 0.9, 0.1, 22)
    wide = speedup_ci(base, other, "lower", confidence=0.99)
    narrow = speedup_ci(base, other, "lower", confidence=0.5)
    assert narrow.high - narrow.low < wide.high - wide.low


def test_estimate_helpers() -> None:
    e = Estimate(2.0, 1.9, 2.1)
    assert e.rel_half_width == pytest.approx(0.05)
    assert e.contains(1.9) and e.contains(2.1) and not e.contains(2.2)
    assert e.as_dict() == {"point": 2.0, "low": 1.9, "high": 2.1}


def test_combine_geometric_and_harmonic() -> None:
    a = Estimate(1.0, 0.5, 2.0)
    b = Estimate(4.0, 2.0, 8.0)
    # Conservative: the means of the bounds.
    assert combine([a, b], "geometric", "conservative") == pytest.approx(Estimate(2.0, 1.0, 4.0))
    h = combine([a, b], "harmonic", "conservative")
    assert h.point == pytest.approx(1.6)
    assert h.low == pytest.approx(0.8)
    # Independent (the default): half-widths add in quadrature in log space, sqrt(2)/2 of
    # the conservative log half-width for two equally precise tests.
    g = combine([a, b], "geometric")
    assert g.point == pytest.approx(2.0)
    assert g.low == pytest.approx(2.0 * math.exp(-math.log(2) / math.sqrt(2)))
    assert g.high == pytest.approx(2.0 * math.exp(math.log(2) / math.sqrt(2)))
    hi = combine([a, b], "harmonic")
    # Weights (1/s_i) / sum(1/s_j): 0.8 and 0.2.
    assert hi.point == pytest.approx(1.6)
    assert hi.low == pytest.approx(1.6 * math.exp(-math.log(2) * math.hypot(0.8, 0.2)))
    assert combine([a], "harmonic") == a
    with pytest.raises(ValueError, match="estimates"):
        combine([], "geometric")
    with pytest.raises(ValueError, match="how"):
        combine([a], "arithmetic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="assume"):
        combine([a, b], "geometric", "hopeful")  # type: ignore[arg-type]


def test_mann_whitney_small_for_a_real_shift_large_for_none() -> None:
    base = lognormal(10, 1.0, 0.05, 31)
    faster = lognormal(10, 0.7, 0.05, 32)
    same = lognormal(10, 1.0, 0.05, 33)
    assert faster_pvalue(base, faster, "lower") < 0.01
    assert faster_pvalue(base, same, "lower") > 0.05
    # One-sided: a slower variant is not "faster".
    assert faster_pvalue(faster, base, "lower") > 0.5
    # For a rate, higher is better.
    assert faster_pvalue(faster, base, "higher") < 0.01


def test_mann_whitney_identical_constant_samples() -> None:
    assert faster_pvalue([1.0] * 5, [1.0] * 5, "lower") == 1.0
