"""Agent adapters behind one small interface; found by name through our hook."""

from __future__ import annotations

from .agent import Agent, AgentContext, AgentError, AgentRun, AgentUnavailable

__all__ = ["Agent", "AgentContext", "AgentError", "AgentRun", "AgentUnavailable"]
