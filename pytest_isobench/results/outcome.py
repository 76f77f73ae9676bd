"""A record's status from its verdict: whose failure it was decides failed or error.

A failed run of the baseline or the human variant (a crash, a timeout, an OOM kill) is the
task's or the machine's problem, never the agent's: the record says ``error``. A failure
of the agent's variant, or a verdict against it, says ``failed``. Knows only the verdict's
documented reason prefixes; computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .record import Status

if TYPE_CHECKING:
    from ..measure.verdict import Verdict

TASK_PROBLEMS = ("baseline failed:", "human failed:")


def status_of(verdict: Verdict) -> Status:
    if verdict.passed:
        return "passed"
    if verdict.category is None and verdict.reason.startswith(TASK_PROBLEMS):
        return "error"
    return "failed"
