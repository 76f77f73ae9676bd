"""pytest-isobench: ISO-Bench, agents on real performance commits, as a pytest plugin.

The public API is re-exported here lazily, so that importing the plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentContext",
    "AgentRun",
    "ExecResult",
    "MetricSpec",
    "PerfTest",
    "Sandbox",
    "SandboxSpec",
    "Suite",
    "Task",
    "__version__",
    "load_source",
    "load_suite",
]

_LAZY = {
    "Agent": "pytest_isobench.agents.base",
    "AgentContext": "pytest_isobench.agents.base",
    "AgentRun": "pytest_isobench.agents.base",
    "ExecResult": "pytest_isobench.sandbox.base",
    "Sandbox": "pytest_isobench.sandbox.base",
    "SandboxSpec": "pytest_isobench.sandbox.base",
    "MetricSpec": "pytest_isobench.dataset.models",
    "PerfTest": "pytest_isobench.dataset.models",
    "Task": "pytest_isobench.dataset.models",
    "load_source": "pytest_isobench.dataset.loaders",
    "Suite": "pytest_isobench.suite",
    "load_suite": "pytest_isobench.suite",
}

if TYPE_CHECKING:
    from .agents.base import Agent, AgentContext, AgentRun
    from .dataset.loaders import load_source
    from .dataset.models import MetricSpec, PerfTest, Task
    from .sandbox.base import ExecResult, Sandbox, SandboxSpec
    from .suite import Suite, load_suite


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_isobench' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
