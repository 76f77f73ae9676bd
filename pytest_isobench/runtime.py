"""The run's state as a plugin object: records from reports, resume, the end summary.

Each finished task's record rides on its test report (``report.isobench_record``), so it
reaches the controller from xdist workers too. The process that ran the task writes the
record at once; the controller gathers them, writes ``summary.json`` and
``benchmark.json`` (pytest-benchmark's format) and prints one line per task.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from .collect.items import TaskItem, task_of

if TYPE_CHECKING:
    from .session import Settings

RECORD_ATTR = "isobench_record"


class RunState:
    """Registered in ``pytest_configure``; holds the records of this session."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.records: dict[str, dict[str, Any]] = {}
        self.resumed: dict[str, dict[str, Any]] = {}
        self.problems: list[str] = []
        self.is_worker = hasattr(config, "workerinput")

    # -- resume ---------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.settings.resume_dir is None:
            return
        from .results.store import read_records

        loaded = read_records(self.settings.resume_dir)
        self.problems.extend(f"not resumed, will re-run: {p}" for p in loaded.problems)
        fingerprint = self.settings.fingerprint()
        by_node = {r.get("nodeid"): r for r in loaded.records}
        for item in items:
            record = by_node.get(item.nodeid)
            if record is None or record.get("status") not in ("passed", "failed"):
                continue
            if record.get("settings") != fingerprint:
                continue
            self.resumed[item.nodeid] = record

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        record = self.resumed.get(item.nodeid)
        if record is None:
            return None
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        passed = record["status"] == "passed"
        for when in ("setup", "call", "teardown"):
            failed_call = when == "call" and not passed
            message = (record.get("verdict") or {}).get("message", record["status"])
            report = pytest.TestReport(
                nodeid=item.nodeid,
                location=item.location,
                keywords=dict.fromkeys(item.keywords, 1),
                outcome="failed" if failed_call else "passed",
                longrepr=f"[resumed from {self.settings.resume_dir}] {message}" if failed_call else None,
                when=when,
                sections=[],
                duration=0.0,
                start=0.0,
                stop=0.0,
                user_properties=[("isobench_resumed", "1")],
            )
            if when == "call":
                setattr(report, RECORD_ATTR, {**record, "resumed": True})
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    # -- records --------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not isinstance(item, TaskItem):
            return report
        from .runner import RECORD_KEY, base_record

        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if not finished:
            return report
        record = item.stash.get(RECORD_KEY, None)
        if record is None:
            record = base_record(item, None, self.settings)
        if report.when == "setup":
            record["status"] = "skipped" if report.skipped else "error"
            record["verdict"] = None
            record["reason"] = _reason(report)
        elif "status" not in record:
            record["status"] = "error" if report.failed else "passed"
            record.setdefault("verdict", None)
            record["reason"] = _reason(report)
        item.config.hook.pytest_isobench_record(record=record, task=task_of(item))
        from .results.store import ResultsWriteError, write_record

        try:
            write_record(self.settings.results_dir, record)
        except ResultsWriteError as exc:
            _stop_run(item, report, exc)
        setattr(report, RECORD_ATTR, record)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, RECORD_ATTR, None)
        if isinstance(record, dict) and not self.is_worker:
            self.records[report.nodeid] = record
            if record.get("resumed") and self.settings.results_dir != self.settings.resume_dir:
                from .results.store import write_record

                clean = {k: v for k, v in record.items() if k not in ("_path", "schema")}
                write_record(self.settings.results_dir, clean)

    # -- summary --------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.records:
            return
        from .report.terminal import summary_lines
        from .results.benchmark_json import write_benchmark_json
        from .results.store import atomic_write

        records = [self.records[k] for k in sorted(self.records)]
        out = self.settings.results_dir
        try:
            write_benchmark_json(out / "benchmark.json", records)
        except OSError as exc:
            from .results.store import write_failure

            terminalreporter.write_line(f"error: {write_failure(out, 'benchmark.json', exc)}", red=True)
        lines, totals = summary_lines(records)
        summary = {
            "run_id": self.settings.run_id,
            "agent": self.settings.agent,
            "totals": totals,
            "tasks": [
                {k: r.get(k) for k in ("item_id", "nodeid", "status")} | {"verdict": r.get("verdict")} for r in records
            ],
        }
        try:
            atomic_write(out / "summary.json", json.dumps(summary, indent=1, default=str) + "\n")
        except OSError as exc:
            from .results.store import write_failure

            terminalreporter.write_line(f"error: {write_failure(out, 'summary.json', exc)}", red=True)
        terminalreporter.section("isobench")
        for line in lines:
            terminalreporter.write_line(line)
        for problem in self.problems:
            terminalreporter.write_line(f"warning: {problem}")
        terminalreporter.write_line(f"results: {out}")


def _stop_run(item: pytest.Item, report: pytest.TestReport, exc: Exception) -> None:
    """A record that cannot be written fails its item and stops the run: never pretend."""
    report.outcome = "failed"
    report.longrepr = str(exc)
    item.session.shouldstop = str(exc)


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = str(report.longrepr or "")
    return text[-2000:]
