"""Bounded capture of a command's output: the head and the tail kept, the middle counted.

A perf test that prints gigabytes must not fill the controller's memory. Both backends
feed a command's stdout and stderr through a ``BoundedBuffer`` each: the first
``head`` bytes and the last ``tail`` bytes are kept (the perf-test report is the last
JSON line, so the tail is what matters), and what was dropped in between is replaced by
one line saying how much. It knows nothing about processes or containers.
"""

from __future__ import annotations

from collections import deque

HEAD_BYTES = 64 * 1024
TAIL_BYTES = 8 * 1024 * 1024


class BoundedBuffer:
    """Keep at most ``head + tail`` bytes of a stream fed in chunks."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self.head_limit = head
        self.tail_limit = tail
        self._head = bytearray()
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total += len(chunk)
        room = self.head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
            if not chunk:
                return
        if len(chunk) >= self.tail_limit:
            self._tail.clear()
            self._tail.append(chunk[-self.tail_limit :])
            self._tail_size = self.tail_limit
            return
        self._tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(self._tail[0]) >= self.tail_limit:
            self._tail_size -= len(self._tail.popleft())

    @property
    def dropped(self) -> int:
        """Bytes received but not kept."""
        return self.total - len(self._head) - self._kept_tail()

    def _kept_tail(self) -> int:
        return min(self._tail_size, self.tail_limit)

    def value(self) -> bytes:
        tail = b"".join(self._tail)[-self.tail_limit :] if self._tail else b""
        if self.dropped <= 0:
            return bytes(self._head) + tail
        note = f"\n[isobench: {self.dropped} bytes of output dropped]\n".encode()
        return bytes(self._head) + note + tail

    def text(self) -> str:
        return self.value().decode("utf-8", "replace")
