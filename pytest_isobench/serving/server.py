"""A model server run in the background inside a variant's sandbox.

The serve command (``vllm serve MODEL --port P``, ``python -m sglang.launch_server ...``,
or the stand-in) is started under ``setsid`` with its output in a log file, so that it has
a process group of its own; readiness is polled from inside the sandbox with
``python3 -c "urllib.request.urlopen(...)"`` (images need no curl, and the sandbox's
network may be off: the loopback stays up). A server that exits, or is not healthy within
its start-up limit, is killed and reported with the last lines of its log. ``stop`` kills
the whole process group (TERM, then KILL after a grace period). It knows nothing of
benchmarks or statistics.
"""

from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING

from .settings import ServingSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from pytest_isobench.sandbox.protocol import Sandbox

LOG_PATH = "/tmp/isobench-server.log"
LOG_LINES = 40
_DEAD = 3  # the poll script's status when the server process has exited
_COMMAND_TIMEOUT_S = 30.0


class ServerError(Exception):
    """The server did not start, died, or did not become healthy; ``log`` is its log's tail."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.log = log


class ModelServer:
    """One background server in one sandbox (see the module doc). Use as a context manager."""

    def __init__(
        self,
        sandbox: Sandbox,
        command: str,
        *,
        settings: ServingSettings | None = None,
        log_path: str = LOG_PATH,
        env: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sandbox = sandbox
        self.command = command
        self.settings = settings if settings is not None else ServingSettings()
        self.log_path = log_path
        self.env = dict(env or {})
        self.pid: int | None = None
        self.ready_s: float | None = None
        self.polls = 0
        self._clock = clock
        self._sleep = sleep

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}{self.settings.health_path}"

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- lifecycle -------------------------------------------------------------------

    def launch(self) -> int:
        """Start the serve command in the background; its process-group id."""
        if self.pid is not None:
            raise ServerError(f"server already started (pid {self.pid})")
        log = shlex.quote(self.log_path)
        # Return only once the server leads its own session: the sandbox kills the launch
        # command's process group when it returns, which must not catch the server before
        # its setsid (seen under load: the server died before writing a line).
        script = (
            f"setsid sh -c {shlex.quote(self.command)} > {log} 2>&1 < /dev/null & p=$!; i=0; "
            'while [ "$(cut -d\' \' -f6 /proc/$p/stat 2>/dev/null)" != "$p" ] && [ $i -lt 500 ]; '
            "do i=$((i+1)); sleep 0.01; done; echo $p"
        )
        res = self.sandbox.exec(script, _COMMAND_TIMEOUT_S, env=self.env or None)
        text = res.stdout.strip().splitlines()
        if not res.ok or not text or not text[-1].isdigit():
            raise ServerError(f"could not launch the server ({self.command}): {res.tail()}", log=self.log_tail())
        self.pid = int(text[-1])
        return self.pid

    def poll(self) -> bool:
        """One readiness check: True when healthy; ``ServerError`` if the process is gone."""
        if self.pid is None:
            raise ServerError("server not launched")
        probe = (
            "import sys, urllib.request\n"
            "try:\n"
            f"    r = urllib.request.urlopen({self.url!r}, timeout=5)\n"
            "    sys.exit(0 if r.status == 200 else 1)\n"
            "except Exception as exc:\n"
            "    print(exc)\n"
            "    sys.exit(1)\n"
        )
        script = (
            f"kill -0 -{self.pid} 2>/dev/null || {{ echo 'server process group {self.pid} is gone'; exit {_DEAD}; }}; "
            f"python3 -c {shlex.quote(probe)}"
        )
        self.polls += 1
        res = self.sandbox.exec(script, _COMMAND_TIMEOUT_S)
        if res.exit_code == _DEAD and not res.timed_out:
            log = self.log_tail()
            raise ServerError(
                f"the server exited before it became healthy ({self.command}); last log lines:\n{log}", log=log
            )
        return res.ok

    def wait_ready(self) -> float:
        """Poll until healthy; kill the server and raise with its log at the start-up limit."""
        start = self._clock()
        while True:
            try:
                if self.poll():
                    self.ready_s = self._clock() - start
                    return self.ready_s
            except ServerError:
                self.stop()
                raise
            waited = self._clock() - start
            if waited >= self.settings.startup_timeout_s:
                log = self.log_tail()
                self.stop()
                raise ServerError(
                    f"the server did not answer {self.url} within its start-up limit of "
                    f"{self.settings.startup_timeout_s:g} s and was killed ({self.command}); last log lines:\n{log}",
                    log=log,
                )
            self._sleep(min(self.settings.poll_s, max(0.0, self.settings.startup_timeout_s - waited)))

    def start(self) -> float:
        """Launch and wait until healthy; seconds to readiness."""
        self.launch()
        return self.wait_ready()

    def alive(self) -> bool:
        if self.pid is None:
            return False
        return self.sandbox.exec(f"kill -0 -{self.pid} 2>/dev/null", _COMMAND_TIMEOUT_S).ok

    def read_log(self) -> str:
        """The whole log ('' when there is none)."""
        res = self.sandbox.exec(f"cat {shlex.quote(self.log_path)} 2>/dev/null || true", _COMMAND_TIMEOUT_S)
        return res.stdout

    def log_tail(self, lines: int = LOG_LINES) -> str:
        res = self.sandbox.exec(
            f"tail -n {int(lines)} {shlex.quote(self.log_path)} 2>/dev/null || true", _COMMAND_TIMEOUT_S
        )
        return res.stdout.rstrip()

    def stop(self) -> None:
        """Kill the server's process group: TERM, then KILL after ``stop_grace_s``. Idempotent."""
        pid = self.pid
        if pid is None:
            return
        rounds = max(1, int(self.settings.stop_grace_s / 0.2))
        script = (
            f"kill -TERM -{pid} 2>/dev/null || exit 0; i=0; "
            f"while kill -0 -{pid} 2>/dev/null; do i=$((i+1)); "
            f"if [ $i -ge {rounds} ]; then kill -KILL -{pid} 2>/dev/null; break; fi; sleep 0.2; done; exit 0"
        )
        res = self.sandbox.exec(script, self.settings.stop_grace_s + _COMMAND_TIMEOUT_S)
        if not res.ok:
            raise ServerError(f"could not stop the server (process group {pid}): {res.tail()}")
        self.pid = None
