"""Signals that end a run: SIGTERM and SIGHUP act like Ctrl-C, and clean-up cannot be cut short.

CI cancels a job with SIGTERM and a closed terminal sends SIGHUP; Python's default for
both is to die on the spot, leaving containers and worktrees behind. ``install`` makes them
raise ``KeyboardInterrupt`` like SIGINT, so pytest tears the fixtures down and exits with
its own "interrupted" status. ``shielded`` defers SIGINT, SIGTERM and SIGHUP while a
sandbox is being removed (a second Ctrl-C during clean-up), and raises the interrupt once
the block is done. Knows nothing about sandboxes; only the main thread installs handlers.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

ENDING = (signal.SIGTERM, signal.SIGHUP)
_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_pending: list[int] = []
_depth = 0


class Interrupted(KeyboardInterrupt):
    """A run ended by a signal other than SIGINT (pytest treats it as Ctrl-C)."""


def _raise(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    sys.stderr.write(f"\nisobench: received {name}; stopping and cleaning up\n")
    raise Interrupted(name)


def _defer(signum: int, frame: FrameType | None) -> None:
    _pending.append(signum)
    name = signal.Signals(signum).name
    sys.stderr.write(f"\nisobench: {name} during clean-up: finishing the clean-up first\n")


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def install() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise ``Interrupted``; returns the previous handlers for ``restore``."""
    if not _on_main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in ENDING:
        previous[signum] = signal.signal(signum, _raise)
    return previous


def restore(previous: dict[int, Any]) -> None:
    if not _on_main_thread():
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Run a clean-up block to its end even if a signal arrives; re-raise after it."""
    global _depth
    if not _on_main_thread():
        yield
        return
    previous = {s: signal.signal(s, _defer) for s in _DEFERRED} if _depth == 0 else {}
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if _pending:
                first = _pending[0]
                _pending.clear()
                if first == signal.SIGINT:
                    raise KeyboardInterrupt
                raise Interrupted(signal.Signals(first).name)
