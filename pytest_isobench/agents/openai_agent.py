"""``openai``: a minimal built-in agent for any OpenAI-compatible chat endpoint.

It shows the model the task prompt and the repository's file list, asks which files it
needs (a JSON answer), sends their content, and asks for a unified diff; an answer that is
not a diff, or does not apply, is sent back with the reason, within a step budget (one
step = one request). It applies nothing itself: the diff is returned as the patch. Reads
``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (a local vLLM or SGLang server works too); the
``openai`` package is imported only when the agent runs. It times nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..sandbox.patching import check_paths
from ..sandbox.protocol import PatchError
from .agent import Agent, AgentContext, AgentRun, AgentUnavailable
from .endpoint import check_endpoint

if TYPE_CHECKING:
    from ..sandbox.protocol import Sandbox

DEFAULT_MODEL = "gpt-4o"
CHECK_FILE = "_isobench_openai.diff"
SYSTEM = (
    "You are an expert performance engineer. You change a repository to make a workload "
    "faster without changing its observable behaviour. You answer exactly in the format asked."
)
ASK_FILES = (
    "Which files do you need to read to make this change? Answer with only a JSON object "
    'like {{"files": ["path/one.py", "path/two.py"]}}, at most {n} paths from the list above.'
)
ASK_DIFF = (
    "Now answer with your change as one unified diff (the format of `git diff`, paths "
    "prefixed a/ and b/ relative to the repository root, with enough context lines), in a "
    "```diff fenced block. Nothing else is applied: the diff is your whole answer."
)

_FENCE = re.compile(r"```[ \t]*(?:diff|patch|udiff)?[ \t]*\n(.*?)```", re.DOTALL)
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@", re.MULTILINE)


def extract_diff(text: str) -> str | None:
    """The unified diff in a model's answer (fenced or bare), or None when there is none."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        lines = candidate.splitlines()
        start = next((i for i, ln in enumerate(lines) if ln.startswith(("diff --git ", "--- "))), None)
        if start is None:
            continue
        body = "\n".join(lines[start:]).rstrip("\n") + "\n"
        if looks_like_diff(body):
            return body
    return None


def looks_like_diff(text: str) -> bool:
    """A ``---`` header, a ``+++`` header after it, and at least one hunk header."""
    lines = text.splitlines()
    old = next((i for i, ln in enumerate(lines) if ln.startswith("--- ")), None)
    if old is None or old + 1 >= len(lines) or not lines[old + 1].startswith("+++ "):
        return False
    return bool(_HUNK.search(text))


def parse_files(text: str, known: set[str]) -> list[str] | None:
    """The paths of a ``{"files": [...]}`` answer that the repository has; None if unreadable."""
    for candidate in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        match = _JSON_OBJECT.search(candidate)
        if not match:
            continue
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and isinstance(data.get("files"), list):
            paths = [str(f).removeprefix("./") for f in data["files"]]
            return [p for p in dict.fromkeys(paths) if p in known]
    return None


@dataclass
class _Chat:
    """One conversation with the endpoint: its messages, log, token count and budget."""

    openai: Any  # the lazily imported module (its exception types)
    client: Any
    model: str
    request_timeout_s: float
    begin: float
    deadline: float
    messages: list[Any] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    tokens: int | None = None
    steps: int = 0
    timed_out: bool = False
    api_error: str | None = None

    def ask(self) -> str | None:
        """One step: the answer's text (kept in the messages), or None when the budget or the endpoint ran out."""
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            self.timed_out = True
            return None
        self.steps += 1
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=self.messages,
                temperature=0.0,
                timeout=min(self.request_timeout_s, remaining),
            )
        except self.openai.APITimeoutError as exc:
            self.timed_out = time.perf_counter() >= self.deadline
            self.log.append(f"[step {self.steps}] request timed out: {exc}")
            return None
        except self.openai.OpenAIError as exc:
            self.log.append(f"[step {self.steps}] request failed: {exc}")
            self.api_error = f"the model endpoint failed (after the client's retries): {type(exc).__name__}: {exc}"
            return None
        if response.usage is not None:
            self.tokens = (self.tokens or 0) + int(response.usage.total_tokens)
        text: str = (response.choices[0].message.content or "") if response.choices else ""
        self.log.append(f"[step {self.steps}] assistant:\n{text}")
        self.messages.append({"role": "assistant", "content": text})
        return text


class OpenAIAgent(Agent):
    """The minimal agent over the ``openai`` client (see the module doc)."""

    name: ClassVar[str] = "openai"
    needs_sandbox: ClassVar[bool] = True

    def __init__(
        self,
        max_steps: int = 4,
        request_timeout_s: float = 600.0,
        max_files: int = 12,
        max_file_chars: int = 60_000,
        max_listing: int = 3000,
    ) -> None:
        self.max_steps = max_steps
        self.request_timeout_s = request_timeout_s
        self.max_files = max_files
        self.max_file_chars = max_file_chars
        self.max_listing = max_listing

    def check(self, ctx_options: dict[str, Any]) -> None:
        if not os.environ.get("OPENAI_API_KEY"):
            raise AgentUnavailable(
                "openai needs OPENAI_API_KEY (any non-empty value for a local vLLM or SGLang server) "
                "and, for another endpoint than OpenAI's, OPENAI_BASE_URL=http://HOST:PORT/v1"
            )
        try:
            import openai  # noqa: F401
        except ImportError as exc:
            raise AgentUnavailable("the openai package is missing: pip install openai") from exc

    def doctor(self) -> tuple[bool, str]:
        ok, detail = super().doctor()
        if ok:
            detail = f"OPENAI_API_KEY set; endpoint {os.environ.get('OPENAI_BASE_URL') or 'https://api.openai.com/v1'}"
        return ok, detail

    def endpoint(self) -> str | None:
        return (os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")

    def run(self, ctx: AgentContext) -> AgentRun:
        import openai

        sandbox = ctx.sandbox
        if sandbox is None:
            raise AgentUnavailable("openai reads the checkout through the agent's sandbox, and none was given")
        self.check(ctx.options)
        chat = self._open_chat(ctx, openai)
        max_steps = int(ctx.options.get("max_steps", self.max_steps))
        listing = self._ls_files(sandbox)
        chat.messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": self._ask_files(ctx, listing)},
        ]
        files = self._choose_files(chat, set(listing), max_steps - 1)
        patch = "" if files is None else self._ask_for_diff(chat, sandbox, files, max_steps)
        return AgentRun(
            patch=patch,
            exit_status=0 if patch else 1,
            duration_s=time.perf_counter() - chat.begin,
            logs="\n".join(chat.log)[-32_000:],
            tokens=chat.tokens,
            model=chat.model,
            timed_out=chat.timed_out,
            # An endpoint failure without a patch is an error of ours, never "no change".
            error=chat.api_error if not patch and not chat.timed_out else None,
        )

    def _open_chat(self, ctx: AgentContext, openai: Any) -> _Chat:
        """The conversation's client and budget; the endpoint is checked before the first step."""
        base_url = os.environ.get("OPENAI_BASE_URL") or None
        check_endpoint((base_url or "https://api.openai.com/v1").rstrip("/"))
        begin = time.perf_counter()
        return _Chat(
            openai=openai,
            client=openai.OpenAI(api_key=os.environ["OPENAI_API_KEY"], base_url=base_url, max_retries=2),
            model=ctx.model or os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL,
            request_timeout_s=self.request_timeout_s,
            begin=begin,
            deadline=begin + ctx.timeout_s,
        )

    def _ask_files(self, ctx: AgentContext, listing: list[str]) -> str:
        """The first question: the task, the repository's files (up to ``max_listing``), which to read."""
        shown = listing[: self.max_listing]
        more = f"\n({len(listing) - len(shown)} more files not shown)" if len(listing) > len(shown) else ""
        return (
            f"{ctx.prompt}\nRepository files:\n" + "\n".join(shown) + more + "\n\n" + ASK_FILES.format(n=self.max_files)
        )

    def _choose_files(self, chat: _Chat, known: set[str], max_steps: int) -> list[str] | None:
        """The files the model asked to read (asked again when its answer is not the JSON asked
        for); None when the budget or the endpoint ran out first."""
        while chat.steps < max_steps:
            answer = chat.ask()
            if answer is None:
                return None
            files = parse_files(answer, known)
            if files is not None:
                return files
            retry = "That was not the JSON asked for. " + ASK_FILES.format(n=self.max_files)
            chat.messages.append({"role": "user", "content": retry})
        return []

    def _ask_for_diff(self, chat: _Chat, sandbox: Sandbox, files: list[str], max_steps: int) -> str:
        """The model's diff, sent back with the reason until it applies or the steps run out;
        the best diff so far (the harness's fuzzier fallbacks may still place it), or ""."""
        chat.messages.append({"role": "user", "content": self._contents(sandbox, files) + ASK_DIFF})
        patch = ""
        while chat.steps < max_steps:
            answer = chat.ask()
            if answer is None:
                break
            diff = extract_diff(answer)
            problem = "That answer holds no unified diff." if diff is None else self._apply_problem(sandbox, diff)
            if diff is not None:
                patch = diff
                if problem is None:
                    break
            chat.messages.append({"role": "user", "content": f"{problem}\n{ASK_DIFF}"})
        return patch

    def _ls_files(self, sandbox: Sandbox) -> list[str]:
        result = sandbox.exec("git ls-files", 120.0)
        return [ln for ln in result.stdout.splitlines() if ln and not ln.startswith("_isobench_")]

    def _contents(self, sandbox: Sandbox, files: list[str]) -> str:
        parts: list[str] = []
        for path in files[: self.max_files]:
            result = sandbox.exec(f"head -c {self.max_file_chars} -- {shlex.quote(path)}", 60.0)
            parts.append(f"=== {path} ===\n{result.stdout}\n")
        return "".join(parts) + "\n" if parts else "(no files requested)\n\n"

    def _apply_problem(self, sandbox: Sandbox, diff: str) -> str | None:
        """Why ``diff`` would not apply to the checkout, or None: checked, never applied."""

        try:
            check_paths(diff)
        except PatchError as exc:
            return f"That diff is refused: {exc}."
        sandbox.write_file(CHECK_FILE, diff)
        quoted = shlex.quote(CHECK_FILE)
        result = sandbox.exec(
            f"git apply --check --whitespace=nowarn {quoted} 2>&1 "
            f"|| patch -p1 --dry-run --fuzz=3 --batch --forward < {quoted} >/dev/null; "
            f"s=$?; rm -f {quoted}; exit $s",
            120.0,
        )
        if result.ok:
            return None
        return f"That diff does not apply to the repository:\n{result.tail(15)}"
