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
    "Agent": "pytest_isobench.agents.agent",
    "AgentContext": "pytest_isobench.agents.agent",
    "AgentRun": "pytest_isobench.agents.agent",
    "ExecResult": "pytest_isobench.sandbox.protocol",
    "Sandbox": "pytest_isobench.sandbox.protocol",
    "SandboxSpec": "pytest_isobench.sandbox.protocol",
    "MetricSpec": "pytest_isobench.dataset.models",
    "PerfTest": "pytest_isobench.dataset.models",
    "Task": "pytest_isobench.dataset.models",
    "load_source": "pytest_isobench.dataset.loaders",
    "Suite": "pytest_isobench.suite",
    "load_suite": "pytest_isobench.suite",
}

if TYPE_CHECKING:
    from .agents.agent import Agent, AgentContext, AgentRun
    from .dataset.loaders import load_source
    from .dataset.models import MetricSpec, PerfTest, Task
    from .sandbox.protocol import ExecResult, Sandbox, SandboxSpec
    from .suite import Suite, load_suite


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_isobench' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
