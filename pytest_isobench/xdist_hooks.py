"""xdist glue, registered only when pytest-xdist is present: share the run id with workers,
and stand an ``error`` record in for a task whose worker died under it."""

from __future__ import annotations

from typing import Any

from .keys import RECORD_ATTR
from .results.store import write_record
from .settings import Settings
from .taskrun.record import lost_record


class XdistHooks:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["isobench_run_id"] = self.settings.run_id

    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        """The worker died mid-task: record the task as lost, with xdist's reason, at once."""
        record = lost_record(crashitem, self.settings, str(report.longrepr))
        write_record(self.settings.results_dir, record)
        setattr(report, RECORD_ATTR, record.to_json())  # the session counts it in the summary
