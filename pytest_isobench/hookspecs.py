"""The plugin's own hooks, ``pytest_isobench_*``: extension points for other plugins.

Loaded with ``pluginmanager.add_hookspecs``; conftest files and plugins implement them the
way they implement pytest's. Defaults ship as ``trylast`` implementations in the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .agents.agent import Agent
    from .dataset.models import Task
    from .sandbox.protocol import Sandbox, SandboxSpec


def pytest_isobench_agents() -> dict[str, type[Agent]]:  # type: ignore[empty-body]
    """Return a mapping of agent name -> agent class this plugin provides.

    Every implementation's mapping is merged; later names do not replace earlier ones.
    """


@pytest.hookspec(firstresult=True)
def pytest_isobench_make_sandbox(backend: str, spec: SandboxSpec, config: pytest.Config) -> Sandbox | None:
    """Build a sandbox for ``backend`` (``docker`` or ``local``: ``--isobench-backend``
    accepts no other name, so a plugin replaces or wraps one of these two).

    First non-None result wins (``firstresult``); the built-in one runs last.
    """


@pytest.hookspec(firstresult=True)
def pytest_isobench_verdict(task: Task, results: list[Any], default: Any) -> Any | None:
    """Return a replacement verdict for a task, or None to keep ``default``. First wins."""


def pytest_isobench_record(record: dict[str, Any], task: Task | None) -> None:
    """Add fields to a task's result record (mutate ``record``) before it is written.

    ``record`` is the :class:`~pytest_isobench.results.record.TaskRecord` as its JSON
    object; fields added here are kept in the written record (``TaskRecord`` keeps unknown
    fields). ``task`` is None for an item whose dataset record did not map onto a task.
    """
