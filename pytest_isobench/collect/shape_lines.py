"""Collection report lines under ``--collect-only``: what kind each task's tests are.

A user pointing the plugin at ISO-Bench's or GSO's data wants to see, before anything
runs, which tests will be timed and how (``setup-experiment`` under the driver, ``json``),
which are unit tests run as correctness gates, and which will not be judged (no figure).
Mapping every record costs time on large datasets, so this runs only with ``--collect-only``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from ..dataset.models import Task
from ..dataset.shapes import RecordError
from .items import TaskItem, task_of

__all__ = ["shape_lines"]

SHOWN_ITEMS = 50


def _describe(task: Task) -> str:
    parts = [f"{t.name} {t.kind}" for t in task.perf_tests]
    parts += [f"{u.name} unit-tests (gate)" for u in task.unit_tests]
    return ", ".join(parts) or "no test (generation, or skipped)"


def shape_lines(config: pytest.Config, items: Sequence[pytest.Item]) -> list[str]:
    """With ``--collect-only``: counts of perf tests by shape and of gates, and each task's tests."""
    if not config.option.collectonly:
        return []
    shapes: Counter[str] = Counter()
    gates = 0
    described: list[str] = []
    for item in items:
        if not isinstance(item, TaskItem):
            continue
        try:
            task = task_of(item)
        except RecordError:
            continue  # the item itself reports its bad record
        shapes.update(t.kind for t in task.perf_tests)
        gates += len(task.unit_tests)
        described.append(f"  {item.name}: {_describe(task)}")
    if not described:
        return []
    counts = ", ".join(f"{shape} {n}" for shape, n in sorted(shapes.items())) or "none"
    lines = [f"isobench: perf tests by shape: {counts}; unit-test gates: {gates}"]
    lines += described[:SHOWN_ITEMS]
    if len(described) > SHOWN_ITEMS:
        lines.append(f"  ... and {len(described) - SHOWN_ITEMS} more")
    return lines
