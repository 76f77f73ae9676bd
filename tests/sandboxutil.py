"""What runs inside a sandbox, as a test sees it from outside."""

from __future__ import annotations

import subprocess

from pytest_isobench.sandbox.base import Sandbox


def sleeping(sandbox: Sandbox, marker: str) -> bool:
    """Whether a ``sleep <marker>...`` process runs where the sandbox runs its commands
    (in its container, or on this host for the local backend)."""
    probe = f"for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done 2>/dev/null | grep -c '^sleep {marker}'"
    if type(sandbox).__name__ == "DockerSandbox":
        found = sandbox.exec(probe, 30).stdout.strip()
    else:
        found = subprocess.run(["sh", "-c", probe], capture_output=True, text=True, check=False).stdout.strip()
    return int(found or 0) > 0
