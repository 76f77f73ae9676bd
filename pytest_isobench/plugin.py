"""The pytest entry point of ISO-Bench (``pytest11``): options, ini keys, our hookspecs, and
the switch that loads the rest.

Every pytest run of every project where the plugin is installed imports this module, so it
must stay small: it imports options, hookspecs and nothing heavy (``tests/plugin/test_plugin_entry.py``
checks that no pydantic, yaml, numpy, docker, ... is loaded). The plugin proper,
:mod:`.run_plugin` (session, collection, fixtures, reports), is registered by name, as
``-p`` registers a plugin, only when the run asks for ISO-Bench work: an ``--isobench-*``
flag or ``isobench_*`` ini key, suite or data files named or lying under the rootdir,
``--fixtures``, or, as the last resort, a suite or data file met during collection. This
is how pytest's ``stepwise`` and xdist's ``DSession`` are wired: laziness by structure.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs, options
from .keys import SESSION_KEY

#: The plugin proper, registered by :func:`engage` under this (its module's) name.
RUN_PLUGIN = "pytest_isobench.run_plugin"

_DATA_SUFFIXES = (".jsonl", ".parquet")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


def wanted(config: pytest.Config) -> bool:
    """Does this run ask for ISO-Bench work before collecting anything? Cheap: no import."""
    return options.given(config) or options.names_task_files(config) or bool(config.getoption("showfixtures", False))


def engage(config: pytest.Config) -> Any:
    """The plugin proper, registered and started (its session built) now if it was not yet.

    None if ``-p no:pytest_isobench.run_plugin`` blocked it.
    """
    config.pluginmanager.import_plugin(RUN_PLUGIN)
    run = config.pluginmanager.get_plugin(RUN_PLUGIN)
    if run is not None and SESSION_KEY not in config.stash:
        run.start(config)
    return run


def pytest_configure(config: pytest.Config) -> None:
    if wanted(config):
        engage(config)


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
    """Suite files (by the ``isobench_suites`` globs, or named) and named data files.

    The collectors themselves come from the plugin proper, engaged here if the run did not
    already ask for it: this hook is the only ``pytest_collect_file`` of the plugin, so the
    file that engages it is collected in the same call.
    """
    if _is_suite(file_path, parent):
        run = engage(parent.config)
        return None if run is None else run.suite_file(file_path, parent)
    if file_path.suffix in _DATA_SUFFIXES and parent.session.isinitpath(file_path):
        run = engage(parent.config)
        return None if run is None else run.data_file(file_path, parent)
    return None
