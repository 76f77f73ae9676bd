"""Patches from predictions files: SWE-bench JSONL, our own exports, and ISO-Bench's
published ``prediction.jsonl`` files and run directories.

A prediction is matched to a task by, in order: our item id, the dataset's instance id,
the human commit (full sha or the hex suffix of an ISO-Bench item folder such as
``sglang_000_021f76e4``), then the baseline commit (ISO-Bench writes instance ids as host
paths ending in ``<repo>__repo-<base commit, 7 hex>``). A prefix that fits two tasks
matches neither (reported, never guessed). Harness artefacts inside a patch are removed
(:mod:`pytest_isobench.published.patches`) with a warning that goes into the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataset.jsonrows import json_rows
from ..published.patches import clean_patch
from ..published.runs import ITEM_FILES, base_from_instance_id, find_items

__all__ = ["Prediction", "PredictionTable", "load_predictions"]

_MIN_PREFIX = 7


@dataclass
class Prediction:
    """One patch and what identifies its task."""

    patch: str
    source: str
    ids: list[str] = field(default_factory=list)
    head: str | None = None
    base: str | None = None
    model: str | None = None
    warnings: list[str] = field(default_factory=list)
    missing: str | None = None  # why there is no patch (empty, no patch file)


def _prefix_match(short: str | None, full: str | None) -> bool:
    if not short or not full or len(short) < _MIN_PREFIX:
        return False
    n = min(len(short), len(full))
    return short[:n].lower() == full[:n].lower()


@dataclass
class PredictionTable:
    """Every prediction of a file or directory, matchable to tasks."""

    source: str
    rows: list[Prediction] = field(default_factory=list)

    def candidates(
        self, *, item_id: str, instance_id: str, head: str | None = None, base: str | None = None
    ) -> tuple[list[Prediction], str]:
        """Every prediction for one task at the first matching level, and the level's name
        (or why none matched). Several means several runs of the folder name the task."""
        for key, how in ((item_id, "item id"), (instance_id, "instance id")):
            found = [p for p in self.rows if key and key in p.ids]
            if found:
                return found, how
        for value, attr, how in ((head, "head", "human commit"), (base, "base", "base commit")):
            found = [p for p in self.rows if _prefix_match(getattr(p, attr), value)]
            if found:
                return found, how
        return [], f"no prediction for {item_id} ({instance_id}) in {self.source}"

    def match(
        self, *, item_id: str, instance_id: str, head: str | None = None, base: str | None = None
    ) -> tuple[Prediction | None, str]:
        """The prediction for one task and how it matched (or why none did).

        Predictions of several runs for one task (a folder of many runs): the last in path
        order, i.e. the latest run of the last agent folder. Two different prefixes
        matching one task is ambiguous: none is used.
        """
        found, how = self.candidates(item_id=item_id, instance_id=instance_id, head=head, base=base)
        if not found:
            return None, how
        if how in ("human commit", "base commit"):
            attr = "head" if how == "human commit" else "base"
            if len({getattr(p, attr) for p in found}) > 1:
                value = head if attr == "head" else base
                return None, f"{how} {value} matches {len(found)} different predictions in {self.source}"
        return found[-1], how

    def mapped(self, tasks: Iterable[tuple[str, str, str | None, str | None]]) -> tuple[int, list[str], int]:
        """How many predictions name a collected task, the sources of the others, and how
        many tasks are named by more than one prediction (several runs in one folder).

        ``tasks`` yields (item id, instance id, head, base) per collected task.
        """
        claimed: set[int] = set()
        several = 0
        for item_id, instance_id, head, base in tasks:
            found, _how = self.candidates(item_id=item_id, instance_id=instance_id, head=head, base=base)
            claimed.update(id(p) for p in found)
            several += len(found) > 1
        unmapped = [p.source for p in self.rows if id(p) not in claimed]
        return len(self.rows) - len(unmapped), unmapped, several


def _from_row(row: dict[str, Any], where: str) -> Prediction:
    raw = row.get("model_patch")
    patch = raw if isinstance(raw, str) else ""
    cleaned = clean_patch(patch)
    instance_id = str(row.get("instance_id") or "")
    ids = [i for i in (instance_id, str(row.get("item_id") or "")) if i]
    missing = None
    if raw is None:
        missing = f"{where}: model_patch is null"
    elif cleaned.empty:
        missing = f"{where}: empty patch" + (" (only harness artefacts)" if cleaned.removed else "")
    head = row.get("head_commit") or row.get("commit_hash")
    return Prediction(
        patch=cleaned.patch,
        source=where,
        ids=ids,
        head=str(head) if head else None,
        base=base_from_instance_id(instance_id) or (str(row["base_commit"]) if row.get("base_commit") else None),
        model=str(row["model_name_or_path"]) if row.get("model_name_or_path") else None,
        warnings=[cleaned.warning] if cleaned.warning else [],
        missing=missing,
    )


def _load_file(path: Path) -> list[Prediction]:
    rows: list[Prediction] = []
    for where, row in json_rows(path):
        if not isinstance(row, dict) or "instance_id" not in row or "model_patch" not in row:
            raise ValueError(f"{where}: expected instance_id and model_patch (a JSON object)")
        rows.append(_from_row(row, where))
    return rows


def _load_dir(path: Path) -> list[Prediction]:
    """ISO-Bench item folders (with their run summaries) and loose predictions files."""
    rows: list[Prediction] = []
    items, _problems = find_items([path])  # unreadable files are notes; what was read still counts
    for item in items:
        if item.patch is None:
            if (item.path / "prediction.jsonl").is_file() or (item.path / "model_patch.diff").is_file():
                missing = f"{item.path}: no patch in prediction.jsonl or model_patch.diff"
            else:
                continue  # a folder with only a summary: nothing was predicted there
            rows.append(Prediction(patch="", source=str(item.path), missing=missing))
            continue
        cleaned = clean_patch(item.patch)
        rows.append(
            Prediction(
                patch=cleaned.patch,
                source=str(item.path / (item.patch_source or "")),
                ids=[i for i in (item.instance_id,) if i],
                head=item.head_prefix,
                base=item.base_prefix,
                model=item.model_full or item.model,
                warnings=[cleaned.warning] if cleaned.warning else [],
                missing=f"{item.path}: empty patch" if cleaned.empty else None,
            )
        )
    for file in sorted(path.rglob("*.jsonl")) + sorted(path.rglob("*.json")):
        if file.name in ITEM_FILES or file.name == "test_results.json" or (file.parent / "run_summary.json").exists():
            continue
        if file.suffix == ".jsonl" or file.parent.name == "predictions":
            rows.extend(_load_file(file))
    return rows


def load_predictions(path: Path) -> PredictionTable:
    """A predictions file (JSONL or JSON) or a directory of ISO-Bench runs / predictions files.

    Errors name the file and line; a directory without any prediction is an error too.
    """
    if path.is_dir():
        table = PredictionTable(str(path), _load_dir(path))
        if not table.rows:
            raise ValueError(f"{path}: no predictions found (expected prediction.jsonl files or *.jsonl)")
        return table
    if not path.is_file():
        raise ValueError(f"{path}: no such predictions file or directory")
    return PredictionTable(str(path), _load_file(path))
