"""How a patch goes into a checkout and comes out of it, one implementation for every backend.

Everything here runs through ``Sandbox.exec`` and ``Sandbox.write_file``, so the docker and
local backends (and a third party's) apply and capture patches the same way:

- apply: ``git apply``, then ``git apply --3way``, then ``patch -p1 --fuzz``; the first that
  works is reported. After each failed attempt the checkout goes back to the snapshot taken
  before the first one, new files included; when every attempt fails, the rejected hunks
  (``git apply --reject``'s ``.rej`` files) and each attempt's output are in the ``PatchError``.
- capture: one ``git diff --binary`` against the sandbox's base commit, of tracked changes and
  of new files except the harness's and the build's (:data:`NOT_CAPTURED`).

A patch that touches a path outside the repository is refused before any attempt. Git runs
without the user's or the system's configuration, so the host's settings cannot make the
local backend differ from a container.
"""

from __future__ import annotations

import base64
import re
import shlex
from typing import TYPE_CHECKING

from .protocol import PatchError, PatchResult, SandboxError

if TYPE_CHECKING:
    from .protocol import ExecResult, Sandbox

METHOD_GIT_APPLY = "git apply"
METHOD_3WAY = "git apply --3way"
METHOD_PATCH = "patch --fuzz"
# The patch file lives in the checkout (``write_file`` can put it nowhere else); its name
# keeps it out of every capture.
PATCH_FILE = "_isobench_patch.diff"
CAPTURE_FILE = "_isobench_capture.diff"
_CHUNK_BYTES = 4 * 1024 * 1024  # 5.6 MB as base64: under the tail ``exec`` keeps of an output

# (method, command), tried in this order: exact first, then a merge against the blobs the
# patch names (exact when they are known), then context fuzz as the last resort.
STRATEGIES: tuple[tuple[str, str], ...] = (
    (METHOD_GIT_APPLY, f"git apply --whitespace=nowarn {PATCH_FILE}"),
    (METHOD_3WAY, f"git apply --3way --whitespace=nowarn {PATCH_FILE}"),
    (METHOD_PATCH, f"patch -p1 --fuzz=3 --batch --forward --no-backup-if-mismatch -i {PATCH_FILE}"),
)

# New files never part of a captured patch (gitignore syntax): what the harness writes and
# what a build leaves. Files the repository tracks under these names still count.
NOT_CAPTURED = ("_isobench_*", "__pycache__/", "*.pyc", "*.egg-info/", "/build/")

# No user or system git configuration (aliases, diff.renames, apply.whitespace, autocrlf):
# the same commands give the same result on the host and in a container.
GIT_ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
GIT_TIMEOUT_S = 600.0
_DIFF = "git diff --cached --binary --no-color --no-ext-diff --find-renames"


def excludes_file() -> str:
    """:data:`NOT_CAPTURED` as an ``info/exclude`` file (what ``git status`` hides from an agent)."""
    return "".join(f"{pattern}\n" for pattern in NOT_CAPTURED)


def _git(sandbox: Sandbox, script: str, what: str) -> ExecResult:
    """Run one of our git scripts; a failure is the infrastructure's (``SandboxError``)."""
    result = sandbox.exec(script, GIT_TIMEOUT_S, env=GIT_ENV)
    if not result.ok:
        raise SandboxError(f"{what} failed in {sandbox.spec.task_id}/{sandbox.spec.variant}: {result.tail(10)}")
    return result


def _stage(base: str) -> str:
    """A script that makes the index ``base`` plus every change worth capturing."""
    excludes = " ".join(f"--exclude={shlex.quote(p)}" for p in NOT_CAPTURED)
    b = shlex.quote(base)
    # ``-m`` keeps the stat data of unchanged entries (no rehash of a large tree); it refuses
    # an index with conflicts, which ``--reset`` then discards.
    return (
        f"{{ git read-tree -m {b} 2>/dev/null || git read-tree --reset {b}; }}"
        " && git add -u -- ."
        f" && git ls-files -z -o --exclude-standard {excludes} | xargs -0 -r git add --"
    )


def capture(sandbox: Sandbox, base: str) -> str:
    """The checkout's changes against ``base`` as one binary-safe unified diff.

    The diff is written to a file in the checkout and read back in base64 chunks, each
    well under what ``exec`` keeps of a command's output, so a large patch arrives whole.
    """
    out = CAPTURE_FILE
    try:
        made = _git(sandbox, f"{_stage(base)} && {_DIFF} {shlex.quote(base)} -- . > {out} && wc -c < {out}", "capture")
        size = int(made.stdout.strip() or 0)
        data = bytearray()
        while len(data) < size:
            chunk = _git(sandbox, f"tail -c +{len(data) + 1} {out} | head -c {_CHUNK_BYTES} | base64 -w0", "capture")
            piece = base64.b64decode(chunk.stdout.strip())
            if not piece:
                raise SandboxError(f"patch capture in {sandbox.spec.task_id}: {out} ended at {len(data)} of {size}")
            data += piece
    finally:
        sandbox.exec(f"rm -f {out}", 60.0)
    return data.decode("utf-8", "replace")


def apply(sandbox: Sandbox, base: str, patch: str) -> PatchResult:
    """Apply ``patch`` with the first strategy that works; ``PatchError`` when none does.

    ``base`` is the commit the sandbox started from (the snapshot is taken against it).
    """
    files = tuple(check_paths(patch))
    sandbox.write_file(PATCH_FILE, patch if patch.endswith("\n") else patch + "\n")
    try:
        tree = _git(sandbox, f"{_stage(base)} && git write-tree", "snapshot before the patch").stdout.strip()
        errors: list[str] = []
        for method, command in STRATEGIES:
            result = sandbox.exec(command, GIT_TIMEOUT_S, env=GIT_ENV)
            if result.ok:
                return PatchResult(method=method, files=files)
            errors.append(f"$ {method}\n{result.tail(15)}")
            restore(sandbox, tree, files)
        hunks = _rejected_hunks(sandbox, tree, files)
    finally:
        sandbox.exec(f"rm -f {PATCH_FILE}", 60.0)
    tried = ", ".join(method for method, _ in STRATEGIES)
    raise PatchError(
        f"patch does not apply to {sandbox.spec.task_id}/{sandbox.spec.variant} (tried {tried}); "
        f"files: {', '.join(files)}",
        rejected=(hunks + "\n" + "\n".join(errors)).strip()[-6000:],
    )


def restore(sandbox: Sandbox, tree: str, files: tuple[str, ...]) -> None:
    """Put the checkout back to the snapshot ``tree``: contents, deletions and new files."""
    leftovers = [name for f in files for name in (f, f + ".rej", f + ".orig")]
    # read-tree puts back what the snapshot has and removes what an attempt added to the
    # index (--3way); clean removes what it created outside the index, ignored or not; rmdir
    # removes the directories it made for them (``-p`` stops at the first one not empty).
    script = (
        'git read-tree --reset -u "$0" && git clean -fdqx -- "$@"'
        ' && for f in "$@"; do d=$(dirname -- "$f"); [ "$d" = . ] || rmdir -p -- "$d" 2>/dev/null; done; true'
    )
    _git(sandbox, " ".join(shlex.quote(a) for a in ("sh", "-c", script, tree, *leftovers)), "undoing a failed patch")


def _rejected_hunks(sandbox: Sandbox, tree: str, files: tuple[str, ...]) -> str:
    """The hunks that do not apply, from ``git apply --reject``'s ``.rej`` files."""
    listing = 'for f in "$@"; do [ -f "$f.rej" ] && { echo "--- $f.rej"; cat -- "$f.rej"; }; done; true'
    quoted = " ".join(shlex.quote(f) for f in files)
    result = sandbox.exec(
        f"git apply --reject --whitespace=nowarn {PATCH_FILE} >/dev/null 2>&1;"
        f" sh -c {shlex.quote(listing)} sh {quoted}",
        GIT_TIMEOUT_S,
        env=GIT_ENV,
    )
    restore(sandbox, tree, files)
    return result.stdout.strip()


_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def check_relpath(path: str) -> str:
    """``path`` if it stays inside the checkout (relative, no ``..``); ``ValueError`` if not."""
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or "\\" in path:
        raise ValueError(f"path {path!r} is outside the repository")
    return "/".join(p for p in parts if p not in ("", "."))


def _unquote(raw: str) -> str:
    """A path as git writes it: C-quoted (``"a/t\\303\\251st"``) when it has odd bytes."""
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw
    out = bytearray()
    body, i = raw[1:-1], 0
    escapes = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out += bytes([escapes[nxt]]) if nxt in escapes else nxt.encode()
            i += 2
            continue
        out += ch.encode()
        i += 1
    return out.decode("utf-8", "replace")


def _patch_path(raw: str) -> str | None:
    """The repository path one header names (``-p1``), or None for ``/dev/null``."""
    path = _unquote(raw.split("\t")[0].strip())
    if path == "/dev/null":
        return None
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or ".git" in parts[1:2]:
        raise PatchError(
            f"patch refused: it touches {path!r}, a path outside the repository",
            rejected=path,
        )
    return path.split("/", 1)[1] if "/" in path else path


def _git_header_path(line: str) -> str | None:
    """The new path a ``diff --git a/X b/Y`` line names (the only name of a binary or mode change)."""
    rest = line[len("diff --git ") :]
    if rest.endswith('"'):  # C-quoted names: the second quoted token
        start = rest.rfind(' "')
        return _patch_path(rest[start + 1 :]) if start >= 0 else None
    # Unquoted names may hold spaces: without a rename both halves name the same file.
    for i in range(len(rest)):
        if rest.startswith(" b/", i) and rest[2:i] == rest[i + 3 :]:
            return _patch_path(rest[i + 1 :])
    tokens = rest.split()
    return _patch_path(tokens[-1]) if len(tokens) >= 2 else None


def patch_files(patch: str) -> tuple[str, ...]:
    """The repository paths a unified diff touches; ``PatchError`` for paths outside it."""
    files: list[str] = []
    old: str | None = None
    header: str | None = None  # a ``diff --git`` file with no ---/+++ lines yet (binary, mode, empty)
    remaining_old = remaining_new = 0

    def add(path: str | None) -> None:
        if path is not None and path not in files:
            files.append(path)

    for line in patch.splitlines():
        if remaining_old > 0 or remaining_new > 0:  # inside a hunk: content, not headers
            tag = line[:1]
            if tag in (" ", ""):
                remaining_old, remaining_new = remaining_old - 1, remaining_new - 1
            elif tag == "-":
                remaining_old -= 1
            elif tag == "+":
                remaining_new -= 1
            continue
        hunk = _HUNK.match(line)
        if hunk:
            remaining_old = int(hunk.group(1) if hunk.group(1) is not None else 1)
            remaining_new = int(hunk.group(2) if hunk.group(2) is not None else 1)
        elif line.startswith("diff --git "):
            add(header)
            # Splitting on spaces may cut a name in two, which can only make the check stricter.
            for token in line.split()[2:]:
                _patch_path(token.strip('"'))
            header = _git_header_path(line)
        elif line.startswith("--- "):
            old = _patch_path(line[4:])
        elif line.startswith("+++ "):
            new = _patch_path(line[4:])
            add(new if new is not None else old)
            header = None
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            add(_patch_path("x/" + line.split(" ", 2)[2]))
            header = None
    add(header)
    return tuple(files)


def check_paths(patch: str) -> list[str]:
    """Refuse empty patches and patches that reach outside the repository; the files touched."""
    if not patch.strip():
        raise PatchError("empty patch: no change")
    files = patch_files(patch)
    if not files:
        raise PatchError("not a unified diff: no file headers found")
    return list(files)
