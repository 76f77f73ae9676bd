"""The report's view of ISO-Bench's published figures: the three-way table, ISO-Bench's
two-way aggregation recomputed, and "published vs files".

Everything here is ISO-Bench's: single measurements, its +-5% categories (named as its,
``beats``/``matches``/``loses``/``failed``, never our verdicts) and its aggregation's
counters. A headline figure is set beside the same figure recomputed from the files of
the folder it speaks of, from the folder's main shape (the non-export shape with the most
commits: ``results/modal`` for Claude Code, the flat per-run files for the others); the
two-way counters are recomputed with :func:`..published.aggregate.aggregate`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..published.aggregate import IsobenchAggregate, aggregate
from ..published.threeway_store import StoredThreeWay

__all__ = [
    "FolderFigures",
    "ThreeWayRow",
    "aggregate_lines",
    "claim_rows",
    "claims_lines",
    "folder_figures",
    "published_sections",
    "threeway_lines",
    "threeway_rows",
]


@dataclass
class ThreeWayRow:
    repo: str
    agent: str
    model: str
    run: str
    shape: str
    folder: str = ""
    tasks: int = 0
    agent_measured: int = 0
    comparable: int = 0
    beats: int = 0
    matches: int = 0
    loses: int = 0
    failed: int = 0
    three_way: int = 0
    unreadable: int = 0
    causes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shape_dir(folder: str, shape: str) -> str:
    kind, _, where = shape.partition(":")
    return str(Path(folder) / "exports" / where) if kind == "export" else str(Path(folder) / where)


def threeway_rows(records: list[dict[str, Any]], unreadable: list[str]) -> list[ThreeWayRow]:
    """One row per (folder, shape): commits, ISO-Bench's categories, failure causes."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((str(record["folder"]), str(record["shape"])), []).append(record)
    rows: list[ThreeWayRow] = []
    for (folder, shape), members in sorted(groups.items()):
        first = members[0]
        names = (str(first["repo"]), str(first["agent"]), str(first["model"]), str(first["run"]))
        row = ThreeWayRow(*names, shape, folder)
        row.tasks = len({str(r["commit"]) for r in members})
        categories = Counter(r.get("isobench_category") for r in members)
        row.beats, row.matches = categories["beats"], categories["matches"]
        row.loses, row.failed = categories["loses"], categories["failed"]
        row.comparable = row.beats + row.matches + row.loses + row.failed
        row.agent_measured = sum(bool((r.get("metrics") or {}).get("agent")) for r in members)
        row.three_way = sum(
            len(r.get("metrics") or {}) == 3 and r.get("isobench_category") in ("beats", "matches", "loses")
            for r in members
        )
        causes = Counter(f"{r['failure_kind']}: {r['failure_reason']}" for r in members if r.get("failure_kind"))
        row.causes = dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])))
        where = _shape_dir(folder, shape)
        row.unreadable = sum(u.startswith(where + "/") or u.startswith(where + ":") for u in unreadable)
        rows.append(row)
    return rows


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


@dataclass
class FolderFigures:
    """The figures a folder's headline claims state, recomputed from its main shape."""

    shape: str
    values: dict[str, float | None]


def folder_figures(records: list[dict[str, Any]], unreadable: list[str]) -> dict[str, FolderFigures]:
    by_folder: dict[str, list[ThreeWayRow]] = {}
    for row in threeway_rows(records, unreadable):
        by_folder.setdefault(row.folder, []).append(row)
    figures: dict[str, FolderFigures] = {}
    for folder, rows in by_folder.items():
        own = [r for r in rows if not r.shape.startswith("export:")] or rows
        main = max(own, key=lambda r: (r.tasks, r.shape))
        figures[folder] = FolderFigures(
            main.shape,
            {
                "commits": main.tasks,
                "agent_success": main.agent_measured,
                "comparable": main.comparable,
                "beats": main.beats,
                "matches": main.matches,
                "loses": main.loses,
                "failed": main.failed,
                "three_way": main.three_way,
                "matches_or_beats_pct": _pct(main.beats + main.matches, main.comparable),
                "failed_pct": _pct(main.failed, main.comparable),
            },
        )
    return figures


def _cause_text(causes: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in causes.items())


THREEWAY_HEADER = (
    "repo",
    "agent",
    "model",
    "folder",
    "shape",
    "tasks",
    "agent measured",
    "comparable",
    "beats",
    "matches",
    "loses",
    "failed",
    "unreadable",
    "failure causes",
)
THREEWAY_NOTE = (
    "ISO-Bench three-way results as published: one measurement per variant, no interval. "
    "beats/matches/loses/failed are ISO-Bench's own rule (primary metric: tpot_mean, else throughput; "
    "agent within +-5% of the human = matches), not our verdicts. comparable = the human measured and the "
    "agent measured or failed by its own doing; infrastructure and reference (baseline/human) failures are "
    "not the agent's and not comparable, nor is a commit without an agent result file (missing)."
)


def threeway_cells(row: ThreeWayRow) -> list[str]:
    return [
        row.repo,
        row.agent,
        row.model,
        row.run,
        row.shape,
        *(str(v) for v in (row.tasks, row.agent_measured, row.comparable, row.beats, row.matches, row.loses)),
        str(row.failed),
        str(row.unreadable),
        _cause_text(row.causes),
    ]


def _table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> list[str]:
    cells = [list(header), *rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    return ["  ".join(t.ljust(w) for t, w in zip(c, widths, strict=True)).rstrip() for c in cells]


def threeway_lines(rows: list[ThreeWayRow]) -> list[str]:
    title = "published three-way results (ISO-Bench's measurements and rule, not ours)"
    return [title, *_table(THREEWAY_HEADER, [threeway_cells(r) for r in rows])]


AGGREGATE_HEADER = (
    "agent/model",
    "runs",
    "tests run",
    "passed",
    "mean speedup",
    "improvements",
    "regressions",
    "no patch",
    "errors",
)


def _speed(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}x"


def aggregate_lines(rows: list[IsobenchAggregate]) -> list[str]:
    cells = [
        [
            r.key,
            str(r.total_commits),
            str(r.tests_run),
            str(r.tests_passed),
            _speed(r.avg_speedup),
            str(r.commits_with_improvement),
            str(r.commits_with_regression),
            str(r.no_patch),
            str(r.errors),
        ]
        for r in rows
    ]
    title = "published two-way evaluations (ISO-Bench's aggregation, src/eval/aggregate_results.py, at +-5%)"
    return [title, *_table(AGGREGATE_HEADER, cells)]


def _shown(value: float | None, percent: bool) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{value:.0f}%"
    return f"{value:.4f}" if value != int(value) else str(int(value))


def claim_rows(
    claims: list[dict[str, Any]],
    figures: dict[str, FolderFigures],
    aggregates: list[IsobenchAggregate],
) -> list[dict[str, Any]]:
    """Each claim beside the recomputed figure (None where the files give none)."""
    by_key = {a.key: a.as_dict() for a in aggregates}
    rows: list[dict[str, Any]] = []
    for claim in claims:
        target, key = str(claim["target"]), str(claim["key"])
        if target in by_key:
            value = by_key[target].get(key)
            where = f"{target} (two-way aggregation)"
        else:
            found = figures.get(target)
            value = found.values.get(key) if found else None
            where = f"{Path(target).name} ({found.shape})" if found else f"{Path(target).name} (not imported)"
        recomputed = float(value) if isinstance(value, int | float) else None
        agree = recomputed is not None and abs(recomputed - float(claim["value"])) < (
            0.5 if claim["percent"] else 1e-6 * max(1.0, abs(recomputed))
        )
        rows.append({**claim, "recomputed": recomputed, "where": where, "agree": agree})
    return rows


def claims_lines(rows: list[dict[str, Any]]) -> list[str]:
    cells = [
        [
            f"{Path(r['file']).name}:{r['line']}" if r["line"] else Path(r["file"]).name,
            str(r["label"])[:48],
            str(r["written"])[:24],
            _shown(r["recomputed"], bool(r["percent"])),
            "yes" if r["agree"] else "NO",
            str(r["where"]),
        ]
        for r in rows
    ]
    header = ("file", "figure", "published", "from the files", "same", "recomputed from")
    title = "published vs files (ISO-Bench's headline figures beside the same figure recomputed)"
    return [title, *_table(header, cells)]


def published_sections(two_way: list[dict[str, Any]], stored: StoredThreeWay) -> tuple[list[str], dict[str, Any]]:
    """The terminal lines and the JSON of the three sections, from what ``isobench import``
    stored: the two-way published records and the three-way records, unreadable files and
    claims."""
    lines: list[str] = []
    rows = threeway_rows(stored.records, stored.unreadable)
    if rows:
        lines += [*threeway_lines(rows), THREEWAY_NOTE, ""]
    if stored.unreadable:
        lines += [f"unreadable: {len(stored.unreadable)} file(s)"] + [f"  {u}" for u in stored.unreadable] + [""]
    aggregates = aggregate(two_way)
    if aggregates:
        lines += [*aggregate_lines(aggregates), ""]
    checked = claim_rows(stored.claims, folder_figures(stored.records, stored.unreadable), aggregates)
    if checked:
        lines += [*claims_lines(checked), ""]
    data = {
        "threeway": [r.as_dict() for r in rows],
        "unreadable": list(stored.unreadable),
        "aggregation": [a.as_dict() for a in aggregates],
        "published_vs_files": checked,
        "lines": lines,
    }
    return lines, data
