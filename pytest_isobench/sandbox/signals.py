"""Signals that end a run: SIGTERM and SIGHUP act like Ctrl-C, and clean-up cannot be cut short.

CI cancels a job with SIGTERM and a closed terminal sends SIGHUP; Python's default for
both is to die on the spot, leaving containers and worktrees behind. After ``install``
the first SIGINT, SIGTERM or SIGHUP raises ``KeyboardInterrupt``, so pytest tears the
fixtures down and exits with its own "interrupted" status; later ones (a second Ctrl-C
during clean-up) are noted, not raised, so the clean-up runs to its end. ``shielded``
defers a first signal that arrives while a sandbox is being removed until the removal is
done. Knows nothing about sandboxes; only the main thread installs handlers.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_pending: list[int] = []
_depth = 0
_ending = False


class Interrupted(KeyboardInterrupt):
    """A run ended by a signal other than SIGINT (pytest treats it as Ctrl-C)."""


def _say(text: str) -> None:
    """To the real stderr: pytest may be capturing ``sys.stderr`` when a signal lands."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(text)
        stream.flush()


def _interrupt(signum: int) -> KeyboardInterrupt:
    global _ending
    _ending = True
    name = signal.Signals(signum).name
    if signum == signal.SIGINT:
        return KeyboardInterrupt()
    _say(f"\nisobench: received {name}; stopping and cleaning up\n")
    return Interrupted(name)


def _handler(signum: int, frame: FrameType | None) -> None:
    if _ending or _depth > 0:
        # Already stopping, or in the middle of removing a sandbox: finish that first.
        _pending.append(signum)
        name = signal.Signals(signum).name
        _say(f"\nisobench: {name} during clean-up: cleaning up first (SIGKILL stops at once)\n")
        return
    raise _interrupt(signum)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def install() -> dict[int, Any]:
    """SIGINT, SIGTERM and SIGHUP end the run once, cleanly; returns the handlers replaced."""
    global _ending
    if not _on_main_thread():
        return {}
    _ending = False
    _pending.clear()
    previous: dict[int, Any] = {}
    for signum in HANDLED:
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current is not signal.default_int_handler:
            continue  # someone else (a debugger, a harness) handles Ctrl-C: leave it
        previous[signum] = signal.signal(signum, _handler)
    return previous


def restore(previous: dict[int, Any]) -> None:
    if not _on_main_thread():
        return
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Run a clean-up block to its end even if a signal arrives; interrupt after it."""
    global _depth
    if not _on_main_thread():  # handlers run on the main thread only
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending and not _ending:
            first = _pending[0]
            _pending.clear()
            raise _interrupt(first)
