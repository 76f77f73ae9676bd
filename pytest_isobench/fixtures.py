"""The fixtures a task item (or a user's own perf test) uses: the task and its sandboxes.

``isobench_task`` is the task of the running item; ``baseline``, ``human`` and ``agent`` are
ready sandboxes of the three variants (checked out, set up, the agent's patch applied).
Every sandbox is closed in ``finally`` and also tracked, so an interrupted run still
removes them at session end. Infrastructure failures raise here, in setup: pytest reports
them as errors, never as the agent's failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from .collect.items import SUITE_KEY, TESTGEN_KEY, task_of
from .sandbox.base import (
    Limits,
    PatchError,
    PatchResult,
    Sandbox,
    SandboxError,
    SandboxSpec,
    Variant,
)
from .sandbox.images import variant_image
from .signals import shielded

if TYPE_CHECKING:
    from .agents.base import Agent, AgentRun
    from .dataset.models import PerfTest, Task
    from .session import Settings
    from .suite import Suite
    from .testgen import CachedTest

SETTINGS_KEY = pytest.StashKey["Settings"]()
LIVE_KEY = pytest.StashKey["list[Sandbox]"]()
CLIENT_KEY = pytest.StashKey[Any]()


@dataclass
class Checkout:
    """A task's repository in the cache, with its commits resolved to full shas."""

    repo_dir: Any
    base: str
    head: str


@dataclass
class AgentOutcome:
    """What the agent produced, and whether its patch went in (its failure is not an error)."""

    name: str
    run: AgentRun | None = None
    patch: str = ""
    applied: PatchResult | None = None
    failure: str | None = None  # "patch", "build", "no change", "agent timeout", ...
    rebuilt: bool = False
    detail: str = ""


@dataclass
class Variants:
    """The ready sandboxes of one task, keyed by variant, baseline first."""

    task: Task
    suite: Suite
    checkout: Checkout
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)
    agent: AgentOutcome | None = None
    backend: str = "local"
    setup_s: float = 0.0
    imported: dict[str, Any] = field(default_factory=dict)  # what each variant imports (suite ``package``)


def _settings(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def isobench_settings(pytestconfig: pytest.Config) -> Settings:
    """The run's parsed ISO-Bench settings (agent, backend, timing, directories)."""
    return _settings(pytestconfig)


@pytest.fixture(scope="session")
def isobench_backend(pytestconfig: pytest.Config) -> Iterator[tuple[str, Any]]:
    """The sandbox backend in use and its engine client (None for ``local``)."""
    settings = _settings(pytestconfig)
    name = settings.backend
    client = None
    if name in ("auto", "docker"):
        from .sandbox.docker_sandbox import engine_client

        try:
            client = engine_client()
            name = "docker"
        except SandboxError as exc:
            if name == "docker":
                raise
            name = "local"
            reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(
                    f"isobench: no Docker engine answers ({str(exc)[:80]}); using the local backend (not isolated)"
                )
    pytestconfig.stash[CLIENT_KEY] = client
    try:
        yield name, client
    finally:
        if client is not None:
            client.close()
        pytestconfig.stash[CLIENT_KEY] = None


@pytest.fixture
def isobench_task(request: pytest.FixtureRequest) -> Task:
    """The task (a real performance commit) of the running item."""
    from .dataset import RecordError

    try:
        task: Task = task_of(request.node)
        return task
    except RecordError as exc:
        pytest.fail(str(exc), pytrace=False)
    except KeyError:
        raise pytest.UsageError(
            f"{request.node.nodeid}: isobench_task is only available in ISO-Bench task items"
        ) from None


@pytest.fixture
def isobench_checkout(request: pytest.FixtureRequest, isobench_task: Task, isobench_settings: Settings) -> Checkout:
    """The task's repository, cloned once into the cache, with base and head resolved."""
    from .sandbox.repo import RepoCache

    suite: Suite = request.node.stash[SUITE_KEY]
    repo = isobench_task.repo or suite.repo
    if not repo:
        raise SandboxError(f"{isobench_task.instance_id}: no repository (set 'repo' in the suite or the record)")
    cache = RepoCache(isobench_settings.cache_dir)
    base_rev = isobench_task.base_commit or f"{isobench_task.head_commit}^"
    repo_dir = cache.ensure(repo, [isobench_task.head_commit, base_rev])
    return Checkout(repo_dir, cache.resolve(repo_dir, base_rev), cache.resolve(repo_dir, isobench_task.head_commit))


def _gpus_for(request: pytest.FixtureRequest) -> str | None:
    """This worker's GPUs: under pytest-xdist each worker gets its own, never shared."""
    settings = _settings(request.config)
    suite: Suite = request.node.stash[SUITE_KEY]
    spec = settings.gpus or suite.resources.gpus
    workerinput: dict[str, Any] | None = getattr(request.config, "workerinput", None)
    if spec is None or not workerinput:
        return spec
    from .sandbox.gpus import visible_gpus, worker_share

    worker = int(str(workerinput.get("workerid", "gw0")).removeprefix("gw") or 0)
    try:
        return worker_share(spec, worker, int(workerinput.get("workercount", 1)), visible_gpus())
    except ValueError as exc:
        raise SandboxError(f"GPU assignment: {exc}") from None


def _image(template: str | None, commit: str, parent: str | None = None) -> str | None:
    """``REGISTRY/vllm:{commit}`` -> the variant's prebuilt image (see ``sandbox.images``)."""
    from .sandbox.images import render

    return render(template, commit, parent)


def _spec(request: pytest.FixtureRequest, variant: Variant, commit: str, checkout: Checkout) -> SandboxSpec:
    settings = _settings(request.config)
    task: Task = task_of(request.node)
    suite: Suite = request.node.stash[SUITE_KEY]
    return SandboxSpec(
        task_id=request.node.name,
        variant=variant,
        repo_dir=checkout.repo_dir,
        commit=commit,
        image=variant_image(
            settings.image, suite, variant, checkout.base if variant == "agent" else commit, checkout.base
        ),
        setup_commands=[*suite.setup_commands, *task.setup_commands, *task.install_commands],
        limits=Limits(cpuset=suite.resources.cpuset, memory=suite.resources.memory, gpus=_gpus_for(request)),
        run_id=settings.run_id,
        setup_timeout_s=suite.timeouts.setup_s,
        network_during_setup=suite.resources.network_during_setup,
    )


def _open(request: pytest.FixtureRequest, variant: Variant, commit: str, checkout: Checkout) -> Iterator[Sandbox]:
    backend, _client = request.getfixturevalue("isobench_backend")
    spec = _spec(request, variant, commit, checkout)
    sandbox: Sandbox | None = request.config.hook.pytest_isobench_make_sandbox(
        backend=backend, spec=spec, config=request.config
    )
    if sandbox is None:
        raise SandboxError(f"no sandbox backend named {backend!r}")
    live = request.config.stash.setdefault(LIVE_KEY, [])
    live.append(sandbox)
    try:
        sandbox.start()
        yield sandbox
    finally:
        with shielded():  # a second Ctrl-C must not leave this sandbox behind
            sandbox.close()
            if sandbox in live:
                live.remove(sandbox)


@pytest.fixture
def baseline(request: pytest.FixtureRequest, isobench_checkout: Checkout) -> Iterator[Sandbox]:
    """A ready sandbox of the baseline (the human commit's parent)."""
    yield from _open(request, "baseline", isobench_checkout.base, isobench_checkout)


@pytest.fixture
def human(request: pytest.FixtureRequest, isobench_checkout: Checkout) -> Iterator[Sandbox]:
    """A ready sandbox of the human commit."""
    yield from _open(request, "human", isobench_checkout.head, isobench_checkout)


@pytest.fixture
def agent(request: pytest.FixtureRequest, isobench_checkout: Checkout) -> Iterator[Sandbox]:
    """A ready sandbox of the baseline with the agent's patch applied.

    A patch that does not apply is the agent's failure: it is recorded on the item
    (``isobench_agent_outcome``) and the call phase fails with the rejected hunks.
    """
    outcome: AgentOutcome = request.getfixturevalue("isobench_agent_outcome")
    if outcome.run is None and outcome.failure is None:
        _check_agent(request, outcome.name)  # a missing key skips before any container starts
    for sandbox in _open(request, "agent", isobench_checkout.base, isobench_checkout):
        if outcome.failure is None and outcome.run is None:
            _produce_patch(request, outcome, sandbox, isobench_checkout)
        if outcome.failure is None:
            _check_tampering(request, outcome)
        if outcome.failure is None and outcome.patch.strip():
            try:
                outcome.applied = sandbox.apply_patch(outcome.patch)
            except PatchError as exc:
                outcome.failure = "patch"
                outcome.detail = f"{exc}\n{exc.rejected}".strip()
            else:
                from .provenance.checks import sync_agent

                sync_agent(request.node.stash[SUITE_KEY], outcome, sandbox)
                _rebuild(request, outcome, sandbox)
        yield sandbox


def _check_tampering(request: pytest.FixtureRequest, outcome: AgentOutcome) -> None:
    """A patch that touches the perf test or our harness files fails as ``tampering``."""
    from .tampering import patch_failure

    detail = patch_failure(outcome.patch, task_of(request.node).perf_tests)
    if detail is not None:
        outcome.failure, outcome.detail = "tampering", detail


def _rebuild(request: pytest.FixtureRequest, outcome: AgentOutcome, sandbox: Sandbox) -> None:
    """Rebuild the agent's checkout when its patch touched compiled code (the suite says how)."""
    from fnmatch import fnmatch

    rebuild = request.node.stash[SUITE_KEY].rebuild
    if rebuild is None or outcome.applied is None:
        return
    touched = [f for f in outcome.applied.files if any(fnmatch(f, p) for p in rebuild.paths)]
    if not touched:
        return
    result = sandbox.exec(rebuild.command, rebuild.timeout_s)
    outcome.rebuilt = True
    if not result.ok:
        outcome.failure = "build"
        outcome.detail = f"the patch touches {', '.join(touched[:5])}; rebuild failed:\n{result.tail(30)}"


def known_agents(config: pytest.Config) -> dict[str, type[Agent]]:
    """Every agent registered through ``pytest_isobench_agents``, first name wins."""
    merged: dict[str, type[Agent]] = {}
    for mapping in config.hook.pytest_isobench_agents():
        for name, cls in (mapping or {}).items():
            merged.setdefault(name, cls)
    return merged


def _check_serving_models(task: Task, suite: Suite) -> None:
    """A gated model without a token is a task problem, reported before anything starts."""
    from .serving.modes import classify, serving_plan
    from .serving.secrets import SecretError, check_models

    assert suite.serving is not None
    commands = [t.command for t in task.perf_tests if t.command and classify(t.command) != "script"]
    try:
        check_models([serving_plan(c, suite.serving).model for c in commands])
    except SecretError as exc:
        pytest.fail(str(exc), pytrace=False)


def _check_agent(request: pytest.FixtureRequest, name: str) -> None:
    from .agents.base import AgentUnavailable

    settings = _settings(request.config)
    try:
        known_agents(request.config)[name]().check({"predictions": settings.predictions, "item_id": request.node.name})
    except AgentUnavailable as exc:
        pytest.skip(f"agent {name!r} cannot run here: {exc}")


def _produce_patch(request: pytest.FixtureRequest, outcome: AgentOutcome, sandbox: Sandbox, checkout: Checkout) -> None:
    from .agents.base import AgentContext, AgentUnavailable
    from .agents.prompt import task_prompt
    from .agents.runner import failure_of, run_agent

    settings = _settings(request.config)
    task: Task = task_of(request.node)
    suite: Suite = request.node.stash[SUITE_KEY]
    agent_obj = known_agents(request.config)[outcome.name]()
    options: dict[str, Any] = {"predictions": settings.predictions, "item_id": request.node.name}
    ctx = AgentContext(
        task=task,
        repo_dir=checkout.repo_dir,
        base_sha=checkout.base,
        head_sha=checkout.head,
        model=settings.model,
        timeout_s=settings.agent_timeout_s or suite.timeouts.agent_s,
        prompt=task_prompt(task, sandbox.workdir),
        sandbox=sandbox,
        options=options,
    )
    try:
        agent_obj.check(options)
        outcome.run = run_agent(agent_obj, ctx, settings.cache_dir, settings.rerun_agent)
    except AgentUnavailable as exc:
        pytest.skip(f"agent {outcome.name!r} cannot run here: {exc}")
    outcome.patch = outcome.run.patch
    outcome.failure, outcome.detail = failure_of(outcome.name, outcome.run)


@pytest.hookimpl(trylast=True)
def pytest_isobench_agents() -> dict[str, type[Agent]]:
    """The built-in agents and those of the ``pytest_isobench.agents`` entry-point group."""
    from .agents.registry import all_agents

    return all_agents()


@pytest.fixture
def isobench_agent_outcome(isobench_settings: Settings) -> AgentOutcome:
    """The agent's run and patch for this task (filled while the ``agent`` fixture sets up)."""
    return AgentOutcome(name=isobench_settings.agent or "")


@pytest.fixture
def isobench_variants(request: pytest.FixtureRequest, isobench_task: Task, isobench_settings: Settings) -> Variants:
    """Every variant this run times, ready: baseline, human, and agent when one is chosen."""
    suite: Suite = request.node.stash[SUITE_KEY]
    needed = isobench_task.gpus if isobench_task.gpus is not None else suite.gpus_required
    if needed > 0:
        from .sandbox.gpus import visible_gpus

        have = visible_gpus()
        if have < needed:
            pytest.skip(f"needs {needed} GPU(s), {have} visible here")
    generated = None if isobench_task.perf_tests else _generated_test(request, isobench_settings, suite)
    if suite.serving is not None:
        _check_serving_models(isobench_task, suite)
    begin = time.perf_counter()
    checkout: Checkout = request.getfixturevalue("isobench_checkout")
    backend, _client = request.getfixturevalue("isobench_backend")
    variants = Variants(task=isobench_task, suite=suite, checkout=checkout, backend=backend)
    variants.sandboxes["baseline"] = request.getfixturevalue("baseline")
    variants.sandboxes["human"] = request.getfixturevalue("human")
    if generated is not None:
        isobench_task.perf_tests = [_validated(request, isobench_settings, suite, variants, generated)]
    if isobench_settings.agent:
        variants.sandboxes["agent"] = request.getfixturevalue("agent")
        variants.agent = request.getfixturevalue("isobench_agent_outcome")
    if suite.package is not None:
        from .provenance.checks import check_variants

        variants.imported = check_variants(request.node, isobench_settings, variants)
    variants.setup_s = time.perf_counter() - begin
    return variants


def _generated_test(request: pytest.FixtureRequest, settings: Settings, suite: Suite) -> CachedTest:
    """The item's test in ``generated_tests/`` (hand-written or generated), or skip with why not."""
    from .testgen import cache

    reason = request.node.stash.get(TESTGEN_KEY, None)
    if reason:
        pytest.skip(f"no perf test: {reason}")
    found = cache.load_cached(cache.default_root(settings.rootdir), suite.name, request.node.name)
    if found is None:
        pytest.skip("no perf test in the record, and perf-test generation is off (--isobench-generate)")
    return found


def _validated(
    request: pytest.FixtureRequest, settings: Settings, suite: Suite, variants: Variants, found: CachedTest
) -> PerfTest:
    """A generated test checked on baseline and human on first use (asked again on failure), or skip."""
    if found.validated:
        return found.test
    from .testgen import Generator, GenJob, cache, ensure_valid, repo_context

    checkout, task = variants.checkout, variants.task
    generator = None
    if settings.generate != "never":
        generator = Generator(model=settings.testgen_model, timeout_s=settings.testgen_timeout_s, attempts=1)
    job = GenJob(
        request.node.name,
        suite.name,
        task,
        python=suite.perf.python,
        context=lambda: repo_context(checkout.repo_dir, checkout.base, checkout.head, task.files_changed),
    )

    def ask_again(previous: str, failure: str) -> str | None:
        return generator.revise(job, previous, failure).code if generator is not None else None

    try:
        checked = ensure_valid(
            variants.sandboxes["baseline"],
            variants.sandboxes["human"],
            root=cache.default_root(settings.rootdir),
            suite=suite.name,
            item_id=request.node.name,
            python=suite.perf.python,
            timeout_s=suite.perf.timeout_s,
            attempts=settings.testgen_attempts,
            ask_again=ask_again if generator is not None else None,
        )
    finally:
        if generator is not None:
            generator.close()
    if not checked.ok or checked.test is None:
        pytest.skip(checked.reason)
    return checked.test


@pytest.hookimpl(trylast=True)
def pytest_isobench_make_sandbox(backend: str, spec: SandboxSpec, config: pytest.Config) -> Sandbox | None:
    """The built-in backends: ``docker`` and ``local``."""
    settings = _settings(config)
    if backend == "local":
        from .sandbox.local import LocalSandbox

        return LocalSandbox(spec, settings.cache_dir / "worktrees")
    if backend == "docker":
        from .sandbox.docker_sandbox import DockerSandbox, engine_client

        if spec.image is None:
            raise SandboxError(f"{spec.task_id}: the docker backend needs an image (suite 'image' or --isobench-image)")
        client = config.stash.get(CLIENT_KEY, None)
        return DockerSandbox(spec, client if client is not None else engine_client())
    return None
