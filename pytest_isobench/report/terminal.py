"""The end-of-session table: one line per task and the totals per category.

Reads finished records only; it computes no statistics (the verdicts carry them).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def _est(verdict: dict[str, Any] | None, key: str) -> str:
    value = (verdict or {}).get(key)
    if not isinstance(value, dict) or value.get("point") is None:
        return "-"
    return f"{value['point']:.2f}x [{value['low']:.2f}, {value['high']:.2f}]"


def summary_lines(records: list[dict[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """Formatted table lines and the totals per status/category."""
    header = ("task", "human", "agent", "agent/human", "verdict")
    rows = []
    totals: Counter[str] = Counter()
    for record in records:
        verdict = record.get("verdict")
        category = (verdict or {}).get("category")
        if record.get("status") in ("error", "skipped"):
            label = record["status"]
        elif category:
            label = category
        elif verdict is not None:
            label = "significant" if verdict.get("human_significant") else "not significant"
            if not verdict.get("human_significant") and verdict.get("human_verdict"):
                label = str(verdict["human_verdict"])  # inconclusive, slower or tied
        else:
            label = record.get("status", "?")
        if record.get("review"):
            label += " (review)"  # a speedup far above the human's: look at the patch
        if record.get("resumed"):
            label += " (resumed)"
        totals[label.split(" (")[0]] += 1
        rows.append(
            (
                record.get("item_id", "?"),
                _est(verdict, "human"),
                _est(verdict, "agent"),
                _est(verdict, "agent_vs_human"),
                label,
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in rows]
    lines.append("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
    lines += noise_lines(records)
    return lines, dict(totals)


def noise_lines(records: list[dict[str, Any]]) -> list[str]:
    """The noise guard's warnings, one line per task that has any (busy machine, values
    under 1 ms, large spread); nothing when every task was measured cleanly."""
    noisy = [(r.get("item_id", "?"), (r.get("noise") or {}).get("warnings") or []) for r in records]
    noisy = [(item, found) for item, found in noisy if found]
    if not noisy:
        return []
    lines = [f"noise: {len(noisy)} of {len(records)} task(s) measured with warnings (the record's noise)"]
    lines += [f"  {item}: " + "; ".join(found) for item, found in noisy]
    return lines
