"""``isobench import``: ISO-Bench run directories into our world.

For every published item it writes one prediction (grouped in one predictions file per
(repo, agent, model, run), the SWE-bench shape that ``--isobench-agent=predictions``
reads) and one *published record*: what ISO-Bench observed (agent status, patch stats,
its own evaluation status), the cleaned patch and, when a dataset with diffs is given,
the human diff for soft metrics. A published record is never a timing of ours: it has
its own schema and folder (``published/``) and the report shows it in its own table.
It can also write the task facts (human commit, parent, repository) of the runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..atomic import atomic_write
from ..dataset.jsonrows import json_rows
from ..redact import redact
from .patches import clean_patch
from .runs import PublishedItem, normalise_repo

__all__ = [
    "PUBLISHED_DIR",
    "PUBLISHED_SCHEMA",
    "ImportSummary",
    "PublishedRecord",
    "human_diffs",
    "import_items",
    "task_facts",
]

PUBLISHED_SCHEMA = "isobench.published/1"
PUBLISHED_DIR = "published"
PREDICTIONS_DIR = "predictions"
REPO_URLS = {
    "vllm": "https://github.com/vllm-project/vllm.git",
    "sglang": "https://github.com/sgl-project/sglang.git",
}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class PublishedRecord(BaseModel):
    """One published item as ISO-Bench observed it (no timings of ours)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: Literal["isobench.published/1"] = Field(default="isobench.published/1", alias="schema")
    source: str = "ISO-Bench"
    repo: str
    agent: str
    model: str
    run: str
    item: str
    item_id: str | None = Field(default=None, description="ours: <repo>-<first 8 hex of the human commit>")
    human_commit: str | None = None
    base_commit: str | None = None
    model_full: str | None = None
    agent_status: str | None = None
    patch_generated: bool | None = None
    patch_stats: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = Field(
        default=None, description="ISO-Bench's own evaluation of the item, as it recorded it"
    )
    summary_evaluation: dict[str, Any] | None = Field(
        default=None, description="run_summary.json's evaluation block, as ISO-Bench's aggregation reads it"
    )
    summary_group: str | None = None
    patch: str = ""
    patch_source: str | None = None
    patch_removed: list[str] = Field(default_factory=list)
    patch_missing: str | None = None
    human_patch: str | None = None
    path: str = ""

    @property
    def group(self) -> str:
        return f"{self.repo}/{self.agent}/{self.model}"


@dataclass
class ImportSummary:
    items: int = 0
    runs: int = 0
    with_patch: int = 0
    artefacts_removed: int = 0
    without_commits: int = 0
    with_human_diff: int = 0
    predictions_files: list[Path] = field(default_factory=list)
    records_dir: Path | None = None


def _record(item: PublishedItem, diffs: dict[str, str]) -> PublishedRecord:
    repo = normalise_repo(item.repo)
    cleaned = clean_patch(item.patch or "")
    missing = None
    if item.patch is None:
        missing = "no prediction.jsonl or model_patch.diff"
    elif cleaned.empty:
        missing = "empty patch" + (" (only harness artefacts)" if cleaned.removed else "")
    human = item.human_commit
    return PublishedRecord(
        repo=repo,
        agent=item.agent,
        model=item.model,
        run=item.run,
        item=item.item,
        item_id=f"{repo}-{human[:8]}" if human else None,
        human_commit=human,
        base_commit=item.base_commit,
        model_full=item.model_full,
        agent_status=item.agent_status,
        patch_generated=item.patch_generated,
        patch_stats=item.patch_stats,
        evaluation=item.evaluation,
        summary_evaluation=item.summary_evaluation,
        summary_group=item.summary_group,
        patch=cleaned.patch,
        patch_source=item.patch_source,
        patch_removed=cleaned.removed,
        patch_missing=missing,
        human_patch=diffs.get(human) if human else None,
        path=str(item.path),
    )


def _write_json(path: Path, data: Any) -> None:
    atomic_write(path, json.dumps(redact(data), indent=1, sort_keys=True, default=str) + "\n")


def import_items(items: Iterable[PublishedItem], out: Path, diffs: dict[str, str] | None = None) -> ImportSummary:
    """Write predictions files and published records for ``items`` under ``out``."""
    diffs = diffs or {}
    summary = ImportSummary(records_dir=out / PUBLISHED_DIR)
    runs: dict[tuple[str, str, str, str], list[PublishedRecord]] = {}
    for item in items:
        record = _record(item, diffs)
        summary.items += 1
        summary.with_patch += bool(record.patch)
        summary.artefacts_removed += bool(record.patch_removed)
        summary.without_commits += record.human_commit is None
        summary.with_human_diff += record.human_patch is not None
        runs.setdefault((record.repo, record.agent, record.model, record.run), []).append(record)
        folder = out / PUBLISHED_DIR / record.repo / record.agent / record.model / record.run
        _write_json(folder / f"{_SAFE.sub('_', record.item)}.json", record.model_dump(by_alias=True))
    for (repo, agent, model, run), records in sorted(runs.items()):
        rows = [
            {
                "instance_id": r.human_commit or r.item,
                "item_id": r.item_id,
                "model_patch": r.patch,
                "model_name_or_path": r.model_full or r.model,
                "base_commit": r.base_commit,
                "isobench_item": r.item,
            }
            for r in sorted(records, key=lambda r: r.item)
        ]
        path = out / PREDICTIONS_DIR / _SAFE.sub("_", f"{repo}__{agent}__{model}__{run}.jsonl")
        atomic_write(path, "".join(json.dumps(redact(row), sort_keys=True) + "\n" for row in rows))
        summary.predictions_files.append(path)
    summary.runs = len(runs)
    return summary


def task_facts(items: Iterable[PublishedItem]) -> list[dict[str, Any]]:
    """One commit-level record per distinct human commit: facts only (no diffs, no patches).

    Sorted by ISO-Bench's item folder name, so the file is stable; a commit whose runs
    disagree on the parent keeps the first and notes the other.
    """
    facts: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: (i.item, i.run)):
        human = item.human_commit
        if not human:
            continue
        repo = normalise_repo(item.repo)
        entry = facts.setdefault(
            human,
            {
                "commit_hash": human,
                "parent_commit": item.base_commit,
                "repo": REPO_URLS.get(repo, repo),
                "isobench_items": [],
            },
        )
        if item.base_commit and entry["parent_commit"] and item.base_commit != entry["parent_commit"]:
            entry.setdefault("other_parents", [])
            if item.base_commit not in entry["other_parents"]:
                entry["other_parents"].append(item.base_commit)
        if item.item not in entry["isobench_items"]:
            entry["isobench_items"].append(item.item)
    return sorted(facts.values(), key=lambda f: (min(f["isobench_items"]), f["commit_hash"]))


_HEAD_KEYS = ("commit_hash", "head_commit", "opt_commit")
_DIFF_KEYS = ("diff_text", "gt_diff", "patch")


def human_diffs(path: Path) -> dict[str, str]:
    """Human commit -> its diff, from a dataset file that carries diffs (JSONL or JSON)."""
    out: dict[str, str] = {}
    for _where, row in json_rows(path):
        if not isinstance(row, dict):
            continue
        head = next((row[k] for k in _HEAD_KEYS if isinstance(row.get(k), str)), None)
        diff = next((row[k] for k in _DIFF_KEYS if isinstance(row.get(k), str) and row[k].strip()), None)
        if head and diff:
            out[head] = diff
    return out
