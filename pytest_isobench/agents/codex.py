"""The ``codex`` agent: OpenAI's Codex CLI (``codex exec``) on the checkout.

A base URL of ours becomes a model provider in a ``config.toml`` written in the agent's HOME.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, ClassVar

from . import usage as usage_reports
from .cli_agent import PROMPT_NAME, CliAgent, base_url_of, is_local
from .home import write_private

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult, Sandbox
    from .agent import AgentContext


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
        return base_url_of(url) if url else None

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
        isolation = "--sandbox workspace-write" if is_local(sandbox) else "--dangerously-bypass-approvals-and-sandbox"
        argv = ["codex exec", isolation, "--skip-git-repo-check", "--json", f"--cd {shlex.quote(sandbox.workdir)}"]
        if ctx.model:
            argv.append(f"--model {shlex.quote(ctx.model)}")
        # `-` reads the instructions from standard input.
        return " ".join(argv) + f" - < {shlex.quote(f'{home}/{PROMPT_NAME}')}"

    def report(self, result: ExecResult, sandbox: Sandbox, home: str) -> usage_reports.Report:
        return usage_reports.codex_report(result.stdout)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
