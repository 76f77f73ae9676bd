"""The perf-test generation prompt: a versioned template filled from what a task knows.

The template is a file in the package (``templates/perf_test_v<N>.md``) with ``${name}``
placeholders (:class:`string.Template`, so the braces of code and JSON in it need no
escaping). It is filled with the commit's subject and message, its changed APIs and
files, the human diff, excerpts of the repository's source at the baseline (each one and
all together truncated) and the packages a test may import. Unlike the agents' prompt,
this one shows the human diff: the test must exercise what the human changed. A change
to the template is a new version: :data:`PROMPT_VERSION` is recorded in every generated
file's header. :func:`repo_context` reads the diff and sources from a local clone.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..dataset.models import Task

PROMPT_VERSION = "2"
SYSTEM = (
    "You are an expert performance engineer. You write small, deterministic benchmark "
    "scripts that measure exactly one code path. You answer exactly in the format asked."
)
MAX_DIFF_CHARS = 40_000
MAX_SOURCE_CHARS = 20_000
MAX_SOURCES_CHARS = 60_000
MAX_MESSAGE_CHARS = 8_000

_MESSAGE_FIELDS = ("commit_message", "gt_commit_message")
_DIFF_FIELDS = ("diff_text", "gt_diff", "patch")


@cache
def template_text(version: str = PROMPT_VERSION) -> str:
    """The template of ``version`` as shipped in the package."""
    ref = resources.files("pytest_isobench.testgen").joinpath("templates", f"perf_test_v{version}.md")
    return ref.read_text(encoding="utf-8")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not shown]"


def _long_field(task: Task, names: Sequence[str]) -> str | None:
    for name in names:
        try:
            value = task.long_field(name)
        except (LookupError, OSError, ValueError):
            continue
        if isinstance(value, str) and value.strip():
            return value
    return None


@dataclass(frozen=True)
class RepoContext:
    """What a clone tells the prompt: the human diff, source excerpts, importable packages."""

    diff: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    packages: tuple[str, ...] = ()


def render_prompt(
    task: Task,
    *,
    diff: str | None = None,
    sources: Mapping[str, str] | None = None,
    allowed_imports: Sequence[str] = (),
    python: str = "python",
    version: str = PROMPT_VERSION,
) -> str:
    """The user message asking for ``task``'s perf test (see the module doc).

    ``diff`` falls back to the record's own diff field (``diff_text``, ``gt_diff``, ...)
    when the caller has none; the commit message is read back from the record.
    """
    message = _long_field(task, _MESSAGE_FIELDS) or task.subject or "(not known)"
    human_diff = diff if diff is not None else _long_field(task, _DIFF_FIELDS)
    parts: list[str] = []
    budget = MAX_SOURCES_CHARS
    for path, text in (sources or {}).items():
        if budget <= 0:
            parts.append(f"[... {path} and further files not shown]")
            break
        shown = truncate(text, min(MAX_SOURCE_CHARS, budget))
        budget -= len(shown)
        parts.append(f"`{path}`:\n```\n{shown.rstrip()}\n```")
    values: dict[str, Any] = {
        "instance_id": task.instance_id,
        "subject": task.subject or "(not known)",
        "commit_message": truncate(message.strip(), MAX_MESSAGE_CHARS),
        "apis": "\n".join(f"- {api}" for api in task.apis[:40]) or "(not known)",
        "files": "\n".join(f"- {path}" for path in task.files_changed[:60]) or "(not known)",
        "diff": truncate(human_diff.strip(), MAX_DIFF_CHARS) if human_diff else "(not available)",
        "sources": "\n\n".join(parts) or "(none available)",
        "allowed_imports": ", ".join(sorted(set(allowed_imports))) or "(none: standard library only)",
        "python": python,
    }
    return Template(template_text(version)).substitute(values)


def retry_message(reason: str) -> str:
    """The follow-up sent after an answer was rejected, with the reason."""
    return (
        f"Your script was rejected: {reason.strip()}\n\n"
        "Fix this and answer again with the whole corrected script in a single ```python code block."
    )


def _git(repo_dir: Path, *args: str, timeout_s: float = 60.0) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=repo_dir,
            capture_output=True,
            timeout=timeout_s,
            check=False,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def top_level_packages(paths: Sequence[str]) -> tuple[str, ...]:
    """Importable top-level names of a file listing: packages (``x/__init__.py``, ``src/x/...``) and modules."""
    names: set[str] = set()
    for path in paths:
        parts = path.split("/")
        if parts[0] == "src" and len(parts) > 2:
            parts = parts[1:]
        if len(parts) >= 2 and parts[-1] == "__init__.py" and len(parts) == 2:
            names.add(parts[0])
        elif len(parts) == 1 and parts[0].endswith(".py") and parts[0] not in ("setup.py", "conftest.py"):
            names.add(parts[0][:-3])
    return tuple(sorted(n for n in names if n.isidentifier() and not n.startswith(("_isobench", "test"))))


def repo_context(
    repo_dir: Path,
    base: str,
    head: str,
    files: Sequence[str] = (),
    *,
    max_files: int = 8,
) -> RepoContext:
    """The human diff (``base``..``head``), the changed Python files at ``base``, the packages.

    Reads a local clone with git; a file or a command that fails is left out, never raised.
    """
    diff = _git(repo_dir, "diff", "--no-color", "--no-ext-diff", base, head)
    listing = (_git(repo_dir, "ls-tree", "-r", "--name-only", base) or "").splitlines()
    wanted = [f for f in files if f.endswith(".py")][:max_files]
    sources: dict[str, str] = {}
    for path in wanted:
        text = _git(repo_dir, "show", f"{base}:{path}")
        if text is not None:
            sources[path] = text
    return RepoContext(diff=diff, sources=sources, packages=top_level_packages(listing))


def stdlib_modules() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names)
