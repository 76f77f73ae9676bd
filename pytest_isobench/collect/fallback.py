"""What is known of an item's task without its task run: the record of a task that never ran one.

The one builder of such records, from the item's stash (its suite, its task when it maps):
a setup that failed or skipped before the task run, a Ray node that never answered, the
note an xdist worker keeps while its task runs (the controller turns it into the record of
a task lost with its worker). It writes nothing (the session does).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest

from ..keys import SUITE_KEY
from ..results.record import Status, TaskRecord
from ..taskrun.build_record import bare_record
from .items import task_of

if TYPE_CHECKING:
    from ..dataset.models import Task
    from ..settings import Settings


def known_task(item: pytest.Item) -> Task | None:
    """The item's task, mapped now if it was not yet; None when its record does not map
    (the item reports that error itself)."""
    with contextlib.suppress(Exception):
        return task_of(item)
    return None


def fallback_record(item: pytest.Item, settings: Settings, status: Status, reason: str = "") -> TaskRecord:
    """A record of ``item`` with what is known before any stage ran: ids, suite, task, settings."""
    suite = item.stash.get(SUITE_KEY, None)
    return bare_record(
        item_id=item.name,
        nodeid=item.nodeid,
        suite=suite.name if suite is not None else None,
        settings=settings,
        status=status,
        reason=reason,
        task=known_task(item),
        repo=suite.repo if suite is not None else None,
    )
