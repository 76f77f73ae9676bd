"""The default work of the Ray executor: an item's ``TaskRun``, split into its two phases.

On the controller, :func:`payload` takes the item's plain values (task, suite, settings,
agent class). On a node, each phase rebuilds the ``TaskRun`` for that node: its own cache
directory, its own backend (``auto`` resolved against the node's Docker engine) and, for
the measurement, the GPU ids Ray assigned as the sandboxes' device request and the
node's cores it holds as their cpuset. The agent
phase ends with the patch (text, handed to the measurement) or, when the task ended
there, its record; the measurement runs the remaining stages on fresh variants.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from ..agents.agent import Agent
from ..agents.registry import known_agents
from ..collect.items import task_of
from ..keys import SUITE_KEY, TESTGEN_KEY
from ..results.record import TaskRecord
from ..sandbox.factory import BuiltinSandboxes, resolve_backend
from ..sandbox.protocol import Sandbox, SandboxSpec
from ..taskrun import TaskInput, TaskRun
from .work import Finished, Handover, Placement, Work

if TYPE_CHECKING:
    from ..settings import Settings


@dataclass
class Payload:
    """One item's task run as it travels: plain values and the agent's class (importable on nodes)."""

    input: TaskInput
    agent: type[Agent] | None


def payload(item: pytest.Item, settings: Settings) -> Payload:
    name = settings.agent
    return Payload(
        input=TaskInput(
            item_id=item.name,
            nodeid=item.nodeid,
            task=task_of(item),
            suite=item.stash[SUITE_KEY],
            settings=settings,
            backend=settings.backend,  # "auto" is resolved on each node, against its own engine
            gpus=None,
            testgen_reason=item.stash.get(TESTGEN_KEY, None),
        ),
        agent=known_agents(item.config)[name] if name else None,
    )


@dataclass
class NodeSandboxes:
    """The node's built-in backend; with GPUs assigned, every sandbox gets exactly those."""

    builtin: BuiltinSandboxes
    gpu_ids: tuple[str, ...]

    def __call__(self, spec: SandboxSpec) -> Sandbox:
        if self.gpu_ids:
            ids = ",".join(self.gpu_ids)
            spec = dataclasses.replace(
                spec,
                limits=dataclasses.replace(spec.limits, gpus=ids if len(self.gpu_ids) > 1 else f"device={ids}"),
                env={**spec.env, "CUDA_VISIBLE_DEVICES": ids},
            )
        elif spec.limits.gpus is not None:
            spec = dataclasses.replace(spec, limits=dataclasses.replace(spec.limits, gpus=None))
        return self.builtin(spec)


def _task_run(job: Payload, placement: Placement) -> tuple[TaskRun, BuiltinSandboxes]:
    inp = job.input
    settings = dataclasses.replace(inp.settings, cache_dir=placement.cache_dir, gpus=None)
    backend, client, _note = resolve_backend(inp.backend)
    builtin = BuiltinSandboxes(backend, placement.cache_dir, client)
    node_input = dataclasses.replace(
        inp,
        settings=settings,
        backend=backend,
        gpus=",".join(placement.gpu_ids) or None,
        cpuset=placement.cpuset,  # the node's cores this measurement holds alone (recorded as machine.cpuset)
        gpus_scheduled=True,  # Ray placed the measurement where its GPUs are (the agent needs none)
    )
    run = TaskRun(input=node_input, sandboxes=NodeSandboxes(builtin, placement.gpu_ids), agent=job.agent)
    return run, builtin


def finished(record: TaskRecord) -> Finished:
    """A record as the item's outcome, mapped as the in-process item body maps it."""
    props: list[tuple[str, object]] = []
    verdict = record.verdict
    if verdict is not None:
        for key in ("human", "agent", "agent_vs_human"):
            estimate = getattr(verdict, key)
            if estimate is not None:
                props.append((f"isobench_{key}_speedup", f"{estimate.point:.4f}"))
        props.append(("isobench_verdict", verdict.label()))
    message = record.reason if record.status in ("skipped", "error") else (record.reason or record.message)
    return Finished(record.status, message if record.status != "passed" else "", record.to_json(), props)


def agent(job: Payload, placement: Placement) -> Finished | Handover:
    run, builtin = _task_run(job, placement)
    try:
        outcome = run.agent_phase()
    finally:
        builtin.close()
    if isinstance(outcome, TaskRecord):
        return finished(outcome)
    return Handover(patch=outcome.patch, outcome=outcome)


def measure(job: Payload, handover: Handover | None, placement: Placement) -> Finished:
    run, builtin = _task_run(job, placement)
    try:
        record = run.run(patch=handover.outcome if handover is not None else None)
    finally:
        builtin.close()
    return finished(record)


TASKRUN_WORK = Work(payload=payload, agent=agent, measure=measure)

__all__ = ["TASKRUN_WORK", "Payload", "finished"]
