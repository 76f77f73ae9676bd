"""Adapters that run a real agent command-line tool inside the agent's sandbox.

``trae`` (trae-agent's ``trae-cli run``), ``claude_code`` (``claude -p``), ``codex``
(``codex exec --full-auto``) and ``openhands`` (its headless ``openhands.core.main``) each
run in the repository at the baseline, with the prompt in a ``_isobench_*`` file (never in
the captured diff) and only the environment variables that tool needs: its API key(s),
read from our environment and passed explicitly. The patch is the sandbox's diff after
the tool ends. These classes build command lines and read reports; they time nothing and
never touch the host's checkout.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .base import Agent, AgentContext, AgentRun, AgentUnavailable

if TYPE_CHECKING:
    from ..sandbox.base import ExecResult, Sandbox

PROMPT_FILE = "_isobench_prompt.md"
LOG_TAIL_CHARS = 32_000
PROBE_TIMEOUT_S = 60.0


def _tail(text: str, limit: int = LOG_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def run_logs(command: str, result: ExecResult) -> str:
    """The command, its status and the tails of its output, as kept with the run."""
    status = "timed out" if result.timed_out else f"exit status {result.exit_code}"
    parts = [f"$ {command}", f"[{status} after {result.wall_s:.1f} s]"]
    if result.stdout:
        parts += ["--- stdout ---", _tail(result.stdout)]
    if result.stderr:
        parts += ["--- stderr ---", _tail(result.stderr)]
    return "\n".join(parts) + "\n"


def _json_documents(text: str) -> list[Any]:
    """The JSON in a tool's output: the whole text, else every line that parses."""
    text = text.strip()
    if not text:
        return []
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    docs: list[Any] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("{", "[")):
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return docs


def _usage_tokens(usage: dict[str, Any]) -> int | None:
    if isinstance(usage.get("total_tokens"), int):
        return int(usage["total_tokens"])
    pairs = (("input_tokens", "output_tokens"), ("prompt_tokens", "completion_tokens"))
    for a, b in pairs:
        if isinstance(usage.get(a), int) or isinstance(usage.get(b), int):
            return int(usage.get(a) or 0) + int(usage.get(b) or 0)
    return None


def usage_totals(text: str) -> tuple[int | None, float | None]:
    """Tokens and cost reported in JSON output: every ``usage`` object summed, the last cost.

    Reads Claude Code's result object (``usage``, ``total_cost_usd``), Codex's JSONL events
    (``usage`` per turn) and trae's trajectory (``llm_interactions[*].response.usage``).
    """
    tokens: int | None = None
    cost: float | None = None

    def walk(node: Any) -> None:
        nonlocal tokens, cost
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "usage" and isinstance(value, dict):
                    found = _usage_tokens(value)
                    if found is not None:
                        tokens = (tokens or 0) + found
                elif key in ("total_cost_usd", "cost_usd") and isinstance(value, int | float):
                    cost = float(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in _json_documents(text):
        walk(doc)
    return tokens, cost


class CliAgent(Agent):
    """An agent that is a command-line tool run in the sandbox's checkout.

    Subclasses name the tool (``binary``), the API key variables (any one of
    ``key_vars`` is enough), the optional variables passed when set (``optional_vars``),
    and build the command line in :meth:`command`.
    """

    needs_sandbox: ClassVar[bool] = True
    binary: ClassVar[str] = ""
    install_hint: ClassVar[str] = ""
    key_vars: ClassVar[tuple[str, ...]] = ()
    optional_vars: ClassVar[tuple[str, ...]] = ()
    # Variables of the tool's own, set to fixed values (never copied from our environment).
    fixed_env: ClassVar[dict[str, str]] = {}
    key_hint: ClassVar[str] = ""

    # -- configuration -----------------------------------------------------------------

    def required_keys(self) -> tuple[str, ...]:
        """The variables of which one must be set for the tool to reach its model."""
        return self.key_vars

    def optional_keys(self) -> tuple[str, ...]:
        """Variables passed through when set (base URLs, a default model)."""
        return self.optional_vars

    def check(self, ctx_options: dict[str, Any]) -> None:
        keys = self.required_keys()
        if keys and not any(os.environ.get(k) for k in keys):
            raise AgentUnavailable(
                f"{self.name} needs {' or '.join(keys)} in the environment: export it "
                f"(it is passed to the agent's sandbox; nothing else of ours is){self.key_hint}"
            )

    def agent_env(self) -> dict[str, str]:
        """Exactly what the tool gets from us: its key(s), optional settings, fixed values."""
        env = {k: os.environ[k] for k in (*self.required_keys(), *self.optional_keys()) if os.environ.get(k)}
        env.update(self.fixed_env)
        return env

    def probe_command(self) -> str:
        return f"command -v {shlex.quote(self.binary)}"

    def doctor(self) -> tuple[bool, str]:
        try:
            self.check({})
        except AgentUnavailable as exc:
            return False, str(exc)
        keys = [k for k in self.required_keys() if os.environ.get(k)]
        where = f"`{self.binary}` must be in the image ({self.install_hint})"
        return True, f"key {', '.join(keys) or '(none needed)'} set; {where}"

    # -- one run -----------------------------------------------------------------------

    def prepare(self, ctx: AgentContext, sandbox: Sandbox) -> None:
        """Write the files the command reads (the prompt; trae's config) into the checkout."""
        sandbox.write_file(PROMPT_FILE, ctx.prompt)

    def command(self, ctx: AgentContext, workdir: str) -> str:
        raise NotImplementedError

    def usage(self, result: ExecResult, sandbox: Sandbox) -> tuple[int | None, float | None]:
        return usage_totals(result.stdout)

    def run(self, ctx: AgentContext) -> AgentRun:
        sandbox = ctx.sandbox
        if sandbox is None:
            raise AgentUnavailable(f"{self.name} runs in the agent's sandbox, and none was given")
        env = self.agent_env()
        probe = sandbox.exec(self.probe_command(), PROBE_TIMEOUT_S, env)
        if not probe.ok:
            raise AgentUnavailable(
                f"{self.binary} not found in the image: install it ({self.install_hint}) or put it on PATH"
            )
        self.prepare(ctx, sandbox)
        command = self.command(ctx, sandbox.workdir)
        result = sandbox.exec(command, ctx.timeout_s, env)
        tokens, cost = self.usage(result, sandbox)
        return AgentRun(
            patch=sandbox.diff(),
            exit_status=result.exit_code,
            duration_s=result.wall_s,
            logs=run_logs(command, result),
            tokens=tokens,
            cost_usd=cost,
            model=ctx.model,
            timed_out=result.timed_out,
        )


def _path(workdir: str, name: str) -> str:
    return shlex.quote(f"{workdir.rstrip('/')}/{name}")


# -- trae ----------------------------------------------------------------------------

TRAE_CONFIG_FILE = "_isobench_trae_config.yaml"
TRAE_TRAJECTORY_FILE = "_isobench_trae_trajectory.json"
# provider -> (key variable, default model); trae reads `<PROVIDER>_API_KEY` itself.
TRAE_PROVIDERS: dict[str, tuple[str | None, str]] = {
    "anthropic": ("ANTHROPIC_API_KEY", "claude-sonnet-4-20250514"),
    "openai": ("OPENAI_API_KEY", "gpt-4.1"),
    "openrouter": ("OPENROUTER_API_KEY", "anthropic/claude-sonnet-4"),
    "google": ("GOOGLE_API_KEY", "gemini-2.5-pro"),
    "azure": ("AZURE_API_KEY", "gpt-4.1"),
    "doubao": ("DOUBAO_API_KEY", "doubao-seed-1.6"),
    "ollama": (None, "qwen3"),
}


class TraeAgent(CliAgent):
    """trae-agent: ``trae-cli run --file PROMPT --working-dir DIR --config-file CFG``.

    The provider is ``ISOBENCH_TRAE_PROVIDER`` or the first whose key is set; the config is
    ``ISOBENCH_TRAE_CONFIG`` (a host path, copied in) or a minimal one written for the run.
    """

    name: ClassVar[str] = "trae"
    binary: ClassVar[str] = "trae-cli"
    install_hint: ClassVar[str] = "pip install git+https://github.com/bytedance/trae-agent"
    key_hint: ClassVar[str] = "; or choose another provider with ISOBENCH_TRAE_PROVIDER (anthropic, openai, ...)"

    def provider(self) -> str:
        chosen = os.environ.get("ISOBENCH_TRAE_PROVIDER", "").strip().lower()
        if chosen:
            return chosen
        for provider, (key, _model) in TRAE_PROVIDERS.items():
            if key and os.environ.get(key):
                return provider
        return "anthropic"

    def required_keys(self) -> tuple[str, ...]:
        provider = self.provider()
        if provider in TRAE_PROVIDERS:
            key = TRAE_PROVIDERS[provider][0]
            return (key,) if key else ()
        return (f"{provider.upper()}_API_KEY",)

    def optional_keys(self) -> tuple[str, ...]:
        return (f"{self.provider().upper()}_BASE_URL",)

    def check(self, ctx_options: dict[str, Any]) -> None:
        config = os.environ.get("ISOBENCH_TRAE_CONFIG")
        if config and not Path(config).is_file():
            raise AgentUnavailable(f"ISOBENCH_TRAE_CONFIG={config} is not a file: point it at a trae_config.yaml")
        super().check(ctx_options)

    def model(self, ctx: AgentContext) -> str:
        return ctx.model or TRAE_PROVIDERS.get(self.provider(), (None, "default"))[1]

    def config_text(self, ctx: AgentContext) -> str:
        config = os.environ.get("ISOBENCH_TRAE_CONFIG")
        if config:
            return Path(config).read_text(encoding="utf-8")
        provider = self.provider()
        # No api_key value: trae takes `<PROVIDER>_API_KEY` from the environment we pass.
        return (
            "agents:\n"
            "  trae_agent:\n"
            "    enable_lakeview: false\n"
            "    model: isobench_model\n"
            "    max_steps: 200\n"
            "    tools: [bash, str_replace_based_edit_tool, sequentialthinking, task_done]\n"
            "model_providers:\n"
            f"  {provider}:\n"
            f"    provider: {provider}\n"
            '    api_key: ""\n'
            "models:\n"
            "  isobench_model:\n"
            f"    model_provider: {provider}\n"
            f"    model: {json.dumps(self.model(ctx))}\n"
            "    max_tokens: 8192\n"
            "    temperature: 0.0\n"
            "    top_p: 1\n"
            "    top_k: 0\n"
            "    max_retries: 10\n"
            "    parallel_tool_calls: true\n"
        )

    def prepare(self, ctx: AgentContext, sandbox: Sandbox) -> None:
        super().prepare(ctx, sandbox)
        sandbox.write_file(TRAE_CONFIG_FILE, self.config_text(ctx))

    def command(self, ctx: AgentContext, workdir: str) -> str:
        argv = [
            "trae-cli run",
            f"--file {_path(workdir, PROMPT_FILE)}",
            f"--working-dir {shlex.quote(workdir)}",
            f"--config-file {_path(workdir, TRAE_CONFIG_FILE)}",
            f"--provider {shlex.quote(self.provider())}",
            f"--model {shlex.quote(self.model(ctx))}",
            f"--trajectory-file {_path(workdir, TRAE_TRAJECTORY_FILE)}",
            "--console-type simple",
        ]
        return " ".join(argv)

    def usage(self, result: ExecResult, sandbox: Sandbox) -> tuple[int | None, float | None]:
        trajectory = sandbox.exec(f"cat {_path(sandbox.workdir, TRAE_TRAJECTORY_FILE)}", PROBE_TIMEOUT_S)
        return usage_totals(trajectory.stdout if trajectory.ok else "")


# -- Claude Code ---------------------------------------------------------------------

CLAUDE_TOOLS = ("Bash", "Edit", "MultiEdit", "Write", "Read", "Glob", "Grep", "LS", "TodoWrite")


class ClaudeCodeAgent(CliAgent):
    """Claude Code, non-interactive: ``claude -p --output-format json < PROMPT``."""

    name: ClassVar[str] = "claude_code"
    binary: ClassVar[str] = "claude"
    install_hint: ClassVar[str] = "npm install -g @anthropic-ai/claude-code"
    key_vars: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")
    optional_vars: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    fixed_env: ClassVar[dict[str, str]] = {
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }

    def command(self, ctx: AgentContext, workdir: str) -> str:
        # acceptEdits + an allow-list rather than skipping permissions: the container runs
        # as root, where claude refuses --dangerously-skip-permissions.
        argv = [
            "claude -p",
            "--output-format json",
            "--permission-mode acceptEdits",
            f"--allowedTools {shlex.quote(','.join(CLAUDE_TOOLS))}",
        ]
        if ctx.model:
            argv.append(f"--model {shlex.quote(ctx.model)}")
        return " ".join(argv) + f" < {_path(workdir, PROMPT_FILE)}"


# -- Codex ---------------------------------------------------------------------------


class CodexAgent(CliAgent):
    """OpenAI Codex CLI: ``codex exec --full-auto --json - < PROMPT`` in the checkout."""

    name: ClassVar[str] = "codex"
    binary: ClassVar[str] = "codex"
    install_hint: ClassVar[str] = "npm install -g @openai/codex"
    key_vars: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY", "CODEX_API_KEY")
    optional_vars: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)

    def command(self, ctx: AgentContext, workdir: str) -> str:
        argv = ["codex exec", "--full-auto", "--skip-git-repo-check", "--json", f"--cd {shlex.quote(workdir)}"]
        if ctx.model:
            argv.append(f"--model {shlex.quote(ctx.model)}")
        # `-` reads the instructions from standard input.
        return " ".join(argv) + f" - < {_path(workdir, PROMPT_FILE)}"


# -- OpenHands -----------------------------------------------------------------------


class OpenHandsAgent(CliAgent):
    """OpenHands headless: ``python -m openhands.core.main -f PROMPT`` on the checkout.

    Runs with the ``cli`` runtime (commands directly in this sandbox, no nested Docker);
    the interpreter is ``ISOBENCH_OPENHANDS_PYTHON`` (default ``python3``).
    """

    name: ClassVar[str] = "openhands"
    binary: ClassVar[str] = "openhands"
    install_hint: ClassVar[str] = "pip install openhands-ai"
    key_vars: ClassVar[tuple[str, ...]] = ("LLM_API_KEY",)
    optional_vars: ClassVar[tuple[str, ...]] = ("LLM_BASE_URL", "LLM_MODEL")
    max_iterations: ClassVar[int] = 100

    def python(self) -> str:
        return os.environ.get("ISOBENCH_OPENHANDS_PYTHON", "python3")

    def probe_command(self) -> str:
        check = "import importlib.util, sys; sys.exit(importlib.util.find_spec('openhands') is None)"
        return f"{shlex.quote(self.python())} -c {shlex.quote(check)}"

    def agent_env(self) -> dict[str, str]:
        env = super().agent_env()
        env.update({"RUNTIME": "cli", "LOG_ALL_EVENTS": "true"})
        return env

    def command(self, ctx: AgentContext, workdir: str) -> str:
        env = [f"SANDBOX_VOLUMES={shlex.quote(workdir + ':/workspace:rw')}"]
        if ctx.model:
            env.append(f"LLM_MODEL={shlex.quote(ctx.model)}")
        argv = [
            f"{shlex.quote(self.python())} -m openhands.core.main",
            f"-f {_path(workdir, PROMPT_FILE)}",
            f"-i {self.max_iterations}",
        ]
        return " ".join([*env, *argv])


CLI_AGENTS: dict[str, type[Agent]] = {a.name: a for a in (TraeAgent, ClaudeCodeAgent, CodexAgent, OpenHandsAgent)}
