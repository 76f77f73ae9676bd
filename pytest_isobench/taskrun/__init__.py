"""The stages of one task as plain code, no pytest: ``TaskRun`` and its values.

See :mod:`.run` for the stages; :mod:`.model` holds the input and the stage results,
:mod:`.record` builds the :class:`~pytest_isobench.results.record.TaskRecord`.
"""

from __future__ import annotations

from .model import (
    AgentFailed,
    Checkout,
    Measured,
    PatchOutcome,
    Prepared,
    TaskFailed,
    TaskInput,
    TaskSkipped,
)
from .run import TaskRun
from .sandboxes import SandboxFactory

__all__ = [
    "AgentFailed",
    "Checkout",
    "Measured",
    "PatchOutcome",
    "Prepared",
    "SandboxFactory",
    "TaskFailed",
    "TaskInput",
    "TaskRun",
    "TaskSkipped",
]
