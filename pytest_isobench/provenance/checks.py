"""The import check wired to a task's variants: sync the agent's patch, then probe everyone.

Thin glue between :mod:`.imported` and the task run: the files to compare are the human
diff's (read from the cached clone) and the agent patch's; each variant's expected commit
is its own (the agent's is the baseline's unless its checkout was rebuilt). A mismatch
becomes :class:`VariantsImportError` (an error, never the agent's failure) carrying the
findings, which the record keeps either way (field ``imported``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..sandbox.protocol import Sandbox, SandboxError
from .imported import ImportMismatch, check, sync_patch

if TYPE_CHECKING:
    from ..suite import Suite


class VariantsImportError(SandboxError):
    """A variant does not import its own code: ``found`` holds what each one imported."""

    def __init__(self, message: str, found: dict[str, Any]) -> None:
        super().__init__(message)
        self.found = found


def sync_agent(suite: Suite, applied_files: Sequence[str], sandbox: Sandbox) -> None:
    """Put the agent's applied patch into the installed package (when the suite names one)."""
    if suite.package is None:
        return
    try:
        sync_patch(sandbox, suite.package, suite.perf.python, applied_files)
    except ImportMismatch as exc:
        raise SandboxError(str(exc)) from None


def _human_files(repo_dir: Path, base: str, head: str, fallback: Sequence[str]) -> list[str]:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo_dir), "diff", "--name-only", "--no-renames", base, head],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return list(fallback)
    return [line for line in out.stdout.splitlines() if line]


def check_variants(
    suite: Suite,
    sandboxes: Mapping[str, Sandbox],
    *,
    repo_dir: Path,
    base: str,
    head: str,
    files_changed: Sequence[str],
    agent_files: Sequence[str] = (),
    agent_rebuilt: bool = False,
) -> dict[str, Any]:
    """Probe every ready variant; on a mismatch raise with the findings."""
    package = suite.package
    if package is None:
        return {}
    files = _human_files(repo_dir, base, head, files_changed) + list(agent_files)
    commits: dict[str, str | None] = {"baseline": base, "human": head, "agent": None if agent_rebuilt else base}
    try:
        return check(sandboxes, package, suite.perf.python, files, commits)
    except ImportMismatch as exc:
        raise VariantsImportError(str(exc), exc.found) from None
