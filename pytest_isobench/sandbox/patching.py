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

_HEADER = re.compile(r"^(?:---|\+\+\+) (?:[ab]/)?(\S+)", re.MULTILINE)
_GIT_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.MULTILINE)


def touched_paths(patch: str) -> list[str]:
    """Every path a unified diff names (old and new sides), without ``a/`` / ``b/``."""
    paths: list[str] = []
    for match in _GIT_HEADER.finditer(patch):
        paths.extend(match.groups())
    paths.extend(p for p in _HEADER.findall(patch) if p != "/dev/null")
    return list(dict.fromkeys(paths))


def check_paths(patch: str) -> list[str]:
    """Refuse patches that reach outside the repository; return the files touched."""
    if not patch.strip():
        raise PatchError("empty patch: no change")
    paths = touched_paths(patch)
    if not paths:
        raise PatchError("not a unified diff: no file headers found")
    for path in paths:
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or parts[0] == ".git":
            raise PatchError(f"patch touches a path outside the repository: {path!r}")
    return paths


# Files the harness writes or the build leaves, never part of a captured patch.
DIFF_EXCLUDES = (
    ":(exclude)_isobench_*",
    ":(exclude,glob)**/__pycache__/**",
    ":(exclude,glob)**/*.pyc",
    ":(exclude,glob)**/*.egg-info/**",
    ":(exclude,glob)build/**",
)
