"""The Ray executor's options, validation, demand and progress line: no cluster needed.

Bad values and combinations are usage errors before anything connects; the plugin never
imports Ray unless a run asks for it; a task's demand follows its suite; a task no node
can hold is explained with the numbers.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_isobench.executors.demand import (
    Demand,
    NodeResources,
    cpuset_size,
    gpu_count,
    live_nodes,
    parse_memory,
    placement_problem,
)
from pytest_isobench.executors.progress import Progress, Throttled


def test_help_lists_the_ray_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--isobench-ray=ADDRESS*", "*--isobench-agent-concurrency=N*", "*isobench_ray*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--isobench-ray=not an address"], "*--isobench-ray: 'not an address' is not 'auto' or a cluster address*"),
        (["--isobench-agent-concurrency=0"], "*--isobench-agent-concurrency: '0' is not a whole number >= 1*"),
        (["--isobench-agent-concurrency=4"], "*--isobench-agent-concurrency applies to Ray runs only*"),
        (["--isobench-ray=auto", "-n", "2"], "*--isobench-ray and -n 2 do not combine*"),
        (["--isobench-ray=auto", "--isobench-gpus=0,1"], "*--isobench-gpus=0,1 names GPUs of this machine*"),
    ],
)
def test_bad_ray_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_ini_key_is_read_and_validated(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nisobench_ray = nowhere\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--isobench-ray: 'nowhere' is not 'auto'*"])


@pytest.mark.slow
def test_plain_tests_with_ray_on_run_as_usual_without_connecting(pytester: pytest.Pytester) -> None:
    pytest.importorskip("ray")
    pytester.makepyfile("def test_x(): pass")
    # No task item: nothing for the cluster, so no connection is attempted (none answers here).
    result = pytester.runpytest_subprocess("--isobench-ray=127.0.0.1:1")
    result.assert_outcomes(passed=1)


def test_plugin_import_does_not_import_ray() -> None:
    code = "import sys, pytest_isobench.plugin; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_demand_from_suite_notation() -> None:
    assert parse_memory("1g") == 1024**3
    assert parse_memory("512m") == 512 * 1024**2
    assert parse_memory("2GiB") == 2 * 1024**3
    assert parse_memory(None) == 0
    with pytest.raises(ValueError, match="expected a size"):
        parse_memory("lots")
    assert cpuset_size("0-3,6") == 5
    assert cpuset_size(None) == 1
    with pytest.raises(ValueError, match="cpuset 'a-b'"):
        cpuset_size("a-b")
    assert gpu_count(2, None) == 2
    assert gpu_count(0, "3") == 3
    assert gpu_count(0, "0,1") == 2
    assert gpu_count(0, "device=4") == 1
    assert gpu_count(0, "all") == 1
    assert gpu_count(0, None) == 0


def test_placement_names_what_is_missing() -> None:
    nodes = live_nodes(
        [
            {"Alive": True, "NodeID": "a", "Resources": {"CPU": 2.0, "GPU": 2.0, "memory": 8 * 1024**3}},
            {"Alive": True, "NodeID": "b", "Resources": {"CPU": 4.0, "GPU": 2.0, "memory": 8 * 1024**3}},
            {"Alive": False, "NodeID": "c", "Resources": {"CPU": 64.0, "GPU": 8.0, "memory": 8 * 1024**3}},
        ]
    )
    assert [n.node_id for n in nodes] == ["a", "b"]
    assert placement_problem(Demand(gpus=2, cpus=2), nodes) is None
    problem = placement_problem(Demand(gpus=8, cpus=1), nodes)
    assert problem is not None
    assert "needs 8 GPU(s), 1 CPU(s) on one node" in problem
    assert "largest node has 2 GPU(s), 4 CPU(s)" in problem and "4 GPU(s) in all" in problem
    # Enough GPUs in all, but not on one node.
    assert placement_problem(Demand(gpus=3), nodes) is not None
    assert placement_problem(Demand(memory=16 * 1024**3), nodes) is not None
    assert placement_problem(Demand(), []) == "the Ray cluster has no live node"
    assert placement_problem(Demand(), [NodeResources("x", 0, 1, 1)]) is None


def test_progress_line_counts_each_task_once() -> None:
    progress = Progress(total=3)
    for _key in ("a", "b", "c"):
        progress.submitted("agent")
    progress.started("agent", "a")
    progress.started("agent", "a")  # a retry after its node died: still one running task
    progress.started("agent", "b")
    progress.finished("agent", "a")
    progress.submitted("measure")
    assert progress.line() == (
        "ray [3 tasks]: agent 3 submitted, 1 running, 1 done | measure 1 submitted, 0 running, 0 done"
    )
    shown: list[str] = []
    now = [0.0]
    throttled = Throttled(shown.append, every_s=5.0, clock=lambda: now[0])
    throttled("one")
    throttled("two")  # too soon
    now[0] = 6.0
    throttled("two")
    throttled("two", force=True)  # unchanged: not repeated
    throttled("three", force=True)
    assert shown == ["one", "two", "three"]
