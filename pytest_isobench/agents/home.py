"""A fresh HOME for one agent run, outside its working tree, holding only what we write.

The tool must not read the caller's ``~/.claude``, ``~/.codex/auth.json`` or anything else
of the host user, nor leave transcripts there. Created with ``mktemp -d`` through the
sandbox itself (so it works the same in a container and on the local backend), mode 700,
and removed after the run. Files are written through the sandbox too, mode 600; nothing
written here ever holds a key (keys travel as environment variables).
"""

from __future__ import annotations

import base64
import shlex
from typing import TYPE_CHECKING

from .agent import AgentError

if TYPE_CHECKING:
    from ..sandbox.protocol import Sandbox

HOME_TIMEOUT_S = 60.0


def make_home(sandbox: Sandbox) -> str:
    """A new empty directory for the agent's HOME; its absolute path in the sandbox."""
    result = sandbox.exec(
        'd=$(mktemp -d "${TMPDIR:-/tmp}/isobench-agent-home.XXXXXX") && chmod 700 "$d" && echo "$d"', HOME_TIMEOUT_S
    )
    home = result.stdout.strip()
    if not result.ok or not home.startswith("/"):
        raise AgentError(f"could not create the agent's HOME in the sandbox: {result.tail()}")
    workdir = sandbox.workdir.rstrip("/") + "/"
    if (home.rstrip("/") + "/").startswith(workdir):
        raise AgentError(f"the agent's HOME {home} would be inside its working tree {sandbox.workdir}")
    return home


def write_private(sandbox: Sandbox, path: str, content: str) -> None:
    """Write ``content`` to the absolute ``path`` in the sandbox (parents made), mode 600."""
    data = base64.b64encode(content.encode()).decode()
    target = shlex.quote(path)
    command = f'umask 077 && mkdir -p "$(dirname {target})" && printf %s {data} | base64 -d > {target}'
    result = sandbox.exec(command, HOME_TIMEOUT_S)
    if not result.ok:
        raise AgentError(f"could not write {path} in the sandbox: {result.tail()}")


def remove_home(sandbox: Sandbox, home: str) -> None:
    """Remove the agent's HOME (best effort: a container is removed anyway)."""
    if home.startswith("/") and "isobench-agent-home." in home:
        sandbox.exec(f"rm -rf {shlex.quote(home)}", HOME_TIMEOUT_S)
