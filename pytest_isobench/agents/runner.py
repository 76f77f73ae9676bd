"""Run an agent for a task, once, and keep its patch in a cache.

The patch of a run is cached by (agent, model, task, prompt version) so that re-measuring
never re-runs a two-hour agent unless asked (``--isobench-rerun-agent``). Nothing here
times anything or knows pytest.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from .base import Agent, AgentContext, AgentRun
from .prompt import PROMPT_VERSION


def cache_path(cache_dir: Path, agent: str, model: str | None, task_key: str) -> Path:
    key = hashlib.sha256(json.dumps([agent, model, task_key, PROMPT_VERSION]).encode()).hexdigest()[:16]
    return cache_dir / "patches" / agent / f"{key}.json"


def run_agent(agent: Agent, ctx: AgentContext, cache_dir: Path, rerun: bool) -> AgentRun:
    """The agent's run for ``ctx``: from the cache when allowed, else run and cache it."""
    cacheable = agent.needs_sandbox  # built-ins are instant and never cached
    cached = cache_path(cache_dir, agent.name, ctx.model, f"{ctx.task.instance_id}@{ctx.head_sha}")
    if cacheable and cached.exists() and not rerun:
        return AgentRun(**json.loads(cached.read_text(encoding="utf-8")))
    begin = time.perf_counter()
    run = agent.run(ctx)
    run.duration_s = run.duration_s or time.perf_counter() - begin
    if cacheable and not run.timed_out:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(run.__dict__), encoding="utf-8")
        tmp.replace(cached)
    return run


def failure_of(name: str, run: AgentRun) -> tuple[str | None, str]:
    """The agent's own failure, before any measurement: timeout or no change."""
    if run.timed_out:
        return "agent timeout", run.logs[-2000:]
    if not run.patch.strip() and name != "noop":
        return "no change", "the agent produced an empty patch"
    return None, ""
