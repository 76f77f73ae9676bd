"""Result records on disk: one JSON file per task, written atomically as it finishes.

A record is written to a temporary file in the same directory, flushed, fsynced and then
renamed over its final name, so a crash never leaves half a record. Reading a directory
reports every file that is not a complete record instead of trusting or dropping it
silently. No statistics are computed here.
"""

from __future__ import annotations

import errno
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..redact import redact

__all__ = ["ResultsWriteError", "atomic_write", "read_records", "write_record"]

RECORD_SCHEMA = "isobench.record/1"
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


def write_record(results_dir: Path, record: dict[str, Any]) -> Path:
    """Write one task's record; returns its path. ``ResultsWriteError`` when the disk refuses."""
    record = redact({"schema": RECORD_SCHEMA, **record})
    path = results_dir / RECORDS_DIR / record_filename(str(record["item_id"]))
    try:
        atomic_write(path, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    except OSError as exc:
        raise write_failure(results_dir, f"the record of {record['item_id']}", exc) from exc
    return path


def is_complete(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and record.get("schema") == RECORD_SCHEMA
        and isinstance(record.get("item_id"), str)
        and record.get("status") in ("passed", "failed", "skipped", "error")
        and isinstance(record.get("verdict"), dict | type(None))
    )


@dataclass
class Loaded:
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


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
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            loaded.problems.append(f"{path}: corrupt record ({exc})")
            continue
        if not is_complete(record):
            loaded.problems.append(f"{path}: incomplete record (missing schema, item_id, status or verdict)")
            continue
        record["_path"] = str(path)
        loaded.records.append(record)
    return loaded
