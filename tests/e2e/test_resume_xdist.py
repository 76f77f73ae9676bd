"""Results that are never lost: resume after a killed run, corrupt records, and xdist.

A run of the four demo tasks (local backend) is SIGKILLed as soon as its first record is
on disk; resuming into the same directory must run only what was left and count all
four. A corrupt record is reported and its task re-run. ``-n 2`` must produce the same
records and totals as a serial run. One run of the three tasks (a module fixture) is both
the serial run the xdist run is compared with and the finished run whose record is
corrupted.
"""

from __future__ import annotations

import json
import os
import shutil
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


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, demo_cache: Path) -> Path:
    """The results of one run of the three tasks, no xdist: read, never written, by the tests."""
    root = tmp_path_factory.mktemp("reference")
    copy_demo(root)
    results = root / "results"
    # As pytester runs a subprocess: no outer options, no user configuration.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "TOX_ENV_DIR")}
    env.update(HOME=str(root), PY_COLORS="0")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *_args(demo_cache, results)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    outcomes = pytest.RunResult.parse_summary_nouns(proc.stdout.splitlines())
    assert (proc.returncode, outcomes.get("passed"), outcomes.get("deselected")) == (0, len(DEMO_IDS), 1), out[-3000:]
    assert sorted(read_records(results)) == DEMO_IDS
    return results


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
def test_corrupt_record_is_reported_and_rerun(
    pytester: pytest.Pytester, demo_cache: Path, reference: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    shutil.copytree(reference, results)
    first = read_records(results)
    written = (results / "summary.json").stat().st_mtime_ns
    corrupt = results / "tasks" / "demo-866ff223.json"
    corrupt.write_text('{"schema": "isobench.record/1", "item_id": "demo-86', encoding="utf-8")

    result = _run(pytester, demo_cache, results, f"--isobench-resume={results}", "--junitxml=junit.xml")
    result.assert_outcomes(passed=len(DEMO_IDS), deselected=1)
    result.stdout.fnmatch_lines(["warning: not resumed, will re-run: *demo-866ff223.json: corrupt record*"])
    after = read_records(results)
    for kept in ("demo-65ce4b7f", "demo-c7a161c8"):
        assert after[kept]["run_id"] == first[kept]["run_id"], kept
    assert after["demo-866ff223"]["run_id"] != first["demo-866ff223"]["run_id"]
    assert after["demo-866ff223"]["status"] == "passed"
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('name="isobench_resumed"') == len(DEMO_IDS) - 1
    assert (results / "summary.json").stat().st_mtime_ns > written
    assert sum(_summary(results)["totals"].values()) == len(DEMO_IDS)


def _shape(results: Path) -> tuple[dict[str, tuple[Any, ...]], dict[str, int]]:
    records = {
        r["nodeid"]: (r["item_id"], r["status"], (r["verdict"] or {}).get("category"), r["schema"])
        for r in read_records(results).values()
    }
    return records, _summary(results)["totals"]


# Not serial: it compares categories of speedups no machine noise can hide, not timings.
@pytest.mark.slow
def test_xdist_gives_the_same_records_as_a_serial_run(
    pytester: pytest.Pytester, demo_cache: Path, reference: Path, tmp_path: Path
) -> None:
    serial, parallel = reference, tmp_path / "parallel"
    result = _run(pytester, demo_cache, parallel, "-n", "2")
    result.assert_outcomes(passed=len(DEMO_IDS))  # xdist's controller does not count deselections
    result.stdout.fnmatch_lines(["*= isobench =*", f"totals: significant {len(DEMO_IDS)}"])
    assert _shape(parallel) == _shape(serial)
    assert sorted(_shape(parallel)[0]) == [f"tasks/demo.yaml::{i}" for i in DEMO_IDS]
    # One run id for the whole session, workers included.
    assert len({r["run_id"] for r in read_records(parallel).values()}) == 1
    bench = json.loads((parallel / "benchmark.json").read_text(encoding="utf-8"))
    assert {b["group"] for b in bench["benchmarks"]} == set(DEMO_IDS)
