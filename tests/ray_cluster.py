"""A real local Ray cluster for tests (head + two nodes with declared GPUs) and synthetic suites.

The cluster is small on purpose (the CI machine has 2 cores): few CPUs declared, a small
object store, and it is always shut down. Synthetic suites are datasets of tasks that
the executor's synthetic work runs (they wait and return records), chosen by a conftest.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_isobench.sandbox.cpus import parse_cpuset

OBJECT_STORE = 80 * 1024**2
GPU_NODES = 2
GPUS_PER_NODE = 2

SYNTHETIC_CONFTEST = """
from pytest_isobench.executors.ray_plugin import WORK_KEY
from pytest_isobench.executors.synthetic import SYNTHETIC_WORK


def pytest_configure(config):
    config.stash[WORK_KEY] = SYNTHETIC_WORK
"""


@contextmanager
def local_cluster(gpu_nodes: int = GPU_NODES, gpus_per_node: int = GPUS_PER_NODE, cpus: int = 2) -> Iterator[Any]:
    """Head (no CPU, no GPU: it holds only the run's tracker) and ``gpu_nodes`` nodes with declared GPUs.

    Every phase runs on a node that can be removed (removing the head ends the cluster), and
    fewer Ray workers boot at once on a small machine. The cluster belongs to a process of
    its own (:class:`ClusterHost`), and so does every Ray call the tests make (the host reads
    the run's tracker): the test's process stays out of Ray. In suite runs, an xdist worker
    that started a cluster died twice as it started, and once at a test's ``ray.init``
    (gone without a word, the rest of its tests left to a scheduler that then waited for
    ever). Now a cluster or a driver that dies fails its tests; the worker lives on.
    """
    host = ClusterHost(gpu_nodes, gpus_per_node, cpus)
    try:
        yield host
    finally:
        host.shutdown()


@dataclass(frozen=True)
class HostedNode:
    """A worker node of a hosted cluster, as the tests name it."""

    node_id: str


class ClusterHost:
    """``ray.cluster_utils.Cluster`` in a process of its own, driven over a pipe: its
    address, its worker nodes, removing and adding one, shutting it down."""

    def __init__(self, gpu_nodes: int, gpus_per_node: int, cpus: int, start_limit_s: float = 300) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, theirs = ctx.Pipe()
        self._proc = ctx.Process(target=_host, args=(theirs, gpu_nodes, gpus_per_node, cpus), daemon=True)
        self._proc.start()
        theirs.close()
        self.address: str = self._answer(start_limit_s, "start")

    def _answer(self, limit_s: float, what: str) -> Any:
        if not self._conn.poll(limit_s):
            raise RuntimeError(f"the Ray cluster's host gave no answer to {what} within {limit_s:.0f} s")
        try:
            ok, value = self._conn.recv()
        except EOFError:
            raise RuntimeError(f"the Ray cluster's host died during {what} (exit {self._proc.exitcode})") from None
        if not ok:
            raise RuntimeError(f"the Ray cluster's host failed {what}: {value}")
        return value

    def _call(self, *message: Any, limit_s: float = 240) -> Any:
        try:
            self._conn.send(message)
        except (BrokenPipeError, OSError):
            raise RuntimeError(f"the Ray cluster's host is gone (exit {self._proc.exitcode})") from None
        return self._answer(limit_s, str(message[0]))

    @property
    def worker_nodes(self) -> list[HostedNode]:
        return [HostedNode(node_id) for node_id in self._call("workers")]

    def remove_node(self, node: HostedNode, allow_graceful: bool = False) -> None:
        self._call("remove", node.node_id, allow_graceful)

    def add_node(self, **args: Any) -> None:
        self._call("add", args)

    def starts(self) -> tuple[str, list[tuple[str, str, str, float]]] | None:
        """The run's id and its tracker's phase starts ``(task key, phase, node id, time)``,
        read by the host (a Ray driver of its own: this process stays out of Ray), or
        None before the run's tracker exists."""
        found = self._call("starts")
        return None if found is None else (found[0], [tuple(s) for s in found[1]])

    def shutdown(self) -> None:
        try:
            if self._proc.is_alive():
                self._call("shutdown", limit_s=120)
        except RuntimeError:
            pass  # gone already, or stuck: killed below
        finally:
            self._proc.join(30)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(10)
            self._conn.close()


def _host(conn: Any, gpu_nodes: int, gpus_per_node: int, cpus: int) -> None:
    """The cluster's own process: starts it, answers ``(ok, value)`` to each request."""
    from ray.cluster_utils import Cluster

    try:
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 0,
                "num_gpus": 0,
                "object_store_memory": OBJECT_STORE,
                "include_dashboard": False,
            },
        )
    except Exception:
        conn.send((False, traceback.format_exc()))
        return
    try:
        for _ in range(gpu_nodes):
            cluster.add_node(num_cpus=cpus, num_gpus=gpus_per_node, object_store_memory=OBJECT_STORE)
        cluster.wait_for_nodes()
        conn.send((True, cluster.address))
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return  # the test's process is gone
            op = message[0]
            if op == "shutdown":
                conn.send((True, None))
                return
            try:
                value: Any = None
                if op == "workers":
                    value = [n.node_id for n in cluster.worker_nodes]
                elif op == "starts":
                    value = _tracker_starts(cluster.address)
                elif op == "remove":
                    node = next(n for n in cluster.worker_nodes if n.node_id == message[1])
                    _disconnect()  # the host's driver may hang on the node that goes
                    cluster.remove_node(node, allow_graceful=message[2])
                elif op == "add":
                    cluster.add_node(**message[1])
                    cluster.wait_for_nodes()
                else:
                    raise ValueError(f"unknown request {op!r}")
                conn.send((True, value))
            except Exception:
                conn.send((False, traceback.format_exc()))
    except Exception:
        conn.send((False, traceback.format_exc()))
    finally:
        _disconnect()
        cluster.shutdown()


def _tracker_starts(address: str) -> tuple[str, list[tuple[str, str, str, float]]] | None:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, namespace="isobench", log_to_driver=False)
    trackers = [str(a) for a in ray.util.list_named_actors() if str(a).startswith("isobench-tracker-")]
    if not trackers:
        return None
    starts = ray.get(ray.get_actor(trackers[0]).starts.remote())
    return trackers[0].removeprefix("isobench-tracker-"), [tuple(s) for s in starts]


def _disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def synthetic_suite(path: Path, ids: list[str], gpus: int = 1, name: str = "syn") -> Path:
    """``tasks/<name>.yaml`` over a dataset of tasks named ``ids``; each measurement needs ``gpus`` GPUs."""
    (path / "data").mkdir(parents=True, exist_ok=True)
    (path / "tasks").mkdir(parents=True, exist_ok=True)
    lines = []
    for instance_id in ids:
        head = hashlib.sha1(instance_id.encode()).hexdigest()
        lines.append(json.dumps({"instance_id": instance_id, "repo": "isobench:demo", "head_commit": head}))
    (path / "data" / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    suite = path / "tasks" / f"{name}.yaml"
    suite.write_text(
        f"name: {name}\ndataset: ../data/{name}.jsonl\ngpus_required: {gpus}\nresources:\n  cpuset: '0'\n",
        encoding="utf-8",
    )
    (path / "conftest.py").write_text(SYNTHETIC_CONFTEST, encoding="utf-8")
    return suite


def records(results: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for file in sorted((results / "tasks").glob("*.json")):
        record = json.loads(file.read_text(encoding="utf-8"))
        assert record["item_id"] not in found, f"{record['item_id']} recorded twice"
        found[record["item_id"]] = record
    return found


def measurement_overlaps(recs: list[dict[str, Any]]) -> list[str]:
    """Pairs of measurements that held the same GPU of the same node at the same time."""
    spans = []
    for rec in recs:
        for run in rec.get("ray", {}).get("runs", []):
            if run["phase"] == "measure":
                spans.append((rec["item_id"], run["node_id"], set(run["gpu_ids"]), run["start"], run["end"]))
    clashes = []
    for i, (a, node_a, gpus_a, start_a, end_a) in enumerate(spans):
        for b, node_b, gpus_b, start_b, end_b in spans[i + 1 :]:
            if node_a == node_b and gpus_a & gpus_b and start_a < end_b and start_b < end_a:
                clashes.append(f"{a} and {b} shared GPU(s) {sorted(gpus_a & gpus_b)} on node {node_a[:8]}")
    return clashes


def core_overlaps(recs: list[dict[str, Any]]) -> list[str]:
    """Pairs of measurements that ran on the same core of the same node at the same time."""
    spans = []
    for rec in recs:
        for run in rec.get("ray", {}).get("runs", []):
            if run["phase"] == "measure" and run.get("cpuset"):
                spans.append(
                    (rec["item_id"], run["node_id"], set(parse_cpuset(run["cpuset"])), run["start"], run["end"])
                )
    clashes = []
    for i, (a, node_a, cores_a, start_a, end_a) in enumerate(spans):
        for b, node_b, cores_b, start_b, end_b in spans[i + 1 :]:
            if node_a == node_b and cores_a & cores_b and start_a < end_b and start_b < end_a:
                clashes.append(f"{a} and {b} shared core(s) {sorted(cores_a & cores_b)} on node {node_a[:8]}")
    return clashes
