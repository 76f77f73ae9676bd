"""The log kept with a command-line agent's run: the command, its status, its output's tails.

Only the tails are kept (the last :data:`LOG_TAIL_CHARS` characters of each stream), so a
chatty tool cannot make a record grow without bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..sandbox.protocol import ExecResult

LOG_TAIL_CHARS = 32_000


def _tail(text: str, limit: int = LOG_TAIL_CHARS) -> str:
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def run_logs(command: str, result: ExecResult) -> str:
    """The command, its status and the tails of its output, as kept with the run."""
    status = "timed out" if result.timed_out else f"exit status {result.exit_code}"
    parts = [f"$ {command}", f"[{status} after {result.wall_s:.1f} s]"]
    if result.stdout:
        parts += ["--- stdout ---", _tail(result.stdout)]
    if result.stderr:
        parts += ["--- stderr ---", _tail(result.stderr)]
    return "\n".join(parts) + "\n"
