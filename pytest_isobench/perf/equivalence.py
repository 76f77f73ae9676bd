"""Equivalence as the authors of ``setup-experiment`` perf tests wrote it, run before timing.

ISO-Bench's and GSO's harnesses run the baseline with ``--reference`` (the result is
stored with the script's own ``store_result``) and the other variants with ``--eqcheck``
(``check_equivalence(current, reference)`` asserts). Here the driver does the same,
untimed, once per variant before the rounds: the baseline's stored reference travels as
bytes through the harness (kept in the cache, never written into a checkout) and is
handed to the human's and the agent's processes on standard input; each writes it to a
temporary folder of its own, checks, and removes it. The script that checks is the
harness's copy in every checkout, the same bytes as the timed one.

This module runs the processes and reads their answers; what an answer means for the
task (skip, the agent's failure, a task problem) is the task run's decision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..sandbox.conversation import Conversation, Conversing
from .perftest import command_for, json_line

if TYPE_CHECKING:
    from ..dataset.models import PerfTest
    from ..sandbox.protocol import Sandbox

Status = Literal["stored", "same", "differs", "error-code", "crashed", "unchecked"]
MAX_REFERENCE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class VariantCheck:
    """What one variant's process answered."""

    status: Status
    message: str = ""
    code: str | None = None  # ISO-Bench's error code, when the test reported one

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.message:
            data["message"] = self.message
        if self.code:
            data["code"] = self.code
        return data


@dataclass
class EquivalenceOutcome:
    """Every variant's check for one perf test; ``reference`` is the baseline's stored result."""

    test: str
    variants: dict[str, VariantCheck] = field(default_factory=dict)
    reference_bytes: int | None = None
    kept: str | None = None  # where the reference was kept in the cache

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"variants": {v: c.as_dict() for v, c in self.variants.items()}}
        if self.reference_bytes is not None:
            data["reference_bytes"] = self.reference_bytes
        if self.kept is not None:
            data["reference_kept"] = self.kept
        return data


def check(
    sandboxes: Mapping[str, Sandbox],
    test: PerfTest,
    python: str,
    timeout_s: float,
    keep: Path | None = None,
) -> EquivalenceOutcome:
    """Store the baseline's result, then check every other variant against it (in order)."""
    outcome = EquivalenceOutcome(test.name)
    names = list(sandboxes)
    if not all(isinstance(box, Conversing) for box in sandboxes.values()):
        why = "this backend cannot hand the reference to a running process"
        outcome.variants = {n: VariantCheck("unchecked", why) for n in names}
        return outcome
    baseline, others = names[0], names[1:]
    stored, reference = _reference(sandboxes[baseline], test, python, timeout_s)
    outcome.variants[baseline] = stored
    if reference is None:
        why = stored.message if stored.status == "unchecked" else f"no reference: the {baseline} {stored.status}"
        outcome.variants.update({n: VariantCheck("unchecked", why) for n in others})
        return outcome
    outcome.reference_bytes = len(reference)
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(reference, encoding="ascii")
        outcome.kept = str(keep)
    for name in others:
        outcome.variants[name] = _eqcheck(sandboxes[name], test, python, timeout_s, reference)
    return outcome


def _reference(box: Sandbox, test: PerfTest, python: str, timeout_s: float) -> tuple[VariantCheck, str | None]:
    talk = _start(box, command_for(test, python, "--reference"), timeout_s)
    answer = _answer(talk, timeout_s, ("reference", "error"))
    if answer is not None and answer.get("isobench") == "reference":
        tar = answer.get("tar")
        talk.finish(timeout_s)
        if not isinstance(tar, str):
            missing = ", ".join(str(m) for m in answer.get("missing") or []) or "store_result/load_result"
            return VariantCheck("unchecked", f"the perf test has no {missing}: equivalence not checked"), None
        if len(tar) > MAX_REFERENCE_BYTES:
            return VariantCheck("unchecked", f"the stored result is over {MAX_REFERENCE_BYTES} bytes"), None
        return VariantCheck("stored"), tar
    return _failure(talk, answer, timeout_s), None


def _eqcheck(box: Sandbox, test: PerfTest, python: str, timeout_s: float, reference: str) -> VariantCheck:
    talk = _start(box, command_for(test, python, "--eqcheck"), timeout_s)
    talk.send(json.dumps({"reference": reference}))
    answer = _answer(talk, timeout_s, ("equivalence", "error"))
    if answer is not None and answer.get("isobench") == "equivalence":
        talk.finish(timeout_s)
        if answer.get("ok") is True:
            return VariantCheck("same")
        return VariantCheck("differs", str(answer.get("message") or "check_equivalence failed"))
    return _failure(talk, answer, timeout_s)


def _start(box: Sandbox, command: str, timeout_s: float) -> Conversation:
    assert isinstance(box, Conversing)
    return box.converse(command, timeout_s)


def _answer(talk: Conversation, timeout_s: float, kinds: tuple[str, ...]) -> dict[str, Any] | None:
    """The first answer of one of ``kinds``, or None when the output ended (or went silent)."""
    while True:
        try:
            line = talk.receive(timeout_s)
        except TimeoutError:
            talk.kill()
            return None
        if line is None:
            return None
        answer = json_line(line)
        if answer is not None and answer.get("isobench") in kinds:
            return answer


def _failure(talk: Conversation, answer: dict[str, Any] | None, timeout_s: float) -> VariantCheck:
    """An error code the test reported, or a crash with the last of its output."""
    result = talk.finish(timeout_s)
    if answer is not None and answer.get("isobench") == "error":
        code = str(answer.get("code") or "")
        return VariantCheck("error-code", str(answer.get("message") or code), code=code)
    how = "timed out" if result.timed_out else f"exit status {result.exit_code}"
    return VariantCheck("crashed", f"{how}; last output:\n{result.tail()}")
