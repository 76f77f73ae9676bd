"""The in-process executor: build a task item's ``TaskRun`` and run it where the item runs.

The task run gets plain values (the task, its suite, the settings, this worker's GPUs,
the resolved backend) and a sandbox factory that asks ``pytest_isobench_make_sandbox``
(so a conftest's backend is used) and tracks the sandboxes for cleanup at session end.
A ``pytest_isobench_verdict`` implementation is handed in as a plain callable.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import pytest

from ..agents.registry import known_agents
from ..collect.items import task_of
from ..keys import SESSION_KEY, SUITE_KEY, TESTGEN_KEY
from ..measure.verdict import Verdict
from ..perf.noise import NoiseWarning
from ..process import process_of
from ..results.record import TaskRecord
from ..sandbox.cpus import available_cpus, worker_cpuset
from ..sandbox.gpus import visible_gpus, worker_share
from ..sandbox.protocol import SandboxError
from ..taskrun import TaskInput, TaskRun

if TYPE_CHECKING:
    from ..dataset.models import Task


def gpus_for(config: pytest.Config, spec: str | None) -> str | None:
    """This worker's GPUs: under pytest-xdist each worker gets its own, never shared."""
    process = process_of(config)
    if spec is None or not process.is_worker:
        return spec
    try:
        return worker_share(spec, process.worker, process.workers, visible_gpus())
    except ValueError as exc:
        raise SandboxError(f"GPU assignment: {exc}") from None


def cpuset_for(config: pytest.Config, cpuset: str | None) -> str | None:
    """This worker's cores: under pytest-xdist each worker measures on its own (see
    :func:`~pytest_isobench.sandbox.cpus.worker_cpuset`); a warning when they must share."""
    process = process_of(config)
    if cpuset is None or not process.is_worker:
        return cpuset
    mine, warning = worker_cpuset(cpuset, process.worker, process.workers, available_cpus())
    if warning is not None:
        warnings.warn(NoiseWarning(warning), stacklevel=1)
    return mine


def task_input(item: pytest.Item) -> TaskInput:
    """The plain values of an item's task run (raises ``RecordError`` for a record that does not map)."""
    session = item.config.stash[SESSION_KEY]
    suite = item.stash[SUITE_KEY]
    settings = session.settings
    return TaskInput(
        item_id=item.name,
        nodeid=item.nodeid,
        task=task_of(item),
        suite=suite,
        settings=settings,
        backend=session.backend(),
        gpus=gpus_for(item.config, settings.gpus or suite.resources.gpus),
        cpuset=cpuset_for(item.config, suite.resources.cpuset),
        testgen_reason=item.stash.get(TESTGEN_KEY, None),
    )


def task_run(item: pytest.Item) -> TaskRun:
    """The item's task run, with this session's sandbox factory, agent and verdict hook."""
    config = item.config
    session = config.stash[SESSION_KEY]
    name = session.settings.agent

    def verdict_hook(task: Task, results: list[Any], default: Verdict) -> Verdict | None:
        replaced: Verdict | None = config.hook.pytest_isobench_verdict(task=task, results=results, default=default)
        return replaced

    return TaskRun(
        input=task_input(item),
        sandboxes=session.make_sandbox,
        agent=known_agents(config)[name] if name else None,
        verdict_hook=verdict_hook,
    )


class InProcess:
    """The default executor: the task runs here, now, in the item's process."""

    def run(self, taskrun: TaskRun) -> TaskRecord:
        return taskrun.run()
