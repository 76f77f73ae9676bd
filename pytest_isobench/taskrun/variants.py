"""The variants' sandboxes while a task is measured, and their refresh every k rounds.

:class:`Variants` opens each variant's sandbox ready to time: checked out, the human diff
or the agent's captured patch applied once (rebuilt when the suite says so). A fresh
process each round does not re-draw what stays with a sandbox (its page cache and build
state, its files' placement on disk, its directory), and a slowdown that persists with
one variant over rounds makes its rounds dependent. With ``perf.refresh_every: k``,
:class:`Refresh` gives each variant a new sandbox of the same content before every k-th
of its runs (warm-ups included): the same image and commit, the same patch applied again
(the agent does not run again), the perf test put in again. The identity of every
sandbox a variant ran in (a container's id, a worktree's directory) is kept for the record.

Every sandbox opened here is entered on the caller's exit stack, so it is closed however
the measurement ends; a replaced one is closed at once (closing twice is safe).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from ..sandbox.protocol import Sandbox, Variant, identity
from ..sandbox.signals import shielded
from .patch import apply_human, apply_once
from .sandboxes import SandboxFactory, opened, spec_for

if TYPE_CHECKING:
    from ..agents.tampering import CheckoutGuard
    from .model import Checkout, PatchOutcome, TaskInput


@dataclass
class Variants:
    """Each variant's current sandbox (``boxes``, one dict for the whole measurement: what
    reads a variant's sandbox from it sees a refresh) and how to open another like it."""

    run: TaskInput
    checkout: Checkout
    factory: SandboxFactory
    patch: PatchOutcome | None
    stack: contextlib.ExitStack
    boxes: dict[str, Sandbox] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)

    def open(self, name: Variant) -> Sandbox:
        spec = dataclasses.replace(spec_for(self.run, name, self.checkout), generation=self.generations.get(name, 0))
        box = self.stack.enter_context(opened(self.factory, spec))
        task, suite = self.run.task, self.run.suite
        if name == "human" and task.human_patch:
            apply_human(box, task.human_patch, task.rebuild_commands, suite.timeouts.setup_s)
        if name == "agent" and self.patch is not None:
            apply_once(box, self.patch, suite, task.rebuild_commands)
        self.boxes[name] = box
        return box

    def reopen(self, name: str) -> Sandbox:
        """The variant's sandbox closed, and a fresh one of the same content opened in its place."""
        old = self.boxes.pop(name)
        with shielded():
            old.close()
        self.generations[name] = self.generations.get(name, 0) + 1
        return self.open(cast("Variant", name))


@dataclass
class Refresh:
    """Replaces a variant's sandbox before every ``every``-th of its runs (0: never) in one perf test.

    ``prepare`` readies a fresh sandbox for the test (the test's files, the network off);
    the checkout guard checks the old sandbox before it goes and the new one from then on.
    """

    every: int
    variants: Variants
    guard: CheckoutGuard
    prepare: Callable[[Sandbox], None]
    runs: dict[str, int] = field(default_factory=dict)
    seen: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seen = {name: [identity(box)] for name, box in self.variants.boxes.items()}

    def before_run(self, name: str) -> None:
        done = self.runs.get(name, 0)
        self.runs[name] = done + 1
        if self.every <= 0 or done == 0 or done % self.every:
            return
        self.guard.retire(name)
        box = self.variants.reopen(name)
        self.prepare(box)
        self.guard.adopt(name, box)
        self.seen[name].append(identity(box))


__all__ = ["Refresh", "Variants"]
