"""A finished remote task becomes its item's pytest reports, as if it had run in this process.

pytest-xdist's controller does the same with its workers' reports: ``logstart``, one
report per phase (setup, call, teardown), ``logfinish``, all through the item's hooks, so
the terminal, ``-x``, ``--lf``, junitxml and the plugin's own summary see an ordinary
test. The task's outcome maps as a local run maps it: failed is a failed call, error a
failed setup, skipped a skipped setup with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from .work import Finished


def reports(item: pytest.Item, finished: Finished, duration_s: float) -> list[pytest.TestReport]:
    """setup / call / teardown reports of ``item`` for ``finished`` (call omitted when setup did not pass)."""

    def report(when: str, outcome: str, longrepr: Any = None, duration: float = 0.0) -> pytest.TestReport:
        return pytest.TestReport(
            nodeid=item.nodeid,
            location=item.location,
            keywords=dict.fromkeys(item.keywords, 1),
            outcome=outcome,  # type: ignore[arg-type]
            longrepr=longrepr,
            when=when,  # type: ignore[arg-type]
            sections=[],
            duration=duration,
            start=0.0,
            stop=duration,
            user_properties=list(finished.user_properties) if when == "call" else [],
        )

    status = finished.status
    if status == "skipped":
        path, line, _ = item.location
        return [
            report("setup", "skipped", (path, (line or 0) + 1, f"Skipped: {finished.message}")),
            report("teardown", "passed"),
        ]
    if status == "error":
        return [report("setup", "failed", finished.message or "error", duration_s), report("teardown", "passed")]
    call = report(
        "call",
        "passed" if status == "passed" else "failed",
        finished.message if status == "failed" else None,
        duration_s,
    )
    return [report("setup", "passed"), call, report("teardown", "passed")]


def replay(item: pytest.Item, items_reports: list[pytest.TestReport]) -> None:
    """Hand the reports to pytest's hooks, in the order a local run would."""
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for rep in items_reports:
        ihook.pytest_runtest_logreport(report=rep)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
