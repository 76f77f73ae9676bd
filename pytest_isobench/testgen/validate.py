"""Validation of a generated perf test before it is trusted, in the task's sandboxes.

:func:`validate_in_sandboxes` runs the test ``runs`` times on baseline and human,
interleaved, through the sandboxes' ``exec`` (never on the host): every run must exit 0
and print a report with a positive ``time_s`` and a ``digest``; digests must be equal
across runs and variants; the human's median time must be below the baseline's. A
failure's text says which rule broke, with the run's last output, so that it can go back
to the model: :func:`regenerate_on_failure` does that loop with a callable that gives the
next script, and :func:`ensure_valid` ties it to the cache (records a pass in the header,
moves a test that never passes to ``rejected/``). Hand-written tests are not validated.
"""

from __future__ import annotations

import shlex
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..dataset.models import PerfTest
from ..perf import equivalence
from ..perf.perftest import DRIVER_NAME, prepare, run_once, script_name
from . import cache

if TYPE_CHECKING:
    from ..dataset.models import PerfTest
    from ..sandbox.protocol import Sandbox


@dataclass
class ValidationResult:
    """The verdict on one perf test, with the figures behind it."""

    ok: bool
    reason: str = ""
    baseline_s: list[float] = field(default_factory=list)
    human_s: list[float] = field(default_factory=list)
    digest: str | None = None

    @property
    def speedup(self) -> float | None:
        if not self.baseline_s or not self.human_s:
            return None
        human = statistics.median(self.human_s)
        return statistics.median(self.baseline_s) / human if human > 0 else None

    def summary(self) -> str:
        if not self.baseline_s or not self.human_s:
            return self.reason
        base, head = statistics.median(self.baseline_s), statistics.median(self.human_s)
        ratio = f", speedup {self.speedup:.2f}x" if self.speedup else ""
        return f"median baseline {base:.4g} s, human {head:.4g} s{ratio}"


def _cleanup(sandbox: Sandbox, test: PerfTest) -> None:
    if test.script is not None:
        sandbox.exec(f"rm -f {shlex.quote(script_name(test))} {DRIVER_NAME}", 30.0)


def _equivalence_problem(sandboxes: dict[str, Sandbox], test: PerfTest, python: str, timeout_s: float) -> str | None:
    """A setup-experiment test must store the baseline's result and find the human's equal to it."""
    found = equivalence.check(sandboxes, test, python, timeout_s)
    base, human = found.variants["baseline"], found.variants["human"]
    if base.status != "stored":
        return f"its result could not be stored on the baseline commit ({base.status}): {base.message}"
    if human.status != "same":
        return f"check_equivalence fails on the human commit ({human.status}): {human.message}"
    return None


def validate_in_sandboxes(
    baseline: Sandbox,
    human: Sandbox,
    test: PerfTest,
    python: str,
    timeout_s: float,
    runs: int = 3,
) -> ValidationResult:
    """Run ``test`` on both variants and judge it (see the module doc)."""
    result = ValidationResult(ok=False)
    sandboxes = {"baseline": baseline, "human": human}
    times = {"baseline": result.baseline_s, "human": result.human_s}
    digests: dict[str, set[str]] = {"baseline": set(), "human": set()}
    shaped = test.kind == "setup-experiment"
    try:
        for sandbox in sandboxes.values():
            prepare(sandbox, test)
        if shaped:
            problem = _equivalence_problem(sandboxes, test, python, timeout_s)
            if problem is not None:
                result.reason = problem
                return result
        for number in range(1, max(1, runs) + 1):
            for variant, sandbox in sandboxes.items():
                got = run_once(sandbox, test, python, timeout_s)
                where = f"on the {variant} commit (run {number})"
                if got.error is not None:
                    result.reason = f"it failed {where}: {got.error}"
                    return result
                if test.metric is None and not shaped:
                    if got.warning is not None:
                        result.reason = f"its report is not valid {where}: {got.warning}"
                        return result
                    if not got.digest:
                        result.reason = f'its report has no "digest" {where}'
                        return result
                    digests[variant].add(got.digest)
                if got.value is None:  # pragma: no cover - run_once always sets a value without error
                    result.reason = f"no time {where}"
                    return result
                times[variant].append(got.value)
    finally:
        for sandbox in sandboxes.values():
            _cleanup(sandbox, test)
    for variant, seen in digests.items():
        if len(seen) > 1:
            result.reason = f"its digest changes between runs on the {variant} commit: the inputs are not deterministic"
            return result
    if digests["baseline"] != digests["human"]:
        base, head = next(iter(digests["baseline"]), "?"), next(iter(digests["human"]), "?")
        result.reason = (
            f"the digests differ (baseline {base[:16]}, human {head[:16]}): the result must be the same on both commits"
        )
        return result
    result.digest = next(iter(digests["human"]), None)
    base_med, head_med = statistics.median(result.baseline_s), statistics.median(result.human_s)
    if not head_med < base_med:
        result.reason = (
            f"the human commit is not faster: median {base_med:.4g} s on the baseline, {head_med:.4g} s on the "
            "human commit; the timed region must exercise the code the commit changed"
        )
        return result
    result.ok = True
    result.reason = result.summary()
    return result


@dataclass
class RegenOutcome:
    """The end of a validate / ask-again loop."""

    test: PerfTest | None
    result: ValidationResult | None
    attempts: int
    reason: str = ""
    history: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def regenerate_on_failure(
    test: PerfTest,
    validate: Callable[[PerfTest], ValidationResult],
    ask_again: Callable[[str, str], str | None] | None,
    attempts: int,
) -> RegenOutcome:
    """Validate ``test``; on failure ask for another script with the failure text.

    ``ask_again(previous_script, failure)`` returns the next script, or None when the model
    cannot be asked (its reason then ends the loop). At most ``attempts`` validations.
    """

    current = test
    history: list[str] = []
    result: ValidationResult | None = None
    for number in range(1, max(1, attempts) + 1):
        result = validate(current)
        if result.ok:
            return RegenOutcome(current, result, number, result.reason, history)
        history.append(f"attempt {number}: {result.reason}")
        if number >= attempts or ask_again is None:
            break
        script = ask_again(current.script or "", result.reason)
        if script is None:
            history.append("the model could not be asked again")
            break
        current = PerfTest(name=current.name, script=script)
    reason = "the generated perf test never validated: " + "; ".join(history)
    return RegenOutcome(current, result, len([h for h in history if h.startswith("attempt")]), reason, history)


def ensure_valid(
    baseline: Sandbox,
    human: Sandbox,
    *,
    root: Path,
    suite: str,
    item_id: str,
    python: str,
    timeout_s: float,
    attempts: int = 3,
    runs: int = 3,
    ask_again: Callable[[str, str], str | None] | None = None,
) -> RegenOutcome:
    """The cached test of ``item_id``, validated on first use (see the module doc).

    A hand-written or already validated file is returned as it is, without a run. A
    passing test (the first or a revision) is written back with ``validated`` in its
    header; one that never passes is moved to ``rejected/`` with the reason.
    """
    found = cache.load_cached(root, suite, item_id)
    if found is None:
        return RegenOutcome(None, None, 0, f"no perf test in {cache.cache_path(root, suite, item_id)}")
    if found.validated:
        return RegenOutcome(found.test, ValidationResult(ok=True, reason="trusted"), 0, "trusted")
    header = found.header or {}
    outcome = regenerate_on_failure(
        found.test,
        lambda candidate: validate_in_sandboxes(baseline, human, candidate, python, timeout_s, runs),
        ask_again,
        attempts,
    )
    script = cache.strip_header(outcome.test.script or "") if outcome.test is not None else ""
    stamp = cache.Header(
        model=header.get("model", "?"),
        prompt_version=header.get("prompt-version", "?"),
        instance_id=header.get("instance-id", ""),
        endpoint=header.get("endpoint", ""),
        attempts=int(header.get("attempts", "1") or 1) + max(0, outcome.attempts - 1)
        if header.get("attempts", "1").isdigit()
        else outcome.attempts,
    )
    if outcome.ok:
        path = found.path
        if outcome.test is not None and outcome.test.script != found.test.script:
            path = cache.write_test(root, suite, item_id, script, stamp)
        cache.mark_validated(path, outcome.reason)
        refreshed = cache.load_cached(root, suite, item_id)
        if refreshed is not None:
            outcome.test = refreshed.test
        return outcome
    kept = cache.write_rejected(root, suite, item_id, script, stamp, outcome.reason)
    found.path.unlink(missing_ok=True)
    outcome.reason += f" (last attempt kept in {kept})"
    return outcome
