"""Measurements on one Ray node hold cores of their own (executors/cores.py), on a real local cluster.

The cluster's one worker node declares only the cores this machine has (2 here), so Ray
runs two 1-core measurements of the demo at once on it. The demo's A/A (the human diff as
the agent) through ``--isobench-ray`` must record, for measurements that overlapped in
time, disjoint cpusets (read from the records: each measurement's span on its node and its
``machine.cpuset``), and decide as the same A/A run in process does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_project import copy_demo, demo_args, read_records
from ray_cluster import core_overlaps, local_cluster

from pytest_isobench.sandbox.cpus import available_cpus, parse_cpuset

# The verdicts compared below come from timings that tests running beside it would blur.
pytestmark = [pytest.mark.slow, pytest.mark.serial]

_TASKS = ("demo-65ce4b7f", "demo-ac9bebc0")
_WRONG = {"beats", "worse"}  # in an A/A, the only wrong answers


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'pytest-isobench[ray]'")
    with local_cluster(gpu_nodes=1, gpus_per_node=0, cpus=len(available_cpus())) as c:
        yield c


def _measure_run(record: dict[str, Any]) -> dict[str, Any]:
    (run,) = [r for r in record["ray"]["runs"] if r["phase"] == "measure"]
    return run


def _category(record: dict[str, Any]) -> str:
    verdict = record.get("verdict") or {}
    return str(verdict.get("category"))


def test_demo_aa_on_ray_measures_on_disjoint_cores_and_decides_as_in_process(
    pytester: pytest.Pytester, cluster: Any, demo_cache: Path, tmp_path: Path
) -> None:
    copy_demo(pytester.path)  # the shipped suite: cpuset "0", one core per measurement
    budget = ("--isobench-backend=local", "--isobench-agent=human", "--isobench-pass=similar,inconclusive")
    # The suite's own budget (30 s): at 20 s, two measurements at once on this 2-core machine left
    # ac9bebc0 on Ray at 11 rounds, 0.99x [0.93, 1.02], "inconclusive" where the run here said "similar".
    budget += ("--isobench-max-time=30", "--isobench-min-rounds=3", "-k", " or ".join(t[5:] for t in _TASKS))
    here = pytester.runpytest_subprocess(*demo_args(demo_cache, tmp_path / "local", *budget), timeout=600)
    ray_args = demo_args(tmp_path / "ray-cache", tmp_path / "ray", *budget, f"--isobench-ray={cluster.address}")
    there = pytester.runpytest_subprocess(*ray_args, timeout=600)
    local, on_ray = read_records(tmp_path / "local"), read_records(tmp_path / "ray")
    assert sorted(local) == sorted(on_ray) == sorted(_TASKS), (here.stdout.str()[-2000:], there.stdout.str()[-2000:])

    runs = {item: _measure_run(rec) for item, rec in on_ray.items()}
    for item, rec in on_ray.items():
        assert runs[item]["cpuset"] is not None, "the measurement held no cores of its node"
        assert rec["machine"]["cpuset"] == runs[item]["cpuset"], "the record names the cores it ran on"
        assert len(parse_cpuset(rec["machine"]["cpuset"])) == 1, "as many cores as the suite's cpuset names"
    (a, run_a), (b, run_b) = sorted(runs.items())
    overlapped = (
        run_a["node_id"] == run_b["node_id"] and run_a["start"] < run_b["end"] and run_b["start"] < run_a["end"]
    )
    # A node of 2 declared CPUs runs both 1-CPU measurements at once: otherwise this test says nothing.
    assert overlapped, f"the two measurements did not overlap: {run_a} {run_b}"
    assert core_overlaps(list(on_ray.values())) == [], (a, run_a, b, run_b)

    decided_here = {item: _category(rec) for item, rec in local.items()}
    decided_there = {item: _category(rec) for item, rec in on_ray.items()}
    print(f"in process: {decided_here}; on Ray: {decided_there}")  # the figures, with -s
    assert not _WRONG & set(decided_here.values()) and not _WRONG & set(decided_there.values())
    for item, category in decided_here.items():
        if category == "similar":
            assert decided_there[item] == "similar", (item, decided_here, decided_there)
