"""Run an agent for a task, once, and keep its patch in a cache.

The patch of a run is cached by (agent, model, task, prompt version, model endpoint) so that re-measuring
never re-runs a two-hour agent unless asked (``--isobench-rerun-agent``). Only runs that
ended normally are cached: a run the tool itself reports as failed (usage error, API
outage, non-zero exit) raises :class:`AgentError` (an error of the item) and the next
pytest run tries again; a timed-out run is the agent's failure but is not kept either.
Nothing here times anything or knows pytest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .agent import Agent, AgentContext, AgentError, AgentRun
from .prompt import PROMPT_VERSION

# Bumped when what a cached run holds changes (or older caches could hold failed runs).
CACHE_VERSION = "4"
CHECKSUM_KEY = "_sha256"
log = logging.getLogger("isobench")
_FIELDS = {f.name for f in dataclasses.fields(AgentRun)}


def cache_path(cache_dir: Path, agent: str, model: str | None, task_key: str, endpoint: str | None = None) -> Path:
    """Where a run is cached: keyed by what produced it, the model endpoint included (the same
    model name on another server is another model), without any user or password in its URL."""
    where = _public(endpoint)
    key = hashlib.sha256(
        json.dumps([agent, model, task_key, PROMPT_VERSION, CACHE_VERSION, where]).encode()
    ).hexdigest()
    return cache_dir / "patches" / agent / f"{key[:16]}.json"


def _public(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _checksum(data: dict[str, object]) -> str:
    body = {k: v for k, v in data.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _cached(path: Path) -> AgentRun | None:
    """The cached run, checked against its checksum; a damaged entry is reported and removed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _corrupt(path, f"unreadable ({exc.strerror})")
    try:
        data = json.loads(text)
    except ValueError as exc:
        return _corrupt(path, f"not JSON ({exc})")
    if not isinstance(data, dict) or data.get(CHECKSUM_KEY) != _checksum(data):
        return _corrupt(path, "its checksum does not match its content")
    if data.get("error") or data.get("timed_out"):
        return None
    return AgentRun(**{k: v for k, v in data.items() if k in _FIELDS})


def _corrupt(path: Path, why: str) -> AgentRun | None:
    log.warning("agent patch cache %s is corrupt (%s): removed, the agent runs again", path, why)
    path.unlink(missing_ok=True)
    return None


def run_agent(agent: Agent, ctx: AgentContext, cache_dir: Path, rerun: bool) -> AgentRun:
    """The agent's run for ``ctx``: from the cache when allowed, else run and cache it.

    Raises :class:`AgentError` when the run did not end normally (nothing is cached).
    """
    cacheable = agent.needs_sandbox  # built-ins are instant and never cached
    cached = cache_path(cache_dir, agent.name, ctx.model, f"{ctx.task.instance_id}@{ctx.head_sha}", agent.endpoint())
    if cacheable and not rerun:
        found = _cached(cached)
        if found is not None:
            return found
    begin = time.perf_counter()
    run = agent.run(ctx)
    run.duration_s = run.duration_s or time.perf_counter() - begin
    if run.error is not None:
        raise AgentError(f"agent {agent.name} did not end normally: {run.error}\n{run.logs[-3000:]}".strip())
    if cacheable and not run.timed_out:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{os.getpid()}")
        data = dataclasses.asdict(run)
        tmp.write_text(json.dumps({**data, CHECKSUM_KEY: _checksum(data)}), encoding="utf-8")
        tmp.replace(cached)
    return run


def failure_of(name: str, run: AgentRun) -> tuple[str | None, str]:
    """The agent's own failure, before any measurement: timeout or no change."""
    if run.timed_out:
        return "agent timeout", run.logs[-2000:]
    if not run.patch.strip() and name != "noop":
        return "no change", "the agent produced an empty patch"
    return None, ""
