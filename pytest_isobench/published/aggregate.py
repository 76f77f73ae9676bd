"""ISO-Bench's two-way evaluation figures, computed as ISO-Bench's aggregation computes them.

The rules are those of ``_aggregate_from_run_summaries`` in ISO-Bench's
``src/eval/aggregate_results.py`` (read, not copied): one count per ``run_summary.json``,
grouped by ``<agent>/<model>``; its ``evaluation`` block (status, error, speedup,
``baseline_ms``, ``patched_ms``) and ``agent.patch_generated`` decide the counters; an
improvement is a speedup above 1.05, a regression one below 0.95, and the mean speedup
is the plain mean over the items that have one (its "median" is the upper middle value).
A published record carries that block as ``summary_evaluation``; this module only counts.
Imported from an evaluation folder alone (``analysis/eval_results_v2``), the figures are
the script's on the same files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["IsobenchAggregate", "aggregate"]

IMPROVEMENT = 1.05
REGRESSION = 0.95


@dataclass
class IsobenchAggregate:
    """One ``<agent>/<model>`` group, with the script's counter names."""

    key: str
    total_commits: int = 0
    tests_available: int = 0
    tests_run: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    no_test_available: int = 0
    no_patch: int = 0
    patch_failed: int = 0
    timeouts: int = 0
    errors: int = 0
    commits_with_improvement: int = 0
    commits_with_regression: int = 0
    commits_neutral: int = 0
    speedups: list[float] = field(default_factory=list)

    @property
    def avg_speedup(self) -> float | None:
        return sum(self.speedups) / len(self.speedups) if self.speedups else None

    @property
    def median_speedup(self) -> float | None:
        ordered = sorted(self.speedups)
        return ordered[len(ordered) // 2] if ordered else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("speedups")
        out["avg_speedup"], out["median_speedup"] = self.avg_speedup, self.median_speedup
        return out


def _speedup(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _success(row: IsobenchAggregate, ev: dict[str, Any]) -> None:
    row.tests_available += 1
    row.tests_run += 1
    speedup = _speedup(ev.get("speedup"))
    if speedup is not None:
        row.tests_passed += 1
        row.speedups.append(speedup)
        if speedup > IMPROVEMENT:
            row.commits_with_improvement += 1
        elif speedup < REGRESSION:
            row.commits_with_regression += 1
        else:
            row.commits_neutral += 1
    elif ev.get("baseline_ms") is None or ev.get("patched_ms") is None:
        row.tests_failed += 1  # "success" without both timings: the test did not run
    else:
        row.tests_passed += 1


def _count(row: IsobenchAggregate, ev: dict[str, Any], patch_generated: bool) -> None:
    row.total_commits += 1
    status = ev.get("status", "unknown")
    if "No test script found" in str(ev.get("error") or ""):
        row.no_test_available += 1
    elif not patch_generated:
        row.no_patch += 1
        row.tests_available += 1
    elif status == "success":
        _success(row, ev)
    elif status == "patch_failed":
        row.patch_failed += 1
        row.tests_available += 1
        row.tests_run += 1
        row.tests_failed += 1
    elif status == "timeout":
        row.timeouts += 1
        row.tests_available += 1
    elif status in ("error", "baseline_failed"):
        row.errors += 1
        row.tests_available += 1
    elif status == "no_patch":
        row.no_patch += 1
        row.tests_available += 1


def aggregate(records: Iterable[dict[str, Any]]) -> list[IsobenchAggregate]:
    """One row per ``<agent>/<model>`` over the published records that carry a
    ``run_summary.json`` (``summary_evaluation`` present, possibly empty)."""
    rows: dict[str, IsobenchAggregate] = {}
    for record in records:
        if "summary_evaluation" not in record or record.get("summary_evaluation") is None:
            continue
        key = str(record.get("summary_group") or f"{record.get('agent')}/{record.get('model')}")
        row = rows.setdefault(key, IsobenchAggregate(key))
        ev = record["summary_evaluation"]
        _count(row, ev if isinstance(ev, dict) else {}, bool(record.get("patch_generated")))
    return [rows[k] for k in sorted(rows)]
