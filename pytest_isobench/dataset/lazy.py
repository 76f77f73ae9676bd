"""Light task references for collection: an id, a head commit, and where the record is.

Collecting ten thousand tasks must cost little more than ten thousand plain tests, so a
JSONL record is only identified at collection (its shape and identity fields checked)
and mapped onto a full :class:`Task` when an item first needs it, by seeking back to
its byte offset. Sources that cannot be re-read (JSON, Parquet, hub) hold the task.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import RecordRef, Task
from .shapes import RecordError, identify, task_from_record


class TaskRef:
    """What collection needs of a task; :meth:`load` gives the full :class:`Task`."""

    __slots__ = ("_task", "gpus", "head_commit", "instance_id", "line", "offset", "source", "subject")

    def __init__(
        self,
        instance_id: str,
        head_commit: str,
        subject: str,
        gpus: int | None,
        source: str,
        line: int | None = None,
        offset: int | None = None,
        task: Task | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.head_commit = head_commit
        self.subject = subject
        self.gpus = gpus
        self.source = source
        self.line = line
        self.offset = offset
        self._task = task

    @classmethod
    def of(cls, task: Task, source: str) -> TaskRef:
        """A reference that already holds its task (sources that cannot be re-read)."""
        return cls(task.instance_id, task.head_commit, task.subject, task.gpus, source, task=task)

    @classmethod
    def identify(cls, raw: Any, source: str, line: int, offset: int) -> TaskRef:
        """Check a record's shape and identity fields; :class:`RecordError` if it has none."""
        where = f"{source}:{line}"
        if not isinstance(raw, Mapping):
            raise RecordError(f"{where}: expected a JSON object, got {type(raw).__name__}")
        instance_id, head, subject, gpus = identify(raw, where)
        return cls(instance_id, head, subject, gpus, source, line, offset)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line is not None else self.source

    def load(self) -> Task:
        """The full task (mapped once, then kept); :class:`RecordError` names file:line."""
        if self._task is None:
            if self.offset is None:
                raise RecordError(f"{self.where}: the record cannot be re-read")
            with open(self.source, "rb") as fh:
                fh.seek(self.offset)
                raw = json.loads(fh.readline())
            origin = RecordRef(source=self.source, line=self.line, offset=self.offset)
            self._task = task_from_record(raw, self.where, origin)
        return self._task
