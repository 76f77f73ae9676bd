"""Git run so that every byte is reproducible: fixed settings, author and dates, no user config.

The user's and system's git configuration are ignored and the author, committer and (per
commit) dates are the project's, so a build gives the same commit SHAs on every machine.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from .projects import BRANCH, TEXTKIT, Project

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

_GIT_SETTINGS = (
    "commit.gpgsign=false",
    "tag.gpgsign=false",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.eol=lf",
    "core.fileMode=true",
    "core.hooksPath=/dev/null",
    "gc.auto=0",
    "init.defaultBranch=" + BRANCH,
    "i18n.commitEncoding=UTF-8",
)


def git_env(date: str | None = None, project: Project = TEXTKIT) -> dict[str, str]:
    """Our environment without ``GIT_*``, with the project's author and the given date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=project.author_name,
        GIT_AUTHOR_EMAIL=project.author_email,
        GIT_COMMITTER_NAME=project.author_name,
        GIT_COMMITTER_EMAIL=project.author_email,
        LC_ALL="C",
        TZ="UTC",
    )
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in *repo* with the fixed settings; its stripped output (RuntimeError on failure)."""
    settings = [arg for setting in _GIT_SETTINGS for arg in ("-c", setting)]
    proc = subprocess.run(
        ["git", *settings, *args],
        cwd=repo,
        env=dict(env) if env is not None else git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo} ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()
