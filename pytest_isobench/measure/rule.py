"""The success rule: one type, read from a suite's ``success:`` section and used by the
verdict as it is (no field-by-field copy in between).

It only holds and validates thresholds; the verdict applies them. Pure: pydantic, no
pytest or docker.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pytest_isobench.measure.stats import Combination, Estimator

__all__ = ["CATEGORIES", "PASSABLE", "Category", "SuccessRule"]

Category = Literal["beats", "similar", "worse", "inconclusive", "failed"]
CATEGORIES: tuple[Category, ...] = ("beats", "similar", "worse", "inconclusive", "failed")
PASSABLE: tuple[str, ...] = ("beats", "similar", "worse", "inconclusive")


class SuccessRule(BaseModel):
    """What counts as success (a suite's ``success:`` section).

    ``alpha`` is the one significance level: every interval is a ``1 - alpha`` interval
    (adjusted for the protocol's looks), so a false "significant", "beats" or "worse"
    has probability at most ``alpha / 2`` each. ``isobench``: the agent's category (its
    speedup relative to the human's, against the band ``+-similar_tolerance``) must be
    in ``pass_categories``. ``gso``: GSO's own test (``harness/grading/metrics.py``):
    the harmonic mean over tests of human-time / agent-time above ``gso_human_fraction``,
    the geometric mean of the agent's per-test speedups, rounded to one decimal, at
    least ``gso_min_speedup``, and the mean baseline time above the mean agent time.
    ``combine``: how per-test intervals are combined (``independent`` or
    ``conservative``, see :func:`~pytest_isobench.measure.stats.combine`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: Literal["isobench", "gso"] = "isobench"
    similar_tolerance: float = Field(default=0.05, ge=0, lt=1, description="the +- band around the human (0.05)")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="two-sided error level of every interval")
    gso_human_fraction: float = Field(default=0.95, gt=0)
    gso_min_speedup: float = Field(default=1.2, gt=0)
    pass_categories: tuple[str, ...] = ("beats", "similar")
    estimator: Estimator = Field(
        default="paired-hodges-lehmann",
        description="paired-hodges-lehmann (per-round log ratios), hodges-lehmann (unpaired) or median-bootstrap",
    )
    combine: Combination = "independent"

    @field_validator("pass_categories")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in PASSABLE]
        if unknown or not value:
            raise ValueError(f"expected a non-empty subset of {', '.join(map(repr, PASSABLE))}, got {list(value)!r}")
        return value
