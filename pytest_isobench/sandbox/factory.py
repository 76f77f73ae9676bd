"""The built-in backends behind one sandbox factory: ``local`` and ``docker``.

:class:`BuiltinSandboxes` is a picklable callable ``SandboxSpec -> Sandbox``: a task run
anywhere can build its sandboxes from it. The Docker engine client is made on first use
(and never pickled); :func:`resolve_backend` turns ``auto`` into the backend that works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .docker_sandbox import DockerSandbox, engine_client
from .local import LocalSandbox
from .protocol import Sandbox, SandboxError, SandboxSpec

BUILTIN_BACKENDS = ("local", "docker")


def resolve_backend(name: str) -> tuple[str, Any, str | None]:
    """``(backend, engine client or None, note)``: ``auto`` is docker when an engine answers, else local."""
    if name not in ("auto", "docker"):
        return name, None, None
    try:
        return "docker", engine_client(), None
    except SandboxError as exc:
        if name == "docker":
            raise
        return "local", None, f"no Docker engine answers ({str(exc)[:80]}); using the local backend (not isolated)"


@dataclass
class BuiltinSandboxes:
    """A sandbox factory for the built-in backends (pass it to a ``TaskRun``)."""

    backend: str
    cache_dir: Path
    client: Any = field(default=None, repr=False, compare=False)

    def __call__(self, spec: SandboxSpec) -> Sandbox:
        sandbox = self.make(spec)
        if sandbox is None:
            raise SandboxError(f"no sandbox backend named {self.backend!r}")
        return sandbox

    def make(self, spec: SandboxSpec) -> Sandbox | None:
        """A sandbox of a built-in backend, or None for another backend's name."""
        if self.backend == "local":
            return LocalSandbox(spec, self.cache_dir / "worktrees")
        if self.backend == "docker":
            if spec.image is None:
                raise SandboxError(
                    f"{spec.task_id}: the docker backend needs an image (suite 'image' or --isobench-image)"
                )
            if self.client is None:
                self.client = engine_client()
            return DockerSandbox(spec, self.client)
        return None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def __getstate__(self) -> dict[str, Any]:
        return {"backend": self.backend, "cache_dir": self.cache_dir, "client": None}
