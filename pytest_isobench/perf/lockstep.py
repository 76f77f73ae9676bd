"""Lockstep rounds: the variants' passes alternate within milliseconds of each other.

Why: on shared and virtual machines a core's speed changes on sub-second scales (a
neighbour's burst, a speed state of the host), and a round that runs the variants one
after the other (a second or more apart) pairs values taken in different states: the
per-round ratio of identical code then spreads by 20-40%. In a lockstep round the
harness starts one perf-test process per variant, has each calibrate in turn, and then,
cycle after cycle, tells each to run one pass of its timed region, the variants' order
changing from cycle to cycle (every permutation in turn). The passes of a cycle share the
machine's state, and :func:`~pytest_isobench.measure.passes.combine_cycles` cancels it.

The perf-test side (``ISOBENCH_LOCKSTEP=1`` in its environment), one JSON line per answer
on standard output, other lines ignored::

    calibrate  ->  {"isobench": "calibrated", "loops": N}   (loops per pass, >= ISOBENCH_MIN_TIME_S)
    calibrate N -> the same, N loops per pass (after a warm-up call)
    pass       ->  {"isobench": "pass", "time_s": T}        (one pass, seconds per loop)
    end        ->  the usual report line ({"time_s": ..., "digest": ...}), then exit 0

The first round's calibrations are the test's own; later rounds ask each variant for the
most loops it has chosen so far, or more when its fastest pass so far was shorter than the
minimum time (as pyperf fixes the loops after calibrating once): a calibration disturbed
by other work picks too few loops, and its passes would then be short enough for every
burst to tell. A test that ignores ``ISOBENCH_LOCKSTEP`` runs to the end as usual when asked to
calibrate: that run counts as an ordinary one (it ran alone), and from then on the rounds
run each variant in a process of its own, one after the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..measure.allocation import Allocation, RoundCost, allocate
from ..measure.passes import combine_cycles
from ..measure.protocol import Measurement
from ..sandbox.conversation import Conversation, Conversing
from .perftest import (
    MIN_TIME_ENV,
    command_for,
    draw_hash_seed,
    draw_offset,
    draw_pad,
    json_line,
    padded,
    to_measurement,
)

if TYPE_CHECKING:
    from ..dataset.models import MetricSpec, PerfTest
    from ..sandbox.protocol import ExecResult, Sandbox

LOCKSTEP_ENV = "ISOBENCH_LOCKSTEP"
MAX_LOOPS = 1_000_000
DEFAULT_CYCLES = 20
"""Most passes per variant per round (the suite's ``perf.passes``)."""
CYCLES_S = 2.0
"""A round's cycles stop after this many seconds (once :data:`MIN_CYCLES` ran): with long
passes a round would otherwise take so long that the budget leaves too few rounds for
the paired interval (about 3 s a round, with the processes' start, gives ten in 30 s)."""
MIN_CYCLES = 5


def cycle_orders(names: list[str]) -> list[tuple[str, ...]]:
    """Every order of ``names``, starting with ``names``, grouped in runs of ``len(names)``
    cyclic shifts: any such run is a Latin square (every variant once in every place), so
    a round of a multiple of ``len(names)`` cycles favours no variant's place."""
    if not names:
        return []
    first, rest = names[0], names[1:]
    orders: list[tuple[str, ...]] = []
    for tail in itertools.permutations(rest):
        base = (first, *tail)
        orders.extend(base[k:] + base[:k] for k in range(len(base)))
    return orders


def usable(sandboxes: Mapping[str, Sandbox], test: PerfTest, metric: MetricSpec | None) -> bool:
    """Lockstep is tried for JSON-report perf tests in sandboxes that can converse."""
    return (test.metric or metric) is None and all(isinstance(s, Conversing) for s in sandboxes.values())


@dataclass
class Lockstep:
    """Runs one perf test's rounds in lockstep while the test answers the protocol.

    ``supported`` is ``None`` until a test first answers (or does not); ``round`` then
    falls back to ``run_one`` per variant for good when it did not.
    """

    sandboxes: Mapping[str, Sandbox]
    test: PerfTest
    python: str
    timeout_s: float
    metric: MetricSpec | None = None
    cycles: int = DEFAULT_CYCLES
    cycles_s: float = CYCLES_S
    process_time: bool = True
    """Whether a run that reports no figure may stand in with its wall time (``perf.process_time``)."""
    supported: bool | None = None
    notes: list[str] = field(default_factory=list)
    loops: dict[str, int] = field(default_factory=dict)
    """The most loops per pass each variant has chosen so far (asked for from then on)."""
    loops_for: float | None = None
    """The minimum time the remembered loops were chosen for (a new one forgets them)."""
    own_stack: bool = False
    """Time the passes on a stack at an offset drawn once per round (``perftest.STACK_MAX``)."""
    allocate: bool = True
    """Choose each round's cycles from the rounds so far (``measure/allocation.py``): fewer
    when what differs between processes outweighs the passes' noise; false: ``cycles``
    every round."""
    costs: list[RoundCost] = field(default_factory=list)
    """The rounds so far, as the allocation reads them."""
    allocation: Allocation | None = None
    """What the latest round's cycles were chosen from."""

    def round(
        self, order: list[str], run_one: Callable[[str], Measurement], min_time_s: float | None
    ) -> list[Measurement]:
        """Measurements of ``order``'s variants, in that order."""
        if self.supported is False:
            return [run_one(v) for v in order]
        if min_time_s != self.loops_for:  # ties asked for longer values: calibrate again
            self.loops.clear()
            self.loops_for = min_time_s
        env = {LOCKSTEP_ENV: "1"}
        if min_time_s is not None:
            env[MIN_TIME_ENV] = f"{min_time_s:g}"
        command = command_for(self.test, self.python)
        # Each process lives through the whole round: a run's limit for each variant.
        life = self.timeout_s * len(order)
        talks: dict[str, Conversation] = {}
        done: dict[str, Measurement] = {}
        loops: dict[str, int] = {}
        began: dict[str, float] = {}
        # One layout for the round, the same for its variants (the padding's size moves
        # where the heap's objects fall, the hash seed where a set's entries do, the offset
        # where the passes' stack lies): their ratio is rid of it, the next round draws another.
        pad = draw_pad()
        offset = draw_offset() if self.own_stack else None
        seed = draw_hash_seed()

        def start(v: str) -> None:
            box = self.sandboxes[v]
            assert isinstance(box, Conversing)
            began[v] = time.perf_counter()
            talks[v] = box.converse(command, life, padded(env, pad, offset, seed))

        try:
            if self.supported:
                # Known to wait for its calibration: start every process at once (their
                # start-ups and imports overlap), then calibrate one after another.
                for v in order:
                    start(v)
            for v in order:
                if v not in talks:
                    start(v)
                asked = f"calibrate {self.loops[v]}" if v in self.loops else "calibrate"
                answer = self._ask(talks[v], asked, "calibrated")
                if isinstance(answer, dict):
                    loops[v] = _positive_int(answer.get("loops"))
                    self.loops[v] = max(loops[v], self.loops.get(v, 1))
                    continue
                m = self._ended(v, talks.pop(v), answer)
                if self.supported is None and (m.error is None or isinstance(answer, str)):
                    # It ran to the end on its own, or sat silent (reading its input to the
                    # end, say): the protocol is not spoken here.
                    self.supported = False
                    why = "ran to its end" if m.error is None else f"gave {answer}"
                    self.notes.append(
                        f"the perf test does not answer {LOCKSTEP_ENV} (asked to calibrate, it {why}): variants "
                        "are timed one process after another (values of different moments pair less well on a "
                        "noisy machine)"
                    )
                    self._end_all(talks)
                    first = m if m.error is None else run_one(v)
                    return [first if x == v else run_one(x) for x in order]
                done[v] = m
            if talks:
                self.supported = True
            cycles_began = time.perf_counter()
            passes = self._cycles(order, talks, done, self._planned(len(talks)))
            cycles_s = time.perf_counter() - cycles_began
            self._remember(passes, min_time_s)
            # Every process is asked for its report before any is waited for: their ends
            # (a last result, the exit, the engine's word that it exited) overlap.
            ending = {v: time.perf_counter() - began[v] for v in talks if v not in done}
            for v in ending:
                talks[v].send("end")
            for v, wall in ending.items():
                done[v] = self._finished(v, talks[v], loops[v], wall)
            self._combine(done, passes)
            complete = {v: p for v, p in passes.items() if done[v].error is None}
            if len(complete) >= 2:
                round_s = time.perf_counter() - min(began.values())
                self.costs.append(RoundCost(complete, cycles_s, round_s))
            return [dataclasses.replace(done[v], env_pad=pad, stack_offset=offset, hash_seed=seed) for v in order]
        finally:
            for talk in talks.values():
                talk.kill()

    # -- steps ---------------------------------------------------------------------------

    def _planned(self, variants: int) -> int:
        """This round's cycles: ``cycles``, or what the allocation chooses from the rounds
        so far (at least one cycle per place in a cycle, so that every variant takes each)."""
        if not self.allocate:
            return self.cycles
        self.allocation = allocate(self.costs, variants, self.cycles, step=variants)
        return self.allocation.cycles

    def _cycles(
        self, order: list[str], talks: dict[str, Conversation], done: dict[str, Measurement], cycles: int
    ) -> dict[str, list[float]]:
        passes: dict[str, list[float]] = {v: [] for v in talks}
        orders = cycle_orders([v for v in order if v in talks])
        began = time.perf_counter()
        for i in range(cycles):
            if i >= MIN_CYCLES and time.perf_counter() - began >= self.cycles_s:
                break  # long passes: enough cycles for one round (more rounds pair better)
            for v in orders[i % len(orders)]:
                if v in done:
                    continue
                answer = self._ask(talks[v], "pass", "pass")
                t = answer.get("time_s") if isinstance(answer, dict) else None
                if isinstance(t, int | float) and not isinstance(t, bool) and t > 0:
                    passes[v].append(float(t))
                    continue
                done[v] = self._ended(v, talks[v], answer, f"its output ended before pass {i + 1} of {cycles}")
        return passes

    def _remember(self, passes: dict[str, list[float]], min_time_s: float | None) -> None:
        """Loops for the next rounds: enough for the fastest pass seen to last the minimum
        time (a calibration during a burst of other work chose too few)."""
        if not min_time_s:
            return
        for v, times in passes.items():
            if times and v in self.loops:
                self.loops[v] = max(self.loops[v], min(MAX_LOOPS, math.ceil(min_time_s / min(times))))

    def _combine(self, done: dict[str, Measurement], passes: dict[str, list[float]]) -> None:
        """The values of the variants that answered every pass, from their cycles together."""
        complete = {v: p for v, p in passes.items() if done[v].error is None}
        if not complete:
            return
        for v, value in combine_cycles(complete).items():
            done[v] = dataclasses.replace(done[v], value=value, passes=tuple(passes[v]))

    def _ask(self, talk: Conversation, command: str, expect: str) -> dict[str, Any] | str | None:
        """Send ``command`` and read up to the answer ``expect``: the answer, or what ended the
        wait (``None``: the output ended; a text: no answer in time)."""
        if not talk.send(command):
            return None
        deadline = time.perf_counter() + self.timeout_s
        while True:
            try:
                line = talk.receive(max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                return f"no answer to {command!r} within {self.timeout_s:g}s"
            if line is None:
                return None
            answer = json_line(line)
            if answer is not None and answer.get("isobench") == expect:
                return answer

    def _outcome(self, variant: str, talk: Conversation) -> tuple[ExecResult, Measurement]:
        """The run's result once it ended, and what the perf-test protocol reads from it."""
        result = talk.finish(self.timeout_s)
        memory = self.sandboxes[variant].spec.limits.memory
        return result, to_measurement(result, self.test.metric or self.metric, memory, self.process_time)

    def _ended(self, variant: str, talk: Conversation, answer: object, why: str = "") -> Measurement:
        """The measurement of a process that stopped answering: it hung (``answer`` says
        how long we waited: killed), crashed, ended early (``why``), or does not speak
        the protocol (an ordinary run to its end, returned as such)."""
        if isinstance(answer, str):
            talk.kill()
        result, m = self._outcome(variant, talk)
        if isinstance(answer, str):
            return Measurement(None, m.wall_s, None, error=f"lockstep: {answer}: killed; last output:\n{result.tail()}")
        if why and m.error is None:
            return Measurement(None, m.wall_s, None, error=f"lockstep: {why}; last output:\n{result.tail()}")
        return m

    def _finished(self, variant: str, talk: Conversation, loops: int, wall: float) -> Measurement:
        """A variant that answered every pass and was asked for its report (its value comes
        from the cycles)."""
        _, m = self._outcome(variant, talk)
        return m if m.error is not None else dataclasses.replace(m, wall_s=wall, loops=loops)

    @staticmethod
    def _end_all(talks: dict[str, Conversation]) -> None:
        for talk in talks.values():
            with contextlib.suppress(Exception):
                talk.kill()
        talks.clear()


def _positive_int(raw: object) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1 else 1
