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
)
from pytest_isobench.measure.stats import Estimate
from pytest_isobench.measure.verdict import SuccessRule, format_estimate, judge

GSO = SuccessRule(rule="gso")


def result(
    values: dict[str, list[float]],
    digests: dict[str, str | None] | None = None,
    failures: dict[str, str] | None = None,
) -> ProtocolResult:
    """A protocol result whose kept rounds hold ``values`` (variants in dict order)."""
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
        stop_reason="converged",
        failures=failures or {},
    )


def const(speedup: float, n: int = 5) -> list[float]:
    """Times of a variant ``speedup`` times faster than a 1-second baseline."""
    return [1.0 / speedup] * n


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
    assert v.needed == pytest.approx(1.41 * 0.95)


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


def test_similar_when_faster_by_point_but_not_by_ci() -> None:
    vals = {
        "baseline": const(1.0),
        "human": const(2.0),
        "agent": [0.25, 0.45, 0.45, 0.6, 0.65],  # median 0.45: 1.11x the human by the point
    }
    v = judge([result(vals)], SuccessRule(), has_agent=True)
    assert v.agent_vs_human is not None
    assert v.agent_vs_human.point > 1.05
    assert v.agent_vs_human.low <= 1.0
    assert v.category == "similar"


def test_identical_code_slower_by_the_point_but_not_by_the_interval_is_similar() -> None:
    # The agent runs the human's code: noise puts its median 12% behind, but its
    # interval still reaches 1.0, so it cannot be told apart from the human.
    vals = {
        "baseline": const(1.0),
        "human": const(2.0),
        "agent": [0.38, 0.5, 0.56, 0.57, 0.7],  # median 0.56: 0.89x the human by the point
    }
    v = judge([result(vals)], SuccessRule(), has_agent=True)
    assert v.agent_vs_human is not None
    assert v.agent_vs_human.point < 0.95
    assert v.agent_vs_human.high >= 1.0
    assert v.category == "similar"
    assert v.passed


def test_measurably_slower_than_human_is_worse() -> None:
    v = judge(task(2.0, 1.5, noise=True), SuccessRule(), has_agent=True)
    assert v.agent_vs_human is not None
    assert v.agent_vs_human.high < 1.0
    assert v.category == "worse"
    assert not v.passed


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
    assert v.needed == pytest.approx(1.425)


def test_gso_fails_below_its_minimum_speedup_even_when_similar() -> None:
    assert judge(task(1.1, 1.1), SuccessRule(), has_agent=True).passed
    v = judge(task(1.1, 1.1), GSO, has_agent=True)
    assert not v.passed
    assert v.category == "worse"
    assert v.message == "agent 1.10x [1.10, 1.10] vs human 1.10x [1.10, 1.10]: worse (needs >= 1.20x)"


def test_gso_fails_below_human_fraction() -> None:
    v = judge(task(2.0, 1.8), GSO, has_agent=True)
    assert not v.passed
    assert v.message.endswith("worse (needs >= 1.90x)")


def test_gso_uses_harmonic_mean_over_tests_for_the_human_fraction() -> None:
    # Geometric means agree (agent 2x == human 2x) but harmonic ones do not:
    # the agent is 4x and 1x, the human 2x and 2x.
    tests = [
        result({"baseline": const(1.0), "human": const(2.0), "agent": const(4.0)}),
        result({"baseline": const(1.0), "human": const(2.0), "agent": const(1.0)}),
    ]
    iso = judge(tests, SuccessRule(), has_agent=True)
    assert iso.agent is not None and iso.agent.point == pytest.approx(2.0)
    assert iso.passed
    v = judge(tests, GSO, has_agent=True)
    assert not v.passed
    assert v.agent is not None and v.agent.point == pytest.approx(1.6)
    assert v.message.endswith("worse (needs >= 1.90x)")


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
    assert ": not significant" in v.message


def test_significance_respects_alpha() -> None:
    # Five rounds each: the one-sided Mann-Whitney p cannot go far below 0.004.
    assert judge(task(2.0, None), SuccessRule(), has_agent=False).passed
    v = judge(task(2.0, None), SuccessRule(alpha=0.001), has_agent=False)
    assert not v.passed
    assert v.human_pvalue is not None and 0.001 < v.human_pvalue < 0.05


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
    v = judge([result(vals)], SuccessRule(), has_agent=True)
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
    with pytest.raises(ValueError, match=r"^similar_tolerance: expected"):
        SuccessRule(similar_tolerance=-0.1)
    with pytest.raises(ValueError, match=r"^pass_categories: expected"):
        SuccessRule(pass_categories=("great",))
