"""Timed regions long enough to measure: ``ISOBENCH_MIN_TIME_S`` reaches the perf test,
``loops`` comes back into the record and the checks, values under 1 ms warn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from demo_project import ROOT, read_records
from gitutil import git

from pytest_isobench.demo.projects import PERF_DIR
from pytest_isobench.demo.repository import demo_repo
from pytest_isobench.demo.tasks import perf_source
from pytest_isobench.perf.perftest import MIN_TIME_ENV, parse_report

# Honours the protocol: repeats a tiny region until the minimum time, reports per loop.
# The digest carries the minimum time it was given, so the record shows what arrived.
LOOPING = """\
import json, os, time
least = float(os.environ["ISOBENCH_MIN_TIME_S"])
loops, start = 0, time.perf_counter()
while True:
    sum(range(100))
    loops += 1
    elapsed = time.perf_counter() - start
    if elapsed >= least:
        break
print(json.dumps({"time_s": elapsed / loops, "loops": loops, "digest": repr(least)}))
"""

# Ignores it: a 0.2 ms region timed once.
SHORT = """\
import json, time
start = time.perf_counter()
while time.perf_counter() - start < 0.0002:
    pass
print(json.dumps({"time_s": time.perf_counter() - start, "digest": "same"}))
"""


def test_parse_report_reads_loops() -> None:
    report = parse_report('noise\n{"time_s": 0.002, "loops": 50, "digest": "d"}\n', None)
    assert (report.value, report.loops, report.digest, report.warning) == (0.002, 50, "d", None)
    assert parse_report('{"time_s": 0.2}', None).loops is None
    for bad in ("0", "-3", "2.5", '"7"', "true"):
        report = parse_report(f'{{"time_s": 0.2, "loops": {bad}}}', None)
        assert report.value == 0.2 and report.loops is None
        assert report.warning is not None and "loops must be an integer >= 1" in report.warning


def _run_demo_perf(tree: Path, name: str, min_time: str | None) -> dict[str, object]:
    script = perf_source(PERF_DIR / f"{name.replace('-', '_')}.py")  # with the shared timing code in it
    (tree / "_perf.py").write_text(script, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin"} | ({MIN_TIME_ENV: min_time} if min_time is not None else {})
    proc = subprocess.run([sys.executable, "_perf.py"], cwd=tree, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def test_demo_perf_test_repeats_its_region_to_the_minimum_time(demo_cache: Path, tmp_path: Path) -> None:
    """The demo's fastest region (the seen-set unique(), well under 1 ms) loops up to the minimum."""
    record = next(
        json.loads(line)
        for line in (ROOT / "data/demo.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["instance_id"] == "demo-unique-seen-set"
    )
    repo = demo_repo(demo_cache)
    tree = tmp_path / "head"
    git(repo, "worktree", "add", "-q", "--detach", str(tree), record["head_commit"])
    try:
        once = _run_demo_perf(tree, "unique-seen-set", "0")
        assert once["loops"] == 1
        asked = _run_demo_perf(tree, "unique-seen-set", "0.05")
        loops, per_loop = asked["loops"], asked["time_s"]
        assert isinstance(loops, int) and isinstance(per_loop, float)
        assert loops > 1
        # The fastest of the passes may come in under the target the calibration reached: this
        # machine's cores switch between speed states about 1.8x apart, so a calibration in the
        # slow state is followed by passes at nearly half the time.
        assert per_loop * loops >= 0.05 * 0.5, asked
        assert asked["digest"] == once["digest"]
    finally:
        git(repo, "worktree", "remove", "--force", str(tree))


@pytest.mark.slow
def test_min_time_reaches_the_perf_test_and_short_values_warn(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    records = [json.loads(x) for x in (ROOT / "data/demo.jsonl").read_text(encoding="utf-8").splitlines()][:2]
    looping, short = records
    looping["perf_tests"][0]["script"] = LOOPING
    short["perf_tests"][0]["script"] = SHORT
    (pytester.path / "data").mkdir()
    (pytester.path / "data/demo.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    suite = (ROOT / "tasks/demo.yaml").read_text(encoding="utf-8")
    assert "  min_time_s: 0.01\n" in suite
    (pytester.path / "tasks").mkdir()
    (pytester.path / "tasks/demo.yaml").write_text(suite.replace("  min_time_s: 0.01\n", "  min_time_s: 0.03\n"))
    results = tmp_path / "results"
    result = pytester.runpytest_subprocess(
        "tasks/demo.yaml",
        "-p",
        "no:cacheprovider",
        f"--isobench-cache-dir={demo_cache}",
        f"--isobench-results={results}",
        "--isobench-backend=local",
        "--isobench-max-time=2",
        "--isobench-min-rounds=3",
        timeout=300,
    )
    found = read_records(results)
    assert len(found) == 2, result.stdout.str()[-3000:]
    by_instance = {r["instance_id"]: r for r in found.values()}
    assert all(r["status"] in ("passed", "failed") for r in found.values())

    # The value arrived (the digest echoes it), loops came back per value, per loop.
    test = by_instance[looping["instance_id"]]["perf_tests"][0]
    for variant in ("baseline", "human"):
        data = test["variants"][variant]
        assert data["digests"] == ["0.03"]
        assert len(data["loops"]) == len(data["values"]) >= 3
        assert all(n > 1 for n in data["loops"])
        assert all(v * n >= 0.03 for v, n in zip(data["values"], data["loops"], strict=True))
    assert not any("under 1 ms" in w for w in by_instance[looping["instance_id"]]["noise"]["warnings"])

    # The 0.2 ms test without loops: warned in the record, as a pytest warning and in the summary.
    short_record = by_instance[short["instance_id"]]
    assert short_record["perf_tests"][0]["variants"]["baseline"]["loops"][0] is None
    short_warnings = [w for w in short_record["noise"]["warnings"] if "under 1 ms" in w]
    name = short["perf_tests"][0]["name"]
    assert sorted(w.split(":")[0] for w in short_warnings) == [f"[{name}] baseline", f"[{name}] human"]
    assert {"start", "end"} <= set(short_record["noise"])
    out = result.stdout.str()
    assert "NoiseWarning" in out and "under 1 ms" in out
    result.stdout.fnmatch_lines(
        ["*= isobench =*", "noise: * task(s) measured with warnings*", f"  {short_record['item_id']}: *under 1 ms*"]
    )
