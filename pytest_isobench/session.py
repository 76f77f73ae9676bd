"""``IsobenchSession``: the one run state, built in ``pytest_configure``, under one stash key.

It holds the parsed :class:`~pytest_isobench.settings.Settings` (validated here, so a bad
combination is a ``pytest.UsageError`` before any container starts), the run id shared by
the controller and its xdist workers, the backend and its engine client, the sandboxes
still open, and the records of finished tasks. Registered as a plugin, it reports: the
header, each task's record (written as the task finishes, replayed on resume), the
terminal summary with ``summary.json`` and ``benchmark.json``, and cleanup at the end.
It runs no task (``executors`` do).
"""

from __future__ import annotations

import contextlib
import json
import os
import weakref
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from . import options as opt
from .agents.base import Agent
from .collect.items import TaskItem, task_of
from .collect.shard import ShardSpecError, load_durations
from .executors.base import Executor
from .keys import RECORD_ATTR, RECORD_KEY, SUITE_KEY, TASK_KEY
from .report.terminal import summary_lines
from .results import runstate
from .results.benchmark_json import write_benchmark_json
from .results.record import TaskRecord
from .results.store import ResultsWriteError, atomic_write, read_records, write_failure, write_record
from .sandbox.base import Sandbox, SandboxError, SandboxSpec
from .sandbox.factory import BuiltinSandboxes, resolve_backend
from .settings import Settings, new_run_id
from .signals import shielded
from .taskrun.record import bare_record, with_status

__all__ = ["IsobenchSession", "Settings", "build_settings", "new_run_id"]


def _path(value: Any, rootdir: Path) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else rootdir / path


def _check_writable(flag: str, path: Path) -> None:
    """``path`` is, or can be made, a writable directory; checked without creating anything."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise pytest.UsageError(f"{flag}: {path} cannot be a directory: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise pytest.UsageError(f"{flag}: {path} is not writable (no write permission on {existing})")


def build_settings(config: pytest.Config, run_id: str | None) -> Settings:
    """Parse and validate options and ini keys; raise ``pytest.UsageError`` when wrong."""
    root = config.rootpath
    run_id = run_id or new_run_id()
    get = opt.get
    settings = Settings(
        run_id=run_id,
        rootdir=root,
        agent=get(config, "--isobench-agent", "isobench_agent"),
        model=get(config, "--isobench-model", "isobench_model"),
        predictions=_path(get(config, "--isobench-predictions"), Path.cwd()),
        backend=get(config, "--isobench-backend", "isobench_backend", "auto"),
        image=get(config, "--isobench-image"),
        gpus=get(config, "--isobench-gpus"),
        min_rounds=get(config, "--isobench-min-rounds", "isobench_min_rounds"),
        max_time_s=get(config, "--isobench-max-time", "isobench_max_time"),
        target_ci=get(config, "--isobench-target-ci", "isobench_target_ci"),
        warmup=get(config, "--isobench-warmup", "isobench_warmup"),
        pass_categories=get(config, "--isobench-pass", "isobench_pass"),
        resume_dir=_path(get(config, "--isobench-resume"), Path.cwd()),
        cache_dir=_path(get(config, "--isobench-cache-dir", "isobench_cache_dir"), root)
        or root / ".isobench" / "cache",
        rerun_agent=bool(get(config, "--isobench-rerun-agent", default=False)),
        agent_timeout_s=get(config, "--isobench-agent-timeout", "isobench_agent_timeout"),
        review_factor=get(config, "--isobench-review-factor", "isobench_review_factor"),
        testgen_model=get(config, "--isobench-testgen-model", "isobench_testgen_model"),
        testgen_concurrency=get(config, "--isobench-testgen-concurrency", "isobench_testgen_concurrency", 8),
        testgen_attempts=get(config, "--isobench-testgen-attempts", "isobench_testgen_attempts", 3),
        testgen_timeout_s=get(config, "--isobench-testgen-timeout", "isobench_testgen_timeout", 60.0),
        shard=get(config, "--isobench-shard"),
        durations=_path(get(config, "--isobench-durations"), Path.cwd()),
        datasets=list(get(config, "--isobench-dataset", default=[]) or []),
    )
    settings.generate = get(config, "--isobench-generate", "isobench_generate") or (
        "missing" if settings.testgen_model else "never"
    )
    results = _path(get(config, "--isobench-results", "isobench_results"), Path.cwd())
    settings.results_dir = results or root / ".isobench" / "results" / run_id
    if settings.min_rounds is not None and settings.min_rounds < 2:
        raise pytest.UsageError(f"--isobench-min-rounds: {settings.min_rounds!r} is too few: the intervals need >= 2")
    if settings.warmup is not None and settings.warmup < 0:
        raise pytest.UsageError(f"--isobench-warmup: {settings.warmup!r} is not a whole number >= 0")
    if settings.agent == "predictions" and settings.predictions is None:
        raise pytest.UsageError("--isobench-agent=predictions needs --isobench-predictions=FILE|DIR")
    if settings.predictions is not None and not settings.predictions.exists():
        raise pytest.UsageError(f"--isobench-predictions: {settings.predictions}: no such file or directory")
    if settings.resume_dir is not None and not settings.resume_dir.is_dir():
        raise pytest.UsageError(f"--isobench-resume: {settings.resume_dir} is not a directory")
    if settings.durations is not None and not settings.durations.is_file():
        raise pytest.UsageError(f"--isobench-durations: {settings.durations} is not a file")
    if settings.durations is not None:
        try:
            settings.durations_map = load_durations(settings.durations)
        except ShardSpecError as exc:
            raise pytest.UsageError(f"--isobench-durations: {exc}") from None
    return settings


def ensure_results_dir(config: pytest.Config, settings: Settings) -> None:
    """Results must be writable before anything runs: a ``UsageError`` naming the directory.

    Checked when this run names ISO-Bench work (a results directory, an agent, a dataset,
    a resume, suite or data files on the command line, or suite files under the rootdir),
    so a project that merely has the plugin installed is never stopped by it.
    """
    explicit = opt.get(config, "--isobench-results", "isobench_results") is not None
    named = settings.agent or settings.datasets or settings.resume_dir is not None
    if explicit or named or opt.names_task_files(config):
        _check_writable("--isobench-results", settings.results_dir)


def known_agents(config: pytest.Config) -> dict[str, type[Agent]]:
    """Every agent registered through ``pytest_isobench_agents``, first name wins."""
    merged: dict[str, type[Agent]] = {}
    for mapping in config.hook.pytest_isobench_agents():
        for name, cls in (mapping or {}).items():
            merged.setdefault(name, cls)
    return merged


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


class IsobenchSession:
    """The run's state and its reporting hooks (registered as the ``isobench-session`` plugin)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.is_worker = hasattr(config, "workerinput")
        self.records: dict[str, TaskRecord] = {}
        self.resumed: dict[str, TaskRecord] = {}
        self.problems: list[str] = []
        self.live: weakref.WeakSet[Sandbox] = weakref.WeakSet()  # closed again at the end if a run was cut short
        self.executor: Executor | None = None  # None: in the item's process (another plugin may set one)
        self._backend: str | None = None
        self._builtin: BuiltinSandboxes | None = None

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
                setattr(report, RECORD_ATTR, record.as_resumed().to_json())
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    # -- records ---------------------------------------------------------------
    def _item_record(self, item: TaskItem, report: pytest.TestReport) -> TaskRecord:
        """The item's record: its task run's, or (setup never got that far) what is known."""
        record = item.stash.get(RECORD_KEY, None)
        if record is None:
            suite = item.stash.get(SUITE_KEY, None)
            return bare_record(
                item_id=item.name,
                nodeid=item.nodeid,
                suite=suite.name if suite is not None else None,
                settings=self.settings,
                status="skipped" if report.skipped else "error",
                reason=_reason(report),
                task=item.stash.get(TASK_KEY, None),
                repo=suite.repo if suite is not None else None,
            )
        if report.when == "call" and report.failed and record.status == "passed":
            return with_status(record, "error", _reason(report))  # the item body itself broke
        return record

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if not isinstance(item, TaskItem):
            return report
        finished = report.when == "call" or (report.when == "setup" and not report.passed)
        if not finished:
            return report
        record = self._item_record(item, report)
        data = record.to_json()
        task = item.stash.get(TASK_KEY, None)
        if task is None:
            with contextlib.suppress(Exception):
                task = task_of(item)
        item.config.hook.pytest_isobench_record(record=data, task=task)
        record = TaskRecord.from_json(data)
        item.stash[RECORD_KEY] = record
        try:
            write_record(self.settings.results_dir, record)
        except ResultsWriteError as exc:
            _stop_run(item, report, exc)
            if self.is_worker:  # the other workers stop before their next task too
                runstate.raise_stop(self.settings.cache_dir, self.settings.run_id, str(exc))
        setattr(report, RECORD_ATTR, record.to_json())
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, RECORD_ATTR, None)
        if not isinstance(data, dict) or self.is_worker:
            return
        record = TaskRecord.from_json(data)
        self.records[report.nodeid] = record
        if record.resumed and self.settings.results_dir != self.settings.resume_dir:
            write_record(self.settings.results_dir, record)

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
