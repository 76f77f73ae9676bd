"""Stand-in model servers on loopback for the real agent tools: Anthropic Messages and OpenAI APIs.

``FakeModels(script)`` serves, from one thread on one port:

- ``POST /v1/messages`` (Anthropic Messages API, streamed as server-sent events when the
  request asks for ``stream``, else one JSON message) for Claude Code;
- ``POST /v1/responses`` (OpenAI Responses API) for Codex (streamed) and trae-agent;
- ``POST /v1/chat/completions`` (OpenAI Chat Completions) for OpenHands (through litellm);
- ``GET /v1/models`` and ``POST /v1/messages/count_tokens``, which the tools may ask.

A request that offers the agent's tools (Claude Code's, Codex's, or OpenHands' and trae's:
see :mod:`fake_openai_replies`) gets the next step of the script: read a file, run
a shell command, make one edit, finish. The step is the number of tool results already in
the conversation, so a tool that retries a request gets the same step again. Requests
without tools (titles, quota probes) get a short text. Every body received is kept in
``requests`` and every usage object sent in ``usage_sent``, so a test can check what the
tool reported against what the server said, and search everything the tool sent back
(tool outputs included) for a secret. The checkout path is read from the task prompt
(``The repository in DIR is checked out``).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fake_openai_replies import OPENAI_MODEL, chat_completion, dialect, named_tool_call, responses_reply, sse

WORKDIR_RE = re.compile(r"The repository in (\S+) is checked out")
MODEL = "claude-sonnet-4-5-20250929"


@dataclass(frozen=True)
class Step:
    """One scripted model turn: ``read`` a path, run ``bash``, ``edit`` (old -> new), ``done``, or
    ``say`` (a plain message, no tool: an agent that waits on its user)."""

    kind: str
    path: str = ""
    command: str = ""
    old: str = ""
    new: str = ""
    text: str = "Done."


@dataclass
class Usage:
    """Token counts of one response (Anthropic names; Codex gets input/cached/output)."""

    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


@dataclass
class Seen:
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class FakeModels:
    """The server; see the module doc. Use it as a context manager."""

    def __init__(self, script: list[Step], host: str = "127.0.0.1") -> None:
        self.script = script
        self.host = host
        self.requests: list[Seen] = []
        self.usage_sent: list[tuple[str, Usage]] = []  # (kind: "main" | "side", usage)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- addresses -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeModels is not started")
        return int(self._server.server_address[1])

    def base_url(self, host: str | None = None) -> str:
        """The Anthropic base URL (the tool appends ``/v1/messages``)."""
        return f"http://{host or self.host}:{self.port}"

    def openai_url(self, host: str | None = None) -> str:
        """The OpenAI base URL (ends in ``/v1``)."""
        return self.base_url(host) + "/v1"

    def everything_received(self) -> str:
        """Every request body and header as one text (for secret searches)."""
        return "\n".join(json.dumps({"path": s.path, "headers": s.headers, "body": s.body}) for s in self.requests)

    def main_requests(self) -> list[Seen]:
        return [s for s in self.requests if s.body.get("tools")]

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> FakeModels:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                return body if isinstance(body, dict) else {"_json": body}

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                fake._record(self.path, {}, dict(self.headers))
                models = {"object": "list", "data": [{"id": OPENAI_MODEL, "object": "model"}, {"id": MODEL}]}
                self._send(200, json.dumps(models).encode(), "application/json")

            def do_HEAD(self) -> None:
                self._send(200, b"", "text/plain")

            def do_POST(self) -> None:
                body = self._body()
                fake._record(self.path, body, dict(self.headers))
                path = self.path.split("?", 1)[0].rstrip("/")
                if path.endswith("/count_tokens"):
                    self._send(200, b'{"input_tokens": 10}', "application/json")
                elif path.endswith("/messages"):
                    status, data, kind = fake._anthropic(body)
                    self._send(status, data, kind)
                elif path.endswith("/responses"):
                    self._send(200, *responses_reply(fake, body))
                elif path.endswith("/chat/completions"):
                    self._send(200, *chat_completion(fake, body))
                else:
                    self._send(404, b'{"error": {"message": "no such route"}}', "application/json")

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-models", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(Seen(path, body, headers))

    # -- the script ------------------------------------------------------------------

    def _usage(self, kind: str, number: int) -> Usage:
        usage = (
            Usage(
                input_tokens=100 + 10 * number,
                output_tokens=20 + number,
                cache_creation_input_tokens=1000 + number,
                cache_read_input_tokens=4000 + 100 * number,
            )
            if kind == "main"
            else Usage(input_tokens=7, output_tokens=3)
        )
        with self._lock:
            self.usage_sent.append((kind, usage))
        return usage

    @staticmethod
    def _workdir(body: dict[str, Any]) -> str:
        found = WORKDIR_RE.search(json.dumps(body).replace("\\n", "\n"))
        return found.group(1) if found else "."

    def _step(self, done: int) -> Step:
        return self.script[min(done, len(self.script) - 1)]

    # -- Anthropic Messages ----------------------------------------------------------

    def _anthropic(self, body: dict[str, Any]) -> tuple[int, bytes, str]:
        model = str(body.get("model") or MODEL)
        tools = {str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)}
        blocks: list[dict[str, Any]]
        if ("Read" in tools and "Edit" in tools) or dialect(tools):
            done = sum(
                1
                for m in body.get("messages", [])
                if isinstance(m.get("content"), list)
                for b in m["content"]
                if isinstance(b, dict) and b.get("type") == "tool_result"
            )
            step, workdir = self._step(done), self._workdir(body)
            usage = self._usage("main", done)
            tool_id = f"toolu_{done:04d}"
            named = named_tool_call(step, workdir, tools)
            if named:  # trae-agent's tools
                blocks = [{"type": "tool_use", "id": tool_id, "name": named[0], "input": named[1]}]
            elif step.kind == "read":
                blocks = [
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Read",
                        "input": {"file_path": f"{workdir}/{step.path}"},
                    }
                ]
            elif step.kind == "bash":
                blocks = [
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Bash",
                        "input": {"command": step.command, "description": "look around"},
                    }
                ]
            elif step.kind == "edit":
                blocks = [
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Edit",
                        "input": {
                            "file_path": f"{workdir}/{step.path}",
                            "old_string": step.old,
                            "new_string": step.new,
                        },
                    }
                ]
            else:
                blocks = [{"type": "text", "text": step.text}]
        else:
            usage = self._usage("side", 0)
            blocks = [{"type": "text", "text": "ok"}]
        stop = "tool_use" if blocks[0]["type"] == "tool_use" else "end_turn"
        usage_obj = {
            "input_tokens": usage.input_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "output_tokens": usage.output_tokens,
        }
        message = {
            "id": f"msg_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "stop_reason": stop,
            "stop_sequence": None,
        }
        if not body.get("stream"):
            return 200, json.dumps({**message, "content": blocks, "usage": usage_obj}).encode(), "application/json"
        events: list[tuple[str, dict[str, Any]]] = [
            (
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        **message,
                        "content": [],
                        "stop_reason": None,
                        "usage": {**usage_obj, "output_tokens": 1},
                    },
                },
            ),
        ]
        for index, block in enumerate(blocks):
            if block["type"] == "text":
                events += [
                    (
                        "content_block_start",
                        {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                    ),
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": block["text"]},
                        },
                    ),
                ]
            else:
                events += [
                    (
                        "content_block_start",
                        {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}},
                    ),
                    (
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
                        },
                    ),
                ]
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events += [
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": usage.output_tokens},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return 200, sse(events), "text/event-stream"
