"""What one task's measurement asks of a Ray node (GPUs, CPUs, memory), and whether any node has it.

Pure functions on plain values: the demand comes from the task and its suite, the node
resources from ``ray.nodes()``. A task no live node can hold is reported at once with the
numbers, instead of waiting in Ray's queue forever. No Ray import here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class Demand:
    """Resources of one Ray task: whole GPUs, CPUs, memory in bytes (0: none asked), and
    the cpuset its cores are chosen by (None: not pinned; else as many of the node's cores
    as it names, held for the measurement alone)."""

    gpus: int = 0
    cpus: float = 1.0
    memory: int = 0
    cpuset: str | None = None

    def describe(self) -> str:
        parts = [f"{self.gpus} GPU(s)"] if self.gpus else []
        parts.append(f"{self.cpus:g} CPU(s)")
        if self.memory:
            parts.append(f"{self.memory / 1024**3:.3g} GiB memory")
        return ", ".join(parts)


def parse_memory(text: str | None) -> int:
    """Docker's memory notation ("1g", "512m", "2GiB", bytes) in bytes; 0 for None."""
    if text in (None, ""):
        return 0
    match = _MEMORY.match(str(text))
    if match is None:
        raise ValueError(f"memory {text!r}: expected a size such as 512m, 1g or 2GiB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def cpuset_size(cpuset: str | None) -> int:
    """How many CPUs a Docker cpuset names ("0-3,6" is 5); 1 when unset."""
    if not cpuset:
        return 1
    count = 0
    for part in cpuset.split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"cpuset {cpuset!r}: expected CPU numbers and ranges such as 0-3,6")
        count += int(high) - int(low) + 1 if high else 1
    return max(count, 1)


def gpu_count(required: int | None, spec: str | None) -> int:
    """GPUs a measurement needs: the task's or suite's count, else the count a ``gpus`` setting names."""
    if required:
        return required
    if spec is None or spec == "all":
        return 1 if spec == "all" else 0
    text = spec.removeprefix("device=")
    return int(text) if text.isdigit() and not spec.startswith("device=") else len(text.split(","))


@dataclass(frozen=True)
class NodeResources:
    """One live node of the cluster, as ``ray.nodes()`` describes it."""

    node_id: str
    gpus: float
    cpus: float
    memory: float


def live_nodes(raw: Iterable[Mapping[str, object]]) -> list[NodeResources]:
    """``ray.nodes()`` entries that are alive, as :class:`NodeResources`."""
    nodes = []
    for entry in raw:
        if not entry.get("Alive"):
            continue
        res = entry.get("Resources") or {}
        assert isinstance(res, Mapping)
        nodes.append(
            NodeResources(
                node_id=str(entry.get("NodeID", "")),
                gpus=float(res.get("GPU", 0)),
                cpus=float(res.get("CPU", 0)),
                memory=float(res.get("memory", 0)),
            )
        )
    return nodes


def placement_problem(demand: Demand, nodes: list[NodeResources]) -> str | None:
    """Why no live node can ever run a task with ``demand``; None when one can."""
    if not nodes:
        return "the Ray cluster has no live node"
    if any(n.gpus >= demand.gpus and n.cpus >= demand.cpus and n.memory >= demand.memory for n in nodes):
        return None
    best = max(nodes, key=lambda n: (n.gpus, n.cpus, n.memory))
    total = sum(n.gpus for n in nodes)
    return (
        f"cannot be placed on the Ray cluster: needs {demand.describe()} on one node; the largest node has "
        f"{best.gpus:g} GPU(s), {best.cpus:g} CPU(s), {best.memory / 1024**3:.3g} GiB memory "
        f"({len(nodes)} live node(s), {total:g} GPU(s) in all)"
    )
