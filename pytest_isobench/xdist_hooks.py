"""xdist glue, registered only when pytest-xdist is present: share the run id with workers,
stand an ``error`` record in for a task whose worker died under it (with the task's fields,
from the note its worker kept while it ran), and stop every worker once one could not write
a record (see :mod:`.results.runstate`)."""

from __future__ import annotations

from typing import Any

import pytest

from .collect.items import TaskItem, task_of
from .keys import RECORD_ATTR, SUITE_KEY
from .results import runstate
from .results.store import ResultsWriteError, write_record
from .settings import Settings
from .taskrun.record import bare_record, lost_record


class XdistHooks:
    def __init__(self, settings: Settings, is_worker: bool = False) -> None:
        self.settings = settings
        self.is_worker = is_worker

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["isobench_run_id"] = self.settings.run_id

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        """A worker: stop before the task when another worker asked so; else note what runs."""
        if not self.is_worker:
            return None
        s = self.settings
        stop = runstate.stop_reason(s.cache_dir, s.run_id)
        if stop is not None:
            item.session.shouldstop = stop  # the worker's loop ends here; the controller stops with this
            return True
        if isinstance(item, TaskItem):
            task = None
            try:
                task = task_of(item)
            except Exception:  # the item reports its record error itself
                task = None
            suite = item.stash.get(SUITE_KEY, None)
            note = bare_record(
                item_id=item.name,
                nodeid=item.nodeid,
                suite=suite.name if suite is not None else None,
                settings=s,
                status="error",
                task=task,
                repo=suite.repo if suite is not None else None,
            )
            runstate.note_inflight(s.cache_dir, s.run_id, item.name, note.to_json())
        return None

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        if self.is_worker:
            runstate.done(self.settings.cache_dir, self.settings.run_id, nodeid.rsplit("::", 1)[-1])

    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        """The worker died mid-task: record the task as lost, with xdist's reason, at once."""
        s = self.settings
        item_id = crashitem.rsplit("::", 1)[-1]
        record = lost_record(crashitem, s, str(report.longrepr), runstate.inflight(s.cache_dir, s.run_id, item_id))
        try:
            write_record(s.results_dir, record)
        except ResultsWriteError as exc:
            report.longrepr = f"{report.longrepr}\n{exc}"
            runstate.raise_stop(s.cache_dir, s.run_id, str(exc))
        runstate.done(s.cache_dir, s.run_id, item_id)
        setattr(report, RECORD_ATTR, record.to_json())  # the session counts it in the summary

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_worker:
            runstate.clear(self.settings.cache_dir, self.settings.run_id)
