"""What runs inside a sandbox, as a test sees it from outside."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from gitutil import one_commit_repo

from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import LABEL_RUN, Sandbox, SandboxSpec

VARIANTS = ("baseline", "human", "agent")
DEMO_IMAGE = "isobench-demo:bookworm"


@contextlib.contextmanager
def variant_boxes(
    backend: str, spec_of: Callable[[str], SandboxSpec], worktrees: Path, variants: tuple[str, ...] = VARIANTS
) -> Iterator[dict[str, Sandbox]]:
    """Started sandboxes of ``backend`` ("local" or "docker"), one per variant, closed on the
    way out; in Docker, no container of the specs' run may be left behind."""
    made: dict[str, Sandbox] = {}
    client = None
    run_id = ""
    try:
        for variant in variants:
            spec = spec_of(variant)
            run_id = spec.run_id
            if backend == "local":
                box: Sandbox = LocalSandbox(spec, worktrees)
            else:
                client = client or engine_client()
                box = DockerSandbox(spec, client)
            box.start()
            made[variant] = box
        yield made
    finally:
        for box in made.values():
            box.close()
        if client is not None:
            left = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
            client.close()
            assert left == [], [c.name for c in left]


def sleeping(sandbox: Sandbox, marker: str) -> bool:
    """Whether a ``sleep <marker>...`` process runs where the sandbox runs its commands
    (in its container, or on this host for the local backend)."""
    probe = f"for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null | grep -c '^sleep {marker}'"
    if type(sandbox).__name__ == "DockerSandbox":
        found = sandbox.exec(probe, 30).stdout.strip()
    else:
        found = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, check=False).stdout.strip()
    return int(found or 0) > 0


@contextlib.contextmanager
def one_commit_boxes(
    backend: str, root: Path, task_id: str, run_id: str, variants: tuple[str, ...], image: str = DEMO_IMAGE
) -> Iterator[dict[str, Sandbox]]:
    """:func:`variant_boxes` over a one-commit repository made under ``root``, every variant at
    that commit."""
    repo_dir, commit = one_commit_repo(root / "repo")

    def spec_of(variant: str) -> SandboxSpec:
        return SandboxSpec(
            task_id=task_id,
            variant=variant,  # type: ignore[arg-type]
            repo_dir=repo_dir,
            commit=commit,
            image=image,
            run_id=run_id,
        )

    with variant_boxes(backend, spec_of, root / "worktrees", variants) as made:
        yield made
