"""The timing protocol: warm up, then interleave the variants round by round until the
speedups are known well enough, time runs out, or the round limit is reached.

It decides what to run and when to stop; the caller's ``run_one`` callable does the
running. It must not start processes, touch sandboxes, or import pytest or docker, so
that it can be driven in tests by a fake ``run_one`` and a fake clock.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pytest_isobench.measure.stats import Direction, Estimator, estimate_speedup

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "Measurement",
    "ProtocolResult",
    "ProtocolSettings",
    "Sample",
    "StopReason",
    "run_protocol",
]

StopReason = Literal["converged", "decided", "max_time", "max_rounds", "baseline_failed", "all_failed"]
"""Why measuring stopped. ``all_failed``: every variant but the baseline failed;
``decided``: the caller's ``decided`` check found every interval clear of its thresholds."""

STOP_CHECK_RESAMPLES = 1000
"""Bootstrap resamples for the per-round stopping check: cheap, and precise enough to
decide whether to run another round (the verdict recomputes with more)."""


@dataclass(frozen=True)
class Measurement:
    """One execution of the perf test in one variant.

    ``value`` is the perf test's own figure (seconds, or a metric), ``None`` when it
    reported none; ``wall_s`` times the whole execution; ``error`` is the tail of a
    crash or timeout; ``warning`` something the caller wants reported, once; ``loops``
    the repetitions of the timed region behind ``value`` when the perf test reports them
    (``value`` is then per loop).
    """

    value: float | None
    wall_s: float
    digest: str | None = None
    error: str | None = None
    warning: str | None = None
    loops: int | None = None


@dataclass(frozen=True)
class Sample:
    """A measurement placed in the schedule: ``round`` is 0-based for kept rounds and
    -1, -2, ... for warm-up rounds; ``order`` is the position within the round."""

    variant: str
    round: int
    order: int
    m: Measurement


@dataclass(frozen=True)
class ProtocolSettings:
    """How long and how precisely to measure.

    ``target_rel_width`` is the half-width of each speedup's confidence interval
    relative to its point (0.02: +-2%). ``seed`` seeds the round order shuffle.
    """

    warmup: int = 1
    min_rounds: int = 5
    max_rounds: int = 200
    max_time_s: float = 120.0
    target_rel_width: float = 0.02
    confidence: float = 0.95
    direction: Direction = "lower"
    seed: int | None = None
    estimator: Estimator = "hodges-lehmann"

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"{name}: expected {expected}, got {getattr(self, name)!r}")

        if not _is_int(self.warmup) or self.warmup < 0:
            raise bad("warmup", "an integer >= 0")
        # The bootstrap needs two values per variant to say anything.
        if not _is_int(self.min_rounds) or self.min_rounds < 2:
            raise bad("min_rounds", "an integer >= 2")
        if not _is_int(self.max_rounds) or self.max_rounds < self.min_rounds:
            raise bad("max_rounds", f"an integer >= min_rounds ({self.min_rounds})")
        if not _is_number(self.max_time_s) or not self.max_time_s > 0:
            raise bad("max_time_s", "a number of seconds > 0")
        if not _is_number(self.target_rel_width) or not self.target_rel_width > 0:
            raise bad("target_rel_width", "a number > 0 (0.02 means +-2%)")
        if not _is_number(self.confidence) or not 0 < self.confidence < 1:
            raise bad("confidence", "a number in (0, 1)")
        if self.direction not in ("lower", "higher"):
            raise bad("direction", "'lower' or 'higher'")
        if self.seed is not None and not _is_int(self.seed):
            raise bad("seed", "an integer or None")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


@dataclass(frozen=True)
class ProtocolResult:
    """Everything the protocol observed. ``variants[0]`` is the baseline."""

    variants: tuple[str, ...]
    settings: ProtocolSettings
    samples: list[Sample]
    rounds: int
    stop_reason: StopReason
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def baseline(self) -> str:
        return self.variants[0]

    def _kept(self, variant: str) -> list[Sample]:
        return [s for s in self.samples if s.variant == variant and s.round >= 0 and s.m.error is None]

    def values(self, variant: str) -> list[float]:
        """The variant's values from kept (non-warm-up, successful) rounds, in run order."""
        return [_value(s.m, self.settings.direction) for s in self._kept(variant)]

    def walls(self, variant: str) -> list[float]:
        """Whole-execution times of the variant's kept rounds."""
        return [s.m.wall_s for s in self._kept(variant)]

    def digests(self, variant: str) -> set[str | None]:
        """Digests the variant reported in every successful run, warm-ups included:
        an output that changes between runs is as suspect as one that differs."""
        return {s.m.digest for s in self.samples if s.variant == variant and s.m.error is None}


def _value(m: Measurement, direction: Direction) -> float:
    # A time can fall back to the process's wall time; a metric cannot.
    if m.value is not None:
        return m.value
    if direction == "lower":
        return m.wall_s
    raise ValueError("a measurement without a value has no metric to fall back to")


def run_protocol(
    variants: Sequence[str],
    run_one: Callable[[str], Measurement],
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_round: Callable[[int, Mapping[str, list[float]]], None] | None = None,
    decided: Callable[[Mapping[str, list[float]]], bool] | None = None,
) -> ProtocolResult:
    """Time ``variants`` (the first is the baseline) interleaved, in a fresh random
    order each round, so that drift in the machine hits all of them alike.

    Stops, once ``min_rounds`` kept rounds are done, when every other variant's
    speedup over the baseline has a confidence interval within ``target_rel_width``
    (``converged``), when ``max_time_s`` has passed, or at ``max_rounds``. A variant
    whose run errs is dropped from later rounds and reported in ``failures``; a
    failing baseline stops everything at once. ``decided``, when given, may also stop
    it after ``min_rounds``: it gets the kept values per variant and returns True when
    no further round could change the verdict (every interval clear of its thresholds).
    Under ``direction="lower"`` a run without a value counts its wall time, with a warning; under ``"higher"`` it
    counts as a failure.
    """
    names = list(variants)
    if not names:
        raise ValueError("variants: expected at least one variant (the baseline), got none")
    if len(set(names)) != len(names):
        raise ValueError(f"variants: expected distinct names, got {names!r}")
    baseline = names[0]
    rng = rng if rng is not None else random.Random(settings.seed)
    start = clock()
    samples: list[Sample] = []
    failures: dict[str, str] = {}
    warnings: list[str] = []
    active = list(names)
    values: dict[str, list[float]] = {v: [] for v in names}

    def run_round(round_no: int) -> bool:
        """Run each active variant once; False when the baseline failed."""
        order = list(active)
        rng.shuffle(order)
        for pos, variant in enumerate(order):
            m = _checked(run_one(variant), settings.direction)
            samples.append(Sample(variant, round_no, pos, m))
            if m.warning is not None:
                text = f"{variant}: {m.warning}"
                if text not in warnings:
                    warnings.append(text)
            if m.error is not None:
                failures[variant] = m.error
                active.remove(variant)
                if variant == baseline:
                    return False
            elif round_no >= 0:
                values[variant].append(_value(m, settings.direction))
        return True

    def result(rounds: int, reason: StopReason) -> ProtocolResult:
        return ProtocolResult(
            variants=tuple(names),
            settings=settings,
            samples=samples,
            rounds=rounds,
            stop_reason=reason,
            failures=failures,
            warnings=warnings,
            elapsed_s=clock() - start,
        )

    def others_failed() -> bool:
        return len(names) > 1 and active == [baseline]

    for w in range(settings.warmup):
        if not run_round(-(w + 1)):
            return result(0, "baseline_failed")
        if others_failed():
            return result(0, "all_failed")

    rounds = 0
    while True:
        ok = run_round(rounds)
        if not ok:
            return result(rounds, "baseline_failed")
        rounds += 1
        if on_round is not None:
            on_round(rounds - 1, {v: list(vals) for v, vals in values.items()})
        if others_failed():
            return result(rounds, "all_failed")
        if rounds < settings.min_rounds:
            continue
        if _converged(active, baseline, values, settings):
            return result(rounds, "converged")
        if decided is not None and decided({v: values[v] for v in active}):
            return result(rounds, "decided")
        if clock() - start >= settings.max_time_s:
            return result(rounds, "max_time")
        if rounds >= settings.max_rounds:
            return result(rounds, "max_rounds")


def _checked(m: Measurement, direction: Direction) -> Measurement:
    """Turn a run whose figure cannot enter the statistics into a failed run."""
    if m.error is not None:
        return m
    error: str | None = None
    if m.value is None and direction == "higher":
        error = "the perf test reported no metric value"
    else:
        v = _value(m, direction)
        if not (math.isfinite(v) and v > 0):
            error = f"the perf test reported {v!r}: expected a finite positive value"
    if error is None:
        return m
    return Measurement(None, m.wall_s, m.digest, error=error, warning=m.warning)


def _converged(
    active: list[str],
    baseline: str,
    values: Mapping[str, list[float]],
    settings: ProtocolSettings,
) -> bool:
    seed = settings.seed if settings.seed is not None else 0
    for variant in active:
        if variant == baseline:
            continue
        est = estimate_speedup(
            values[baseline],
            values[variant],
            settings.direction,
            confidence=settings.confidence,
            estimator=settings.estimator,
            n_resamples=STOP_CHECK_RESAMPLES,
            seed=seed,
        )
        if est.rel_half_width > settings.target_rel_width:
            return False
    return True
