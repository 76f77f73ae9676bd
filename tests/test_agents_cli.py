"""The command-line agent adapters (trae, claude_code, codex, openhands), the registry and
the doctor.

Each adapter runs a stand-in executable of the real tool's name, installed in a real
Docker sandbox: the stand-in records its command line, environment and prompt, edits a
file as an agent would and prints what the real tool prints. The tests prove the command
line, that only the adapter's variables reach it (a decoy secret of ours never does), the
time limit, and the captured patch. One run uses the local backend. Key checks, the
registry and the doctor need no engine.
"""

from __future__ import annotations

import json
import sys
import uuid
from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any

import pytest
from gitutil import git

from pytest_isobench.agents import registry
from pytest_isobench.agents.base import Agent, AgentContext, AgentRun, AgentUnavailable
from pytest_isobench.agents.builtin import BUILTIN
from pytest_isobench.agents.cli_agents import (
    CLAUDE_TOOLS,
    CLI_AGENTS,
    ClaudeCodeAgent,
    CliAgent,
    CodexAgent,
    OpenHandsAgent,
    TraeAgent,
    usage_totals,
)
from pytest_isobench.agents.doctor import doctor_agents
from pytest_isobench.dataset.models import Task
from pytest_isobench.sandbox.base import LABEL_RUN, Sandbox, SandboxSpec

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-agents-{uuid.uuid4().hex[:8]}"
WORKDIR = "/work/repo"
DECOY = "ISOBENCH_DECOY_SECRET"
PROMPT = 'Make f() faster.\nIt\'s "quoted" & $(not expanded) `ever`.\n'
# Every variable an adapter could pass: cleared so each test sets exactly what it means.
AGENT_VARS = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
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

# A stand-in for an agent CLI: records how it was called, edits m.py, prints like the tool.
STANDIN = """#!/usr/bin/env python3
import json, os, sys, time

DUMP = {dump!r}
OUTPUT = {output!r}
SLEEP = {sleep!r}

argv = sys.argv[1:]


def value(*flags):
    for flag in flags:
        if flag in argv:
            return argv[argv.index(flag) + 1]
    return None


prompt_file = value("--file", "-f")
prompt = open(prompt_file).read() if prompt_file else sys.stdin.read()
workdir = value("--working-dir", "--cd") or os.getcwd()
with open(DUMP, "w") as fh:
    json.dump({{"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "prompt": prompt}}, fh)
sys.stdout.write("agent: thinking\\n")
sys.stdout.flush()
if SLEEP:
    time.sleep(SLEEP)
path = os.path.join(workdir, "m.py")
text = open(path).read()
open(path, "w").write(text.replace("    return sum(range(n))", "    return n * (n - 1) // 2"))
trajectory = value("--trajectory-file")
if trajectory:
    usage = {{"input_tokens": 100, "output_tokens": 20}}
    json.dump({{"llm_interactions": [{{"response": {{"usage": usage}}}}]}}, open(trajectory, "w"))
print(OUTPUT)
print("agent: done", file=sys.stderr)
"""

SOURCE = "def f(n):\n    return sum(range(n))\n\n\nprint(f(10))\n"

CLAUDE_OUTPUT = json.dumps(
    {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "Replaced the loop with a closed form.",
        "total_cost_usd": 0.25,
        "usage": {"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 5},
    }
)
CODEX_OUTPUT = "\n".join(
    json.dumps(e)
    for e in (
        {"type": "thread.started", "thread_id": "t1"},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "done"}},
        {"type": "turn.completed", "usage": {"input_tokens": 300, "cached_input_tokens": 0, "output_tokens": 40}},
    )
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real repository with one commit: ``m.py`` with a slow ``f``."""
    root = tmp_path_factory.mktemp("agents") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "m.py").write_text(SOURCE)
    (root / "README").write_text("demo\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "baseline")
    return root, git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in AGENT_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(DECOY, "do-not-leak")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """The engine client; at the end, checks that this module left no container."""
    from pytest_isobench.sandbox.docker_sandbox import engine_client

    c = engine_client()  # docker-marked tests are skipped by conftest before this runs
    try:
        yield c
    finally:
        left = c.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"})
        for container in left:
            container.remove(force=True)
        c.close()
        assert not left, f"containers left behind: {[x.name for x in left]}"


@pytest.fixture
def docker_sandbox(client: Any, repo: tuple[Path, str]) -> Iterator[Sandbox]:
    """A started docker sandbox of the repo's baseline; closed afterwards."""
    from pytest_isobench.sandbox.docker_sandbox import DockerSandbox

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


def standin(dump: str, output: str = "", sleep: float = 0) -> str:
    return STANDIN.format(dump=dump, output=output, sleep=sleep)


def install(sandbox: Sandbox, tool: str, script: str) -> None:
    """Put the stand-in where the real tool would be: on PATH, or as openhands' module."""
    sandbox.write_file("_isobench_standin", script)
    if tool == "openhands":
        command = (
            "d=$(python3 -c 'import site; print(site.getsitepackages()[0])')"
            " && mkdir -p $d/openhands/core && touch $d/openhands/__init__.py $d/openhands/core/__init__.py"
            " && mv _isobench_standin $d/openhands/core/main.py"
        )
    else:
        command = f"install -m755 _isobench_standin /usr/local/bin/{tool} && rm _isobench_standin"
    result = sandbox.exec(command, 30)
    assert result.ok, result.tail()


def plain_env(sandbox: Sandbox) -> set[str]:
    """The variables any command in this sandbox has without us passing anything."""
    res = sandbox.exec("python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'", 30)
    return set(json.loads(res.stdout))


DUMP = "/tmp/standin_dump.json"
CASES: dict[str, dict[str, Any]] = {
    "trae": {
        "cls": TraeAgent,
        "tool": "trae-cli",
        "key": "ANTHROPIC_API_KEY",
        "output": "Trajectory saved to: /work/repo/_isobench_trae_trajectory.json",
        "argv": [
            "run",
            "--file",
            f"{WORKDIR}/_isobench_prompt.md",
            "--working-dir",
            WORKDIR,
            "--config-file",
            f"{WORKDIR}/_isobench_trae_config.yaml",
            "--provider",
            "anthropic",
            "--model",
            "m-1",
            "--trajectory-file",
            f"{WORKDIR}/_isobench_trae_trajectory.json",
            "--console-type",
            "simple",
        ],
        "extra_env": {},
        "tokens": 120,
        "cost": None,
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
        "extra_env": {"DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
        "tokens": 1200,
        "cost": 0.25,
    },
    "codex": {
        "cls": CodexAgent,
        "tool": "codex",
        "key": "OPENAI_API_KEY",
        "output": CODEX_OUTPUT,
        "argv": ["exec", "--full-auto", "--skip-git-repo-check", "--json", "--cd", WORKDIR, "--model", "m-1", "-"],
        "extra_env": {},
        "tokens": 340,
        "cost": None,
    },
    "openhands": {
        "cls": OpenHandsAgent,
        "tool": "openhands",
        "key": "LLM_API_KEY",
        "output": "AgentState.FINISHED",
        "argv": ["-f", f"{WORKDIR}/_isobench_prompt.md", "-i", "100"],
        "extra_env": {
            "RUNTIME": "cli",
            "LOG_ALL_EVENTS": "true",
            "LLM_MODEL": "m-1",
            "SANDBOX_VOLUMES": f"{WORKDIR}:/workspace:rw",
        },
        "tokens": None,
        "cost": None,
    },
}


# -- through the real docker sandbox ---------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(CASES))
def test_adapter_in_docker(
    name: str, docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
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
    assert call["argv"] == case["argv"]
    assert call["prompt"] == PROMPT
    assert call["cwd"] == WORKDIR
    env: dict[str, str] = call["env"]
    assert env[case["key"]] == key_value
    assert DECOY not in env and other not in env
    for var, value in case["extra_env"].items():
        assert env[var] == value
    assert set(env) - base_env == {case["key"], *case["extra_env"]}

    assert run.exit_status == 0 and not run.timed_out
    assert "n * (n - 1) // 2" in run.patch and "+++ b/m.py" in run.patch
    assert "_isobench_" not in run.patch
    assert "agent: thinking" in run.logs and "agent: done" in run.logs
    assert run.tokens == case["tokens"] and run.cost_usd == case["cost"]
    assert run.model == "m-1" and run.duration_s > 0


@pytest.mark.docker
def test_trae_config_written_and_user_config_copied(
    docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or")
    agent = TraeAgent()
    assert agent.provider() == "openrouter" and agent.required_keys() == ("OPENROUTER_API_KEY",)
    install(docker_sandbox, "trae-cli", standin(DUMP))
    agent.run(context(repo, docker_sandbox, model=None))
    config = docker_sandbox.exec("cat _isobench_trae_config.yaml", 30).stdout
    assert "provider: openrouter" in config and 'model: "anthropic/claude-sonnet-4"' in config
    assert "sk-or" not in config  # the key travels in the environment only

    mine = tmp_path / "trae_config.yaml"
    mine.write_text("agents: {}\n# mine\n")
    monkeypatch.setenv("ISOBENCH_TRAE_CONFIG", str(mine))
    agent.run(context(repo, docker_sandbox))
    assert docker_sandbox.exec("cat _isobench_trae_config.yaml", 30).stdout == mine.read_text()


@pytest.mark.docker
def test_timeout_kills_the_agent_and_keeps_its_logs(
    docker_sandbox: Sandbox, repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    install(docker_sandbox, "codex", standin(DUMP, sleep=30))
    run = CodexAgent().run(context(repo, docker_sandbox, timeout_s=2))
    assert run.timed_out
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
def test_missing_binary_in_the_image_is_unavailable(
    cls: type[CliAgent], docker_sandbox: Sandbox, repo: tuple[Path, str]
) -> None:
    with pytest.raises(AgentUnavailable, match=rf"{cls.binary} not found in the image: install it .*PATH"):
        cls().run(context(repo, docker_sandbox))


# -- the local backend -----------------------------------------------------------------


def test_claude_code_on_the_local_backend(
    repo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_isobench.sandbox.local import LocalSandbox, minimal_env

    root, sha = repo
    bindir = tmp_path / "bin"
    bindir.mkdir()
    dump = tmp_path / "dump.json"
    tool = bindir / "claude"
    # This interpreter itself, not a shim: shims add variables of their own.
    tool.write_text(standin(str(dump), CLAUDE_OUTPUT).replace("/usr/bin/env python3", sys.executable, 1))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-local")
    spec = SandboxSpec(task_id="agents-local", variant="agent", repo_dir=root, commit=sha, run_id=RUN_ID)
    sandbox = LocalSandbox(spec, tmp_path / "worktrees")
    try:
        sandbox.start()
        run = ClaudeCodeAgent().run(context(repo, sandbox, model=None))
    finally:
        sandbox.close()
    call = json.loads(dump.read_text())
    assert call["argv"] == [
        "-p",
        "--output-format",
        "json",
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        ",".join(CLAUDE_TOOLS),
    ]
    assert call["prompt"] == PROMPT
    assert call["env"]["ANTHROPIC_API_KEY"] == "sk-local"
    assert DECOY not in call["env"]
    assert set(call["env"]) - set(minimal_env()) <= {"ANTHROPIC_API_KEY", *ClaudeCodeAgent.fixed_env, "PWD"}
    assert "n * (n - 1) // 2" in run.patch and "_isobench_" not in run.patch
    assert run.tokens == 1200 and run.cost_usd == 0.25 and run.model is None
    assert git(root, "status", "--porcelain") == ""  # the host checkout is untouched


# -- checks before any container -------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "keys"),
    [
        (TraeAgent, "ANTHROPIC_API_KEY"),
        (ClaudeCodeAgent, "ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN"),
        (CodexAgent, "OPENAI_API_KEY or CODEX_API_KEY"),
        (OpenHandsAgent, "LLM_API_KEY"),
    ],
    ids=lambda v: str(getattr(v, "name", "")),
)
def test_missing_key_is_unavailable_with_the_fix(cls: type[CliAgent], keys: str) -> None:
    with pytest.raises(AgentUnavailable, match=f"{cls.name} needs {keys} in the environment: export it"):
        cls().check({})


def test_key_alternatives_and_trae_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", "tok")
    ClaudeCodeAgent().check({})
    assert ClaudeCodeAgent().agent_env() == {"CLAUDE_CODE_OAUTH_TOKEN": "tok", **ClaudeCodeAgent.fixed_env}
    monkeypatch.setenv("ISOBENCH_TRAE_PROVIDER", "openai")
    with pytest.raises(AgentUnavailable, match="OPENAI_API_KEY"):
        TraeAgent().check({})
    monkeypatch.setenv("OPENAI_API_KEY", "sk")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    TraeAgent().check({})
    assert TraeAgent().agent_env() == {"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    monkeypatch.setenv("ISOBENCH_TRAE_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(AgentUnavailable, match=r"ISOBENCH_TRAE_CONFIG=.*is not a file"):
        TraeAgent().check({})


def test_usage_totals_reads_each_tools_report() -> None:
    assert usage_totals(CLAUDE_OUTPUT) == (1200, 0.25)
    assert usage_totals(CODEX_OUTPUT) == (340, None)
    assert usage_totals("plain text\nno json") == (None, None)
    assert usage_totals('{"usage": {"prompt_tokens": 3, "completion_tokens": 4}}') == (7, None)


def test_command_quotes_odd_workdirs_and_models() -> None:
    ctx = AgentContext(
        task=Task(instance_id="x", head_commit="abc"),
        repo_dir=__import__("pathlib").Path("."),
        base_sha="a",
        head_sha="b",
        model="m; rm -rf /",
        timeout_s=1,
        prompt="p",
    )
    command = CodexAgent().command(ctx, "/work dir/repo")
    assert "--model 'm; rm -rf /'" in command and "--cd '/work dir/repo'" in command
    assert command.endswith("- < '/work dir/repo/_isobench_prompt.md'")


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
