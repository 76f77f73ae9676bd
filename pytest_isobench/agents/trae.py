"""The ``trae`` agent: trae-agent's ``trae-cli run`` on the checkout, with a config we write.

The provider and its key, the config (the user's, with inline keys moved into variables,
or a minimal one) and the command line; tokens and cost come from its trajectory.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import usage as usage_reports
from .agent import AgentUnavailable
from .cli_agent import PROMPT_NAME, CliAgent
from .home import write_private

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult, Sandbox
    from .agent import AgentContext


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
# trae-agent is not on the package index: it installs from its repository, at the commit
# the adapter was checked against by hand (tests/data/agents/README.md). It needs Python >=
# 3.12; its `evaluation` extra brings the `docker` its CLI imports; its `mcp==1.12.2` pin
# imports a pydantic internal that pydantic 2.12 removed.
TRAE_COMMIT = "e839e559ac61bdd0e057c375dd1dee391fee797d"
TRAE_INSTALL = (
    "on Python >= 3.12: pip install 'trae-agent[evaluation] @ "
    f"git+https://github.com/bytedance/trae-agent@{TRAE_COMMIT}' 'pydantic>=2.8,<2.12'"
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
        return usage_reports.trae_report(self.read_file(sandbox, f"{home}/{TRAE_TRAJECTORY_NAME}"))
