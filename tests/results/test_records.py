"""``TaskRecord`` through a real run: a resumed record equals the fresh one it replays.

The demo's largest speedup (no noise can hide it) runs once; a second session resumes
from its results into another directory, a third runs it afresh. The resumed record
reads back equal to the original field by field; the fresh one differs only where timing
does (samples, estimates, durations, run id).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from demo_project import run_demo

from pytest_isobench.results.record import TaskRecord
from pytest_isobench.results.store import read_records

QUICK = ("--isobench-max-time=10", "--isobench-min-rounds=5", "--isobench-backend=local", "-k", "866ff223")


def _records(results: Path) -> dict[str, TaskRecord]:
    loaded = read_records(results)
    assert loaded.problems == []
    return {r.item_id: r for r in loaded.records}


def _without_timing(record: TaskRecord) -> dict[str, Any]:
    """The record with every figure that depends on timing replaced by its shape."""
    data = record.comparable()
    data["perf_tests"] = [
        {
            "name": t["name"],
            "variants": sorted(t["variants"]),
            "digests": {v: d["digests"] for v, d in t["variants"].items()},
        }
        for t in data["perf_tests"]
    ]
    verdict = data["verdict"]
    data["verdict"] = {k: verdict[k] for k in ("passed", "category", "human_significant", "equivalent")}
    data["reason"] = bool(data["reason"])
    return data


@pytest.mark.slow
def test_resumed_and_fresh_records_compare_equal_field_by_field(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    first, resumed, fresh = tmp_path / "first", tmp_path / "resumed", tmp_path / "fresh"
    run_demo(pytester, demo_cache, first, *QUICK).assert_outcomes(passed=1, deselected=3)
    run_demo(pytester, demo_cache, resumed, *QUICK, f"--isobench-resume={first}").assert_outcomes(
        passed=1, deselected=3
    )
    run_demo(pytester, demo_cache, fresh, *QUICK).assert_outcomes(passed=1, deselected=3)
    [(item, original)] = _records(first).items()
    again, other = _records(resumed)[item], _records(fresh)[item]
    assert again.resumed and not original.resumed and not other.resumed
    for name in TaskRecord.model_fields:
        if name != "resumed":
            assert getattr(again, name) == getattr(original, name), name
    assert other.run_id != original.run_id
    assert _without_timing(other) == _without_timing(original)
    assert original.perf_tests[0].variants["human"].values != other.perf_tests[0].variants["human"].values
    # benchmark.json and summary.json are written from the same records
    bench = json.loads((resumed / "benchmark.json").read_text(encoding="utf-8"))
    assert [b["stats"]["data"] for b in bench["benchmarks"]] == [
        original.perf_tests[0].variants[v].values for v in ("baseline", "human")
    ]
    summary = json.loads((resumed / "summary.json").read_text(encoding="utf-8"))
    assert summary["tasks"][0]["verdict"] == original.verdict.model_dump(mode="json")  # type: ignore[union-attr]
