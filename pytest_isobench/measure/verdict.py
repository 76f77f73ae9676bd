"""Verdicts: did the agent's variant do well enough against the human's, and is the
human speedup itself real?

A verdict is a pure function of the protocol's samples and a :class:`SuccessRule`;
every threshold is a parameter of the rule, none is hidden here. Every decision is read
off one kind of interval (paired by round by default), computed at the level the
protocol's sequential design gives the look it stopped at, so ``alpha`` is the error
rate of every decision. This module must not import pytest or docker, run anything, or
decide pytest outcomes (the plugin maps a verdict onto passed / failed / error).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pytest_isobench.measure.categories import AGENT, HUMAN, HumanVerdict, Verdict, categorize, human_verdict
from pytest_isobench.measure.explain import (
    budget_note,
    dependence_note,
    format_estimate,
    format_pvalue,
    gso_reason,
    shown_category,
    tie_note,
)
from pytest_isobench.measure.gso import GsoResult, gso_opt
from pytest_isobench.measure.outputs import Outputs, check_variants, failed_run, outputs
from pytest_isobench.measure.paired import log_ratios, signed_rank_pvalue
from pytest_isobench.measure.rule import CATEGORIES, Category, SuccessRule
from pytest_isobench.measure.stats import PAIRED, Estimate, combine, faster_pvalue

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_isobench.measure.dependence import Dependence
    from pytest_isobench.measure.protocol import ProtocolResult
    from pytest_isobench.measure.stats import Direction

__all__ = [
    "AGENT",
    "CATEGORIES",
    "HUMAN",
    "Category",
    "HumanVerdict",
    "SuccessRule",
    "Verdict",
    "categorize",
    "decided",
    "format_estimate",
    "format_pvalue",
    "judge",
]


@dataclass(frozen=True)
class _Figures:
    """A task's statistics, its perf tests combined (geometric means; the GSO rule
    re-combines ``human`` and ``agent`` for display). ``tied``: variants whose values are
    mostly ties; ``level`` and ``rounds``: the loosest level and the fewest rounds over
    the tests."""

    human: Estimate
    humans: list[Estimate]
    human_p: float
    human_verdict: HumanVerdict
    tied: list[str]
    level: float
    rounds: int
    agents: list[Estimate]
    ratios: list[Estimate]
    agent_p: float | None
    dependence: dict[str, Dependence]

    def dependent(self, *pairs: str) -> dict[str, Dependence]:
        """The given pairs (all when none given) whose rounds the test found dependent."""
        return {k: d for k, d in self.dependence.items() if d.dependent and (not pairs or k in pairs)}

    def dependence_record(self) -> dict[str, dict[str, Any]]:
        return {k: d.as_dict() for k, d in self.dependence.items()}


def _test_estimates(
    t: ProtocolResult, a: str, b: str, rule: SuccessRule, d: Direction, n_resamples: int, seed: int
) -> tuple[Estimate, float]:
    conf = 1 - t.level(rule.alpha)
    est = t.speedup(a, b, conf, rule.estimator, d, n_resamples=n_resamples, seed=seed)
    if rule.estimator in PAIRED:
        x, y = t.paired(a, b)
        p = signed_rank_pvalue(log_ratios(x, y, d))
    else:
        p = faster_pvalue(t.values(a), t.values(b), d)
    return est, p


def _figures(
    tests: Sequence[ProtocolResult],
    rule: SuccessRule,
    has_agent: bool,
    direction: Direction | None,
    n_resamples: int,
    seed: int,
) -> _Figures:
    """Each test's speedups at the level of its stop, then combined over the tests."""
    judged = [HUMAN, AGENT] if has_agent else [HUMAN]
    humans: list[Estimate] = []
    agents: list[Estimate] = []
    ratios: list[Estimate] = []
    human_ps: list[float] = []
    agent_ps: list[float] = []
    tied: list[str] = []
    dependence: dict[str, Dependence] = {}
    for t in tests:
        _worst_dependence(dependence, t, judged)
        d = direction if direction is not None else t.settings.direction
        h, hp = _test_estimates(t, t.baseline, HUMAN, rule, d, n_resamples, seed)
        humans.append(h)
        human_ps.append(hp)
        tied += [v for v in t.tied() if v in (t.baseline, *judged) and v not in tied]
        if has_agent:
            a, ap = _test_estimates(t, t.baseline, AGENT, rule, d, n_resamples, seed)
            agents.append(a)
            agent_ps.append(ap)
            ratios.append(_test_estimates(t, HUMAN, AGENT, rule, d, n_resamples, seed)[0])
    human = combine(humans, "geometric", rule.combine)
    return _Figures(
        human=human,
        humans=humans,
        human_p=max(human_ps),
        human_verdict="tied" if tied else human_verdict(human),
        tied=tied,
        level=max(t.level(rule.alpha) for t in tests),
        rounds=min(t.rounds for t in tests),
        agents=agents,
        ratios=ratios,
        agent_p=max(agent_ps) if agent_ps else None,
        dependence=dependence,
    )


def _worst_dependence(worst: dict[str, Dependence], t: ProtocolResult, judged: list[str]) -> None:
    """Each judged pair's dependence in ``t``, kept when it is the strongest so far over
    the task's tests (the widest correction, then the smallest p-value)."""
    names = [t.baseline, *judged]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            dep = t.dependence(a, b)
            key = f"{a}/{b}"
            old = worst.get(key)
            if old is None or (dep.factor, -dep.pvalue) > (old.factor, -old.pvalue):
                worst[key] = dep


def judge(
    tests: Sequence[ProtocolResult],
    rule: SuccessRule | None = None,
    *,
    has_agent: bool,
    direction: Direction | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Verdict:
    """Judge one task from its perf tests' protocol results (one per perf test).

    Each result's first variant is the baseline; the others are named ``"human"`` and,
    with ``has_agent``, ``"agent"``. ``direction`` overrides each result's own.

    Order of checks: a failed baseline or human is a task problem (``category=None``);
    a failed agent run is ``"failed"``; an agent whose digests differ from the
    baseline's is ``"failed"`` (correctness). Then each test's speedups are estimated by
    ``rule.estimator`` at the level of the look its protocol stopped at
    (:meth:`ProtocolResult.level`), combined over tests by ``rule.combine``, and the
    agent-over-human interval is categorised by :func:`categorize`. Values that are
    mostly ties (a coarse timer) give ``"inconclusive"``: such intervals mean nothing.

    The human is significant when its combined interval lies above 1 (``alpha / 2``
    false alarms at most); ``human_pvalue`` is the one-sided p-value at the final
    round count, for information (it ignores the looks). Under ``isobench`` the item
    passes when the category is in ``rule.pass_categories``; under ``gso`` when GSO's
    own test (:func:`~pytest_isobench.measure.gso.gso_opt`) passes, the category
    still describing the statistics.
    """
    rule = rule if rule is not None else SuccessRule()
    check_variants(tests, has_agent)
    failed = failed_run(tests, has_agent)
    if failed is not None:
        return failed
    found = outputs(tests, has_agent)
    fig = _figures(tests, rule, has_agent, direction, n_resamples, seed)
    if not has_agent:
        return _human_only(fig, found, tests)
    return _agent_verdict(tests, fig, found, rule, direction)


def _human_only(fig: _Figures, outputs: Outputs, tests: Sequence[ProtocolResult]) -> Verdict:
    """Without an agent the item is about the human speedup: significant, and the same output."""
    hv = fig.human_verdict
    dependent = fig.dependent()
    message = f"human {format_estimate(fig.human)} p={format_pvalue(fig.human_p)}: {shown_category(hv, dependent)}"
    reason: str = hv
    if not outputs.human_eq:
        reason = "human output differs from the baseline's (digest mismatch)"
        message += f"; {reason}"
    elif hv == "tied":
        message += f" ({tie_note(fig.tied)})"
    elif hv == "inconclusive":
        message += f" ({budget_note(fig.human, None, tests)})"
    elif hv == "slower":
        message += " (its interval lies below 1.00x)"
    if dependent:
        message += f"; {dependence_note(dependent)}"
    significant = hv == "significant"
    return Verdict(
        passed=significant and outputs.human_eq,
        category=None,
        human=fig.human,
        agent=None,
        agent_vs_human=None,
        human_significant=significant,
        human_pvalue=fig.human_p,
        agent_pvalue=None,
        equivalent=True,
        human_equivalent=outputs.human_eq,
        reason=reason,
        message=message,
        human_verdict=hv,
        level=fig.level,
        rounds=fig.rounds,
        dependence=fig.dependence_record(),
    )


@dataclass(frozen=True)
class _Judged:
    """What a rule decided about the agent, in its words."""

    passed: bool
    category: Category
    reason: str
    message: str
    needed: float | None
    gso: GsoResult | None = None


def _agent_verdict(
    tests: Sequence[ProtocolResult], fig: _Figures, outputs: Outputs, rule: SuccessRule, direction: Direction | None
) -> Verdict:
    """The agent against the human: correctness first, then the category, then the rule."""
    gso = rule.rule == "gso"
    # GSO summarises a task by the harmonic mean, so that is what its verdict shows.
    human = combine(fig.humans, "harmonic", rule.combine) if gso else fig.human
    agent = combine(fig.agents, "harmonic" if gso else "geometric", rule.combine)
    ratio = combine(fig.ratios, "geometric", rule.combine)
    head = f"agent {format_estimate(agent)} vs human {format_estimate(human)}"
    if not outputs.agent_eq:
        judged = _Judged(False, "failed", outputs.mismatch, f"{head}: failed ({outputs.mismatch})", None)
    else:
        category: Category = "inconclusive" if fig.tied else categorize(ratio, rule.similar_tolerance)
        why = _category_why(ratio, category, fig, rule, tests)
        if gso:
            judged = _gso_rule(tests, rule, direction, human, category, why, head)
        else:
            judged = _isobench_rule(rule, human, category, why, head, shown_category(category, fig.dependent()))
    if fig.dependent():
        note = dependence_note(fig.dependent())
        judged = replace(judged, reason=f"{judged.reason}; {note}", message=f"{judged.message}; {note}")
    return Verdict(
        passed=judged.passed,
        category=judged.category,
        human=human,
        agent=agent,
        agent_vs_human=ratio,
        human_significant=fig.human_verdict == "significant",
        human_pvalue=fig.human_p,
        agent_pvalue=fig.agent_p,
        equivalent=outputs.agent_eq,
        human_equivalent=outputs.human_eq,
        reason=judged.reason,
        message=judged.message,
        needed=judged.needed,
        human_verdict=fig.human_verdict,
        level=fig.level,
        rounds=fig.rounds,
        gso=judged.gso,
        dependence=fig.dependence_record(),
    )


def _category_why(
    ratio: Estimate, category: Category, fig: _Figures, rule: SuccessRule, tests: Sequence[ProtocolResult]
) -> str:
    """The agent/human interval, and what kept it from a decision."""
    why = f"agent/human {format_estimate(ratio)} (tolerance +-{rule.similar_tolerance:g})"
    if fig.tied:
        return f"{why}; {tie_note(fig.tied)}"
    if category == "inconclusive":
        return f"{why} {budget_note(ratio, rule.similar_tolerance, tests)}"
    return why


def _isobench_rule(rule: SuccessRule, human: Estimate, category: Category, why: str, head: str, shown: str) -> _Judged:
    """ISO-Bench's rule: the category passes when the suite says it does (``shown``: the
    category as the message says it)."""
    tol = rule.similar_tolerance
    needed: float | None
    if "worse" in rule.pass_categories:
        needed = None
    elif "similar" in rule.pass_categories:
        needed = human.point * (1 - tol)
    else:
        needed = human.point * (1 + tol)
    message = f"{head}: {shown}"
    if needed is not None:
        message += f" (needs >= {needed:.2f}x)"
    if category == "inconclusive":
        message += f"; {why}"
    return _Judged(category in rule.pass_categories, category, f"{category}: {why}", message, needed)


def _gso_rule(
    tests: Sequence[ProtocolResult],
    rule: SuccessRule,
    direction: Direction | None,
    human: Estimate,
    category: Category,
    why: str,
    head: str,
) -> _Judged:
    """GSO's own test decides; the category still describes the statistics."""
    g = _gso(tests, rule, direction)
    needed = max(rule.gso_human_fraction * human.point, rule.gso_min_speedup)
    reason = gso_reason(g, rule.gso_human_fraction, rule.gso_min_speedup, category, why)
    message = f"{head}: {'passed' if g.opt_commit else 'failed'} GSO's test (needs >= {needed:.2f}x); {category}"
    return _Judged(g.opt_commit, category, reason, message, needed, g)


def _gso(tests: Sequence[ProtocolResult], rule: SuccessRule, direction: Direction | None) -> GsoResult:
    def times(t: ProtocolResult, v: str) -> list[float]:
        d = direction if direction is not None else t.settings.direction
        vals = t.values(v)
        return vals if d == "lower" else [1 / x for x in vals]

    return gso_opt(
        [times(t, t.baseline) for t in tests],
        [times(t, AGENT) for t in tests],
        [times(t, HUMAN) for t in tests],
        human_fraction=rule.gso_human_fraction,
        min_speedup=rule.gso_min_speedup,
    )


def decided(partial: ProtocolResult, rule: SuccessRule, direction: Direction | None = None) -> bool:
    """True when more rounds could not change the verdict of one perf test.

    Given the protocol's result at a look (judged at the look's level): the human's
    interval excludes 1.0, and with an agent, the agent-over-human interval falls in a
    category other than ``"inconclusive"``. The protocol calls it only at its scheduled
    looks, whose level keeps the error rate whatever the number of looks.
    """
    variants = partial.variants
    if HUMAN not in variants:
        return False
    if partial.failures:
        return True  # a failed variant settles the verdict (failed, or a task problem)
    d = direction if direction is not None else partial.settings.direction
    conf = 1 - partial.level(rule.alpha)
    h = partial.speedup(partial.baseline, HUMAN, conf, rule.estimator, d, n_resamples=1000)
    if h.low <= 1.0 <= h.high:
        return False
    if AGENT not in variants:
        return True
    r = partial.speedup(HUMAN, AGENT, conf, rule.estimator, d, n_resamples=1000)
    return categorize(r, rule.similar_tolerance) != "inconclusive"
