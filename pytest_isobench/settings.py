"""The parsed settings of a run: plain, picklable values (no pytest inside).

Built once by :func:`pytest_isobench.session.build_settings` from options and ini keys;
handed as a value to every :class:`~pytest_isobench.taskrun.TaskRun`, so a task run on
another machine sees exactly what the controller parsed.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    """Everything a task item needs to know about this run."""

    run_id: str
    rootdir: Path
    agent: str | None = None
    model: str | None = None
    predictions: Path | None = None
    backend: str = "auto"
    image: str | None = None
    gpus: str | None = None
    # None: the suite's ``timing`` section decides (its defaults are ProtocolSettings').
    min_rounds: int | None = None
    max_time_s: float | None = None
    target_ci: float | None = None
    warmup: int | None = None
    # None: the suite's ``success.pass_categories`` decide.
    pass_categories: tuple[str, ...] | None = None
    results_dir: Path = Path(".isobench/results")
    resume_dir: Path | None = None
    cache_dir: Path = Path(".isobench/cache")
    rerun_agent: bool = False
    agent_timeout_s: float | None = None
    review_factor: float | None = None
    generate: str = "never"
    testgen_model: str | None = None
    testgen_concurrency: int = 8
    testgen_attempts: int = 3
    testgen_timeout_s: float = 60.0
    shard: tuple[int, int] | None = None
    durations: Path | None = None
    durations_map: dict[str, float] | None = None
    datasets: list[str] = field(default_factory=list)

    def fingerprint(self) -> dict[str, Any]:
        """The settings that make two records comparable (used by resume and reports);
        ``--isobench-pass`` only when given (it decides which records passed)."""
        chosen = {} if self.pass_categories is None else {"pass_categories": list(self.pass_categories)}
        return chosen | {
            "agent": self.agent,
            "model": self.model,
            "min_rounds": self.min_rounds,
            "target_ci": self.target_ci,
            "warmup": self.warmup,
            "image": self.image,
            "backend": self.backend,
            "gpus": self.gpus,
        }


def new_run_id() -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"
