"""The published agents side by side: ISO-Bench's own runs, read by ``isobench import``.

One row per (repository, agent, model): how many tasks it attempted, how many produced a
non-empty patch, what ISO-Bench's harness said of them (agent status, its evaluation
status), and the soft metrics of their patches against the human diffs (file overlap,
line precision and recall, the LLM judge when configured). Nothing here is a timing of
ours, and the table says so. When an agent ran a task more than once, the latest run
that produced a non-empty patch counts (else the latest run), so a partial re-run does
not hide an earlier patch.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .soft import Judge, patch_metrics

__all__ = ["AgentRow", "has_published", "published_lines", "published_rows", "read_published"]

_PUBLISHED_DIR = "published"
_SCHEMA = "isobench.published/1"


def has_published(directory: Path) -> bool:
    return (directory / _PUBLISHED_DIR).is_dir()


def read_published(dirs: list[Path]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every published record under ``<dir>/published/``; problems named file by file."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for directory in dirs:
        for path in sorted((directory / _PUBLISHED_DIR).rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                problems.append(f"{path}: corrupt published record ({exc})")
                continue
            if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
                problems.append(f"{path}: not a published record (schema {_SCHEMA!r} expected)")
                continue
            records.append(data)
    return records, problems


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class AgentRow:
    repo: str
    agent: str
    model: str
    runs: int = 0
    tasks: int = 0
    with_patch: int = 0
    agent_success: int = 0
    evaluation: dict[str, int] = field(default_factory=dict)
    scored: int = 0  # tasks with a patch and a human diff to compare with
    line_precision: float | None = None
    line_recall: float | None = None
    files_jaccard: float | None = None
    judged: int = 0
    same_bottleneck: float | None = None
    artefacts_removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _latest_per_task(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: str(r.get("run"))):
        task = str(record.get("human_commit") or f"{record.get('run')}/{record.get('item')}")
        held = best.get(task)
        if held is None or bool(record.get("patch")) or not held.get("patch"):
            best[task] = record
    return list(best.values())


def published_rows(records: list[dict[str, Any]], judge: Judge | None = None) -> list[AgentRow]:
    """One row per (repo, agent, model), soft metrics computed from the records' patches."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for record in records:
        key = (str(record.get("repo")), str(record.get("agent")), str(record.get("model")))
        groups.setdefault(key, []).append(record)
    rows: list[AgentRow] = []
    for (repo, agent, model), members in sorted(groups.items()):
        row = AgentRow(repo=repo, agent=agent, model=model, runs=len({str(r.get("run")) for r in members}))
        chosen = _latest_per_task(members)
        row.tasks = len(chosen)
        precision: list[float] = []
        recall: list[float] = []
        jaccard: list[float] = []
        bottleneck: list[float] = []
        statuses: Counter[str] = Counter()
        for record in chosen:
            row.with_patch += bool(record.get("patch"))
            row.agent_success += record.get("agent_status") == "success"
            row.artefacts_removed += bool(record.get("patch_removed"))
            evaluation = record.get("evaluation")
            statuses[str(evaluation.get("status")) if isinstance(evaluation, dict) else "not evaluated"] += 1
            if not record.get("patch") or not record.get("human_patch"):
                continue
            soft = patch_metrics(str(record.get("item_id", "?")), record.get("patch"), record.get("human_patch"), judge)
            row.scored += 1
            if soft.line_precision is not None:
                precision.append(soft.line_precision)
            if soft.line_recall is not None:
                recall.append(soft.line_recall)
            if soft.files_jaccard is not None:
                jaccard.append(soft.files_jaccard)
            if soft.judgement is not None:
                row.judged += 1
                bottleneck.append(1.0 if soft.judgement.get("bottleneck") == "same" else 0.0)
        row.evaluation = dict(sorted(statuses.items()))
        row.line_precision, row.line_recall, row.files_jaccard = _mean(precision), _mean(recall), _mean(jaccard)
        row.same_bottleneck = _mean(bottleneck)
        rows.append(row)
    return rows


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


PUBLISHED_HEADER = (
    "repo",
    "agent",
    "model",
    "runs",
    "tasks",
    "non-empty patch",
    "agent ok",
    "scored",
    "line precision",
    "line recall",
    "files Jaccard",
    "judge: same bottleneck",
    "ISO-Bench evaluation",
)


def published_cells(row: AgentRow) -> list[str]:
    return [
        row.repo,
        row.agent,
        row.model,
        str(row.runs),
        str(row.tasks),
        str(row.with_patch),
        str(row.agent_success),
        str(row.scored),
        _pct(row.line_precision),
        _pct(row.line_recall),
        _pct(row.files_jaccard),
        _pct(row.same_bottleneck) if row.judged else "-",
        ", ".join(f"{k} {v}" for k, v in row.evaluation.items()),
    ]


PUBLISHED_NOTE = (
    "Published ISO-Bench runs, as ISO-Bench recorded them (not measured here). Soft metrics compare each "
    "agent patch with the human diff (latest run with a patch per task); 'scored' = tasks with both."
)


def published_lines(rows: list[AgentRow]) -> list[str]:
    """The terminal table."""
    cells = [list(PUBLISHED_HEADER)] + [published_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(PUBLISHED_HEADER))]
    lines = ["published agents (ISO-Bench runs, not measured here)"]
    for c in cells:
        lines.append("  ".join(text.ljust(w) for text, w in zip(c, widths, strict=True)).rstrip())
    return lines
