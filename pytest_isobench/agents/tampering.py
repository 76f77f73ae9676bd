"""Guards against an agent gaming the timing instead of speeding up the code.

Three checks, each a plain function the task run calls:

- :func:`tampered_paths`: the agent's patch must not touch the perf test, anything named
  ``_isobench_*`` (our harness files, the report channel), a file the perf test names
  (its script, a data file in its command line or a path literal in its source), nor a
  file the interpreter runs at start-up (``sitecustomize.py``, ``usercustomize.py``,
  ``*.pth``: the way to patch the timer). A patch that does fails as ``tampering``.
- :func:`checkout_state` / :func:`changed_paths`: every timed run starts from the same
  files. The state (path, size, modification time of every file git does not know as
  committed and unchanged, ignored ones included; ``*.pyc`` left out) is taken once before
  the first run and compared after a variant's first run and once all rounds are done:
  state carried between repetitions through the checkout (a results cache, a rewritten
  source) persists, and fails the variant.
- :func:`review_reason`: an agent speedup far above the human's (by default 10x the human
  speedup) is flagged for review in the record and the report; it is not failed.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ..perf.perftest import script_name
from ..sandbox.patching import patch_files

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..dataset.models import PerfTest
    from ..measure.protocol import Measurement, ProtocolResult
    from ..sandbox.protocol import Sandbox

HARNESS_PREFIX = "_isobench_"
STARTUP_FILES = ("sitecustomize.py", "usercustomize.py")
REVIEW_FACTOR = 10.0
STATE_TIMEOUT_S = 120.0
_LITERAL = re.compile(r"""(['"])([^'"\n\\]{1,300})\1""")


def _normal(path: str) -> str:
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return str(PurePosixPath(path)) if path else ""


def named_files(test: PerfTest) -> set[str]:
    """Paths the perf test names: its script, command-line words, path literals of its source."""
    names = {script_name(test)}
    if test.command:
        try:
            words = shlex.split(test.command)
        except ValueError:
            words = test.command.split()
        for word in words:
            names.update(_normal(part) for part in word.split("=") if "/" in part or "." in part)
    if test.script:
        literals = [m.group(2) for m in _LITERAL.finditer(test.script)]
        names.update(_normal(text) for text in literals if "/" in text or "." in text)
    names.discard("")
    return names


def tampered_paths(patch: str, tests: list[PerfTest]) -> list[str]:
    """The paths of ``patch`` that touch the harness, each with why (empty: none)."""
    if not patch.strip():
        return []
    named = {name: test.name for test in tests for name in named_files(test)}
    found: list[str] = []
    for path in patch_files(patch):
        parts = PurePosixPath(path).parts
        if any(part.startswith(HARNESS_PREFIX) for part in parts):
            found.append(f"{path} (a harness file of pytest-isobench)")
        elif _normal(path) in named:
            found.append(f"{path} (named by perf test {named[_normal(path)]!r})")
        elif parts and (parts[-1] in STARTUP_FILES or parts[-1].endswith(".pth")):
            found.append(f"{path} (run at interpreter start-up: it can patch the timer)")
    return found


def patch_failure(patch: str, tests: list[PerfTest]) -> str | None:
    """The failure detail of a patch that tampers with the harness (``None``: it does not)."""
    paths = tampered_paths(patch, tests)
    if not paths:
        return None
    return "the patch changes files of the timing harness: " + "; ".join(paths)


# Path, size and modification time of every file that is not committed-and-clean, then an
# end mark. git's own failure is not masked (exit 3), and a read without the mark (an output
# cut short, a process killed under memory pressure) is no state: read as empty, it would
# make every untracked file look new after the next run, and a variant would be blamed for
# what the machine did (seen once under a loaded test suite).
_END = "#isobench-state-end"
_STATE = (
    'f="$(mktemp)" || exit 3; '
    'git status --porcelain=v1 -z --untracked-files=all --ignored=traditional > "$f" || { rm -f "$f"; exit 3; }; '
    "tr '\\0' '\\n' < \"$f\" | cut -c4- | grep -v -e '\\.pyc$' -e '__pycache__/' | tr '\\n' '\\0'"
    " | xargs -0 -r stat -c '%n\t%s\t%.9Y' -- 2>/dev/null; "
    f'rm -f "$f"; echo "{_END}"'
)
STATE_TRIES = 2


def checkout_state(sandbox: Sandbox) -> dict[str, str]:
    """``path -> "size mtime"`` for every file of the checkout that differs from its commit.
    Raises ``RuntimeError`` (an infrastructure error, never a variant's) when no complete
    state could be read in :data:`STATE_TRIES` tries."""
    tail = ""
    for _ in range(STATE_TRIES):
        result = sandbox.exec(_STATE, STATE_TIMEOUT_S)
        lines = result.stdout.splitlines()
        if result.ok and lines and lines[-1] == _END:
            state: dict[str, str] = {}
            for line in lines[:-1]:
                path, _, rest = line.partition("\t")
                if path:
                    state[path] = rest
            return state
        tail = result.tail() or f"exit {result.exit_code}, no end mark"
    raise RuntimeError(f"could not read the state of the checkout: {tail}")


def changed_paths(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Paths created, removed or rewritten between two states."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


class CheckoutGuard:
    """Each variant's checkout state, taken before its first run, checked after that run and at the end.

    ``after_run`` turns the first run of a variant that changed its checkout into an error;
    ``finish`` records a change found once all rounds are done as the variant's failure.
    (One check per run would cost about as much as a short perf test.)
    """

    def __init__(self, sandboxes: Mapping[str, Sandbox]) -> None:
        self.sandboxes = dict(sandboxes)
        self.before = {name: checkout_state(sandbox) for name, sandbox in self.sandboxes.items()}
        self.checked: set[str] = set()
        self.found: dict[str, str] = {}  # a change in a sandbox since replaced (``perf.refresh_every``)

    def retire(self, name: str) -> None:
        """The variant's sandbox is about to be replaced: a change it carries is kept for ``finish``."""
        why = self.changed(name)
        if why is not None:
            self.found.setdefault(name, why)

    def adopt(self, name: str, sandbox: Sandbox) -> None:
        """The variant's fresh sandbox (same files, new times): its state now is the one to keep."""
        self.sandboxes[name] = sandbox
        self.before[name] = checkout_state(sandbox)

    def changed(self, name: str) -> str | None:
        paths = changed_paths(self.before[name], checkout_state(self.sandboxes[name]))
        if not paths:
            return None
        return "the run changed the checkout (each run must start from the same files): " + ", ".join(paths[:10])

    def after_run(self, name: str, measured: Measurement) -> Measurement:
        if name in self.checked or measured.error is not None:
            return measured
        self.checked.add(name)
        why = self.changed(name)
        return measured if why is None else dataclasses.replace(measured, value=None, error=why)

    def finish(self, result: ProtocolResult) -> None:
        for name in self.sandboxes:
            if name not in result.failures:
                why = self.found.get(name) or self.changed(name)
                if why is not None:
                    result.failures[name] = why


def review_reason(
    agent_speedup: float | None, human_speedup: float | None, factor: float = REVIEW_FACTOR
) -> str | None:
    """Why an agent speedup needs a human look (``None``: it does not)."""
    if agent_speedup is None or human_speedup is None or human_speedup <= 0:
        return None
    limit = factor * max(human_speedup, 1.0)
    if agent_speedup > limit:
        return (
            f"agent speedup {agent_speedup:.2f}x is above {factor:g}x the human's ({human_speedup:.2f}x): "
            "check the patch for gamed timing"
        )
    return None
