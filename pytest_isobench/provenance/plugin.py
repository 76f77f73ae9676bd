"""GPU provenance as a pytest plugin object: a snapshot around each task, clocks locked on request.

Registered in ``pytest_configure``. Around the call phase of a task item it takes an
``nvidia-smi`` snapshot before and after and stores the pair in the record (field
``gpu``); records of tasks that never reached the call phase (skips, setup errors) get a
single snapshot through ``pytest_isobench_record``. With ``--isobench-lock-clocks`` the
controller locks the GPU clocks before any worker starts and resets them at the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from . import gpu

if TYPE_CHECKING:
    from ..dataset.models import Task


class GpuWarning(UserWarning):
    """A GPU condition that makes a task's timings less trustworthy (see ``gpu.gpu_warnings``)."""


def _scope(item: pytest.Item) -> tuple[list[str] | None, bool]:
    """The GPUs this item's sandboxes use (None: all) and whether it uses a GPU at all."""
    from ..collect.items import SUITE_KEY

    variants = getattr(item, "funcargs", {}).get("isobench_variants")
    spec = None
    if variants is not None and variants.sandboxes:
        spec = next(iter(variants.sandboxes.values())).spec.limits.gpus
    suite = item.stash.get(SUITE_KEY, None)
    required = suite.gpus_required if suite is not None else 0
    return gpu.device_ids(spec), spec is not None or required > 0


class GpuProvenance:
    """Snapshots around task items; the clock lock of the run (see the module doc)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lock: gpu.LockResult | None = None
        self.messages: list[str] = []
        self._pending: dict[str, dict[str, Any]] = {}
        if config.getoption("isobench_lock_clocks", False) and not hasattr(config, "workerinput"):
            self.lock = gpu.lock_clocks(config.getoption("isobench_lock_clocks_mhz", None))
            self.messages.append(self.lock.message)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        from ..collect.items import TaskItem

        if not isinstance(item, TaskItem):
            return (yield)
        from ..runner import RECORD_KEY

        devices, uses_gpu = _scope(item)
        start = gpu.snapshot(devices)
        try:
            return (yield)
        finally:
            record = item.stash.get(RECORD_KEY, None)
            if record is not None:
                record["gpu"] = gpu.task_gpu_record(start, gpu.snapshot(devices), uses_gpu=uses_gpu)
                for text in record["gpu"].get("warnings", []):
                    warnings.warn(GpuWarning(f"{item.name}: {text}"), stacklevel=1)

    def pytest_isobench_record(self, record: dict[str, Any], task: Task) -> None:
        if "gpu" not in record:
            record["gpu"] = gpu.task_gpu_record(gpu.snapshot(), None, uses_gpu=False)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for message in self.messages:
            terminalreporter.write_line(f"isobench: {message}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.lock is not None and self.lock.locked_mhz is not None:
            outcome = gpu.reset_clocks(self.lock)
            reporter = config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"isobench: {outcome}")
            self.lock = None
