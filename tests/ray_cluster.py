"""A real local Ray cluster for tests (head + two nodes with declared GPUs) and synthetic suites.

The cluster is small on purpose (the CI machine has 2 cores): few CPUs declared, a small
object store, and it is always shut down. Synthetic suites are datasets of tasks that
the executor's synthetic work runs (they wait and return records), chosen by a conftest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
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
    fewer Ray workers boot at once on a small machine.
    """
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "num_gpus": 0, "object_store_memory": OBJECT_STORE, "include_dashboard": False},
    )
    try:
        for _ in range(gpu_nodes):
            cluster.add_node(num_cpus=cpus, num_gpus=gpus_per_node, object_store_memory=OBJECT_STORE)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()


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
