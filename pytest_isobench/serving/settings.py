"""Where a model server listens and how long each step of a serving run may take.

One definition shared by the suite's ``serving:`` defaults (``modes.WorkloadDefaults``,
which fills it from its flat YAML keys), the normalised plan, the per-variant spec and the
server itself. Plain values, validated on construction; it imports nothing of ours.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServingSettings:
    """The server's address and health check, and the time limits of a serving run."""

    host: str = "127.0.0.1"
    port: int = 8000
    health_path: str = "/health"
    startup_timeout_s: float = 900.0  # until the health check answers
    client_timeout_s: float = 1800.0  # one benchmark client run
    poll_s: float = 0.5  # between health checks
    stop_grace_s: float = 10.0  # TERM to KILL when stopping the server

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port: expected 1-65535, got {self.port!r}")
        if not self.health_path.startswith("/"):
            raise ValueError(f"health_path: expected a path starting with '/', got {self.health_path!r}")
        for name in ("startup_timeout_s", "client_timeout_s", "poll_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected seconds > 0, got {getattr(self, name)!r}")
        if self.stop_grace_s < 0:
            raise ValueError(f"stop_grace_s: expected seconds >= 0, got {self.stop_grace_s!r}")
