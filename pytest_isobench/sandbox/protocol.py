"""The ``Sandbox`` protocol every backend implements, and the errors they raise.

A sandbox is one variant's checkout (baseline, human or agent) in an isolated place: a
container (``docker``) or a git worktree (``local``). It knows nothing about agents or
statistics: it checks out, applies patches, runs commands with a time limit, and closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

Variant = Literal["baseline", "human", "agent"]
VARIANTS: tuple[Variant, ...] = ("baseline", "human", "agent")

# Labels on everything we create, so `isobench clean` can find leftovers.
LABEL = "io.isobench"
LABEL_RUN = "io.isobench.run"
LABEL_TASK = "io.isobench.task"
LABEL_VARIANT = "io.isobench.variant"


class SandboxError(Exception):
    """Infrastructure failure (engine, image, checkout): never the agent's fault."""


class PatchError(Exception):
    """A patch that does not apply: the agent's fault. ``rejected`` holds the rejected hunks."""

    def __init__(self, message: str, rejected: str = "") -> None:
        super().__init__(message)
        self.rejected = rejected


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one command run inside a sandbox."""

    exit_code: int
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool = False
    oom_killed: bool = False  # killed by the OOM killer at the sandbox's memory limit

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def tail(self, lines: int = 20) -> str:
        """The last lines of output, for failure messages."""
        text = (self.stdout + ("\n" + self.stderr if self.stderr else "")).strip()
        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Limits:
    """Resources granted to a sandbox while timing (the network is off then: ``set_network``)."""

    cpuset: str | None = None
    memory: str | None = None
    gpus: str | None = None  # "all", a count ("2") or device ids ("0,1"); None: no GPU


@dataclass
class SandboxSpec:
    """Everything a backend needs to build one variant's sandbox."""

    task_id: str
    variant: Variant
    repo_dir: Path  # the cached clone on the host that holds every needed commit
    commit: str  # full sha, already resolved
    image: str | None = None
    setup_commands: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    run_id: str = "adhoc"
    env: dict[str, str] = field(default_factory=dict)
    setup_timeout_s: float = 1800.0
    # False: the setup commands run offline (network back on after them). The local backend
    # cannot switch the network and runs them as they are.
    network_during_setup: bool = True
    # 0 for a variant's first sandbox, n for its n-th fresh one (``perf.refresh_every``): a
    # backend puts a refreshed one somewhere new (the local backend: another directory).
    generation: int = 0


@dataclass(frozen=True)
class PatchResult:
    """How a patch went in: which method worked (``git apply``, ``--3way``, ``patch``)."""

    method: str
    files: tuple[str, ...] = ()


@runtime_checkable
class Sandbox(Protocol):
    """One variant's isolated checkout. Backends: ``docker``, ``local``."""

    spec: SandboxSpec

    @property
    def workdir(self) -> str:
        """The checkout's path as seen by commands run in the sandbox."""
        ...

    def start(self) -> None:
        """Create the sandbox and check out ``spec.commit``; run the setup commands."""
        ...

    def exec(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> ExecResult:
        """Run a shell command in the checkout; kill it (inside the sandbox) at the limit."""
        ...

    def apply_patch(self, patch: str) -> PatchResult:
        """Apply a unified diff: ``git apply``, then ``--3way``, then ``patch -p1 --fuzz``."""
        ...

    def write_file(self, relpath: str, content: str) -> None:
        """Put a file into the checkout (perf test scripts)."""
        ...

    def diff(self) -> str:
        """The checkout's changes against its commit, as a unified diff (patch capture)."""
        ...

    def set_network(self, enabled: bool) -> None:
        """Switch network access (off while timing)."""
        ...

    def close(self) -> None:
        """Remove everything this sandbox created. Safe to call twice and after a failed start."""
        ...


def identity(sandbox: Sandbox) -> str:
    """What tells this sandbox from another of the same variant: the built-in backends' ``identity``
    (a container's id, a worktree's directory), else its working directory."""
    return str(getattr(sandbox, "identity", None) or sandbox.workdir)
