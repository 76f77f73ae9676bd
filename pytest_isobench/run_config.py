"""From options and ini keys to the run's values: :class:`~.settings.Settings` and the Ray options.

Read once in ``pytest_configure`` and validated here, so a bad value or combination is a
``pytest.UsageError`` naming the flag before any container starts. The session, the
executors and the task runs get the values, never the options.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from . import options as opt
from .collect.shard import ShardSpecError, load_durations
from .executors.ray_config import DEFAULT_AGENT_CONCURRENCY, RayOptions
from .settings import Settings, new_run_id

__all__ = ["build_settings", "ensure_results_dir", "ray_options"]


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
        pass_categories=get(config, "--isobench-pass", "isobench_pass"),
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
    if explicit or named or opt.names_task_files(config):
        _check_writable("--isobench-results", settings.results_dir)


def ray_options(config: pytest.Config, gpus: str | None) -> RayOptions | None:
    """The Ray options, or None when the run is not on Ray; ``UsageError`` when they cannot work."""
    address = opt.get(config, "--isobench-ray", "isobench_ray")
    concurrency = opt.get(
        config, "--isobench-agent-concurrency", "isobench_agent_concurrency", DEFAULT_AGENT_CONCURRENCY
    )
    if address is None:
        if config.getoption("isobench_agent_concurrency", None) is not None:
            raise pytest.UsageError("--isobench-agent-concurrency applies to Ray runs only: add --isobench-ray")
        return None
    if importlib.util.find_spec("ray") is None:
        raise pytest.UsageError(
            f"--isobench-ray={address}: Ray is not installed; install it with pip install 'pytest-isobench[ray]'"
        )
    numprocesses = config.getoption("numprocesses", None)
    if numprocesses not in (None, 0, "0"):
        raise pytest.UsageError(
            f"--isobench-ray and -n {numprocesses} do not combine: Ray schedules the tasks across the cluster; drop -n"
        )
    if gpus is not None:
        raise pytest.UsageError(
            f"--isobench-gpus={gpus} names GPUs of this machine; on Ray each measurement gets the GPUs Ray assigns "
            "(set gpus_required in the suite)"
        )
    return RayOptions(address=address, agent_concurrency=int(concurrency))
