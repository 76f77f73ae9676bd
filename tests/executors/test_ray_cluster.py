"""The Ray executor on a real local Ray cluster (head + two nodes, 4 declared GPUs), started here.

Synthetic work (phases that wait and return records) exercises the executor itself:
outcomes replayed into pytest (terminal, junitxml, ``--lf``, ``-x``), one record per task
written by the controller, GPUs never shared by two measurements at once, the agent
concurrency limit, a task that no node can hold skipped at once, Ctrl-C cancelling every
remote task, and a node removed in the middle of a task: the task is retried elsewhere and
recorded once. The real task run: the demo suite with the human diff as the agent gives
the same records on the cluster as here, and a node removed in the middle of a Docker
measurement: retried, recorded once, no container of the run left. Tests run in file
order: the node removals come last (each adds a node back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_project import DEMO_IDS, copy_demo, demo_args, read_records
from faultkit import interruptible
from ray_cluster import OBJECT_STORE, core_overlaps, local_cluster, measurement_overlaps, records, synthetic_suite

from pytest_isobench.sandbox.protocol import LABEL_RUN, LABEL_TASK

pytestmark = pytest.mark.slow

IDS = [f"syn-{i:02d}" for i in range(6)] + ["syn-fail-06", "syn-error-07"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'pytest-isobench[ray]'")
    with local_cluster() as c:
        yield c


def _run(pytester: pytest.Pytester, cluster: Any, results: Path, *args: str, sleep: float = 1.0) -> pytest.RunResult:
    pytester._monkeypatch.setenv("ISOBENCH_SYNTHETIC_SLEEP", str(sleep))
    result: pytest.RunResult = pytester.runpytest_subprocess(
        "tasks/syn.yaml",
        f"--isobench-ray={cluster.address}",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        *args,
        timeout=240,
    )
    return result


@pytest.mark.serial  # measurements side by side within 3 s: other tests beside it delay them
def test_outcomes_records_junit_gpus_and_last_failed(pytester: pytest.Pytester, cluster: Any, tmp_path: Path) -> None:
    synthetic_suite(pytester.path, IDS, gpus=1)
    results, junit = tmp_path / "results", tmp_path / "junit.xml"
    result = _run(pytester, cluster, results, f"--junitxml={junit}")
    result.assert_outcomes(passed=6, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*isobench: on Ray cluster*3 live node(s)*", "ray [[]8 tasks]: measure 8 submitted, 0 running, 8 done"]
    )
    result.stdout.fnmatch_lines(
        ["*RuntimeError: synthetic infrastructure failure*", "*synthetic: worse than the human*"]
    )
    recs = records(results)
    assert sorted(recs) == sorted(f"syn-{h}" for h in _heads(IDS))
    by_instance = {r.get("instance_id") or r["item_id"]: r for r in recs.values()}
    assert by_instance["syn-fail-06"]["status"] == "failed"
    statuses = sorted(r["status"] for r in recs.values())
    assert statuses == ["error"] + ["failed"] + ["passed"] * 6
    for rec in recs.values():
        runs = rec["ray"]["runs"]
        assert [r["phase"] for r in runs] == ["measure"], rec["item_id"]
        assert len(runs[0]["gpu_ids"]) == 1, runs
        assert rec["ray"]["attempts"] == {"measure": 1}
        assert runs[0]["cpuset"] is not None, "the measurement held no cores of its node"
        if rec["status"] != "error":  # an error's record is built on the controller: no machine of the node
            assert rec["machine"]["cpuset"] == runs[0]["cpuset"], "the record names the cores it held"
    assert measurement_overlaps(list(recs.values())) == []
    assert core_overlaps(list(recs.values())) == []
    # 8 tasks of ~1 s on 4 GPUs: measurements ran side by side.
    spans = [r["ray"]["runs"][0] for r in recs.values()]
    assert max(s["start"] for s in spans) < min(s["end"] for s in spans) + 3.0
    cases = {c.get("name"): c for c in ET.parse(junit).iter("testcase")}
    assert len(cases) == 8
    failed = [n for n, c in cases.items() if c.find("failure") is not None]
    errored = [n for n, c in cases.items() if c.find("error") is not None]
    assert len(failed) == 1 and len(errored) == 1
    # --lf reads what the replayed reports left in pytest's cache: only those two run again.
    again = _run(pytester, cluster, tmp_path / "again", "--lf", sleep=0.2)
    again.assert_outcomes(failed=1, errors=1, deselected=6)
    assert len(records(tmp_path / "again")) == 2


def _heads(ids: list[str]) -> list[str]:
    import hashlib

    return [hashlib.sha1(i.encode()).hexdigest()[:8] for i in ids]


def test_exitfirst_stops_and_cancels_the_rest(pytester: pytest.Pytester, cluster: Any, tmp_path: Path) -> None:
    # -x: the first failure stops the run; what was still queued is cancelled, not recorded.
    synthetic_suite(pytester.path, ["syn-fail-00", *[f"syn-{i:02d}" for i in range(1, 12)]], gpus=2)
    stopped = _run(pytester, cluster, tmp_path / "r", "-x", "-p", "no:cacheprovider", sleep=1.5)
    assert stopped.ret == 1
    # The two lines come from different hooks; their order in the output is not fixed.
    stopped.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    stopped.stdout.fnmatch_lines(["*cancelling * Ray task(s)*"])
    assert len(records(tmp_path / "r")) < 12


def test_agent_phase_with_concurrency_limit(pytester: pytest.Pytester, cluster: Any, tmp_path: Path) -> None:
    ids = [f"syn-{i:02d}" for i in range(6)]
    synthetic_suite(pytester.path, ids, gpus=1)
    result = _run(
        pytester, cluster, tmp_path / "r", "--isobench-agent=human", "--isobench-agent-concurrency=2", sleep=1.0
    )
    result.assert_outcomes(passed=6)
    recs = records(tmp_path / "r")
    agents = []
    for rec in recs.values():
        phases = [r["phase"] for r in rec["ray"]["runs"]]
        assert phases == ["agent", "measure"], phases
        agent_run, measure_run = rec["ray"]["runs"]
        assert agent_run["end"] <= measure_run["start"] + 0.05
        assert rec["patch"].startswith("--- a/x.py"), "the patch text travelled to the measurement"
        agents.append((agent_run["start"], agent_run["end"]))
    most = max(sum(1 for s, e in agents if s <= t < e) for t, _ in agents)
    assert most <= 2, f"{most} agent runs at once with --isobench-agent-concurrency=2"


def test_unplaceable_task_is_skipped_at_once(pytester: pytest.Pytester, cluster: Any, tmp_path: Path) -> None:
    synthetic_suite(pytester.path, ["syn-big"], gpus=8)
    begin = time.monotonic()
    result = _run(pytester, cluster, tmp_path / "r", "-rs", sleep=0.1)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs 8 GPU(s)*the largest node has 2 GPU(s)*4 GPU(s) in all*"])
    assert time.monotonic() - begin < 60
    (rec,) = records(tmp_path / "r").values()
    assert rec["status"] == "skipped" and "8 GPU(s)" in rec["reason"]


# Fields a Ray run may differ in from a local one besides timing: where it ran, the samples,
# and what the samples decide (on a busy 2-core machine the demo's verdicts move with noise).
_MEASURED = ("ray", "machine", "run_id", "setup_s", "versions", "agent_run", "agent_logs", "noise", "status", "reason")


def _same_shape(record: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in record.items() if k not in _MEASURED}
    data["verdict"] = sorted(data.get("verdict") or {})
    data["perf_tests"] = [(p["name"], sorted(p["variants"])) for p in data.get("perf_tests", [])]
    return data


_DEMO_PAIR = (DEMO_IDS[0], DEMO_IDS[2])


def test_demo_with_human_agent_on_ray_matches_a_local_run(
    pytester: pytest.Pytester, cluster: Any, demo_cache: Path, tmp_path: Path
) -> None:
    """The real task run on the cluster: same outcomes and records as here; GPUs Ray assigned, never shared."""
    # Two of the demo's four tasks (the others are alike): the file stays within a few minutes.
    budget = ("--isobench-backend=local", "--isobench-agent=human", "--isobench-max-time=6", "--isobench-min-rounds=3")
    budget += ("-k", " or ".join(i.removeprefix("demo-") for i in _DEMO_PAIR))
    copy_demo(pytester.path)
    suite = pytester.path / "tasks" / "demo.yaml"
    # No cpuset (the records' shape does not depend on it): on Ray four CPU-bound measurements
    # run at once, and here the three nodes share the machine's 2 cores; pinned to the demo's
    # CPU 0 they would all share one.
    text = suite.read_text(encoding="utf-8")
    assert '  cpuset: "0"\n' in text
    text = text.replace('  cpuset: "0"\n', "")
    suite.write_text(text, encoding="utf-8")
    local = pytester.runpytest_subprocess(*demo_args(demo_cache, tmp_path / "local", *budget), timeout=600)
    assert _ran(local) == 2
    # The same suite, each measurement asking Ray for one of the cluster's (declared) GPUs.
    suite.write_text(suite.read_text(encoding="utf-8") + "gpus_required: 1\n", encoding="utf-8")
    args = demo_args(tmp_path / "ray-cache", tmp_path / "ray", *budget, f"--isobench-ray={cluster.address}")
    on_ray = pytester.runpytest_subprocess(*args, timeout=600)
    assert _ran(on_ray) == 2
    here, there = read_records(tmp_path / "local"), read_records(tmp_path / "ray")
    assert sorted(here) == sorted(there) == list(_DEMO_PAIR)
    for item_id in _DEMO_PAIR:
        assert _same_shape(there[item_id]) == _same_shape(here[item_id]), item_id
        assert there[item_id]["patch"] == here[item_id]["human_patch"], "the human diff travelled as the patch"
        assert there[item_id]["verdict"]["equivalent"] is True
        runs = there[item_id]["ray"]["runs"]
        assert [r["phase"] for r in runs] == ["agent", "measure"]
        assert len(runs[1]["gpu_ids"]) == 1 and runs[0]["gpu_ids"] == []
        assert there[item_id]["ray"]["attempts"] == {"agent": 1, "measure": 1}
    assert measurement_overlaps(list(there.values())) == []
    # Each node built its own cache (repository cloned there) and left no worktree behind.
    nodes = sorted(p.name for p in (tmp_path / "ray-cache").glob("ray-node-*"))
    assert nodes, "no node cache directory"
    for node in nodes:
        left = list((tmp_path / "ray-cache" / node / "worktrees").rglob("*.py"))
        assert left == [], left[:3]


def _ran(result: pytest.RunResult) -> int:
    """Tasks that were timed and judged (passed or failed on their verdict; no error, no skip)."""
    outcomes = result.parseoutcomes()
    assert not outcomes.get("errors") and not outcomes.get("skipped"), result.stdout.str()[-3000:]
    return int(outcomes.get("passed", 0)) + int(outcomes.get("failed", 0))


def test_ctrl_c_cancels_every_remote_task(pytester: pytest.Pytester, cluster: Any, tmp_path: Path) -> None:
    """Every measurement running at Ctrl-C is interrupted or killed, none runs to its end.

    A measurement waits 60 s in short steps, far longer than the run takes to stop: one that
    was not cancelled is still waiting (its process alive, no mark) when the run has ended.
    What only the harness's cancel shows is its line: Ray also kills a driver's tasks when the
    driver exits, so the marks and processes alone would not tell a missing cancel apart.
    """
    synthetic_suite(pytester.path, [f"syn-{i:02d}" for i in range(8)], gpus=1)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "ISOBENCH_SYNTHETIC_SLEEP": "60", "ISOBENCH_SYNTHETIC_MARKS": str(marks)}
    argv = [sys.executable, "-m", "pytest", "tasks/syn.yaml", "-p", "no:cacheprovider"]
    argv += [f"--isobench-ray={cluster.address}", f"--isobench-results={tmp_path / 'r'}"]
    argv += [f"--isobench-cache-dir={pytester.path / 'cache'}"]
    proc = subprocess.Popen(
        argv, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=interruptible
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(marks.glob("*.started"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "no measurement started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 2, text[-3000:]
    assert "cancelling" in text and "Ray task(s)" in text, text[-3000:]
    assert not list(marks.glob("*.done")), "a measurement ran to its end after Ctrl-C"
    # The cancel first interrupts (the work closes its sandboxes), then kills what is left after a
    # grace; on a loaded machine no interrupt may land within it (seen in a suite run), so either counts.
    for started in marks.glob("*.started"):
        if (marks / f"{started.stem}.cancelled").exists():
            continue  # interrupted by the cancel
        pid = int(started.read_text())
        gone = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < gone:
            time.sleep(0.2)  # a forced cancel kills the worker; give the node a moment to reap it
        assert not _alive(pid), f"{started.stem}: neither interrupted nor killed, its worker {pid} still runs"
    assert records(tmp_path / "r") == {}


def _alive(pid: int) -> bool:
    """The process runs (a zombie, killed and not yet reaped, counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "(zombie)" not in status


def test_node_removed_mid_task_is_retried_and_recorded_once(
    pytester: pytest.Pytester, cluster: Any, tmp_path: Path
) -> None:
    ids = [f"syn-{i:02d}" for i in range(6)]
    synthetic_suite(pytester.path, ids, gpus=1)
    pytester._monkeypatch.setenv("ISOBENCH_SYNTHETIC_SLEEP", "6")
    results = tmp_path / "r"
    argv = [sys.executable, "-m", "pytest", "tasks/syn.yaml", "-p", "no:cacheprovider"]
    argv += [f"--isobench-ray={cluster.address}", f"--isobench-results={results}"]
    argv += [f"--isobench-cache-dir={pytester.path / 'cache'}"]
    proc = subprocess.Popen(argv, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        victim = _node_running_a_measurement(cluster, proc)
        cluster.remove_node(victim, allow_graceful=False)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
        cluster.add_node(num_cpus=2, num_gpus=2, object_store_memory=OBJECT_STORE)
    text = out.decode()
    assert proc.returncode == 0, text[-3000:]
    recs = records(results)
    assert len(recs) == 6, text[-3000:]
    assert all(r["status"] == "passed" for r in recs.values())
    retried = [r for r in recs.values() if r["ray"]["retries"] > 0]
    assert retried, "no task was running on the removed node"
    for rec in retried:
        nodes = {run["node_id"] for run in rec["ray"]["runs"]}
        assert victim.node_id not in nodes, "the result came from the removed node"
        assert rec["ray"]["attempts"]["measure"] >= 2
    assert measurement_overlaps(list(recs.values())) == []


@pytest.mark.docker
def test_node_removed_mid_measurement_in_docker_leaves_no_container(
    pytester: pytest.Pytester, cluster: Any, tmp_path: Path
) -> None:
    """A node removed while its Docker measurement runs: retried elsewhere, recorded once, no container left.

    The suite asks for no GPU: this engine has no GPU runtime, so a GPU device request could
    not start a container (the nodes still declare GPUs; Ray's GPU ids reaching the sandbox
    are checked by the other tests). Sequenced on events: the node goes once the tracker
    says a measurement started on it and that task's container runs on the engine.
    """
    import docker

    copy_demo(pytester.path)
    results = tmp_path / "r"
    args = demo_args(tmp_path / "cache", results, "--isobench-backend=docker", "-k", "ac9bebc0 or 65ce4b7f")
    args += ["--isobench-max-time=20", "--isobench-min-rounds=6", f"--isobench-ray={cluster.address}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args], cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    client = docker.from_env()
    try:
        victim, run_id, doomed = _node_with_a_running_container(cluster, proc, client)
        cluster.remove_node(victim, allow_graceful=False)
        out, _ = proc.communicate(timeout=400)
        left = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
        cluster.add_node(num_cpus=2, num_gpus=2, object_store_memory=OBJECT_STORE)
    text = out.decode()
    assert proc.returncode in (0, 1), text[-3000:]  # a verdict may fail; nothing may error
    recs = records(results)  # each task once (records() refuses a second record)
    assert len(recs) == 2, text[-3000:]
    assert all(r["status"] in ("passed", "failed") for r in recs.values()), text[-3000:]
    retried = [r for r in recs.values() if r["ray"]["retries"] > 0]
    assert retried, "the measurement on the removed node was not retried"
    for rec in retried:
        assert rec["ray"]["attempts"]["measure"] >= 2
        assert victim.node_id not in {run["node_id"] for run in rec["ray"]["runs"]}
    assert {r["run_id"] for r in recs.values()} == {run_id}
    assert left == [], f"containers of the run left: {[c.name for c in left]} (killed attempt had {doomed})"


def _node_with_a_running_container(
    cluster: Any, proc: subprocess.Popen[bytes], client: Any
) -> tuple[Any, str, list[str]]:
    """A worker node on which a measurement started and that task's container is running; the run id."""
    deadline = time.monotonic() + 180
    workers = {n.node_id: n for n in cluster.worker_nodes}
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
        found = cluster.starts()
        if found is not None:
            run_id, starts = found
            on_worker = {key.split("::")[-1]: node for key, phase, node, _t in starts if phase == "measure"}
            for task, node in on_worker.items():
                if node not in workers:
                    continue
                running = client.containers.list(
                    filters={"label": [f"{LABEL_RUN}={run_id}", f"{LABEL_TASK}={task}"], "status": "running"}
                )
                if running:
                    return workers[node], run_id, [c.name for c in running]
        time.sleep(0.3)
    pytest.fail("no measurement's container ran on a worker node within 180 s")


def _node_running_a_measurement(cluster: Any, proc: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + 90
    workers = {n.node_id: n for n in cluster.worker_nodes}
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
        found = cluster.starts()
        if found is not None:
            _run_id, starts = found
            running = [node for _key, phase, node, _t in starts if phase == "measure" and node in workers]
            if running:
                return workers[running[0]]
        time.sleep(0.3)
    pytest.fail("no measurement started on a worker node within 90 s")
