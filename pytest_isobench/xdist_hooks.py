"""xdist glue, registered only when pytest-xdist is present: share the run id with workers,
stand an ``error`` record in for a task whose worker died under it (with the task's fields,
from the note its worker kept while it ran), and stop every worker once one could not write
a record (see :mod:`.results.runstate`). Records are written by the session, as any other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .collect.fallback import fallback_record
from .collect.items import TaskItem
from .results import runstate
from .taskrun.build_record import lost_record

if TYPE_CHECKING:
    from .session import IsobenchSession


class XdistHooks:
    def __init__(self, session: IsobenchSession) -> None:
        self.session = session
        self.settings = session.settings
        self.is_worker = session.process.is_worker

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
            note = fallback_record(item, s, "error")
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
        self.session.write(record, report, None)  # the session counts it in the summary too
        runstate.done(s.cache_dir, s.run_id, item_id)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.is_worker:
            runstate.clear(self.settings.cache_dir, self.settings.run_id)
