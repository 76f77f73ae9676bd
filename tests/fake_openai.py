"""A loopback OpenAI-compatible server for tests: scripted chat completions, counted.

``FakeOpenAI(answers)`` serves ``POST /v1/chat/completions`` on 127.0.0.1 from a thread.
Each answered request takes the next answer in order (a string, or a callable given the
request's JSON body that returns one); once they are used up the last one repeats. The
first ``fail_first`` requests get HTTP ``status`` instead; every request waits
``delay_s`` first. ``.url`` is the base URL (ending in ``/v1``) and ``.requests`` every
JSON body received, failed ones included. Use it as a context manager::

    with FakeOpenAI(['{"files": ["m.py"]}', diff]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = str | Callable[[dict[str, Any]], str]


class FakeOpenAI:
    """The server; see the module doc."""

    def __init__(
        self,
        answers: list[Answer],
        fail_first: int = 0,
        status: int = 500,
        delay_s: float = 0,
    ) -> None:
        if not answers:
            raise ValueError("FakeOpenAI needs at least one answer")
        self.answers = list(answers)
        self.fail_first = fail_first
        self.status = status
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.answered = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not started (use it as a context manager)")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    body = {}
                status, payload = fake._respond(self.path, body)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing to answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.requests.append(body)
            number = len(self.requests)
            if not path.rstrip("/").endswith("/chat/completions"):
                return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
            if number <= self.fail_first:
                return self.status, {"error": {"message": f"scripted failure {number}", "type": "server_error"}}
            answer = self.answers[min(self.answered, len(self.answers) - 1)]
            self.answered += 1
        text = answer(body) if callable(answer) else answer
        prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in body.get("messages", []))
        completion_tokens = len(text) // 4 + 1
        return 200, {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
