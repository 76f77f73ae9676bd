"""What the timing protocol observes: its settings, one perf-test execution
(:class:`Measurement`), its place in the schedule (:class:`Sample`) and the result
(:class:`ProtocolResult`) the verdict reads.

Plain frozen data and the reads of it (paired values, speedups, ties); the protocol
that fills it lives in :mod:`~pytest_isobench.measure.protocol`. Nothing here may run
anything or import pytest or docker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pytest_isobench.measure.dependence import INTERIM_FACTOR, NO_DEPENDENCE, Dependence, dependence, widened
from pytest_isobench.measure.paired import log_ratios
from pytest_isobench.measure.sequential import INTERIM_SHARE, SequentialDesign, design
from pytest_isobench.measure.stats import PAIRED, Direction, Estimate, Estimator, estimate_speedup

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "INTERIM_STOPS",
    "MIN_DISTINCT_FRACTION",
    "STOP_CHECK_RESAMPLES",
    "Measurement",
    "ProtocolResult",
    "ProtocolSettings",
    "Sample",
    "StopReason",
    "is_tied",
    "measured_value",
    "tie_warning",
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
    round ran in lockstep (``value`` is then derived from the passes of every variant);
    ``env_pad`` the length of the environment padding its process ran with;
    ``stack_offset`` the offset of its passes' stack (``ISOBENCH_STACK_OFFSET``), when
    the harness asked for one; ``hash_seed`` the ``PYTHONHASHSEED`` the harness gave it.
    """

    value: float | None
    wall_s: float
    digest: str | None = None
    error: str | None = None
    warning: str | None = None
    loops: int | None = None
    passes: tuple[float, ...] | None = None
    env_pad: int | None = None
    stack_offset: int | None = None
    hash_seed: int | None = None


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
    never stop early). ``assume_independent``: take the rounds as independent, as the
    rule did before dependence was checked (no widening, early stops on dependent rounds).
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
    assume_independent: bool = False

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
        if not isinstance(self.assume_independent, bool):
            raise bad("assume_independent", "true or false")

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
    allocation: dict[str, Any] = field(default_factory=dict)
    """How the lockstep rounds' cycles were chosen, as of the last round
    (:mod:`~pytest_isobench.measure.allocation`; empty: not chosen)."""

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
        va = {s.round: measured_value(s.m, self.settings.direction) for s in self._kept(a)}
        vb = {s.round: measured_value(s.m, self.settings.direction) for s in self._kept(b)}
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
        """``other`` over ``base`` at ``confidence``, paired by round when the estimator is;
        a paired interval is widened by the rounds' serial dependence
        (:mod:`~pytest_isobench.measure.dependence`)."""
        est = estimator if estimator is not None else self.settings.estimator
        d = direction if direction is not None else self.settings.direction
        if est not in PAIRED:
            return estimate_speedup(self.values(base), self.values(other), d, confidence, est, n_resamples, seed)
        b, o = self.paired(base, other)
        plain = estimate_speedup(b, o, d, confidence, est, n_resamples, seed)
        return widened(plain, self.dependence(base, other), confidence)

    def dependence(self, a: str, b: str) -> Dependence:
        """The serial dependence of the per-round log ratios of ``a`` and ``b`` (none
        claimed under ``settings.assume_independent``); at an interim stop its factor is
        :data:`~pytest_isobench.measure.dependence.INTERIM_FACTOR` at least."""
        if self.settings.assume_independent:
            return NO_DEPENDENCE
        x, y = self.paired(a, b)
        others = []
        for i, u in enumerate(self.variants):
            for v in self.variants[i + 1 :]:
                if {u, v} != {a, b}:
                    others.append(log_ratios(*self.paired(u, v), "lower"))
        dep = dependence(log_ratios(x, y, "lower"), others)
        return dep.at_least(INTERIM_FACTOR) if self.interim else dep

    def tied(self) -> list[str]:
        """Variants whose kept values are mostly repeats (a timer too coarse for the test)."""
        return [v for v in self.variants if is_tied(self.values(v))]

    def _kept(self, variant: str) -> list[Sample]:
        return [s for s in self.samples if s.variant == variant and s.round >= 0 and s.m.error is None]

    def values(self, variant: str) -> list[float]:
        """The variant's values from kept (non-warm-up, successful) rounds, in run order."""
        return [measured_value(s.m, self.settings.direction) for s in self._kept(variant)]

    def walls(self, variant: str) -> list[float]:
        """Whole-execution times of the variant's kept rounds."""
        return [s.m.wall_s for s in self._kept(variant)]

    def digests(self, variant: str) -> set[str | None]:
        """Digests the variant reported in every successful run, warm-ups included:
        an output that changes between runs is as suspect as one that differs."""
        return {s.m.digest for s in self.samples if s.variant == variant and s.m.error is None}


def measured_value(m: Measurement, direction: Direction) -> float:
    """The figure a measurement contributes: its value, or a time's fallback, the wall time."""
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
