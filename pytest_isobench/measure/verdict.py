"""Verdicts: did the agent's variant do well enough against the human's, and is the
human speedup itself real?

A verdict is a pure function of the protocol's samples and a :class:`SuccessRule`;
every threshold is a parameter of the rule, none is hidden here. This module must not
import pytest or docker, run anything, or decide pytest outcomes (the plugin maps a
verdict onto passed / failed / error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_isobench.measure.stats import Estimate, Estimator, combine, estimate_speedup, faster_pvalue

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_isobench.measure.protocol import ProtocolResult
    from pytest_isobench.measure.stats import Direction

__all__ = [
    "AGENT",
    "CATEGORIES",
    "HUMAN",
    "Category",
    "SuccessRule",
    "Verdict",
    "format_estimate",
    "format_pvalue",
    "judge",
]

HUMAN = "human"
AGENT = "agent"

Category = Literal["beats", "similar", "worse", "failed"]
CATEGORIES: tuple[Category, ...] = ("beats", "similar", "worse", "failed")


@dataclass(frozen=True)
class SuccessRule:
    """What counts as success.

    ``isobench``: the agent's category (from its speedup relative to the human's,
    within ``similar_tolerance``) must be in ``pass_categories``. ``gso``: the agent's
    speedup must reach ``gso_human_fraction`` of the human's (harmonic mean over tests)
    and ``gso_min_speedup`` over the baseline (geometric mean over tests).
    """

    rule: Literal["isobench", "gso"] = "isobench"
    similar_tolerance: float = 0.05
    alpha: float = 0.05
    gso_human_fraction: float = 0.95
    gso_min_speedup: float = 1.2
    pass_categories: tuple[str, ...] = ("beats", "similar")
    estimator: Estimator = "hodges-lehmann"

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"{name}: expected {expected}, got {getattr(self, name)!r}")

        if self.rule not in ("isobench", "gso"):
            raise bad("rule", "'isobench' or 'gso'")
        if not 0 <= self.similar_tolerance < 1:
            raise bad("similar_tolerance", "a fraction in [0, 1), e.g. 0.05 for +-5%")
        if not 0 < self.alpha < 1:
            raise bad("alpha", "a significance level in (0, 1)")
        if not self.gso_human_fraction > 0:
            raise bad("gso_human_fraction", "a fraction > 0, e.g. 0.95")
        if not self.gso_min_speedup > 0:
            raise bad("gso_min_speedup", "a speedup > 0, e.g. 1.2")
        unknown = [c for c in self.pass_categories if c not in CATEGORIES[:3]]
        if unknown or not self.pass_categories:
            raise bad("pass_categories", "a non-empty subset of 'beats', 'similar', 'worse'")


@dataclass(frozen=True)
class Verdict:
    """The judgement of one task.

    Speedups are over the baseline (> 1: faster), combined over the task's perf tests
    by geometric mean (``human`` and ``agent`` by harmonic mean under the GSO rule;
    ``agent_vs_human`` always geometric). ``category`` is ``None`` without an agent,
    and when the task itself could not be measured (baseline or human failed: not the
    agent's fault).
    ``equivalent`` is about the agent's output, ``human_equivalent`` the human's.
    ``needed`` is the agent speedup the rule asked for.
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
    baseline's is ``"failed"`` (correctness). Then, with ``r`` the agent-over-human
    ratio and ``tol`` the rule's tolerance:

    - ``"beats"``: ``r.point > 1 + tol`` and ``r.low > 1`` (the agent is measurably
      faster than the human, not just by a noisy point estimate);
    - ``"worse"``: ``r.point < 1 - tol`` and ``r.high < 1`` (measurably slower than
      the human: identical code is never called worse by noise alone);
    - ``"similar"``: everything else: ``|r.point - 1| <= tol``, or a point outside the
      band whose interval still reaches 1.0 (the agent cannot be told apart from the
      human). The adaptive rounds narrow such intervals until the verdict is decided
      or the time budget is spent; the message always shows the interval.

    The human is significant when, in every test, the one-sided Mann-Whitney p-value
    is below ``alpha`` (``human_pvalue`` is the largest, an intersection-union test
    needing no correction), and the combined interval's low bound is above 1.
    Under the ``gso`` rule the category is moved to ``"worse"`` when GSO fails and
    to ``"similar"`` when GSO passes an agent ISO-Bench would call worse.
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
    for t in tests:
        d = direction if direction is not None else t.settings.direction
        conf = t.settings.confidence
        b, h = t.values(t.baseline), t.values(HUMAN)
        humans.append(estimate_speedup(b, h, d, conf, rule.estimator, n_resamples, seed))
        human_ps.append(faster_pvalue(b, h, d))
        if has_agent:
            a = t.values(AGENT)
            agents.append(estimate_speedup(b, a, d, conf, rule.estimator, n_resamples, seed))
            ratios.append(estimate_speedup(h, a, d, conf, rule.estimator, n_resamples, seed))
            agent_ps.append(faster_pvalue(b, a, d))

    human = combine(humans, "geometric")
    human_p = max(human_ps)
    significant = human_p < rule.alpha and human.low > 1.0

    if not has_agent:
        verdict_word = "significant" if significant else "not significant"
        message = f"human {format_estimate(human)} p={format_pvalue(human_p)}: {verdict_word}"
        reason = verdict_word
        if not human_eq:
            reason = "human output differs from the baseline's (digest mismatch)"
            message += f"; {reason}"
        elif not significant:
            message += f" (needs p < {rule.alpha:g} and a CI above 1.00x)"
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
        )

    gso = rule.rule == "gso"
    # GSO summarises a task by the harmonic mean, so that is what its verdict shows.
    if gso:
        human = combine(humans, "harmonic")
    agent = combine(agents, "harmonic" if gso else "geometric")
    agent_geo = combine(agents, "geometric")
    ratio = combine(ratios, "geometric")
    agent_p = max(agent_ps)
    tol = rule.similar_tolerance
    head = f"agent {format_estimate(agent)} vs human {format_estimate(human)}"

    def verdict(passed: bool, category: Category, reason: str, message: str, needed: float | None) -> Verdict:
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
        )

    if not agent_eq:
        return verdict(False, "failed", mismatch, f"{head}: failed ({mismatch})", None)

    category: Category
    if ratio.point > 1 + tol:
        category = "beats" if ratio.low > 1.0 else "similar"
    elif ratio.point >= 1 - tol:
        category = "similar"
    else:
        category = "worse" if ratio.high < 1.0 else "similar"

    needed: float | None
    if gso:
        needed = max(rule.gso_human_fraction * human.point, rule.gso_min_speedup)
        passed = agent.point >= rule.gso_human_fraction * human.point and agent_geo.point >= rule.gso_min_speedup
        if not passed and category != "worse":
            category = "worse"
        elif passed and category == "worse":
            category = "similar"
        reason = (
            f"gso: agent {agent.point:.3f}x vs {rule.gso_human_fraction:g} x human "
            f"{human.point:.3f}x (harmonic means), agent {agent_geo.point:.3f}x vs "
            f"{rule.gso_min_speedup:g}x (geometric mean)"
        )
    else:
        passed = category in rule.pass_categories
        if "worse" in rule.pass_categories:
            needed = None
        elif "similar" in rule.pass_categories:
            needed = human.point * (1 - tol)
        else:
            needed = human.point * (1 + tol)
        reason = f"{category}: agent/human {format_estimate(ratio)} (tolerance +-{tol:g})"

    message = f"{head}: {category}"
    if needed is not None:
        message += f" (needs >= {needed:.2f}x)"
    return verdict(passed, category, reason, message, needed)


def decided(
    values: Mapping[str, list[float]],
    rule: SuccessRule,
    direction: Direction,
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> bool:
    """True when more rounds could not change the verdict of one perf test.

    Every interval must be clear of its decision thresholds: the human speedup's
    interval excludes 1.0 (significant, or significantly slower), and with an agent,
    the agent-over-human interval lies wholly inside the ``similar`` band or wholly
    outside it. The protocol uses this, after ``min_rounds``, as an early stop.
    """
    base = values.get("baseline")
    human = values.get(HUMAN)
    if not base or not human or len(base) < 2 or len(human) < 2:
        return False
    h = estimate_speedup(base, human, direction, confidence, rule.estimator, n_resamples)
    if h.low <= 1.0 <= h.high:
        return False
    agent = values.get(AGENT)
    if agent is None:
        return True
    if len(agent) < 2:
        return False
    r = estimate_speedup(human, agent, direction, confidence, rule.estimator, n_resamples)
    tol = rule.similar_tolerance
    inside = r.low >= 1 - tol and r.high <= 1 + tol
    below = r.high < 1 - tol
    above = r.low > 1 + tol
    return inside or below or above
