"""The code that runs on Ray nodes: one phase of one task, the run's tracker, the end-of-run sweep.

Ray itself is imported only when :func:`api` is first called (a run on Ray), so importing
this module costs nothing. A phase reports its start
to the tracker (an actor on the controller's node) before working, so the controller
knows what is running where and how often a task was retried after its node died. The
sweep removes what a killed attempt left on a node: this run's labelled containers on
the node's Docker engine and this run's worktrees in the node's cache. A measurement
whose suite names a cpuset holds whole cores of its node for its whole run
(:mod:`.cores`): its start is taken once it holds them, so measurements whose spans
overlap on one node ran on disjoint cores.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import traceback
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..sandbox.cpus import available_cpus
from ..sandbox.protocol import LABEL_RUN
from .cores import HeldCores, hold_cores
from .work import Finished, Handover, Placement, Work, node_cache_dir


@dataclass(frozen=True)
class RunInfo:
    """One attempt of one phase, as the node saw it (wall-clock times: comparable across nodes)."""

    phase: str
    node_id: str
    host: str
    gpu_ids: tuple[str, ...]
    start: float
    end: float
    pid: int = 0  # the Ray worker process: a pid seen before on the node means a reused worker
    cpuset: str | None = None  # the node's cores it held alone from start to end
    cores_waited_s: float = 0.0  # how long it waited for them (the node's cores were all held)
    cores_note: str | None = None  # why it holds fewer cores than its cpuset names

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "node_id": self.node_id,
            "host": self.host,
            "gpu_ids": list(self.gpu_ids),
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "pid": self.pid,
            "cpuset": self.cpuset,
            "cores_waited_s": self.cores_waited_s,
            "cores_note": self.cores_note,
        }


@dataclass
class PhaseResult:
    value: Finished | Handover
    info: RunInfo


class Tracker:
    """Collects (key, phase, node, time) start events; the controller drains them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, float]] = []
        self.log: list[tuple[str, str, str, float]] = []  # kept whole, for watchers

    def started(self, key: str, phase: str, node_id: str, at: float) -> None:
        self.events.append((key, phase, node_id, at))
        self.log.append((key, phase, node_id, at))

    def starts(self) -> list[tuple[str, str, str, float]]:
        """Every start so far (another driver may watch a run with it; the controller drains)."""
        return list(self.log)

    def drain(self) -> list[tuple[str, str, str, float]]:
        events, self.events = self.events, []
        return events


def run_phase(
    work: Work,
    phase: str,
    key: str,
    payload: Any,
    handover: Handover | None,
    cache_root: str,
    tracker: Any,
    cpuset: str | None = None,
) -> PhaseResult:
    """One phase on this node; an exception of the work is an error result, never a Ray retry.

    ``cpuset``: the suite's, for a measurement; it then runs on as many of the node's cores,
    held alone (waiting while the node has too few free).
    """
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    gpu_ids = tuple(str(g) for g in ray.get_gpu_ids())
    placement = Placement(node_id=node_id, gpu_ids=gpu_ids, cache_dir=node_cache_dir(Path(cache_root), node_id))
    # Synchronous, so the controller has seen this start before it can see the result.
    ray.get(tracker.started.remote(key, phase, node_id, time.time()))
    with contextlib.ExitStack() as stack:
        held: HeldCores | None = None
        if cpuset is not None and phase == "measure":
            held = stack.enter_context(hold_cores(placement.cache_dir / "cores", cpuset, available_cpus()))
            placement = Placement(node_id, gpu_ids, placement.cache_dir, held.cpuset)
        start = time.time()
        value = _phase(work, phase, payload, handover, placement)
        end = time.time()
    info = RunInfo(
        phase,
        node_id,
        socket.gethostname(),
        gpu_ids,
        start,
        end,
        os.getpid(),
        placement.cpuset,
        held.waited_s if held is not None else 0.0,
        held.note if held is not None else None,
    )
    return PhaseResult(value, info)


def _phase(
    work: Work, phase: str, payload: Any, handover: Handover | None, placement: Placement
) -> Finished | Handover:
    try:
        if phase == "agent":
            return work.agent(payload, placement)
        finished = work.measure(payload, handover, placement)
    except Exception as exc:
        return Finished(
            "error",
            f"{phase} phase on {socket.gethostname()} raised {type(exc).__name__}: {exc}\n"
            + traceback.format_exc()[-4000:],
        )
    return finished


def sweep_node(run_id: str, cache_root: str) -> list[str]:
    """Remove this run's containers on this node's engine and its worktrees in this node's cache."""
    import ray

    removed: list[str] = []
    with contextlib.suppress(Exception):  # no engine here: nothing of ours on it either
        import docker

        client = docker.from_env(timeout=10)
        try:
            for c in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}):
                with contextlib.suppress(docker.errors.NotFound):
                    client.api.remove_container(c["Id"], force=True, v=True)
                    removed.append(str(c["Id"])[:12])
        finally:
            client.close()
    node_cache = node_cache_dir(Path(cache_root), ray.get_runtime_context().get_node_id())
    worktrees = node_cache / "worktrees" / run_id
    if worktrees.exists():
        shutil.rmtree(worktrees, ignore_errors=True)
        removed.append(str(worktrees))
        for repo in node_cache.iterdir():
            if (repo / ".git").exists() or (repo / "HEAD").is_file():
                subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, check=False)
    return removed


@dataclass(frozen=True)
class RemoteApi:
    """The Ray handles of this module: the tracker actor class and the two remote functions."""

    tracker: Any
    phase_task: Any
    sweep_task: Any


@cache
def api() -> RemoteApi:
    """Imports Ray (heavy) and wraps this module's functions as Ray tasks, once per process."""
    import ray

    return RemoteApi(
        tracker=ray.remote(num_cpus=0)(Tracker),
        phase_task=ray.remote(run_phase),
        sweep_task=ray.remote(num_cpus=0)(sweep_node),
    )
