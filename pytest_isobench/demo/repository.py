"""Build a demo project's repository from its history, and keep one built copy in a cache.

Every step of the history (:mod:`.history`) is applied and committed with git run
reproducibly (:mod:`.gitrun`), so the commit SHAs are the same on every machine: the
project's ``expected_head`` is checked after each build.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .gitrun import git, git_env
from .history import Step, load_steps
from .projects import BRANCH, TEXTKIT, Project


def _apply(repo: Path, step: Step) -> None:
    for rel in step.deletes:
        target = repo / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise RuntimeError(f"step {step.path.name} deletes {rel}, which does not exist")
    for rel, stored in step.files:
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stored.read_bytes())
        target.chmod(0o644)


def build_demo_repo(dest: Path, *, verify: bool = True, project: Project = TEXTKIT) -> Path:
    """Create the demo repository at *dest* (absent or an empty directory); return *dest*.

    Raises :class:`RuntimeError` when the resulting head is not :data:`EXPECTED_HEAD`
    (unless *verify* is false): the build was not deterministic.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    git(dest, "init", "-q")
    git(dest, "symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
    # Local settings for whoever uses the checkout later; they do not change any SHA.
    git(dest, "config", "core.autocrlf", "false")
    git(dest, "config", "commit.gpgsign", "false")
    for step in load_steps(project.history):
        _apply(dest, step)
        git(dest, "add", "-A")
        message = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed just below
            "w", encoding="utf-8", suffix=".msg", delete=False
        )
        try:
            with message:
                message.write(step.message)
            git(
                dest,
                "commit",
                "-q",
                "--no-verify",
                "--no-gpg-sign",
                "--cleanup=strip",
                "-F",
                message.name,
                env=git_env(step.date, project),
            )
        finally:
            os.unlink(message.name)
    head = git(dest, "rev-parse", "HEAD")
    if verify and head != project.expected_head:
        raise RuntimeError(
            f"the demo repository built at {dest} ends at {head}, expected {project.expected_head}: "
            "the build is not deterministic (or EXPECTED_HEAD is out of date)"
        )
    return dest


def _branch_head(repo: Path) -> str | None:
    if not (repo / ".git").is_dir():
        return None
    try:
        return git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{BRANCH}^{{commit}}")
    except RuntimeError:
        return None


def demo_repo(cache_dir: Path, project: Project = TEXTKIT) -> Path:
    """``cache_dir/"demo-repo"`` (the project's folder), built on first use (atomically) and reused after."""
    cache_dir = Path(cache_dir)
    target = cache_dir / project.cache_name
    expected = project.expected_head
    if _branch_head(target) == expected:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".demo-repo-", dir=cache_dir))
    try:
        build_demo_repo(fresh, project=project)
        if target.exists() and _branch_head(target) != expected:
            stale = Path(tempfile.mkdtemp(prefix=".demo-repo-stale-", dir=cache_dir))
            with contextlib.suppress(FileNotFoundError):  # another process moved it first
                os.replace(target, stale / "repo")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(fresh, target)
        except OSError:
            # Another process won the race; its repository is as good as ours.
            if _branch_head(target) != expected:
                raise
    finally:
        if fresh.exists():
            shutil.rmtree(fresh, ignore_errors=True)
    return target


def commit_shas(repo: Path) -> list[str]:
    """The commits of the demo branch, oldest first."""
    return git(repo, "rev-list", "--reverse", f"refs/heads/{BRANCH}").split()
