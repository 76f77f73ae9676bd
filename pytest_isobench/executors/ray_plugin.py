"""Wires the Ray executor to the plugin: which items go to the cluster, their demand, their records.

The one place that knows both the executor (generic over :class:`~.work.Work`) and the
rest of the plugin (task items, suites, the session's records). ``WORK_KEY`` lets a
conftest substitute the work shipped to the nodes (tests and benchmarks exercise the
executor with synthetic work); by default each item runs its ``TaskRun`` there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ..collect.fallback import fallback_record
from ..collect.items import TaskItem, task_of
from ..keys import SESSION_KEY, SUITE_KEY
from .demand import Demand, cpuset_size, gpu_count, parse_memory
from .ray_config import RayOptions
from .ray_executor import RayExecutor
from .taskrun_work import TASKRUN_WORK
from .work import Finished, Work

if TYPE_CHECKING:
    from ..settings import Settings

WORK_KEY = pytest.StashKey[Work]()


def demand_of(item: pytest.Item) -> Demand:
    """The measurement's resources: the task's or suite's GPUs, the suite's cpuset (its size in
    CPUs, and the cores to pin to) and memory."""
    suite = item.stash[SUITE_KEY]
    task = task_of(item)
    required = task.gpus if task.gpus is not None else suite.gpus_required
    resources = suite.resources
    return Demand(
        gpus=gpu_count(required, resources.gpus),
        cpus=float(cpuset_size(resources.cpuset)),
        memory=parse_memory(resources.memory),
        cpuset=resources.cpuset,
    )


def _record(item: pytest.Item, finished: Finished, settings: Settings) -> dict[str, Any]:
    """The task's record as the node sent it, or (it never got that far) what is known here."""
    if finished.record:
        return dict(finished.record)
    return fallback_record(item, settings, finished.status, finished.message[-2000:]).to_json()


def make_executor(config: pytest.Config, settings: Settings, options: RayOptions) -> RayExecutor:
    session = config.stash[SESSION_KEY]

    def is_task(item: pytest.Item) -> bool:
        return isinstance(item, TaskItem) and item.nodeid not in session.resumed

    def finish(item: pytest.Item, finished: Finished, ray_info: dict[str, Any], reps: list[pytest.TestReport]) -> None:
        data = _record(item, finished, settings)
        data["ray"] = ray_info
        last = next((r for r in reps if r.when == "call"), reps[0])
        session.finish(item, data, last)  # written by the session, as every record

    def work() -> Work:
        found = config.stash.get(WORK_KEY, None)
        if found is not None:
            return found
        return TASKRUN_WORK

    return RayExecutor(config, settings, options, work, is_task, demand_of, finish)
