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

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_isobench.measure.gso import GsoResult, gso_opt
from pytest_isobench.measure.paired import log_ratios, signed_rank_pvalue
from pytest_isobench.measure.rule import CATEGORIES, Category, SuccessRule
from pytest_isobench.measure.stats import PAIRED, Estimate, combine, faster_pvalue

if TYPE_CHECKING:
    from collections.abc import Sequence

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

HUMAN = "human"
AGENT = "agent"

HumanVerdict = Literal["significant", "inconclusive", "slower", "tied"]
"""The human speedup's own verdict: its interval above 1, straddling 1, below 1, or the
values too coarse to judge."""


@dataclass(frozen=True)
class Verdict:
    """The judgement of one task.

    Speedups are over the baseline (> 1: faster), combined over the task's perf tests
    by geometric mean (``human`` and ``agent`` by harmonic mean under the GSO rule;
    ``agent_vs_human`` always geometric). ``category`` is ``None`` without an agent,
    and when the task itself could not be measured (baseline or human failed: not the
    agent's fault). ``human_verdict`` is the human speedup's own verdict.
    ``equivalent`` is about the agent's output, ``human_equivalent`` the human's.
    ``needed`` is the agent speedup the rule asked for. ``level`` is the two-sided
    error level the intervals were computed at (the design's, for the stop);
    ``gso`` GSO's figures under the ``gso`` rule.
    """

    passed: bool
    category: Category | None
    human: Estimate | None
    agent: Estimate | None
    agent_vs_human: Estimate | None
    human_significant: bool
    human_pvalue: float | None
    agent_pvalue: float | None
    equivalent: bool
    reason: str
    message: str
    human_equivalent: bool = True
    needed: float | None = None
    human_verdict: HumanVerdict | None = None
    level: float | None = None
    rounds: int | None = None
    gso: GsoResult | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able copy (estimates become ``{"point", "low", "high"}`` objects)."""

        def est(e: Estimate | None) -> dict[str, float] | None:
            return None if e is None else e.as_dict()

        return {
            "passed": self.passed,
            "category": self.category,
            "human": est(self.human),
            "agent": est(self.agent),
            "agent_vs_human": est(self.agent_vs_human),
            "human_significant": self.human_significant,
            "human_pvalue": self.human_pvalue,
            "agent_pvalue": self.agent_pvalue,
            "equivalent": self.equivalent,
            "human_equivalent": self.human_equivalent,
            "needed": self.needed,
            "human_verdict": self.human_verdict,
            "level": self.level,
            "rounds": self.rounds,
            "gso": None if self.gso is None else self.gso.as_dict(),
            "reason": self.reason,
            "message": self.message,
        }


def format_estimate(e: Estimate) -> str:
    """``1.41x [1.36, 1.45]``."""
    return f"{e.point:.2f}x [{e.low:.2f}, {e.high:.2f}]"


def format_pvalue(p: float) -> str:
    """Four decimals, switching to scientific notation below 0.0001."""
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def _digests(result: ProtocolResult, variant: str) -> set[str]:
    return {d for d in result.digests(variant) if d is not None}


def _fmt_digests(ds: set[str]) -> str:
    if not ds:
        return "none"
    shown = sorted(d[:12] for d in ds)
    return shown[0] if len(shown) == 1 else "{" + ", ".join(shown) + "}"


def _first_failure(tests: Sequence[ProtocolResult], variant: str) -> str | None:
    for t in tests:
        if variant in t.failures:
            return t.failures[variant].strip()
    return None


def _fail(reason: str, category: Category | None, *, equivalent: bool = True, human_eq: bool = True) -> Verdict:
    return Verdict(
        passed=False,
        category=category,
        human=None,
        agent=None,
        agent_vs_human=None,
        human_significant=False,
        human_pvalue=None,
        agent_pvalue=None,
        equivalent=equivalent,
        human_equivalent=human_eq,
        reason=reason,
        message=reason,
    )


def categorize(ratio: Estimate, tolerance: float) -> Category:
    """The agent's category from its speedup over the human's, with ``tol = tolerance``:

    - ``"similar"``: the interval lies inside the band ``[1 - tol, 1 + tol]``;
    - ``"beats"``: the interval is above 1 (measurably faster than the human) and the
      point above the band;
    - ``"worse"``: the interval is below 1 and the point below the band;
    - ``"inconclusive"``: anything else: the interval straddles an edge of the band,
      so more rounds would be needed to tell.
    """
    if 1 - tolerance <= ratio.low and ratio.high <= 1 + tolerance:
        return "similar"
    if ratio.low > 1.0 and ratio.point > 1 + tolerance:
        return "beats"
    if ratio.high < 1.0 and ratio.point < 1 - tolerance:
        return "worse"
    return "inconclusive"


def human_verdict(human: Estimate) -> HumanVerdict:
    if human.low > 1.0:
        return "significant"
    if human.high < 1.0:
        return "slower"
    return "inconclusive"


def _needed_half_width(e: Estimate, tolerance: float | None) -> float:
    """The log half-width at which ``e``'s interval, its point where it is, would settle
    a category: inside the band for a point inside it (``tolerance`` given), clear of 1.0
    otherwise (beats / worse, or the human's significance)."""
    lp = math.log(e.point)
    if tolerance is not None and math.log(1 - tolerance) <= lp <= math.log(1 + tolerance):
        return min(lp - math.log(1 - tolerance), math.log(1 + tolerance) - lp)
    return abs(lp)


def _budget_note(e: Estimate, tolerance: float | None, tests: Sequence[ProtocolResult]) -> str:
    """``after N rounds (+-W%); about M rounds (~T) would be needed``."""
    rounds = min(t.rounds for t in tests)
    elapsed = sum(t.elapsed_s for t in tests)
    half = (math.log(e.high) - math.log(e.low)) / 2
    text = f"after {rounds} rounds (+-{100 * (math.exp(half) - 1):.0f}%)"
    need = _needed_half_width(e, tolerance)
    if half <= 0 or rounds <= 0:
        return text
    factor = (half / need) ** 2 if need > 0 else math.inf
    if not math.isfinite(factor) or factor > 100:
        return text + "; more than 100x these rounds would be needed (the point sits on an edge)"
    more = max(rounds + 1, math.ceil(rounds * factor))
    when = f", ~{elapsed * factor:.0f} s" if elapsed > 0 else ""
    return text + f"; about {more} rounds{when} would be needed to decide"


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
    if not tests:
        raise ValueError("tests: expected at least one perf test's protocol result, got none")
    needed_variants = [HUMAN, AGENT] if has_agent else [HUMAN]
    for i, t in enumerate(tests):
        missing = [v for v in needed_variants if v not in t.variants[1:]]
        if missing:
            raise ValueError(f"tests[{i}]: variants {t.variants!r} lack {missing!r}")

    base_err = next((t.failures[t.baseline] for t in tests if t.baseline in t.failures), None)
    if base_err is not None:
        return _fail(f"baseline failed: {base_err.strip()}", None)
    if has_agent and (err := _first_failure(tests, AGENT)) is not None:
        return _fail(f"agent failed: {err}", "failed")
    if (err := _first_failure(tests, HUMAN)) is not None:
        return _fail(f"human failed: {err}", None)

    human_eq, agent_eq, mismatch = True, True, ""
    for t in tests:
        base = _digests(t, t.baseline)
        if not base:
            continue
        human_eq = human_eq and _digests(t, HUMAN) == base
        if has_agent and agent_eq and _digests(t, AGENT) != base:
            agent_eq = False
            mismatch = f"correctness: digest {_fmt_digests(_digests(t, AGENT))} != baseline {_fmt_digests(base)}"

    humans: list[Estimate] = []
    agents: list[Estimate] = []
    ratios: list[Estimate] = []
    human_ps: list[float] = []
    agent_ps: list[float] = []
    tied: list[str] = []
    for t in tests:
        d = direction if direction is not None else t.settings.direction
        h, hp = _test_estimates(t, t.baseline, HUMAN, rule, d, n_resamples, seed)
        humans.append(h)
        human_ps.append(hp)
        tied += [v for v in t.tied() if v in (t.baseline, *needed_variants) and v not in tied]
        if has_agent:
            a, ap = _test_estimates(t, t.baseline, AGENT, rule, d, n_resamples, seed)
            agents.append(a)
            agent_ps.append(ap)
            ratios.append(_test_estimates(t, HUMAN, AGENT, rule, d, n_resamples, seed)[0])

    level = max(t.level(rule.alpha) for t in tests)
    rounds = min(t.rounds for t in tests)
    human = combine(humans, "geometric", rule.combine)
    human_p = max(human_ps)
    hv: HumanVerdict = "tied" if tied else human_verdict(human)
    significant = hv == "significant"
    tie_note = f"values tied in {', '.join(tied)} (timer too coarse: make the perf test loop its timed region)"

    if not has_agent:
        message = f"human {format_estimate(human)} p={format_pvalue(human_p)}: {hv}"
        reason: str = hv
        if not human_eq:
            reason = "human output differs from the baseline's (digest mismatch)"
            message += f"; {reason}"
        elif hv == "tied":
            message += f" ({tie_note})"
        elif hv == "inconclusive":
            message += f" ({_budget_note(human, None, tests)})"
        elif hv == "slower":
            message += " (its interval lies below 1.00x)"
        return Verdict(
            passed=significant and human_eq,
            category=None,
            human=human,
            agent=None,
            agent_vs_human=None,
            human_significant=significant,
            human_pvalue=human_p,
            agent_pvalue=None,
            equivalent=True,
            human_equivalent=human_eq,
            reason=reason,
            message=message,
            human_verdict=hv,
            level=level,
            rounds=rounds,
        )

    gso = rule.rule == "gso"
    # GSO summarises a task by the harmonic mean, so that is what its verdict shows.
    if gso:
        human = combine(humans, "harmonic", rule.combine)
    agent = combine(agents, "harmonic" if gso else "geometric", rule.combine)
    ratio = combine(ratios, "geometric", rule.combine)
    agent_p = max(agent_ps)
    tol = rule.similar_tolerance
    head = f"agent {format_estimate(agent)} vs human {format_estimate(human)}"

    def verdict(
        passed: bool,
        category: Category,
        reason: str,
        message: str,
        needed: float | None,
        gso_result: GsoResult | None = None,
    ) -> Verdict:
        return Verdict(
            passed=passed,
            category=category,
            human=human,
            agent=agent,
            agent_vs_human=ratio,
            human_significant=significant,
            human_pvalue=human_p,
            agent_pvalue=agent_p,
            equivalent=agent_eq,
            human_equivalent=human_eq,
            reason=reason,
            message=message,
            needed=needed,
            human_verdict=hv,
            level=level,
            rounds=rounds,
            gso=gso_result,
        )

    if not agent_eq:
        return verdict(False, "failed", mismatch, f"{head}: failed ({mismatch})", None)

    category: Category = "inconclusive" if tied else categorize(ratio, tol)
    why = f"agent/human {format_estimate(ratio)} (tolerance +-{tol:g})"
    if tied:
        why = f"{why}; {tie_note}"
    elif category == "inconclusive":
        why = f"{why} {_budget_note(ratio, tol, tests)}"

    needed: float | None
    gso_result: GsoResult | None = None
    if gso:
        gso_result = _gso(tests, rule, direction)
        needed = max(rule.gso_human_fraction * human.point, rule.gso_min_speedup)
        passed = gso_result.opt_commit
        reason = (
            f"gso {'pass' if passed else 'fail'}: human/agent time HM {gso_result.hm_patch_commit:.3f} "
            f"(> {rule.gso_human_fraction:g}), agent GM {gso_result.gm_patch_base:.3f} "
            f"(rounded >= {rule.gso_min_speedup:g}), mean base {gso_result.base_mean:.4g} "
            f"> mean agent {gso_result.patch_mean:.4g}; {category}: {why}"
        )
        message = f"{head}: {'passed' if passed else 'failed'} GSO's test (needs >= {needed:.2f}x); {category}"
    else:
        passed = category in rule.pass_categories
        if "worse" in rule.pass_categories:
            needed = None
        elif "similar" in rule.pass_categories:
            needed = human.point * (1 - tol)
        else:
            needed = human.point * (1 + tol)
        reason = f"{category}: {why}"
        message = f"{head}: {category}"
        if needed is not None:
            message += f" (needs >= {needed:.2f}x)"
    if category == "inconclusive" and not gso:
        message += f"; {why}"
    return verdict(passed, category, reason, message, needed, gso_result)


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
