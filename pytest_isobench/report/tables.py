"""Aggregate result records into the tables people read: one row per task, one per group.

A group is one (suite, agent, model, settings fingerprint[, run]) combination: results
from different suites or settings are kept apart, never averaged together. Per group:
tasks, how many ran, passed, the counts per category, the success rate with a Wilson
score interval, geometric-mean speedups and the human speedups as the dataset's sanity
check. This module reads the verdicts' numbers; it measures nothing and draws nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

from ..results.record import EstimateRecord, TaskRecord, as_records

CATEGORY_ORDER = ("beats", "similar", "worse", "inconclusive", "failed")
# Records whose status says the agent was never judged: they stay out of success rates.
NOT_RUN = ("error", "skipped")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Agresti & Coull 1998).

    With ``p = k/n`` and ``z`` the two-sided normal quantile, the bounds are
    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``. Unlike the normal
    approximation it stays inside [0, 1] and is sensible for 0 or n successes.
    ``n == 0`` gives the uninformative ``(0, 1)``.
    """
    if not 0 <= successes <= n:
        raise ValueError(f"successes: expected 0 <= successes <= n={n}, got {successes}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence!r}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends, not 1e-17 off
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def geometric_mean(values: list[float]) -> float | None:
    """Geometric mean of the finite positive values; None when there are none."""
    good = [v for v in values if isinstance(v, int | float) and math.isfinite(v) and v > 0]
    if not good:
        return None
    return math.exp(sum(math.log(v) for v in good) / len(good))


def _estimate(value: EstimateRecord | None) -> dict[str, float] | None:
    if value is None:
        return None
    return {"point": value.point, "low": value.low, "high": value.high}


def settings_label(settings: Any) -> str:
    """A short stable text for a settings fingerprint (shown in tables, used in keys)."""
    return json.dumps(settings, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class GroupKey:
    suite: str | None
    agent: str | None
    model: str | None
    settings: str
    run: str | None = None

    @property
    def settings_id(self) -> str:
        """Six hex digits naming the settings, so equal-looking groups stay distinguishable."""
        return hashlib.sha256(self.settings.encode("utf-8")).hexdigest()[:6]

    @property
    def label(self) -> str:
        parts = [self.suite or "?", self.agent or "(no agent)"]
        if self.model:
            parts.append(self.model)
        parts.append(f"settings {self.settings_id}")
        if self.run:
            parts.append(f"run {self.run}")
        return " / ".join(parts)


def group_key(record: TaskRecord) -> GroupKey:
    return GroupKey(
        suite=record.suite,
        agent=record.agent,
        model=record.model,
        settings=settings_label(record.settings),
        run=record.run_label,
    )


@dataclass
class TaskRow:
    """One record, flattened for tables, plots and the HTML page."""

    item_id: str
    group: str
    suite: str | None
    agent: str | None
    model: str | None
    status: str
    category: str | None
    passed: bool
    human: dict[str, float] | None
    agent_speedup: dict[str, float] | None
    agent_vs_human: dict[str, float] | None
    human_significant: bool | None
    message: str
    human_verdict: str | None = None
    run: str | None = None
    has_patch: bool = False

    @property
    def key(self) -> str:
        """Unique within a report: the group label and the item id."""
        return f"{self.group}::{self.item_id}"

    @property
    def label(self) -> str:
        """What the task came to: a category, an outcome, or the human's significance."""
        if self.status in NOT_RUN:
            return self.status
        if self.category:
            return self.category
        if self.human_significant is not None and self.agent is None:
            if self.human_verdict and not self.human_significant:
                return self.human_verdict  # inconclusive, slower or tied
            return "significant" if self.human_significant else "not significant"
        return self.status


def _message(record: TaskRecord) -> str:
    """The verdict's message (or the agent's failure), after a request for review if any."""
    message = (record.verdict.message if record.verdict else "") or record.agent_failure or ""
    return f"REVIEW: {record.review}; {message}" if record.review else message


def task_row(record: TaskRecord | dict[str, Any]) -> TaskRow:
    [record] = as_records([record])
    verdict = record.verdict
    key = group_key(record)
    return TaskRow(
        item_id=record.item_id,
        group=key.label,
        suite=key.suite,
        agent=key.agent,
        model=key.model,
        status=record.status,
        category=verdict.category if verdict else None,
        passed=record.status == "passed",
        human=_estimate(verdict.human if verdict else None),
        agent_speedup=_estimate(verdict.agent if verdict else None),
        agent_vs_human=_estimate(verdict.agent_vs_human if verdict else None),
        human_significant=verdict.human_significant if verdict else None,
        human_verdict=verdict.human_verdict if verdict else None,
        message=_message(record),
        run=key.run,
        has_patch=bool(record.patch),
    )


@dataclass
class GroupSummary:
    """The totals of one (suite, agent, model, settings[, run]) group."""

    key: GroupKey
    tasks: int = 0
    run: int = 0
    passed: int = 0
    errors: int = 0
    skipped: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    success_rate: float | None = None
    success_low: float = 0.0
    success_high: float = 1.0
    geomean_agent: float | None = None
    geomean_agent_vs_human: float | None = None
    n_agent_speedups: int = 0
    geomean_human: float | None = None
    n_human_speedups: int = 0
    human_significant: int = 0
    human_not_significant: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.key.label

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["key"] = asdict(self.key)
        data["label"] = self.label
        return data


def summarize_group(key: GroupKey, rows: list[TaskRow], confidence: float = 0.95) -> GroupSummary:
    summary = GroupSummary(key=key, tasks=len(rows))
    counts: Counter[str] = Counter()
    agents: list[float] = []
    ratios: list[float] = []
    humans: list[float] = []
    for row in rows:
        if row.status == "error":
            summary.errors += 1
        elif row.status == "skipped":
            summary.skipped += 1
        else:
            summary.run += 1
            summary.passed += row.passed
            if row.category:
                counts[row.category] += 1
        if row.agent_speedup is not None:
            agents.append(row.agent_speedup["point"])
        if row.agent_vs_human is not None:
            ratios.append(row.agent_vs_human["point"])
        if row.human is not None:
            humans.append(row.human["point"])
            if row.human_significant:
                summary.human_significant += 1
            elif row.human_significant is False:
                summary.human_not_significant.append(row.item_id)
    summary.categories = {c: counts.get(c, 0) for c in CATEGORY_ORDER}
    if summary.run:
        summary.success_rate = summary.passed / summary.run
    summary.success_low, summary.success_high = wilson_interval(summary.passed, summary.run, confidence)
    summary.geomean_agent = geometric_mean(agents)
    summary.geomean_agent_vs_human = geometric_mean(ratios)
    summary.n_agent_speedups = len(agents)
    summary.geomean_human = geometric_mean(humans)
    summary.n_human_speedups = len(humans)
    return summary


@dataclass
class Report:
    """Everything a report shows; ``passk`` and ``soft`` are filled in by their modules."""

    groups: list[GroupSummary]
    tasks: list[TaskRow]
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    passk: list[dict[str, Any]] = field(default_factory=list)
    soft: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[TaskRecord] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)  # rows of report.published
    # ISO-Bench's three-way table, its aggregation recomputed, published vs files (report.published_threeway)
    published_figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, with_records: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "groups": [g.as_dict() for g in self.groups],
            "tasks": [{**asdict(t), "label": t.label, "key": t.key} for t in self.tasks],
            "problems": list(self.problems),
            "duplicates": list(self.duplicates),
            "passk": list(self.passk),
            "soft": dict(self.soft),
            "published": list(self.published),
            "published_figures": dict(self.published_figures),
        }
        if with_records:
            data["records"] = [r.to_json() for r in self.records]
        return data


def build_report(
    records: Sequence[TaskRecord | dict[str, Any]],
    problems: list[str] | None = None,
    duplicates: list[str] | None = None,
    confidence: float = 0.95,
) -> Report:
    """Group the records (kept apart by suite, agent, model, settings and run) and total them."""
    by_group: dict[GroupKey, list[TaskRow]] = {}
    rows: list[TaskRow] = []
    typed = as_records(records)
    for record in typed:
        row = task_row(record)
        rows.append(row)
        by_group.setdefault(group_key(record), []).append(row)
    order = sorted(by_group, key=lambda k: (str(k.suite), str(k.agent), str(k.model), k.settings, str(k.run)))
    groups = [summarize_group(k, by_group[k], confidence) for k in order]
    rows.sort(key=lambda r: (r.group, r.item_id))
    return Report(
        groups=groups,
        tasks=rows,
        problems=list(problems or []),
        duplicates=list(duplicates or []),
        records=typed,
    )


def fmt_x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_rate(group: GroupSummary) -> str:
    if group.success_rate is None:
        return "-"
    return f"{group.success_rate:.0%} [{group.success_low:.0%}, {group.success_high:.0%}]"


def fmt_estimate(est: dict[str, float] | None) -> str:
    if est is None:
        return "-"
    return f"{est['point']:.2f}x [{est['low']:.2f}, {est['high']:.2f}]"


GROUP_HEADER = (
    "group",
    "tasks",
    "run",
    "passed",
    *CATEGORY_ORDER,
    "errors",
    "skipped",
    "success (95% CI)",
    "agent/base",
    "agent/human",
    "human/base",
    "human sig.",
)


def group_cells(group: GroupSummary) -> tuple[str, ...]:
    """One group as the cells of :data:`GROUP_HEADER`."""
    return (
        group.label,
        str(group.tasks),
        str(group.run),
        str(group.passed),
        *(str(group.categories.get(c, 0)) for c in CATEGORY_ORDER),
        str(group.errors),
        str(group.skipped),
        fmt_rate(group),
        fmt_x(group.geomean_agent),
        fmt_x(group.geomean_agent_vs_human),
        fmt_x(group.geomean_human),
        f"{group.human_significant}/{group.n_human_speedups}",
    )


def group_lines(groups: list[GroupSummary]) -> list[str]:
    """A plain-text table of the groups (for the terminal)."""
    rows = [GROUP_HEADER, *(group_cells(g) for g in groups)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(GROUP_HEADER))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*rows[0]), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows[1:])]
