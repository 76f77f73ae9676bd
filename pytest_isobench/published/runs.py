"""Read ISO-Bench's published run directories, item by item.

ISO-Bench writes one folder per task and run:
``state/runs/<repo>/<agent>/<model>/<timestamp>/<item>/`` with ``run_summary.json``
(commits ``human`` and ``pre``, agent status, patch stats), ``journal.json``,
``model_patch.diff`` and ``prediction.jsonl`` (SWE-bench style; its ``instance_id`` is a
host path ending in ``<repo>__repo-<base commit, 7 hex>``). Its evaluation writes
``test_results.json`` under ``analysis/eval_results*/<repo>/<agent>/<model>/<timestamp>/<item>/``.
Any of these may be missing; what is there is read, what is not is ``None``, and a file
that is not valid JSON is an error naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataset.jsonrows import json_lines

__all__ = ["ITEM_FILES", "PublishedError", "PublishedItem", "find_items", "normalise_repo"]

ITEM_FILES = ("run_summary.json", "journal.json", "prediction.jsonl", "model_patch.diff")
EVAL_FILE = "test_results.json"
# ISO-Bench's own spelling of a repository in some run folders (``sglan``).
_REPO_ALIASES = {"sglan": "sglang"}
_HEX = re.compile(r"^[0-9a-f]{7,40}$")
_PATH_BASE = re.compile(r"__repo-([0-9a-f]{7,40})$")
_ITEM_HEAD = re.compile(r"_([0-9a-f]{8,40})$")


class PublishedError(ValueError):
    """A published file that cannot be read; the message names it."""


def normalise_repo(name: str) -> str:
    """``sglan`` (a folder name in ISO-Bench's runs) is ``sglang``; others unchanged."""
    return _REPO_ALIASES.get(name, name)


@dataclass
class PublishedItem:
    """One task of one published run, as ISO-Bench recorded it."""

    path: Path
    repo: str
    agent: str
    model: str
    run: str
    item: str
    human_commit: str | None = None
    base_commit: str | None = None
    agent_status: str | None = None
    patch_generated: bool | None = None
    patch_stats: dict[str, Any] | None = None
    model_full: str | None = None
    instance_id: str | None = None
    patch: str | None = None
    patch_source: str | None = None
    evaluation: dict[str, Any] | None = None
    # run_summary.json's own ``evaluation`` block ({} when it has none) and its
    # ``meta.agent/meta.model``: what ISO-Bench's aggregation counts and groups by
    summary_evaluation: dict[str, Any] | None = None
    summary_group: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        """ISO-Bench's run id: ``<repo>/<agent>/<model>/<timestamp>`` (repo as in the folder)."""
        return f"{self.repo}/{self.agent}/{self.model}/{self.run}"

    @property
    def head_prefix(self) -> str | None:
        """The human commit, or the hex suffix of the item folder (``sglang_000_021f76e4``)."""
        if self.human_commit:
            return self.human_commit
        match = _ITEM_HEAD.search(self.item)
        return match.group(1) if match else None

    @property
    def base_prefix(self) -> str | None:
        """The baseline commit, or the short sha a path-shaped instance id ends with."""
        if self.base_commit:
            return self.base_commit
        return base_from_instance_id(self.instance_id or "")


def base_from_instance_id(instance_id: str) -> str | None:
    """``/home/u/OmniPerf-Bench/vllm__repo-fbefc8a`` -> ``fbefc8a``; None for other ids."""
    match = _PATH_BASE.search(instance_id.rstrip("/"))
    return match.group(1) if match else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PublishedError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except OSError as exc:
        raise PublishedError(f"{path}: cannot read ({exc.strerror})") from None


def _first_prediction(path: Path) -> dict[str, Any] | None:
    for line in json_lines(path):
        if line.error is not None:
            raise PublishedError(f"{path}:{line.number}: not valid JSON ({line.error})")
        if not isinstance(line.value, dict):
            raise PublishedError(f"{path}:{line.number}: expected a JSON object with instance_id and model_patch")
        return line.value
    return None


def _layout(folder: Path) -> tuple[str, str, str, str]:
    """(repo, agent, model, timestamp) from ``.../<repo>/<agent>/<model>/<timestamp>/<item>``."""
    parts = folder.parts
    if "runs" in parts:
        i = len(parts) - 1 - parts[::-1].index("runs")
        tail = parts[i + 1 : -1]
        if len(tail) == 4:
            return tail[0], tail[1], tail[2], tail[3]
    tail = parts[-5:-1]
    if len(tail) == 4:
        return tail[0], tail[1], tail[2], tail[3]
    return "?", "?", "?", "?"


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def read_item(folder: Path) -> PublishedItem:
    """Everything ISO-Bench left in one item folder; a file that cannot be read becomes a
    note on the item (the rest of the folder is still read)."""
    repo, agent, model, run = _layout(folder)
    item = PublishedItem(path=folder, repo=repo, agent=agent, model=model, run=run, item=folder.name)
    for reader in (_read_summary, _read_journal, _read_prediction):
        try:
            reader(folder, item)
        except PublishedError as exc:
            item.notes.append(str(exc))
    patch_path = folder / "model_patch.diff"
    if item.patch is None and patch_path.is_file():
        item.patch, item.patch_source = patch_path.read_text(encoding="utf-8", errors="replace"), "model_patch.diff"
    for commit in (item.human_commit, item.base_commit):
        if commit is not None and not _HEX.match(commit):
            item.notes.append(f"{folder}: commit {commit!r} is not a hex sha")
    return item


def _read_summary(folder: Path, item: PublishedItem) -> None:
    summary_path = folder / "run_summary.json"
    if summary_path.is_file():
        summary = _read_json(summary_path)
        if not isinstance(summary, dict):
            raise PublishedError(f"{summary_path}: expected a JSON object")
        meta, commits, agent_part = _obj(summary, "meta"), _obj(summary, "commits"), _obj(summary, "agent")
        if item.repo == "?":
            item.repo = str(meta.get("repo") or "?")
            item.agent = str(meta.get("agent") or "?")
            item.model = str(meta.get("model") or "?")
            item.run = str(meta.get("timestamp") or "?")
        item.model_full = _str(meta.get("model_full"))
        evaluation = summary.get("evaluation")
        item.summary_evaluation = dict(evaluation) if isinstance(evaluation, dict) else {}
        item.summary_group = f"{meta.get('agent', 'unknown')}/{meta.get('model', 'unknown')}"
        item.human_commit = _str(commits.get("human"))
        item.base_commit = _str(commits.get("pre"))
        item.agent_status = _str(agent_part.get("status"))
        generated = agent_part.get("patch_generated")
        item.patch_generated = generated if isinstance(generated, bool) else None
        stats = agent_part.get("patch_stats")
        item.patch_stats = dict(stats) if isinstance(stats, dict) else None


def _read_journal(folder: Path, item: PublishedItem) -> None:
    journal_path = folder / "journal.json"
    if journal_path.is_file() and (item.human_commit is None or item.agent_status is None):
        journal = _read_json(journal_path)
        if isinstance(journal, dict):
            commits = _obj(journal, "commits")
            item.human_commit = item.human_commit or _str(commits.get("human"))
            item.base_commit = item.base_commit or _str(commits.get("pre"))
            item.agent_status = item.agent_status or _str(journal.get("status"))


def _read_prediction(folder: Path, item: PublishedItem) -> None:
    prediction_path = folder / "prediction.jsonl"
    if prediction_path.is_file():
        row = _first_prediction(prediction_path)
        if row is not None:
            item.instance_id = _str(row.get("instance_id"))
            patch = row.get("model_patch")
            if isinstance(patch, str):
                item.patch, item.patch_source = patch, "prediction.jsonl"
            item.model_full = item.model_full or _str(row.get("model_name_or_path"))


def _walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file())
        else:
            raise PublishedError(f"{path}: no such file or directory")


def find_items(paths: Iterable[Path]) -> tuple[list[PublishedItem], list[str]]:
    """Every item folder under ``paths`` (run trees, run folders, item folders or files in
    them), with ISO-Bench's evaluation results attached where they were given too; and the
    problems met (unreadable files), each naming its file. A missing path raises."""
    folders: dict[Path, None] = {}
    evaluations: dict[tuple[str, str], dict[str, Any]] = {}
    problems: list[str] = []
    for file in _walk(paths):
        if file.name in ITEM_FILES:
            folders.setdefault(file.parent, None)
        elif file.name == EVAL_FILE:
            try:
                data = _read_json(file)
            except PublishedError as exc:
                problems.append(str(exc))
                continue
            meta = data.get("metadata") if isinstance(data, dict) else None
            result = data.get("result") if isinstance(data, dict) else None
            if isinstance(meta, dict) and isinstance(result, dict):
                key = (str(meta.get("run_id")), str(meta.get("item_id")))
                evaluations[key] = {
                    "status": result.get("status"),
                    "error_message": result.get("error_message"),
                    "baseline_ms": result.get("baseline_ms"),
                    "patched_ms": result.get("patched_ms"),
                    "speedup": result.get("speedup"),
                    "source": str(file),
                }
    # ISO-Bench's evaluation folders hold a copy of run_summary.json: one item per (run, item),
    # the run folder's reading first, gaps filled from the copies.
    merged: dict[tuple[str, str], PublishedItem] = {}
    for folder in sorted(folders, key=lambda f: (f / EVAL_FILE).exists()):
        item = read_item(folder)
        held = merged.setdefault((item.run_id, item.item), item)
        if held is not item:
            _fill(held, item)
    items = list(merged.values())
    for item in items:
        item.evaluation = evaluations.get((item.run_id, item.item))
    _complete_short_commits(items)
    for item in items:
        problems.extend(item.notes)
    return items, problems


def _fill(held: PublishedItem, other: PublishedItem) -> None:
    """Fill ``held``'s missing fields from another reading of the same item."""
    for name in (
        "human_commit",
        "base_commit",
        "agent_status",
        "patch_generated",
        "patch_stats",
        "model_full",
        "instance_id",
        "patch",
        "patch_source",
        "summary_evaluation",
        "summary_group",
    ):
        if getattr(held, name) is None and getattr(other, name) is not None:
            setattr(held, name, getattr(other, name))
    if other.summary_evaluation and not held.summary_evaluation:
        # the evaluation folder's copy of run_summary.json is the one that was evaluated
        held.summary_evaluation, held.summary_group = other.summary_evaluation, other.summary_group
    held.notes.extend(n for n in other.notes if n not in held.notes)


def _complete_short_commits(items: list[PublishedItem]) -> None:
    """Some runs record the human commit as 8 hex digits: complete it from the other
    items when exactly one full sha starts with it (else leave it, with a note)."""
    full = {i.human_commit for i in items if i.human_commit and len(i.human_commit) == 40}
    for item in items:
        short = item.human_commit
        if not short or len(short) == 40:
            continue
        matches = [f for f in full if f.startswith(short)]
        if len(matches) == 1:
            item.human_commit = matches[0]
        else:
            item.notes.append(f"{item.path}: human commit {short} is short and matches {len(matches)} full shas")
