"""The records of a history scan: options, changed files and functions, kept commits, totals.

Plain dataclasses; building them is :mod:`.scan`'s job, reading git is :mod:`.gitio`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

from .names import DEFAULT_KEYWORDS, ChangedFunction


class ScanError(Exception):
    """The scan cannot run at all: not a repository, a bad revision, git failing."""


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and which commits to keep."""

    branch: str = "HEAD"
    since: str | None = None
    until: str | None = None
    max_commits: int | None = None
    keywords: Sequence[str] = DEFAULT_KEYWORDS
    max_files: int = 20
    progress: bool | None = None  # None: a progress bar when stderr is a terminal


@dataclass(frozen=True)
class FileChange:
    """One file of a commit's diff against its first parent."""

    path: str
    status: str  # A, M, D, R, C, T
    old_path: str | None = None
    added: int = 0
    deleted: int = 0
    hunks: int = 0
    binary: bool = False
    submodule: bool = False
    is_test: bool = False
    is_docs: bool = False
    is_source: bool = False
    old_blob: str | None = None
    new_blob: str | None = None
    old_mode: str = ""
    new_mode: str = ""


@dataclass
class CommitInfo:
    """A kept commit: identity, message, files, stats, changed functions and APIs."""

    sha: str
    parents: list[str]
    subject: str
    message: str
    author: str
    date: str
    keywords: list[str] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    functions: list[ChangedFunction] = field(default_factory=list)
    apis: list[str] = field(default_factory=list)
    pr_number: int | None = None
    notes: list[str] = field(default_factory=list)
    diff: str = ""

    @property
    def base(self) -> str:
        return self.parents[0]

    @property
    def files_changed(self) -> list[str]:
        return [f.path for f in self.files]

    def stats(self) -> dict[str, Any]:
        """The ISO-Bench ``stats`` block, plus binary/rename/submodule counts."""
        tests = [f for f in self.files if f.is_test]
        others = [f for f in self.files if not f.is_test]
        test_lines = sum(f.added + f.deleted for f in tests)
        other_lines = sum(f.added + f.deleted for f in others)
        return {
            "num_files": len(self.files),
            "num_test_files": len(tests),
            "num_non_test_files": len(others),
            "only_test_files": int(bool(tests) and not others),
            "only_non_test_files": int(bool(others) and not tests),
            "num_hunks": sum(f.hunks for f in self.files),
            "num_test_hunks": sum(f.hunks for f in tests),
            "num_non_test_hunks": sum(f.hunks for f in others),
            "num_edited_lines": test_lines + other_lines,
            "num_test_edited_lines": test_lines,
            "num_non_test_edited_lines": other_lines,
            "num_added_lines": sum(f.added for f in self.files),
            "num_deleted_lines": sum(f.deleted for f in self.files),
            "num_binary_files": sum(f.binary for f in self.files),
            "num_renamed_files": sum(f.status in ("R", "C") for f in self.files),
            "num_submodules": sum(f.submodule for f in self.files),
            "num_changed_functions": len(self.functions),
            "commit_year": int(self.date[:4]) if self.date[:4].isdigit() else None,
        }


@dataclass
class ScanResult:
    """The kept commits, how many were looked at, and why the others were not kept."""

    repo_path: str
    head: str
    remote: str | None = None
    commits: list[CommitInfo] = field(default_factory=list)
    scanned: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        """Commits scanned per second."""
        return self.scanned / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def summary(self) -> str:
        reasons = ", ".join(f"{reason}: {count}" for reason, count in self.skipped.most_common()) or "none"
        return (
            f"scanned {self.scanned} commit(s) in {self.elapsed_s:.2f}s ({self.rate:.0f}/s); "
            f"{len(self.commits)} perf commit(s) kept; skipped: {reasons}"
        )
