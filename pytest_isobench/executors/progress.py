"""The live progress line of a Ray run: per phase, how many tasks are submitted, running, done.

Plain counting, fed by the executor as tasks are submitted, start on a node (the remote
task tells the run's tracker) and come back. Rendering is a string; the executor decides
where it goes (pytest's terminal reporter). No Ray import here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

PHASES = ("agent", "measure")


@dataclass
class PhaseCounts:
    submitted: int = 0
    running: set[str] = field(default_factory=set)  # keys: a retried task is still one task
    done: int = 0


@dataclass
class Progress:
    """Counts per phase; ``line()`` is what the terminal shows."""

    total: int
    phases: dict[str, PhaseCounts] = field(default_factory=lambda: {p: PhaseCounts() for p in PHASES})
    retried: int = 0

    def submitted(self, phase: str) -> None:
        self.phases[phase].submitted += 1

    def started(self, phase: str, key: str) -> None:
        self.phases[phase].running.add(key)

    def finished(self, phase: str, key: str) -> None:
        counts = self.phases[phase]
        counts.done += 1
        counts.running.discard(key)

    def line(self) -> str:
        parts = []
        for name, c in self.phases.items():
            if c.submitted:
                parts.append(f"{name} {c.submitted} submitted, {len(c.running)} running, {c.done} done")
        extra = f" | {self.retried} retried" if self.retried else ""
        return f"ray [{self.total} tasks]: " + (" | ".join(parts) or "nothing submitted") + extra


@dataclass
class Throttled:
    """Calls ``emit`` with the line when it changed, at most every ``every_s`` seconds (or when forced)."""

    emit: Callable[[str], None]
    every_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _last_line: str = ""
    _last_t: float = float("-inf")

    def __call__(self, line: str, force: bool = False) -> None:
        now = self.clock()
        if line == self._last_line or (not force and now - self._last_t < self.every_s):
            return
        self._last_line, self._last_t = line, now
        self.emit(line)
