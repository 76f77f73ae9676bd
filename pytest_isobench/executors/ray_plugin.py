"""Wires the Ray executor to the plugin: which items go to the cluster, their demand, their records.

The one place that knows both the executor (generic over :class:`~.work.Work`) and the
rest of the plugin (task items, suites, records). ``WORK_KEY`` lets a conftest substitute
the work shipped to the nodes (tests and benchmarks exercise the executor with synthetic
work); by default each item runs a ``TaskRun``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..collect.items import SUITE_KEY, TaskItem, task_of
from ..results.store import write_record
from ..runner import base_record
from ..runtime import RECORD_ATTR
from .demand import Demand, cpuset_size, gpu_count, parse_memory
from .ray_config import RayOptions
from .ray_executor import RayExecutor
from .work import Finished, Work

WORK_KEY = pytest.StashKey[Work]()


def demand_of(item: pytest.Item) -> Demand:
    """The measurement's resources: the task's or suite's GPUs, the suite's cpuset size and memory."""
    suite = item.stash[SUITE_KEY]
    task = task_of(item)
    required = task.gpus if task.gpus is not None else suite.gpus_required
    resources = suite.resources
    return Demand(
        gpus=gpu_count(required, resources.gpus),
        cpus=float(cpuset_size(resources.cpuset)),
        memory=parse_memory(resources.memory),
    )


def make_executor(config: pytest.Config, settings: Any, options: RayOptions) -> RayExecutor:
    state = config.pluginmanager.get_plugin("isobench-run")
    resumed: dict[str, Any] = getattr(state, "resumed", {})

    def is_task(item: pytest.Item) -> bool:
        return isinstance(item, TaskItem) and item.nodeid not in resumed

    def finish(item: pytest.Item, finished: Finished, ray_info: dict[str, Any], reps: list[pytest.TestReport]) -> None:
        record = dict(finished.record) or base_record(item, None, settings)
        record.setdefault("status", finished.status)
        record.setdefault("verdict", None)
        if finished.status in ("skipped", "error"):
            record.setdefault("reason", finished.message[-2000:])
        record["ray"] = ray_info
        config.hook.pytest_isobench_record(record=record, task=task_of(item))
        write_record(settings.results_dir, record)
        last = next((r for r in reps if r.when == "call"), reps[0])
        setattr(last, RECORD_ATTR, record)  # the run's summary reads it from the report

    def work() -> Work:
        found = config.stash.get(WORK_KEY, None)
        if found is not None:
            return found
        # The task run (issue 14) is what a node runs; until it is on main only substituted work runs.
        pytest.exit(
            "--isobench-ray: running suite tasks on Ray needs the TaskRun pipeline, not merged yet "
            "(only work substituted under WORK_KEY runs on the cluster so far)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )

    return RayExecutor(config, settings, options, work, is_task, demand_of, finish)
