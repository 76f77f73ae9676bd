"""The base of the adapters that run a real agent command-line tool in the agent's sandbox.

Each tool (see :mod:`.trae`, :mod:`.claude_code`, :mod:`.codex`, :mod:`.openhands`) runs
in the repository at the baseline with a fresh HOME of its own (see :mod:`.home`) that
holds the prompt and the config we write, and nothing of the caller's. It gets only the
environment variables it needs: its key, mapped onto the variable the tool reads, and its
endpoint. Before starting, the endpoint is asked whether it answers (:mod:`.endpoint`)
and the tool is run once (``--help`` or the import the command runs): either failing is
an :class:`AgentError`. The patch is the sandbox's diff after the tool ends; a run the
tool itself reports as failed carries ``error``. These classes build command lines and
read reports; they time nothing and never touch the host's checkout.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any, ClassVar

from ..sandbox.local import LocalSandbox
from . import usage as usage_reports
from .agent import Agent, AgentContext, AgentError, AgentRun, AgentUnavailable
from .endpoint import check_endpoint
from .home import make_home, remove_home, write_private
from .run_logs import run_logs

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult, Sandbox

PROMPT_NAME = "prompt.md"
PROBE_TIMEOUT_S = 60.0


def base_url_of(url: str) -> str:
    """An endpoint URL as the tools are given it: without a trailing slash."""
    return url.rstrip("/")


def is_local(sandbox: Sandbox) -> bool:
    """Whether the sandbox is the host's own (``local`` backend), not an isolated container."""
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

    def read_file(self, sandbox: Sandbox, path: str) -> str:
        """The text of a file the tool wrote (a trajectory), or ``""`` when it wrote none."""
        result = sandbox.exec(f"cat {shlex.quote(path)}", PROBE_TIMEOUT_S)
        return result.stdout if result.ok else ""

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
