"""Results that are never lost: resume after a killed run, corrupt records, and xdist.

A run of the four demo tasks (local backend) is SIGKILLed as soon as its first record is
on disk; resuming into the same directory must run only what was left and count all
four. A corrupt record is reported and its task re-run. ``-n 2`` must produce the same
records and totals as a serial run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from demo_project import copy_demo, demo_args, read_records, run_demo

# The three demo tasks whose speedups (2.4x to 170x) no machine noise can hide: these
# tests are about resuming and workers, not about the statistics (tests/e2e/test_calibration.py).
DEMO_IDS = ["demo-65ce4b7f", "demo-866ff223", "demo-c7a161c8"]
QUICK = ("--isobench-max-time=15", "--isobench-min-rounds=5", "--isobench-backend=local", "-k", "not ac9bebc0")


def _args(cache: Path, results: Path, *extra: str) -> list[str]:
    return demo_args(cache, results, *QUICK, *extra)


def _run(pytester: pytest.Pytester, cache: Path, results: Path, *extra: str) -> pytest.RunResult:
    result: pytest.RunResult = run_demo(pytester, cache, results, *QUICK, *extra, timeout=300)
    return result


def _summary(results: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.slow
def test_killed_run_resumes_only_unfinished_tasks(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # A cache of its own: SIGKILL leaves worktrees, which other tests check there are none of.
    cache = tmp_path / "cache"
    results = tmp_path / "results"
    copy_demo(pytester.path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *_args(cache, results)],
        cwd=pytester.path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not list((results / "tasks").glob("*.json")):
        assert proc.poll() is None, f"the run ended ({proc.returncode}) before writing a record"
        assert time.monotonic() < deadline, "no record within 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    first = read_records(results)
    assert 1 <= len(first) < len(DEMO_IDS), sorted(first)
    assert not (results / "summary.json").exists()
    first_run = {r["run_id"] for r in first.values()}
    assert len(first_run) == 1

    result = _run(pytester, cache, results, f"--isobench-resume={results}", "-rA")
    result.assert_outcomes(passed=len(DEMO_IDS), deselected=1)
    after = read_records(results)
    assert sorted(after) == DEMO_IDS
    resumed = {k for k, r in after.items() if r["run_id"] in first_run}
    assert resumed == set(first), "a finished task was run again"
    fresh = {r["run_id"] for k, r in after.items() if k not in first}
    assert len(fresh) == 1 and fresh.isdisjoint(first_run)
    out = result.stdout.str()
    for item_id in DEMO_IDS:
        line = next(x for x in out.splitlines() if x.startswith(item_id + " "))
        assert ("(resumed)" in line) == (item_id in first), line
    assert sum(_summary(results)["totals"].values()) == len(DEMO_IDS)
    result.stdout.fnmatch_lines(["totals: *"])


@pytest.mark.slow
def test_corrupt_record_is_reported_and_rerun(pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    select = ("-k", "65ce4b7f or 866ff223")
    _run(pytester, demo_cache, results, *select).assert_outcomes(passed=2)
    first = read_records(results)
    corrupt = results / "tasks" / "demo-866ff223.json"
    corrupt.write_text('{"schema": "isobench.record/1", "item_id": "demo-86', encoding="utf-8")

    result = _run(pytester, demo_cache, results, f"--isobench-resume={results}", "--junitxml=junit.xml", *select)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["warning: not resumed, will re-run: *demo-866ff223.json: corrupt record*"])
    after = read_records(results)
    assert after["demo-65ce4b7f"]["run_id"] == first["demo-65ce4b7f"]["run_id"]
    assert after["demo-866ff223"]["run_id"] != first["demo-866ff223"]["run_id"]
    assert after["demo-866ff223"]["status"] == "passed"
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('name="isobench_resumed"') == 1
    assert sum(_summary(results)["totals"].values()) == 2


def _shape(results: Path) -> tuple[dict[str, tuple[Any, ...]], dict[str, int]]:
    records = {
        r["nodeid"]: (r["item_id"], r["status"], (r["verdict"] or {}).get("category"), r["schema"])
        for r in read_records(results).values()
    }
    return records, _summary(results)["totals"]


@pytest.mark.serial
@pytest.mark.slow
def test_xdist_gives_the_same_records_as_a_serial_run(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    _run(pytester, demo_cache, serial).assert_outcomes(passed=len(DEMO_IDS), deselected=1)
    result = _run(pytester, demo_cache, parallel, "-n", "2")
    result.assert_outcomes(passed=len(DEMO_IDS))  # xdist's controller does not count deselections
    result.stdout.fnmatch_lines(["*= isobench =*", f"totals: significant {len(DEMO_IDS)}"])
    assert _shape(parallel) == _shape(serial)
    assert sorted(_shape(parallel)[0]) == [f"tasks/demo.yaml::{i}" for i in DEMO_IDS]
    # One run id for the whole session, workers included.
    assert len({r["run_id"] for r in read_records(parallel).values()}) == 1
    bench = json.loads((parallel / "benchmark.json").read_text(encoding="utf-8"))
    assert {b["group"] for b in bench["benchmarks"]} == set(DEMO_IDS)
