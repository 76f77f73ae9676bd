"""The command-line agent adapters (trae, claude_code, codex, openhands), the registry and
the doctor.

Each adapter runs a stand-in executable of the real tool's name, installed in a real
Docker sandbox (and, for the decoy test, on the local backend): the stand-in records its
command line, environment, prompt and every file under its HOME and working tree, edits a
file as an agent would and prints (or saves) what the real tool prints, in its real
format. The tests prove the command line, that only the adapter's variables reach it (a
decoy secret of ours in the environment and in the host HOME never does), the time limit,
and the captured patch. The real Claude Code and Codex run in test_agents_real.py. Key
checks, the registry and the doctor need no engine.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import uuid
from importlib.metadata import EntryPoint
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

import pytest
from engine_check import engine_left_clean
from fake_models import FakeModels, Step
from gitutil import git, one_commit_repo

from pytest_isobench.agents import registry
from pytest_isobench.agents import usage as usage_reports
from pytest_isobench.agents.agent import Agent, AgentContext, AgentError, AgentRun, AgentUnavailable
from pytest_isobench.agents.builtin import BUILTIN
from pytest_isobench.agents.claude_code import CLAUDE_TOOLS, CLAUDE_VERSION, ClaudeCodeAgent
from pytest_isobench.agents.cli_agent import CliAgent
from pytest_isobench.agents.codex import CODEX_VERSION, CodexAgent
from pytest_isobench.agents.doctor import doctor_agents
from pytest_isobench.agents.endpoint import check_endpoint
from pytest_isobench.agents.openhands import OpenHandsAgent
from pytest_isobench.agents.registry import CLI_AGENTS
from pytest_isobench.agents.runner import cache_path, run_agent
from pytest_isobench.agents.trae import TraeAgent
from pytest_isobench.dataset.models import Task
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import Sandbox, SandboxSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-agents-{uuid.uuid4().hex[:8]}"
WORKDIR = "/work/repo"
DECOY = "ISOBENCH_DECOY_SECRET"
PROMPT = 'Make f() faster.\nIt\'s "quoted" & $(not expanded) `ever`.\n'
# Every variable an adapter could pass: cleared so each test sets exactly what it means.
AGENT_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
    "CODEX_BASE_URL",
    "OPENROUTER_BASE_URL",
    "OPENAI_BASE_URL",
    "CODEX_API_KEY",
    "LLM_API_KEY",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "OPENROUTER_API_KEY",
    "GOOGLE_API_KEY",
    "AZURE_API_KEY",
    "DOUBAO_API_KEY",
    "ISOBENCH_TRAE_PROVIDER",
    "ISOBENCH_TRAE_CONFIG",
    "ISOBENCH_OPENHANDS_PYTHON",
)

# A stand-in for an agent CLI: records how it was called and what it can read, edits m.py,
# prints (or saves) what the real tool does.
STANDIN = """#!/usr/bin/env python3
import json, os, sys, time

DUMP = {dump!r}
OUTPUT = {output!r}
SLEEP = {sleep!r}
TRAE = {trae!r}
OPENHANDS = {openhands!r}

argv = sys.argv[1:]
if "--help" in argv:
    print("usage: stand-in")
    sys.exit(0)


def value(*flags):
    for flag in flags:
        if flag in argv:
            return argv[argv.index(flag) + 1]
    return None


def readable(root):
    found = {{}}
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = os.path.join(base, name)
            try:
                found[path] = open(path, errors="replace").read()
            except OSError:
                pass
    return found


prompt_file = value("--file", "-f")
prompt = open(prompt_file).read() if prompt_file else sys.stdin.read()
workdir = value("--working-dir", "--cd") or os.getcwd()
with open(DUMP, "w") as fh:
    json.dump({{"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "prompt": prompt,
               "files": {{**readable(os.environ["HOME"]), **readable(workdir)}}}}, fh)
sys.stdout.write("agent: thinking\\n")
sys.stdout.flush()
if SLEEP:
    time.sleep(SLEEP)
path = os.path.join(workdir, "m.py")
text = open(path).read()
open(path, "w").write(text.replace("    return sum(range(n))", "    return n * (n - 1) // 2"))
trajectory = value("--trajectory-file")
if trajectory:
    open(trajectory, "w").write(TRAE)
if os.environ.get("SAVE_TRAJECTORY_PATH"):
    open(os.environ["SAVE_TRAJECTORY_PATH"], "w").write(OPENHANDS)
print(OUTPUT)
print("agent: done", file=sys.stderr)
"""

SOURCE = "def f(n):\n    return sum(range(n))\n\n\nprint(f(10))\n"
ROOT = Path(__file__).resolve().parents[2]
# What the real tools wrote, run by hand against the stand-in model server (see the README there).
DATA = ROOT / "tests" / "data" / "agents"
TRAE_TRAJECTORY = (DATA / "trae_trajectory.json").read_text()  # provider anthropic
TRAE_TRAJECTORY_OPENAI = (DATA / "trae_trajectory_openai.json").read_text()
TRAE_UNFINISHED = (DATA / "trae_trajectory_unfinished.json").read_text()  # max_steps reached, exit 0
OPENHANDS_TRAJECTORY = (DATA / "openhands_trajectory.json").read_text()
OPENHANDS_STUCK = (DATA / "openhands_trajectory_stuck.json").read_text()  # ended in state error, exit 0
OPENHANDS_STUCK_LOG = (DATA / "openhands_stuck_stderr.txt").read_text()
# The stand-in server's usage for the four calls of those runs: input (not cached) 100+110+120+130,
# output 20+21+22+23, cache reads 4000+4100+4200+4300, cache writes 1000+1001+1002+1003.
SERVED = {"input": 460, "output": 86, "cache_read": 16600, "cache_write": 4006}

CLAUDE_OUTPUT = json.dumps(
    {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "Replaced the loop with a closed form.",
        "total_cost_usd": 0.25,
        "usage": {
            "input_tokens": 1000,
            "output_tokens": 200,
            "cache_read_input_tokens": 15000,
            "cache_creation_input_tokens": 2550,
        },
        "modelUsage": {
            "claude-haiku-4-5": {"inputTokens": 10, "outputTokens": 2, "costUSD": 0.001},
            "claude-sonnet-4-5": {"inputTokens": 990, "outputTokens": 198, "costUSD": 0.249},
        },
    }
)
CODEX_OUTPUT = "\n".join(
    json.dumps(e)
    for e in (
        {"type": "thread.started", "thread_id": "t1"},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "done"}},
        {"type": "turn.completed", "usage": {"input_tokens": 300, "cached_input_tokens": 100, "output_tokens": 40}},
    )
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real repository with one commit: ``m.py`` with a slow ``f``."""
    return one_commit_repo(tmp_path_factory.mktemp("agents") / "repo", {"m.py": SOURCE, "README": "demo\n"})


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in AGENT_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(DECOY, "do-not-leak")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """The engine client; at the end, checks that this module left no container."""
    yield from engine_left_clean(RUN_ID)


@pytest.fixture
def docker_sandbox(client: Any, repo: tuple[Path, str]) -> Iterator[Sandbox]:
    """A started docker sandbox of the repo's baseline; closed afterwards."""

    root, sha = repo
    spec = SandboxSpec(task_id="agents-1", variant="agent", repo_dir=root, commit=sha, image=IMAGE, run_id=RUN_ID)
    sandbox = DockerSandbox(spec, client)
    try:
        sandbox.start()
        yield sandbox
    finally:
        sandbox.close()


def context(
    repo: tuple[Path, str], sandbox: Sandbox, timeout_s: float = 60.0, model: str | None = "m-1"
) -> AgentContext:
    root, sha = repo
    return AgentContext(
        task=Task(instance_id="demo-1", head_commit=sha),
        repo_dir=root,
        base_sha=sha,
        head_sha=sha,
        model=model,
        timeout_s=timeout_s,
        prompt=PROMPT,
        sandbox=sandbox,
    )


def standin(
    dump: str, output: str = "", sleep: float = 0, trae: str = TRAE_TRAJECTORY, openhands: str = OPENHANDS_TRAJECTORY
) -> str:
    return STANDIN.format(dump=dump, output=output, sleep=sleep, trae=trae, openhands=openhands)


OPENHANDS_STUBS = (
    "openhands/__init__.py",
    "openhands/core/__init__.py",
    "openhands/runtime/__init__.py",
    "openhands/runtime/impl/__init__.py",
    "openhands/runtime/impl/cli/__init__.py",
    "openhands/runtime/impl/cli/cli_runtime.py",
)


def install(sandbox: Sandbox, tool: str, script: str) -> None:
    """Put the stand-in where the real tool would be: on PATH, or as openhands' module."""
    sandbox.write_file("_isobench_standin", script)
    if tool == "openhands":
        stubs = " ".join(f"$d/{stub}" for stub in OPENHANDS_STUBS)
        command = (
            "d=$(python3 -c 'import site; print(site.getsitepackages()[0])')"
            " && mkdir -p $d/openhands/core $d/openhands/runtime/impl/cli"
            f" && touch {stubs} && mv _isobench_standin $d/openhands/core/main.py"
        )
    else:
        command = f"install -m755 _isobench_standin /usr/local/bin/{tool} && rm _isobench_standin"
    result = sandbox.exec(command, 30)
    assert result.ok, result.tail()


def plain_env(sandbox: Sandbox) -> set[str]:
    """The variables any command in this sandbox has without us passing anything."""
    res = sandbox.exec("python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'", 30)
    return set(json.loads(res.stdout))


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A model endpoint that answers (the adapters ask before running), set for every tool."""
    with FakeModels([Step("done")]) as server:
        for var in ("ANTHROPIC_BASE_URL", "LLM_BASE_URL"):
            monkeypatch.setenv(var, server.base_url())
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_url())
        yield server.base_url()


DUMP = "/tmp/standin_dump.json"
H = "{home}"  # the agent's fresh HOME, known only once it runs
CASES: dict[str, dict[str, Any]] = {
    "trae": {
        "cls": TraeAgent,
        "tool": "trae-cli",
        "key": "ANTHROPIC_API_KEY",
        "output": f"Trajectory saved to: {H}/trae_trajectory.json",
        "argv": [
            "run",
            "--file",
            f"{H}/prompt.md",
            "--working-dir",
            WORKDIR,
            "--config-file",
            f"{H}/trae_config.yaml",
            "--model",
            "m-1",
            "--trajectory-file",
            f"{H}/trae_trajectory.json",
            "--console-type",
            "simple",
        ],
        "extra_env": {"ANTHROPIC_BASE_URL": "*"},
        # each call once (llm_interactions), not again from agent_steps: what the server sent
        "usage": SERVED,
        "cost": None,
        "model": "claude-sonnet-4-20250514",
    },
    "claude_code": {
        "cls": ClaudeCodeAgent,
        "tool": "claude",
        "key": "ANTHROPIC_API_KEY",
        "output": CLAUDE_OUTPUT,
        "argv": [
            "-p",
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            ",".join(CLAUDE_TOOLS),
            "--model",
            "m-1",
        ],
        "extra_env": {
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "ANTHROPIC_BASE_URL": "*",
        },
        "usage": {"input": 1000, "output": 200, "cache_read": 15000, "cache_write": 2550},
        "cost": 0.25,
        "model": "claude-sonnet-4-5",
    },
    "codex": {
        "cls": CodexAgent,
        "tool": "codex",
        "key": "OPENAI_API_KEY",
        "output": CODEX_OUTPUT,
        "argv": [
            "exec",
            "--dangerously-bypass-approvals-and-sandbox",
            "--skip-git-repo-check",
            "--json",
            "--cd",
            WORKDIR,
            "--model",
            "m-1",
            "-",
        ],
        "extra_env": {},
        "usage": {"input": 200, "output": 40, "cache_read": 100, "cache_write": 0},
        "cost": None,
        "model": "m-1",
    },
    "openhands": {
        "cls": OpenHandsAgent,
        "tool": "openhands",
        "key": "LLM_API_KEY",
        "output": "AgentState.FINISHED",
        "argv": ["-f", f"{H}/prompt.md", "-i", "100"],
        "extra_env": {
            "RUNTIME": "cli",
            "LOG_ALL_EVENTS": "true",
            "LLM_MODEL": "m-1",
            "LLM_BASE_URL": "*",
            "SANDBOX_VOLUMES": f"{WORKDIR}:/workspace:rw",
            "SAVE_TRAJECTORY_PATH": f"{H}/openhands_trajectory.json",
        },
        # the last llm_metrics snapshot: prompt tokens include those read from the cache;
        # OpenAI's usage reports no cache writes; litellm priced it as gpt-4o
        "usage": {**SERVED, "cache_write": 0},
        "cost": 0.022760000000000002,
        "model": "m-1",  # OpenHands names its metrics "default": the model asked for stands
    },
}
# The variables the tool gets beyond the key (and HOME); codex gets its key as CODEX_API_KEY.
TOOL_KEY = {"codex": "CODEX_API_KEY"}


# -- through the real docker sandbox ---------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(CASES))
def test_adapter_in_docker(
    name: str, docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    case = CASES[name]
    key_value = f"sk-test-{name}"
    monkeypatch.setenv(case["key"], key_value)
    # A key of another tool, set in our environment, must not reach this one.
    other = "LLM_API_KEY" if case["key"] != "LLM_API_KEY" else "OPENAI_API_KEY"
    monkeypatch.setenv(other, "sk-not-for-this-tool")
    install(docker_sandbox, case["tool"], standin(DUMP, case["output"]))
    base_env = plain_env(docker_sandbox)

    agent = case["cls"]()
    assert agent.name == name and agent.needs_sandbox
    agent.check({})
    run = agent.run(context(repo, docker_sandbox))

    call = json.loads(docker_sandbox.exec(f"cat {DUMP}", 30).stdout)
    env: dict[str, str] = call["env"]
    home = env["HOME"]
    assert home.startswith("/tmp/isobench-agent-home.")
    assert call["argv"] == [a.replace(H, home) for a in case["argv"]]
    assert call["prompt"] == PROMPT
    assert call["cwd"] == WORKDIR
    key = TOOL_KEY.get(name, case["key"])
    assert env[key] == key_value
    assert DECOY not in env and other not in env
    for var, value in case["extra_env"].items():
        assert env[var] == (value.replace(H, home) if value != "*" else env[var]), var
    assert set(env) - base_env - {"HOME"} == {key, *case["extra_env"]}
    # The agent's HOME is gone after the run, and it never was in the working tree.
    assert docker_sandbox.exec(f"test -e {home}", 30).exit_code == 1
    assert not [f for f in call["files"] if f.startswith(WORKDIR + "/_isobench")]

    assert run.exit_status == 0 and not run.timed_out and run.error is None
    assert "n * (n - 1) // 2" in run.patch and "+++ b/m.py" in run.patch
    assert "_isobench_" not in run.patch
    assert "agent: thinking" in run.logs and "agent: done" in run.logs
    assert run.usage == case["usage"]
    assert run.tokens == sum(case["usage"].values()) and run.cost_usd == case["cost"]
    assert run.model == case["model"] and run.duration_s > 0


@pytest.mark.docker
def test_trae_config_outside_the_tree_and_user_config_without_its_key(
    docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, endpoint: str
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or")
    monkeypatch.setenv("OPENROUTER_BASE_URL", endpoint)
    agent = TraeAgent()
    assert agent.provider() == "openrouter" and agent.required_keys() == ("OPENROUTER_API_KEY",)
    install(docker_sandbox, "trae-cli", standin(DUMP))
    agent.run(context(repo, docker_sandbox, model=None))
    call = json.loads(docker_sandbox.exec(f"cat {DUMP}", 30).stdout)
    assert "--provider" not in call["argv"] and "--model" not in call["argv"]  # the config decides
    config = call["files"][call["env"]["HOME"] + "/trae_config.yaml"]
    assert "provider: openrouter" in config and 'model: "anthropic/claude-sonnet-4"' in config
    assert "sk-or" not in config  # the key travels in the environment only

    mine = tmp_path / "trae_config.yaml"
    mine.write_text("model_providers:\n  openrouter:\n    provider: openrouter\n    api_key: sk-inline-9\n# mine\n")
    monkeypatch.delenv("OPENROUTER_API_KEY")
    monkeypatch.setenv("ISOBENCH_TRAE_CONFIG", str(mine))
    monkeypatch.setenv("ISOBENCH_TRAE_PROVIDER", "openrouter")
    agent.check({})  # the key is in the config: enough
    agent.run(context(repo, docker_sandbox))
    call = json.loads(docker_sandbox.exec(f"cat {DUMP}", 30).stdout)
    assert call["argv"][call["argv"].index("--provider") + 1] == "openrouter"
    config = call["files"][call["env"]["HOME"] + "/trae_config.yaml"]
    assert "openrouter" in config and "sk-inline-9" not in config
    assert call["env"]["OPENROUTER_API_KEY"] == "sk-inline-9"
    assert not any("sk-inline-9" in text for path, text in call["files"].items() if path.startswith(WORKDIR))


@pytest.mark.docker
def test_timeout_kills_the_agent_and_keeps_its_logs(
    docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    install(docker_sandbox, "codex", standin(DUMP, sleep=30))
    run = CodexAgent().run(context(repo, docker_sandbox, timeout_s=2))
    assert run.timed_out and run.error is None  # the agent's failure, not an error of ours
    assert 2 <= run.duration_s < 10
    assert "agent: thinking" in run.logs and "timed out" in run.logs
    assert run.patch == ""  # killed before its edit
    scan = (
        "import os\n"
        "for pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n"
        "        try: cmd = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
        "        except OSError: continue\n"
        "        if b'/usr/local/bin/codex' in cmd: print(pid, cmd)\n"
    )
    docker_sandbox.write_file("_isobench_scan.py", scan)
    assert docker_sandbox.exec("python3 _isobench_scan.py", 30).stdout.strip() == ""


@pytest.mark.docker
@pytest.mark.parametrize("cls", [TraeAgent, ClaudeCodeAgent, CodexAgent, OpenHandsAgent], ids=lambda c: c.name)
def test_missing_binary_in_the_image_is_an_error(
    cls: type[CliAgent], docker_sandbox: Sandbox, repo: tuple[Path, str], endpoint: str
) -> None:
    with pytest.raises(AgentError, match=r"does not run in the agent's sandbox .*: install it .*PATH"):
        cls().run(context(repo, docker_sandbox))


OUTAGE = json.dumps({"type": "result", "subtype": "success", "is_error": True, "result": "API Error: 529 Overloaded"})
# Each tool exits 0 after these runs; only what it wrote says they failed.
FAILED_RUNS: dict[str, tuple[str, str, dict[str, str], str]] = {
    "claude_code": ("ANTHROPIC_API_KEY", "claude", {"output": OUTAGE}, "529 Overloaded"),
    "trae": ("ANTHROPIC_API_KEY", "trae-cli", {"trae": TRAE_UNFINISHED}, "exceeded maximum steps"),
    "openhands": (
        "LLM_API_KEY",
        "openhands",
        {"openhands": OPENHANDS_STUCK, "output": OPENHANDS_STUCK_LOG},
        "AgentStuckInLoopError",
    ),
}


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(FAILED_RUNS))
def test_a_run_the_tool_reports_failed_carries_the_error(
    name: str, docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    key, tool, written, why = FAILED_RUNS[name]
    monkeypatch.setenv(key, "sk")
    install(docker_sandbox, tool, standin(DUMP, **written))
    run = CASES[name]["cls"]().run(context(repo, docker_sandbox))
    assert run.exit_status == 0 and run.error is not None and why in run.error, run.error


# -- the local backend: nothing of the caller's reaches any adapter --------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_decoy_secret_never_reaches_the_agent_on_the_local_backend(
    name: str, repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    from agent_clis import DECOY_VALUE, decoy_home

    case = CASES[name]
    root, sha = repo
    bindir = tmp_path / "bin"
    bindir.mkdir()
    dump = tmp_path / "dump.json"
    script = standin(str(dump), case["output"]).replace("/usr/bin/env python3", sys.executable, 1)
    if name == "openhands":
        package = tmp_path / "site"
        for stub in OPENHANDS_STUBS:
            (package / stub).parent.mkdir(parents=True, exist_ok=True)
            (package / stub).write_text("")
        (package / "openhands/core/main.py").write_text(script)
        python = bindir / "python-openhands"
        python.write_text(f'#!/bin/sh\nPYTHONPATH={package} exec {sys.executable} "$@"\n')
        python.chmod(0o755)
        monkeypatch.setenv("ISOBENCH_OPENHANDS_PYTHON", str(python))
    else:
        tool = bindir / case["tool"]
        tool.write_text(script)
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(decoy_home(tmp_path / "host-home")))
    monkeypatch.setenv(DECOY, DECOY_VALUE)
    monkeypatch.setenv(case["key"], "sk-local")
    spec = SandboxSpec(task_id=f"agents-local-{name}", variant="agent", repo_dir=root, commit=sha, run_id=RUN_ID)
    sandbox = LocalSandbox(spec, tmp_path / "worktrees")
    try:
        sandbox.start()
        run = case["cls"]().run(context(repo, sandbox, model=None))
    finally:
        sandbox.close()
    call = json.loads(dump.read_text())
    home = call["env"]["HOME"]
    assert "isobench-agent-home." in home and not home.startswith(str(tmp_path / "host-home"))
    assert any(path.startswith(home) for path in call["files"])  # it did read its HOME
    readable = json.dumps(call)  # env, argv, prompt, every file under its HOME and working tree
    assert DECOY_VALUE not in readable and "host-home" not in readable
    assert not Path(home).exists()  # removed after the run
    assert "n * (n - 1) // 2" in run.patch and "_isobench_" not in run.patch
    assert git(root, "status", "--porcelain") == ""  # the host checkout is untouched


# -- checks before any container -------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "keys"),
    [
        (TraeAgent, "ANTHROPIC_API_KEY"),
        (ClaudeCodeAgent, "ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN"),
        (CodexAgent, "CODEX_API_KEY or OPENAI_API_KEY"),
        (OpenHandsAgent, "LLM_API_KEY"),
    ],
    ids=lambda v: str(getattr(v, "name", "")),
)
def test_missing_key_is_unavailable_with_the_fix(cls: type[CliAgent], keys: str) -> None:
    with pytest.raises(AgentUnavailable, match=f"{cls.name} needs {keys} in the environment: export it"):
        cls().check({})


def test_keys_map_onto_what_each_tool_reads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "gw-tok")  # gateways use it
    ClaudeCodeAgent().check({})
    assert ClaudeCodeAgent().agent_env() == {"ANTHROPIC_AUTH_TOKEN": "gw-tok", **ClaudeCodeAgent.fixed_env}
    # Codex in exec mode reads CODEX_API_KEY only; OPENAI_BASE_URL becomes a provider in its config.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-o")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    assert CodexAgent().agent_env() == {"CODEX_API_KEY": "sk-o"}
    config = CodexAgent().config_text()
    assert 'base_url = "http://127.0.0.1:9/v1"' in config and 'env_key = "CODEX_API_KEY"' in config
    assert 'model_provider = "isobench"' in config and "supports_websockets = false" in config
    assert "sk-o" not in config
    assert CodexAgent().endpoint() == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert CodexAgent().config_text() == "" and CodexAgent().endpoint() == "https://api.openai.com/v1"
    monkeypatch.setenv("ISOBENCH_TRAE_PROVIDER", "openrouter")
    with pytest.raises(AgentUnavailable, match="OPENROUTER_API_KEY"):
        TraeAgent().check({})
    monkeypatch.setenv("ISOBENCH_TRAE_PROVIDER", "openai")
    TraeAgent().check({})
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert TraeAgent().agent_env() == {"OPENAI_API_KEY": "sk-o", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    assert TraeAgent().endpoint() == "http://127.0.0.1:9/v1"
    monkeypatch.setenv("ISOBENCH_TRAE_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(AgentUnavailable, match=r"ISOBENCH_TRAE_CONFIG=.*is not a file"):
        TraeAgent().check({})


def test_usage_of_each_tool_as_it_reports_it() -> None:
    claude = usage_reports.claude_report(CLAUDE_OUTPUT)
    assert claude.usage == {"input": 1000, "output": 200, "cache_read": 15000, "cache_write": 2550}
    assert claude.tokens == 18750 and claude.cost_usd == 0.25 and claude.model == "claude-sonnet-4-5"
    assert claude.error is None
    codex = usage_reports.codex_report(CODEX_OUTPUT)
    assert codex.usage == {"input": 200, "output": 40, "cache_read": 100, "cache_write": 0}
    assert codex.tokens == 340 and codex.cost_usd is None
    failed = usage_reports.codex_report('{"type": "turn.failed", "error": {"message": "stream disconnected"}}')
    assert failed.error is not None and "stream disconnected" in failed.error
    assert usage_reports.claude_report("plain text").error == "Claude Code printed no result object"


def test_trae_tokens_on_its_real_trajectory_count_each_call_once() -> None:
    data = json.loads(TRAE_TRAJECTORY)
    # The format repeats each call's usage in agent_steps: counting both would double it.
    steps = [s["llm_response"]["usage"] for s in data["agent_steps"]]
    calls = [i["response"]["usage"] for i in data["llm_interactions"]]
    assert [(s["input_tokens"], s["output_tokens"]) for s in steps] == [
        (c["input_tokens"], c["output_tokens"]) for c in calls
    ]
    report = usage_reports.trae_report(TRAE_TRAJECTORY)
    assert report.usage == SERVED  # Anthropic's input_tokens leave the cache reads out
    assert report.reported["llm_calls"] == 4 and report.model == data["model"] == "claude-sonnet-4-20250514"
    assert report.error is None and data["success"] is True
    assert usage_reports.trae_report("").error is not None


def test_trae_tokens_with_openai_do_not_count_cache_reads_twice() -> None:
    data = json.loads(TRAE_TRAJECTORY_OPENAI)
    calls = [i["response"]["usage"] for i in data["llm_interactions"]]
    # OpenAI's input_tokens include the cached part, which trae also reports apart.
    assert sum(c["input_tokens"] for c in calls) == SERVED["input"] + SERVED["cache_read"]
    report = usage_reports.trae_report(TRAE_TRAJECTORY_OPENAI)
    assert report.usage == {**SERVED, "cache_write": 0}  # OpenAI reports no cache writes
    assert report.reported["usage"]["input_tokens"] == SERVED["input"] + SERVED["cache_read"]
    assert report.tokens == SERVED["input"] + SERVED["output"] + SERVED["cache_read"]


def test_trae_unfinished_task_is_reported_though_it_exits_0() -> None:
    report = usage_reports.trae_report(TRAE_UNFINISHED)
    assert report.error is not None and "exceeded maximum steps" in report.error
    assert report.usage["output"] == 60  # what it used is still counted


def test_openhands_tokens_and_cost_on_its_real_trajectory() -> None:
    events = json.loads(OPENHANDS_TRAJECTORY)
    last = [e["llm_metrics"] for e in events if "llm_metrics" in e][-1]  # accumulated, not per step
    report = usage_reports.openhands_report(OPENHANDS_TRAJECTORY)
    usage = last["accumulated_token_usage"]
    assert report.cost_usd == last["accumulated_cost"] == 0.022760000000000002
    assert (
        report.usage
        == {
            "input": usage["prompt_tokens"] - usage["cache_read_tokens"],
            "output": usage["completion_tokens"],
            "cache_read": usage["cache_read_tokens"],
            "cache_write": usage["cache_write_tokens"],
        }
        == {**SERVED, "cache_write": 0}
    )
    assert report.tokens == usage["prompt_tokens"] + usage["completion_tokens"] + usage["cache_write_tokens"]
    assert usage["model"] == "default" and report.model is None  # not a model's name
    assert report.error is None


def test_openhands_run_whose_agent_did_not_finish_is_a_failure() -> None:
    report = usage_reports.openhands_report(OPENHANDS_STUCK, OPENHANDS_STUCK_LOG)
    assert report.error == (
        "OpenHands ended without its agent finishing "
        "(its last state: error: AgentStuckInLoopError: Agent got stuck in a loop)"
    )
    assert report.usage["output"] == 60
    assert usage_reports.openhands_report(OPENHANDS_STUCK).error == "OpenHands ended without its agent finishing"


def test_endpoint_preflight_names_a_dead_url_within_seconds() -> None:
    from fake_models import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    begin = time.monotonic()
    with pytest.raises(AgentError, match=re.escape(dead) + r" does not answer"):
        check_endpoint(dead)
    assert time.monotonic() - begin < 5
    with FakeModels([Step("done")]) as server:
        check_endpoint(server.base_url() + "/no/such/route")  # any HTTP answer will do


class _Scripted(Agent):
    name = "scripted"

    def __init__(self, runs: list[AgentRun]) -> None:
        self.runs = runs

    def run(self, ctx: AgentContext) -> AgentRun:
        return self.runs.pop(0)


def test_only_runs_that_ended_normally_are_cached(tmp_path: Path) -> None:

    ctx = AgentContext(
        task=Task(instance_id="x", head_commit="abc"),
        repo_dir=tmp_path,
        base_sha="a",
        head_sha="b",
        model="m",
        timeout_s=1,
        prompt="p",
    )
    path = cache_path(tmp_path, "scripted", "m", "x@b")
    outage = AgentRun(patch="", exit_status=1, error="claude exited with status 1; API Error: 529")
    agent = _Scripted([outage, AgentRun(patch="", timed_out=True), AgentRun(patch="diff", usage={"input": 3})])
    with pytest.raises(AgentError, match="did not end normally: claude exited with status 1"):
        run_agent(agent, ctx, tmp_path, rerun=False)
    assert not path.exists()
    assert run_agent(agent, ctx, tmp_path, rerun=False).timed_out and not path.exists()
    good = run_agent(agent, ctx, tmp_path, rerun=False)
    assert path.exists()
    assert run_agent(_Scripted([]), ctx, tmp_path, rerun=False) == good  # replayed, not run
    # A failed run a former version cached is never replayed.
    path.write_text(json.dumps({"patch": "", "exit_status": 2, "error": "usage error"}))
    with pytest.raises(AgentError):
        run_agent(_Scripted([outage]), ctx, tmp_path, rerun=False)


def test_command_quotes_odd_workdirs_and_models() -> None:
    ctx = AgentContext(
        task=Task(instance_id="x", head_commit="abc"),
        repo_dir=Path("."),
        base_sha="a",
        head_sha="b",
        model="m; rm -rf /",
        timeout_s=1,
        prompt="p",
    )
    sandbox = cast("Sandbox", SimpleNamespace(workdir="/work dir/repo"))
    command = CodexAgent().command(ctx, sandbox, "/tmp/isobench-agent-home.x y")
    assert "--model 'm; rm -rf /'" in command and "--cd '/work dir/repo'" in command
    assert command.endswith("- < '/tmp/isobench-agent-home.x y/prompt.md'")


def test_pinned_cli_versions_are_the_ones_the_adapters_name() -> None:
    pins = dict(
        line.split("=", 1)
        for line in (ROOT / "scripts" / "agent-clis.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert pins["CLAUDE_CODE_VERSION"] == CLAUDE_VERSION and CLAUDE_VERSION in ClaudeCodeAgent.install_hint
    assert pins["CODEX_VERSION"] == CODEX_VERSION and CODEX_VERSION in CodexAgent.install_hint


# -- registry and doctor ---------------------------------------------------------------


class ThirdParty(Agent):
    name = "third"

    def run(self, ctx: AgentContext) -> AgentRun:
        return AgentRun(patch="")


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[EntryPoint]) -> None:
    def entry_points(group: str) -> list[EntryPoint]:
        assert group == registry.ENTRY_POINT_GROUP
        return eps

    monkeypatch.setattr(registry, "entry_points", entry_points)


def test_all_agents_builtin_cli_openai_and_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    group = registry.ENTRY_POINT_GROUP
    _fake_entry_points(
        monkeypatch,
        [
            EntryPoint("third", f"{__name__}:ThirdParty", group),
            EntryPoint("broken", "no_such_module_isobench:Agent", group),
            EntryPoint("notagent", "json:dumps", group),
            EntryPoint("noop", f"{__name__}:ThirdParty", group),
        ],
    )
    problems: list[str] = []
    agents = registry.all_agents(problems)
    assert set(BUILTIN) | set(CLI_AGENTS) | {"openai", "third"} == set(agents)
    assert agents["third"] is ThirdParty and agents["noop"] is BUILTIN["noop"]
    assert set(CLI_AGENTS) == {"trae", "claude_code", "codex", "openhands"}
    assert len(problems) == 3
    assert any("'broken'" in p and "failed to load: ModuleNotFoundError" in p for p in problems)
    assert any("'notagent'" in p and "not a subclass" in p for p in problems)
    assert any("'noop'" in p and "ignored" in p for p in problems)
    with pytest.warns(registry.AgentEntryPointWarning) as record:
        registry.all_agents()
    assert len(record) == 3 and "broken" in str(record[0].message)


def test_unknown_agent_message_lists_the_known_ones() -> None:
    message = registry.unknown_agent_message("traee", registry.builtin_agents())
    assert "unknown agent 'traee'" in message
    assert "claude_code, codex, human, noop, openai, openhands, predictions, trae" in message
    assert "pytest_isobench.agents" in message


def test_doctor_reports_each_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch, [EntryPoint("broken", "no_such_module_isobench:Agent", registry.ENTRY_POINT_GROUP)])
    monkeypatch.setenv("OPENAI_API_KEY", "sk")
    checks: dict[str, tuple[bool, str]] = {name: (ok, detail) for name, ok, detail in doctor_agents()}
    assert checks["agent codex"][0] and "`codex` must be in the image" in checks["agent codex"][1]
    assert not checks["agent claude_code"][0] and "ANTHROPIC_API_KEY" in checks["agent claude_code"][1]
    assert checks["agent openai"][0] and checks["agent noop"][0] and checks["agent predictions"][0]
    assert not checks["agent entry points"][0] and "broken" in checks["agent entry points"][1]
    assert [c[0] for c in doctor_agents(["trae"])] == ["agent trae", "agent entry points"]
