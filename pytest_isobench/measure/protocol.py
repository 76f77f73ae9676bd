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

import dataclasses
import math
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pytest_isobench.measure.samples import (
    STOP_CHECK_RESAMPLES,
    Measurement,
    ProtocolResult,
    ProtocolSettings,
    Sample,
    StopReason,
    is_tied,
    measured_value,
    tie_warning,
)
from pytest_isobench.measure.sequential import SequentialDesign, block_orders

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pytest_isobench.measure.stats import Direction

__all__ = [
    "Measurement",
    "ProtocolResult",
    "ProtocolSettings",
    "Sample",
    "StopReason",
    "run_protocol",
]

Look = StopReason | Literal["restart"] | None
"""What a look decides: stop (and why), measure again from scratch, or run on."""


@dataclass(frozen=True)
class _Calls:
    """The caller's side of the protocol: how to run a variant (or a round) and what to
    ask at a look. See :func:`run_protocol` for each."""

    run_one: Callable[[str], Measurement]
    clock: Callable[[], float]
    on_round: Callable[[int, Mapping[str, list[float]]], None] | None
    decided: Callable[[ProtocolResult], bool] | None
    more_loops: Callable[[], str | None] | None
    run_together: Callable[[list[str]], list[Measurement]] | None


@dataclass
class _State:
    """What the protocol has seen so far, in one place.

    ``active``: the variants still running (a failing one is dropped); ``values``: each
    variant's kept values this measuring (a restart clears them); ``orders``: the round
    orders left in the current counterbalanced block, drawn for ``block_of``;
    ``demoted``: kept rounds that restarts have turned into warm-ups so far.
    """

    names: list[str]
    settings: ProtocolSettings
    plan: SequentialDesign
    rng: random.Random
    started: float
    active: list[str]
    values: dict[str, list[float]]
    samples: list[Sample] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    orders: list[list[str]] = field(default_factory=list)
    block_of: list[str] = field(default_factory=list)
    demoted: int = 0

    @property
    def baseline(self) -> str:
        return self.names[0]

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def round_order(self, round_no: int) -> list[str]:
        """A warm-up runs the active variants in a random order; a kept round takes the
        next order of the counterbalanced block (a new block when the variants changed)."""
        if round_no < 0:
            order = list(self.active)
            self.rng.shuffle(order)
            return order
        if not self.orders or self.block_of != self.active:
            self.block_of = list(self.active)
            self.orders = block_orders(self.active, self.rng)
        return self.orders.pop()

    def record(self, variant: str, round_no: int, pos: int, m: Measurement) -> None:
        """Keep one measurement; a failed one drops its variant from later rounds."""
        self.samples.append(Sample(variant, round_no, pos, m))
        if m.warning is not None:
            self.warn(f"{variant}: {m.warning}")
        if m.error is not None:
            self.failures[variant] = m.error
            self.active.remove(variant)
        elif round_no >= 0:
            self.values[variant].append(measured_value(m, self.settings.direction))

    def others_failed(self) -> bool:
        return len(self.names) > 1 and self.active == [self.baseline]

    def demote_to_warmups(self, rounds: int) -> None:
        """Turn the ``rounds`` kept rounds so far into warm-ups, numbered below the
        warm-ups (and earlier demoted rounds) already there, and measure from scratch."""
        first = -self.settings.warmup - 1 - self.demoted
        self.samples = [s if s.round < 0 else Sample(s.variant, first - s.round, s.order, s.m) for s in self.samples]
        self.demoted += rounds
        for vals in self.values.values():
            vals.clear()
        self.orders = []

    def result(self, rounds: int, reason: StopReason, now: float) -> ProtocolResult:
        return ProtocolResult(
            variants=tuple(self.names),
            settings=self.settings,
            samples=self.samples,
            rounds=rounds,
            stop_reason=reason,
            failures=self.failures,
            warnings=self.warnings,
            elapsed_s=now - self.started,
            looks=tuple(n for n in self.plan.looks if n <= rounds),
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
    measuring starts again, otherwise the ties are warned about. Nor do dependent rounds
    (a pair's per-round log ratios serially correlated, see
    :mod:`~pytest_isobench.measure.dependence`): the look is skipped, with a warning, and
    every interval is widened by the dependence anyway. Otherwise it runs until
    ``max_time_s`` has passed (after at least the design's ``min_rounds``) or ``max_rounds``.
    With ``run_together`` a round is one call: it runs the variants of the round at once
    (in lockstep, their passes alternating in the given order and its permutations) and
    returns their measurements in that order; ``run_one`` runs single variants otherwise.
    A variant whose run errs is dropped from later rounds and reported in ``failures``; a
    failing baseline stops everything at once. Under ``direction="lower"`` a run without a value counts its wall
    time, with a warning; under ``"higher"`` it counts as a failure.
    """
    names = _checked_names(variants)
    calls = _Calls(run_one, clock, on_round, decided, more_loops, run_together)
    state = _State(
        names=names,
        settings=settings,
        plan=settings.design(len(names)),
        rng=rng if rng is not None else random.Random(settings.seed),
        started=clock(),
        active=list(names),
        values={v: [] for v in names},
    )
    for w in range(settings.warmup):
        if not _run_round(state, calls, -(w + 1)):
            return state.result(0, "baseline_failed", clock())
        if state.others_failed():
            return state.result(0, "all_failed", clock())
    return _measure(state, calls)


def _checked_names(variants: Sequence[str]) -> list[str]:
    names = list(variants)
    if not names:
        raise ValueError("variants: expected at least one variant (the baseline), got none")
    if len(set(names)) != len(names):
        raise ValueError(f"variants: expected distinct names, got {names!r}")
    return names


def _measure(state: _State, calls: _Calls) -> ProtocolResult:
    """Kept rounds until a look stops, or time or rounds run out."""
    settings = state.settings
    min_rounds = min(state.plan.min_rounds, settings.max_rounds)
    rounds = 0
    while True:
        if not _run_round(state, calls, rounds):
            return state.result(rounds, "baseline_failed", calls.clock())
        rounds += 1
        if calls.on_round is not None:
            calls.on_round(rounds - 1, {v: list(vals) for v, vals in state.values.items()})
        if state.others_failed():
            return state.result(rounds, "all_failed", calls.clock())
        if rounds in state.plan.looks and (reason := _look(state, calls, rounds)) is not None:
            if reason == "restart":
                rounds = 0
                continue
            return state.result(rounds, reason, calls.clock())
        if rounds >= settings.max_rounds:
            return state.result(rounds, "max_rounds", calls.clock())
        if rounds >= min_rounds and calls.clock() - state.started >= settings.max_time_s:
            return state.result(rounds, "max_time", calls.clock())


def _run_round(state: _State, calls: _Calls, round_no: int) -> bool:
    """Run each active variant once (all at once with ``run_together``); False when the
    baseline failed."""
    order = state.round_order(round_no)
    together = calls.run_together(order) if calls.run_together is not None else None
    if together is not None and len(together) != len(order):
        raise ValueError(f"run_together: expected {len(order)} measurements, got {len(together)}")
    for pos, variant in enumerate(order):
        m = _checked(together[pos] if together is not None else calls.run_one(variant), state.settings.direction)
        state.record(variant, round_no, pos, m)
        if m.error is not None and variant == state.baseline:
            return False
    return True


def _look(state: _State, calls: _Calls, rounds: int) -> Look:
    """A scheduled look: ties first (measure again with longer values, or warn), then
    the stop checks at the design's interim level."""
    tied = [v for v in state.active if is_tied(state.values[v])]
    if tied and _restart(state, calls, tied, rounds):
        return "restart"
    for v in tied:
        if not any(w.startswith(f"{v}: values tied") for w in state.warnings):
            state.warn(tie_warning(v, state.values[v]))
    if tied:
        return None
    partial = state.result(rounds, "converged", calls.clock())
    if not state.failures and _dependent_pair(partial, state):
        return None  # a failed variant settles the verdict without any interval
    if _converged(partial, state.active, 1 - state.plan.interim_level):
        return "converged"
    if calls.decided is not None and calls.decided(state.result(rounds, "decided", calls.clock())):
        return "decided"
    return None


def _dependent_pair(partial: ProtocolResult, state: _State) -> bool:
    """Whether a pair of active variants has dependent rounds; then no early stop is
    taken (an early look would lock in a persistent offset), and the record says so."""
    for i, a in enumerate(state.active):
        for b in state.active[i + 1 :]:
            dep = partial.dependence(a, b)
            if dep.dependent:
                if not any(w.startswith("rounds dependent") for w in state.warnings):
                    state.warn(f"rounds dependent (lag-1 {dep.lag1:.2f} after {dep.rounds} rounds): no early stop")
                return True
    return False


def _restart(state: _State, calls: _Calls, tied: list[str], rounds: int) -> bool:
    """Ask for longer values; on yes, the kept rounds so far become warm-ups."""
    note = calls.more_loops() if calls.more_loops is not None else None
    if note is None:
        return False
    state.warn(f"{', '.join(tied)}: values tied after {rounds} rounds (timer too coarse): {note}; measured again")
    state.demote_to_warmups(rounds)
    return True


def _checked(m: Measurement, direction: Direction) -> Measurement:
    """Turn a run whose figure cannot enter the statistics into a failed run."""
    if m.error is not None:
        return m
    error: str | None = None
    if m.value is None and direction == "higher":
        error = "the perf test reported no metric value"
    else:
        v = measured_value(m, direction)
        if not (math.isfinite(v) and v > 0):
            error = f"the perf test reported {v!r}: expected a finite positive value"
    if error is None:
        return m
    return dataclasses.replace(m, value=None, error=error, loops=None)


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
