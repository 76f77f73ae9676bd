"""Reading a repository for the scan: one ``git log``, batched ``diff-tree`` runs, patches.

Batches ``git diff-tree --stdin`` over chunks of commits instead of two processes per
commit; parses raw/numstat output into :class:`~.model.FileChange` records (renames,
binary files, submodules) and counts hunks per file. Decides nothing about perf commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from git import Repo

from .model import FileChange, ScanError, ScanOptions
from .names import is_docs_path, is_source_path, is_test_path

SUBMODULE_MODE = "160000"

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

    hunks = _hunks_per_file(patch)
    return [replace(f, hunks=hunks.get(f.path, 0)) if not (f.binary or f.submodule) else f for f in files]
