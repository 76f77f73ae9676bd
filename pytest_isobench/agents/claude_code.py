"""The ``claude_code`` agent: Claude Code, non-interactive (``claude -p``), on the checkout."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, ClassVar

from . import usage as usage_reports
from .cli_agent import PROMPT_NAME, CliAgent, base_url_of

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult, Sandbox
    from .agent import AgentContext


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
        return base_url_of(os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")

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
