"""Merge result directories (CI shards, several runs): the same task twice is flagged.

Records are keyed by (suite, item id, agent, model, settings); a key seen twice is listed
in ``duplicates`` and counted once (the later-finished record wins). Records with other
settings are kept apart under their own key, never averaged together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .record import TaskRecord
from .store import read_records


@dataclass
class Merged:
    records: list[TaskRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def record_key(record: TaskRecord) -> str:
    return json.dumps(
        [record.suite, record.item_id, record.agent, record.model, record.settings], sort_keys=True, default=str
    )


def merge_dirs(dirs: list[Path]) -> Merged:
    merged = Merged()
    by_key: dict[str, TaskRecord] = {}
    for directory in dirs:
        loaded = read_records(directory)
        merged.problems.extend(loaded.problems)
        for record in loaded.records:
            key = record_key(record)
            if key in by_key:
                merged.duplicates.append(f"{record.item_id}: {by_key[key].path} and {record.path}")
            by_key[key] = record
    merged.records = sorted(by_key.values(), key=lambda r: (str(r.suite), r.item_id))
    return merged
