"""``benchmark.json`` is pytest-benchmark's format as the installed pytest-benchmark writes it.

The version and the machine description come from pytest-benchmark itself (no copy of its
fields here), and its own ``compare`` command reads the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest_benchmark
from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
from pytest_benchmark.stats import Stats
from report_records import demo_records

from pytest_isobench.results.benchmark_json import write_benchmark_json


def test_version_machine_info_and_stats_are_pytest_benchmarks(tmp_path: Path) -> None:
    path = write_benchmark_json(tmp_path / "benchmark.json", demo_records())
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == pytest_benchmark.__version__
    theirs = json.loads(json.dumps(pytest_benchmark_generate_machine_info(), default=str))
    assert doc["machine_info"].keys() == theirs.keys()
    assert {k: v for k, v in doc["machine_info"].items() if k != "cpu"} == {
        k: v for k, v in theirs.items() if k != "cpu"
    }
    assert doc["machine_info"]["cpu"]["count"] == theirs["cpu"]["count"]
    entries = doc["benchmarks"]
    assert len(entries) == 5 * 3  # five tasks, each timed as baseline, human and agent
    for entry in entries:
        assert set(Stats.fields) <= set(entry["stats"]) and entry["stats"]["data"]


def test_pytest_benchmark_compare_reads_it(tmp_path: Path) -> None:
    path = write_benchmark_json(tmp_path / "benchmark.json", demo_records())
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pytest-benchmark"), "compare", "--columns=min,median,rounds", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo-aaaa1111[agent-perf]" in done.stdout
