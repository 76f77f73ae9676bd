"""Opt@K and pass@k over several runs of the same agent on the same tasks.

GSO's Opt@K: for each task take the best status among its first K runs (in the order the
runs are given); Opt@K is the fraction of tasks whose best status is a success. pass@k
uses the unbiased estimator of Chen et al. (2021), ``1 - C(n-c, k) / C(n, k)`` per task
with ``n`` runs of which ``c`` passed, averaged over tasks. A task missing from a run
counts as a failed attempt in that run. Nothing is measured here: records carry their
verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from math import comb
from typing import Any

from ..results.record import TaskRecord, as_records

# Best first: a passed run beats any failed one; then by how the agent compared.
_CATEGORY_RANK = {"beats": 5, "similar": 4, "inconclusive": 3, "worse": 2, "failed": 1, "tampering": 0}
MISSING = "missing"


def status_of(record: TaskRecord | None) -> str:
    """The status a run gave a task: its category, or error/skipped/missing."""
    if record is None:
        return MISSING
    status = record.status
    if status in ("error", "skipped"):
        return status
    category = record.verdict.category if record.verdict is not None else None
    if category in _CATEGORY_RANK:
        return str(category)
    return status


def rank(record: TaskRecord | None) -> tuple[int, int]:
    """Sort key, larger is better: (passed, category rank)."""
    if record is None:
        return (0, -1)
    passed = int(record.status == "passed")
    return (passed, _CATEGORY_RANK.get(status_of(record), 0))


def task_id(record: TaskRecord) -> str:
    """Tasks are matched across runs by suite and item id."""
    return f"{record.suite}::{record.item_id}"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task: ``1 - C(n-c, k) / C(n, k)``; needs ``k <= n``."""
    if not 0 <= c <= n:
        raise ValueError(f"c: expected 0 <= c <= n={n}, got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k: expected 1 <= k <= n={n}, got {k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass
class PassK:
    k: int
    opt_at_k: float
    pass_at_k: float
    solved: int
    tasks: int
    best: dict[str, str] = field(default_factory=dict)  # task -> best status among the first k runs

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def runs_by_task(runs: Sequence[Sequence[TaskRecord | dict[str, Any]]]) -> dict[str, list[TaskRecord | None]]:
    """Task id -> its record in each run (None where that run lacks it), runs in order."""
    tasks: dict[str, list[TaskRecord | None]] = {}
    for index, records in enumerate(runs):
        for record in as_records(records):
            slots = tasks.setdefault(task_id(record), [None] * len(runs))
            slots[index] = record
    return dict(sorted(tasks.items()))


def opt_at_k(runs: Sequence[Sequence[TaskRecord | dict[str, Any]]], ks: list[int] | None = None) -> list[PassK]:
    """Opt@K and pass@k for each K in ``ks`` (default 1..number of runs)."""
    n = len(runs)
    if n == 0:
        return []
    ks = ks if ks is not None else list(range(1, n + 1))
    tasks = runs_by_task(runs)
    out: list[PassK] = []
    for k in ks:
        if not 1 <= k <= n:
            raise ValueError(f"k: expected 1 <= k <= {n} (the number of runs), got {k}")
        best: dict[str, str] = {}
        solved = 0
        estimates: list[float] = []
        for tid, slots in tasks.items():
            winner = max(slots[:k], key=rank)
            best[tid] = status_of(winner)
            solved += bool(winner is not None and winner.status == "passed")
            c = sum(1 for r in slots if r is not None and r.status == "passed")
            estimates.append(pass_at_k(n, c, k))
        count = len(tasks)
        out.append(
            PassK(
                k=k,
                opt_at_k=solved / count if count else 0.0,
                pass_at_k=sum(estimates) / count if count else 0.0,
                solved=solved,
                tasks=count,
                best=best,
            )
        )
    return out
