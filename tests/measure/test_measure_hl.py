"""The Hodges-Lehmann speedup: robust to a machine that flips between speed states."""

from __future__ import annotations

import random

import pytest

from pytest_isobench.measure.paired import paired_speedup
from pytest_isobench.measure.stats import estimate_speedup, speedup_ci, speedup_hl


def bimodal(scale: float, n: int, seed: int) -> list[float]:
    """Times of a machine that runs at one of two speeds (1.65x apart), with jitter."""
    rng = random.Random(seed)
    return [scale * rng.choice((1.0, 1.65)) * rng.lognormvariate(0, 0.02) for _ in range(n)]


def test_known_speedup_is_found_and_covered_under_bimodal_noise() -> None:
    base, head = bimodal(0.027, 55, 1), bimodal(0.020, 55, 2)  # true speedup 1.35x
    est = speedup_hl(base, head, "lower")
    assert est.low <= 1.35 <= est.high
    assert est.high / est.low < 1.25  # tight where the median ratio is not


def test_a_a_intervals_cover_one_at_about_the_nominal_rate() -> None:
    misses = 0
    for seed in range(200):
        a, b = bimodal(0.03, 20, 2 * seed), bimodal(0.03, 20, 2 * seed + 1)
        est = speedup_hl(a, b, "lower")
        misses += not est.low <= 1.0 <= est.high
    assert misses <= 20  # 95% nominal: about 10 misses expected in 200


def test_direction_higher_inverts_the_ratio() -> None:
    base = [100.0, 101.0, 99.0, 100.5, 99.5]
    more = [150.0, 151.0, 149.0, 150.5, 149.5]
    assert speedup_hl(base, more, "higher").point == pytest.approx(1.5, rel=0.01)
    assert speedup_hl(base, more, "lower").point == pytest.approx(1 / 1.5, rel=0.01)


def test_constant_samples_pin_the_interval() -> None:
    est = speedup_hl([2.0] * 5, [1.0] * 5, "lower")
    assert (est.point, est.low, est.high) == (2.0, 2.0, 2.0)


def test_estimator_choice() -> None:
    base, head = bimodal(0.027, 30, 3), bimodal(0.020, 30, 4)
    assert estimate_speedup(base, head, "lower", estimator="hodges-lehmann") == speedup_hl(base, head, "lower")
    assert estimate_speedup(base, head, "lower") == paired_speedup(base, head, "lower")
    assert estimate_speedup(base, head, "lower", estimator="median-bootstrap") == speedup_ci(base, head, "lower")
    with pytest.raises(ValueError, match="estimator"):
        estimate_speedup(base, head, "lower", estimator="mean")  # type: ignore[arg-type]
