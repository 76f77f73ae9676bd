"""Collection report lines: which dataset source a suite with a fallback used, and how
many predictions of ``--isobench-predictions`` reach an item.

With ``--isobench-agent=predictions``, a user who points at a predictions file or a folder
of ISO-Bench runs wants to know, before anything runs, whether every prediction found its
task: the collection report says how many mapped and names the first ones that did not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ..agents.predictions import load_predictions
from ..dataset.shapes import RecordError
from ..keys import SOURCE_NOTES_KEY
from .items import TaskItem, task_of
from .shape_lines import shape_lines

__all__ = ["collection_lines"]

SHOWN_UNMAPPED = 5


def _tasks(items: Sequence[pytest.Item]) -> Iterator[tuple[str, str, str | None, str | None]]:
    for item in items:
        if isinstance(item, TaskItem):
            try:
                task = task_of(item)
            except RecordError:
                continue  # the item itself reports its bad record
            base = None if task.base_commit is None or task.base_commit.endswith("^") else task.base_commit
            yield item.name, task.instance_id, task.head_commit, base


def collection_lines(config: pytest.Config, items: Sequence[pytest.Item]) -> list[str]:
    """Which dataset source each suite used (when it has a fallback), and, with
    ``--isobench-agent=predictions``, how many predictions map to an item."""
    notes: list[str] = config.stash.get(SOURCE_NOTES_KEY, [])
    lines = list(notes) + shape_lines(config, items)
    source = config.getoption("--isobench-predictions", None)
    agent = config.getoption("--isobench-agent", None) or config.getini("isobench_agent")
    if agent != "predictions" or not source:
        return lines
    path = Path(source)
    try:
        table = load_predictions(path)
    except (ValueError, OSError) as exc:
        raise pytest.UsageError(f"--isobench-predictions: {exc}") from None
    mapped, unmapped, several = table.mapped(_tasks(items))
    lines += [f"isobench: {mapped} of {len(table.rows)} prediction(s) in {path} map to a collected item"]
    if several:
        lines.append(
            f"  {several} item(s) have predictions from several runs: the last in path order is used "
            "(pass one run folder, or a predictions file from `isobench import`, to choose)"
        )
    lines += [f"  unmapped: {where}" for where in unmapped[:SHOWN_UNMAPPED]]
    if len(unmapped) > SHOWN_UNMAPPED:
        lines.append(f"  ... and {len(unmapped) - SHOWN_UNMAPPED} more")
    return lines
