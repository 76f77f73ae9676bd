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
    from ..sandbox.base import Sandbox


class AgentUnavailable(Exception):
    """The agent cannot run here (binary or key missing): the task is skipped with the fix."""


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
    warnings: list[str] = field(default_factory=list)  # e.g. harness files removed from the patch

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_status": self.exit_status,
            "duration_s": round(self.duration_s, 3),
            "tokens": self.tokens,
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

    def doctor(self) -> tuple[bool, str]:
        """``(ready, detail)`` for ``isobench doctor``: by default, what :meth:`check` says."""
        try:
            self.check({})
        except AgentUnavailable as exc:
            return False, str(exc)
        return True, "ready"
