"""The ``local`` backend: a git worktree per variant, commands as host subprocesses.

For trusted code and quick iteration only: it is NOT isolated (no network switch, no
resource limits, the agent could read the repository's object store). Commands get a
minimal environment (no secrets of ours) and are killed with their whole process group
at the time limit. Worktrees are removed at ``close()``, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from . import patching
from .bounded import BoundedBuffer
from .conversation import LineConversation
from .cpus import available_cpus, format_cpuset, parse_cpuset
from .protocol import ExecResult, PatchResult, SandboxError, SandboxSpec
from .signals import shielded

# Variables a perf test may legitimately need (the GPU ones for CUDA perf tests); everything
# else of ours stays out.
_PASSTHROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "PYTHONHASHSEED",
    "TZ",
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_HOME",
)


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _PASSTHROUGH}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def _cuda_devices(gpus: str | None) -> dict[str, str]:
    """Explicit device ids (``device=1``, ``0,1``) become ``CUDA_VISIBLE_DEVICES``; all or a count: unchanged."""
    if gpus is None or gpus == "all" or gpus.isdigit():
        return {}
    return {"CUDA_VISIBLE_DEVICES": gpus.removeprefix("device=")}


def pinned(cpuset: str | None) -> list[str]:
    """``taskset -c CORES`` for the suite's cpuset (the cores of it this machine has), as
    Docker's cpuset pins a container; nothing without a cpuset, taskset or such cores."""
    taskset = shutil.which("taskset")
    if cpuset is None or taskset is None:
        return []
    here = set(available_cpus())
    cores = [cpu for cpu in parse_cpuset(cpuset) if cpu in here]
    return [taskset, "-c", format_cpuset(cores)] if cores else []


def run_process(argv: list[str], cwd: Path, timeout_s: float, env: dict[str, str], *, bound: bool = True) -> ExecResult:
    """Run ``argv`` in its own process group; kill the group at the limit and when it ends.

    Children that outlive the command (a forgotten background process) die with its
    group, so they can neither hold the output pipes open nor run on into the next
    round. With ``bound`` each stream keeps only its head and tail (see ``bounded``).
    """
    start = time.perf_counter()
    proc = _group(argv, cwd, env, stdin=subprocess.DEVNULL)
    buffers = (BoundedBuffer(), BoundedBuffer()) if bound else (_unbounded(), _unbounded())
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=_drain, args=(stream, buf), daemon=True)
        for stream, buf in zip((proc.stdout, proc.stderr), buffers, strict=True)
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        with shielded():  # an interrupt here must not leave the group running
            _kill_group(proc)
            proc.wait()
            for reader in readers:
                reader.join(timeout=_READER_GRACE_S)
    wall = time.perf_counter() - start
    return ExecResult(
        exit_code=proc.returncode if not timed_out else 124,
        stdout=buffers[0].text(),
        stderr=buffers[1].text(),
        wall_s=wall,
        timed_out=timed_out,
    )


def _group(argv: list[str], cwd: Path, env: dict[str, str], *, stdin: int) -> subprocess.Popen[bytes]:
    """``argv`` in a process group of its own (killed as one), stdout and stderr piped."""
    return subprocess.Popen(
        argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


# A process that left our group but kept a pipe open: stop waiting for its output.
_READER_GRACE_S = 5.0


def _unbounded() -> BoundedBuffer:
    return BoundedBuffer(head=0, tail=1 << 62)


def _reads(stream: IO[bytes]) -> Iterator[bytes]:
    """A pipe's output as it comes, up to its end; the pipe is closed after."""
    try:
        read = getattr(stream, "read1", stream.read)  # a pipe's BufferedReader has read1
        yield from iter(lambda: read(1 << 16), b"")
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _drain(stream: IO[bytes], buf: BoundedBuffer) -> None:
    with contextlib.suppress(OSError, ValueError):
        for chunk in _reads(stream):
            buf.feed(chunk)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class LocalSandbox:
    """A git worktree of ``spec.repo_dir`` at ``spec.commit`` under ``root``."""

    def __init__(self, spec: SandboxSpec, root: Path) -> None:
        self.spec = spec
        leaf = spec.variant if not spec.generation else f"{spec.variant}.{spec.generation}"
        self.path = root / spec.run_id / spec.task_id / leaf
        self.start_s = 0.0
        self._started = False
        self._pin = pinned(spec.limits.cpuset)  # once: every exec runs on these cores

    @property
    def workdir(self) -> str:
        return str(self.path)

    @property
    def identity(self) -> str:
        return str(self.path)

    def _git(self, *args: str, cwd: Path | None = None, check: bool = True) -> ExecResult:
        env = minimal_env({"GIT_TERMINAL_PROMPT": "0"})
        result = run_process(["git", *args], cwd or self.path, 300.0, env, bound=False)
        if check and not result.ok:
            raise SandboxError(f"git {' '.join(args)} failed: {result.tail(10)}")
        return result

    def start(self) -> None:
        begin = time.perf_counter()
        try:
            if self.path.exists():
                self._remove_worktree()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._git(
                "worktree", "add", "--detach", "--force", str(self.path), self.spec.commit, cwd=self.spec.repo_dir
            )
            self._started = True
            for command in self.spec.setup_commands:
                result = self.exec(command, self.spec.setup_timeout_s)
                if not result.ok:
                    raise SandboxError(f"setup command failed ({command!r}): {result.tail(15)}")
        except BaseException:
            self.close()
            raise
        self.start_s = time.perf_counter() - begin

    def exec(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> ExecResult:
        merged = minimal_env({**_cuda_devices(self.spec.limits.gpus), **self.spec.env, **(env or {})})
        return run_process([*self._pin, "sh", "-c", command], self.path, timeout_s, merged)

    def converse(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> LocalConversation:
        merged = minimal_env({**_cuda_devices(self.spec.limits.gpus), **self.spec.env, **(env or {})})
        return LocalConversation([*self._pin, "sh", "-c", command], self.path, timeout_s, merged)

    def apply_patch(self, patch: str) -> PatchResult:
        return patching.apply(self, self.spec.commit, patch)

    def write_file(self, relpath: str, content: str) -> None:
        target = (self.path / relpath).resolve()
        if not target.is_relative_to(self.path.resolve()):
            raise SandboxError(f"{relpath!r} is outside the checkout")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")

    def diff(self) -> str:
        return patching.capture(self, self.spec.commit)

    def set_network(self, enabled: bool) -> None:
        """No-op: the local backend cannot switch the network (documented, not isolated)."""

    def close(self) -> None:
        if self.path.exists() or self._started:
            self._remove_worktree()
        self._started = False

    def _remove_worktree(self) -> None:
        self._git("worktree", "remove", "--force", str(self.path), cwd=self.spec.repo_dir, check=False)
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
        self._git("worktree", "prune", cwd=self.spec.repo_dir, check=False)
        # <root>/<run>/<task>/ stay only while another variant still uses them.
        for parent in (self.path.parent, self.path.parent.parent):
            with contextlib.suppress(OSError):
                parent.rmdir()


class LocalConversation(LineConversation):
    """A host process in its own group, standard input a pipe; the group dies at the limit."""

    def __init__(self, argv: list[str], cwd: Path, timeout_s: float, env: dict[str, str]) -> None:
        super().__init__(timeout_s)
        self.proc = _group(argv, cwd, env, stdin=subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._err = threading.Thread(target=_drain, args=(self.proc.stderr, self.stderr), daemon=True)
        self._err.start()
        self._start_reader((1, chunk) for chunk in _reads(self.proc.stdout))
        self._timer = threading.Timer(timeout_s, self.kill)
        self._timer.daemon = True
        self._timer.start()

    def _write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def _close_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def _wait(self, timeout_s: float) -> tuple[int, bool]:
        timed_out = False
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            with shielded():
                self.kill()
                self.proc.wait()
                self._err.join(timeout=_READER_GRACE_S)
        timed_out = timed_out or self.remaining() <= 0
        return (124 if timed_out else self.proc.returncode), timed_out

    def kill(self) -> None:
        self._timer.cancel()
        _kill_group(self.proc)
