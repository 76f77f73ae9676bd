"""Adapters that run a real agent command-line tool inside the agent's sandbox.

``trae`` (trae-agent's ``trae-cli run``), ``claude_code`` (``claude -p``), ``codex``
(``codex exec``) and ``openhands`` (its headless ``openhands.core.main``) each run in the
repository at the baseline with a fresh HOME of their own (see :mod:`.home`) that holds
the prompt and the config we write, and nothing of the caller's. They get only the
environment variables that tool needs: its key, mapped onto the variable the tool reads,
and its endpoint. Before starting, the endpoint is asked whether it answers
(:mod:`.endpoint`) and the tool is run once (``--help`` or the import the command runs):
either failing is an :class:`AgentError`. The patch is the sandbox's diff after the tool
ends; a run the tool itself reports as failed carries ``error``. These classes build
command lines and read reports; they time nothing and never touch the host's checkout.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..sandbox.local import LocalSandbox
from . import usage as usage_reports
from .base import Agent, AgentContext, AgentError, AgentRun, AgentUnavailable
from .endpoint import check_endpoint
from .home import make_home, remove_home, write_private

if TYPE_CHECKING:
    from ..sandbox.base import ExecResult, Sandbox

PROMPT_NAME = "prompt.md"
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


def _is_local(sandbox: Sandbox) -> bool:
    return isinstance(sandbox, LocalSandbox)


class CliAgent(Agent):
    """An agent that is a command-line tool run in the sandbox's checkout.

    Subclasses name the tool (``binary``), the API key variables (any one of ``key_vars``
    is enough), the optional variables passed when set (``optional_vars``), the endpoint
    it calls (:meth:`endpoint`), build the command line in :meth:`command` and read the
    tool's report in :meth:`report`.
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

    def endpoint(self) -> str | None:
        """The model endpoint the tool will call (asked before the run), or None if unknown."""
        return None

    def probe_command(self) -> str:
        """A command that runs the tool without a model: it must exit 0."""
        return f"{shlex.quote(self.binary)} --help"

    def doctor(self) -> tuple[bool, str]:
        try:
            self.check({})
        except AgentUnavailable as exc:
            return False, str(exc)
        keys = [k for k in self.required_keys() if os.environ.get(k)]
        where = f"`{self.binary}` must be in the image ({self.install_hint})"
        endpoint = self.endpoint() or "(the tool's default)"
        return True, f"key {', '.join(keys) or '(none needed)'} set; endpoint {endpoint}; {where}"

    # -- one run -----------------------------------------------------------------------

    def prepare(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> None:
        """Write the files the command reads (the prompt; a config) into the agent's HOME."""
        write_private(sandbox, f"{home}/{PROMPT_NAME}", ctx.prompt)

    def command(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> str:
        raise NotImplementedError

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        """What the tool reported about its run (tokens, cost, model, its own failure)."""
        return usage_reports.Report()

    def run(self, ctx: AgentContext) -> AgentRun:
        sandbox = ctx.sandbox
        if sandbox is None:
            raise AgentUnavailable(f"{self.name} runs in the agent's sandbox, and none was given")
        url = self.endpoint()
        if url:
            check_endpoint(url)
        home = make_home(sandbox)
        try:
            env = {**self.agent_env(), "HOME": home}
            probe = sandbox.exec(self.probe_command(), PROBE_TIMEOUT_S, env)
            if not probe.ok:
                raise AgentError(
                    f"{self.binary} does not run in the agent's sandbox ({self.probe_command()}: "
                    f"exit status {probe.exit_code}): install it ({self.install_hint}) or put it on PATH\n"
                    f"{probe.tail(15)}"
                )
            self.prepare(ctx, sandbox, home)
            command = self.command(ctx, sandbox, home)
            result = sandbox.exec(command, ctx.timeout_s, env)
            report = self.report(result, sandbox, home)
        finally:
            remove_home(sandbox, home)
        error = None
        if not result.timed_out:
            if result.exit_code != 0:
                error = f"{self.binary} exited with status {result.exit_code}"
                if report.error:
                    error += f"; {report.error}"
            else:
                error = report.error
        return AgentRun(
            patch=sandbox.diff(),
            exit_status=result.exit_code,
            duration_s=result.wall_s,
            logs=run_logs(command, result),
            tokens=report.tokens,
            cost_usd=report.cost_usd,
            model=report.model or ctx.model,
            timed_out=result.timed_out,
            usage=report.usage,
            reported=report.reported,
            error=error,
        )


def _base_url_of(url: str) -> str:
    return url.rstrip("/")


# -- trae ----------------------------------------------------------------------------

TRAE_CONFIG_NAME = "trae_config.yaml"
TRAE_TRAJECTORY_NAME = "trae_trajectory.json"
# provider -> (key variable, default model, default endpoint); trae reads `<PROVIDER>_API_KEY`.
TRAE_PROVIDERS: dict[str, tuple[str | None, str, str | None]] = {
    "anthropic": ("ANTHROPIC_API_KEY", "claude-sonnet-4-20250514", "https://api.anthropic.com"),
    "openai": ("OPENAI_API_KEY", "gpt-4.1", "https://api.openai.com/v1"),
    "openrouter": ("OPENROUTER_API_KEY", "anthropic/claude-sonnet-4", "https://openrouter.ai/api/v1"),
    "google": ("GOOGLE_API_KEY", "gemini-2.5-pro", None),
    "azure": ("AZURE_API_KEY", "gpt-4.1", None),
    "doubao": ("DOUBAO_API_KEY", "doubao-seed-1.6", None),
    "ollama": (None, "qwen3", "http://localhost:11434"),
}
# trae-agent needs Python >= 3.12; its `evaluation` extra brings the `docker` its CLI
# imports, and its `mcp` pin needs pydantic >= 2.8.
TRAE_INSTALL = (
    "on Python >= 3.12: pip install 'trae-agent[evaluation] @ "
    "git+https://github.com/bytedance/trae-agent@e839e55' 'pydantic>=2.8,<3'"
)


class TraeAgent(CliAgent):
    """trae-agent: ``trae-cli run --file PROMPT --working-dir DIR --config-file CFG``.

    The provider is ``ISOBENCH_TRAE_PROVIDER`` or the first whose key is set; the config is
    ``ISOBENCH_TRAE_CONFIG`` (a host path; its inline ``api_key`` values are moved into
    the provider's key variable) or a minimal one written for the run, in the agent's HOME.
    ``--provider``/``--model`` are passed only when the user chose them (they would
    override the config).
    """

    name: ClassVar[str] = "trae"
    binary: ClassVar[str] = "trae-cli"
    install_hint: ClassVar[str] = TRAE_INSTALL
    key_hint: ClassVar[str] = "; or choose another provider with ISOBENCH_TRAE_PROVIDER (anthropic, openai, ...)"

    def provider(self) -> str:
        chosen = os.environ.get("ISOBENCH_TRAE_PROVIDER", "").strip().lower()
        if chosen:
            return chosen
        for provider, (key, _model, _url) in TRAE_PROVIDERS.items():
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

    def _user_config(self) -> tuple[str | None, dict[str, str]]:
        """The user's config with inline keys removed, and those keys as variables."""
        path = os.environ.get("ISOBENCH_TRAE_CONFIG")
        if not path:
            return None, {}
        import yaml

        text = Path(path).read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise AgentUnavailable(f"ISOBENCH_TRAE_CONFIG={path} is not valid YAML: {exc}") from None
        keys: dict[str, str] = {}
        providers = data.get("model_providers") if isinstance(data, dict) else None
        if isinstance(providers, dict):
            for name, entry in providers.items():
                if isinstance(entry, dict) and entry.get("api_key"):
                    provider = str(entry.get("provider") or name)
                    keys.setdefault(f"{provider.upper()}_API_KEY", str(entry["api_key"]))
                    entry["api_key"] = ""
        return yaml.safe_dump(data, sort_keys=False), keys

    def check(self, ctx_options: dict[str, Any]) -> None:
        config = os.environ.get("ISOBENCH_TRAE_CONFIG")
        if config:
            if not Path(config).is_file():
                raise AgentUnavailable(f"ISOBENCH_TRAE_CONFIG={config} is not a file: point it at a trae_config.yaml")
            if self._user_config()[1]:
                return  # the key is in the user's config
        super().check(ctx_options)

    def agent_env(self) -> dict[str, str]:
        env = super().agent_env()
        for key, value in self._user_config()[1].items():
            env.setdefault(key, value)  # an exported variable wins over the config's copy
        return env

    def endpoint(self) -> str | None:
        provider = self.provider()
        url = os.environ.get(f"{provider.upper()}_BASE_URL")
        if url:
            return url
        if os.environ.get("ISOBENCH_TRAE_CONFIG"):
            return None  # the user's config may name its own endpoint
        return TRAE_PROVIDERS.get(provider, (None, "", None))[2]

    def model(self, ctx: AgentContext) -> str:
        return ctx.model or TRAE_PROVIDERS.get(self.provider(), (None, "default", None))[1]

    def config_text(self, ctx: AgentContext) -> str:
        user = self._user_config()[0]
        if user is not None:
            return user
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
            f'    model: "{self.model(ctx)}"\n'
            "    max_tokens: 8192\n"
            "    temperature: 0.0\n"
            "    top_p: 1\n"
            "    top_k: 0\n"
            "    max_retries: 10\n"
            "    parallel_tool_calls: true\n"
        )

    def prepare(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> None:
        super().prepare(ctx, sandbox, home)
        write_private(sandbox, f"{home}/{TRAE_CONFIG_NAME}", self.config_text(ctx))

    def command(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> str:
        workdir = sandbox.workdir
        argv = [
            "trae-cli run",
            f"--file {shlex.quote(f'{home}/{PROMPT_NAME}')}",
            f"--working-dir {shlex.quote(workdir)}",
            f"--config-file {shlex.quote(f'{home}/{TRAE_CONFIG_NAME}')}",
        ]
        if os.environ.get("ISOBENCH_TRAE_PROVIDER"):
            argv.append(f"--provider {shlex.quote(self.provider())}")
        if ctx.model:
            argv.append(f"--model {shlex.quote(ctx.model)}")
        argv += [f"--trajectory-file {shlex.quote(f'{home}/{TRAE_TRAJECTORY_NAME}')}", "--console-type simple"]
        return " ".join(argv)

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        trajectory = sandbox.exec(f"cat {shlex.quote(f'{home}/{TRAE_TRAJECTORY_NAME}')}", PROBE_TIMEOUT_S)
        return usage_reports.trae_report(trajectory.stdout if trajectory.ok else "")


# -- Claude Code ---------------------------------------------------------------------

# The tools of Claude Code 2.1 an optimising agent needs (MultiEdit, LS and TodoWrite are gone).
CLAUDE_TOOLS = ("Bash", "Edit", "Write", "Read", "Glob", "Grep")
CLAUDE_VERSION = "2.1.332"


class ClaudeCodeAgent(CliAgent):
    """Claude Code, non-interactive: ``claude -p --output-format json < PROMPT``."""

    name: ClassVar[str] = "claude_code"
    binary: ClassVar[str] = "claude"
    install_hint: ClassVar[str] = f"npm install -g @anthropic-ai/claude-code@{CLAUDE_VERSION}"
    key_vars: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
    optional_vars: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    fixed_env: ClassVar[dict[str, str]] = {
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }

    def endpoint(self) -> str | None:
        return _base_url_of(os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")

    def command(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> str:
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
        return " ".join(argv) + f" < {shlex.quote(f'{home}/{PROMPT_NAME}')}"

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        return usage_reports.claude_report(result.stdout)


# -- Codex ---------------------------------------------------------------------------

CODEX_VERSION = "0.171.0"
CODEX_PROVIDER = "isobench"


class CodexAgent(CliAgent):
    """OpenAI Codex CLI: ``codex exec --json - < PROMPT`` in the checkout.

    Codex reads its key from ``CODEX_API_KEY`` in ``exec`` mode (``OPENAI_API_KEY`` of
    ours is mapped onto it) and ignores ``OPENAI_BASE_URL``: a base URL of ours becomes a
    model provider in the ``config.toml`` of the agent's own HOME. In a container (already
    isolated) it runs with ``--dangerously-bypass-approvals-and-sandbox``; on the local
    backend with ``--sandbox workspace-write``.
    """

    name: ClassVar[str] = "codex"
    binary: ClassVar[str] = "codex"
    install_hint: ClassVar[str] = f"npm install -g @openai/codex@{CODEX_VERSION}"
    key_vars: ClassVar[tuple[str, ...]] = ("CODEX_API_KEY", "OPENAI_API_KEY")

    def base_url(self) -> str | None:
        url = os.environ.get("CODEX_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
        return _base_url_of(url) if url else None

    def endpoint(self) -> str | None:
        return self.base_url() or "https://api.openai.com/v1"

    def agent_env(self) -> dict[str, str]:
        key = os.environ.get("CODEX_API_KEY") or os.environ.get("OPENAI_API_KEY")
        return {"CODEX_API_KEY": key} if key else {}

    def config_text(self) -> str:
        url = self.base_url()
        if url is None:
            return ""
        return (
            f'model_provider = "{CODEX_PROVIDER}"\n\n'
            f"[model_providers.{CODEX_PROVIDER}]\n"
            'name = "model endpoint given to pytest-isobench"\n'
            f"base_url = {_toml_string(url)}\n"
            'env_key = "CODEX_API_KEY"\n'
            'wire_api = "responses"\n'
            "supports_websockets = false\n"
        )

    def prepare(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> None:
        super().prepare(ctx, sandbox, home)
        config = self.config_text()
        if config:
            write_private(sandbox, f"{home}/.codex/config.toml", config)

    def command(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> str:
        isolation = "--sandbox workspace-write" if _is_local(sandbox) else "--dangerously-bypass-approvals-and-sandbox"
        argv = ["codex exec", isolation, "--skip-git-repo-check", "--json", f"--cd {shlex.quote(sandbox.workdir)}"]
        if ctx.model:
            argv.append(f"--model {shlex.quote(ctx.model)}")
        # `-` reads the instructions from standard input.
        return " ".join(argv) + f" - < {shlex.quote(f'{home}/{PROMPT_NAME}')}"

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        return usage_reports.codex_report(result.stdout)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- OpenHands -----------------------------------------------------------------------

OPENHANDS_VERSION = "0.59.0"
OPENHANDS_TRAJECTORY_NAME = "openhands_trajectory.json"


class OpenHandsAgent(CliAgent):
    """OpenHands headless: ``python -m openhands.core.main -f PROMPT`` on the checkout.

    Runs with the ``cli`` runtime (commands directly in this sandbox, no nested Docker);
    the interpreter is ``ISOBENCH_OPENHANDS_PYTHON`` (default ``python3``). The probe
    imports exactly the module the command runs and the runtime it selects. Tokens and
    cost come from the trajectory it saves (``SAVE_TRAJECTORY_PATH``).
    """

    name: ClassVar[str] = "openhands"
    binary: ClassVar[str] = "openhands"
    install_hint: ClassVar[str] = (
        f"on Python >= 3.12: pip install 'openhands-ai=={OPENHANDS_VERSION}' "
        "(1.x has no openhands.core.main; 0.9.x has no cli runtime)"
    )
    key_vars: ClassVar[tuple[str, ...]] = ("LLM_API_KEY",)
    optional_vars: ClassVar[tuple[str, ...]] = ("LLM_BASE_URL", "LLM_MODEL")
    max_iterations: ClassVar[int] = 100

    def python(self) -> str:
        return os.environ.get("ISOBENCH_OPENHANDS_PYTHON", "python3")

    def endpoint(self) -> str | None:
        url = os.environ.get("LLM_BASE_URL")
        return _base_url_of(url) if url else None

    def probe_command(self) -> str:
        check = "import openhands.core.main, openhands.runtime.impl.cli.cli_runtime"
        return f"{shlex.quote(self.python())} -c {shlex.quote(check)}"

    def agent_env(self) -> dict[str, str]:
        env = super().agent_env()
        env.update({"RUNTIME": "cli", "LOG_ALL_EVENTS": "true"})
        return env

    def command(self, ctx: AgentContext, sandbox: Sandbox, home: str) -> str:
        workdir = sandbox.workdir
        env = [
            f"SANDBOX_VOLUMES={shlex.quote(workdir + ':/workspace:rw')}",
            f"SAVE_TRAJECTORY_PATH={shlex.quote(f'{home}/{OPENHANDS_TRAJECTORY_NAME}')}",
        ]
        if ctx.model:
            env.append(f"LLM_MODEL={shlex.quote(ctx.model)}")
        argv = [
            f"{shlex.quote(self.python())} -m openhands.core.main",
            f"-f {shlex.quote(f'{home}/{PROMPT_NAME}')}",
            f"-i {self.max_iterations}",
        ]
        return " ".join([*env, *argv])

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        trajectory = sandbox.exec(f"cat {shlex.quote(f'{home}/{OPENHANDS_TRAJECTORY_NAME}')}", PROBE_TIMEOUT_S)
        return usage_reports.openhands_report(trajectory.stdout if trajectory.ok else "")


CLI_AGENTS: dict[str, type[Agent]] = {a.name: a for a in (TraeAgent, ClaudeCodeAgent, CodexAgent, OpenHandsAgent)}
