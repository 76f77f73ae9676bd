"""Checks before timing that the dataset's own tests ask for: unit-test gates and equivalence.

Part of stage ``measure``, on the fresh variants, before any round: the task's unit tests
run under pytest in every variant (``perf.gates``), then every ``setup-experiment`` perf
test stores its result on the baseline and checks it on the others with the script's own
``check_equivalence`` (``perf.equivalence``). What each finding means:

- an error code (ISO-Bench's taxonomy) on the baseline or the human: the task does not
  apply here, skipped with the code; on the agent only: the agent's failure;
- the baseline's test crashing, or the human failing its own check: a problem of the task
  (an error with the reason), never the agent's fault;
- the agent's output differing (``output differs: <the assertion's message>``), its test
  crashing, or a unit test that passes on the human failing with its patch: the agent fails.

It returns what was found (for the record) or raises; it times nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..dataset.models import PerfTest
from ..perf import equivalence, gates, perftest
from ..sandbox.protocol import Sandbox
from .model import AgentFailed, TaskInput, TaskProblem, TaskSkipped

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def run_checks(run: TaskInput, sandboxes: Mapping[str, Sandbox], tests: list[PerfTest]) -> dict[str, Any]:
    """Unit-test gates, then equivalence; the findings, or the exception that ends the task."""
    checks: dict[str, Any] = {}
    perf = run.suite.perf
    outcomes = [gates.run(sandboxes, unit, perf.python, perf.timeout_s) for unit in run.task.unit_tests]
    if outcomes:
        checks["unit_tests"] = {o.name: o.as_dict() for o in outcomes}
        _judge_gates(outcomes, checks)
    found = []
    for test in tests:
        if test.kind == "setup-experiment":
            perftest.prepare_all(sandboxes.values(), test)  # the same bytes the rounds will run
            keep = _reference_path(run, test)
            found.append(equivalence.check(sandboxes, test, perf.python, perf.timeout_s, keep))
    if found:
        checks["equivalence"] = {o.test: o.as_dict() for o in found}
        for outcome in found:
            _judge_equivalence(outcome, checks)
    return checks


def _reference_path(run: TaskInput, test: PerfTest) -> Path:
    """Where the baseline's stored result is kept: the cache, never a checkout."""
    safe = _SAFE.sub("_", run.item_id)
    return run.settings.cache_dir / "references" / run.settings.run_id / safe / f"{_SAFE.sub('_', test.name)}.b64"


def _judge_gates(outcomes: list[gates.GateOutcome], checks: dict[str, Any]) -> None:
    broken = [f"{o.name}: {test}" for o in outcomes for test in o.broken()]
    if broken:
        names = ", ".join(broken[:10]) + (f" and {len(broken) - 10} more" if len(broken) > 10 else "")
        raise AgentFailed(
            "unit tests",
            "tests that pass on the human commit fail with the patch: " + ", ".join(broken),
            message=f"unit tests broke: {names}",
            checks=checks,
        )


def _judge_equivalence(outcome: equivalence.EquivalenceOutcome, checks: dict[str, Any]) -> None:
    name = outcome.test
    for variant in ("baseline", "human"):
        found = outcome.variants.get(variant)
        if found is None:
            continue
        if found.status == "error-code":
            raise TaskSkipped(f"perf test {name!r} reports {found.code} on the {variant}: {found.message}")
        if found.status == "crashed":
            raise TaskProblem(
                f"perf test {name!r} fails on the {variant} (a problem of the task, not the agent's): {found.message}",
                checks,
            )
        if found.status == "differs":
            raise TaskProblem(
                f"the human commit fails perf test {name!r}'s own equivalence check (a problem of the task, "
                f"not the agent's): {found.message}",
                checks,
            )
    agent = outcome.variants.get("agent")
    if agent is None:
        return
    if agent.status == "differs":
        raise AgentFailed("output differs", agent.message, message=f"output differs: {agent.message}", checks=checks)
    if agent.status == "error-code":
        raise AgentFailed(
            str(agent.code),
            agent.message,
            message=f"agent failed: perf test {name!r} reports {agent.code} with the patch",
            checks=checks,
        )
    if agent.status == "crashed":
        raise AgentFailed(
            "perf test",
            agent.message,
            message=f"agent failed: perf test {name!r} crashed with the patch",
            checks=checks,
        )
