"""The plugin proper: session, collection, fixtures and reports, wired up. PYTEST_DONT_REWRITE

Registered by name by the entry module (:mod:`.plugin`) only when a run asks for ISO-Bench
work, so the models, suites and datasets it imports load for those runs alone. Glue only:
parsing lives in ``options``/``run_config``, collection in ``collect``, the run state and
reporting in ``session.IsobenchSession``, a task's stages in ``taskrun``. The built-in
agents and sandbox backends are the ``trylast`` defaults of our own hooks. The marker in
the first line keeps pytest's assertion rewriting off this module (it has no asserts; the
marker avoids a warning when the module was imported before pytest registers it).
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from . import fixtures
from .agents.agent import Agent
from .agents.registry import all_agents, known_agents, unknown_agent_message
from .collect.items import DatasetCollector, SuiteFile, TaskItem
from .collect.predictions_map import collection_lines
from .collect.shard import select
from .executors.ray_plugin import make_executor
from .keys import SESSION_KEY
from .process import process_of
from .provenance.plugin import GpuProvenance
from .run_config import build_settings, ensure_results_dir, ray_options
from .run_guard import RunGuard
from .sandbox.protocol import Sandbox, SandboxSpec
from .session import IsobenchSession
from .xdist_hooks import XdistHooks


def start(config: pytest.Config) -> None:
    """Build the run's session and register its parts (the entry module calls this once,
    right after registering this module; not ``pytest_configure``, which pytest would replay
    before this module's other hooks, the built-in agents among them, are registered)."""
    process = process_of(config)
    settings = build_settings(config, process.run_id)
    if not process.is_worker and not config.option.help:
        ensure_results_dir(config, settings)
    if settings.agent:
        known = known_agents(config)
        if settings.agent not in known:
            raise pytest.UsageError(unknown_agent_message(settings.agent, known))
    if settings.datasets and config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # only the given datasets, not testpaths
    session = IsobenchSession(config, settings)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(fixtures, "isobench-fixtures")
    config.pluginmanager.register(session, "isobench-session")
    config.pluginmanager.register(RunGuard(settings, process.is_worker), "isobench-guard")
    config.pluginmanager.register(GpuProvenance(config), "isobench-gpu-provenance")
    ray_opts = ray_options(config, settings.gpus)
    if ray_opts is not None and not process.is_worker:
        config.pluginmanager.register(make_executor(config, settings, ray_opts), "isobench-ray")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(session), "isobench-xdist")


@pytest.hookimpl(trylast=True)
def pytest_isobench_agents() -> dict[str, type[Agent]]:
    """The built-in agents and those of the ``pytest_isobench.agents`` entry-point group."""
    return all_agents()


@pytest.hookimpl(trylast=True)
def pytest_isobench_make_sandbox(backend: str, spec: SandboxSpec, config: pytest.Config) -> Sandbox | None:
    """The built-in backends: ``docker`` and ``local``."""
    return config.stash[SESSION_KEY].builtin_sandbox(backend, spec)


def suite_file(file_path: Path, parent: pytest.Collector) -> SuiteFile:
    """The collector of a suite file (the entry module's ``pytest_collect_file`` chose it)."""
    node: SuiteFile = SuiteFile.from_parent(parent, path=file_path)
    return node


def data_file(file_path: Path, parent: pytest.Collector) -> DatasetCollector:
    """The collector of a data file named on the command line."""
    try:
        nodeid = file_path.relative_to(parent.config.rootpath).as_posix()
    except ValueError:
        nodeid = str(file_path)
    return DatasetCollector.from_parent(
        parent, name=file_path.name, path=file_path, nodeid=nodeid, source=str(file_path)
    )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if isinstance(collector, pytest.Session) and report.passed:
        for source in collector.config.stash[SESSION_KEY].settings.datasets:
            report.result.append(DatasetCollector.from_parent(collector, name=source, nodeid=source, source=source))
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep this machine's shard (before -k/-m, so shards never depend on selection)."""
    settings = config.stash[SESSION_KEY].settings
    if settings.shard is None:
        return
    k, n = settings.shard
    tasks = [item for item in items if isinstance(item, TaskItem)]
    keep = select([item.nodeid for item in tasks], k, n, settings.durations_map)
    deselected = [item for item in tasks if item.nodeid not in keep]
    if deselected:
        gone = set(map(id, deselected))
        items[:] = [item for item in items if id(item) not in gone]
        config.hook.pytest_deselected(items=deselected)


def pytest_report_collectionfinish(config: pytest.Config, start_path: Path, items: list[pytest.Item]) -> list[str]:
    return collection_lines(config, items)
