"""Which tasks are valid on this machine: does the human speedup itself hold here?

A task whose human commit is not measurably faster here (the audit of the field found
this for most of GSO's and SWE-Perf's tasks on common cloud machines) cannot tell a good
agent from a bad one: whatever the agent does "matches" or "misses" a speedup that is
not there. Every record carries the human speedup's own verdict (``significant``,
``inconclusive``, ``slower``, ``tied``); runs without an agent exist to establish it.

The rule: a task is not valid here when a record of a run without an agent says its
human speedup does not hold (not significant, or below ``min_speedup`` when one is given,
as GSO's ``MIN_PROB_SPEEDUP`` of 1.2); for a task without such a record, when every
record with an agent says so. ``isobench report`` lists these apart and leaves them out
of success rates unless asked. Pure: records in, names out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..results.record import TaskRecord


@dataclass(frozen=True)
class Invalid:
    """A task not valid here, and why."""

    suite: str | None
    instance_id: str
    reason: str

    @property
    def line(self) -> str:
        return f"{self.suite or '-'} {self.instance_id}: {self.reason}"


def _key(record: TaskRecord) -> tuple[str | None, str]:
    return record.suite, record.instance_id or record.item_id


def _why_not(record: TaskRecord, min_speedup: float | None) -> str | None:
    """Why this record says the human speedup does not hold, or None (it holds, or it says nothing)."""
    verdict = record.verdict
    if verdict is None or verdict.human is None:
        return None
    point = verdict.human.point
    if verdict.human_significant is False:
        return f"human speedup {point:.3f}x is {verdict.human_verdict or 'not significant'} here"
    if min_speedup is not None and point < min_speedup:
        return f"human speedup {point:.3f}x is below the minimum {min_speedup:g}x"
    return None


def invalid_tasks(records: Sequence[TaskRecord], min_speedup: float | None = None) -> list[Invalid]:
    """The tasks whose human speedup does not hold here (see the module's rule), sorted."""
    without: dict[tuple[str | None, str], list[TaskRecord]] = {}
    with_agent: dict[tuple[str | None, str], list[TaskRecord]] = {}
    for record in records:
        if record.verdict is None or record.verdict.human is None:
            continue
        (with_agent if record.agent else without).setdefault(_key(record), []).append(record)
    found: list[Invalid] = []
    for key in sorted(set(without) | set(with_agent), key=lambda k: (str(k[0]), k[1])):
        if key in without:
            reasons = [r for r in (_why_not(x, min_speedup) for x in without[key]) if r]
            if reasons:
                found.append(Invalid(key[0], key[1], reasons[0] + " (run without an agent)"))
            continue
        every = [_why_not(x, min_speedup) for x in with_agent[key]]
        if all(every):
            found.append(Invalid(key[0], key[1], str(every[0])))
    return found


def without_invalid(records: Sequence[TaskRecord], invalid: Sequence[Invalid]) -> list[TaskRecord]:
    """``records`` less those of the tasks not valid here."""
    gone = {(i.suite, i.instance_id) for i in invalid}
    return [r for r in records if _key(r) not in gone]
