"""``IsobenchSession``: the one run state, built in ``pytest_configure``, under one stash key.

It holds the :class:`~pytest_isobench.settings.Settings` (read and validated by
``run_config``), which pytest process this is (``process``), the run id shared by the
controller and its xdist workers, the backend and its engine client, the sandboxes still
open, and the records of finished tasks. Registered as a plugin, it reports: the header,
each task's record, the terminal summary with ``summary.json`` and ``benchmark.json``, and
cleanup at the end. It is the one writer of records (:meth:`IsobenchSession.write`):
whatever ran a task (this process, an xdist worker, a Ray node), a lost task, a resumed
one. It runs no task (``executors`` do).
"""

from __future__ import annotations

import contextlib
import json
import weakref
from collections.abc import Generator
from typing import Any

import pytest

from .collect.fallback import fallback_record, known_task
from .collect.items import TaskItem
from .executors.protocol import Executor
from .keys import RECORD_ATTR, RECORD_KEY
from .process import Process, process_of
from .report.terminal import summary_lines
from .results import runstate
from .results.benchmark_json import write_benchmark_json
from .results.record import TaskRecord
from .results.store import ResultsWriteError, atomic_write, read_records, write_failure, write_record
from .sandbox.factory import BuiltinSandboxes, resolve_backend
from .sandbox.protocol import Sandbox, SandboxError, SandboxSpec
from .sandbox.signals import shielded
from .settings import Settings
from .taskrun.build_record import with_status

__all__ = ["IsobenchSession", "Settings"]


def _reason(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = str(report.longrepr or "")
    return text[-2000:]


class IsobenchSession:
    """The run's state and its reporting hooks (registered as the ``isobench-session`` plugin)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.process: Process = process_of(config)
        self.records: dict[str, TaskRecord] = {}
        self.resumed: dict[str, TaskRecord] = {}
        self.problems: list[str] = []
        self.live: weakref.WeakSet[Sandbox] = weakref.WeakSet()  # closed again at the end if a run was cut short
        self.executor: Executor | None = None  # None: in the item's process (another plugin may set one)
        self._backend: str | None = None
        self._builtin: BuiltinSandboxes | None = None

    @property
    def is_worker(self) -> bool:
        return self.process.is_worker

    # -- backend and sandboxes -------------------------------------------------
    def backend(self) -> str:
        """The backend in use; ``auto`` is resolved on first use (docker when an engine answers)."""
        if self._backend is None:
            name, client, note = resolve_backend(self.settings.backend)
            self._builtin = BuiltinSandboxes(name, self.settings.cache_dir, client)
            self._backend = name
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if note and reporter is not None:
                reporter.write_line(f"isobench: {note}")
        return self._backend

    def builtin_sandbox(self, backend: str, spec: SandboxSpec) -> Sandbox | None:
        """The built-in backends (the default ``pytest_isobench_make_sandbox``)."""
        self.backend()
        assert self._builtin is not None
        if backend != self._builtin.backend:
            return BuiltinSandboxes(backend, self.settings.cache_dir).make(spec)
        return self._builtin.make(spec)

    def make_sandbox(self, spec: SandboxSpec) -> Sandbox:
        """A sandbox from ``pytest_isobench_make_sandbox`` for this run's backend (a task run's factory)."""
        backend = self.backend()
        sandbox: Sandbox | None = self.config.hook.pytest_isobench_make_sandbox(
            backend=backend, spec=spec, config=self.config
        )
        if sandbox is None:
            raise SandboxError(f"no sandbox backend named {backend!r}")
        self.live.add(sandbox)
        return sandbox

    # -- header ----------------------------------------------------------------
    def pytest_report_header(self) -> list[str]:
        s = self.settings
        return [
            f"isobench: run {s.run_id}, backend {s.backend}, agent {s.agent or 'none (baseline vs human)'}",
            f"isobench: results in {s.results_dir}",
        ]

    # -- resume ----------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.settings.resume_dir is None:
            return
        loaded = read_records(self.settings.resume_dir)
        self.problems.extend(f"not resumed, will re-run: {p}" for p in loaded.problems)
        fingerprint = self.settings.fingerprint()
        by_node = {r.nodeid: r for r in loaded.records}
        for item in items:
            record = by_node.get(item.nodeid)
            if record is None or record.status not in ("passed", "failed"):
                continue
            if record.settings != fingerprint:
                continue
            self.resumed[item.nodeid] = record

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        record = self.resumed.get(item.nodeid)
        if record is None:
            return None
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        passed = record.status == "passed"
        for when in ("setup", "call", "teardown"):
            failed_call = when == "call" and not passed
            report = pytest.TestReport(
                nodeid=item.nodeid,
                location=item.location,
                keywords=dict.fromkeys(item.keywords, 1),
                outcome="failed" if failed_call else "passed",
                longrepr=f"[resumed from {self.settings.resume_dir}] {record.message}" if failed_call else None,
                when=when,
                sections=[],
                duration=0.0,
                start=0.0,
                stop=0.0,
                user_properties=[("isobench_resumed", "1")],
            )
            if when == "call":
                self._resumed_record(item, record.as_resumed(), report)
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    # -- records: the one writer ----------------------------------------------
    def write(self, record: TaskRecord, report: pytest.TestReport, session: pytest.Session | None) -> TaskRecord:
        """Write a task's record and hang it on its report: the one place records are written,
        whatever ran the task (this process, an xdist worker, a Ray node) and whoever lost it.

        A record that cannot be written (a full disk) fails its report and stops the run, the
        other pytest processes of the run too: never pretend a task was recorded.
        """
        try:
            write_record(self.settings.results_dir, record)
        except ResultsWriteError as exc:
            report.outcome = "failed"
            # a lost task keeps the reason its worker died; any other report says why it failed now
            report.longrepr = f"{report.longrepr}\n{exc}" if record.lost and report.longrepr else str(exc)
            if session is not None:
                session.shouldstop = str(exc)
            if self.process.distributed:
                runstate.raise_stop(self.settings.cache_dir, self.settings.run_id, str(exc))
        setattr(report, RECORD_ATTR, record.to_json())  # the summary reads it from the report (xdist ships it)
        return record

    def finish(self, item: pytest.Item, data: dict[str, Any], report: pytest.TestReport) -> TaskRecord:
        """A finished task's record (as JSON): completed by ``pytest_isobench_record``, kept, written."""
        item.config.hook.pytest_isobench_record(record=data, task=known_task(item))
        record = TaskRecord.from_json(data)
        item.stash[RECORD_KEY] = record
        return self.write(record, report, item.session)

    def _resumed_record(self, item: pytest.Item, record: TaskRecord, report: pytest.TestReport) -> None:
        if self.settings.results_dir != self.settings.resume_dir:
            self.write(record, report, item.session)  # the new run's directory holds every task
        else:
            setattr(report, RECORD_ATTR, record.to_json())

    def _item_record(self, item: TaskItem, report: pytest.TestReport) -> TaskRecord:
        """The item's record: its task run's, or (setup never got that far) what is known."""
        record = item.stash.get(RECORD_KEY, None)
        if record is None:
            return fallback_record(item, self.settings, "skipped" if report.skipped else "error", _reason(report))
        if report.when == "call" and report.failed and record.status == "passed":
            return with_status(record, "error", _reason(report))  # the item body itself broke
        return record

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if isinstance(item, TaskItem) and finished:
            self.finish(item, self._item_record(item, report).to_json(), report)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, RECORD_ATTR, None)
        if isinstance(data, dict) and not self.is_worker:
            self.records[report.nodeid] = TaskRecord.from_json(data)

    # -- summary ---------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.records:
            return
        records = [self.records[k] for k in sorted(self.records)]
        out = self.settings.results_dir
        try:
            write_benchmark_json(out / "benchmark.json", records)
        except OSError as exc:
            terminalreporter.write_line(f"error: {write_failure(out, 'benchmark.json', exc)}", red=True)
        lines, totals = summary_lines(records)
        summary = {
            "run_id": self.settings.run_id,
            "agent": self.settings.agent,
            "totals": totals,
            "tasks": [
                {
                    "item_id": r.item_id,
                    "nodeid": r.nodeid,
                    "status": r.status,
                    "verdict": r.verdict.model_dump(mode="json") if r.verdict is not None else None,
                }
                for r in records
            ],
        }
        try:
            atomic_write(out / "summary.json", json.dumps(summary, indent=1, default=str) + "\n")
        except OSError as exc:
            terminalreporter.write_line(f"error: {write_failure(out, 'summary.json', exc)}", red=True)
        terminalreporter.section("isobench")
        for line in lines:
            terminalreporter.write_line(line)
        for problem in self.problems:
            terminalreporter.write_line(f"warning: {problem}")
        terminalreporter.write_line(f"results: {out}")

    # -- cleanup ---------------------------------------------------------------
    def pytest_unconfigure(self) -> None:
        with shielded():  # a second Ctrl-C must not leave a sandbox behind
            for sandbox in list(self.live):
                with contextlib.suppress(Exception):
                    sandbox.close()
            if self._builtin is not None:
                self._builtin.close()
