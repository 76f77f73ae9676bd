"""GPU provenance as a pytest plugin object: clocks locked on request, a snapshot for every record.

Registered in ``pytest_configure``. The task run itself takes an ``nvidia-smi`` snapshot
before and after its timing and stores the pair in the record (field ``gpu``, see
``taskrun.measure``); records of tasks that never reached the timing (skips, setup
errors, agent failures) get a single snapshot here, through ``pytest_isobench_record``.
With ``--isobench-lock-clocks`` the controller locks the GPU clocks before any worker
starts and resets them at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from ..process import process_of
from . import gpu
from .gpu import GpuWarning

__all__ = ["GpuProvenance", "GpuWarning"]

if TYPE_CHECKING:
    from ..dataset.models import Task


class GpuProvenance:
    """The clock lock of the run and the snapshot of records without one (see the module doc)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.lock: gpu.LockResult | None = None
        self.messages: list[str] = []
        if config.getoption("isobench_lock_clocks", False) and not process_of(config).is_worker:
            self.lock = gpu.lock_clocks(config.getoption("isobench_lock_clocks_mhz", None))
            self.messages.append(self.lock.message)

    def pytest_isobench_record(self, record: dict[str, Any], task: Task | None) -> None:
        if record.get("gpu") is None:
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
