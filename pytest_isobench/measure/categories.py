"""The value a verdict is: the agent's category, the human speedup's own verdict, and
the :class:`Verdict` record the task run keeps, with the category rule.

Plain data and the two pure rules that map an interval onto a category; the judging
that fills a verdict lives in :mod:`~pytest_isobench.measure.verdict`. No pytest, no
docker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pytest_isobench.measure.gso import GsoResult
from pytest_isobench.measure.rule import Category
from pytest_isobench.measure.stats import Estimate

__all__ = ["AGENT", "HUMAN", "HumanVerdict", "Verdict", "categorize", "human_verdict"]

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
    dependence: dict[str, dict[str, Any]] | None = None

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
            "dependence": self.dependence,
            "reason": self.reason,
            "message": self.message,
        }


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
