"""Which pytest process this is: the only one, an xdist controller, or an xdist worker.

The one place that reads pytest-xdist's ``workerinput`` and ``-n``: the session, the GPU
and core shares of a worker, the clock lock and the run id all ask :func:`process_of`.
Imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest

Role = Literal["single", "controller", "worker"]


@dataclass(frozen=True)
class Process:
    role: Role
    worker: int = 0  # this worker's index (gw3 -> 3); 0 outside a worker
    workers: int = 1  # how many workers share the machine
    run_id: str | None = None  # the controller's run id, as handed to a worker

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"

    @property
    def distributed(self) -> bool:
        """Other pytest processes of this run exist (a worker's controller, a controller's workers)."""
        return self.role != "single"


def process_of(config: pytest.Config) -> Process:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        return Process(
            role="worker",
            worker=int(str(workerinput.get("workerid", "gw0")).removeprefix("gw") or 0),
            workers=int(workerinput.get("workercount", 1)),
            run_id=workerinput.get("isobench_run_id"),
        )
    numprocesses = config.getoption("numprocesses", None)
    distributed = numprocesses not in (None, 0, "0") or config.getoption("dist", "no") != "no"
    return Process(role="controller" if distributed else "single")
