"""Every agent this run knows by name: the built-in ones and those of installed packages.

Third parties add an agent without touching this package, either through the
``pytest_isobench_agents`` hook or through the ``pytest_isobench.agents`` entry-point
group (``name = "package.module:AgentClass"``), read here. A broken entry point is a
warning, never a crash. Nothing here runs an agent.
"""

from __future__ import annotations

import warnings
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from .agent import Agent
from .builtin import BUILTIN
from .claude_code import ClaudeCodeAgent
from .codex import CodexAgent
from .openai_agent import OpenAIAgent
from .openhands import OpenHandsAgent
from .trae import TraeAgent

if TYPE_CHECKING:
    import pytest

ENTRY_POINT_GROUP = "pytest_isobench.agents"
#: The adapters of real agent command-line tools, by name.
CLI_AGENTS: dict[str, type[Agent]] = {a.name: a for a in (TraeAgent, ClaudeCodeAgent, CodexAgent, OpenHandsAgent)}


class AgentEntryPointWarning(UserWarning):
    """An entry point of the ``pytest_isobench.agents`` group could not be used."""


def builtin_agents() -> dict[str, type[Agent]]:
    """The agents shipped with the package: model-free, command-line and ``openai``."""

    return {**BUILTIN, **CLI_AGENTS, OpenAIAgent.name: OpenAIAgent}


def entry_point_agents() -> tuple[dict[str, type[Agent]], list[str]]:
    """Agents of the entry-point group, and a message for each one that could not load."""
    found: dict[str, type[Agent]] = {}
    problems: list[str] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name!r} ({ep.value}) of group {ENTRY_POINT_GROUP}"
        try:
            obj = ep.load()
        except Exception as exc:  # a third party's import error must not stop the run
            problems.append(f"{where} failed to load: {type(exc).__name__}: {exc}")
            continue
        if not (isinstance(obj, type) and issubclass(obj, Agent)):
            problems.append(f"{where} is not a subclass of pytest_isobench.agents.Agent: {obj!r}")
            continue
        found.setdefault(ep.name, obj)
    return found, problems


def all_agents(problems: list[str] | None = None) -> dict[str, type[Agent]]:
    """Built-in agents, then entry points (a built-in name is never replaced).

    Messages about broken entry points go to ``problems`` when given, else are issued as
    :class:`AgentEntryPointWarning` (pytest shows them in its warnings summary).
    """
    agents = builtin_agents()
    extra, messages = entry_point_agents()
    for name, cls in extra.items():
        if name in agents:
            messages.append(f"entry point {name!r} of group {ENTRY_POINT_GROUP} ignored: a built-in agent is {name!r}")
            continue
        agents[name] = cls
    if problems is not None:
        problems.extend(messages)
    else:
        for message in messages:
            warnings.warn(message, AgentEntryPointWarning, stacklevel=2)
    return agents


def unknown_agent_message(name: str, known: list[str] | set[str] | dict[str, type[Agent]]) -> str:
    """The usage error for ``--isobench-agent=NAME`` when no agent has that name."""
    names = ", ".join(sorted(known))
    return (
        f"--isobench-agent: unknown agent {name!r}; known agents: {names} "
        f"(third-party agents register through the pytest_isobench_agents hook or the "
        f"{ENTRY_POINT_GROUP!r} entry-point group)"
    )


def known_agents(config: pytest.Config) -> dict[str, type[Agent]]:
    """Every agent registered through ``pytest_isobench_agents``, first name wins."""
    merged: dict[str, type[Agent]] = {}
    for mapping in config.hook.pytest_isobench_agents():
        for name, cls in (mapping or {}).items():
            merged.setdefault(name, cls)
    return merged
