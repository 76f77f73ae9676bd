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
import time
from pathlib import Path

from . import patching
from .base import ExecResult, PatchResult, SandboxError, SandboxSpec

# Variables a perf test may legitimately need; everything else of ours stays out.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED", "TZ")


def minimal_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _PASSTHROUGH}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def run_process(argv: list[str], cwd: Path, timeout_s: float, env: dict[str, str]) -> ExecResult:
    """Run ``argv`` in its own process group; kill the group at the limit."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise
    wall = time.perf_counter() - start
    return ExecResult(
        exit_code=proc.returncode if not timed_out else 124,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        wall_s=wall,
        timed_out=timed_out,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class LocalSandbox:
    """A git worktree of ``spec.repo_dir`` at ``spec.commit`` under ``root``."""

    def __init__(self, spec: SandboxSpec, root: Path) -> None:
        self.spec = spec
        self.path = root / spec.run_id / spec.task_id / spec.variant
        self.start_s = 0.0
        self._started = False

    @property
    def workdir(self) -> str:
        return str(self.path)

    def _git(self, *args: str, cwd: Path | None = None, check: bool = True) -> ExecResult:
        result = run_process(["git", *args], cwd or self.path, 300.0, minimal_env({"GIT_TERMINAL_PROMPT": "0"}))
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
        merged = minimal_env({**self.spec.env, **(env or {})})
        return run_process(["sh", "-c", command], self.path, timeout_s, merged)

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
