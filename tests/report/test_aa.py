"""A/A figures (wrong categories, share inside the band, half-width, noise floor) and
``isobench doctor --noise``, which runs an A/A on the demo suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demo_project import ROOT

from pytest_isobench.report.aa import DEMO_SUITE, aa_lines, aa_task
from pytest_isobench.suite import load_suite


def record(item: str, category: str, low: float, point: float, high: float, agent: list[float]) -> dict[str, Any]:
    human = [1.0] * len(agent)
    return {
        "item_id": item,
        "status": "passed" if category in ("similar", "beats") else "failed",
        "verdict": {"category": category, "agent_vs_human": {"point": point, "low": low, "high": high}},
        "perf_tests": [{"rounds": len(agent), "variants": {"agent": {"values": agent}, "human": {"values": human}}}],
        "noise": {"warnings": ["busy"] if category == "worse" else []},
    }


def test_aa_figures() -> None:
    records = [
        record("a", "similar", 0.98, 1.0, 1.02, [1.0, 1.01, 0.99]),
        record("b", "similar", 0.90, 1.0, 1.08, [1.0, 1.1, 0.9]),  # passes today, but not inside the band
        record("c", "worse", 0.70, 0.8, 0.90, [0.8, 0.8, 0.8]),
        record("d", "similar", 0.97, 1.0, 1.05, [1.0, 1.0]),
    ]
    tasks = [aa_task(r) for r in records]
    assert [t.inside(0.05) for t in tasks] == [True, False, False, True]
    assert tasks[0].half_width == pytest.approx(0.02)
    assert tasks[1].round_spread == pytest.approx(0.1003, abs=1e-3)
    lines = aa_lines(tasks)
    assert "wrong categories (beats/worse): 1/4 = 25.0%" in lines
    assert "similar (interval inside 1 +- 0.05): 2/4 = 50.0%" in lines
    # half-widths 0.02, 0.09, 0.10, 0.04: the median is 0.065.
    assert "median half-width: 0.0650" in lines
    assert any(line.startswith("c: worse") and "width 0.200" in line and "(noise warned)" in line for line in lines)
    assert aa_lines([]) == ["no task runs"]


def test_doctor_suite_is_the_demo_suite(tmp_path: Path) -> None:
    """``doctor --noise`` carries its own copy of tasks/demo.yaml (not installed): the same suite."""
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks/demo.yaml").write_text(DEMO_SUITE, encoding="utf-8")
    ours = load_suite(tmp_path / "tasks/demo.yaml").model_dump()
    theirs = load_suite(ROOT / "tasks/demo.yaml").model_dump()
    for dump in (ours, theirs):
        dump.pop("description", None)
        dump.pop("path", None)
        dump.pop("dataset", None)
    assert ours == theirs


@pytest.mark.slow  # not serial: it reads the printed report's lines, never a figure
def test_doctor_noise_runs_an_aa_and_prints_the_noise_floor(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_isobench.cli", "doctor", "--noise", "--backend=local", "--max-time=2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "A/A on the demo suite (4 tasks, --isobench-agent=human, backend local):" in out
    assert "task runs: 4; categories:" in out
    assert "wrong categories (beats/worse):" in out and "similar (interval inside 1 +- 0.05):" in out
    assert "noise floor (median per-round spread of agent/human):" in out
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the working directory
