"""Before any statistics: did every variant run, and did each produce the baseline's
output? A failed baseline or human is a task problem, a failed or different agent is
``"failed"``: verdicts that no interval could change.

Pure reads of protocol results; no pytest, no docker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_isobench.measure.categories import AGENT, HUMAN, Verdict
from pytest_isobench.measure.explain import format_digests

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_isobench.measure.rule import Category
    from pytest_isobench.measure.samples import ProtocolResult

__all__ = ["Outputs", "check_variants", "fail", "failed_run", "outputs"]


def _digests(result: ProtocolResult, variant: str) -> set[str]:
    return {d for d in result.digests(variant) if d is not None}


def _first_failure(tests: Sequence[ProtocolResult], variant: str) -> str | None:
    for t in tests:
        if variant in t.failures:
            return t.failures[variant].strip()
    return None


def fail(reason: str, category: Category | None, *, equivalent: bool = True, human_eq: bool = True) -> Verdict:
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


@dataclass(frozen=True)
class Outputs:
    """Whether the human's and the agent's outputs match the baseline's, and the agent's
    mismatch in words."""

    human_eq: bool = True
    agent_eq: bool = True
    mismatch: str = ""


def check_variants(tests: Sequence[ProtocolResult], has_agent: bool) -> None:
    if not tests:
        raise ValueError("tests: expected at least one perf test's protocol result, got none")
    needed = [HUMAN, AGENT] if has_agent else [HUMAN]
    for i, t in enumerate(tests):
        missing = [v for v in needed if v not in t.variants[1:]]
        if missing:
            raise ValueError(f"tests[{i}]: variants {t.variants!r} lack {missing!r}")


def failed_run(tests: Sequence[ProtocolResult], has_agent: bool) -> Verdict | None:
    """A failed baseline or human is a task problem (no category); a failed agent is
    ``"failed"``."""
    base_err = next((t.failures[t.baseline] for t in tests if t.baseline in t.failures), None)
    if base_err is not None:
        return fail(f"baseline failed: {base_err.strip()}", None)
    if has_agent and (err := _first_failure(tests, AGENT)) is not None:
        return fail(f"agent failed: {err}", "failed")
    if (err := _first_failure(tests, HUMAN)) is not None:
        return fail(f"human failed: {err}", None)
    return None


def outputs(tests: Sequence[ProtocolResult], has_agent: bool) -> Outputs:
    """Digests against the baseline's, test by test (a test without digests says nothing)."""
    human_eq, agent_eq, mismatch = True, True, ""
    for t in tests:
        base = _digests(t, t.baseline)
        if not base:
            continue
        human_eq = human_eq and _digests(t, HUMAN) == base
        if has_agent and agent_eq and _digests(t, AGENT) != base:
            agent_eq = False
            mismatch = f"correctness: digest {format_digests(_digests(t, AGENT))} != baseline {format_digests(base)}"
    return Outputs(human_eq, agent_eq, mismatch)
