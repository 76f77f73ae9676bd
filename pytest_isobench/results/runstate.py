"""What xdist workers of one run tell each other and the controller outside pytest's reports.

Two small files per run under ``<cache dir>/runs/<run id>/`` (never in the results
directory, which may be the full disk), removed by the controller at the end of the run
(and by ``isobench clean`` when a killed run left them):

- ``inflight/<item>.json``: the bare record (task id, repository, commits, agent, model,
  settings) of the task a worker is running, written before the task starts and removed
  once it ended. When the worker dies under the task, the controller builds the task's
  ``error`` record from it, so that record carries the task's fields like any other.
- ``stop``: raised by a worker whose record could not be written (the results disk is
  full): every worker reads it before its next task and stops instead of running it, so
  the whole run stops, not only the worker that hit the error. It holds the message.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from .store import record_filename

RUNS_DIR = "runs"
STOP_FILE = "stop"
INFLIGHT_DIR = "inflight"


def run_dir(cache_dir: Path, run_id: str) -> Path:
    return Path(cache_dir) / RUNS_DIR / record_filename(run_id)[: -len(".json")]


def raise_stop(cache_dir: Path, run_id: str, message: str) -> None:
    """Ask every worker of the run to stop before its next task (best effort: never raises)."""
    path = run_dir(cache_dir, run_id) / STOP_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message, encoding="utf-8")
    except OSError:
        with contextlib.suppress(OSError):
            path.touch()  # no room for the message: an empty flag still stops the run


def stop_reason(cache_dir: Path, run_id: str) -> str | None:
    """The stop message when a worker asked the run to stop, else None (one ``stat`` when not)."""
    path = run_dir(cache_dir, run_id) / STOP_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or "another worker could not write its record: the results directory is full"


def note_inflight(cache_dir: Path, run_id: str, item_id: str, record: dict[str, Any]) -> None:
    """Keep the bare record of the task about to run (best effort: a full disk must not stop it here)."""
    path = run_dir(cache_dir, run_id) / INFLIGHT_DIR / record_filename(item_id)
    with contextlib.suppress(OSError):
        atomic_write(path, json.dumps(record, default=str))


def inflight(cache_dir: Path, run_id: str, item_id: str) -> dict[str, Any] | None:
    """The bare record kept for ``item_id`` while it ran, or None (absent or unreadable)."""
    path = run_dir(cache_dir, run_id) / INFLIGHT_DIR / record_filename(item_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def done(cache_dir: Path, run_id: str, item_id: str) -> None:
    """The task ended (its record is written or it could not be): forget its note."""
    path = run_dir(cache_dir, run_id) / INFLIGHT_DIR / record_filename(item_id)
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def clear(cache_dir: Path, run_id: str) -> None:
    """Remove the run's notes and flag (the controller, once every worker is gone)."""
    folder = run_dir(cache_dir, run_id)
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()  # only when no other run has notes


def clean_runs(cache_dir: Path, older_than_s: float | None = None) -> list[str]:
    """Remove the notes of runs that are gone (``isobench clean``): every run's folder, or
    those in which nothing changed for ``older_than_s``. A run killed with SIGKILL cannot
    clear its own; a live run's notes change whenever one of its tasks starts or ends."""
    root = Path(cache_dir) / RUNS_DIR
    if not root.is_dir():
        return []
    removed: list[str] = []
    now = time.time()
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if older_than_s is not None and now - _newest_mtime(folder) < older_than_s:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(f"{RUNS_DIR}/{folder.name}")
    return removed


def _newest_mtime(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            times.append(path.stat().st_mtime)
    return max(times)
