"""The ``openai`` agent end to end against a loopback OpenAI-compatible server.

The server (``tests/fake_openai.py``) answers with scripted replies; the agent reads a
real repository through a sandbox (local backend; one run through Docker), and its diff
must apply with the sandbox's own ``apply_patch`` and change the code. Retries of
non-diff answers, the step budget, the time budget and the missing key are covered too.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from fake_openai import FakeOpenAI
from gitutil import git

from pytest_isobench.agents.agent import AgentContext, AgentError, AgentUnavailable
from pytest_isobench.agents.openai_agent import OpenAIAgent, extract_diff, looks_like_diff, parse_files
from pytest_isobench.agents.runner import run_agent
from pytest_isobench.dataset.models import Task
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import Sandbox, SandboxSpec

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SOURCE = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n\n\nprint(total(1000))\n"
FAST = "def total(n):\n    return n * (n - 1) // 2\n\n\nprint(total(1000))\n"
PROMPT = "Make total() in lib/m.py faster; the perf test runs `python3 lib/m.py`.\n"


class Repo:
    """A small real repository and the diff that speeds it up."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        root.mkdir()
        (root / "lib").mkdir()
        git(root, "init", "-q")
        (root / "lib" / "m.py").write_text(SOURCE)
        (root / "README.md").write_text("demo\n")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "baseline")
        self.sha = git(root, "rev-parse", "HEAD").strip()
        (root / "lib" / "m.py").write_text(FAST)
        self.diff = git(root, "diff")
        git(root, "checkout", "-q", "--", ".")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return Repo(tmp_path_factory.mktemp("openai") / "repo")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)


@pytest.fixture
def local(repo: Repo, tmp_path: Path) -> Iterator[Sandbox]:

    spec = SandboxSpec(task_id="openai-1", variant="agent", repo_dir=repo.dir, commit=repo.sha, run_id="test-openai")
    sandbox = LocalSandbox(spec, tmp_path / "worktrees")
    try:
        sandbox.start()
        yield sandbox
    finally:
        sandbox.close()


def context(repo: Repo, sandbox: Sandbox, timeout_s: float = 60.0) -> AgentContext:
    return AgentContext(
        task=Task(instance_id="demo-openai", head_commit=repo.sha),
        repo_dir=repo.dir,
        base_sha=repo.sha,
        head_sha=repo.sha,
        model="fake-model",
        timeout_s=timeout_s,
        prompt=PROMPT,
        sandbox=sandbox,
    )


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"] if m["role"] == "user")


def run_end_to_end(repo: Repo, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str] = {}

    def diff_answer(body: dict[str, Any]) -> str:
        seen["last"] = str(body["messages"][-1]["content"])
        return f"Here is the change:\n```diff\n{repo.diff}```\n"

    answers: list[Any] = ['Sure. {"files": ["lib/m.py", "missing.py"]}', "I would use a formula.", diff_answer]
    with FakeOpenAI(answers) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent().run(context(repo, sandbox))
    assert len(server.requests) == 3
    first = user_text(server.requests[0])
    assert PROMPT.strip() in first and "lib/m.py" in first and "README.md" in first
    assert server.requests[0]["model"] == "fake-model"
    assert "=== lib/m.py ===\n" + SOURCE in user_text(server.requests[1])
    assert "missing.py ===" not in user_text(server.requests[1])
    assert "holds no unified diff" in seen["last"]
    assert run.patch == repo.diff and run.exit_status == 0 and not run.timed_out
    assert run.tokens is not None and run.tokens > 0 and run.model == "fake-model"
    assert "I would use a formula." in run.logs
    # It applied nothing itself: the checkout is still the baseline ...
    assert sandbox.diff() == ""
    # ... and the harness's apply makes the change, which keeps the output.
    sandbox.apply_patch(run.patch)
    assert "n * (n - 1) // 2" in sandbox.exec("cat lib/m.py", 30).stdout
    assert sandbox.exec("python3 lib/m.py", 30).stdout.strip() == str(sum(range(1000)))


def test_end_to_end_local(repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    run_end_to_end(repo, local, monkeypatch)


@pytest.mark.docker
def test_end_to_end_docker(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    client = engine_client()
    spec = SandboxSpec(
        task_id="openai-1",
        variant="agent",
        repo_dir=repo.dir,
        commit=repo.sha,
        image="isobench-demo:bookworm",
        run_id="test-openai",
    )
    sandbox = DockerSandbox(spec, client)
    try:
        sandbox.start()
        run_end_to_end(repo, sandbox, monkeypatch)
    finally:
        sandbox.close()
        client.close()


def test_server_errors_are_retried_by_the_client(repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(['{"files": ["lib/m.py"]}', repo.diff], fail_first=1, status=503) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent().run(context(repo, local))
    assert len(server.requests) == 3 and server.answered == 2
    assert run.patch == repo.diff


def test_a_diff_that_does_not_apply_is_sent_back(repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = repo.diff.replace("-    s = 0\n", "-    s = 1\n")
    with FakeOpenAI(['{"files": ["lib/m.py"]}', stale, repo.diff]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent().run(context(repo, local))
    assert len(server.requests) == 3
    assert "does not apply to the repository" in str(server.requests[2]["messages"][-1]["content"])
    assert run.patch == repo.diff
    assert not list((local.path).glob("_isobench_*"))  # type: ignore[attr-defined]


def test_step_budget_ends_the_run_without_a_patch(repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(["not json", "still not json", "no diff", "no diff"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent(max_steps=3).run(context(repo, local))
    assert len(server.requests) == 3
    assert run.patch == "" and run.exit_status == 1 and not run.timed_out
    assert "That was not the JSON asked for" in user_text(server.requests[1])


def test_time_budget_stops_the_run(repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(['{"files": []}'], delay_s=3) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent().run(context(repo, local, timeout_s=1))
    assert run.timed_out and run.patch == ""
    assert "timed out" in run.logs


def test_missing_key_is_unavailable_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(AgentUnavailable, match=r"OPENAI_API_KEY .*OPENAI_BASE_URL"):
        OpenAIAgent().check({})
    ok, detail = OpenAIAgent().doctor()
    assert not ok and "OPENAI_API_KEY" in detail


def test_answer_parsing(repo: Repo) -> None:
    assert extract_diff(repo.diff) == repo.diff
    assert extract_diff(f"Text first.\n```diff\n{repo.diff}```\nthanks") == repo.diff
    assert extract_diff("no diff here") is None
    assert extract_diff("--- a/x\n+++ b/x\nno hunk\n") is None
    assert looks_like_diff(repo.diff) and not looks_like_diff("@@ -1 +1 @@\n")
    known = {"a.py", "b/c.py"}
    assert parse_files('```json\n{"files": ["./a.py", "zzz", "b/c.py", "a.py"]}\n```', known) == ["a.py", "b/c.py"]
    assert parse_files("I need a.py", known) is None
    assert parse_files(json.dumps({"files": []}), known) == []


def test_an_endpoint_that_keeps_failing_is_an_error_not_a_cached_no_change(
    repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    with FakeOpenAI(["unused"], fail_first=100, status=500) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        run = OpenAIAgent().run(context(repo, local))
        assert run.patch == "" and run.error is not None and "InternalServerError" in run.error
        with pytest.raises(AgentError, match="the model endpoint failed"):
            run_agent(OpenAIAgent(), context(repo, local), tmp_path, rerun=False)
    assert not list(tmp_path.rglob("*.json"))  # nothing cached: the next run asks again


def test_an_endpoint_that_does_not_answer_errors_at_once(
    repo: Repo, local: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_models import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", dead)
    with pytest.raises(AgentError, match=re.escape(dead) + " does not answer"):
        OpenAIAgent().run(context(repo, local))
