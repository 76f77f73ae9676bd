"""The markdown report: the group table, Opt@K, the task table, soft metrics, problems.

Figures are written as PNG files in a folder beside the markdown file and linked
relatively, so the page renders on GitHub or in a CI summary. It only formats what
:mod:`tables`, :mod:`passk` and :mod:`soft` computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .plots import figure_png, report_figures
from .published import PUBLISHED_HEADER, PUBLISHED_NOTE, AgentRow, published_cells
from .tables import GROUP_HEADER, Report, fmt_estimate, group_cells


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _pct(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.0%}"


def render_markdown(report: Report, figures: list[tuple[str, str]] | None = None) -> str:
    """The page's text; ``figures`` are (title, relative path) pairs to link."""
    out = ["# ISO-Bench report", ""]
    out += [f"{len(report.tasks)} task result(s) in {len(report.groups)} group(s).", ""]
    out += _summary(report) + _passk(report) + _figures(figures or []) + _tasks(report) + _soft(report)
    out += _published(report) + _published_figures(report) + _notes(report)
    return "\n".join(out)


def _summary(report: Report) -> list[str]:
    out = ["## Summary", ""]
    out += _table(GROUP_HEADER, [group_cells(g) for g in report.groups])
    out += [
        "",
        "Success rate = passed / run (errors and skips excluded), with a 95% Wilson interval; "
        "speedups are geometric means over the tasks that have one; *human sig.* counts tasks "
        "whose human speedup is significant on this machine (the dataset's sanity check).",
        "",
    ]
    flagged = [(g.label, ", ".join(g.human_not_significant)) for g in report.groups if g.human_not_significant]
    if flagged:
        out += ["Human speedup not significant here:", ""]
        out += [f"- {label}: {tasks}" for label, tasks in flagged]
        out.append("")
    return out


def _passk(report: Report) -> list[str]:
    if not report.passk:
        return []
    out = ["## Opt@K and pass@k", ""]
    out += _table(
        ("K", "Opt@K", "pass@k", "solved", "tasks"),
        [
            (str(p["k"]), _pct(p["opt_at_k"]), _pct(p["pass_at_k"]), str(p["solved"]), str(p["tasks"]))
            for p in report.passk
        ],
    )
    return [*out, ""]


def _figures(figures: list[tuple[str, str]]) -> list[str]:
    if not figures:
        return []
    out = ["## Figures", ""]
    for title, rel in figures:
        out += [f"![{title}]({rel})", ""]
    return out


def _tasks(report: Report) -> list[str]:
    out = ["## Tasks", ""]
    out += _table(
        ("task", "group", "status", "human", "agent", "agent/human", "message"),
        [
            (
                t.item_id,
                t.group,
                t.label,
                fmt_estimate(t.human),
                fmt_estimate(t.agent_speedup),
                fmt_estimate(t.agent_vs_human),
                t.message[:160],
            )
            for t in report.tasks
        ],
    )
    return [*out, ""]


SOFT_HEADER = (
    "task",
    "files Jaccard",
    "line precision",
    "line recall",
    "bottleneck",
    "approach",
    "likely faster",
    "missing",
)


def _soft(report: Report) -> list[str]:
    if not report.soft:
        return []
    rows = []
    for key, soft in sorted(report.soft.items()):
        judgement = soft.get("judgement") or {}
        rows.append(
            (
                key,
                _pct(soft.get("files_jaccard")),
                _pct(soft.get("line_precision")),
                _pct(soft.get("line_recall")),
                str(judgement.get("bottleneck", "-")),
                str(judgement.get("approach", "-")),
                _pct(judgement.get("speedup_likelihood")),
                str(soft.get("missing") or ""),
            )
        )
    return ["## Soft metrics", "", *_table(SOFT_HEADER, rows), ""]


def _published(report: Report) -> list[str]:
    if not report.published:
        return []
    out = ["## Published agents (ISO-Bench runs)", "", PUBLISHED_NOTE, ""]
    out += _table(PUBLISHED_HEADER, [published_cells(AgentRow(**row)) for row in report.published])
    return [*out, ""]


def _published_figures(report: Report) -> list[str]:
    if not report.published_figures.get("lines"):
        return []
    out = ["## ISO-Bench's published figures (its measurements and rules, recomputed)", "", "```"]
    return [*out, *report.published_figures["lines"], "```", ""]


def _notes(report: Report) -> list[str]:
    out: list[str] = []
    if report.duplicates:
        out += ["## Duplicates (counted once)", ""] + [f"- {d}" for d in report.duplicates] + [""]
    if report.problems:
        out += ["## Problems reading results", ""] + [f"- {p}" for p in report.problems] + [""]
    return out


def write_markdown(report: Report, path: Path, plots: bool = True) -> Path:
    """Write the page and its PNG figures (in ``<stem>_files/``) beside it."""
    figures: list[tuple[str, str]] = []
    if plots:
        folder = path.parent / f"{path.stem}_files"
        for stem, title, fig in report_figures(report):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.png").write_bytes(figure_png(fig))
            figures.append((title, f"{folder.name}/{stem}.png"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(report, figures), encoding="utf-8")
    return path
