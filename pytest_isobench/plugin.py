"""The pytest entry point of ISO-Bench: options, ini keys, hooks and fixtures, wired up.

Glue only: parsing lives in ``options``/``session``, collection in ``collect``, the call
phase in ``runner``, records in ``results`` and the summary in ``report``. Importing this
module must stay cheap: heavy libraries load where they are used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from . import fixtures, hookspecs, options
from .collect.items import DatasetCollector, SuiteFile, TaskItem
from .collect.predictions_map import collection_lines
from .fixtures import LIVE_KEY, SETTINGS_KEY
from .session import build_settings, ensure_results_dir

_DATA_SUFFIXES = (".jsonl", ".parquet")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    run_id = workerinput.get("isobench_run_id") if workerinput else None
    settings = build_settings(config, run_id)
    if workerinput is None and not config.option.help:
        ensure_results_dir(config, settings)
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(fixtures, "isobench-fixtures")
    if settings.agent:
        from .agents.registry import unknown_agent_message
        from .fixtures import known_agents

        known = known_agents(config)
        if settings.agent not in known:
            raise pytest.UsageError(unknown_agent_message(settings.agent, known))
    if settings.datasets and config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = []  # only the given datasets, not testpaths
    from .runtime import RunState

    state = RunState(config, settings)
    config.pluginmanager.register(state, "isobench-run")
    from .run_guard import RunGuard

    config.pluginmanager.register(RunGuard(settings, workerinput is not None), "isobench-guard")
    from .provenance.plugin import GpuProvenance

    config.pluginmanager.register(GpuProvenance(config), "isobench-gpu-provenance")
    if config.pluginmanager.hasplugin("xdist"):
        from .xdist_hooks import XdistHooks

        config.pluginmanager.register(XdistHooks(settings), "isobench-xdist")


def _is_suite(file_path: Path, parent: pytest.Collector) -> bool:
    if file_path.suffix not in (".yaml", ".yml"):
        return False
    if parent.session.isinitpath(file_path):
        return True
    try:
        rel = file_path.relative_to(parent.config.rootpath).as_posix()
    except ValueError:
        return False
    return any(fnmatch(rel, pattern) for pattern in parent.config.getini("isobench_suites"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_suite(file_path, parent):
        from .runner import run_task

        node = SuiteFile.from_parent(parent, path=file_path)
        node.callobj = run_task
        return node
    if file_path.suffix in _DATA_SUFFIXES and parent.session.isinitpath(file_path):
        from .runner import run_task

        try:
            nodeid = file_path.relative_to(parent.config.rootpath).as_posix()
        except ValueError:
            nodeid = str(file_path)
        return DatasetCollector.from_parent(
            parent, name=file_path.name, path=file_path, nodeid=nodeid, source=str(file_path), callobj=run_task
        )
    return None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if isinstance(collector, pytest.Session) and report.passed:
        from .runner import run_task

        for source in collector.config.stash[SETTINGS_KEY].datasets:
            report.result.append(
                DatasetCollector.from_parent(collector, name=source, nodeid=source, source=source, callobj=run_task)
            )
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep this machine's shard (before -k/-m, so shards never depend on selection)."""
    settings = config.stash[SETTINGS_KEY]
    if settings.shard is None:
        return
    from .collect.shard import select

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


def pytest_unconfigure(config: pytest.Config) -> None:
    from .signals import shielded

    live: list[Any] = config.stash.get(LIVE_KEY, [])
    with shielded():
        for sandbox in list(live):
            with contextlib.suppress(Exception):
                sandbox.close()
