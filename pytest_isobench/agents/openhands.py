"""The ``openhands`` agent: OpenHands headless (``openhands.core.main``) with its ``cli`` runtime."""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, ClassVar

from . import usage as usage_reports
from .cli_agent import PROMPT_NAME, CliAgent, base_url_of

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult, Sandbox
    from .agent import AgentContext


OPENHANDS_VERSION = "0.59.0"
OPENHANDS_TRAJECTORY_NAME = "openhands_trajectory.json"


class OpenHandsAgent(CliAgent):
    """OpenHands headless: ``python -m openhands.core.main -f PROMPT`` on the checkout.

    Runs with the ``cli`` runtime (commands directly in this sandbox, no nested Docker);
    the interpreter is ``ISOBENCH_OPENHANDS_PYTHON`` (default ``python3``). The probe
    imports exactly the module the command runs and the runtime it selects. Tokens and
    cost come from the trajectory it saves (``SAVE_TRAJECTORY_PATH``); it exits 0 however
    its agent ended, so a run without the agent's ``finish`` is reported as failed.
    Checked against the real 0.59.0 in Docker (tests/agents/test_agents_openhands_real.py).
    """

    name: ClassVar[str] = "openhands"
    binary: ClassVar[str] = "openhands"
    install_hint: ClassVar[str] = (
        f"on Python 3.12 or 3.13: pip install 'openhands-ai=={OPENHANDS_VERSION}' "
        "(1.x has no openhands.core.main; 0.9.x has no cli runtime), "
        "or use the image scripts/build-openhands-image.sh builds"
    )
    key_vars: ClassVar[tuple[str, ...]] = ("LLM_API_KEY",)
    # A model litellm does not know gets tools described in its prompt instead of native
    # tool calls, unless LLM_NATIVE_TOOL_CALLING=true (an endpoint serving its own model).
    optional_vars: ClassVar[tuple[str, ...]] = ("LLM_BASE_URL", "LLM_MODEL", "LLM_NATIVE_TOOL_CALLING")
    max_iterations: ClassVar[int] = 100

    def python(self) -> str:
        return os.environ.get("ISOBENCH_OPENHANDS_PYTHON", "python3")

    def endpoint(self) -> str | None:
        url = os.environ.get("LLM_BASE_URL")
        return base_url_of(url) if url else None

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
        trajectory = self.read_file(sandbox, f"{home}/{OPENHANDS_TRAJECTORY_NAME}")
        return usage_reports.openhands_report(trajectory, result.stdout + "\n" + result.stderr)
