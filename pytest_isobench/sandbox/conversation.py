"""A command the harness talks to while it runs: lines to its standard input, lines back.

The lockstep timing protocol (``perf/lockstep.py``) keeps one perf-test process per variant
alive for a round and tells each, in turn, to run one pass of its timed region, so that the
passes of the variants alternate within milliseconds of each other. A backend that can do
this gives a :class:`Conversation` from ``Sandbox.converse``; the shared parts (reading
lines with a deadline, keeping bounded output, the result) live in :class:`LineConversation`
and each backend only says how bytes go in and come out.

It knows nothing about perf tests or statistics.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .bounded import BoundedBuffer
from .protocol import ExecResult

__all__ = ["END", "Conversation", "Conversing", "LineConversation"]

_END_GRACE_S = 5.0

END = None
"""What :meth:`Conversation.receive` returns once the command's output has ended."""


@runtime_checkable
class Conversation(Protocol):
    """A running command: ``send`` a line, ``receive`` the next line it printed."""

    def send(self, line: str) -> bool:
        """Write ``line`` (a newline is added) to its standard input; False once it has gone."""
        ...

    def receive(self, timeout_s: float) -> str | None:
        """The next line of its standard output (no newline); ``None`` once the output has
        ended; raises ``TimeoutError`` when no line came within ``timeout_s``."""
        ...

    def finish(self, timeout_s: float) -> ExecResult:
        """Close its standard input, wait up to ``timeout_s`` for it to exit (kill it then),
        and give the whole run's result (bounded output, as ``exec`` gives)."""
        ...

    def kill(self) -> None:
        """End it now, whatever it is doing. Safe to call twice."""
        ...


@runtime_checkable
class Conversing(Protocol):
    """A sandbox that can run a command as a :class:`Conversation` (both built-in backends)."""

    def converse(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> Conversation:
        """Start ``command`` in the checkout as ``exec`` would (same environment, cores and
        limit: killed after ``timeout_s`` whatever happens), with its standard input open."""
        ...


class LineConversation:
    """Lines of output as they come, with a deadline; subclasses feed and write bytes.

    A subclass starts its command, calls :meth:`_start_reader` with a function that yields
    ``(stream, chunk)`` pairs (stream 1: stdout, 2: stderr) until the command's output ends,
    and implements :meth:`_write`, :meth:`_close_input`, :meth:`_wait` and :meth:`kill`.
    """

    def __init__(self, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        self.timeout_s = timeout_s
        self.started = time.perf_counter()
        self.stdout, self.stderr = BoundedBuffer(), BoundedBuffer()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._partial = b""
        self._reader: threading.Thread | None = None
        self._gone = False
        self._result: ExecResult | None = None

    # -- for subclasses ---------------------------------------------------------------

    def _start_reader(self, chunks: Iterable[tuple[int, bytes]]) -> None:
        def read() -> None:
            try:
                for stream, chunk in chunks:
                    if stream == 1:
                        self.stdout.feed(chunk)
                        self._split(chunk)
                    else:
                        self.stderr.feed(chunk)
            except Exception:  # any broken stream (a socket, the engine's frames) ends the output
                pass  # what came is kept, the end is signalled below
            finally:
                if self._partial:
                    self._lines.put(self._partial.decode("utf-8", errors="replace"))
                    self._partial = b""
                self._lines.put(END)

        self._reader = threading.Thread(target=read, name="isobench-conversation", daemon=True)
        self._reader.start()

    def _split(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._lines.put(line.decode("utf-8", errors="replace").rstrip("\r"))

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _close_input(self) -> None:
        raise NotImplementedError

    def _wait(self, timeout_s: float) -> tuple[int, bool]:
        """Wait for the command to exit: ``(exit code, timed out)``; kill it at the limit."""
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    # -- the conversation ----------------------------------------------------------------

    def remaining(self) -> float:
        """Seconds left of the command's time limit."""
        return self.timeout_s - (time.perf_counter() - self.started)

    def send(self, line: str) -> bool:
        if self._gone:
            return False
        try:
            self._write(line.encode("utf-8") + b"\n")
        except (OSError, ValueError):
            self._gone = True
        return not self._gone

    def receive(self, timeout_s: float) -> str | None:
        try:
            # Past the limit the command is killed and its output ends: wait for that end.
            line = self._lines.get(timeout=max(0.0, min(timeout_s, self.remaining() + _END_GRACE_S)))
        except queue.Empty:
            raise TimeoutError(f"no line within {timeout_s:.1f}s") from None
        if line is END:
            self._lines.put(END)  # the end stays the end for later calls
            self._gone = True
        return line

    def finish(self, timeout_s: float) -> ExecResult:
        if self._result is not None:
            return self._result
        with contextlib.suppress(OSError, ValueError):
            self._close_input()
        code, timed_out = self._wait(max(0.0, min(timeout_s, self.remaining())))
        if self._reader is not None:
            self._reader.join(timeout=5.0)
        wall = time.perf_counter() - self.started
        self._result = ExecResult(code, self.stdout.text(), self.stderr.text(), wall, timed_out)
        return self._result
