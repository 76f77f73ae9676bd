"""Stage ``measure``: fresh variants, the patch applied once, checks, then interleaved timing.

Opens a fresh sandbox per variant (baseline, human, and with an agent the baseline plus
the captured patch), validates a generated perf test on baseline and human, runs the
suite's correctness check, puts each perf test into every checkout, switches the network
off and lets the measure layer's protocol interleave the variants. Every sandbox is
closed before this returns. It judges nothing.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..agents import tampering
from ..dataset.models import MetricSpec, PerfTest
from ..measure.protocol import Measurement, ProtocolResult, ProtocolSettings, run_protocol
from ..measure.stats import Direction
from ..measure.verdict import SuccessRule, decided
from ..perf import lockstep, noise, perftest
from ..perf.correctness import check as check_correctness
from ..provenance import gpu
from ..provenance.checks import check_variants
from ..sandbox.protocol import Sandbox, Variant
from ..serving import modes
from ..serving.runner import ServingSpec, measure_variants
from ..serving.secrets import token_from, variant_envs
from ..suite import PerfDefaults, Suite
from ..testgen import CachedTest, Generator, GenJob, cache, ensure_valid, repo_context
from .checks import run_checks
from .model import AgentFailed, Measured, PatchOutcome, Prepared, TaskFailed, TaskInput, TaskSkipped
from .sandboxes import SandboxFactory
from .variants import Refresh, Variants

if TYPE_CHECKING:
    from ..settings import Settings  # a plain value handed in with the TaskInput

log = logging.getLogger("isobench")


def success_rule(suite: Suite, settings: Settings | None = None) -> SuccessRule:
    """The suite's success rule, with the run's ``--isobench-pass`` categories when given."""
    if settings is None or settings.pass_categories is None:
        return suite.success
    return suite.success.model_copy(update={"pass_categories": settings.pass_categories})


def protocol_settings(settings: Settings, suite: Suite, direction: Direction, seed: int) -> ProtocolSettings:
    timing = suite.timing

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    return ProtocolSettings(
        warmup=pick(settings.warmup, timing.warmup),
        min_rounds=pick(settings.min_rounds, timing.min_rounds),
        max_time_s=pick(settings.max_time_s, timing.max_time_s),
        target_rel_width=pick(settings.target_ci, timing.target_ci),
        confidence=1 - suite.success.alpha,
        estimator=suite.success.estimator,
        direction=direction,
        seed=seed,
    )


def validated_test(run: TaskInput, prepared: Prepared, found: CachedTest, sandboxes: Mapping[str, Sandbox]) -> PerfTest:
    """A generated test checked on baseline and human on first use (asked again on failure), or skip."""
    if found.validated:
        return found.test
    settings, suite, task, checkout = run.settings, run.suite, run.task, prepared.checkout
    generator = None
    if settings.generate != "never":
        generator = Generator(model=settings.testgen_model, timeout_s=settings.testgen_timeout_s, attempts=1)
    job = GenJob(
        run.item_id,
        suite.name,
        task,
        python=suite.perf.python,
        context=lambda: repo_context(checkout.repo_dir, checkout.base, checkout.head, task.files_changed),
    )

    def ask_again(previous: str, failure: str) -> str | None:
        return generator.revise(job, previous, failure).code if generator is not None else None

    try:
        checked = ensure_valid(
            sandboxes["baseline"],
            sandboxes["human"],
            root=cache.default_root(settings.rootdir),
            suite=suite.name,
            item_id=run.item_id,
            python=suite.perf.python,
            timeout_s=suite.perf.timeout_s,
            attempts=settings.testgen_attempts,
            ask_again=ask_again if generator is not None else None,
        )
    finally:
        if generator is not None:
            generator.close()
    if not checked.ok or checked.test is None:
        raise TaskSkipped(checked.reason)
    return checked.test


def _serving_test(
    run: TaskInput, sandboxes: Mapping[str, Sandbox], test: PerfTest, rule: SuccessRule, seed: int
) -> tuple[ProtocolResult, Direction, dict[str, Any]] | None:
    """A benchmark command (serving, latency, throughput) measured with its server up; None for scripts."""
    serving = run.suite.serving
    if serving is None or not test.command or modes.classify(test.command) == "script":
        return None
    names = list(sandboxes)
    plan = modes.serving_plan(test.command, serving)
    token = token_from()
    envs = variant_envs(names, token)  # HF_TOKEN to the variant that downloads, nothing else
    specs = {
        n: ServingSpec.from_plan(
            plan, server_env=envs[n], client_env={k: v for k, v in envs[n].items() if k != "HF_TOKEN"}, secret=token
        )
        for n in names
    }
    direction = specs[names[0]].direction

    def offline() -> None:
        for sandbox in sandboxes.values():
            sandbox.set_network(False)

    served = measure_variants(
        sandboxes,
        specs,
        protocol_settings(run.settings, run.suite, direction, seed),
        on_ready=offline,
        decided=lambda partial: decided(partial, rule, direction),
    )
    return served.result, direction, served.sessions


def time_variants(
    run: TaskInput,
    sandboxes: Mapping[str, Sandbox],
    tests: list[PerfTest],
    notes: Mapping[str, str] | None = None,
    variants: Variants | None = None,
) -> Measured:
    """Time every perf test of the task on the ready variants, interleaved (``notes``: a
    warning for a test's record, by name). With ``variants`` (whose ``boxes`` are
    ``sandboxes``) and the suite's ``perf.refresh_every``, each variant's sandbox is
    replaced by a fresh one every k of its rounds."""
    notes = notes or {}
    names = list(sandboxes)
    measured = Measured(perf_tests=tests)
    rule = success_rule(run.suite, run.settings)
    seed = random.Random(f"{run.settings.run_id}:{run.task.instance_id}").randrange(2**31)
    perf = run.suite.perf
    min_time = perf.min_time_s or None
    for test in tests:
        served = _serving_test(run, sandboxes, test, rule, seed)
        if served is not None:
            result, measured.direction, measured.serving[test.name] = served
            measured.results.append((test.name, result))
            continue
        metric = test.metric or perf.metric
        direction: Direction = metric.direction if metric is not None else "lower"
        measured.direction = direction

        def ready(sandbox: Sandbox, _test: PerfTest = test) -> None:
            perftest.prepare(sandbox, _test)
            sandbox.set_network(False)

        for sandbox in sandboxes.values():
            ready(sandbox)
        guard = tampering.CheckoutGuard(sandboxes)  # each run starts from the same files
        pace = perftest.LoopPace(min_time)  # raised when the values tie (a coarse timer)
        refresh = None
        if variants is not None and perf.refresh_every > 0:
            refresh = Refresh(perf.refresh_every, variants, guard, ready)
            measured.refreshed[test.name], measured.refresh_every = refresh.seen, perf.refresh_every

        run_one, together, steps = _runners(sandboxes, test, metric, perf, guard, pace, refresh)

        def is_decided(partial: ProtocolResult, _direction: Direction = direction) -> bool:
            return decided(partial, rule, _direction)

        def progress(round_no: int, values: Mapping[str, list[float]], _name: str = test.name) -> None:
            medians = ", ".join(f"{v} {sorted(x)[len(x) // 2]:.4g}" for v, x in values.items() if x)
            log.info("%s [%s] round %d: medians %s", run.task.instance_id, _name, round_no + 1, medians)

        result = run_protocol(
            names,
            run_one,
            protocol_settings(run.settings, run.suite, direction, seed),
            decided=is_decided,
            on_round=progress,
            more_loops=pace.longer,
            run_together=together,
        )
        guard.finish(result)
        if steps is not None:
            result.warnings.extend(steps.notes)
            if steps.allocation is not None:
                result.allocation.update(steps.allocation.as_dict())
        if test.name in notes:
            result.warnings.append(notes[test.name])
        measured.results.append((test.name, result))
    return measured


def _runners(
    sandboxes: Mapping[str, Sandbox],
    test: PerfTest,
    metric: MetricSpec | None,
    perf: PerfDefaults,
    guard: tampering.CheckoutGuard,
    pace: perftest.LoopPace,
    refresh: Refresh | None = None,
) -> tuple[Callable[[str], Measurement], Callable[[list[str]], list[Measurement]] | None, lockstep.Lockstep | None]:
    """How the protocol runs ``test``: one variant at a time, and (when the suite and the
    sandboxes allow) every variant of a round at once in lockstep. Each measurement is seen
    once by the loop pace and the checkout guard; with ``refresh``, each variant's run is
    counted first (and its sandbox replaced when its turn comes)."""

    def raw(name: str) -> Measurement:
        return perftest.run_once(
            sandboxes[name],
            test,
            perf.python,
            perf.timeout_s,
            metric,
            pace.min_time_s,
            perf.process_time,
            own_stack=perf.own_stack,
        )

    def checked(name: str, m: Measurement) -> Measurement:
        pace.saw(m)
        return guard.after_run(name, m)

    def run_one(name: str) -> Measurement:
        if refresh is not None:
            refresh.before_run(name)
        return checked(name, raw(name))

    if not (perf.lockstep and lockstep.usable(sandboxes, test, metric)):
        return run_one, None, None
    # Every variant's process at once, their passes alternating (see lockstep.py).
    steps = lockstep.Lockstep(
        sandboxes,
        test,
        perf.python,
        perf.timeout_s,
        metric,
        cycles=perf.passes,
        process_time=perf.process_time,
        own_stack=perf.own_stack,
    )

    def together(order: list[str]) -> list[Measurement]:
        if refresh is not None:
            for name in order:
                refresh.before_run(name)
        ran = steps.round(order, raw, pace.min_time_s)
        return [checked(name, m) for name, m in zip(order, ran, strict=True)]

    return run_one, together, steps


def _correctness(run: TaskInput, sandboxes: Mapping[str, Sandbox]) -> tuple[dict[str, Any], bool | None]:
    """The suite's correctness command on every variant; a patched variant off the baseline fails."""
    assert run.suite.correctness is not None
    outcome = check_correctness(sandboxes, run.suite.correctness)
    if "baseline" in outcome.errors:
        raise TaskFailed(f"correctness check failed on the baseline (task problem): {outcome.errors['baseline']}")
    if "agent" in outcome.failed:
        why = outcome.failed["agent"]
        raise AgentFailed(why, message=why, correctness=outcome.as_dict())
    return outcome.as_dict(), (False if "human" in outcome.failed else None)


def measure(run: TaskInput, prepared: Prepared, patch: PatchOutcome | None, sandboxes: SandboxFactory) -> Measured:
    """Open fresh variants (the agent's with its patch applied once), check them, time them."""
    begin = time.perf_counter()
    checkout = prepared.checkout
    variants: list[Variant] = ["baseline", "human", "agent"] if patch is not None else ["baseline", "human"]
    with contextlib.ExitStack() as stack:
        boxes = Variants(run, checkout, sandboxes, patch, stack)
        for name in variants:
            boxes.open(name)
        ready = boxes.boxes
        tests = list(prepared.perf_tests)
        if prepared.generated is not None:
            tests = [validated_test(run, prepared, prepared.generated, ready)]
        imported = check_variants(
            run.suite,
            ready,
            repo_dir=checkout.repo_dir,
            base=checkout.base,
            head=checkout.head,
            files_changed=run.task.files_changed or [],
            agent_files=patch.applied.files if patch is not None and patch.applied is not None else (),
            agent_rebuilt=patch is not None and patch.rebuilt,
        )
        correctness, human_correct = (None, None)
        if run.suite.correctness is not None:
            correctness, human_correct = _correctness(run, ready)
        checks = run_checks(run, ready, tests)
        timed = {t.name for t in tests}
        untimed = {name: note for name, note in prepared.notes.items() if name not in timed}
        if untimed:
            checks["untimed"] = untimed
        setup_s = prepared.setup_s + time.perf_counter() - begin
        devices = gpu.device_ids(run.gpus)
        gpu_start, noise_start = gpu.snapshot(devices), noise.snapshot()
        measured = time_variants(run, ready, tests, prepared.notes, boxes)
        measured.checks = checks or None
        measured.noise = noise_report(run, measured, noise_start)
        uses_gpu = run.gpus is not None or run.suite.gpus_required > 0
        measured.gpu = gpu.task_gpu_record(gpu_start, gpu.snapshot(devices), uses_gpu=uses_gpu)
        for text in measured.gpu.get("warnings", []):
            warnings.warn(gpu.GpuWarning(f"{run.item_id}: {text}"), stacklevel=1)
    measured.correctness, measured.human_correct, measured.setup_s = correctness, human_correct, setup_s
    measured.imported = imported
    return measured


def noise_report(run: TaskInput, measured: Measured, start: noise.NoiseSnapshot) -> dict[str, Any]:
    """The noise guard's end snapshot and checks, each warning also raised as a ``NoiseWarning``."""
    metrics = {t.name: t.metric or run.suite.perf.metric for t in measured.perf_tests}
    tests = [(name, r, metrics.get(name) is None and name not in measured.serving) for name, r in measured.results]
    report = noise.task_report(start, noise.snapshot(), tests)
    for text in report["warnings"]:
        warnings.warn(noise.NoiseWarning(f"{run.item_id}: {text}"), stacklevel=1)
    return report
