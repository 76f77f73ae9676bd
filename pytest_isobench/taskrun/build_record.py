"""The one place a :class:`~pytest_isobench.results.record.TaskRecord` is built.

Every field of a record is filled here, from the task run's plain values: the task's
identity, the run's settings and machine, the agent's patch and run, the timing rounds
and the verdict. Records of items that never reached a task run (a record that does not
map onto a task, a fixture error) are built here too, with what is known.
"""

from __future__ import annotations

import functools
import logging
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ..agents import tampering
from ..agents.builtin import human_diff
from ..agents.prompt import PROMPT_VERSION
from ..measure.field_rules import failed_agent, field_rules, values_of
from ..measure.stats import summarize
from ..perf.perftest import RANDOMISED, RANDOMISED_HASH, RANDOMISED_STACK
from ..results.record import (
    AgentRunRecord,
    CorrectnessRecord,
    MachineRecord,
    NoiseRecord,
    PerfTestRecord,
    Status,
    TaskRecord,
    VariantRecord,
    VerdictRecord,
)

if TYPE_CHECKING:
    from ..dataset.models import Task
    from ..measure.protocol import ProtocolResult
    from ..measure.verdict import Verdict
    from ..settings import Settings
    from .model import Measured, PatchOutcome, Prepared, TaskInput

log = logging.getLogger("isobench")


@functools.cache
def versions() -> dict[str, str]:
    """What ran, looked up once per process (it does not change between tasks)."""
    found = {"python": platform.python_version()}
    for name in ("pytest-isobench", "pytest", "pytest-benchmark", "scipy", "numpy", "docker"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def refreshed(every: int) -> str:
    """What ``perf.refresh_every`` re-draws, as the record's ``randomised`` says it."""
    return f"sandbox (a fresh one for each variant every {every} of its rounds: cache state, file layout)"


def perf_test_record(
    name: str,
    result: ProtocolResult,
    shape: str | None = None,
    sandboxes: dict[str, list[str]] | None = None,
    refresh_every: int = 0,
) -> PerfTestRecord:
    """One perf test's record; ``sandboxes``: each variant's, in order, when they were refreshed."""
    variants: dict[str, VariantRecord] = {}
    sandboxes = sandboxes or {}
    kept = [s for s in result.samples if s.round >= 0 and s.m.error is None]
    for variant in dict.fromkeys(s.variant for s in result.samples):
        values = result.values(variant)
        variants[variant] = VariantRecord(
            values=values,
            walls=result.walls(variant),
            digests=sorted(d for d in result.digests(variant) if d is not None),
            warmup=[s.m.value for s in result.samples if s.variant == variant and s.round < 0],
            loops=[s.m.loops for s in kept if s.variant == variant],
            passes=[list(s.m.passes) for s in kept if s.variant == variant and s.m.passes],
            env_pad=[s.m.env_pad for s in kept if s.variant == variant],
            stack_offset=[s.m.stack_offset for s in kept if s.variant == variant],
            hash_seed=[s.m.hash_seed for s in kept if s.variant == variant],
            sandboxes=list(sandboxes.get(variant, [])),
            stats=summarize(values).as_dict() if values else None,
            error=result.failures.get(variant),
        )
    return PerfTestRecord(
        name=name,
        shape=shape,
        rounds=result.rounds,
        stop_reason=result.stop_reason,
        elapsed_s=result.elapsed_s,
        warnings=list(result.warnings),
        looks=list(result.looks),
        order=[[s.variant for s in result.samples if s.round == r] for r in range(result.rounds)],
        lockstep=any(s.m.passes for s in kept),
        randomised=[
            *(RANDOMISED if any(s.m.env_pad is not None for s in kept) else ()),
            *(RANDOMISED_STACK if any(s.m.stack_offset is not None for s in kept) else ()),
            *(RANDOMISED_HASH if any(s.m.hash_seed is not None for s in kept) else ()),
            *([refreshed(refresh_every)] if sandboxes and refresh_every > 0 else []),
        ],
        allocation=dict(result.allocation) or None,
        variants=variants,
    )


def _human_patch(prepared: Prepared, task: Task) -> str | None:
    """The human diff, kept with agent runs so reports can compare the two patches."""
    c = prepared.checkout
    if task.human_patch:
        return task.human_patch
    try:
        return human_diff(c.repo_dir, c.base, c.head)
    except Exception as exc:  # a report field: never fail the task for it
        log.warning("human diff of %s unavailable: %s", task.instance_id, exc)
        return None


def bare_record(
    *,
    item_id: str,
    nodeid: str,
    suite: str | None,
    settings: Settings,
    status: Status,
    reason: str = "",
    task: Task | None = None,
    repo: str | None = None,
    gpus: str | None = None,
) -> TaskRecord:
    """A record with what is known before any stage ran (also for items that never ran one)."""
    return TaskRecord(
        item_id=item_id,
        nodeid=nodeid,
        status=status,
        reason=reason,
        suite=suite,
        instance_id=task.instance_id if task is not None else None,
        repo=(task.repo if task is not None else None) or repo,
        head_commit=task.head_commit if task is not None else None,
        base_commit=task.base_commit if task is not None else None,
        test_shapes=shapes_of(task) if task is not None else {},
        agent=settings.agent,
        model=settings.model,
        settings=settings.fingerprint(),
        run_id=settings.run_id,
        machine=MachineRecord(node=platform.node(), machine=platform.machine(), gpu=gpus or settings.gpus),
        versions=dict(versions()),
    )


def shapes_of(task: Task) -> dict[str, str]:
    """Each of the task's tests by name: its perf-test shape, or ``unit-tests`` for a gate."""
    shapes = {t.name: str(t.kind) for t in task.perf_tests}
    shapes.update({u.name: "unit-tests" for u in task.unit_tests})
    return shapes


def build_record(
    run: TaskInput,
    status: Status,
    reason: str = "",
    *,
    prepared: Prepared | None = None,
    patch: PatchOutcome | None = None,
    measured: Measured | None = None,
    verdict: Verdict | VerdictRecord | None = None,
    correctness: dict[str, Any] | None = None,
    imported: dict[str, Any] | None = None,
    checks: dict[str, Any] | None = None,
) -> TaskRecord:
    """The record of a task run, from whatever stages it reached."""
    record = bare_record(
        item_id=run.item_id,
        nodeid=run.nodeid,
        suite=run.suite.name,
        settings=run.settings,
        status=status,
        reason=reason,
        task=run.task,
        repo=run.suite.repo,
        gpus=run.settings.gpus,
    )
    updates: dict[str, Any] = {}
    if prepared is not None:
        updates.update(_prepared_fields(run, record, prepared, measured))
    if patch is not None:
        updates.update(_patch_fields(run, prepared, patch))
    if measured is not None:
        updates.update(_measured_fields(measured))
        correctness = measured.correctness if correctness is None else correctness
        checks = measured.checks if checks is None else checks
    if checks:
        updates["checks"] = checks
    if imported is not None:
        updates["imported"] = imported
    if correctness is not None:
        updates["correctness"] = CorrectnessRecord.model_validate(correctness)
    if verdict is not None:
        updates.update(_verdict_fields(run, verdict, measured, patch))
    # Through JSON once, so the record in memory is exactly what a reader of the file gets
    # (tuples become lists, floats and nested models as they will be read back).
    return TaskRecord.from_json(record.model_copy(update=updates).to_json())


def _prepared_fields(
    run: TaskInput, record: TaskRecord, prepared: Prepared, measured: Measured | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    cpuset = run.cpuset or run.suite.resources.cpuset
    if cpuset is not None:
        fields["machine"] = record.machine.model_copy(update={"cpuset": cpuset})
    return fields | {
        "backend": run.backend,
        "base_commit": prepared.checkout.base,
        "head_commit": prepared.checkout.head,
        "setup_s": round(measured.setup_s if measured is not None else prepared.setup_s, 3),
    }


def _patch_fields(run: TaskInput, prepared: Prepared | None, patch: PatchOutcome) -> dict[str, Any]:
    return {
        "agent_run": AgentRunRecord.model_validate(patch.run.as_dict()) if patch.run else None,
        "patch": patch.patch,
        "patch_method": patch.applied.method if patch.applied else None,
        "agent_failure": patch.failure,
        "agent_rebuilt": patch.rebuilt,
        "agent_logs": patch.run.logs[-20000:] if patch.run else "",
        "prompt_version": PROMPT_VERSION,
        "human_patch": _human_patch(prepared, run.task) if prepared is not None else None,
    }


def _measured_fields(measured: Measured) -> dict[str, Any]:
    shapes = {t.name: t.kind for t in measured.perf_tests}
    return {
        "perf_tests": [
            perf_test_record(name, result, shapes.get(name), measured.refreshed.get(name), measured.refresh_every)
            for name, result in measured.results
        ],
        "serving": measured.serving,
        "direction": measured.direction,
        "human_correct": measured.human_correct,
        "noise": NoiseRecord.model_validate(measured.noise) if measured.noise is not None else None,
        "gpu": measured.gpu,
        "imported": measured.imported or None,
    }


def _verdict_fields(
    run: TaskInput, verdict: Verdict | VerdictRecord, measured: Measured | None, patch: PatchOutcome | None
) -> dict[str, Any]:
    judged = verdict if isinstance(verdict, VerdictRecord) else verdict_record(verdict)
    # each benchmark's own rule, beside ours (never instead of it)
    beside = field_rules(values_of(measured.results)) if measured is not None else {}
    if measured is None and patch is not None and judged.category in ("failed", "tampering"):
        beside = failed_agent()
    if beside:
        judged = VerdictRecord.model_validate({**judged.model_dump(), "field_rules": beside})
    review = tampering.review_reason(
        judged.agent.point if judged.agent else None,
        judged.human.point if judged.human else None,
        run.settings.review_factor or tampering.REVIEW_FACTOR,
    )
    return {"verdict": judged, "review": review}


def verdict_record(verdict: Verdict) -> VerdictRecord:
    return VerdictRecord.model_validate(verdict.as_dict())


def with_status(record: TaskRecord, status: Status, reason: str) -> TaskRecord:
    """The record with another ending (the item body broke after its task run had passed)."""
    return record.model_copy(update={"status": status, "reason": reason})


def lost_record(nodeid: str, settings: Settings, reason: str, known: dict[str, Any] | None = None) -> TaskRecord:
    """An ``error`` record for a task whose process died under it: infrastructure, never the agent's fault.

    ``known``: the bare record its worker kept while the task ran (task id, repository,
    commits, agent, model, settings), so the record carries them like any other; without
    it only the node id is known. No figure is guessed. ``--isobench-resume`` runs it again.
    """
    why = f"task lost (infrastructure, not the agent's fault): {reason}"
    if known is not None:
        try:
            record = TaskRecord.from_json(known)
        except ValueError as exc:  # a note cut short: fall back to what the node id says
            log.warning("the note of %s is unreadable (%s)", nodeid, exc)
        else:
            if record.nodeid == nodeid:
                return record.model_copy(update={"status": "error", "reason": why, "lost": True})
    record = bare_record(
        item_id=nodeid.rsplit("::", 1)[-1],
        nodeid=nodeid,
        suite=nodeid.split("::", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[0],
        settings=settings,
        status="error",
        reason=why,
    )
    return record.model_copy(update={"lost": True})
