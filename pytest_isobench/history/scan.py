"""Scan a repository's history for performance commits, with gitpython and the Python AST.

One ``git log`` lists the commits (hash, parents, date, author, message) of the range; the
message keywords pick the candidates; the cheap filters (merge, root, too many files, docs
only, tests only, no non-test source) drop decoys; each survivor gets one raw/numstat
diff-tree (files, statuses, renames, binary files, submodules, line counts) and one patch
(hunks, kept for the dataset views), and its changed Python files are parsed before and
after to name the changed functions as ``module.Class.func`` and the public ones as APIs.
Every commit that is not kept, and every file that cannot be analysed, is counted under a
reason in :attr:`ScanResult.skipped`.
"""

from __future__ import annotations

import ast
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from git import Repo

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "perf",
    "performance",
    "optimize",
    "optimise",
    "optimization",
    "optimisation",
    "speed up",
    "speedup",
    "faster",
    "latency",
    "overhead",
    "throughput",
    "memory",
    "efficient",
    "efficiency",
    "accelerate",
    "bottleneck",
    "vectorize",
    "vectorise",
)

SOURCE_SUFFIXES = frozenset(
    {
        ".py", ".pyx", ".pxd", ".pyi", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cu", ".cuh",
        ".rs", ".go", ".java", ".kt", ".scala", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".rb", ".php",
        ".swift", ".m", ".mm", ".f", ".f90", ".jl", ".zig", ".triton", ".metal", ".cl", ".sh",
    }
)  # fmt: skip
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".rdoc", ".org", ".tex", ".ipynb"})
DOC_DIRS = frozenset({"docs", "doc", "documentation", "website", "examples_docs"})
DOC_NAMES = ("readme", "changelog", "changes", "news", "history", "license", "authors", "contributing", "notice")
TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "test_utils", "unittests"})
SUBMODULE_MODE = "160000"

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


@dataclass(frozen=True)
class ChangedFunction:
    """A function or method whose AST differs between the parent and the commit."""

    name: str  # module.Class.func
    file: str
    change: str  # modified, added, removed

    @property
    def public(self) -> bool:
        return is_public(self.name)


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


# -- paths and names -------------------------------------------------------------------


def is_test_path(path: str) -> bool:
    pure = PurePosixPath(path)
    if any(part.lower() in TEST_DIRS for part in pure.parts[:-1]):
        return True
    name = pure.name.lower()
    stem = name.rsplit(".", 1)[0]
    return (
        name == "conftest.py"
        or stem.startswith("test_")
        or stem.endswith(("_test", "_tests"))
        or ".test." in name
        or ".spec." in name
    )


def is_docs_path(path: str) -> bool:
    pure = PurePosixPath(path)
    if pure.parts and pure.parts[0].lower() in DOC_DIRS:
        return True
    return pure.suffix.lower() in DOC_SUFFIXES or pure.name.lower().startswith(DOC_NAMES)


def is_source_path(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in SOURCE_SUFFIXES and not is_docs_path(path)


def module_name(path: str) -> str:
    """``src/pkg/mod.py`` -> ``pkg.mod``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if len(parts) > 1 and parts[0] in ("src", "lib", "python"):
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_public(dotted: str) -> bool:
    """No component is private (``_x``); dunders such as ``__call__`` are public."""
    return not any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in dotted.split("."))


_PR = (re.compile(r"\(#(\d+)\)"), re.compile(r"pull request #(\d+)", re.IGNORECASE))


def pr_number(message: str) -> int | None:
    """The PR number of a message: ``... (#1234)`` or ``Merge pull request #1234``."""
    for pattern in _PR:
        found = pattern.findall(message)
        if found:
            return int(found[-1] if pattern is _PR[0] else found[0])
    return None


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    """Whole words, case-insensitive, with common endings (``optimize`` finds ``optimized``)."""
    alternatives = []
    for keyword in sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True):
        body = r"[\s_-]*".join(re.escape(word) for word in keyword.split())
        alternatives.append(body)
    if not alternatives:
        return re.compile(r"(?!x)x")
    return re.compile(r"\b(" + "|".join(alternatives) + r")(?:s|d|ed|es|ing|er|ers)?\b", re.IGNORECASE)


# -- the Python AST --------------------------------------------------------------------


def functions_of(source: str | bytes, module: str) -> dict[str, str]:
    """Every module-level function and (nested) class method: dotted name -> its source.

    The source of a definition (decorators included) is compared with blank lines and
    indentation dropped, so moving a function or re-indenting it is not a change. Functions
    nested in functions belong to their enclosing function. Definitions under ``if``/``try``
    at module or class level (version switches, optional imports) count. Raises
    :class:`SyntaxError` (or :class:`ValueError` for NUL bytes) when unparsable.
    """
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    tree = ast.parse(text)
    lines = text.splitlines()
    found: dict[str, str] = {}

    def segment(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        return "\n".join(stripped for line in lines[first - 1 : last] if (stripped := line.strip()))

    def visit(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[f"{prefix}.{node.name}"] = segment(node)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}.{node.name}")
            elif isinstance(node, ast.If):
                visit(node.body, prefix)
                visit(node.orelse, prefix)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    visit(block, prefix)
                for handler in node.handlers:
                    visit(handler.body, prefix)

    visit(tree.body, module)
    return found


def changed_functions(before: dict[str, str], after: dict[str, str], file: str) -> list[ChangedFunction]:
    changes = [ChangedFunction(n, file, "modified") for n in after if n in before and before[n] != after[n]]
    changes += [ChangedFunction(n, file, "added") for n in after if n not in before]
    changes += [ChangedFunction(n, file, "removed") for n in before if n not in after]
    return changes


# -- git -------------------------------------------------------------------------------

_LOG_FORMAT = "%x1e%H%x00%P%x00%aI%x00%an <%ae>%x00%B"


def open_repo(path: str | Path) -> Repo:
    """The repository at ``path``, or :class:`ScanError` with a clear message."""
    import git

    target = Path(path)
    if not target.exists():
        raise ScanError(f"{target}: no such directory")
    try:
        return git.Repo(target, search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ScanError(f"{target}: not a git repository") from None


def resolve(repo: Repo, revision: str) -> str:
    """The commit hash a revision names, or :class:`ScanError`."""
    import git

    try:
        out: str = repo.git.rev_parse("--verify", "--quiet", f"{revision}^{{commit}}")
    except git.GitCommandError:
        raise ScanError(f"bad revision {revision!r}: no such commit in {repo.working_dir}") from None
    return out.strip()


def _git_bytes(repo: Repo, *args: str) -> bytes:
    import git

    try:
        out: bytes = repo.git.execute(
            ["git", "-c", "core.quotepath=off", *args],
            stdout_as_string=False,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandError as exc:
        stderr = str(exc.stderr or "").strip().strip("'").strip()
        raise ScanError(f"git {args[0]} failed in {repo.working_dir}: {stderr or exc}") from None
    return out


def _origin_url(repo: Repo) -> str | None:
    try:
        url: str = repo.remote("origin").url
    except Exception:  # no origin, or a config gitpython cannot read
        return None
    return url or None


def _log(repo: Repo, head: str, options: ScanOptions) -> list[tuple[str, list[str], str, str, str]]:
    args = ["log", f"--format={_LOG_FORMAT}", "--no-color", "--date-order"]
    if options.since:
        args.append(f"--since={options.since}")
    if options.until:
        args.append(f"--until={options.until}")
    if options.max_commits is not None:
        args.append(f"--max-count={int(options.max_commits)}")
    args += [head, "--"]
    raw = _git_bytes(repo, *args).decode("utf-8", errors="replace")
    entries = []
    for chunk in raw.split("\x1e")[1:]:
        parts = chunk.split("\x00", 4)
        if len(parts) != 5:
            continue
        sha, parents, date, author, message = parts
        entries.append((sha, parents.split(), date, author, message.strip("\n")))
    return entries


def _git_stdin(repo: Repo, args: Sequence[str], lines: Sequence[str]) -> bytes:
    """One git process fed ``lines`` on stdin (``diff-tree --stdin`` over many commits)."""
    import subprocess

    done = subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=repo.working_dir,
        input="".join(f"{line}\n" for line in lines).encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip()
        raise ScanError(f"git {args[0]} failed in {repo.working_dir}: {stderr or done.returncode}")
    return done.stdout


def _diff_batch(repo: Repo, pairs: Sequence[tuple[str, str]], raw: bool) -> dict[str, bytes]:
    """The diff of each (commit, parent) pair from one ``git diff-tree --stdin`` per chunk.

    ``raw``: NUL-separated ``--raw --numstat`` records; else the unified patch. Each commit's
    output starts with its hash (a token or a line of its own); a commit whose diff is empty
    prints nothing and is absent from the answer.
    """
    wanted = {sha for sha, _parent in pairs}
    out: dict[str, bytes] = {}
    mode = ["-z", "--raw", "--numstat"] if raw else ["-p", "--no-color", "--no-ext-diff"]
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        data = _git_stdin(repo, ["diff-tree", "--stdin", "-r", "-M", *mode], [f"{s} {p}" for s, p in chunk])
        separator = b"\x00" if raw else b"\n"
        current: str | None = None
        begin = 0
        position = 0
        for piece in data.split(separator):
            token = piece.decode("ascii", errors="replace") if len(piece) == 40 else ""
            if token in wanted:
                if current is not None:
                    out[current] = data[begin:position]
                current = token
                begin = position + len(piece) + 1
            position += len(piece) + 1
        if current is not None:
            out[current] = data[begin:]
    return out


_CHUNK = 500


def _raw_numstat(data: bytes) -> list[FileChange]:
    """Parse ``git diff-tree -r -M -z --raw --numstat``: raw records, then numstat records."""
    tokens = data.decode("utf-8", errors="surrogateescape").split("\x00")
    raws: list[tuple[str, str, str, str, str, str | None]] = []  # mode_a, mode_b, blob_a, blob_b, status+path...
    paths: list[tuple[str, str | None]] = []
    counts: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token:
            i += 1
            continue
        if token.startswith(":"):
            mode_a, mode_b, blob_a, blob_b, status = token[1:].split(" ")[:5]
            if status[:1] in ("R", "C"):
                old, new = tokens[i + 1], tokens[i + 2]
                i += 3
            else:
                old, new = tokens[i + 1], tokens[i + 1]
                i += 2
            raws.append((mode_a, mode_b, blob_a, blob_b, status[:1], old))
            paths.append((new, old if status[:1] in ("R", "C") else None))
        else:
            plus, minus, path = token.split("\t", 2)
            i += 3 if path == "" else 1
            binary = plus == "-"
            counts.append((0 if binary else int(plus), 0 if binary else int(minus), binary))
    changes = []
    for index, (mode_a, mode_b, blob_a, blob_b, status, _old) in enumerate(raws):
        path, old_path = paths[index]
        added, deleted, binary = counts[index] if index < len(counts) else (0, 0, False)
        submodule = SUBMODULE_MODE in (mode_a, mode_b)
        null = set("0")
        changes.append(
            FileChange(
                path=path,
                status=status,
                old_path=old_path,
                added=0 if submodule else added,
                deleted=0 if submodule else deleted,
                binary=binary and not submodule,
                submodule=submodule,
                is_test=is_test_path(path),
                is_docs=is_docs_path(path),
                is_source=is_source_path(path) and not submodule,
                old_blob=None if set(blob_a) <= null else blob_a,
                new_blob=None if set(blob_b) <= null else blob_b,
                old_mode=mode_a,
                new_mode=mode_b,
            )
        )
    return changes


def _unquote(path: str) -> str:
    if path.startswith('"') and path.endswith('"'):
        return path[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode()
    return path


def _hunks_per_file(patch: str) -> Counter[str]:
    """Hunk headers per new path (old path for deleted files) of a unified patch."""
    hunks: Counter[str] = Counter()
    old = new = ""
    for line in patch.splitlines():
        if line.startswith("--- "):
            old = _unquote(line[4:].rstrip("\t"))
            old = old[2:] if old.startswith("a/") else old
        elif line.startswith("+++ "):
            new = _unquote(line[4:].rstrip("\t"))
            new = new[2:] if new.startswith("b/") else new
        elif line.startswith("@@ "):
            hunks[new if new != "/dev/null" else old] += 1
        elif line.startswith("diff --git "):
            old = new = ""
    return hunks


def _with_hunks(files: list[FileChange], patch: str) -> list[FileChange]:
    from dataclasses import replace

    hunks = _hunks_per_file(patch)
    return [replace(f, hunks=hunks.get(f.path, 0)) if not (f.binary or f.submodule) else f for f in files]


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
