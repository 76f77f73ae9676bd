"""The words of a verdict: estimates and p-values as text, and the message and reason of
each outcome, built apart from the decisions (:mod:`~pytest_isobench.measure.verdict`
decides, this module only says it).

Pure string building over plain values; it must not decide anything, import pytest or
docker, or read protocol results beyond their round counts and times.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_isobench.measure.dependence import Dependence
    from pytest_isobench.measure.gso import GsoResult
    from pytest_isobench.measure.samples import ProtocolResult
    from pytest_isobench.measure.stats import Estimate

__all__ = [
    "budget_note",
    "dependence_note",
    "format_digests",
    "format_estimate",
    "format_pvalue",
    "gso_reason",
    "shown_category",
    "tie_note",
]


def format_estimate(e: Estimate) -> str:
    """``1.41x [1.36, 1.45]``."""
    return f"{e.point:.2f}x [{e.low:.2f}, {e.high:.2f}]"


def format_pvalue(p: float) -> str:
    """Four decimals, switching to scientific notation below 0.0001."""
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def format_digests(ds: set[str]) -> str:
    """One digest's first 12 characters, a sorted set of them, or ``none``."""
    if not ds:
        return "none"
    shown = sorted(d[:12] for d in ds)
    return shown[0] if len(shown) == 1 else "{" + ", ".join(shown) + "}"


def tie_note(tied: Sequence[str]) -> str:
    return f"values tied in {', '.join(tied)} (timer too coarse: make the perf test loop its timed region)"


def _needed_half_width(e: Estimate, tolerance: float | None) -> float:
    """The log half-width at which ``e``'s interval, its point where it is, would settle
    a category: inside the band for a point inside it (``tolerance`` given), clear of 1.0
    otherwise (beats / worse, or the human's significance)."""
    lp = math.log(e.point)
    if tolerance is not None and math.log(1 - tolerance) <= lp <= math.log(1 + tolerance):
        return min(lp - math.log(1 - tolerance), math.log(1 + tolerance) - lp)
    return abs(lp)


def budget_note(e: Estimate, tolerance: float | None, tests: Sequence[ProtocolResult]) -> str:
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


def gso_reason(g: GsoResult, human_fraction: float, min_speedup: float, category: str, why: str) -> str:
    """GSO's three figures against their thresholds, then the category's reason."""
    return (
        f"gso {'pass' if g.opt_commit else 'fail'}: human/agent time HM {g.hm_patch_commit:.3f} "
        f"(> {human_fraction:g}), agent GM {g.gm_patch_base:.3f} "
        f"(rounded >= {min_speedup:g}), mean base {g.base_mean:.4g} "
        f"> mean agent {g.patch_mean:.4g}; {category}: {why}"
    )


def shown_category(category: str, dependent: Mapping[str, Dependence]) -> str:
    """``inconclusive (rounds dependent)`` when dependence is what the budget could not
    overcome; the category as it is otherwise."""
    return f"{category} (rounds dependent)" if dependent and category == "inconclusive" else category


def dependence_note(dependent: Mapping[str, Dependence]) -> str:
    """``rounds dependent, lag-1 0.62: intervals widened, no early stop`` (the strongest
    of the pairs given)."""
    worst = max(dependent.values(), key=lambda d: (d.lag1, d.factor))
    widened = any(d.widened for d in dependent.values())
    return f"rounds dependent, lag-1 {worst.lag1:.2f}: {'intervals widened, ' if widened else ''}no early stop"
