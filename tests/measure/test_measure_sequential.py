"""The sequential design and the error rates of the whole protocol + verdict loop.

Every simulation here is seeded and runs on a fake clock, so each test is deterministic:
it passes or fails the same way on every run.
"""

from __future__ import annotations

import random

import pytest

from pytest_isobench.measure.paired import min_rounds_for, paired_speedup, signed_rank_k
from pytest_isobench.measure.protocol import Measurement, ProtocolResult, ProtocolSettings, run_protocol
from pytest_isobench.measure.rule import SuccessRule
from pytest_isobench.measure.sequential import block_size, design
from pytest_isobench.measure.verdict import decided, judge


def test_design_splits_alpha_over_the_looks_and_the_end() -> None:
    d = design(0.05, 5, 200, 3)
    assert d.block == 6 and all(n % 6 == 0 for n in d.looks)
    assert d.looks == (12, 18, 30, 48, 72, 108, 162)
    # Budgeted for the looks from round 6 on (8 of them), so the real 7 stay under it.
    assert d.interim_level == pytest.approx(0.05 * 0.25 / 8)
    assert d.final_level == pytest.approx(0.0375)
    assert len(d.looks) * d.interim_level + d.final_level <= 0.05
    assert d.looks[0] >= min_rounds_for(d.interim_level)
    assert design(0.05, 5, 200, 2).block == 2
    assert design(0.05, 5, 200, 3, interim_share=0).looks == ()
    # Too few rounds for an interim interval before max_rounds: no looks, all of alpha at the end.
    short = design(0.05, 5, 12, 3)
    assert (short.looks, short.final_level) == ((), 0.05)
    assert block_size(4) == 4


def test_signed_rank_critical_values_match_the_tables() -> None:
    # Published two-sided 0.05 critical values T: 0 at n=6, 3 at n=8, 8 at n=10, 137 at n=30;
    # k is one more (the number of Walsh averages cut from each end).
    assert [signed_rank_k(n, 0.05) for n in (5, 6, 8, 10, 30)] == [0, 1, 4, 9, 138]
    assert min_rounds_for(0.05) == 6


def test_paired_interval_ignores_what_the_round_shares() -> None:
    """Drift the size of the effect: unpaired it would blur the 1.5x; paired it is exact."""
    base = [1.0 + 0.05 * i for i in range(20)]
    rng = random.Random(1)
    human = [b / 1.5 * rng.lognormvariate(0.0, 0.01) for b in base]
    est = paired_speedup(base, human, "lower", 0.95)
    assert est.low < 1.5 < est.high
    assert est.rel_half_width < 0.01


class Sim:
    """A fake machine: each run costs ``cost_s``; values are ``scale * lognormal(cv)``."""

    def __init__(self, scale: dict[str, float], cv: float, seed: int, cost_s: float = 0.1) -> None:
        self.scale, self.cv, self.cost_s = scale, cv, cost_s
        self.rng = random.Random(seed)
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def run_one(self, variant: str) -> Measurement:
        self.now += self.cost_s
        return Measurement(self.scale[variant] * self.rng.lognormvariate(0.0, self.cv), self.cost_s, "d")


def _simulate(scale: dict[str, float], cv: float, seed: int, rule: SuccessRule, **kw: float) -> ProtocolResult:
    sim = Sim(scale, cv, seed)
    settings = ProtocolSettings(min_rounds=5, max_rounds=60, max_time_s=kw.get("max_time_s", 60.0), seed=seed)
    return run_protocol(
        list(scale), sim.run_one, settings, clock=sim.clock, decided=lambda partial: decided(partial, rule)
    )


def test_optional_stopping_keeps_the_a_a_false_alarm_rate() -> None:
    """Issue 12: the old ``decided`` stop peeked after every round and called an A/A human
    "significant" 9-15% of the time against a nominal 2.5%. 300 seeded A/A runs
    (baseline vs itself, CV 5%, up to 60 rounds, looks and early stops allowed): at most
    6 (2%) may come out significant (3 do; the old code's peeking stop gave 41 of these
    300). Deterministic (seeded, fake clock)."""
    rule = SuccessRule()
    significant = 0
    stopped_early = 0
    for seed in range(300):
        res = _simulate({"baseline": 1.0, "human": 1.0}, 0.05, seed, rule)
        stopped_early += res.stop_reason in ("decided", "converged")
        significant += judge([res], rule, has_agent=False).human_significant
    assert significant <= 6, significant
    assert stopped_early <= 6, stopped_early


def test_a_real_speedup_still_stops_early() -> None:
    rule = SuccessRule()
    res = _simulate({"baseline": 1.0, "human": 1 / 1.5}, 0.03, 1, rule)
    assert res.stop_reason in ("decided", "converged")
    assert res.rounds == res.looks[0] <= 12  # the first look
    v = judge([res], rule, has_agent=False)
    assert v.human_significant and v.human is not None and v.human.contains(1.5)


def test_noop_agent_never_passes_against_a_1_6x_human() -> None:
    """Issue 12: the noop agent (no change) was judged similar to a 1.6x human, agent/human
    0.67x [0.40, 1.18], and passed. 200 seeded runs on a very noisy machine (CV 30%, a
    short budget): none may pass. Deterministic (seeded, fake clock)."""
    rule = SuccessRule()
    categories = set()
    for seed in range(200):
        res = _simulate({"baseline": 1.0, "human": 1 / 1.6, "agent": 1.0}, 0.30, 1000 + seed, rule, max_time_s=3.0)
        v = judge([res], rule, has_agent=True)
        assert not v.passed, (seed, v.message)
        categories.add(v.category)
    assert categories <= {"worse", "inconclusive"}


def test_a_failed_agent_ends_the_measuring_at_the_next_look() -> None:
    rule = SuccessRule()
    sim = Sim({"baseline": 1.0, "human": 1.0, "agent": 1.0}, 0.05, 7)
    calls = {"agent": 0}

    def run_one(variant: str) -> Measurement:
        if variant == "agent":
            calls["agent"] += 1
            if calls["agent"] > 3:
                return Measurement(None, 0.1, None, error="boom")
        return sim.run_one(variant)

    settings = ProtocolSettings(min_rounds=5, max_rounds=60, max_time_s=60.0, seed=7)
    res = run_protocol(
        ["baseline", "human", "agent"], run_one, settings, clock=sim.clock, decided=lambda p: decided(p, rule)
    )
    assert res.stop_reason == "decided" and res.rounds == res.looks[0]
    assert judge([res], rule, has_agent=True).category == "failed"
