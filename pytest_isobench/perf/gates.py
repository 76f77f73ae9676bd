"""Unit tests as correctness gates: run with pytest in every variant before timing, never timed.

Most of ISO-Bench's published canonical vLLM records carry in ``efficiency_test`` a pytest
module of the project's own unit tests, not a perf script; SWE-bench-shaped rows name
tests of the repository (``PASS_TO_PASS``, ``FAIL_TO_PASS``). Timing such a module would
time interpreter start-up and imports. Here each runs under ``python -m pytest`` in every
variant's checkout (a module from the dataset written beside the perf tests as
``_isobench_unit_<name>.py``), and the outcome of every test is read from pytest's short
summary (``-rA``). The rule: a test that passes on the human commit must pass with the
agent's patch (the ones that broke are named); tests failing on both are reported and not
held against the agent. A variant where pytest itself cannot run (not installed, the
module does not import) is reported as such, never counted as broken tests.

This module runs commands and compares sets of test ids; the task run decides what a
broken test means.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..dataset.models import UnitTests
    from ..sandbox.protocol import Sandbox

UNIT_PREFIX = "_isobench_unit_"
_SAFE = re.compile(r"[^A-Za-z0-9_]")
_OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL) (\S+)", re.MULTILINE)
# pytest's exit statuses: 0 all passed, 1 some failed, 5 none collected; 2-4 it could not run as asked.
_RAN = (0, 1, 5)


def module_name(tests: UnitTests) -> str:
    return f"{UNIT_PREFIX}{_SAFE.sub('_', tests.name)}.py"


def command_for(tests: UnitTests, python: str) -> str:
    targets = [module_name(tests)] if tests.script is not None else list(tests.node_ids)
    # -p no:isobench: our own plugin, if installed there, has nothing to do in the project's tests
    return f"{python} -m pytest -q -rA -p no:cacheprovider -p no:isobench " + " ".join(shlex.quote(t) for t in targets)


@dataclass
class VariantTests:
    """One variant's run: the ids that passed and failed, or why pytest could not run."""

    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    error: str | None = None
    exit_status: int = 0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "passed": sorted(self.passed),
            "failed": sorted(self.failed),
            "exit_status": self.exit_status,
            "wall_s": round(self.wall_s, 3),
        }
        if self.error:
            data["error"] = self.error
        return data


@dataclass
class GateOutcome:
    """Every variant's unit-test run for one :class:`UnitTests` entry, and what it says."""

    name: str
    variants: dict[str, VariantTests] = field(default_factory=dict)

    def broken(self, patched: str = "agent", reference: str = "human") -> list[str]:
        """Tests that pass on ``reference`` and not on ``patched`` (empty when either did not run)."""
        ref, new = self.variants.get(reference), self.variants.get(patched)
        if ref is None or new is None or ref.error or new.error:
            return []
        return sorted(ref.passed - new.passed)

    def failing_everywhere(self) -> list[str]:
        """Tests that fail in every variant that ran (a problem of the task, not of a patch)."""
        ran = [v for v in self.variants.values() if v.error is None]
        if not ran:
            return []
        return sorted(set.intersection(*(v.failed for v in ran)))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"variants": {n: v.as_dict() for n, v in self.variants.items()}}
        if "agent" in self.variants:
            data["broken_by_agent"] = self.broken()
        data["failing_on_all"] = self.failing_everywhere()
        return data


def parse(output: str) -> tuple[set[str], set[str]]:
    """(passed, failed) test ids from pytest's ``-rA`` short summary (xfail counts as passed:
    the test behaves as its authors said; xpass as failed only under strict, which pytest
    reports as FAILED itself)."""
    passed: set[str] = set()
    failed: set[str] = set()
    for outcome, test_id in _OUTCOME.findall(output):
        (passed if outcome in ("PASSED", "XFAIL", "XPASS") else failed).add(test_id)
    return passed, failed


def run(sandboxes: Mapping[str, Sandbox], tests: UnitTests, python: str, timeout_s: float) -> GateOutcome:
    """Run ``tests`` in every sandbox (in order) and read each variant's outcomes."""
    outcome = GateOutcome(tests.name)
    command = command_for(tests, python)
    for name, box in sandboxes.items():
        if tests.script is not None:
            box.write_file(module_name(tests), tests.script)
        result = box.exec(command, timeout_s)
        passed, failed = parse(result.stdout)
        ran = VariantTests(passed, failed, exit_status=result.exit_code, wall_s=result.wall_s)
        if result.timed_out:
            ran.error = f"the unit tests timed out after {result.wall_s:.0f}s"
        elif result.exit_code not in _RAN:
            ran.error = f"pytest could not run them (exit status {result.exit_code}); last output:\n{result.tail(12)}"
        elif result.exit_code == 1 and not passed and not failed:
            ran.error = f"pytest failed without a test outcome; last output:\n{result.tail(12)}"
        outcome.variants[name] = ran
    return outcome
