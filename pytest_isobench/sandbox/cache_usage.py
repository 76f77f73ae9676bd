"""The cache directory's size, part by part, and the worktrees runs left in it.

``isobench doctor`` reports how much the cache holds (repository clones, worktrees, agent
patches, ...); ``isobench clean`` removes the worktree folders of every run (a run removes
its own at its end; these are what killed runs left) and tells git about it. It must not
touch clones or cached patches, and never runs anything but ``git worktree prune``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from .run_sweep import sweep_worktrees


def tree_size(path: Path) -> int:
    """Bytes of the files under ``path`` (links not followed; unreadable parts skipped)."""
    total = 0
    for root, _dirs, files in os.walk(path, onerror=lambda _e: None):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def usage(cache_dir: Path) -> tuple[int, list[tuple[str, int]]]:
    """The cache's total size and each top-level entry's, largest first."""
    if not cache_dir.is_dir():
        return 0, []
    parts = []
    for entry in sorted(cache_dir.iterdir()):
        size = tree_size(entry) if entry.is_dir() and not entry.is_symlink() else entry.lstat().st_size
        parts.append((entry.name, size))
    parts.sort(key=lambda p: -p[1])
    return sum(s for _, s in parts), parts


def describe(cache_dir: Path) -> str:
    total, parts = usage(cache_dir)
    if not parts:
        return f"{cache_dir}: empty or missing"
    shown = ", ".join(f"{name} {human_bytes(size)}" for name, size in parts[:6])
    return f"{cache_dir}: {human_bytes(total)} ({shown})"


def clean_worktrees(cache_dir: Path, older_than_s: float | None = None) -> list[str]:
    """Remove the worktree folders of every run (or those older than ``older_than_s``)."""
    root = cache_dir / "worktrees"
    if not root.is_dir():
        return []
    removed: list[str] = []
    now = time.time()
    for run in sorted(p for p in root.iterdir() if p.is_dir()):
        if older_than_s is not None and now - run.stat().st_mtime < older_than_s:
            continue
        swept = sweep_worktrees(cache_dir, run.name)
        removed += swept.removed
    return removed
