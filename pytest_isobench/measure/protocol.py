"""The timing protocol: warm up, then run the variants round by round in counterbalanced
blocks, and stop at a scheduled look when the speedups are known well enough or the
verdict is decided, or when time or rounds run out.

It decides what to run and when to stop; the caller's ``run_one`` callable does the
running. Each look judges at the level the sequential design gives it
(:mod:`~pytest_isobench.measure.sequential`), so stopping early keeps its error rate.
It must not start processes, touch sandboxes, or import pytest or docker, so that it can
be driven in tests by a fake ``run_one`` and a fake clock.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pytest_isobench.measure.sequential import INTERIM_SHARE, SequentialDesign, block_orders, design
from pytest_isobench.measure.stats import PAIRED, Direction, Estimate, Estimator, estimate_speedup

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
``decided``: the caller's ``decided`` check found the verdict settled at a look;
``converged``: every interval narrow enough at a look."""

INTERIM_STOPS: tuple[str, ...] = ("converged", "decided")
"""Stops at an interim look: their intervals are judged at the design's interim level."""

STOP_CHECK_RESAMPLES = 1000
"""Bootstrap resamples for a look's check under ``median-bootstrap``: cheap, and precise
enough to decide whether to run on (the verdict recomputes with more)."""

MIN_DISTINCT_FRACTION = 0.5
"""A variant whose values are less than this fraction distinct is "tied": its timer is
too coarse for the test, and its intervals mean nothing."""


def is_tied(values: Sequence[float]) -> bool:
    """Mostly repeats: fewer than :data:`MIN_DISTINCT_FRACTION` of the values distinct."""
    return len(values) >= 4 and len(set(values)) < MIN_DISTINCT_FRACTION * len(values)


@dataclass(frozen=True)
class Measurement:
    """One execution of the perf test in one variant.

    ``value`` is the perf test's own figure (seconds, or a metric), ``None`` when it
    reported none; ``wall_s`` times the whole execution; ``error`` is the tail of a
    crash or timeout; ``warning`` something the caller wants reported, once; ``loops``
    the repetitions of the timed region behind ``value`` when the perf test reports them
    (``value`` is then per loop); ``passes`` the per-loop times of its passes when the
    round ran in lockstep (``value`` is then derived from the passes of every variant).
    """

    value: float | None
    wall_s: float
    digest: str | None = None
    error: str | None = None
    warning: str | None = None
    loops: int | None = None
    passes: tuple[float, ...] | None = None


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
    ``confidence`` is ``1 - alpha``, the overall level the sequential design keeps
    over all looks; ``interim_share`` the part of ``alpha`` spent on interim looks (0:
    never stop early).
    """

    warmup: int = 1
    min_rounds: int = 5
    max_rounds: int = 200
    max_time_s: float = 120.0
    target_rel_width: float = 0.02
    confidence: float = 0.95
    direction: Direction = "lower"
    seed: int | None = None
    estimator: Estimator = "paired-hodges-lehmann"
    interim_share: float = INTERIM_SHARE

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
        if not _is_number(self.interim_share) or not 0 <= self.interim_share < 1:
            raise bad("interim_share", "a fraction in [0, 1)")

    def design(self, n_variants: int, alpha: float | None = None) -> SequentialDesign:
        """The sequential design of a run of ``n_variants`` (``alpha``: 1 - confidence)."""
        level = 1 - self.confidence if alpha is None else alpha
        return design(level, self.min_rounds, self.max_rounds, n_variants, interim_share=self.interim_share)


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
    looks: tuple[int, ...] = ()

    @property
    def baseline(self) -> str:
        return self.variants[0]

    @property
    def interim(self) -> bool:
        """Whether it stopped at an interim look (judged at the interim level)."""
        return self.stop_reason in INTERIM_STOPS

    def level(self, alpha: float | None = None) -> float:
        """The two-sided level its intervals are judged at, by its design for ``alpha``
        (default: ``1 - settings.confidence``)."""
        return self.settings.design(len(self.variants), alpha).level(self.interim)

    def paired(self, a: str, b: str) -> tuple[list[float], list[float]]:
        """Values of ``a`` and ``b`` from the kept rounds in which both succeeded, by round."""
        va = {s.round: _value(s.m, self.settings.direction) for s in self._kept(a)}
        vb = {s.round: _value(s.m, self.settings.direction) for s in self._kept(b)}
        rounds = sorted(va.keys() & vb.keys())
        return [va[r] for r in rounds], [vb[r] for r in rounds]

    def speedup(
        self,
        base: str,
        other: str,
        confidence: float,
        estimator: Estimator | None = None,
        direction: Direction | None = None,
        *,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> Estimate:
        """``other`` over ``base`` at ``confidence``, paired by round when the estimator is."""
        est = estimator if estimator is not None else self.settings.estimator
        d = direction if direction is not None else self.settings.direction
        if est in PAIRED:
            b, o = self.paired(base, other)
        else:
            b, o = self.values(base), self.values(other)
        return estimate_speedup(b, o, d, confidence, est, n_resamples, seed)

    def tied(self) -> list[str]:
        """Variants whose kept values are mostly repeats (a timer too coarse for the test)."""
        return [v for v in self.variants if is_tied(self.values(v))]

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


def tie_warning(variant: str, values: Sequence[float]) -> str:
    """What to tell the user when a variant's values are tied."""
    return (
        f"{variant}: values tied ({len(set(values))} distinct in {len(values)} rounds): the timer is too coarse "
        "for this test, so its intervals cannot converge; make the perf test repeat its timed region "
        "(a loop, reported as `loops`) until each value takes >= 100 ms"
    )


def run_protocol(
    variants: Sequence[str],
    run_one: Callable[[str], Measurement],
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    on_round: Callable[[int, Mapping[str, list[float]]], None] | None = None,
    decided: Callable[[ProtocolResult], bool] | None = None,
    more_loops: Callable[[], str | None] | None = None,
    run_together: Callable[[list[str]], list[Measurement]] | None = None,
) -> ProtocolResult:
    """Time ``variants`` (the first is the baseline) round by round, in counterbalanced
    blocks (every order of the variants once per block, shuffled), so that drift and
    "first in the round" effects hit all of them alike and the per-round ratios pair.

    The protocol only stops early at the looks of its sequential design
    (``settings.design``): at a look, ``converged`` when every pair of active variants
    has an interval (at the look's level) within ``target_rel_width``, or ``decided``
    when the caller's ``decided`` check, given the result so far, says no further round
    could change the verdict. Tied values (a coarse timer) never stop it early: at a look
    that finds them the protocol asks ``more_loops`` (when given) to make each value take
    longer; when it can (it returns what it changed), the rounds so far become warm-ups and
    measuring starts again, otherwise the ties are warned about. Otherwise it runs until
    ``max_time_s`` has passed (after at least the design's ``min_rounds``) or ``max_rounds``.
    With ``run_together`` a round is one call: it runs the variants of the round at once
    (in lockstep, their passes alternating in the given order and its permutations) and
    returns their measurements in that order; ``run_one`` runs single variants otherwise.
    A variant whose run errs is dropped from later rounds and reported in ``failures``; a
    failing baseline stops everything at once. Under ``direction="lower"`` a run without a value counts its wall
    time, with a warning; under ``"higher"`` it counts as a failure.
    """
    names = list(variants)
    if not names:
        raise ValueError("variants: expected at least one variant (the baseline), got none")
    if len(set(names)) != len(names):
        raise ValueError(f"variants: expected distinct names, got {names!r}")
    baseline = names[0]
    rng = rng if rng is not None else random.Random(settings.seed)
    plan = settings.design(len(names))
    min_rounds = min(plan.min_rounds, settings.max_rounds)
    looks = set(plan.looks)
    start = clock()
    samples: list[Sample] = []
    failures: dict[str, str] = {}
    warnings: list[str] = []
    active = list(names)
    values: dict[str, list[float]] = {v: [] for v in names}
    block: list[list[str]] = []
    block_of: list[str] = []

    def next_order() -> list[str]:
        nonlocal block, block_of
        if not block or block_of != active:
            block_of = list(active)
            block = block_orders(active, rng)
        return block.pop()

    def warn(text: str) -> None:
        if text not in warnings:
            warnings.append(text)

    def run_round(round_no: int) -> bool:
        """Run each active variant once; False when the baseline failed."""
        if round_no < 0:
            order = list(active)
            rng.shuffle(order)
        else:
            order = next_order()
        together = run_together(order) if run_together is not None else None
        if together is not None and len(together) != len(order):
            raise ValueError(f"run_together: expected {len(order)} measurements, got {len(together)}")
        for pos, variant in enumerate(order):
            m = _checked(together[pos] if together is not None else run_one(variant), settings.direction)
            samples.append(Sample(variant, round_no, pos, m))
            if m.warning is not None:
                warn(f"{variant}: {m.warning}")
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
            looks=tuple(n for n in plan.looks if n <= rounds),
        )

    def others_failed() -> bool:
        return len(names) > 1 and active == [baseline]

    restarted = 0

    def restart(tied: list[str], rounds: int) -> bool:
        """Ask for longer values; on yes, the kept rounds so far become warm-ups."""
        nonlocal samples, restarted, block
        note = more_loops() if more_loops is not None else None
        if note is None:
            return False
        warn(f"{', '.join(tied)}: values tied after {rounds} rounds (timer too coarse): {note}; measured again")
        first = -settings.warmup - 1 - restarted
        samples = [s if s.round < 0 else Sample(s.variant, first - s.round, s.order, s.m) for s in samples]
        restarted += rounds
        for vals in values.values():
            vals.clear()
        block = []
        return True

    def look(rounds: int) -> StopReason | Literal["restart"] | None:
        tied = [v for v in active if is_tied(values[v])]
        if tied and restart(tied, rounds):
            return "restart"
        for v in tied:
            if not any(w.startswith(f"{v}: values tied") for w in warnings):
                warn(tie_warning(v, values[v]))
        if tied:
            return None
        partial = result(rounds, "converged")
        if _converged(partial, active, 1 - plan.interim_level):
            return "converged"
        if decided is not None and decided(result(rounds, "decided")):
            return "decided"
        return None

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
        if rounds in looks and (reason := look(rounds)) is not None:
            if reason == "restart":
                rounds = 0
                continue
            return result(rounds, reason)
        if rounds >= settings.max_rounds:
            return result(rounds, "max_rounds")
        if rounds >= min_rounds and clock() - start >= settings.max_time_s:
            return result(rounds, "max_time")


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
    return Measurement(None, m.wall_s, m.digest, error=error, warning=m.warning, passes=m.passes)


def _converged(partial: ProtocolResult, active: list[str], confidence: float) -> bool:
    """Every pair of active variants has an interval within the target width."""
    if len(active) < 2:
        return False
    seed = partial.settings.seed if partial.settings.seed is not None else 0
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            est = partial.speedup(a, b, confidence, n_resamples=STOP_CHECK_RESAMPLES, seed=seed)
            if est.rel_half_width > partial.settings.target_rel_width:
                return False
    return True
