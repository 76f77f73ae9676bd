"""A loopback OpenAI-compatible server that misbehaves on a script, for fault tests.

``Misbehaving(script)`` serves ``POST /v1/chat/completions`` on 127.0.0.1. Request n gets
``script[n]`` (the last entry repeats): ``"ok"`` (a chat completion whose text is
``answer``), ``"500"``/``"503"``/... (that status, a JSON error body), ``"429:S"`` (429
with ``Retry-After: S``), ``"hang"`` (no answer for ``hang_s``), ``"truncated"`` (a
``Content-Length`` longer than the body, then the connection closes) or ``"html"`` (200
with an HTML body). ``.times`` holds each request's arrival (monotonic seconds) and
``.auth`` each ``Authorization`` header received.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Misbehaving:
    def __init__(self, script: list[str], answer: str = "{}", hang_s: float = 5.0) -> None:
        self.script = script
        self.answer = answer
        self.hang_s = hang_s
        self.times: list[float] = []
        self.auth: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> Misbehaving:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with outer._lock:
                    n = len(outer.times)
                    outer.times.append(time.monotonic())
                    outer.auth.append(self.headers.get("Authorization", ""))
                step = outer.script[min(n, len(outer.script) - 1)]
                outer._answer(self, step)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, h: BaseHTTPRequestHandler, step: str) -> None:
        if step == "hang":
            time.sleep(self.hang_s)
            h.close_connection = True
            return
        if step == "ok":
            body = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": self.answer}}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            self._send(h, 200, json.dumps(body).encode(), "application/json")
        elif step == "html":
            self._send(h, 200, b"<html><body>Bad Gateway</body></html>", "text/html")
        elif step == "truncated":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "5000")
            h.end_headers()
            h.wfile.write(b'{"id": "x", "choices": [')
            h.wfile.flush()
            h.close_connection = True
        else:
            status, _, after = step.partition(":")
            body = json.dumps({"error": {"message": f"injected {status}", "type": "server_error"}}).encode()
            self._send(h, int(status), body, "application/json", {"Retry-After": after} if after else None)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
