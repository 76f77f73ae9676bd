"""A cached agent run is keyed by what produced it, the model endpoint included.

The same agent and model name against another server is another model (a local vLLM
serving a fine-tune under the name of the original, say): its cached patch must not be
replayed there. A user or password in the endpoint's URL never enters the key's text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_isobench.agents.agent import Agent, AgentContext, AgentRun
from pytest_isobench.agents.openai_agent import OpenAIAgent
from pytest_isobench.agents.runner import cache_path, run_agent
from pytest_isobench.dataset.models import Task


class _Served(Agent):
    name = "served"
    needs_sandbox = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.runs = 0

    def endpoint(self) -> str | None:
        return self.url

    def run(self, ctx: AgentContext) -> AgentRun:
        self.runs += 1
        return AgentRun(patch=f"diff --git a/m.py b/m.py\n# run {self.runs} against {self.url}\n")


def _ctx(tmp_path: Path) -> AgentContext:
    task = Task(instance_id="x", head_commit="abc")
    return AgentContext(task=task, repo_dir=tmp_path, base_sha="a", head_sha="b", model="m", timeout_s=1, prompt="p")


def test_a_run_cached_against_one_endpoint_is_not_reused_against_another(tmp_path: Path) -> None:
    agent, ctx = _Served("http://127.0.0.1:8001/v1"), _ctx(tmp_path)
    first = run_agent(agent, ctx, tmp_path, rerun=False)
    assert run_agent(agent, ctx, tmp_path, rerun=False) == first and agent.runs == 1  # same endpoint: replayed
    agent.url = "http://127.0.0.1:8002/v1"
    other = run_agent(agent, ctx, tmp_path, rerun=False)
    assert agent.runs == 2 and "8002" in other.patch
    agent.url = "http://127.0.0.1:8001/v1"
    assert run_agent(agent, ctx, tmp_path, rerun=False) == first and agent.runs == 2  # both kept


def test_the_key_ignores_credentials_and_a_trailing_slash_but_not_the_host() -> None:
    root = Path("/cache")
    plain = cache_path(root, "a", "m", "t@h", "http://host:8000/v1")
    assert cache_path(root, "a", "m", "t@h", "http://user:secret@host:8000/v1/") == plain
    assert cache_path(root, "a", "m", "t@h", "http://other:8000/v1") != plain
    assert cache_path(root, "a", "m", "t@h", None) != plain


def test_the_openai_agent_names_its_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert OpenAIAgent().endpoint() == "https://api.openai.com/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert OpenAIAgent().endpoint() == "http://127.0.0.1:9/v1"
