"""Headline figures ISO-Bench wrote about its own results, found where it wrote them.

A result folder's README and analysis markdown state figures ("Evaluable for Agent vs
Human | 49", "Agent matches or beats human | 65%", an agent table with "Successful"
counts), and an evaluation folder's ``evaluation_report.json`` states the aggregation's
counters per ``<agent>/<model>``. Each becomes a :class:`Claim`: the file and line, the
label as written, the value, and which recomputed figure it is to be compared with
(``key``) for which folder or group (``target``). Labels no rule knows are left alone:
this is a finder of known headline figures, not a parser of prose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Claim", "find_claims"]

# (pattern on the normalised label, recomputed figure it states)
_LABELS: tuple[tuple[str, str], ...] = (
    (r"^total (unique )?commits$|^total benchmark commits$", "commits"),
    (r"^(total (already )?)?evaluable", "comparable"),
    (r"matches or beats", "matches_or_beats_pct"),
    (r"failure rate", "failed_pct"),
    (r"^agent (wins|beats)", "beats"),
    (r"^agent matches", "matches"),
    (r"^agent loses", "loses"),
    (r"^agent failed$", "failed"),
    (r"truly comparable|^valid 3-way comparisons$", "three_way"),
    (r"^successful benchmarks$", "agent_success"),
)
_AGGREGATE_KEYS = (
    "total_commits",
    "tests_run",
    "tests_passed",
    "avg_speedup",
    "commits_with_improvement",
    "commits_with_regression",
)
_NUMBER = re.compile(r"^\**\s*(-?\d+(?:\.\d+)?)\s*(%?)")


@dataclass(frozen=True)
class Claim:
    file: str
    line: int
    label: str
    written: str
    value: float
    percent: bool
    key: str
    target: str  # a result folder (its path) or an aggregation group (``agent/model``)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("*", "").replace("`", "")).strip()


def _number(cell: str) -> tuple[float, bool] | None:
    match = _NUMBER.match(_clean(cell))
    return (float(match.group(1)), bool(match.group(2))) if match else None


def _label_key(label: str) -> str | None:
    text = _clean(label).lower()
    return next((key for pattern, key in _LABELS if re.search(pattern, text)), None)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _agent_folder(label: str, folders: list[Path]) -> Path | None:
    """The folder a row of a multi-agent table is about: ``TRAE Sonnet 4.5`` ->
    ``*_3way_trae_sonnet45`` (the longest folder suffix the label starts with)."""
    wanted = _norm(label)
    best: tuple[int, Path] | None = None
    for folder in folders:
        suffix = _norm(folder.name.split("_3way_", 1)[-1])
        if suffix and wanted.startswith(suffix) and (best is None or len(suffix) > best[0]):
            best = (len(suffix), folder)
    return best[1] if best else None


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _markdown_claims(path: Path, folder: Path, folders: list[Path]) -> list[Claim]:
    claims: list[Claim] = []
    header: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        bold = re.match(r"^\*\*(.+?)\*\*:\s*(.+)$", line.strip())
        if bold:
            header = []
            claims += _claim(path, number, bold.group(1), bold.group(2), folder)
            continue
        if not line.strip().startswith("|"):
            header = []
            continue
        cells = _cells(line)
        if set("".join(cells)) <= set("-: "):
            continue
        if not header:
            header = [_clean(c).lower() for c in cells]
            claims += _claim(path, number, cells[0], cells[1] if len(cells) > 1 else "", folder)
            continue
        if "successful" in header and "total commits" in header:
            target = _agent_folder(_clean(cells[0]), folders)
            if target is not None:
                for column, key in (("total commits", "commits"), ("successful", "agent_success")):
                    label = f"{_clean(cells[0])}: {column}"
                    claims += _claim(path, number, label, cells[header.index(column)], target, key)
            continue
        claims += _claim(path, number, cells[0], cells[1] if len(cells) > 1 else "", folder)
    return claims


def _claim(path: Path, number: int, label: str, cell: str, target: Path, key: str | None = None) -> list[Claim]:
    key = key or _label_key(label)
    found = _number(cell)
    if key is None or found is None:
        return []
    return [Claim(str(path), number, _clean(label), _clean(cell), found[0], found[1], key, str(target))]


def _report_claims(path: Path) -> list[Claim]:
    """``evaluation_report.json``: the aggregation's counters per ``<agent>/<model>``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    runs = data.get("runs") if isinstance(data, dict) else None
    claims: list[Claim] = []
    for group, row in (runs or {}).items():
        if not isinstance(row, dict):
            continue
        for key in _AGGREGATE_KEYS:
            value = row.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                claims.append(Claim(str(path), 0, f"runs.{group}.{key}", str(value), float(value), False, key, group))
    return claims


_SKIP = {"logs", "reruns", "hf_export", "archive", "exports"}


def find_claims(folders: Iterable[Path], eval_reports: Iterable[Path] = ()) -> tuple[list[Claim], list[str]]:
    """Claims in the markdown of each three-way result folder (its own ``archive/``,
    logs and reruns left out) and in the evaluation reports; unreadable files named."""
    folders = sorted(set(folders))
    claims: list[Claim] = []
    problems: list[str] = []
    for folder in folders:
        for path in sorted(folder.rglob("*.md")):
            if _SKIP & set(path.relative_to(folder).parts[:-1]):
                continue
            claims += _markdown_claims(path, folder, folders)
    for path in eval_reports:
        try:
            claims += _report_claims(path)
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{path}: not read ({exc})")
    return claims, problems
