"""A node's cores held by one measurement at a time (executors/cores.py), on real file locks.

Threads stand in for the measurements of one node (``flock`` locks belong to open file
descriptions, so two holders in one process exclude each other as two processes do); a
child process that dies while holding cores shows that the kernel gives them back.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytest_isobench.executors.cores import hold_cores, preferred_order
from pytest_isobench.sandbox.cpus import parse_cpuset


def test_the_suites_cores_come_first_then_the_nodes_others() -> None:
    assert preferred_order([2, 3], [0, 1, 2, 3]) == [2, 3, 0, 1]
    assert preferred_order([7], [0, 1]) == [0, 1]  # the node lacks core 7: its own instead


def test_two_holders_get_disjoint_cores_the_suites_first(tmp_path: Path) -> None:
    with hold_cores(tmp_path, "0", [0, 1, 2]) as first, hold_cores(tmp_path, "0", [0, 1, 2]) as second:
        assert (first.cpuset, second.cpuset) == ("0", "1")
        assert first.waited_s < 1 and first.note is None
    with hold_cores(tmp_path, "1-2", [0, 1, 2, 3]) as pair, hold_cores(tmp_path, "1-2", [0, 1, 2, 3]) as other:
        assert pair.cpuset == "1-2" and other.cpuset == "0,3"
    with hold_cores(tmp_path, "0", [0, 1, 2]) as again:
        assert again.cpuset == "0", "released cores are free again"


def test_a_node_with_too_few_free_cores_runs_them_one_at_a_time(tmp_path: Path) -> None:
    spans: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def measurement() -> None:
        with hold_cores(tmp_path, "0", [0, 1]) as held:
            begin = time.monotonic()
            time.sleep(0.4)
            with lock:
                spans.append((held.cpuset, begin, time.monotonic()))

    threads = [threading.Thread(target=measurement) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(spans) == 4
    for i, (cores_a, start_a, end_a) in enumerate(spans):
        for cores_b, start_b, end_b in spans[i + 1 :]:
            if start_a < end_b and start_b < end_a:
                assert not set(parse_cpuset(cores_a)) & set(parse_cpuset(cores_b)), spans
    # 4 measurements of 0.4 s on 2 cores: two at a time, never more.
    most = max(sum(1 for _c, s, e in spans if s <= t < e) for _c, t, _e in spans)
    assert most == 2, spans


def test_more_cores_than_the_node_has_runs_alone_on_all_of_them(tmp_path: Path) -> None:
    with hold_cores(tmp_path, "0-3", [0, 1]) as held:
        assert held.cpuset == "0-1"
        assert held.note is not None and "asks for 4 cores" in held.note and "this node has 2" in held.note
        with pytest.raises(TimeoutError, match="no 1 free core"), hold_cores(tmp_path, "0", [0, 1], timeout_s=0.5):
            pass


def test_cores_of_a_holder_that_died_are_free(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from pytest_isobench.executors.cores import hold_cores\n"
            "with hold_cores(Path(sys.argv[1]), '0', [0]):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(TimeoutError), hold_cores(tmp_path, "0", [0], timeout_s=0.3):
            pass
        child.kill()
        child.wait(timeout=10)
        with hold_cores(tmp_path, "0", [0], timeout_s=5) as held:
            assert held.cpuset == "0"
    finally:
        if child.poll() is None:
            child.kill()
