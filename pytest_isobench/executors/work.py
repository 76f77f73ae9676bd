"""What the Ray executor ships and gets back: the job of one item, and each phase's result.

The executor is generic over :class:`Work`: three plain functions (importable on every
node, so Ray pickles them by reference) that build an item's payload on the controller,
run the agent phase and run the measurement phase on a node. The default work runs a
``TaskRun``; tests and benchmarks may substitute synthetic work to exercise the executor
alone. No Ray import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["passed", "failed", "skipped", "error"]


@dataclass
class Finished:
    """An item's end: its outcome, the message pytest shows, and its record (a JSON-ready dict)."""

    status: Status
    message: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    user_properties: list[tuple[str, object]] = field(default_factory=list)


@dataclass
class Handover:
    """What the agent phase hands to the measurement: the patch text and how it was made."""

    patch: str
    outcome: Any = None  # the task run's patch outcome (picklable), opaque to the executor


@dataclass(frozen=True)
class Placement:
    """Where a phase runs: the Ray node, the GPU ids Ray assigned, that node's own cache
    directory, and the node's cores it holds alone (None: not pinned)."""

    node_id: str
    gpu_ids: tuple[str, ...]
    cache_dir: Path
    cpuset: str | None = None


@dataclass(frozen=True)
class Work:
    """The executor's three callables; each must be a module-level function of an installed module."""

    payload: Callable[[Any, Any], Any]  # (pytest item, run settings) -> picklable payload, on the controller
    agent: Callable[[Any, Placement], Finished | Handover]  # on a node
    measure: Callable[[Any, Handover | None, Placement], Finished]  # on a node


def node_cache_dir(cache_root: Path, node_id: str) -> Path:
    """Each node's own cache (clones, worktrees, agent patches), even when nodes share a file system."""
    return cache_root / f"ray-node-{node_id[:12]}"
