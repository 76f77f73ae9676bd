"""Cores for parallel workers: under ``-n`` each xdist worker measures on cores of its own."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from faultkit import make_project, output, records, start

from pytest_isobench.sandbox.cpus import format_cpuset, parse_cpuset, worker_cpuset
from pytest_isobench.sandbox.local import pinned, run_process
from pytest_isobench.suite import SuiteError, load_suite


def test_cpusets_parse_and_format() -> None:
    assert parse_cpuset("0-2,6") == [0, 1, 2, 6]
    assert parse_cpuset("3") == [3]
    assert format_cpuset([6, 0, 1, 2, 4]) == "0-2,4,6"
    for bad in ("", "a", "3-1", "1-", "0,,2"):
        with pytest.raises(ValueError, match="expected CPU numbers and ranges"):
            parse_cpuset(bad)


def test_each_worker_gets_its_own_cores_counting_from_the_suites() -> None:
    # The demo's cpuset "0", -n 2 on two cores: one core each.
    assert [worker_cpuset("0", k, 2, [0, 1]) for k in range(2)] == [("0", None), ("1", None)]
    # Two cores per measurement from 2-3, four workers on eight cores: the suite's first.
    shares = [worker_cpuset("2-3", k, 4, range(8))[0] for k in range(4)]
    assert shares == ["2-3", "0-1", "4-5", "6-7"]
    assert len({c for s in shares for c in parse_cpuset(str(s))}) == 8  # disjoint
    # One worker, or no cpuset: unchanged.
    assert worker_cpuset("0", 0, 1, [0, 1]) == ("0", None)
    assert worker_cpuset(None, 1, 2, [0, 1]) == (None, None)


def test_too_few_cores_keep_the_suites_and_say_why() -> None:
    mine, warning = worker_cpuset("0", 2, 3, [0, 1])
    assert mine == "0"
    assert warning is not None and "3 workers" in warning and "lower -n" in warning


def test_a_bad_cpuset_in_a_suite_names_it(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("")
    suite = tmp_path / "s.yaml"
    suite.write_text("name: s\ndataset: d.jsonl\nresources:\n  cpuset: 0-x\n")
    with pytest.raises(SuiteError, match=r"cpuset.*'0-x'.*expected CPU numbers"):
        load_suite(suite)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
@pytest.mark.slow
def test_two_xdist_workers_record_different_cores(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    project = make_project(tmp_path / "p", tasks=4, suite={"resources": {"cpuset": "0"}})
    cache, results = tmp_path / "cache", tmp_path / "results"
    proc = start(project, cache, results, "--isobench-backend=local", "-n", "2")
    proc.wait(timeout=300)
    text = output(project)
    assert proc.returncode in (0, 1), text[-3000:]
    found = records(results)
    assert sorted(found) == project.ids, text[-3000:]
    assert {r["machine"]["cpuset"] for r in found.values()} == {"0", "1"}, text[-3000:]


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_the_local_backend_pins_commands_to_the_cpuset(tmp_path: Path) -> None:
    core = max(os.sched_getaffinity(0))
    argv = [*pinned(str(core)), "sh", "-c", "grep Cpus_allowed_list /proc/self/status"]
    result = run_process(argv, tmp_path, 30, dict(os.environ))
    assert result.stdout.split()[-1] == str(core), result.stdout
    assert pinned(None) == [] and pinned("100000") == []  # no cpuset, or no such core here
