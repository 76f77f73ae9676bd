"""The import check wired to a task's variants: sync the agent's patch, then probe everyone.

Thin glue between :mod:`.imported` and the fixtures: the files to compare are the human
diff's (read from the cached clone) and the agent patch's; each variant's expected commit
is its own (the agent's is the baseline's unless its checkout was rebuilt). A mismatch
becomes a ``SandboxError`` (an error, never the agent's failure) and the findings are kept
in the record either way (field ``imported``).
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

from ..sandbox.base import SandboxError
from .imported import ImportMismatch, check, sync_patch

if TYPE_CHECKING:
    import pytest

    from ..fixtures import AgentOutcome, Variants
    from ..sandbox.base import Sandbox
    from ..session import Settings
    from ..suite import Suite


def sync_agent(suite: Suite, outcome: AgentOutcome, sandbox: Sandbox) -> None:
    """Put the agent's applied patch into the installed package (when the suite names one)."""
    if suite.package is None or outcome.applied is None:
        return
    try:
        sync_patch(sandbox, suite.package, suite.perf.python, outcome.applied.files)
    except ImportMismatch as exc:
        raise SandboxError(str(exc)) from None


def _human_files(variants: Variants) -> list[str]:
    checkout = variants.checkout
    try:
        out = subprocess.run(
            ["git", "-C", str(checkout.repo_dir), "diff", "--name-only", "--no-renames", checkout.base, checkout.head],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return list(variants.task.files_changed or [])
    return [line for line in out.stdout.splitlines() if line]


def check_variants(item: pytest.Item, settings: Settings, variants: Variants) -> dict[str, Any]:
    """Probe every ready variant; on a mismatch keep the findings in the record and raise."""
    package = variants.suite.package
    if package is None:
        return {}
    outcome = variants.agent
    boxes = {n: s for n, s in variants.sandboxes.items() if n != "agent" or (outcome and outcome.failure is None)}
    files = _human_files(variants)
    if outcome is not None and outcome.applied is not None:
        files += list(outcome.applied.files)
    commits: dict[str, str | None] = {
        "baseline": variants.checkout.base,
        "human": variants.checkout.head,
        "agent": None if outcome is not None and outcome.rebuilt else variants.checkout.base,
    }
    try:
        return check(boxes, package, variants.suite.perf.python, files, commits)
    except ImportMismatch as exc:
        from ..runner import RECORD_KEY, base_record

        record = base_record(item, variants, settings)
        record["imported"] = exc.found
        item.stash[RECORD_KEY] = record
        raise SandboxError(str(exc)) from None
