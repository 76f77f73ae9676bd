"""Optional LLM classification of scanned commits through an OpenAI-compatible server.

For each commit the model answers, as JSON validated by :class:`Classification`, whether it
is a real performance optimisation, which APIs it affects, and why. Answers are cached per
(commit, model) as one JSON file each, so a second run sends no request. Requests run in a
bounded thread pool and are retried with exponential backoff on 429, 5xx and connection
errors. The ``openai`` package is imported only when a request is actually needed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from .scan import CommitInfo

PROMPT_VERSION = 1
MAX_DIFF_CHARS = 12_000
SYSTEM_PROMPT = (
    "You review git commits of a software project. Decide whether the commit is a genuine "
    "performance optimisation of the project's code (faster, less memory, lower latency, higher "
    "throughput), as opposed to a bug fix, refactor, documentation, test or feature that merely "
    "mentions performance. Name the public Python APIs (dotted module.Class.func names) whose "
    "performance the commit changes. Answer with one JSON object: "
    '{"is_perf": bool, "apis": [str], "reason": str, "confidence": number between 0 and 1}.'
)


class Classification(BaseModel):
    """The model's structured answer for one commit."""

    model_config = ConfigDict(extra="ignore")

    is_perf: bool
    apis: list[str] = Field(default_factory=list)
    reason: str = ""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class ClassifyError(Exception):
    """The classification cannot run (no API key, no ``openai`` package)."""


@dataclass(frozen=True)
class ClassifyOptions:
    """Where to ask, how hard to try, and where to cache."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: str | None = None
    cache_dir: Path | None = None
    max_workers: int = 4
    retries: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 120.0


@dataclass
class ClassifyReport:
    """Answers by commit hash, and what it took to get them."""

    answers: dict[str, Classification] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    cached: int = 0
    requested: int = 0
    retried: int = 0

    def summary(self) -> str:
        positives = sum(a.is_perf for a in self.answers.values())
        return (
            f"classified {len(self.answers)} commit(s) ({positives} perf): {self.cached} from the cache, "
            f"{self.requested} request(s), {self.retried} retr{'y' if self.retried == 1 else 'ies'}, "
            f"{len(self.failures)} failure(s)"
        )


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "isobench" / "classify"


def cache_path(cache_dir: Path, sha: str, model: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", model)[:60]
    digest = hashlib.sha256(f"{model}\x00{PROMPT_VERSION}".encode()).hexdigest()[:10]
    return cache_dir / f"{slug}-{digest}" / f"{sha}.json"


def read_cache(path: Path) -> Classification | None:
    try:
        return Classification.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return None


def write_cache(path: Path, answer: Classification) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(answer.model_dump_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prompt_for(commit: CommitInfo) -> str:
    functions = ", ".join(f"{f.name} ({f.change})" for f in commit.functions[:60]) or "none found"
    diff = commit.diff if len(commit.diff) <= MAX_DIFF_CHARS else commit.diff[:MAX_DIFF_CHARS] + "\n[... cut]"
    return (
        f"Commit {commit.sha}\n\nMessage:\n{commit.message}\n\n"
        f"Files: {', '.join(commit.files_changed)}\n"
        f"Changed functions (from the AST): {functions}\n\nDiff:\n{diff}"
    )


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_answer(content: str) -> Classification:
    """Validate the model's text (a JSON object, possibly in a code fence)."""
    return Classification.model_validate_json(_FENCE.sub("", content.strip()))


def _retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.RateLimitError | openai.APIConnectionError | openai.APITimeoutError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _client(options: ClassifyOptions) -> Any:
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - openai is a dependency
        raise ClassifyError("the openai package is not installed") from exc
    key = options.api_key or os.environ.get("OPENAI_API_KEY")
    if not key:
        if options.base_url is None:
            raise ClassifyError("no API key: set OPENAI_API_KEY (or pass --base-url for a local server)")
        key = "unused"
    return openai.OpenAI(api_key=key, base_url=options.base_url, max_retries=0, timeout=options.timeout_s)


def classify_commits(
    commits: Sequence[CommitInfo],
    options: ClassifyOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> ClassifyReport:
    """Classify ``commits``: cached answers first, then bounded concurrent requests."""
    report = ClassifyReport()
    cache_dir = options.cache_dir or default_cache_dir()
    todo: list[CommitInfo] = []
    for commit in commits:
        cached = read_cache(cache_path(cache_dir, commit.sha, options.model))
        if cached is not None:
            report.answers[commit.sha] = cached
            report.cached += 1
        else:
            todo.append(commit)
    if not todo:
        return report
    client = _client(options)
    lock = threading.Lock()
    schema = Classification.model_json_schema()

    def one(commit: CommitInfo) -> None:
        error = "no answer"
        for attempt in range(options.retries + 1):
            with lock:
                report.requested += 1
                if attempt:
                    report.retried += 1
            try:
                response = client.chat.completions.create(
                    model=options.model,
                    messages=[
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": prompt_for(commit)},
                    ],
                    response_format={
                        "type": "json_schema",
                        "json_schema": {"name": "classification", "schema": schema},
                    },
                    temperature=0,
                )
                answer = parse_answer(response.choices[0].message.content or "")
            except ValidationError as exc:
                error = f"invalid answer: {exc.errors()[0]['msg']}"
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
                if attempt < options.retries and _retryable(exc):
                    sleep(options.backoff_s * (2**attempt))
                    continue
                break
            write_cache(cache_path(cache_dir, commit.sha, options.model), answer)
            with lock:
                report.answers[commit.sha] = answer
            return
        with lock:
            report.failures[commit.sha] = error

    with ThreadPoolExecutor(max_workers=max(1, options.max_workers)) as pool:
        list(pool.map(one, todo))
    return report
