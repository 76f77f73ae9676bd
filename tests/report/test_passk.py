"""Opt@K (GSO: best status per task among the first K runs) and unbiased pass@k.

Three "runs" are three result directories of the same agent on the same four tasks; the
expected numbers are worked out by hand in the comments.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.cli import main
from pytest_isobench.measure.stats import Estimate
from pytest_isobench.measure.verdict import Verdict
from pytest_isobench.report.passk import opt_at_k, pass_at_k
from pytest_isobench.results.merge import merge_dirs
from pytest_isobench.results.store import write_record


def record(task: str, outcome: str) -> dict[str, Any]:
    """One run's record of ``task``: a category, or ``error``."""
    est = Estimate(1.5, 1.4, 1.6)
    passed = outcome in ("beats", "similar")
    verdict = Verdict(
        passed=passed,
        category=None if outcome == "error" else outcome,  # type: ignore[arg-type]
        human=est,
        agent=est,
        agent_vs_human=Estimate(1.0, 0.95, 1.05),
        human_significant=True,
        human_pvalue=0.001,
        agent_pvalue=0.001,
        equivalent=outcome != "failed",
        reason=outcome,
        message=outcome,
    )
    status = "error" if outcome == "error" else ("passed" if passed else "failed")
    return {
        "item_id": f"demo-{task}",
        "suite": "demo",
        "agent": "trae",
        "model": "m",
        "settings": {"agent": "trae", "model": "m", "min_rounds": 5},
        "verdict": verdict.as_dict(),
        "status": status,
    }


# task -> outcome in run 1, 2, 3 (None: that run has no record of the task)
PLAN: dict[str, list[str | None]] = {
    "t1": ["failed", "similar", "worse"],  # first solved in run 2
    "t2": ["beats", "failed", "failed"],  # solved in run 1
    "t3": ["worse", "worse", "failed"],  # never solved
    "t4": ["error", None, "similar"],  # solved in run 3 only
}


def write_runs(tmp_path: Path) -> list[Path]:
    dirs = []
    for run in range(3):
        folder = tmp_path / f"run{run + 1}"
        for task, outcomes in PLAN.items():
            outcome = outcomes[run]
            if outcome is not None:
                write_record(folder, record(task, outcome))
        dirs.append(folder)
    return dirs


def test_pass_at_k_estimator() -> None:
    assert pass_at_k(3, 1, 1) == pytest.approx(1 / 3)
    assert pass_at_k(3, 1, 2) == pytest.approx(1 - 1 / 3)  # 1 - C(2,2)/C(3,2)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # 1 - C(3,2)/C(5,2)
    assert pass_at_k(3, 0, 3) == 0.0
    assert pass_at_k(3, 3, 1) == 1.0
    with pytest.raises(ValueError, match="k"):
        pass_at_k(3, 1, 4)


def test_opt_at_k_over_three_runs(tmp_path: Path) -> None:
    runs = [merge_dirs([d]).records for d in write_runs(tmp_path)]
    results = opt_at_k(runs)
    assert [r.k for r in results] == [1, 2, 3]
    # Opt@1: only t2 passed in run 1 -> 1/4; Opt@2: t1 and t2 -> 2/4; Opt@3: t1, t2, t4 -> 3/4.
    assert [r.opt_at_k for r in results] == [0.25, 0.5, 0.75]
    assert [r.solved for r in results] == [1, 2, 3]
    assert all(r.tasks == 4 for r in results)
    # pass@k with n = 3 runs: t1, t2, t4 have c = 1, t3 has c = 0 (a missing run counts as a failed attempt).
    # pass@1 = 3/4 * 1/3 = 0.25; pass@2 = 3/4 * 2/3 = 0.5; pass@3 = 3/4.
    assert [r.pass_at_k for r in results] == pytest.approx([0.25, 0.5, 0.75])
    # best status per task among the first K runs
    assert results[0].best == {
        "demo::demo-t1": "failed",
        "demo::demo-t2": "beats",
        "demo::demo-t3": "worse",
        "demo::demo-t4": "error",
    }
    assert results[1].best["demo::demo-t1"] == "similar"
    assert results[1].best["demo::demo-t4"] == "error"  # run 2 lacks t4: error is still its best so far
    assert results[2].best["demo::demo-t4"] == "similar"
    assert results[2].best["demo::demo-t3"] == "worse"  # worse outranks failed


def test_runs_as_k_from_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dirs = write_runs(tmp_path)
    out = tmp_path / "r.json"
    assert main(["report", *map(str, dirs), "--runs-as-k", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Opt@1: 25.0% (1/4)" in text and "Opt@3: 75.0% (3/4)" in text
    data = json.loads(out.read_text())
    assert [p["opt_at_k"] for p in data["passk"]] == [0.25, 0.5, 0.75]
    # the same task in three runs is three runs, not a duplicate
    assert data["duplicates"] == []
    assert sorted(g["key"]["run"] for g in data["groups"]) == ["1", "2", "3"]
    assert [g["passed"] for g in sorted(data["groups"], key=lambda g: g["key"]["run"])] == [1, 1, 1]
