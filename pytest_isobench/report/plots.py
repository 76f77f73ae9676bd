"""The report's figures, drawn with matplotlib on the Agg canvas (imported lazily).

Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas attached, never
through ``pyplot``, so drawing a report does not touch a user's global backend. Each
function returns ``None`` when it has nothing to draw. Nothing is computed here that the
tables do not already hold.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tables import GroupSummary, Report, TaskRow

_COLOURS = {
    "beats": "#1a9850",
    "similar": "#4575b4",
    "worse": "#f46d43",
    "inconclusive": "#bbbbbb",
    "failed": "#d73027",
    "significant": "#4575b4",
    "not significant": "#999999",
}
_MAX_INTERVAL_TASKS = 60


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _x_ticks(axis: Any) -> None:
    """Plain "1.5x" labels on a log axis instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: f"{v:.3g}x")
    axis.set_major_formatter(formatter)
    axis.set_minor_formatter(formatter)


def _err(est: dict[str, float]) -> tuple[float, float]:
    return max(0.0, est["point"] - est["low"]), max(0.0, est["high"] - est["point"])


def speedup_scatter(tasks: list[TaskRow]) -> Any | None:
    """Agent speedup against human speedup per task, with their intervals and y = x."""
    points = [t for t in tasks if t.human is not None and t.agent_speedup is not None]
    if not points:
        return None
    fig = _figure(6.4, 5.2)
    ax = fig.add_subplot()
    for label in dict.fromkeys(t.label for t in points):
        sel = [t for t in points if t.label == label]
        xs = [t.human["point"] for t in sel if t.human]
        ys = [t.agent_speedup["point"] for t in sel if t.agent_speedup]
        xerr = list(zip(*(_err(t.human) for t in sel if t.human), strict=True))
        yerr = list(zip(*(_err(t.agent_speedup) for t in sel if t.agent_speedup), strict=True))
        ax.errorbar(
            xs,
            ys,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            capsize=3,
            label=f"{label} ({len(sel)})",
            color=_COLOURS.get(label, "#666666"),
            alpha=0.85,
        )
    values = [v for t in points for e in (t.human, t.agent_speedup) if e for v in (e["low"], e["high"], e["point"])]
    lo = min(v for v in values if v > 0) * 0.8
    hi = max(values) * 1.25
    ax.plot([lo, hi], [lo, hi], "--", color="#444444", linewidth=1, label="y = x (agent = human)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    _x_ticks(ax.xaxis)
    _x_ticks(ax.yaxis)
    ax.tick_params(which="minor", labelsize="x-small")
    ax.set_xlabel("human speedup over baseline")
    ax.set_ylabel("agent speedup over baseline")
    ax.set_title("Agent vs human speedup per task")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def ratio_distribution(tasks: list[TaskRow]) -> Any | None:
    """Histogram of agent/human speedup ratios (log scale), with the line at 1."""
    ratios = [t.agent_vs_human["point"] for t in tasks if t.agent_vs_human and t.agent_vs_human["point"] > 0]
    if not ratios:
        return None
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    logs = [math.log2(r) for r in ratios]
    lo, hi = min([*logs, -0.5]), max([*logs, 0.5])
    bins = max(5, min(30, len(ratios)))
    ax.hist(logs, bins=bins, range=(lo, hi), color="#4575b4", edgecolor="white")
    ax.axvline(0.0, color="#444444", linestyle="--", linewidth=1)
    ticks = list(range(math.floor(lo), math.ceil(hi) + 1))
    ax.set_xticks(ticks, [f"{2.0**t:g}x" for t in ticks])
    ax.set_xlabel("agent speedup / human speedup")
    ax.set_ylabel("tasks")
    ax.set_title(f"Distribution of agent/human ratios ({len(ratios)} tasks)")
    return fig


def task_intervals(tasks: list[TaskRow]) -> Any | None:
    """Per-task intervals: human and agent speedups over the baseline (first tasks only)."""
    rows = [t for t in tasks if t.human is not None or t.agent_speedup is not None][:_MAX_INTERVAL_TASKS]
    if not rows:
        return None
    fig = _figure(7.0, 1.2 + 0.32 * len(rows))
    ax = fig.add_subplot()
    for i, t in enumerate(rows):
        for est, offset, colour, name in ((t.human, -0.15, "#999999", "human"), (t.agent_speedup, 0.15, None, "agent")):
            if est is None:
                continue
            ax.errorbar(
                [est["point"]],
                [i + offset],
                xerr=[[_err(est)[0]], [_err(est)[1]]],
                fmt="o",
                capsize=2,
                color=colour or _COLOURS.get(t.label, "#4575b4"),
                label=name if i == 0 else None,
            )
    ax.axvline(1.0, color="#444444", linestyle="--", linewidth=1)
    several = len({t.group for t in rows}) > 1
    names = [
        f"{t.item_id} ({t.agent or 'no agent'}{', run ' + t.run if t.run else ''})" if several else t.item_id
        for t in rows
    ]
    ax.set_yticks(range(len(rows)), names, fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    _x_ticks(ax.xaxis)
    ax.tick_params(which="minor", labelsize="x-small")
    ax.set_xlabel("speedup over baseline (interval)")
    ax.set_title("Per-task speedup intervals")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    _handles, labels = ax.get_legend_handles_labels()
    if labels:
        ax.legend(fontsize="small")
    return fig


def comparison_bars(groups: list[GroupSummary]) -> Any | None:
    """Success rate (Wilson interval) and geometric-mean agent/human speedup per group."""
    shown = [g for g in groups if g.key.agent is not None]
    if len(shown) < 2:
        return None
    fig = _figure(7.0, 2.0 + 0.5 * len(shown))
    left, right = fig.subplots(1, 2, sharey=True)
    ys = list(range(len(shown)))
    rates = [g.success_rate or 0.0 for g in shown]
    err = [
        [max(0.0, r - g.success_low) for r, g in zip(rates, shown, strict=True)],
        [max(0.0, g.success_high - r) for r, g in zip(rates, shown, strict=True)],
    ]
    left.barh(ys, rates, xerr=err, color="#4575b4", capsize=3)
    left.set_xlim(0, 1)
    left.set_xlabel("success rate (95% Wilson CI)")
    left.set_yticks(ys, [g.label for g in shown], fontsize="small")
    left.invert_yaxis()
    ratios = [g.geomean_agent_vs_human or 0.0 for g in shown]
    right.barh(ys, ratios, color="#1a9850")
    right.axvline(1.0, color="#444444", linestyle="--", linewidth=1)
    right.set_xlabel("geomean agent/human speedup")
    fig.suptitle("Agents and runs compared")
    return fig


def report_figures(report: Report) -> list[tuple[str, str, Any]]:
    """(file stem, title, figure) for every figure the report has data for."""
    candidates = [
        ("speedups", "Agent vs human speedup", speedup_scatter(report.tasks)),
        ("ratios", "Agent/human ratios", ratio_distribution(report.tasks)),
        ("intervals", "Per-task intervals", task_intervals(report.tasks)),
        ("comparison", "Comparison", comparison_bars(report.groups)),
    ]
    return [(stem, title, fig) for stem, title, fig in candidates if fig is not None]


def figure_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), for inlining in HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def figure_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
