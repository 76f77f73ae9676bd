"""The call phase of a task item: time the ready variants, judge, write the record.

Fixtures have already built the sandboxes (errors there are infrastructure). Here each
perf test is put into every checkout, the network is switched off, the measure layer's
protocol interleaves the variants, the verdict is computed, the record is written at
once, and the item passes or fails with the numbers in its message.
"""

from __future__ import annotations

import functools
import logging
import platform
import random
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from . import noise, perftest, tampering
from .agents.prompt import PROMPT_VERSION
from .measure.protocol import ProtocolResult, ProtocolSettings, run_protocol
from .measure.stats import Direction, summarize
from .measure.verdict import SuccessRule, Verdict, decided, judge
from .results.outcome import status_of

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .dataset.models import PerfTest
    from .fixtures import Variants
    from .session import Settings
    from .suite import Suite

RECORD_KEY = pytest.StashKey[dict[str, Any]]()
log = logging.getLogger("isobench")


def _protocol_settings(settings: Settings, suite: Suite, direction: Direction, seed: int) -> ProtocolSettings:
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


def _rule(variants: Variants) -> SuccessRule:
    return variants.suite.success


def _test_record(name: str, result: ProtocolResult) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for variant in dict.fromkeys(s.variant for s in result.samples):
        values = result.values(variant)
        entry: dict[str, Any] = {
            "values": values,
            "walls": result.walls(variant),
            "digests": sorted(d for d in result.digests(variant) if d is not None),
            "warmup": [s.m.value for s in result.samples if s.variant == variant and s.round < 0],
            "loops": [s.m.loops for s in result.samples if s.variant == variant and s.round >= 0 and s.m.error is None],
        }
        if values:
            entry["stats"] = summarize(values).as_dict()
        if variant in result.failures:
            entry["error"] = result.failures[variant]
        data[variant] = entry
    return {
        "name": name,
        "rounds": result.rounds,
        "stop_reason": result.stop_reason,
        "elapsed_s": result.elapsed_s,
        "warnings": list(result.warnings),
        "looks": list(result.looks),
        "order": [[s.variant for s in result.samples if s.round == r] for r in range(result.rounds)],
        "variants": data,
    }


@functools.cache
def _versions() -> dict[str, str]:
    """What ran, looked up once per process (it does not change between tasks)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("pytest-isobench", "pytest", "pytest-benchmark", "scipy", "numpy", "docker"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _human_patch(variants: Variants) -> str | None:
    """The human diff, kept with agent runs so reports can compare the two patches."""
    from .agents.builtin import human_diff

    try:
        return human_diff(variants.checkout.repo_dir, variants.checkout.base, variants.checkout.head)
    except Exception as exc:  # a report field: never fail the task for it
        log.warning("human diff of %s unavailable: %s", variants.task.instance_id, exc)
        return None


def base_record(item: pytest.Item, variants: Variants | None, settings: Settings) -> dict[str, Any]:
    """The parts of a record known before timing (also used for failures)."""
    from .collect.items import SUITE_KEY, task_of

    task = task_of(item)
    suite = item.stash[SUITE_KEY]
    record: dict[str, Any] = {
        "item_id": item.name,
        "nodeid": item.nodeid,
        "suite": suite.name,
        "instance_id": task.instance_id,
        "repo": task.repo or suite.repo,
        "head_commit": task.head_commit,
        "base_commit": task.base_commit,
        "agent": settings.agent,
        "model": settings.model,
        "settings": settings.fingerprint(),
        "run_id": settings.run_id,
        "machine": {"node": platform.node(), "machine": platform.machine(), "gpu": settings.gpus},
        "versions": dict(_versions()),
    }
    if variants is not None:
        record["backend"] = variants.backend
        record["base_commit"] = variants.checkout.base
        record["head_commit"] = variants.checkout.head
        record["setup_s"] = round(variants.setup_s, 3)
        if variants.imported:
            record["imported"] = variants.imported
        if variants.agent is not None:
            outcome = variants.agent
            record["agent_run"] = outcome.run.as_dict() if outcome.run else None
            record["patch"] = outcome.patch
            record["patch_method"] = outcome.applied.method if outcome.applied else None
            record["agent_failure"] = outcome.failure
            record["agent_rebuilt"] = outcome.rebuilt
            record["agent_logs"] = outcome.run.logs[-20000:] if outcome.run else ""
            record["prompt_version"] = PROMPT_VERSION
            record["human_patch"] = _human_patch(variants)
    return record


def _serving_test(
    variants: Variants, settings: Settings, test: PerfTest, rule: SuccessRule, seed: int
) -> tuple[ProtocolResult, Direction, dict[str, Any]] | None:
    """A benchmark command (serving, latency, throughput) measured with its server up; None for scripts."""
    serving = variants.suite.serving
    if serving is None or not test.command:
        return None
    from .serving import modes
    from .serving.runner import ServingSpec, measure_variants
    from .serving.secrets import token_from, variant_envs

    if modes.classify(test.command) == "script":
        return None
    names = list(variants.sandboxes)
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
        for sandbox in variants.sandboxes.values():
            sandbox.set_network(False)

    served = measure_variants(
        variants.sandboxes,
        specs,
        _protocol_settings(settings, variants.suite, direction, seed),
        on_ready=offline,
        decided=lambda partial: decided(partial, rule, direction),
    )
    return served.result, direction, served.sessions


def measure_task(
    variants: Variants, settings: Settings
) -> tuple[list[tuple[str, ProtocolResult]], Direction, dict[str, Any]]:
    """Time every perf test of the task on the ready variants, interleaved."""
    names = list(variants.sandboxes)
    direction: Direction = "lower"
    results: list[tuple[str, ProtocolResult]] = []
    serving: dict[str, Any] = {}
    rule = _rule(variants)
    seed = random.Random(f"{settings.run_id}:{variants.task.instance_id}").randrange(2**31)
    for test in variants.task.perf_tests:
        served = _serving_test(variants, settings, test, rule, seed)
        if served is not None:
            result, direction, serving[test.name] = served
            results.append((test.name, result))
            continue
        metric = test.metric or variants.suite.perf.metric
        direction = metric.direction if metric is not None else "lower"
        for sandbox in variants.sandboxes.values():
            perftest.prepare(sandbox, test)
            sandbox.set_network(False)
        guard = tampering.CheckoutGuard(variants.sandboxes)  # each run starts from the same files

        def run_one(name: str, _test: Any = test, _metric: Any = metric, _guard: Any = guard) -> Any:
            perf = variants.suite.perf
            min_time = perf.min_time_s or None
            measured = perftest.run_once(
                variants.sandboxes[name], _test, perf.python, perf.timeout_s, _metric, min_time
            )
            return _guard.after_run(name, measured)

        def is_decided(partial: ProtocolResult, _direction: Direction = direction, _rule_: SuccessRule = rule) -> bool:
            return decided(partial, _rule_, _direction)

        def progress(round_no: int, values: Mapping[str, list[float]], _name: str = test.name) -> None:
            medians = ", ".join(f"{v} {sorted(x)[len(x) // 2]:.4g}" for v, x in values.items() if x)
            log.info("%s [%s] round %d: medians %s", variants.task.instance_id, _name, round_no + 1, medians)

        result = run_protocol(
            names,
            run_one,
            _protocol_settings(settings, variants.suite, direction, seed),
            decided=is_decided,
            on_round=progress,
        )
        guard.finish(result)
        results.append((test.name, result))
    return results, direction, serving


def _check_correctness(variants: Variants, record: dict[str, Any]) -> None:
    """The suite's correctness command on every variant; a patched variant off the baseline fails."""
    from .correctness import check

    assert variants.suite.correctness is not None
    outcome = check(variants.sandboxes, variants.suite.correctness)
    record["correctness"] = outcome.as_dict()
    if "baseline" in outcome.errors:
        pytest.fail(
            f"correctness check failed on the baseline (task problem): {outcome.errors['baseline']}", pytrace=False
        )
    if "human" in outcome.failed:
        record["human_correct"] = False
    if "agent" in outcome.failed:
        why = outcome.failed["agent"]
        record.update(status="failed", verdict={"passed": False, "category": "failed", "reason": why, "message": why})
        pytest.fail(f"agent failed ({why})", pytrace=False)


def _noise(
    item: pytest.Item,
    variants: Variants,
    record: dict[str, Any],
    start: noise.NoiseSnapshot,
    results: list[tuple[str, ProtocolResult]],
    serving: dict[str, Any],
) -> None:
    """The noise guard's end snapshot and checks: into the record and the item's warnings."""
    metrics = {t.name: t.metric or variants.suite.perf.metric for t in variants.task.perf_tests}
    tests = [(name, r, metrics.get(name) is None and name not in serving) for name, r in results]
    record["noise"] = noise.task_report(start, noise.snapshot(), tests)
    for text in record["noise"]["warnings"]:
        warnings.warn(noise.NoiseWarning(f"{item.name}: {text}"), stacklevel=1)


def run_task(isobench_variants: Variants, isobench_settings: Settings, request: pytest.FixtureRequest) -> None:
    """Time baseline, human (and agent) interleaved, then judge: the body of every task item."""
    variants, settings, item = isobench_variants, isobench_settings, request.node
    record = base_record(item, variants, settings)
    item.stash[RECORD_KEY] = record
    outcome = variants.agent
    if outcome is not None and outcome.failure is not None:
        record.update(
            status="failed",
            verdict={
                "passed": False,
                "category": "tampering" if outcome.failure == "tampering" else "failed",
                "reason": outcome.failure,
                "message": f"agent failed: {outcome.failure}",
            },
        )
        pytest.fail(f"agent failed ({outcome.failure}): {outcome.detail}"[:6000], pytrace=False)
    if variants.suite.correctness is not None:
        _check_correctness(variants, record)
    start = noise.snapshot()
    results, direction, serving = measure_task(variants, settings)
    record["perf_tests"] = [_test_record(name, result) for name, result in results]
    _noise(item, variants, record, start, results, serving)
    if serving:
        record["serving"] = serving
    record["direction"] = direction
    verdict: Verdict = judge(
        [r for _, r in results], _rule(variants), has_agent=outcome is not None, direction=direction
    )
    replaced = item.config.hook.pytest_isobench_verdict(
        task=variants.task, results=[r for _, r in results], default=verdict
    )
    if replaced is not None:
        verdict = replaced
    record["verdict"] = verdict.as_dict()
    review = tampering.review_reason(
        verdict.agent.point if verdict.agent else None,
        verdict.human.point if verdict.human else None,
        settings.review_factor or tampering.REVIEW_FACTOR,
    )
    if review is not None:
        record["review"] = review
        item.user_properties.append(("isobench_review", review))
    record["status"] = status_of(verdict)  # a baseline or human failure is an error, not the agent's
    for key in ("human", "agent", "agent_vs_human"):
        estimate = getattr(verdict, key)
        if estimate is not None:
            item.user_properties.append((f"isobench_{key}_speedup", f"{estimate.point:.4f}"))
    item.user_properties.append(("isobench_verdict", verdict.category or verdict.human_verdict or "not significant"))
    if not verdict.passed:
        prefix = "error (the task's, not the agent's): " if record["status"] == "error" else ""
        pytest.fail(prefix + verdict.message, pytrace=False)
