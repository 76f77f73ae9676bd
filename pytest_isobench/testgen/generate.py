"""Ask an OpenAI-compatible model for the perf tests that tasks lack, many at a time.

:func:`generate_missing` takes one :class:`GenJob` per task and returns one
:class:`GenOutcome` per item id. A job whose test is cached (or whose record has one)
costs no request. The others run on a thread pool bounded by ``concurrency`` over one
shared ``openai`` client (imported lazily; its own retries off): 429, 408/409, 5xx and
connection errors are retried with exponential backoff (``Retry-After`` honoured), a
request that hangs hits ``timeout_s``. Each answer must hold a ```python block that
compiles and imports only the standard library and the allowed packages; otherwise the
model is asked again with the reason, up to ``attempts`` answers, and the last one is
kept under ``rejected/``. No key, no model, or an endpoint that is down, refuses the key
or times out gives ``skip`` with the fix in the reason; once the endpoint is known to be
down the remaining jobs skip at once. The key is never written or logged: every reason
is scrubbed of it, and headers record the endpoint without credentials.
"""

from __future__ import annotations

import ast
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..dataset.models import PerfTest
from ..dataset.scriptkind import classify
from ..redact import public_endpoint
from . import cache
from .prompt import PROMPT_VERSION, SYSTEM, RepoContext, render_prompt, retry_message, stdlib_modules

if TYPE_CHECKING:
    from ..dataset.models import PerfTest, Task

log = logging.getLogger("pytest_isobench.testgen")

Mode = Literal["never", "missing", "all"]
Status = Literal["generated", "cached", "dataset", "skip", "rejected"]
MODES: tuple[str, ...] = ("never", "missing", "all")
FIX_NO_KEY = (
    "set OPENAI_API_KEY (any non-empty value for a local server) and OPENAI_BASE_URL=http://HOST:PORT/v1, "
    "or use --isobench-generate=never"
)

_FENCE = re.compile(r"```[ \t]*(python3?|py)[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
_RETRY_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class GenJob:
    """One task to write a perf test for.

    ``diff``, ``sources`` and ``allowed_imports`` go into the prompt; ``context``, when
    given, is called in the worker thread (git reads run concurrently) and adds to them.
    """

    item_id: str
    suite: str
    task: Task
    diff: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    allowed_imports: Sequence[str] = ()
    python: str = "python"
    context: Callable[[], RepoContext] | None = None


@dataclass
class GenOutcome:
    """What happened to one job; ``test`` is set for ``generated`` and ``cached``."""

    item_id: str
    status: Status
    reason: str = ""
    test: PerfTest | None = None
    path: Path | None = None
    answers: int = 0
    requests: int = 0
    seconds: float = 0.0
    code: str | None = None

    @property
    def usable(self) -> bool:
        return self.test is not None


class Unavailable(Exception):
    """The endpoint cannot serve this job (no key, down, refused, timed out)."""


class Refused(Exception):
    """The endpoint refused this one request (a 4xx other than rate limits)."""


def extract_code(text: str) -> str | None:
    """The longest ```python block of an answer, or None when it has none."""
    blocks = [m.group(2) for m in _FENCE.finditer(text)]
    blocks = [b for b in blocks if b.strip()]
    return max(blocks, key=len) if blocks else None


def imported_roots(tree: ast.AST) -> list[tuple[str, int]]:
    """``(top-level module, line)`` of every import; relative imports as ``"."``."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append(("." if node.level else (node.module or "").split(".")[0], node.lineno))
    return found


def static_problem(answer: str, allowed: Sequence[str]) -> tuple[str | None, str | None]:
    """``(code, None)`` when the answer passes the static checks, else ``(code, reason)``."""
    code = extract_code(answer)
    if code is None:
        return None, "the answer has no ```python code block"
    try:
        tree = ast.parse(code, "<generated perf test>")
        compile(code, "<generated perf test>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return code, f"the script does not compile: {exc.msg} (line {exc.lineno})"
    except ValueError as exc:
        return code, f"the script does not compile: {exc}"
    ok = stdlib_modules() | set(allowed)
    outside = sorted({f"{name} (line {line})" for name, line in imported_roots(tree) if name not in ok})
    if outside:
        shown = ", ".join(sorted(set(allowed))) or "none"
        return code, (
            f"it imports outside the standard library and the repository: {', '.join(outside)}; "
            f"allowed packages: {shown}"
        )
    return code, shape_problem(code)


def shape_problem(code: str) -> str | None:
    """What the script lacks to be timed and checked: the setup-experiment shape the prompt
    (v2) asks for, with its equivalence functions; a v1 script that prints the JSON report
    with a digest is still accepted."""
    kind = classify(code)
    if kind == "setup-experiment":
        defined = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)}
        missing = [name for name in ("store_result", "load_result", "check_equivalence") if name not in defined]
        if missing:
            return f"it defines no {', '.join(missing)} (top-level functions): the result cannot be checked"
        return None
    if kind == "json" and "digest" in code:
        return None
    return "it defines no top-level setup() and experiment(data) (the shape asked for)"


class Generator:
    """One endpoint and model: sends conversations, checks answers, writes the cache."""

    def __init__(
        self,
        *,
        model: str | None,
        base_url: str | None = None,
        api_key: str | None = None,
        attempts: int = 3,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        root: Path | None = None,
    ) -> None:
        self.model = model
        self.base_url = base_url if base_url is not None else (os.environ.get("OPENAI_BASE_URL") or None)
        self._key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.attempts = max(1, attempts)
        self.timeout_s = timeout_s
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.root = root
        self.endpoint = public_endpoint(self.base_url)
        self.requests = 0
        self._lock = threading.Lock()
        self._dead: str | None = None
        self._client: Any = None

    def scrub(self, text: str) -> str:
        """``text`` with the key taken out (reasons may quote server messages)."""
        return text.replace(self._key, "***") if self._key else text

    def unavailable(self) -> str | None:
        """Why no request can be sent at all, or None."""
        if self._dead:
            return self._dead
        if not self.model:
            return "no model for perf-test generation: set --isobench-testgen-model (or use --isobench-generate=never)"
        if not self._key:
            return f"no API key for perf-test generation: {FIX_NO_KEY}"
        try:
            import openai  # noqa: F401
        except ImportError:
            return "the openai package is missing: pip install openai (or use --isobench-generate=never)"
        return None

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self.timeout_s
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _kill(self, reason: str) -> Unavailable:
        with self._lock:
            if self._dead is None:
                self._dead = reason
            return Unavailable(self._dead)

    def _delay(self, retry: int, exc: Any) -> float:
        headers = getattr(getattr(exc, "response", None), "headers", None) or {}
        after = headers.get("retry-after") if hasattr(headers, "get") else None
        try:
            if after is not None:
                return min(30.0, max(0.0, float(after)))
        except ValueError:
            pass
        pause: float = min(8.0, self.backoff_s * 2**retry) * (0.75 + random.random() / 2)
        return pause

    def ask(self, messages: list[dict[str, str]]) -> tuple[str, int]:
        """One answer's text and the requests it took; retries transient failures."""
        import openai

        client = self._get_client()
        sent = 0
        retry = 0
        while True:
            if self._dead:
                raise Unavailable(self._dead)
            sent += 1
            with self._lock:
                self.requests += 1
            try:
                response = client.chat.completions.create(
                    model=self.model, messages=messages, temperature=0.0, timeout=self.timeout_s
                )
            except openai.APITimeoutError:
                raise self._kill(
                    f"the model server at {self.endpoint} did not answer within {self.timeout_s:g} s: "
                    "check OPENAI_BASE_URL, or use --isobench-generate=never"
                ) from None
            except openai.APIConnectionError as exc:
                failure: Any = exc
                if retry >= self.max_retries:
                    raise self._kill(
                        f"cannot reach the model server at {self.endpoint} ({self.scrub(str(exc))}): {FIX_NO_KEY}"
                    ) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise self._kill(
                    f"the model server at {self.endpoint} refused the key ({exc.status_code}): {FIX_NO_KEY}"
                ) from None
            except openai.NotFoundError as exc:
                raise self._kill(
                    f"the model server at {self.endpoint} has no model {self.model!r} ({exc.status_code}): "
                    "check --isobench-testgen-model and OPENAI_BASE_URL"
                ) from None
            except openai.APIStatusError as exc:
                failure = exc
                transient = exc.status_code >= 500 or exc.status_code in _RETRY_STATUS
                if not transient:
                    raise Refused(
                        f"the model server refused the request ({exc.status_code}): {self.scrub(str(exc))}"
                    ) from None
                if retry >= self.max_retries:
                    raise Unavailable(
                        f"the model server at {self.endpoint} kept failing ({exc.status_code}) "
                        f"after {retry + 1} requests: try again later"
                    ) from None
            else:
                if hasattr(response, "choices"):
                    text = (response.choices[0].message.content or "") if response.choices else ""
                    return text, sent
                # A proxy's HTML page with status 200: the SDK hands back the raw text.
                failure = None
                if retry >= self.max_retries:
                    raise Unavailable(
                        f"the model server at {self.endpoint} answered with a body that is not JSON "
                        f"({self.scrub(str(response))[:120]!r}) after {retry + 1} requests: check OPENAI_BASE_URL"
                    ) from None
            pause = self._delay(retry, failure)
            log.debug("testgen: request failed, retry %d in %.2fs", retry + 1, pause)
            time.sleep(pause)
            retry += 1

    def _header(self, job: GenJob, answers: int) -> cache.Header:
        return cache.Header(
            model=self.model or "?",
            prompt_version=PROMPT_VERSION,
            instance_id=job.task.instance_id,
            endpoint=self.endpoint,
            attempts=answers,
        )

    def messages_for(self, job: GenJob) -> tuple[list[dict[str, str]], list[str]]:
        """The first conversation of ``job`` and the packages its test may import."""
        diff, sources, allowed = job.diff, dict(job.sources), list(job.allowed_imports)
        if job.context is not None:
            try:
                ctx = job.context()
            except Exception as exc:  # a broken clone must not stop the others
                log.warning("testgen: %s: no repository context (%s)", job.item_id, exc)
            else:
                diff = diff if diff is not None else ctx.diff
                sources = {**ctx.sources, **sources}
                allowed.extend(ctx.packages)
        prompt = render_prompt(job.task, diff=diff, sources=sources, allowed_imports=allowed, python=job.python)
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}], allowed

    def converse(
        self, job: GenJob, messages: list[dict[str, str]], allowed: Sequence[str], *, write: bool = True
    ) -> GenOutcome:
        """Ask until an answer passes the static checks (``attempts`` answers at most)."""

        begin = time.perf_counter()
        outcome = GenOutcome(job.item_id, "skip")
        problem = "no answer"
        try:
            for _ in range(self.attempts):
                text, sent = self.ask(messages)
                outcome.requests += sent
                outcome.answers += 1
                code, problem_or_none = static_problem(text, allowed)
                outcome.code = code
                if problem_or_none is None and code is not None:
                    outcome.status = "generated"
                    outcome.test = PerfTest(name=cache.GENERATED_NAME, script=code)
                    if write and self.root is not None:
                        outcome.path = cache.write_test(
                            self.root, job.suite, job.item_id, code, self._header(job, outcome.answers)
                        )
                    outcome.seconds = time.perf_counter() - begin
                    return outcome
                problem = problem_or_none or "no code"
                log.info("testgen: %s: answer %d rejected: %s", job.item_id, outcome.answers, problem)
                messages = [
                    *messages,
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": retry_message(problem)},
                ]
        except (Unavailable, Refused) as exc:
            outcome.status = "skip"
            outcome.reason = self.scrub(str(exc))
            outcome.seconds = time.perf_counter() - begin
            return outcome
        outcome.status = "rejected"
        outcome.reason = f"no usable perf test after {outcome.answers} answer(s); last problem: {problem}"
        if write and self.root is not None:
            kept = outcome.code if outcome.code is not None else "# (the answer held no code block)\n"
            outcome.path = cache.write_rejected(
                self.root, job.suite, job.item_id, kept, self._header(job, outcome.answers), outcome.reason
            )
            outcome.reason += f" (kept in {outcome.path})"
        outcome.seconds = time.perf_counter() - begin
        return outcome

    def generate(self, job: GenJob) -> GenOutcome:
        """A new test for ``job`` (written to the cache when this generator has a root)."""
        why = self.unavailable()
        if why is not None:
            return GenOutcome(job.item_id, "skip", why)
        messages, allowed = self.messages_for(job)
        return self.converse(job, messages, allowed)

    def revise(self, job: GenJob, previous: str, failure: str) -> GenOutcome:
        """Ask again after ``previous`` failed validation with ``failure`` (nothing written)."""
        why = self.unavailable()
        if why is not None:
            return GenOutcome(job.item_id, "skip", why)
        messages, allowed = self.messages_for(job)
        messages += [
            {"role": "assistant", "content": f"```python\n{cache.strip_header(previous).strip()}\n```"},
            {"role": "user", "content": retry_message(f"it failed when run on both commits:\n{failure}")},
        ]
        return self.converse(job, messages, allowed, write=False)


def lookup(job: GenJob, root: Path | None, mode: str, present: frozenset[str] | None = None) -> GenOutcome | None:
    """The outcome that needs no request (dataset test, cache, kept rejection), or None."""
    if job.task.perf_tests:
        return GenOutcome(job.item_id, "dataset", "the dataset record has a perf test")
    if root is None or mode == "all":
        return None
    if present is None or cache.safe_name(job.item_id) in present:
        found = cache.load_cached(root, job.suite, job.item_id)
        if found is not None:
            return GenOutcome(job.item_id, "cached", test=found.test, path=found.path)
    if mode == "missing":
        earlier = cache.rejected_reason(root, job.suite, job.item_id, PROMPT_VERSION)
        if earlier is not None:
            path = cache.rejected_path(root, job.suite, job.item_id)
            return GenOutcome(
                job.item_id,
                "rejected",
                f"rejected earlier ({earlier.strip()}); see {path}, delete it or use --isobench-generate=all to retry",
                path=path,
            )
    if mode == "never":
        return GenOutcome(
            job.item_id, "skip", "no perf test in the record, and perf-test generation is off (--isobench-generate)"
        )
    return None


def generate_missing(
    jobs: Sequence[GenJob],
    *,
    model: str | None,
    base_url: str | None = None,
    api_key: str | None = None,
    concurrency: int = 8,
    attempts: int = 3,
    timeout_s: float = 60.0,
    max_retries: int = 4,
    backoff_s: float = 0.5,
    root: Path | None = None,
    mode: str = "missing",
) -> dict[str, GenOutcome]:
    """One outcome per job's item id (see the module doc); ``root`` is the cache folder.

    ``base_url`` and ``api_key`` default to ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``.
    """
    if mode not in MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    outcomes: dict[str, GenOutcome] = {}
    listings: dict[str, frozenset[str]] = {}
    todo: list[GenJob] = []
    for job in jobs:
        present = None
        if root is not None:
            if job.suite not in listings:
                listings[job.suite] = cache.cached_ids(root, job.suite)
            present = listings[job.suite]
        known = lookup(job, root, mode, present)
        if known is not None:
            outcomes[job.item_id] = known
        else:
            todo.append(job)
    if not todo:
        return outcomes
    generator = Generator(
        model=model,
        base_url=base_url,
        api_key=api_key,
        attempts=attempts,
        timeout_s=timeout_s,
        max_retries=max_retries,
        backoff_s=backoff_s,
        root=root,
    )
    why = generator.unavailable()
    if why is not None:
        outcomes.update({job.item_id: GenOutcome(job.item_id, "skip", why) for job in todo})
        return outcomes
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="isobench-testgen") as pool:
            for job, outcome in zip(todo, pool.map(generator.generate, todo), strict=True):
                outcomes[job.item_id] = outcome
    finally:
        generator.close()
    return outcomes
