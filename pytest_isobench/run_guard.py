"""The run's guard against faults around it: ending signals, and leftovers swept at its end.

Registered once per process in ``pytest_configure``. It makes SIGTERM and SIGHUP behave
like Ctrl-C (``signals``), and at the very end of the controller's run, after every
worker is gone and every fixture closed, removes whatever of this run is still there
(``sandbox.run_sweep``): containers of a restarted engine or of a worker that died,
worktrees of a clean-up cut short. It says what it removed; it runs no task.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from .sandbox import signals
from .sandbox.docker_sandbox import engine_client
from .sandbox.protocol import SandboxError
from .sandbox.run_sweep import Swept, sweep_docker, sweep_worktrees

if TYPE_CHECKING:
    from .session import Settings


class RunGuard:
    """Signals in, leftovers out; see the module doc."""

    def __init__(self, settings: Settings, is_worker: bool) -> None:
        self.settings = settings
        self.is_worker = is_worker
        self.ran = False
        self._previous: dict[int, Any] = signals.install()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.ran = True

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        try:
            if self.ran and not self.is_worker:
                with signals.shielded():
                    self.sweep()
        finally:
            signals.restore(self._previous)

    def sweep(self) -> None:

        run_id = self.settings.run_id
        swept = sweep_worktrees(self.settings.cache_dir, run_id)
        docker_swept = Swept()
        if self.settings.backend == "docker":
            docker_swept = sweep_docker(run_id)
        elif self.settings.backend == "auto":
            try:
                engine_client().close()
            except SandboxError:
                pass  # without an engine, auto ran on the local backend: nothing to sweep
            else:
                docker_swept = sweep_docker(run_id, wait_s=0)
        swept.removed += docker_swept.removed
        swept.problems += docker_swept.problems
        if swept.removed:
            shown = ", ".join(swept.removed[:5]) + (", ..." if len(swept.removed) > 5 else "")
            sys.stderr.write(f"isobench: removed {len(swept.removed)} leftover(s) of run {run_id}: {shown}\n")
        for problem in swept.problems:
            sys.stderr.write(f"isobench: warning: {problem}\n")
