"""The one small interface every agent implements, and what a run of it leaves behind.

An agent gets a task's prompt, the baseline checkout in a sandbox, a time budget and a
model, and produces a patch plus a record of its run. It never times anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..dataset.models import Task
    from ..sandbox.protocol import Sandbox


class AgentUnavailable(Exception):
    """The agent cannot run here (its key is missing): the task is skipped with the fix."""


class AgentError(Exception):
    """The agent's infrastructure failed (endpoint down, tool missing, usage error, crash).

    An error of the item, never the agent's "no change", and never cached: the next run
    tries again.
    """


@dataclass
class AgentContext:
    task: Task
    repo_dir: Path  # host clone holding base and head
    base_sha: str
    head_sha: str
    model: str | None
    timeout_s: float
    prompt: str
    sandbox: Sandbox | None = None  # the agent's variant at the baseline, when it needs one
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentRun:
    patch: str
    exit_status: int = 0
    duration_s: float = 0.0
    logs: str = ""
    tokens: int | None = None
    cost_usd: float | None = None
    model: str | None = None
    timed_out: bool = False
    # Token counts by kind (input, output, cache_read, cache_write; reasoning when told),
    # and the tool's own usage report as it printed it: nothing recomputed.
    usage: dict[str, int] = field(default_factory=dict)
    reported: dict[str, Any] = field(default_factory=dict)
    # Set when the run did not end normally (usage error, API failure the tool reported,
    # non-zero exit): the run is an infrastructure error and is not cached.
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. harness files removed from the patch

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_status": self.exit_status,
            "duration_s": round(self.duration_s, 3),
            "tokens": self.tokens,
            "usage": dict(self.usage),
            "reported_usage": self.reported,
            "cost_usd": self.cost_usd,
            "model": self.model,
            "timed_out": self.timed_out,
            "patch_bytes": len(self.patch.encode()),
            "warnings": list(self.warnings),
        }


class Agent:
    """Base class: set ``name`` and implement :meth:`run`."""

    name: ClassVar[str] = ""
    needs_sandbox: ClassVar[bool] = True

    def check(self, ctx_options: dict[str, Any]) -> None:
        """Raise :class:`AgentUnavailable` with the fix when the agent cannot run here."""

    def run(self, ctx: AgentContext) -> AgentRun:
        raise NotImplementedError

    def endpoint(self) -> str | None:
        """The model endpoint the agent will call, or None when it calls none (or it is not known).
        Part of the key of a cached run: a run against one server is not reused against another."""
        return None

    def doctor(self) -> tuple[bool, str]:
        """``(ready, detail)`` for ``isobench doctor``: by default, what :meth:`check` says."""
        try:
            self.check({})
        except AgentUnavailable as exc:
            return False, str(exc)
        return True, "ready"
