"""``TaskRun``: one task, start to finish, as plain code with explicit stages.

``prepare`` (checks and the checkout) -> ``produce_patch`` (the agent in a sandbox of its
own; skipped without an agent) -> ``measure`` (fresh variants, the patch applied once,
interleaved timing) -> ``judge`` (the verdict). :meth:`TaskRun.run` chains them and
always returns a :class:`~pytest_isobench.results.record.TaskRecord` whose status says how
it ended: ``passed`` / ``failed`` (the agent's or the task's fault, with the numbers),
``skipped`` (cannot run here) or ``error`` (infrastructure). It knows nothing of pytest and
writes no file, so an executor can run it anywhere and ship the record back.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from ..agents.agent import Agent
from ..measure.verdict import Verdict
from ..measure.verdict import judge as judge_results
from ..provenance.checks import VariantsImportError
from ..results.outcome import status_of
from ..results.record import TaskRecord, VerdictRecord
from .build_record import build_record
from .measure import measure, success_rule
from .model import (
    AgentFailed,
    Measured,
    PatchOutcome,
    Prepared,
    TaskFailed,
    TaskInput,
    TaskProblem,
    TaskSkipped,
    VerdictHook,
)
from .patch import produce_patch
from .prepare import prepare
from .sandboxes import SandboxFactory


@dataclass
class TaskRun:
    """A task and how to run it: the input, a sandbox factory and the agent class (or None)."""

    input: TaskInput
    sandboxes: SandboxFactory
    agent: type[Agent] | None = None
    verdict_hook: VerdictHook | None = None

    def prepare(self) -> Prepared:
        return prepare(self.input)

    def produce_patch(self, prepared: Prepared) -> PatchOutcome | None:
        """The agent's patch; None when this run has no agent (baseline vs human)."""
        if self.agent is None:
            return None
        return produce_patch(self.input, prepared, self.agent, self.sandboxes)

    def measure(self, prepared: Prepared, patch: PatchOutcome | None) -> Measured:
        return measure(self.input, prepared, patch, self.sandboxes)

    def judge(self, measured: Measured, patch: PatchOutcome | None) -> Verdict:
        """The measure layer's verdict under the suite's success rule, or the verdict hook's
        replacement when it gives one (a ``pytest_isobench_verdict`` implementation, handed in
        as a plain callable)."""
        results = [r for _, r in measured.results]
        rule = success_rule(self.input.suite, self.input.settings)
        verdict = judge_results(results, rule, has_agent=patch is not None, direction=measured.direction)
        if self.verdict_hook is not None:
            replaced = self.verdict_hook(self.input.task, results, verdict)
            if replaced is not None:
                verdict = replaced
        return verdict

    def agent_phase(self) -> PatchOutcome | TaskRecord:
        """``prepare`` and ``produce_patch`` only, for an executor that runs the agent apart from the
        measurement (Ray): the patch outcome to hand on, or the record when the task ended there."""
        prepared: Prepared | None = None
        patch: PatchOutcome | None = None
        try:
            prepared = self.prepare()
            patch = self.produce_patch(prepared)
            if patch is None:
                raise TaskFailed("agent_phase: this task run has no agent")
            if patch.failure is not None:
                raise AgentFailed(patch.failure, patch.detail)
        except Exception as exc:
            return self._ended(exc, prepared, patch)
        return patch

    def run(self, patch: PatchOutcome | None = None) -> TaskRecord:
        """Every stage; how it ended is the record's status (KeyboardInterrupt still propagates).

        ``patch``: the agent already ran elsewhere (see :meth:`agent_phase`); its outcome is
        applied to the fresh agent variant instead of running the agent again.
        """
        prepared: Prepared | None = None
        try:
            prepared = self.prepare()
            if patch is None:
                patch = self.produce_patch(prepared)
            if patch is not None and patch.failure is not None:
                raise AgentFailed(patch.failure, patch.detail)
            measured = self.measure(prepared, patch)
            verdict = self.judge(measured, patch)
        except Exception as exc:
            return self._ended(exc, prepared, patch)
        status = status_of(verdict)  # a baseline or human failure is an error, not the agent's
        prefix = "error (the task's, not the agent's): " if status == "error" else ""
        return build_record(
            self.input,
            status,
            "" if verdict.passed else prefix + verdict.message,
            prepared=prepared,
            patch=patch,
            measured=measured,
            verdict=verdict,
        )

    def _ended(self, exc: Exception, prepared: Prepared | None, patch: PatchOutcome | None) -> TaskRecord:
        """The record of a task run that a stage ended early."""
        if isinstance(exc, TaskSkipped):
            return build_record(self.input, "skipped", str(exc), prepared=prepared, patch=patch)
        if isinstance(exc, AgentFailed):
            return build_record(
                self.input,
                "failed",
                str(exc)[:6000],
                prepared=prepared,
                patch=patch,
                verdict=VerdictRecord.failed(exc.reason, exc.message, tampered=exc.reason == "tampering"),
                correctness=exc.correctness,
                checks=exc.checks,
            )
        if isinstance(exc, TaskProblem):
            return build_record(self.input, "error", str(exc)[:6000], prepared=prepared, patch=patch, checks=exc.checks)
        if isinstance(exc, TaskFailed):
            return build_record(self.input, "failed", str(exc), prepared=prepared, patch=patch)
        # infrastructure (engine, image, checkout) or a bug: never the agent's fault
        detail = "".join(traceback.format_exception(exc)[-6:])
        return build_record(
            self.input,
            "error",
            f"{type(exc).__name__}: {exc}\n{detail}"[-4000:],
            prepared=prepared,
            patch=patch,
            imported=exc.found if isinstance(exc, VariantsImportError) else None,
        )
