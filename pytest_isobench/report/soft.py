"""Soft metrics: how close is the agent's patch to the human's, beyond the timings?

Judge-free measures: the Jaccard overlap of the files the two diffs touch, and the
precision and recall of the agent's changed lines against the human's (a changed line is
``(file, "+" or "-", text stripped of surrounding whitespace)``; blank lines are ignored;
lines are compared as multisets). An optional LLM judge, reached through the ``openai``
client (``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``), answers a fixed JSON shape validated by
pydantic; answers are cached on disk per (sha256 of the patches, judge model). A judge
that fails leaves that task's judgement missing, with the reason. Nothing is measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..atomic import atomic_write
from ..redact import public_endpoint
from ..results.record import TaskRecord, as_records
from .tables import group_key

PROMPT_VERSION = "isobench.judge/1"
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


# ---------------------------------------------------------------- judge-free measures


def _path_of(header: str) -> str | None:
    name = header.split("\t")[0].strip()
    if name == "/dev/null":
        return None
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return name


def changed_lines(diff: str) -> dict[str, Counter[tuple[str, str]]]:
    """File -> multiset of its changed lines ``(sign, stripped text)`` in a unified diff.

    Hunks are read by their ``@@ -a,b +c,d @@`` line counts, so a removed line that
    itself starts with ``-- `` is not mistaken for the next file's header.
    """
    files: dict[str, Counter[tuple[str, str]]] = {}
    current: str | None = None
    old: str | None = None
    old_left = new_left = 0
    for line in diff.splitlines():
        if old_left > 0 or new_left > 0:
            sign = line[:1]
            if sign == "\\":
                continue
            if sign == "-":
                old_left -= 1
            elif sign == "+":
                new_left -= 1
            else:  # context (" " or an empty line some tools leave for a blank one)
                old_left -= 1
                new_left -= 1
                continue
            if current is not None and line[1:].strip():
                files[current][(sign, line[1:].strip())] += 1
            continue
        if line.startswith("diff --git "):
            parts = line.split()
            current = parts[-1][2:] if len(parts) >= 4 and parts[-1].startswith("b/") else None
            if current is not None:
                files.setdefault(current, Counter())
        elif line.startswith("--- "):
            old = _path_of(line[4:])
        elif line.startswith("+++ "):
            current = _path_of(line[4:]) or old
            if current is not None:
                files.setdefault(current, Counter())
        elif match := _HUNK.match(line):
            old_left = int(match.group(1)) if match.group(1) is not None else 1
            new_left = int(match.group(2)) if match.group(2) is not None else 1
    return files


def file_jaccard(agent_diff: str, human_diff: str) -> float | None:
    """|A & H| / |A | H| (Jaccard) over the files the two diffs touch; None when neither touches any."""
    a, h = set(changed_lines(agent_diff)), set(changed_lines(human_diff))
    union = a | h
    return len(a & h) / len(union) if union else None


def line_precision_recall(agent_diff: str, human_diff: str) -> tuple[float | None, float | None]:
    """(precision, recall) of the agent's changed lines against the human's.

    Precision: the share of the agent's changed lines that the human changed the same
    way, in the same file; recall: the share of the human's changed lines the agent
    matched. None where the denominator is empty.
    """
    a_files, h_files = changed_lines(agent_diff), changed_lines(human_diff)

    def flat(files: dict[str, Counter[tuple[str, str]]]) -> Counter[tuple[str, str, str]]:
        return Counter({(f, s, t): n for f, lines in files.items() for (s, t), n in lines.items()})

    a, h = flat(a_files), flat(h_files)
    common = sum((a & h).values())
    n_a, n_h = sum(a.values()), sum(h.values())
    return (common / n_a if n_a else None, common / n_h if n_h else None)


# ---------------------------------------------------------------- the LLM judge


class QualityScores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    correctness: int = Field(ge=0, le=10)
    readability: int = Field(ge=0, le=10)
    maintainability: int = Field(ge=0, le=10)
    generality: int = Field(ge=0, le=10)


class Judgement(BaseModel):
    """What the judge must answer, as one JSON object."""

    model_config = ConfigDict(extra="ignore")
    bottleneck: Literal["same", "related", "different", "none"]
    approach: Literal["similar", "partial", "alternative", "ineffective"]
    speedup_likelihood: float = Field(ge=0.0, le=1.0)
    failure_mode: str
    quality: QualityScores


SYSTEM_PROMPT = (
    "You review performance patches. Compare the agent's patch with the human expert's patch for the "
    "same optimisation task. Answer with one JSON object and nothing else, with the keys: "
    '"bottleneck" (one of "same", "related", "different", "none": does the agent target the bottleneck '
    'the human fixed?), "approach" (one of "similar", "partial", "alternative", "ineffective"), '
    '"speedup_likelihood" (a number from 0 to 1: how likely the agent patch speeds up the workload), '
    '"failure_mode" (a short phrase, "none" when it looks sound), and "quality": an object with integer '
    'scores from 0 to 10 for "correctness", "readability", "maintainability" and "generality".'
)


def cache_key(agent_patch: str, human_patch: str, model: str) -> str:
    """sha256 over the two patches, the judge model and the prompt version."""
    digest = hashlib.sha256()
    for part in (PROMPT_VERSION, model, agent_patch, human_patch):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


class JudgeError(Exception):
    """The judge gave no valid answer (the reason is the message)."""


def _parse_answer(text: str) -> Judgement:
    body = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", body, re.S)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise JudgeError(f"judge answer is not JSON ({exc}): {text[:200]!r}") from exc
    try:
        return Judgement.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise JudgeError(f"judge answer does not fit the schema: {where}: {first['msg']}") from exc


@dataclass
class Judge:
    """An OpenAI-compatible judge with an on-disk cache."""

    model: str
    cache_dir: Path
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 2
    requests: int = 0  # answers fetched from the server (cache misses)
    _client: Any = field(default=None, repr=False)

    def _chat(self, prompt: str) -> str:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.base_url or os.environ.get("OPENAI_BASE_URL") or None,
                api_key=self.api_key or os.environ.get("OPENAI_API_KEY") or "unset",
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            )
        self.requests += 1
        response = self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
            temperature=0,
            response_format={"type": "json_object"},
        )
        if not hasattr(response, "choices"):  # a body that is not JSON comes back as text
            raise JudgeError(f"the judge's answer is not JSON: {str(response)[:200]!r}")
        content = response.choices[0].message.content if response.choices else None
        if not content:
            raise JudgeError("judge returned an empty answer")
        return str(content)

    def _failure(self, exc: Exception) -> str:
        """Why no answer came: the endpoint, the tries and the last status; never the key."""

        endpoint = public_endpoint(self.base_url or os.environ.get("OPENAI_BASE_URL"))
        status = getattr(exc, "status_code", None)
        last = f"last status {status}" if status is not None else type(exc).__name__
        text = f"judge request to {endpoint} failed after {self.max_retries + 1} tries at most ({last}): {exc}"
        key = self.api_key or os.environ.get("OPENAI_API_KEY")
        return text.replace(key, "***") if key else text

    def judge(self, agent_patch: str, human_patch: str, task: str = "") -> tuple[Judgement, bool]:
        """The judgement and whether it came from the cache; raises :class:`JudgeError`."""
        key = cache_key(agent_patch, human_patch, self.model)
        path = self.cache_dir / f"{key}.json"
        if path.is_file():
            try:
                return Judgement.model_validate_json(path.read_text(encoding="utf-8")), True
            except (OSError, ValidationError):
                pass  # a damaged cache entry is asked again and overwritten
        prompt = (
            f"Task: {task}\n\n## Human expert patch\n```diff\n{human_patch}\n```\n\n"
            f"## Agent patch\n```diff\n{agent_patch}\n```\n"
        )
        try:
            answer = self._chat(prompt)
        except Exception as exc:  # the openai client's many error types all mean "no answer"
            raise JudgeError(self._failure(exc)) from exc
        judgement = _parse_answer(answer)
        atomic_write(path, judgement.model_dump_json(indent=1) + "\n")
        return judgement, False


# ---------------------------------------------------------------- per task


def human_patch_of(record: TaskRecord) -> str | None:
    """The human diff a record carries (``human_patch``, or an older record's ``human_diff``), if any."""
    for value in (record.human_patch, record.extra("human_diff")):
        if isinstance(value, str) and value.strip():
            return value
    return None


@dataclass
class SoftMetrics:
    item_id: str
    files_jaccard: float | None = None
    line_precision: float | None = None
    line_recall: float | None = None
    judgement: dict[str, Any] | None = None
    cached: bool = False
    missing: str | None = None  # why the judgement (or all soft metrics) is missing

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def soft_metrics(record: TaskRecord | dict[str, Any], judge: Judge | None = None) -> SoftMetrics:
    """The soft metrics of one task record; never raises for a bad patch or a failing judge."""
    [record] = as_records([record])
    return patch_metrics(record.item_id, record.patch, human_patch_of(record), judge)


def patch_metrics(
    item_id: str, agent_patch: str | None, human_patch: str | None, judge: Judge | None = None
) -> SoftMetrics:
    """The soft metrics of an agent's patch against the human's (any source of the two)."""
    result = SoftMetrics(item_id=item_id)
    if not isinstance(agent_patch, str) or not agent_patch.strip():
        result.missing = "no agent patch in the record"
        return result
    if human_patch is None:
        result.missing = "no human diff in the record (human_patch)"
        return result
    result.files_jaccard = file_jaccard(agent_patch, human_patch)
    result.line_precision, result.line_recall = line_precision_recall(agent_patch, human_patch)
    if judge is None:
        return result
    try:
        judgement, result.cached = judge.judge(agent_patch, human_patch, task=result.item_id)
    except JudgeError as exc:
        result.missing = str(exc)
        return result
    result.judgement = judgement.model_dump()
    return result


def soft_metrics_all(
    records: Sequence[TaskRecord | dict[str, Any]], judge: Judge | None = None
) -> dict[str, dict[str, Any]]:
    """Soft metrics of every record with an agent, keyed like the report's task rows."""
    out: dict[str, dict[str, Any]] = {}
    for record in as_records(records):
        if record.agent is None:
            continue
        out[soft_key(record)] = soft_metrics(record, judge).as_dict()
    return out


def soft_key(record: TaskRecord) -> str:
    """The key of a record's soft metrics: its group and item id."""
    return f"{group_key(record).label}::{record.item_id}"
