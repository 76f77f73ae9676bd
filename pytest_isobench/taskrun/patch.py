"""Stage ``produce_patch`` (the agent, in a sandbox of its own) and applying the patch once.

The agent works in its own sandbox at the baseline; its patch is captured from there (or
taken from the cache of successful runs) and that sandbox is closed. The timed agent
variant is a *fresh* baseline checkout with the captured patch applied exactly once, so
nothing the agent left behind (build products, stray files) is in the timed checkout. A
patch that does not apply or does not build is the agent's failure; an agent that cannot
run here skips the task.
"""

from __future__ import annotations

from fnmatch import fnmatch
from typing import TYPE_CHECKING, Any

from ..agents.agent import Agent, AgentContext, AgentUnavailable
from ..agents.prompt import task_prompt
from ..agents.runner import failure_of, run_agent
from ..agents.tampering import patch_failure
from ..provenance.checks import sync_agent
from ..sandbox.protocol import PatchError, Sandbox
from .model import AgentFailed, PatchOutcome, Prepared, TaskInput, TaskProblem, TaskSkipped
from .sandboxes import SandboxFactory, opened, spec_for

if TYPE_CHECKING:
    from ..suite import Suite


def agent_options(run: TaskInput) -> dict[str, Any]:
    return {"predictions": run.settings.predictions, "item_id": run.item_id}


def check_agent(agent: Agent, run: TaskInput) -> None:
    """An agent that cannot run here (binary, key) skips the task before any sandbox starts."""
    try:
        agent.check(agent_options(run))
    except AgentUnavailable as exc:
        raise TaskSkipped(f"agent {agent.name!r} cannot run here: {exc}") from None


def produce_patch(
    run: TaskInput, prepared: Prepared, agent_cls: type[Agent], sandboxes: SandboxFactory
) -> PatchOutcome:
    """Run the agent (or read its cached run) in its own sandbox; the sandbox is gone afterwards."""
    agent = agent_cls()
    name = run.settings.agent or agent.name
    check_agent(agent, run)
    checkout, settings = prepared.checkout, run.settings

    def context(sandbox: Sandbox | None) -> AgentContext:
        return AgentContext(
            task=run.task,
            repo_dir=checkout.repo_dir,
            base_sha=checkout.base,
            head_sha=checkout.head,
            model=settings.model,
            timeout_s=settings.agent_timeout_s or run.suite.timeouts.agent_s,
            prompt=task_prompt(run.task, sandbox.workdir if sandbox is not None else "."),
            sandbox=sandbox,
            options=agent_options(run),
        )

    try:
        if agent.needs_sandbox:
            with opened(sandboxes, spec_for(run, "agent", checkout)) as sandbox:
                agent_run = run_agent(agent, context(sandbox), settings.cache_dir, settings.rerun_agent)
        else:
            agent_run = run_agent(agent, context(None), settings.cache_dir, settings.rerun_agent)
    except AgentUnavailable as exc:
        raise TaskSkipped(f"agent {name!r} cannot run here: {exc}") from None
    failure, detail = failure_of(name, agent_run)
    if failure is None:
        tampered = patch_failure(agent_run.patch, run.task.perf_tests)  # touches the perf test or the harness
        if tampered is not None:
            failure, detail = "tampering", tampered
    return PatchOutcome(name=name, run=agent_run, patch=agent_run.patch, failure=failure, detail=detail)


def apply_human(sandbox: Sandbox, patch: str, commands: list[str], timeout_s: float) -> None:
    """The human variant of a task whose human change is a diff on the base (SWE-fficiency,
    FormulaCode): the patch applied once to a fresh baseline, then the task's rebuild
    commands. Either failing is a problem of the task, never the agent's."""
    try:
        sandbox.apply_patch(patch)
    except PatchError as exc:
        raise TaskProblem(f"the human patch does not apply on the base: {exc}\n{exc.rejected}".strip()) from None
    for command in commands:
        result = sandbox.exec(command, timeout_s)
        if not result.ok:
            raise TaskProblem(f"the task's rebuild command failed on the human variant: {command}\n{result.tail(30)}")


def apply_once(sandbox: Sandbox, outcome: PatchOutcome, suite: Suite, commands: list[str] | None = None) -> None:
    """Apply the captured patch to the fresh agent variant, then rebuild when the suite says
    so (and run the task's own rebuild ``commands``, as its benchmark does after a patch)."""
    if not outcome.patch.strip():
        return
    try:
        outcome.applied = sandbox.apply_patch(outcome.patch)
    except PatchError as exc:
        outcome.failure = "patch"
        outcome.detail = f"{exc}\n{exc.rejected}".strip()
        raise AgentFailed("patch", outcome.detail) from None
    sync_agent(suite, outcome.applied.files, sandbox)
    for command in commands or []:
        result = sandbox.exec(command, suite.timeouts.setup_s)
        outcome.rebuilt = True
        if not result.ok:
            outcome.failure = "build"
            outcome.detail = f"the task's rebuild command failed with the patch: {command}\n{result.tail(30)}"
            raise AgentFailed("build", outcome.detail)
    rebuild = suite.rebuild
    if rebuild is None:
        return
    touched = [f for f in outcome.applied.files if any(fnmatch(f, p) for p in rebuild.paths)]
    if not touched:
        return
    result = sandbox.exec(rebuild.command, rebuild.timeout_s)
    outcome.rebuilt = True
    if not result.ok:
        outcome.failure = "build"
        outcome.detail = f"the patch touches {', '.join(touched[:5])}; rebuild failed:\n{result.tail(30)}"
        raise AgentFailed("build", outcome.detail)
