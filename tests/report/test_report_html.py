"""The HTML report: self-contained, with task files beside it, checked in a real browser.

The browser test opens the page in Debian's headless Chromium, takes a screenshot and
dumps the DOM after the page's script ran; it asserts on what rendered. It is skipped
with a reason when Chromium is not installed, except under ``.ci/run``, which installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_records import demo_records, make_record, write_dir

from pytest_isobench.cli import main
from pytest_isobench.report.html import render_html, write_html
from pytest_isobench.report.tables import build_report


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("ISOBENCH_REQUIRE_DOCKER") == "1":  # set by .ci/run, which installs chromium
        pytest.fail("chromium is required in CI (.ci/run installs it) but is not on PATH")
    pytest.skip("chromium not installed (apt-get install -y chromium)")


def run_chromium(tmp_path: Path, url: str, *mode: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        *mode,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class _Dom(HTMLParser):
    """Just enough of the DOM: every start tag with its attributes, and the text per id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open_ids: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self._open_ids.append((tag, str(attributes["id"])))
            self.text_by_id.setdefault(str(attributes["id"]), "")

    def handle_endtag(self, tag: str) -> None:
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        for _tag, ident in self._open_ids:
            self.text_by_id[ident] += data

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def report_records() -> list[dict[str, Any]]:
    return [
        *demo_records(),
        make_record("aaaa1111", category="worse", agent="codex", agent_x=1.2),
        make_record("bbbb2222", category="beats", agent="codex", agent_x=3.0),
    ]


@pytest.mark.slow
def test_html_is_self_contained_with_task_files(tmp_path: Path) -> None:
    records = report_records()
    trae = write_dir(tmp_path / "trae", records[:5])
    codex = write_dir(tmp_path / "codex", records[5:])  # one results dir per session, as pytest writes them
    page = tmp_path / "site" / "report.html"
    assert main(["report", str(trae), str(codex), "--html", str(page)]) == 0
    html = page.read_text()
    assert "<svg" in html and "<script>" in html and "<style>" in html
    # nothing fetched from the network: no external scripts, styles or images
    assert not re.search(r'(src|href)="(https?:)?//', html)
    task_dirs = sorted((tmp_path / "site" / "report_files" / "tasks").iterdir())
    assert len(task_dirs) == len(records)
    beats = next(d for d in task_dirs if d.name.endswith("demo-aaaa1111") and (d / "patch.diff").exists())
    assert (beats / "patch.diff").read_text().startswith("diff --git")
    samples = (beats / "samples.csv").read_text().splitlines()
    assert samples[0] == "perf_test,variant,round,value,wall_s" and len(samples) == 1 + 3 * 5
    assert "verdict:" in (beats / "log.txt").read_text()
    for href in re.findall(r'href="([^"#]+)"', html):
        assert (page.parent / href).is_file(), href


def test_html_without_plots_or_records_still_renders() -> None:
    report = build_report([], problems=["x/tasks/bad.json: corrupt record"])
    html = render_html(report, plots=False)
    assert "bad.json: corrupt record" in html and 'id="tasks-table"' in html


@pytest.mark.slow
def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    chromium()
    import numpy as np
    from matplotlib.image import imread

    records = report_records()
    report = build_report(records, problems=["elsewhere/tasks/broken.json: corrupt record"])
    page = write_html(report, tmp_path / "report.html")
    url = page.resolve().as_uri()

    shot = tmp_path / "shot.png"
    done = run_chromium(tmp_path, url, f"--screenshot={shot}")
    assert shot.is_file(), done.stderr[-2000:]
    assert shot.stat().st_size > 20_000
    pixels = imread(str(shot))
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    rgb = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 50  # text, table lines, plot colours
    assert (rgb.min(axis=1) < 0.5).mean() > 0.01  # a real share of dark pixels: not a blank page

    dumped = run_chromium(tmp_path, url, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = _Dom()
    dom.feed(dumped.stdout)
    tables = dom.find("table", id="tasks-table")
    assert tables and tables[0].get("data-sortable-ready") == "1"  # the script ran
    headers = [a for t, a in dom.tags if t == "th" and "aria-sort" in a]
    assert len(headers) >= 8
    assert dom.text_by_id["tasks-table-count"].strip() == f"{len(records)} of {len(records)} rows shown"
    rows = [a for t, a in dom.tags if t == "tr" and "data-status" in a]
    assert len(rows) == len(records)
    assert len([a for t, a in dom.tags if t == "svg"]) >= 4  # scatter, ratios, intervals, comparison
    assert "broken.json" in dom.text_by_id["problems"]
    assert {a.get("id") for t, a in dom.tags if t == "figure"} >= {"plot-speedups", "plot-comparison"}

    # a sorted view from the address: agent/human (column 5) descending puts codex's 3.0/1.5 = 2x first
    ordered = run_chromium(tmp_path, url + "#sort=5:desc", "--dump-dom")
    order = re.findall(r'<tr data-status="[^"]*"><td data-value="([^"]+)"', ordered.stdout)
    assert order[0] == "demo-bbbb2222" and len(order) == len(records)
    heads = re.findall(r'<th data-type="num"[^>]*aria-sort="descending"[^>]*>agent/human</th>', ordered.stdout)
    assert len(heads) == 1
