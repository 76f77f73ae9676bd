"""The demo projects' histories as data: one directory per commit, read into :class:`Step`.

A project's history is one directory per commit under its ``history/`` (``NN-slug``,
applied in order; step ``NN`` is dated ``2024-01-NN 12:00:00 +0000``). In each step
directory:

``MESSAGE``
    The commit message (subject line, blank line, body).
``DELETE`` (optional)
    Repository paths the step removes, one per line.
``TASK.json`` (optional)
    Marks a performance commit that is a task of the demo suite:
    ``{"apis": [...], "human_performance": <speedup>}``. Its perf test is
    ``perf/<slug with "_" for "-">.py`` and its instance id ``demo-<slug>``.
any other file
    Content the step writes, stored as ``<repository path>.in`` (so the host project's
    linters and type checkers leave it alone); a path component spelt ``dot-X`` stands
    for ``.X`` (so no packaging step drops it as a hidden file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .projects import HISTORY_DIR

if TYPE_CHECKING:
    from pathlib import Path

_CONTROL_FILES = frozenset({"MESSAGE", "DELETE", "TASK.json"})
_PAYLOAD_SUFFIX = ".in"
_DOT_PREFIX = "dot-"


@dataclass(frozen=True)
class Step:
    """One commit of the demo history, read from ``history/NN-slug``."""

    index: int
    slug: str
    path: Path
    message: str
    deletes: tuple[str, ...]
    files: tuple[tuple[str, Path], ...]
    apis: tuple[str, ...] | None
    human_performance: float | None

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0]

    @property
    def date(self) -> str:
        return f"2024-01-{self.index:02d} 12:00:00 +0000"


def _repo_path(stored: Path, step_dir: Path) -> str:
    parts = list(stored.relative_to(step_dir).parts)
    parts[-1] = parts[-1][: -len(_PAYLOAD_SUFFIX)]
    parts = ["." + p[len(_DOT_PREFIX) :] if p.startswith(_DOT_PREFIX) else p for p in parts]
    return "/".join(parts)


def load_steps(history: Path = HISTORY_DIR) -> list[Step]:
    """The steps of the history, oldest first."""
    steps: list[Step] = []
    for step_dir in sorted(p for p in history.iterdir() if p.is_dir()):
        number, _, slug = step_dir.name.partition("-")
        if not number.isdigit() or not slug:
            raise ValueError(f"{step_dir}: a step directory is named NN-slug")
        files: list[tuple[str, Path]] = []
        for stored in sorted(step_dir.rglob("*")):
            control = stored.parent == step_dir and stored.name in _CONTROL_FILES
            if control or not stored.is_file():
                continue
            if "__pycache__" in stored.parts or stored.suffix == ".pyc":
                continue
            if not stored.name.endswith(_PAYLOAD_SUFFIX):
                raise ValueError(f"{stored}: payload files end in {_PAYLOAD_SUFFIX!r}")
            files.append((_repo_path(stored, step_dir), stored))
        delete_file = step_dir / "DELETE"
        deletes: tuple[str, ...] = ()
        if delete_file.exists():
            lines = delete_file.read_text(encoding="utf-8").splitlines()
            deletes = tuple(line.strip() for line in lines if line.strip())
        apis: tuple[str, ...] | None = None
        human: float | None = None
        task_file = step_dir / "TASK.json"
        if task_file.exists():
            meta = json.loads(task_file.read_text(encoding="utf-8"))
            apis = tuple(str(a) for a in meta["apis"])
            raw_human = meta.get("human_performance")
            human = None if raw_human is None else float(raw_human)
        steps.append(
            Step(
                index=int(number),
                slug=slug,
                path=step_dir,
                message=(step_dir / "MESSAGE").read_text(encoding="utf-8"),
                deletes=deletes,
                files=tuple(files),
                apis=apis,
                human_performance=human,
            )
        )
    indexes = [s.index for s in steps]
    if indexes != list(range(1, len(steps) + 1)):
        raise ValueError(f"{history}: steps must be numbered 01, 02, ... without gaps")
    return steps
