"""Where ``isobench import`` keeps what it read of ISO-Bench's three-way folders and summaries.

Three JSON Lines files under ``<out>/published/`` (beside the two-way published records,
which are ``.json`` files): ``threeway.jsonl`` (one :class:`ThreeWayRecord` a line),
``unreadable.jsonl`` (each file that could not be read, and why) and ``claims.jsonl``
(the headline figures found). ``isobench report`` reads them back; nothing here computes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from ..dataset.jsonrows import json_lines
from .claims import Claim, find_claims
from .threeway import THREEWAY_SCHEMA, ThreeWayScan, scan_threeway

__all__ = ["StoredThreeWay", "import_threeway", "read_threeway", "write_threeway"]

RECORDS, UNREADABLE, CLAIMS = "threeway.jsonl", "unreadable.jsonl", "claims.jsonl"


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, sort_keys=True, default=str) + "\n" for row in rows)


def write_threeway(folder: Path, scan: ThreeWayScan, claims: list[Claim], problems: list[str]) -> None:
    """Write the scan, its unreadable files and the claims found under ``folder``."""
    atomic_write(folder / RECORDS, _lines([r.model_dump(by_alias=True) for r in scan.records]))
    atomic_write(folder / UNREADABLE, _lines([{"problem": p} for p in [*scan.unreadable, *problems]]))
    atomic_write(folder / CLAIMS, _lines([c.as_dict() for c in claims]))


@dataclass
class StoredThreeWay:
    records: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _rows(path: Path, into: StoredThreeWay) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows: list[dict[str, Any]] = []
    for line in json_lines(path):
        if line.error is not None:
            into.problems.append(f"{path}:{line.number}: corrupt line ({line.error})")
        elif isinstance(line.value, dict):
            rows.append(line.value)
    return rows


def read_threeway(folders: list[Path]) -> StoredThreeWay:
    """What ``write_threeway`` wrote under each of ``folders`` (``<dir>/published``)."""
    out = StoredThreeWay()
    for folder in folders:
        for row in _rows(folder / RECORDS, out):
            if row.get("schema") == THREEWAY_SCHEMA:
                out.records.append(row)
            else:
                out.problems.append(f"{folder / RECORDS}: a line without schema {THREEWAY_SCHEMA!r}")
        out.unreadable += [str(r.get("problem")) for r in _rows(folder / UNREADABLE, out)]
        out.claims += _rows(folder / CLAIMS, out)
    return out


EVAL_REPORT = "evaluation_report.json"


def import_threeway(paths: list[Path], folder: Path | None) -> tuple[ThreeWayScan, list[Claim], list[str]]:
    """Scan ``paths`` for three-way results, find the claims of their folders and of any
    ``evaluation_report.json`` under ``paths``; write them under ``folder`` when given and
    there is anything to write."""
    scan = scan_threeway(paths)
    reports = [p for p in paths if p.name == EVAL_REPORT] + [
        r for p in paths if p.is_dir() for r in sorted(p.rglob(EVAL_REPORT))
    ]
    claims, problems = find_claims({Path(r.folder) for r in scan.records}, reports)
    if folder is not None and (scan.records or claims or scan.unreadable):
        write_threeway(folder, scan, claims, problems)
    return scan, claims, problems
