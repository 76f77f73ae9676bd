"""The plain values a task run takes and the typed results of its stages.

Everything here is data: a :class:`TaskInput` (what one task is to do, picklable, so an
executor can ship it to another machine) and one result type per stage. The exceptions
say how a stage ended early; :func:`pytest_isobench.taskrun.run.TaskRun.run` turns them
into a record's status. No pytest, no sandbox backend, no statistics here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..agents.agent import AgentRun
    from ..dataset.models import PerfTest, Task
    from ..measure.protocol import ProtocolResult
    from ..measure.stats import Direction
    from ..measure.verdict import Verdict
    from ..sandbox.protocol import PatchResult
    from ..settings import Settings
    from ..suite import Suite
    from ..testgen import CachedTest

#: A ``pytest_isobench_verdict`` implementation as a plain callable: (task, results, default) -> a
#: replacement verdict, or None to keep the default.
VerdictHook = Callable[["Task", list[Any], "Verdict"], "Verdict | None"]


class TaskSkipped(Exception):
    """The task cannot run here (no GPU, agent unavailable, no perf test): skipped with why."""


class TaskFailed(Exception):
    """The task itself is broken on this machine (e.g. the baseline fails its correctness check)."""


class TaskProblem(Exception):
    """The task's own material contradicts itself (the human fails the perf test's own
    equivalence check): an error with the reason, never the agent's fault. ``checks`` is
    what the checks found, for the record."""

    def __init__(self, message: str, checks: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.checks = checks


class AgentFailed(Exception):
    """The agent's variant failed before timing: its patch did not apply, did not build, is wrong.

    ``reason`` is the short failure ("patch", "build", "no change", ...); ``message`` the
    verdict's one line; ``detail`` the evidence (rejected hunks, build log) for the item.
    """

    def __init__(
        self,
        reason: str,
        detail: str = "",
        message: str | None = None,
        correctness: dict[str, Any] | None = None,
        checks: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"agent failed ({reason}): {detail}" if detail else f"agent failed ({reason})")
        self.reason = reason
        self.detail = detail
        self.message = message if message is not None else f"agent failed: {reason}"
        self.correctness = correctness
        self.checks = checks


@dataclass
class TaskInput:
    """One task as an executor hands it over: plain values only."""

    item_id: str
    nodeid: str
    task: Task
    suite: Suite
    settings: Settings
    backend: str = "local"  # resolved: never "auto"
    gpus: str | None = None  # this worker's share, already assigned
    cpuset: str | None = None  # this worker's cores (the suite's cpuset, shared out under -n)
    gpus_scheduled: bool = False  # an executor (Ray) gives the measurement its GPUs: nothing to count here
    testgen_reason: str | None = None  # why generation at collection left no perf test


@dataclass
class Checkout:
    """A task's repository in the cache, with its commits resolved to full shas."""

    repo_dir: Path
    base: str
    head: str


@dataclass
class Prepared:
    """``prepare``: the checkout, and the perf test to validate when it was generated."""

    checkout: Checkout
    generated: CachedTest | None = None
    setup_s: float = 0.0
    perf_tests: list[PerfTest] = field(default_factory=list)  # the dataset's tests that are timed
    notes: dict[str, str] = field(default_factory=dict)  # by test name: left untimed, or timed on process time


@dataclass
class PatchOutcome:
    """``produce_patch``: what the agent did in its own sandbox (its failure is not an error)."""

    name: str
    run: AgentRun | None = None
    patch: str = ""
    failure: str | None = None  # "agent timeout", "no change", then (from measure) "patch", "build", ...
    detail: str = ""
    applied: PatchResult | None = None
    rebuilt: bool = False


@dataclass
class Measured:
    """``measure``: every perf test's protocol result on the fresh variants."""

    results: list[tuple[str, ProtocolResult]] = field(default_factory=list)
    direction: Direction = "lower"
    serving: dict[str, Any] = field(default_factory=dict)
    correctness: dict[str, Any] | None = None
    human_correct: bool | None = None
    perf_tests: list[PerfTest] = field(default_factory=list)
    setup_s: float = 0.0
    noise: dict[str, Any] | None = None  # the noise guard's report (noise.task_report)
    gpu: dict[str, Any] | None = None  # GPU provenance around the timing (provenance.gpu)
    imported: dict[str, Any] | None = None  # what each variant imports (suite ``package``)
    checks: dict[str, Any] | None = None  # unit-test gates and equivalence (perf.gates, perf.equivalence)
    # perf.refresh_every: by test name, each variant's sandboxes in the order it ran in them
    refreshed: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    refresh_every: int = 0


@dataclass
class Judged:
    """``judge``: the verdict and whether the item passes."""

    verdict: Verdict
    passed: bool
