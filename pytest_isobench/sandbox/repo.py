"""A cache of task repositories: cloned once, shared by every task, fetched on demand.

Repositories are bare clones under ``<cache>/repos/``, made with gitpython. A clone is
updated only when a commit a task needs is missing. ``isobench:demo`` names the bundled
demo project, built from the package's files on first use; ``owner/name`` means GitHub.
Local paths work offline. Concurrent workers serialise on a file lock per repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..atomic import file_lock
from ..demo.projects import PROJECTS
from ..demo.repository import demo_repo
from .protocol import SandboxError

DEMO = "isobench:demo"
log = logging.getLogger("isobench")
_OWNER_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def repo_url(repo: str) -> str:
    """``owner/name`` -> a GitHub URL; URLs and paths are returned as they are."""
    if _OWNER_NAME.match(repo) and not Path(repo).exists():
        return f"https://github.com/{repo}.git"
    return repo


def _slug(url: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9_.-]", "_", url.rstrip("/").rsplit("/", 1)[-1])[:40]
    return f"{tail.removesuffix('.git')}-{hashlib.sha256(url.encode()).hexdigest()[:10]}"


class RepoCache:
    """Bare clones of task repositories under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self, repo: str, commits: Sequence[str]) -> Path:
        """A clone holding every commit in ``commits`` (``<sha>^`` allowed); clone or fetch."""
        if repo.startswith("isobench:"):
            project = PROJECTS.get(repo)
            if project is None:
                raise SandboxError(f"unknown bundled project {repo!r}: expected one of {', '.join(sorted(PROJECTS))}")
            with file_lock(self.root / f"{project.cache_name}.lock"):
                return demo_repo(self.root, project)
        url = repo_url(repo)
        local = Path(url).expanduser()
        if local.exists():
            url = str(local.resolve())
        dest = self.root / "repos" / f"{_slug(url)}.git"
        with file_lock(dest.with_suffix(".lock")):
            if not (dest / "HEAD").exists():
                self._clone(url, dest)
            if self._missing(dest, commits):
                damage = self._damaged(dest)
                if damage is not None:
                    # Never trust a damaged clone: report it and clone again.
                    log.warning("repository cache %s is damaged (%s): cloning %s again", dest, damage, url)
                    self._clone(url, dest)
                if self._missing(dest, commits):
                    self._fetch(dest, commits)
            missing = self._missing(dest, commits)
            if missing:
                raise SandboxError(f"{repo}: commit(s) not found after fetching: {', '.join(missing)}")
        return dest

    def resolve(self, repo_dir: Path, rev: str) -> str:
        """The full sha of ``rev`` (``<sha>^`` is its first parent)."""
        import git

        try:
            return str(git.Repo(repo_dir).commit(rev).hexsha)
        except (git.BadName, ValueError, git.GitCommandError) as exc:
            raise SandboxError(f"{repo_dir}: cannot resolve {rev!r} ({exc})") from None

    @staticmethod
    def _missing(dest: Path, commits: Sequence[str]) -> list[str]:
        import git

        repo = git.Repo(dest)
        missing = []
        for rev in commits:
            try:
                repo.commit(rev)
            except (git.BadName, ValueError, git.GitCommandError):
                missing.append(rev)
        return missing

    @staticmethod
    def _damaged(dest: Path) -> str | None:
        """Why the clone cannot be trusted (a ref whose object is missing, an unreadable pack), or None."""
        refs = subprocess.run(
            ["git", "-C", str(dest), "for-each-ref", "--format=%(objectname)"], capture_output=True, text=True
        )
        if refs.returncode != 0:
            return f"git for-each-ref failed: {refs.stderr.strip()[:200]}"
        check = subprocess.run(
            ["git", "-C", str(dest), "cat-file", "--batch-check"], input=refs.stdout, capture_output=True, text=True
        )
        missing = [line.split()[0] for line in check.stdout.splitlines() if line.endswith(" missing")]
        if check.returncode != 0 or missing:
            detail = f"objects missing: {', '.join(m[:12] for m in missing[:3])}" if missing else check.stderr.strip()
            return detail[:300] or "git cat-file failed"
        return None

    @staticmethod
    def _clone(url: str, dest: Path) -> None:
        import git

        tmp = dest.with_name(dest.name + ".partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        if dest.exists():  # a clone without HEAD, or a damaged one
            shutil.rmtree(dest)
        try:
            git.Repo.clone_from(url, tmp, bare=True)
        except git.GitCommandError as exc:
            raise SandboxError(f"cannot clone {url}: {exc.stderr.strip() or exc}") from None
        tmp.rename(dest)

    @staticmethod
    def _fetch(dest: Path, commits: Sequence[str]) -> None:
        import git

        repo = git.Repo(dest)
        # A failed fetch is not fatal here: the caller's check names the missing commits.
        with contextlib.suppress(git.GitCommandError):
            repo.git.fetch("origin", "+refs/heads/*:refs/heads/*", "--tags")
        for rev in commits:
            try:
                repo.git.fetch("origin", rev.rstrip("^"))
            except git.GitCommandError:
                continue
