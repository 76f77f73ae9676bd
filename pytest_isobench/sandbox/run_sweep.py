"""What one run leaves behind when it could not close its sandboxes, removed at its end.

A sandbox is closed by its fixture; this is the net under that: a Docker engine that
restarted mid-task (its containers come back stopped, the close failed), an xdist worker
that died, a clean-up cut short by signals. At the end of a run the controller removes the
containers labelled with the run's id (waiting a bounded time for the engine to answer
again) and the run's worktree folder. It must not touch anything of another run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .protocol import LABEL_RUN, SandboxError

if TYPE_CHECKING:
    import docker

# How long a task start (or the end-of-run sweep) waits for an engine that stopped
# answering, e.g. while it restarts; overridable for tests and slow hosts.
ENGINE_WAIT_ENV = "ISOBENCH_ENGINE_WAIT_S"
ENGINE_WAIT_S = 60.0


def engine_wait_s() -> float:
    try:
        return max(0.0, float(os.environ.get(ENGINE_WAIT_ENV, ENGINE_WAIT_S)))
    except ValueError:
        return ENGINE_WAIT_S


def wait_for_engine(client: docker.DockerClient, limit_s: float | None = None) -> None:
    """Return once the engine answers a ping; ``SandboxError`` after ``limit_s`` of silence."""
    import docker

    limit = engine_wait_s() if limit_s is None else limit_s
    deadline = time.monotonic() + limit
    delay = 0.2
    while True:
        try:
            client.ping()
            return
        except (docker.errors.DockerException, OSError) as exc:
            if time.monotonic() >= deadline:
                raise SandboxError(f"Docker engine not answering after waiting {limit:g}s: {exc}") from exc
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


@dataclass
class Swept:
    """What the end-of-run sweep removed, and what it could not."""

    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def remove_run_containers(client: docker.DockerClient, run_id: str) -> list[str]:
    """Remove every container and volume labelled with ``run_id``; their names."""
    import docker

    removed: list[str] = []
    try:
        for c in client.api.containers(all=True, filters={"label": f"{LABEL_RUN}={run_id}"}):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(c["Id"], force=True, v=True)
                names = c.get("Names") or [c["Id"][:12]]
                removed.append(str(names[0]).lstrip("/"))
        for v in client.api.volumes(filters={"label": f"{LABEL_RUN}={run_id}"}).get("Volumes") or []:
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_volume(v["Name"], force=True)
                removed.append(str(v["Name"]))
    except (docker.errors.DockerException, OSError) as exc:
        raise SandboxError(f"could not remove the containers of run {run_id}: {exc}") from exc
    return removed


def sweep_docker(run_id: str, wait_s: float | None = None) -> Swept:
    """The run's containers, removed; an engine that never answers is a problem, not a crash."""
    import docker

    swept = Swept()
    try:
        client = docker.from_env(timeout=10)
        wait_for_engine(client, wait_s)
    except (SandboxError, docker.errors.DockerException) as exc:
        swept.problems.append(f"containers of run {run_id} may be left ({exc}): run `isobench clean`")
        return swept
    try:
        swept.removed += remove_run_containers(client, run_id)
    except SandboxError as exc:
        swept.problems.append(f"{exc}: run `isobench clean`")
    finally:
        client.close()
    return swept


def sweep_worktrees(cache_dir: Path, run_id: str) -> Swept:
    """The run's worktree folder, removed, and git told of it in every cached repository."""
    swept = Swept()
    folder = cache_dir / "worktrees" / run_id
    if not folder.exists():
        return swept
    swept.removed += [str(p) for p in sorted(folder.glob("*/*")) if p.is_dir()]
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():
        swept.problems.append(f"could not remove {folder}")
    repos = [cache_dir / "demo-repo", *sorted((cache_dir / "repos").glob("*.git"))]
    for repo in repos:
        if repo.exists():
            subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, check=False)
    return swept
