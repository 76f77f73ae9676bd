"""The HTML report: one self-contained static page, opened without any network.

Inline CSS, a small inline script that makes the task table sortable (and filterable),
figures inlined as SVG. Each task's patch, log and samples are written as plain files in
a folder beside the page (``<stem>_files/tasks/...``) and linked relatively. The page
only shows what :mod:`tables`, :mod:`passk` and :mod:`soft` computed.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..results.record import TaskRecord
from .plots import figure_svg, report_figures
from .published import PUBLISHED_HEADER, PUBLISHED_NOTE, AgentRow, published_cells
from .tables import GROUP_HEADER, Report, TaskRow, fmt_estimate, group_cells, group_key

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:28px 0 8px;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.86em;margin:6px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f8;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
tbody tr:nth-child(even){background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.beats{color:#1a7f37;font-weight:600}.similar{color:#2f5fa8;font-weight:600}
.worse{color:#c4501c;font-weight:600}.inconclusive{color:#777;font-weight:600}.failed,.error{color:#c62828;font-weight:600}
.skipped,.missing{color:#888}
figure.plot{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}
figure.plot svg{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555;text-align:center}
#filter{padding:4px 8px;margin:4px 0;width:260px}
ul.problems li{color:#8a4b00}
"""

SCRIPT = """
(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }
  // Cells without a value sort last whichever the direction.
  function compare(a, b, numeric, ascending) {
    var x = numeric ? parseFloat(a) : a, y = numeric ? parseFloat(b) : b;
    var ex = numeric ? isNaN(x) : a === "", ey = numeric ? isNaN(y) : b === "";
    if (ex || ey) return ex === ey ? 0 : (ex ? 1 : -1);
    var c = numeric ? x - y : a.localeCompare(b);
    return ascending ? c : -c;
  }
  function countRows(table) {
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) if (rows[i].style.display !== "none") shown++;
    var counter = document.getElementById(table.id + "-count");
    if (counter) counter.textContent = shown + " of " + rows.length + " rows shown";
  }
  function makeSortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      th.setAttribute("aria-sort", "none");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "sort by " + th.textContent.trim());
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var numeric = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          return compare(cellValue(a, index), cellValue(b, index), numeric, ascending);
        });
        rows.forEach(function (r) { body.appendChild(r); });
        Array.prototype.forEach.call(headers, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      });
    });
    table.setAttribute("data-sortable-ready", "1");
    countRows(table);
  }
  function init() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, makeSortable);
    // "#sort=COLUMN[:desc]" in the address sorts the task table on load (a shareable view).
    var wanted = /#sort=(\\d+)(:desc)?/.exec(location.hash);
    var table = document.getElementById("tasks-table");
    if (wanted && table && table.tHead.rows[0].cells[+wanted[1]]) {
      var th = table.tHead.rows[0].cells[+wanted[1]];
      th.click();
      if (wanted[2]) th.click();
    }
    var filter = document.getElementById("filter");
    var tasks = document.getElementById("tasks-table");
    if (filter && tasks) {
      filter.addEventListener("input", function () {
        var needle = filter.value.toLowerCase();
        Array.prototype.forEach.call(tasks.tBodies[0].rows, function (row) {
          row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
        });
        countRows(tasks);
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
"""


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "" if value is None else fmt.format(value)


def _td(text: str, value: str | None = None, cls: str | None = None, title: str | None = None) -> str:
    attrs = ""
    if value is not None:
        attrs += f' data-value="{escape(value)}"'
    if cls:
        attrs += f' class="{escape(cls)}"'
    if title:
        attrs += f' title="{escape(title)}"'
    return f"<td{attrs}>{text}</td>"


def _est_td(est: dict[str, float] | None) -> str:
    return _td(escape(fmt_estimate(est)), _num(est["point"]) if est else "", "num")


def _pct_td(value: Any) -> str:
    if not isinstance(value, int | float):
        return _td("-", "", "num")
    return _td(f"{value:.0%}", f"{value:.4f}", "num")


def _log_text(record: TaskRecord) -> str:
    """Everything a record says about what happened, as plain text."""
    verdict = record.verdict
    lines = [
        f"task: {record.item_id}  ({record.nodeid})",
        f"suite: {record.suite}  agent: {record.agent}  model: {record.model}",
        f"status: {record.status}",
        f"commits: base {record.base_commit}  head {record.head_commit}",
        f"verdict: {verdict.message if verdict else ''}",
        f"reason: {verdict.reason if verdict else ''}",
    ]
    if record.agent_failure:
        lines.append(f"agent failure: {record.agent_failure}")
    if record.agent_run is not None:
        lines.append("agent run: " + json.dumps(record.agent_run.model_dump(mode="json"), sort_keys=True, default=str))
    for test in record.perf_tests:
        lines.append(f"perf test {test.name}: {test.rounds} rounds, stop: {test.stop_reason}")
        lines += [f"  warning: {w}" for w in test.warnings]
        for variant, data in test.variants.items():
            if data.error:
                lines.append(f"  {variant} error: {data.error}")
    for key, text in (("logs", record.extra("logs")), ("agent_logs", record.agent_logs)):
        if isinstance(text, str) and text:
            lines += ["", f"--- {key} ---", text]
    return "\n".join(lines) + "\n"


def _samples_csv(record: TaskRecord) -> str | None:
    rows = []
    for test in record.perf_tests:
        for variant, data in test.variants.items():
            walls = data.walls
            for i, value in enumerate(data.values):
                rows.append((test.name, variant, i, value, walls[i] if i < len(walls) else ""))
    if not rows:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(("perf_test", "variant", "round", "value", "wall_s"))
    writer.writerows(rows)
    return buf.getvalue()


def write_task_files(records: list[TaskRecord], folder: Path) -> dict[str, dict[str, str]]:
    """Patch, log and samples of every record under ``folder``; task key -> {kind: path}."""
    out: dict[str, dict[str, str]] = {}
    for index, record in enumerate(records):
        key = f"{group_key(record).label}::{record.item_id}"
        sub = folder / f"{index:04d}-{_SAFE.sub('_', record.item_id)}"
        sub.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        patch = record.patch
        if isinstance(patch, str) and patch:
            (sub / "patch.diff").write_text(patch, encoding="utf-8")
            files["patch"] = str(sub / "patch.diff")
        (sub / "log.txt").write_text(_log_text(record), encoding="utf-8")
        files["log"] = str(sub / "log.txt")
        samples = _samples_csv(record)
        if samples is not None:
            (sub / "samples.csv").write_text(samples, encoding="utf-8")
            files["samples"] = str(sub / "samples.csv")
        out[key] = files
    return out


def _task_row_html(
    task: TaskRow, links: dict[str, str], base: Path, soft: dict[str, Any] | None, with_soft: bool
) -> str:
    label = task.label
    anchors = " ".join(
        f'<a href="{quote(Path(path).relative_to(base).as_posix())}">{kind}</a>' for kind, path in links.items()
    )
    cells = [
        _td(escape(task.item_id), task.item_id),
        _td(escape(task.group), task.group),
        _td(escape(label), label, label.replace(" ", "-")),
        _est_td(task.human),
        _est_td(task.agent_speedup),
        _est_td(task.agent_vs_human),
        _td(escape(task.message[:300]), task.message, title=task.message),
        _td(anchors, ""),
    ]
    if with_soft:
        soft = soft or {}
        judgement = soft.get("judgement") or {}
        missing = soft.get("missing")
        cells += [
            _pct_td(soft.get("files_jaccard")),
            _pct_td(soft.get("line_precision")),
            _pct_td(soft.get("line_recall")),
            _td(escape(str(judgement.get("bottleneck", "-"))), str(judgement.get("bottleneck", ""))),
            _td(escape(str(judgement.get("approach", "-"))), str(judgement.get("approach", ""))),
            _td(escape(f"missing: {missing}" if missing else ""), str(missing or ""), "missing" if missing else None),
        ]
    return f'<tr data-status="{escape(label)}">' + "".join(cells) + "</tr>"


def render_html(
    report: Report, task_links: dict[str, dict[str, str]] | None = None, base: Path | None = None, plots: bool = True
) -> str:
    """The page as a string; ``task_links`` map task keys to files under ``base``."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>ISO-Bench report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>ISO-Bench report</h1>",
        f'<p class="meta">{len(report.tasks)} task result(s) in {len(report.groups)} group(s); generated '
        f"{escape(_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC'))}.</p>",
    ]
    parts += _summary_html(report) + _passk_html(report) + (_figures_html(report) if plots else [])
    parts += _tasks_html(report, task_links or {}, base or Path("."))
    parts += _published_html(report) + _notes_html(report)
    parts += [f"<script>{SCRIPT}</script>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _summary_html(report: Report) -> list[str]:
    parts = [
        '<section id="summary"><h2>Summary</h2>',
        '<table id="groups-table" class="sortable"><thead><tr>',
        "".join(f'<th data-type="{"text" if i == 0 else "num"}">{escape(h)}</th>' for i, h in enumerate(GROUP_HEADER)),
        "</tr></thead><tbody>",
    ]
    for group in report.groups:
        cells = group_cells(group)
        parts.append(
            "<tr>"
            + "".join(_td(escape(c), None if i == 0 else c, None if i == 0 else "num") for i, c in enumerate(cells))
            + "</tr>"
        )
    parts.append("</tbody></table>")
    parts.append(
        '<p class="meta">Success rate = passed / run (errors and skips excluded) with a 95% Wilson interval; '
        "speedups are geometric means; <i>human sig.</i> is the dataset sanity check.</p></section>"
    )
    return parts


def _passk_html(report: Report) -> list[str]:
    if not report.passk:
        return []
    parts = ['<section id="passk"><h2>Opt@K and pass@k</h2><table id="passk-table"><thead><tr>']
    parts.append("<th>K</th><th>Opt@K</th><th>pass@k</th><th>solved</th><th>tasks</th></tr></thead><tbody>")
    for p in report.passk:
        parts.append(
            f"<tr><td>{p['k']}</td><td>{p['opt_at_k']:.0%}</td><td>{p['pass_at_k']:.0%}</td>"
            f"<td>{p['solved']}</td><td>{p['tasks']}</td></tr>"
        )
    parts.append("</tbody></table></section>")
    return parts


def _figures_html(report: Report) -> list[str]:
    figures = report_figures(report)
    if not figures:
        return []
    parts = ['<section id="figures"><h2>Figures</h2>']
    for stem, title, fig in figures:
        parts.append(
            f'<figure class="plot" id="plot-{stem}">{figure_svg(fig)}<figcaption>{escape(title)}</figcaption></figure>'
        )
    parts.append("</section>")
    return parts


def _tasks_html(report: Report, task_links: dict[str, dict[str, str]], base: Path) -> list[str]:
    with_soft = bool(report.soft)
    header = ["task", "group", "verdict", "human", "agent", "agent/human", "message", "files"]
    types = ["text", "text", "text", "num", "num", "num", "text", "text"]
    if with_soft:
        header += ["files Jaccard", "line precision", "line recall", "bottleneck", "approach", "judge"]
        types += ["num", "num", "num", "text", "text", "text"]
    parts = [
        '<section id="tasks"><h2>Tasks</h2>',
        '<input id="filter" type="search" placeholder="filter tasks"> <span id="tasks-table-count" class="meta">'
        f"{len(report.tasks)} rows</span>",
        '<table id="tasks-table" class="sortable"><thead><tr>',
        "".join(f'<th data-type="{t}">{escape(h)}</th>' for h, t in zip(header, types, strict=True)),
        "</tr></thead><tbody>",
    ]
    for task in report.tasks:
        parts.append(_task_row_html(task, task_links.get(task.key, {}), base, report.soft.get(task.key), with_soft))
    parts.append("</tbody></table></section>")
    return parts


def _published_html(report: Report) -> list[str]:
    if not report.published:
        return []
    parts = ['<section id="published"><h2>Published agents (ISO-Bench runs)</h2>']
    parts.append(f'<p class="meta">{escape(PUBLISHED_NOTE)}</p>')
    parts.append('<table id="published-table" class="sortable"><thead><tr>')
    parts.append("".join(f"<th>{escape(h)}</th>" for h in PUBLISHED_HEADER) + "</tr></thead><tbody>")
    for row in report.published:
        parts.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in published_cells(AgentRow(**row))) + "</tr>")
    parts.append("</tbody></table></section>")
    return parts


def _notes_html(report: Report) -> list[str]:
    parts: list[str] = []
    if report.duplicates:
        parts.append('<section id="duplicates"><h2>Duplicates (counted once)</h2><ul class="problems">')
        parts += [f"<li>{escape(d)}</li>" for d in report.duplicates]
        parts.append("</ul></section>")
    if report.problems:
        parts.append('<section id="problems"><h2>Problems reading results</h2><ul class="problems">')
        parts += [f"<li>{escape(p)}</li>" for p in report.problems]
        parts.append("</ul></section>")
    return parts


def write_html(report: Report, path: Path, plots: bool = True) -> Path:
    """Write the page and, in ``<stem>_files/tasks/``, each task's patch, log and samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    links = write_task_files(report.records, path.parent / f"{path.stem}_files" / "tasks")
    path.write_text(render_html(report, links, path.parent, plots), encoding="utf-8")
    return path
