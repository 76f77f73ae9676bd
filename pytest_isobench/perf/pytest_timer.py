"""A pytest plugin put into the checkout for ``pytest-node`` perf tests (SWE-Perf's shape).

SWE-Perf (``evaluation/test_spec.py``, ``check_evaluation.py``) runs the efficiency tests
under pytest 20 times with ``--json-report`` and reads each test's ``call`` duration (the
test body, not its fixtures' setup or teardown, nor pytest's start-up and collection);
every run must pass. The harness writes this file as ``_isobench_pytest_timer.py`` and
runs ``python -m pytest -p _isobench_pytest_timer NODE...``: the call durations of the
tests that ran are added up into the JSON report line (``time_s``) printed when pytest
ends; a test that did not pass gives no figure (pytest's exit status says it failed).
One value per process, as theirs: the protocol interleaves the variants' processes.

Standard library and pytest only, on the sandbox's Python; the harness reads its text.
"""

from __future__ import annotations

import json
import os
from typing import Any

_calls: dict[str, float] = {}
_failed: list[str] = []


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call":
        _calls[report.nodeid] = float(report.duration)
    if report.failed:
        _failed.append(report.nodeid)


def pytest_unconfigure(config: Any) -> None:
    if _calls and not _failed:
        line = "\n" + json.dumps({"time_s": sum(_calls.values()), "tests": len(_calls)}) + "\n"
        os.write(1, line.encode())  # past pytest's capture, after its summary
