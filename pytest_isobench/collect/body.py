"""The body of every task item: map the task run's record onto pytest's outcome.

The task run itself happens in setup (the ``isobench_record`` fixture), so that an
infrastructure failure is reported as an error and a task that cannot run here as a skip;
what is left for the call phase is passed or failed, with the numbers in the message.
"""

from __future__ import annotations

import pytest

from ..results.record import TaskRecord


def run_task(isobench_record: TaskRecord, request: pytest.FixtureRequest) -> None:
    """Pass or fail one ISO-Bench task on its verdict (see ``isobench_record``)."""
    record, item = isobench_record, request.node
    verdict = record.verdict
    if verdict is not None:
        for key in ("human", "agent", "agent_vs_human"):
            estimate = getattr(verdict, key)
            if estimate is not None:
                item.user_properties.append((f"isobench_{key}_speedup", f"{estimate.point:.4f}"))
        label = verdict.category or verdict.human_verdict or "not significant"
        item.user_properties.append(("isobench_verdict", label))
    if record.review:
        item.user_properties.append(("isobench_review", record.review))
    if record.status != "passed":
        pytest.fail(record.reason or record.message, pytrace=False)
