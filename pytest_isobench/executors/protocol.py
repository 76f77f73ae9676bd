"""What an executor is: something that runs a ``TaskRun`` somewhere and hands back its record."""

from __future__ import annotations

from typing import Protocol

from ..results.record import TaskRecord
from ..taskrun import TaskRun


class Executor(Protocol):
    """Runs task runs; the in-process executor is the default (``IsobenchSession.executor``)."""

    def run(self, taskrun: TaskRun) -> TaskRecord:
        """Run ``taskrun`` to its end and return its record (never raise for a task's outcome)."""
        ...
