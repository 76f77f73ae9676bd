"""The run state built once in ``pytest_configure`` and kept in the config's stash.

Holds the parsed settings (agent, backend, timing, directories) and a run id shared by
the controller and its xdist workers. Validation that needs no engine happens here, so a
bad combination is a ``pytest.UsageError`` before any container starts.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import options as opt


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
        """The settings that make two records comparable (used by resume and reports)."""
        return {
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


def _path(value: Any, rootdir: Path) -> Path | None:
    if value in (None, ""):
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else rootdir / path


def _check_writable(flag: str, path: Path) -> None:
    """``path`` is, or can be made, a writable directory; checked without creating anything."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise pytest.UsageError(f"{flag}: {path} cannot be a directory: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise pytest.UsageError(f"{flag}: {path} is not writable (no write permission on {existing})")


def build_settings(config: pytest.Config, run_id: str | None) -> Settings:
    """Parse and validate options and ini keys; raise ``pytest.UsageError`` when wrong."""
    root = config.rootpath
    run_id = run_id or new_run_id()
    get = opt.get
    settings = Settings(
        run_id=run_id,
        rootdir=root,
        agent=get(config, "--isobench-agent", "isobench_agent"),
        model=get(config, "--isobench-model", "isobench_model"),
        predictions=_path(get(config, "--isobench-predictions"), Path.cwd()),
        backend=get(config, "--isobench-backend", "isobench_backend", "auto"),
        image=get(config, "--isobench-image"),
        gpus=get(config, "--isobench-gpus"),
        min_rounds=get(config, "--isobench-min-rounds", "isobench_min_rounds"),
        max_time_s=get(config, "--isobench-max-time", "isobench_max_time"),
        target_ci=get(config, "--isobench-target-ci", "isobench_target_ci"),
        warmup=get(config, "--isobench-warmup", "isobench_warmup"),
        resume_dir=_path(get(config, "--isobench-resume"), Path.cwd()),
        cache_dir=_path(get(config, "--isobench-cache-dir", "isobench_cache_dir"), root)
        or root / ".isobench" / "cache",
        rerun_agent=bool(get(config, "--isobench-rerun-agent", default=False)),
        agent_timeout_s=get(config, "--isobench-agent-timeout", "isobench_agent_timeout"),
        review_factor=get(config, "--isobench-review-factor", "isobench_review_factor"),
        testgen_model=get(config, "--isobench-testgen-model", "isobench_testgen_model"),
        testgen_concurrency=get(config, "--isobench-testgen-concurrency", "isobench_testgen_concurrency", 8),
        testgen_attempts=get(config, "--isobench-testgen-attempts", "isobench_testgen_attempts", 3),
        testgen_timeout_s=get(config, "--isobench-testgen-timeout", "isobench_testgen_timeout", 60.0),
        shard=get(config, "--isobench-shard"),
        durations=_path(get(config, "--isobench-durations"), Path.cwd()),
        datasets=list(get(config, "--isobench-dataset", default=[]) or []),
    )
    settings.generate = get(config, "--isobench-generate", "isobench_generate") or (
        "missing" if settings.testgen_model else "never"
    )
    results = _path(get(config, "--isobench-results", "isobench_results"), Path.cwd())
    settings.results_dir = results or root / ".isobench" / "results" / run_id
    if settings.min_rounds is not None and settings.min_rounds < 2:
        raise pytest.UsageError(f"--isobench-min-rounds: {settings.min_rounds!r} is too few: the intervals need >= 2")
    if settings.warmup is not None and settings.warmup < 0:
        raise pytest.UsageError(f"--isobench-warmup: {settings.warmup!r} is not a whole number >= 0")
    if settings.agent == "predictions" and settings.predictions is None:
        raise pytest.UsageError("--isobench-agent=predictions needs --isobench-predictions=FILE|DIR")
    if settings.predictions is not None and not settings.predictions.exists():
        raise pytest.UsageError(f"--isobench-predictions: {settings.predictions}: no such file or directory")
    if settings.resume_dir is not None and not settings.resume_dir.is_dir():
        raise pytest.UsageError(f"--isobench-resume: {settings.resume_dir} is not a directory")
    if settings.durations is not None and not settings.durations.is_file():
        raise pytest.UsageError(f"--isobench-durations: {settings.durations} is not a file")
    if settings.durations is not None:
        from .collect.shard import ShardSpecError, load_durations

        try:
            settings.durations_map = load_durations(settings.durations)
        except ShardSpecError as exc:
            raise pytest.UsageError(f"--isobench-durations: {exc}") from None
    return settings


def ensure_results_dir(config: pytest.Config, settings: Settings) -> None:
    """Results must be writable before anything runs: a ``UsageError`` naming the directory.

    Checked when this run names ISO-Bench work (a results directory, an agent, a dataset,
    a resume, suite or data files on the command line, or suite files under the rootdir),
    so a project that merely has the plugin installed is never stopped by it.
    """
    explicit = opt.get(config, "--isobench-results", "isobench_results") is not None
    named = settings.agent or settings.datasets or settings.resume_dir is not None
    files = any(str(a).split("::")[0].endswith((".yaml", ".yml", ".jsonl", ".parquet")) for a in config.args)
    suites = any(next(config.rootpath.glob(p), None) for p in config.getini("isobench_suites"))
    if explicit or named or files or suites:
        _check_writable("--isobench-results", settings.results_dir)
