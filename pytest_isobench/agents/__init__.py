"""Agent adapters behind one small interface; found by name through our hook."""

from __future__ import annotations

from .base import Agent, AgentContext, AgentRun, AgentUnavailable

__all__ = ["Agent", "AgentContext", "AgentRun", "AgentUnavailable"]
