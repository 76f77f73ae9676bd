"""Scan a repository's history for performance commits, with gitpython and the Python AST.

One ``git log`` lists the commits (hash, parents, date, author, message) of the range; the
message keywords pick the candidates; the cheap filters (merge, root, too many files, docs
only, tests only, no non-test source) drop decoys; each survivor gets one raw/numstat
diff-tree (files, statuses, renames, binary files, submodules, line counts) and one patch
(hunks, kept for the dataset views), and its changed Python files are parsed before and
after to name the changed functions as ``module.Class.func`` and the public ones as APIs.
Every commit that is not kept, and every file that cannot be analysed, is counted under a
reason in :attr:`ScanResult.skipped`. Reading git lives in :mod:`.gitio`, path and AST
helpers in :mod:`.names`, the records in :mod:`.model`; their names are re-exported here.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from git import Repo


from .gitio import (
    _diff_batch,
    _log,
    _origin_url,
    _raw_numstat,
    _with_hunks,
    open_repo,
    resolve,
)
from .model import CommitInfo, FileChange, ScanError, ScanOptions, ScanResult
from .names import (
    DEFAULT_KEYWORDS,
    ChangedFunction,
    changed_functions,
    functions_of,
    is_docs_path,
    is_public,
    is_source_path,
    is_test_path,
    keyword_pattern,
    module_name,
    pr_number,
)

# Skip reasons (keys of ScanResult.skipped).
SKIP_NO_KEYWORD = "no perf keyword in message"
SKIP_MERGE = "merge commit"
SKIP_ROOT = "root commit (no parent)"
SKIP_EMPTY = "no file changed"
SKIP_TOO_MANY = "too many files"
SKIP_DOCS = "docs only"
SKIP_TESTS = "tests only"
SKIP_NO_SOURCE = "no non-test source file"
SKIP_DIFF = "diff could not be read"
SKIP_PYTHON = "python file not parsable (AST skipped)"
SKIP_BLOB = "python file not readable (AST skipped)"

__all__ = [
    "DEFAULT_KEYWORDS",
    "ChangedFunction",
    "CommitInfo",
    "FileChange",
    "ScanError",
    "ScanOptions",
    "ScanResult",
    "changed_functions",
    "functions_of",
    "is_docs_path",
    "is_public",
    "is_source_path",
    "is_test_path",
    "keyword_pattern",
    "module_name",
    "open_repo",
    "pr_number",
    "resolve",
    "scan_repository",
]


def _filter_reason(files: list[FileChange], max_files: int) -> str | None:
    if not files:
        return SKIP_EMPTY
    if len(files) > max_files:
        return SKIP_TOO_MANY
    if all(f.is_docs for f in files):
        return SKIP_DOCS
    if all(f.is_test or f.is_docs for f in files):
        return SKIP_TESTS
    if not any(f.is_source and not f.is_test for f in files):
        return SKIP_NO_SOURCE
    return None


# -- the scan --------------------------------------------------------------------------


class _Progress:
    """tqdm when installed (a dependency of ``datasets``), else a plain stderr line."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.total = total
        self.done = 0
        self._bar: Any = None
        self._last = 0.0
        if enabled:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

                self._bar = tqdm(total=total, unit="commit", file=sys.stderr, desc="scanning", leave=False)
            except ImportError:
                self._bar = None

    def update(self, kept: int) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            if self.done % 50 == 0:
                self._bar.set_postfix(kept=kept, refresh=False)
            return
        now = time.monotonic()
        if now - self._last > 0.2 or self.done == self.total:
            self._last = now
            sys.stderr.write(f"\rscanning {self.done}/{self.total} commits, {kept} kept")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            sys.stderr.write("\n")


def scan_repository(path: str | Path, options: ScanOptions | None = None) -> ScanResult:
    """Scan ``path``'s history (newest first) and keep the performance commits.

    Three passes: the messages and parents of every commit (one ``git log``); the files of
    the keyword matches (one ``diff-tree --stdin``); the patches and the AST of the commits
    the file filters keep (one more ``diff-tree --stdin``, blobs through gitpython).
    """
    options = options or ScanOptions()
    started = time.perf_counter()
    repo = open_repo(path)
    try:
        head = resolve(repo, options.branch)
        entries = _log(repo, head, options)
        result = ScanResult(repo_path=str(repo.working_dir), head=head, remote=_origin_url(repo))
        pattern = keyword_pattern(options.keywords)
        enabled = sys.stderr.isatty() if options.progress is None else options.progress
        progress = _Progress(len(entries), enabled)
        try:
            _scan(repo, entries, pattern, options, result, progress)
        finally:
            progress.close()
        result.scanned = len(entries)
        result.elapsed_s = time.perf_counter() - started
        return result
    finally:
        repo.close()


def _scan(
    repo: Repo,
    entries: list[tuple[str, list[str], str, str, str]],
    pattern: re.Pattern[str],
    options: ScanOptions,
    result: ScanResult,
    progress: _Progress,
) -> None:
    candidates: list[tuple[tuple[str, list[str], str, str, str], list[str]]] = []
    for entry in entries:
        _sha, parents, _date, _author, message = entry
        matches = pattern.findall(message)
        reason: str | None = None
        if not matches:
            reason = SKIP_NO_KEYWORD
        elif len(parents) > 1:
            reason = SKIP_MERGE
        elif not parents:
            reason = SKIP_ROOT
        if reason is not None:
            result.skipped[reason] += 1
            progress.update(len(result.commits))
        else:
            candidates.append((entry, matches))
    raws = _diff_batch(repo, [(e[0], e[1][0]) for e, _m in candidates], raw=True)
    survivors: list[tuple[tuple[str, list[str], str, str, str], list[str], list[FileChange]]] = []
    for entry, matches in candidates:
        try:
            files = _raw_numstat(raws.get(entry[0], b""))
        except (ValueError, IndexError):
            reason = SKIP_DIFF
        else:
            reason = _filter_reason(files, options.max_files)
        if reason is not None:
            result.skipped[reason] += 1
            progress.update(len(result.commits))
        else:
            survivors.append((entry, matches, files))
    del raws
    patches = _diff_batch(repo, [(e[0], e[1][0]) for e, _m, _f in survivors], raw=False)
    for (sha, parents, date, author, message), matches, files in survivors:
        patch = patches.pop(sha, b"").decode("utf-8", errors="replace")
        info = CommitInfo(
            sha=sha,
            parents=parents,
            subject=message.split("\n", 1)[0].strip(),
            message=message,
            author=author,
            date=date,
            keywords=sorted({m.lower() for m in matches}),
            files=_with_hunks(files, patch),
            pr_number=pr_number(message),
            diff=patch,
        )
        _functions_and_apis(repo, info, result)
        result.commits.append(info)
        progress.update(len(result.commits))


def _blob_text(repo: Repo, blob: str | None) -> bytes:
    if blob is None:
        return b""
    data: bytes = repo.odb.stream(bytes.fromhex(blob)).read()
    return data


def _functions_and_apis(repo: Repo, info: CommitInfo, result: ScanResult) -> None:
    for change in info.files:
        if change.is_test or change.binary or change.submodule or not change.path.endswith(".py"):
            continue
        if change.new_mode == "120000" or change.old_mode == "120000":  # symlinks
            continue
        try:
            before_src = _blob_text(repo, change.old_blob)
            after_src = _blob_text(repo, change.new_blob)
        except Exception:
            result.skipped[SKIP_BLOB] += 1
            info.notes.append(f"{change.path}: blob not readable")
            continue
        try:
            before = functions_of(before_src, module_name(change.path)) if before_src else {}
            after = functions_of(after_src, module_name(change.path)) if after_src else {}
        except (SyntaxError, ValueError) as exc:
            result.skipped[SKIP_PYTHON] += 1
            line = getattr(exc, "lineno", None)
            info.notes.append(f"{change.path}: not parsable as Python ({type(exc).__name__} at line {line})")
            continue
        info.functions.extend(changed_functions(before, after, change.path))
    seen: dict[str, None] = {}
    for function in info.functions:
        if function.change != "removed" and function.public:
            seen.setdefault(function.name, None)
    info.apis = list(seen)
