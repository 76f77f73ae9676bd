"""``isobench doctor``'s agent questions: is each adapter's key, config and binary in place?

Reads only our environment and the host's PATH; it starts no container and runs no agent.
A command-line agent's binary must be in the sandbox's image, which is only checked when a
run starts; the host's PATH is reported for the ``local`` backend.
"""

from __future__ import annotations

import shutil

from .agent import Agent
from .cli_agent import CliAgent
from .registry import all_agents


def doctor_agent(name: str, cls: type[Agent]) -> tuple[str, bool, str]:
    """``(check, ok, detail)`` for one agent. Never raises."""
    try:
        ok, detail = cls().doctor()
    except Exception as exc:  # a third party's doctor must not break the others
        return f"agent {name}", False, f"doctor failed: {type(exc).__name__}: {exc}"
    if issubclass(cls, CliAgent) and cls.binary:
        on_path = shutil.which(cls.binary)
        detail += f"; host PATH: {on_path or 'not found (needed only for the local backend)'}"
    return f"agent {name}", ok, detail


def doctor_agents(names: list[str] | None = None) -> list[tuple[str, bool, str]]:
    """``(check, ok, detail)`` for every known agent (or those named), sorted by name."""

    problems: list[str] = []
    agents = all_agents(problems)
    checks = [doctor_agent(name, agents[name]) for name in sorted(agents) if names is None or name in names]
    checks += [("agent entry points", False, problem) for problem in problems]
    return checks
