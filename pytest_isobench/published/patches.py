"""Harness artefacts inside an agent's patch, removed before the patch is used.

ISO-Bench's published patches sometimes carry the harness's own files: the
``model_patch.diff`` the harness was writing when it took the diff (seen in codex runs),
scratch scripts under ``.bench_scratch/``, and our own ``_isobench_*`` files. Such a file
is never part of the agent's optimisation, and applying it would either fail or put
harness state into the timed checkout, so it is dropped, and the drop is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["HARNESS_PATTERNS", "CleanPatch", "clean_patch", "is_harness_path"]

HARNESS_PATTERNS: tuple[str, ...] = (
    r"(^|/)model_patch\.diff$",
    r"(^|/)_isobench_[^/]*$",
    r"(^|/)_isobench_[^/]*/",
    r"^\.bench_scratch/",
)
_HARNESS = re.compile("|".join(HARNESS_PATTERNS))
_DIFF_HEADER = re.compile(r"^diff --git a/(.*?) b/(.*)$")


def is_harness_path(path: str) -> bool:
    """True for a file the harness wrote, not the agent (see :data:`HARNESS_PATTERNS`)."""
    return bool(_HARNESS.search(path))


@dataclass(frozen=True)
class CleanPatch:
    """A patch with the harness's files taken out; ``removed`` lists their paths."""

    patch: str
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.patch.strip()

    @property
    def warning(self) -> str | None:
        if not self.removed:
            return None
        return "harness artefacts removed from the patch: " + ", ".join(self.removed)


def _sections(patch: str) -> list[tuple[str | None, list[str]]]:
    """Split a git diff into (path, lines) per ``diff --git`` section; text before the
    first header (a preamble) has path None."""
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in patch.splitlines(keepends=True):
        match = _DIFF_HEADER.match(line.rstrip("\n"))
        if match:
            sections.append((match.group(2), [line]))
        else:
            sections[-1][1].append(line)
    return sections


def clean_patch(patch: str) -> CleanPatch:
    """Drop every ``diff --git`` section whose file is a harness artefact."""
    kept: list[str] = []
    removed: list[str] = []
    for path, lines in _sections(patch):
        if path is not None and is_harness_path(path):
            removed.append(path)
            continue
        kept.extend(lines)
    text = "".join(kept)
    if not text.strip():
        text = ""
    return CleanPatch(text, removed)
