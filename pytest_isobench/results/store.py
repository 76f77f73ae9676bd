"""Result records on disk: one JSON file per task, written atomically as it finishes.

A record is written to a temporary file in the same directory, flushed, fsynced and then
renamed over its final name, so a crash never leaves half a record. Reading a directory
validates every file as a :class:`~.record.TaskRecord` and reports each one that is not
a complete record instead of trusting or dropping it silently. No statistics here.
"""

from __future__ import annotations

import errno
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..atomic import atomic_write
from ..redact import redact
from .record import RECORD_SCHEMA, TaskRecord

__all__ = ["RECORD_SCHEMA", "ResultsWriteError", "atomic_write", "read_records", "write_record"]

RECORDS_DIR = "tasks"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def record_filename(item_id: str) -> str:
    return _SAFE.sub("_", item_id) + ".json"


class ResultsWriteError(Exception):
    """The results directory took no more (full, read-only, over quota): the run must stop."""


def write_failure(results_dir: Path, what: str, exc: OSError) -> ResultsWriteError:
    """The error that names the directory, the cause and what was not written."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    cause = "is full" if full else "cannot be written"
    return ResultsWriteError(
        f"results directory {results_dir} {cause} ({exc.strerror or exc}): {what} was not written; "
        f"every record written before is complete. Free space, then run again with --isobench-resume={results_dir}"
    )


def write_record(results_dir: Path, record: TaskRecord | dict[str, Any]) -> Path:
    """Write one task's record (secrets masked); returns its path. ``ResultsWriteError`` when the disk refuses."""
    if not isinstance(record, TaskRecord):
        record = TaskRecord.from_json(record)
    data = redact(record.to_json())
    path = results_dir / RECORDS_DIR / record_filename(record.item_id)
    try:
        atomic_write(path, json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")
    except OSError as exc:
        raise write_failure(results_dir, f"the record of {record.item_id}", exc) from exc
    return path


@dataclass
class Loaded:
    records: list[TaskRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    return f"{where}: {first['msg']}"


def read_records(results_dir: Path) -> Loaded:
    """Every complete record under ``results_dir``; problems named file by file."""
    loaded = Loaded()
    folder = results_dir / RECORDS_DIR
    if not results_dir.is_dir():
        loaded.problems.append(f"{results_dir}: not a directory")
        return loaded
    if not folder.is_dir():
        loaded.problems.append(f"{results_dir}: no {RECORDS_DIR}/ folder of task records")
        return loaded
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            loaded.problems.append(f"{path}: corrupt record ({exc})")
            continue
        if not isinstance(data, dict) or data.get("schema") != RECORD_SCHEMA:
            loaded.problems.append(f"{path}: incomplete record (no schema {RECORD_SCHEMA!r})")
            continue
        try:
            loaded.records.append(TaskRecord.from_json(data, path=str(path)))
        except ValidationError as exc:
            loaded.problems.append(f"{path}: incomplete record ({_problem(exc)})")
    return loaded
