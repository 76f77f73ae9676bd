"""Tests of the timing protocol with a fake ``run_one`` and a fake clock."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from pytest_isobench.measure.protocol import (
    Measurement,
    ProtocolSettings,
    run_protocol,
)
from pytest_isobench.perf import perftest

if TYPE_CHECKING:
    from collections.abc import Mapping

VARIANTS = ["baseline", "human", "agent"]


@dataclass
class FakeBench:
    """Each run costs ``cost_s`` of fake time and yields ``scale[variant]`` times noise."""

    scale: dict[str, float]
    noise: float = 0.0
    cost_s: float = 1.0
    fail: dict[str, tuple[int, str]] = field(default_factory=dict)  # variant -> (nth run, error)
    now: float = 0.0
    calls: list[str] = field(default_factory=list)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def clock(self) -> float:
        return self.now

    def run_one(self, variant: str) -> Measurement:
        self.calls.append(variant)
        self.now += self.cost_s
        nth = self.calls.count(variant)
        if variant in self.fail and nth >= self.fail[variant][0]:
            return Measurement(None, self.cost_s, None, error=self.fail[variant][1])
        value = self.scale[variant] * self.rng.lognormvariate(0.0, self.noise)
        return Measurement(value, self.cost_s, f"digest-{variant}")


def settings(**kw: object) -> ProtocolSettings:
    base: dict[str, object] = {"warmup": 1, "min_rounds": 5, "max_rounds": 50, "seed": 3}
    base.update(kw)
    return ProtocolSettings(**base)  # type: ignore[arg-type]


def test_rounds_interleave_every_variant_once_in_shuffled_orders() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.7, "agent": 0.8}, noise=0.3)
    res = run_protocol(VARIANTS, bench.run_one, settings(max_rounds=12), clock=bench.clock)
    assert res.stop_reason == "max_rounds"
    assert res.rounds == 12
    orders = []
    for r in range(-1, res.rounds):
        in_round = sorted((s for s in res.samples if s.round == r), key=lambda s: s.order)
        assert sorted(s.variant for s in in_round) == sorted(VARIANTS)
        assert [s.order for s in in_round] == [0, 1, 2]
        orders.append(tuple(s.variant for s in in_round))
    assert len(set(orders)) > 1
    # The schedule is what was run, in that order.
    assert [s.variant for s in res.samples] == bench.calls
    assert len(res.values("human")) == 12
    assert res.walls("agent") == [1.0] * 12


def test_seeded_order_is_reproducible() -> None:
    def schedule(seed: int) -> list[str]:
        bench = FakeBench({"baseline": 1.0, "human": 0.7, "agent": 0.8}, noise=0.3)
        run_protocol(VARIANTS, bench.run_one, settings(seed=seed, max_rounds=8), clock=bench.clock)
        return bench.calls

    assert schedule(1) == schedule(1)
    assert schedule(1) != schedule(2)


def test_warmup_is_kept_apart_from_the_statistics() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.5})
    res = run_protocol(["baseline", "human"], bench.run_one, settings(warmup=2), clock=bench.clock)
    warm = [s for s in res.samples if s.round < 0]
    assert sorted((s.round, s.variant) for s in warm) == [
        (-2, "baseline"), (-2, "human"), (-1, "baseline"), (-1, "human"),
    ]  # fmt: skip
    assert len(res.values("baseline")) == res.rounds
    assert res.digests("human") == {"digest-human"}


def test_precise_speedups_converge_at_the_first_look() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.5, "agent": 0.8}, noise=0.001)
    seen: list[tuple[int, int]] = []

    def on_round(r: int, values: Mapping[str, list[float]]) -> None:
        seen.append((r, len(values["agent"])))

    res = run_protocol(VARIANTS, bench.run_one, settings(), clock=bench.clock, on_round=on_round)
    assert res.stop_reason == "converged"
    # The first look: enough rounds for an interval at the interim level, at a block end.
    assert res.looks == (12,) and res.rounds == 12
    assert seen == [(i, i + 1) for i in range(12)]
    assert res.elapsed_s == pytest.approx(39.0)  # (1 warm-up + 12 rounds) x 3 runs x 1 s


def test_rounds_come_in_counterbalanced_blocks() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.7, "agent": 0.8}, noise=0.3)
    res = run_protocol(VARIANTS, bench.run_one, settings(max_rounds=18, warmup=0), clock=bench.clock)
    orders = [tuple(s.variant for s in sorted((x for x in res.samples if x.round == r), key=lambda x: x.order))
              for r in range(res.rounds)]  # fmt: skip
    for block in range(3):
        # Every order of the three variants once per block of six rounds: each variant
        # takes each position twice.
        assert sorted(orders[6 * block : 6 * block + 6]) == sorted(itertools.permutations(VARIANTS))
    assert orders[:6] != orders[6:12]  # shuffled within each block


def test_identical_values_are_ties_that_never_converge() -> None:
    """A timer too coarse for the test: every value equal. The old protocol called that
    converged at min_rounds (a zero-width interval); now it warns and runs on."""
    bench = FakeBench({"baseline": 1.0, "human": 0.5, "agent": 0.8})
    res = run_protocol(VARIANTS, bench.run_one, settings(max_time_s=60), clock=bench.clock)
    assert res.stop_reason == "max_time"
    assert sorted(res.tied()) == sorted(VARIANTS)
    assert sum("values tied" in w for w in res.warnings) == 3  # once per variant
    assert any("values tied" in w and "loops" in w for w in res.warnings)


def test_ties_ask_the_perf_test_for_longer_values_and_measure_again() -> None:
    """A coarse timer: values tie until the test is asked for longer values (``loops``);
    then the tied rounds become warm-ups and measuring starts again, and converges."""
    bench = FakeBench({"baseline": 1.0, "human": 0.5, "agent": 0.8}, noise=0.01)
    pace = perftest.LoopPace(0.05)
    coarse = bench.run_one

    def run_one(variant: str) -> Measurement:
        m = coarse(variant)
        assert m.value is not None
        # At 0.05 s per value the timer's resolution rounds every value to one step.
        value = round(m.value, 0 if pace.min_time_s == 0.05 else 6) or 1.0
        ran = Measurement(value, m.wall_s, m.digest, loops=10)
        pace.saw(ran)
        return ran

    res = run_protocol(
        VARIANTS, run_one, settings(max_time_s=1e6, max_rounds=60), clock=bench.clock, more_loops=pace.longer
    )
    assert pace.min_time_s == pytest.approx(0.5)
    assert res.stop_reason == "converged"
    assert res.tied() == []
    assert any("values tied after 12 rounds" in w and "ISOBENCH_MIN_TIME_S" in w for w in res.warnings)
    # The tied rounds are kept, as warm-ups, before the first kept round.
    warm = sorted({s.round for s in res.samples if s.round < 0})
    assert warm == list(range(-13, 0))
    assert all(len(set(res.values(v))) == len(res.values(v)) for v in VARIANTS)


def test_ties_of_a_test_without_loops_are_only_warned_about() -> None:
    pace = perftest.LoopPace(0.05)
    pace.saw(Measurement(0.001, 1.0, None))  # no loops: the test ignores ISOBENCH_MIN_TIME_S
    assert pace.longer() is None and pace.min_time_s == 0.05
    honoured = perftest.LoopPace(None)
    honoured.saw(Measurement(0.001, 1.0, None, loops=3))
    assert honoured.longer() is not None and honoured.min_time_s == pytest.approx(1.0)
    honoured.saw(Measurement(0.001, 1.0, None, loops=30))
    assert honoured.longer() is None  # never past the cap


def test_noisy_speedups_run_until_converged_past_min_rounds() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.5}, noise=0.05)
    s = settings(target_rel_width=0.03, max_rounds=200, max_time_s=1e9)
    res = run_protocol(["baseline", "human"], bench.run_one, s, clock=bench.clock)
    assert res.stop_reason == "converged"
    assert 5 < res.rounds < 200


def test_max_time_stops_after_min_rounds() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.9}, noise=0.5, cost_s=10.0)
    s = settings(max_time_s=200.0, min_rounds=3, target_rel_width=0.001)
    res = run_protocol(["baseline", "human"], bench.run_one, s, clock=bench.clock)
    assert res.stop_reason == "max_time"
    # 20 s per round, 20 s of warm-up: time is up after round 9 (200 s).
    assert res.rounds == 9


def test_min_rounds_are_run_even_past_max_time() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.9}, noise=0.5, cost_s=100.0)
    s = settings(max_time_s=1.0, min_rounds=7, target_rel_width=0.001)
    res = run_protocol(["baseline", "human"], bench.run_one, s, clock=bench.clock)
    assert (res.stop_reason, res.rounds) == ("max_time", 7)
    # Fewer rounds than an interval at the final level needs are raised to that number.
    s = settings(max_time_s=1.0, min_rounds=2, target_rel_width=0.001)
    res = run_protocol(["baseline", "human"], bench.run_one, s, clock=bench.clock)
    assert (res.stop_reason, res.rounds) == ("max_time", s.design(2).min_rounds) == ("max_time", 6)


def test_max_rounds_stops() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.9}, noise=0.5)
    s = settings(max_rounds=7, target_rel_width=0.0001, max_time_s=1e9)
    res = run_protocol(["baseline", "human"], bench.run_one, s, clock=bench.clock)
    assert (res.stop_reason, res.rounds) == ("max_rounds", 7)


def test_failed_variant_is_dropped_and_reported() -> None:
    bench = FakeBench(
        {"baseline": 1.0, "human": 0.5, "agent": 0.8},
        noise=0.001,
        fail={"agent": (3, "Traceback ...\nRuntimeError: boom")},
    )
    res = run_protocol(VARIANTS, bench.run_one, settings(), clock=bench.clock)
    assert res.failures == {"agent": "Traceback ...\nRuntimeError: boom"}
    assert bench.calls.count("agent") == 3  # warm-up, round 0, failing round 1; then dropped
    assert len(res.values("agent")) == 1
    assert res.stop_reason == "converged"
    assert res.rounds == 12
    assert bench.calls.count("human") == 13


def test_baseline_failure_stops() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.5, "agent": 0.8}, fail={"baseline": (2, "OOM")})
    res = run_protocol(VARIANTS, bench.run_one, settings(), clock=bench.clock)
    assert res.stop_reason == "baseline_failed"
    assert res.failures == {"baseline": "OOM"}
    assert res.rounds == 0
    assert bench.calls.count("baseline") == 2
    assert len(bench.calls) <= 6


def test_all_other_variants_failing_stops() -> None:
    bench = FakeBench({"baseline": 1.0, "human": 0.5}, fail={"human": (1, "ImportError")})
    res = run_protocol(["baseline", "human"], bench.run_one, settings(), clock=bench.clock)
    assert res.stop_reason == "all_failed"
    assert res.failures == {"human": "ImportError"}


def test_missing_value_falls_back_to_wall_time_with_one_warning() -> None:
    def run_one(variant: str) -> Measurement:
        wall = 2.0 if variant == "baseline" else 1.0
        return Measurement(None, wall, None, warning="no JSON report: fell back to process time")

    res = run_protocol(["baseline", "human"], run_one, settings(max_time_s=1.0))
    assert res.values("human") == [1.0] * res.rounds
    fallbacks = [w for w in res.warnings if "values tied" not in w]
    assert sorted(fallbacks) == [
        "baseline: no JSON report: fell back to process time",
        "human: no JSON report: fell back to process time",
    ]


def test_missing_metric_is_a_failure_when_higher_is_better() -> None:
    def run_one(variant: str) -> Measurement:
        return Measurement(100.0 if variant == "baseline" else None, 1.0, None)

    res = run_protocol(["baseline", "human"], run_one, settings(direction="higher"))
    assert res.failures == {"human": "the perf test reported no metric value"}


def test_non_positive_value_is_a_failure() -> None:
    def run_one(variant: str) -> Measurement:
        return Measurement(1.0 if variant == "baseline" else 0.0, 1.0, None)

    res = run_protocol(["baseline", "human"], run_one, settings())
    assert "expected a finite positive value" in res.failures["human"]


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"warmup": -1}, "warmup"),
        ({"min_rounds": 1}, "min_rounds"),
        ({"min_rounds": 5, "max_rounds": 4}, "max_rounds"),
        ({"max_time_s": 0}, "max_time_s"),
        ({"target_rel_width": 0.0}, "target_rel_width"),
        ({"confidence": 1.0}, "confidence"),
        ({"direction": "up"}, "direction"),
        ({"seed": 1.5}, "seed"),
        ({"interim_share": 1.0}, "interim_share"),
    ],
)
def test_settings_are_validated(kw: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        ProtocolSettings(**kw)  # type: ignore[arg-type]


def test_variants_are_validated() -> None:
    with pytest.raises(ValueError, match="variants"):
        run_protocol([], lambda v: Measurement(1.0, 1.0, None), settings())
    with pytest.raises(ValueError, match="distinct"):
        run_protocol(["a", "a"], lambda v: Measurement(1.0, 1.0, None), settings())
