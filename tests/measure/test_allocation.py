"""Passes per lockstep round (issue 23, item 5): the two-stage allocation of the budget.

Rounds are made up with a known within part (pass-to-pass noise of a cycle's ratio) and a
known between part (a factor that stays with one process for its life), and known costs.
"""

from __future__ import annotations

import math
import random

import pytest

from pytest_isobench.measure.allocation import FROM_ROUNDS, RoundCost, allocate

VARIANTS = ("baseline", "human", "agent")


def _rounds(
    n: int, cycles: int, within: float, between: float, *, seed: int = 1, start_s: float = 0.6, pass_s: float = 0.02
) -> list[RoundCost]:
    """``n`` rounds of ``cycles`` cycles: each process slow or fast by a lognormal factor of
    sd ``between`` for its life, each pass by one of sd ``within``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        passes = {}
        for v in VARIANTS:
            life = math.exp(rng.gauss(0, between))
            passes[v] = [pass_s * life * math.exp(rng.gauss(0, within)) for _ in range(cycles)]
        cycles_s = cycles * len(VARIANTS) * pass_s
        out.append(RoundCost(passes, cycles_s, start_s + cycles_s))
    return out


def test_what_differs_between_processes_asks_for_fewer_passes_and_more_rounds() -> None:
    """One process in a few runs slow for its life (the demo's c7a161c8 in Docker): its
    passes agree with each other, so more of them say nothing new. The least cycles that
    still give every variant every place (3 of 3 variants)."""
    rounds = _rounds(20, 20, within=0.005, between=0.10)
    a = allocate(rounds, least=3, most=20, step=3)
    assert a.cycles == 3
    assert a.between is not None and a.within is not None
    # Both parts come back near what made them: the between variance of a pair's ratio is
    # twice a process's (0.02), the within per cycle about twice a pass's (5e-5).
    assert 0.01 < a.between < 0.04, a.between
    assert 1e-5 < a.within < 3e-4, a.within
    assert a.start_s == pytest.approx(0.6) and a.cycle_s == pytest.approx(0.06)
    assert a.as_dict()["cycles"] == 3 and a.as_dict()["rounds"] == 20


def test_pass_noise_keeps_the_most_passes() -> None:
    """Processes alike, passes noisy: only more passes per round average the noise."""
    rounds = _rounds(20, 20, within=0.08, between=0.0)
    assert allocate(rounds, least=3, most=20, step=3).cycles == 20


def test_between_the_two_the_square_root_rule() -> None:
    """m = sqrt(start / cycle * within / between): start 0.6 s, a cycle 0.06 s, within
    (per cycle, of a pair) 2 * 0.03**2, between 2 * 0.01**2: sqrt(10 * 9) = 9.5, a multiple
    of 3: 9 or 12 (the estimates are themselves noisy)."""
    rounds = _rounds(400, 20, within=0.03, between=0.01, seed=5)
    a = allocate(rounds, least=3, most=20, step=3)
    assert a.cycles in (9, 12), a.as_dict()


def test_before_enough_rounds_the_middle_of_the_bounds() -> None:
    """Nothing known yet: the geometric middle (sqrt(3 * 20) = 7.7, up to a multiple of 3)."""
    rounds = _rounds(FROM_ROUNDS - 1, 20, within=0.005, between=0.10)
    a = allocate(rounds, least=3, most=20, step=3)
    assert a.cycles == 9 and a.between is None and a.rounds == FROM_ROUNDS - 1
    assert allocate([], least=2, most=2, step=2).cycles == 2


def test_the_bounds_hold() -> None:
    rounds = _rounds(20, 20, within=0.005, between=0.10)
    assert allocate(rounds, least=5, most=20).cycles == 5  # no step: the least itself
    assert allocate(rounds, least=5, most=20, step=3).cycles == 6  # a multiple of the variants
    assert allocate(rounds, least=30, most=4, step=3).cycles == 4  # least above most: most
    noisy = _rounds(20, 20, within=0.08, between=0.0)
    assert allocate(noisy, least=3, most=10, step=3).cycles == 10  # most need not be a multiple


def test_rounds_of_other_variants_or_without_passes_are_left_out() -> None:
    """A round in which a variant failed (its passes missing) is not read with the others."""
    rounds = _rounds(20, 20, within=0.005, between=0.10)
    odd = RoundCost({"baseline": [0.02] * 5, "human": [0.03] * 5}, 0.2, 0.8)
    empty = RoundCost({"baseline": [], "human": [], "agent": []}, 0.0, 0.5)
    a = allocate([*rounds, odd, empty], least=3, most=20, step=3)
    # The latest usable round has two variants: only rounds of those two count, too few.
    assert a.cycles == 9 and a.rounds == 1
    b = allocate([*rounds, empty], least=3, most=20, step=3)
    assert b.cycles == 3 and b.rounds == 20
