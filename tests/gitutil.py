"""Run git in a repository made by a test, with a fixed committer identity."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def one_commit_repo(path: Path, files: dict[str, str] | None = None) -> tuple[Path, str]:
    """A repository at ``path`` with one commit of ``files`` (default: a README); its sha."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    for name, text in (files or {"README": "x\n"}).items():
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "one")
    return path, git(path, "rev-parse", "HEAD").strip()
