"""The end-of-session table: one line per task and the totals per category.

Reads finished records only; it computes no statistics (the verdicts carry them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..results.record import EstimateRecord, TaskRecord, as_records


def _est(value: EstimateRecord | None) -> str:
    if value is None:
        return "-"
    return f"{value.point:.2f}x [{value.low:.2f}, {value.high:.2f}]"


def summary_lines(records: Sequence[TaskRecord | dict[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """Formatted table lines and the totals per status/category."""
    records = as_records(records)
    header = ("task", "human", "agent", "agent/human", "verdict")
    rows = []
    totals: Counter[str] = Counter()
    for record in records:
        verdict = record.verdict
        label = record.label()
        totals[label] += 1
        if record.review:
            label += " (review)"  # a speedup far above the human's: look at the patch
        if record.resumed:
            label += " (resumed)"
        rows.append(
            (
                record.item_id,
                _est(verdict.human if verdict else None),
                _est(verdict.agent if verdict else None),
                _est(verdict.agent_vs_human if verdict else None),
                label,
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    lines.append("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    lines += noise_lines(records)
    lines += dependence_lines(records)
    return lines, dict(totals)


def dependence_lines(records: Sequence[TaskRecord]) -> list[str]:
    """Tasks whose rounds were serially dependent (their intervals widened, no early stop
    taken); nothing when every task's rounds looked independent."""
    found = [(r.item_id, lag) for r in records if r.verdict and (lag := r.verdict.dependent_lag1()) is not None]
    if not found:
        return []
    lines = [f"rounds dependent: {len(found)} of {len(records)} task(s) (intervals widened, no early stop)"]
    lines += [f"  {item}: lag-1 {lag:.2f}" for item, lag in found]
    return lines


def noise_lines(records: Sequence[TaskRecord]) -> list[str]:
    """The noise guard's warnings, one line per task that has any (busy machine, values
    under 1 ms, large spread); nothing when every task was measured cleanly."""
    noisy = [(r.item_id, r.noise.warnings if r.noise is not None else []) for r in records]
    noisy = [(item, found) for item, found in noisy if found]
    if not noisy:
        return []
    lines = [f"noise: {len(noisy)} of {len(records)} task(s) measured with warnings (the record's noise)"]
    lines += [f"  {item}: " + "; ".join(found) for item, found in noisy]
    return lines
