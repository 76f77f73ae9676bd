"""A command in a container that the harness talks to (see ``conversation.py``).

The command runs under the same in-container ``timeout`` and process-group wrapper as
``DockerSandbox.exec``, with its standard input attached: the engine's exec attach
socket carries our lines in and the command's output back in the engine's frames
(stream id, length, bytes). The wrapper writes its own pid to a file of the container so
that :meth:`DockerConversation.kill` can take the whole group down from a second exec,
which also works against a remote engine.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from pytest_isobench.sandbox.conversation import LineConversation

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

# $0: the limit in seconds, $1: the command, $2: the pid file. Standard input is handed to
# the command explicitly (a background job's would be /dev/null).
_WRAPPER = (
    'echo $$ > "$2"; exec 3<&0; '
    'timeout --kill-after={kill_after} -s TERM "$0" sh -c "$1" <&3 & p=$!; '
    "trap 'kill -9 -$p 2>/dev/null; exit 143' TERM INT HUP; "
    'wait $p; rc=$?; kill -9 -$p 2>/dev/null; rm -f "$2"; exit $rc'
)


class DockerConversation(LineConversation):
    """``command`` in ``container`` under the timeout wrapper, its stdin on the attach socket."""

    def __init__(
        self,
        client: docker.DockerClient,
        container: Container,
        command: str,
        timeout_s: float,
        *,
        workdir: str,
        env: dict[str, str] | None,
        kill_after_s: float,
        engine_errors: Callable[[str], AbstractContextManager[None]],
    ) -> None:
        super().__init__(timeout_s)
        self._engine_errors = engine_errors
        self.api = client.api
        self.container = container
        self.pidfile = f"/tmp/.isobench-conversation-{uuid.uuid4().hex[:12]}"
        wrapper = _WRAPPER.format(kill_after=kill_after_s)
        argv = ["sh", "-c", wrapper, f"{timeout_s:.3f}", command, self.pidfile]
        self.exec_id: str = self.api.exec_create(container.id, argv, stdin=True, workdir=workdir, environment=env)["Id"]
        attached: Any = self.api.exec_start(self.exec_id, socket=True)
        self._sock: socket.socket = attached._sock
        self._attached = attached
        self._killed = False
        self._start_reader(self._frames())

    def _frames(self) -> Iterator[tuple[int, bytes]]:
        from docker.utils.socket import next_frame_header, read_exactly

        while True:
            stream, size = next_frame_header(self._sock)
            if size < 0 or stream < 0:
                return
            if size:
                yield stream, read_exactly(self._sock, size)

    def _write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def _close_input(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    def _wait(self, timeout_s: float) -> tuple[int, bool]:
        deadline = time.perf_counter() + timeout_s
        if self._reader is not None:
            self._reader.join(timeout=timeout_s)
        code = self._exit_code()
        while code is None and time.perf_counter() < deadline:
            time.sleep(0.01)
            code = self._exit_code()
        timed_out = code is None or (code in (124, 137) and self.remaining() <= 0)
        if code is None:
            self.kill()
        self._close_socket()
        return (124 if timed_out else int(code) if code is not None else -1), timed_out

    def _exit_code(self) -> int | None:
        # The engine gone in flight is an infrastructure error (SandboxError), as for exec.
        with self._engine_errors(f"exec in {self.container.name} failed"):
            inspected = self.api.exec_inspect(self.exec_id)
        if inspected.get("Running"):
            return None
        code = inspected.get("ExitCode")
        return int(code) if code is not None else None

    def _close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._attached.close()
        with contextlib.suppress(OSError):
            self._sock.close()

    def kill(self) -> None:
        if self._killed or self._result is not None:
            return  # killed, or finished (a second exec to kill it would cost a round ~0.1 s)
        self._killed = True
        with contextlib.suppress(Exception):  # the container may be gone already
            self.container.exec_run(["sh", "-c", f'kill -TERM "$(cat {self.pidfile})" 2>/dev/null; true'])
        self._close_socket()
