"""How a patch goes into a checkout, shared by every backend: the same fallbacks, in order.

``git apply``, then ``git apply --3way``, then ``patch -p1 --fuzz``: the first that works
is reported. A patch that touches a path outside the repository is refused before any
attempt. This module only builds commands and checks paths; backends run them.
"""

from __future__ import annotations

import re

from .base import PatchError

PATCH_FILE = "/tmp/isobench.patch"

# (name, command); ``{patch}`` is the patch file's path inside the sandbox.
STRATEGIES: tuple[tuple[str, str], ...] = (
    ("git apply", "git apply --whitespace=nowarn {patch}"),
    ("git apply --3way", "git apply --3way --whitespace=nowarn {patch}"),
    ("patch --fuzz", "patch -p1 --fuzz=3 --batch --forward --no-backup-if-mismatch < {patch}"),
)
# Run when every strategy failed, to show the rejected hunks in the failure message.
REJECT_REPORT = (
    "git apply --reject --whitespace=nowarn {patch} 2>&1; "
    "cat $(git ls-files -o --exclude-standard | grep '\\.rej$') 2>/dev/null; "
    "git checkout -q -- . 2>/dev/null; git clean -qfd -e '_isobench_*' 2>/dev/null; true"
)

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


def patch_files(patch: str) -> tuple[str, ...]:
    """The repository paths a unified diff touches; ``PatchError`` for paths outside it."""
    files: list[str] = []
    old: str | None = None
    remaining_old = remaining_new = 0
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
            # Only checked: the ---/+++ lines name the files. Splitting on spaces may cut
            # a name in two, which can only make the check stricter.
            for token in line.split()[2:]:
                _patch_path(token.strip('"'))
        elif line.startswith("--- "):
            old = _patch_path(line[4:])
        elif line.startswith("+++ "):
            new = _patch_path(line[4:])
            path = new if new is not None else old
            if path is not None and path not in files:
                files.append(path)
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            path = _patch_path("x/" + line.split(" ", 2)[2])
            if path is not None and path not in files:
                files.append(path)
    return tuple(files)


def check_paths(patch: str) -> list[str]:
    """Refuse empty patches and patches that reach outside the repository; the files touched."""
    if not patch.strip():
        raise PatchError("empty patch: no change")
    files = patch_files(patch)
    if not files:
        raise PatchError("not a unified diff: no file headers found")
    return list(files)


# Files the harness writes or the build leaves, never part of a captured patch.
DIFF_EXCLUDES = (
    ":(exclude)_isobench_*",
    ":(exclude,glob)**/__pycache__/**",
    ":(exclude,glob)**/*.pyc",
    ":(exclude,glob)**/*.egg-info/**",
    ":(exclude,glob)build/**",
)
