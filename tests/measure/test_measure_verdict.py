"""Tests of verdicts built from hand-made protocol results."""

from __future__ import annotations

import json
import random
import re

import pytest

from pytest_isobench.measure.protocol import (
    Measurement,
    ProtocolResult,
    ProtocolSettings,
    Sample,
    StopReason,
)
from pytest_isobench.measure.stats import Estimate
from pytest_isobench.measure.verdict import SuccessRule, categorize, format_estimate, judge

GSO = SuccessRule(rule="gso")


def result(
    values: dict[str, list[float]],
    digests: dict[str, str | None] | None = None,
    failures: dict[str, str] | None = None,
    stop_reason: StopReason = "converged",
) -> ProtocolResult:
    """A protocol result whose kept rounds hold ``values`` (variants in dict order), value
    i of every variant in round i."""
    digests = digests or {}
    samples = [
        Sample(variant, i, order, Measurement(v, v, digests.get(variant, "same")))
        for order, (variant, vals) in enumerate(values.items())
        for i, v in enumerate(vals)
    ]
    return ProtocolResult(
        variants=tuple(values),
        settings=ProtocolSettings(),
        samples=samples,
        rounds=max(len(v) for v in values.values()),
        stop_reason=stop_reason,
        failures=failures or {},
    )


def const(speedup: float, n: int = 12) -> list[float]:
    """Times of a variant ``speedup`` times faster than a 1-second baseline, with a 0.05%
    jitter so that the values are not ties (a tie is a timer too coarse to judge)."""
    rng = random.Random(f"const-{speedup}")
    return [rng.lognormvariate(0.0, 0.0005) / speedup for _ in range(n)]


def noisy(speedup: float, seed: int, n: int = 12, sigma: float = 0.02) -> list[float]:
    rng = random.Random(seed)
    return [rng.lognormvariate(0.0, sigma) / speedup for _ in range(n)]


def task(human: float, agent: float | None, noise: bool = False) -> list[ProtocolResult]:
    if noise:
        vals = {"baseline": noisy(1.0, 1), "human": noisy(human, 2)}
        if agent is not None:
            vals["agent"] = noisy(agent, 3)
    else:
        vals = {"baseline": const(1.0), "human": const(human)}
        if agent is not None:
            vals["agent"] = const(agent)
    return [result(vals)]


def test_format_estimate() -> None:
    assert format_estimate(Estimate(1.4149, 1.355, 1.4501)) == "1.41x [1.35, 1.45]"


def test_worse_message_is_exact() -> None:
    v = judge(task(1.41, 1.03), SuccessRule(), has_agent=True)
    assert v.category == "worse"
    assert not v.passed
    assert v.message == "agent 1.03x [1.03, 1.03] vs human 1.41x [1.41, 1.41]: worse (needs >= 1.34x)"
    assert v.needed == pytest.approx(1.41 * 0.95, rel=1e-3)


def test_beats_with_noise() -> None:
    v = judge(task(1.4, 2.0, noise=True), SuccessRule(), has_agent=True)
    assert v.category == "beats"
    assert v.passed
    assert v.agent_vs_human is not None and v.agent_vs_human.low > 1.0
    assert v.agent is not None and v.agent.contains(2.0)
    assert re.fullmatch(
        r"agent 2\.\d\dx \[\d\.\d\d, \d\.\d\d\] vs human 1\.\d\dx \[\d\.\d\d, \d\.\d\d\]: "
        r"beats \(needs >= 1\.\d\dx\)",
        v.message,
    ), v.message


def test_similar_within_tolerance() -> None:
    v = judge(task(1.6, 1.55), SuccessRule(), has_agent=True)
    assert (v.category, v.passed) == ("similar", True)
    assert v.message.endswith(": similar (needs >= 1.52x)")


def test_faster_by_point_but_not_by_interval_is_inconclusive_not_similar() -> None:
    """Issue 12: an interval like 1.10x [0.91, 1.46] at the end of the budget was called
    "similar" and passed; "we could not tell" is its own category, not a pass. (Old code:
    similar, passed.)"""
    rng = random.Random(5)
    vals = {
        "baseline": const(1.0),
        "human": const(2.0),
        "agent": [0.5 / 1.1 * rng.lognormvariate(0.0, 0.25) for _ in range(12)],
    }
    v = judge([result(vals, stop_reason="max_time")], SuccessRule(), has_agent=True)
    assert v.agent_vs_human is not None
    assert v.agent_vs_human.point > 1.05 and v.agent_vs_human.low < 1.0 < v.agent_vs_human.high
    assert (v.category, v.passed) == ("inconclusive", False)
    assert "after 12 rounds (+-" in v.message and "rounds" in v.message and "would be needed" in v.message
    assert categorize(Estimate(1.10, 0.91, 1.46), 0.05) == "inconclusive"
    assert categorize(Estimate(0.67, 0.40, 1.18), 0.05) == "inconclusive"
    assert categorize(Estimate(1.01, 0.97, 1.04), 0.05) == "similar"
    assert categorize(Estimate(1.10, 1.02, 1.20), 0.05) == "beats"
    assert categorize(Estimate(0.80, 0.70, 0.93), 0.05) == "worse"


def test_inconclusive_passes_only_when_the_rule_says_so() -> None:
    rng = random.Random(6)
    vals = {
        "baseline": const(1.0),
        "human": const(2.0),
        "agent": [0.5 * rng.lognormvariate(0.0, 0.25) for _ in range(12)],
    }
    tests = [result(vals, stop_reason="max_time")]
    assert judge(tests, SuccessRule(), has_agent=True).category == "inconclusive"
    assert not judge(tests, SuccessRule(), has_agent=True).passed
    assert judge(tests, SuccessRule(pass_categories=("beats", "similar", "inconclusive")), has_agent=True).passed


def test_measurably_slower_than_human_is_worse() -> None:
    v = judge(task(2.0, 1.5, noise=True), SuccessRule(), has_agent=True)
    assert v.agent_vs_human is not None
    assert v.agent_vs_human.high < 1.0
    assert v.category == "worse"
    assert not v.passed


def test_ties_are_never_a_verdict() -> None:
    """Issue 12: a coarse timer gives equal values, and the old code read a zero-width
    interval as a certain 2x speedup. Ties are inconclusive, with the fix in the message."""
    vals = {"baseline": [1.0] * 12, "human": [0.5] * 12}
    v = judge([result(vals)], SuccessRule(), has_agent=False)
    assert (v.passed, v.human_significant, v.human_verdict) == (False, False, "tied")
    assert "timer too coarse" in v.message
    vals["agent"] = [0.5] * 12
    v = judge([result(vals)], SuccessRule(), has_agent=True)
    assert (v.category, v.passed) == ("inconclusive", False)


def test_only_beats_passes_when_asked() -> None:
    v = judge(task(1.6, 1.55), SuccessRule(pass_categories=("beats",)), has_agent=True)
    assert (v.category, v.passed) == ("similar", False)
    assert v.message.endswith("(needs >= 1.68x)")


def test_agent_failure() -> None:
    r = result(
        {"baseline": const(1.0), "human": const(1.5), "agent": const(1.0, 1)},
        failures={"agent": "Traceback\nRuntimeError: boom\n"},
    )
    v = judge([r], SuccessRule(), has_agent=True)
    assert (v.category, v.passed) == ("failed", False)
    assert v.reason == "agent failed: Traceback\nRuntimeError: boom"


def test_digest_mismatch_fails_for_correctness() -> None:
    vals = {"baseline": const(1.0), "human": const(1.5), "agent": const(3.0)}
    r = result(vals, digests={"baseline": "abc", "human": "abc", "agent": "xyz"})
    v = judge([r], SuccessRule(), has_agent=True)
    assert (v.category, v.passed, v.equivalent) == ("failed", False, False)
    assert v.human_equivalent
    assert v.reason == "correctness: digest xyz != baseline abc"
    assert v.message.endswith(": failed (correctness: digest xyz != baseline abc)")


def test_missing_agent_digest_is_a_mismatch() -> None:
    vals = {"baseline": const(1.0), "human": const(1.5), "agent": const(1.5)}
    r = result(vals, digests={"baseline": "abc", "human": "abc", "agent": None})
    assert judge([r], SuccessRule(), has_agent=True).category == "failed"


def test_human_digest_mismatch_is_flagged_not_blamed_on_agent() -> None:
    vals = {"baseline": const(1.0), "human": const(1.5), "agent": const(1.5)}
    r = result(vals, digests={"baseline": "abc", "human": "def", "agent": "abc"})
    v = judge([r], SuccessRule(), has_agent=True)
    assert (v.category, v.passed, v.equivalent, v.human_equivalent) == (
        "similar", True, True, False,
    )  # fmt: skip


def test_gso_passes_close_to_human_and_above_minimum() -> None:
    v = judge(task(1.5, 1.45), GSO, has_agent=True)
    assert v.passed
    assert v.category == "similar"
    assert v.needed == pytest.approx(1.425, rel=1e-3)


def test_gso_fails_below_its_minimum_speedup_even_when_similar() -> None:
    assert judge(task(1.1, 1.1), SuccessRule(), has_agent=True).passed
    v = judge(task(1.1, 1.1), GSO, has_agent=True)
    assert not v.passed
    assert v.category == "similar"  # the statistics; GSO's test decides the outcome
    assert v.gso is not None and not v.gso.opt_base
    assert (
        v.message == "agent 1.10x [1.09, 1.11] vs human 1.10x [1.09, 1.11]: failed GSO's test (needs >= 1.20x); similar"
    )


def test_gso_fails_below_human_fraction() -> None:
    v = judge(task(2.0, 1.8), GSO, has_agent=True)
    assert not v.passed
    assert v.message.endswith("failed GSO's test (needs >= 1.90x); worse")


def test_gso_uses_harmonic_mean_over_tests_for_the_human_fraction() -> None:
    # Geometric means agree (agent 2x == human 2x) but harmonic ones do not:
    # the agent is 4x and 1x, the human 2x and 2x.
    tests = [
        result({"baseline": const(1.0), "human": const(2.0), "agent": const(4.0)}),
        result({"baseline": const(1.0), "human": const(2.0), "agent": const(1.0)}),
    ]
    iso = judge(tests, SuccessRule(), has_agent=True)
    assert iso.agent is not None and iso.agent.point == pytest.approx(2.0, rel=1e-3)
    assert iso.passed
    v = judge(tests, GSO, has_agent=True)
    assert not v.passed
    assert v.agent is not None and v.agent.point == pytest.approx(1.6, rel=1e-3)
    assert v.gso is not None and v.gso.hm_patch_commit == pytest.approx(0.8, rel=1e-3)
    assert v.message.endswith("failed GSO's test (needs >= 1.90x); similar")  # the geometric ratio is 1.0


def test_no_agent_significant_human() -> None:
    v = judge(task(1.4, None, noise=True), SuccessRule(), has_agent=False)
    assert v.passed and v.human_significant
    assert v.category is None and v.agent is None
    assert v.human_pvalue is not None and v.human_pvalue < 0.05
    assert re.fullmatch(r"human 1\.\d\dx \[1\.\d\d, 1\.\d\d\] p=(0\.\d{4}|\d\.\de-\d\d): significant", v.message), (
        v.message
    )


def test_no_agent_insignificant_human() -> None:
    v = judge(task(1.0, None, noise=True), SuccessRule(), has_agent=False)
    assert not v.passed and not v.human_significant
    assert v.human_verdict == "inconclusive"
    assert ": inconclusive (after 12 rounds (+-" in v.message


def test_alpha_is_the_one_significance_level() -> None:
    """Issue 12: ``alpha`` had no effect (a 95% interval above 1 decided whatever it was).
    Now every interval is a 1 - alpha one: a 3% speedup measured on 12 noisy rounds is
    significant at alpha = 0.2 and not at 0.05 or 0.001. (Old code: the same answer for
    every alpha.)"""
    rng = random.Random(11)
    base = [rng.lognormvariate(0.0, 0.03) for _ in range(12)]
    human = [b / 1.03 * rng.lognormvariate(0.0, 0.03) for b in base]
    tests = [result({"baseline": base, "human": human}, stop_reason="max_time")]
    loose = judge(tests, SuccessRule(alpha=0.2), has_agent=False)
    usual = judge(tests, SuccessRule(), has_agent=False)
    strict = judge(tests, SuccessRule(alpha=0.001), has_agent=False)
    assert loose.human_significant and loose.passed
    assert not usual.human_significant and not strict.human_significant
    assert loose.human is not None and usual.human is not None and strict.human is not None
    assert strict.human.low < usual.human.low < loose.human.low
    assert (loose.level, usual.level) == (pytest.approx(0.2 * 0.75), pytest.approx(0.05 * 0.75))


def test_no_agent_human_mismatch_fails_the_task() -> None:
    r = result({"baseline": const(1.0), "human": const(2.0)}, {"baseline": "a", "human": "b"})
    v = judge([r], SuccessRule(), has_agent=False)
    assert v.human_significant and not v.human_equivalent and not v.passed


def test_baseline_failure_is_not_the_agents() -> None:
    r = result({"baseline": const(1.0, 1), "human": [], "agent": []}, failures={"baseline": "OOM"})
    v = judge([r], SuccessRule(), has_agent=True)
    assert (v.passed, v.category, v.reason) == (False, None, "baseline failed: OOM")


def test_agent_pass_does_not_require_human_significance() -> None:
    vals = {"baseline": noisy(1.0, 1), "human": noisy(1.0, 2), "agent": noisy(1.0, 3)}
    # Judged as a budget's end: an early stop after 12 rounds of 2% noise assumes rounds
    # that may be dependent (measure.dependence.INTERIM_FACTOR) and would not be similar.
    v = judge([result(vals, stop_reason="max_time")], SuccessRule(), has_agent=True)
    assert not v.human_significant
    assert v.passed and v.category == "similar"


def test_as_dict_is_json() -> None:
    v = judge(task(1.4, 2.0, noise=True), SuccessRule(), has_agent=True)
    d = json.loads(json.dumps(v.as_dict()))
    assert d["category"] == "beats"
    assert d["agent"]["point"] == pytest.approx(v.agent.point if v.agent else 0.0)


def test_missing_variant_and_bad_rule_are_refused() -> None:
    with pytest.raises(ValueError, match="agent"):
        judge(task(1.5, None), SuccessRule(), has_agent=True)
    with pytest.raises(ValueError, match="tests"):
        judge([], SuccessRule(), has_agent=False)
    with pytest.raises(ValueError, match=r"similar_tolerance\n.*greater than or equal to 0"):
        SuccessRule(similar_tolerance=-0.1)
    with pytest.raises(ValueError, match=r"pass_categories\n.*expected a non-empty subset"):
        SuccessRule(pass_categories=("great",))
