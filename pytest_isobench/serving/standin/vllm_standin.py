#!/usr/bin/env python3
"""A stand-in for ``vllm serve MODEL --port P``: an OpenAI-compatible server with a set latency.

Standard library only, so that it runs in any image. ``/health`` answers 200 once "loaded";
``/v1/models`` lists the model; ``/v1/completions`` waits the latency before its first
token (the TTFT), then streams ``--output-tokens`` tokens ``--token-ms`` apart (or answers
at once when not streaming). The latency comes from ``--latency-ms``, else from
``LATENCY_MS`` in the module ``standin_config`` of the current directory (the checkout, so
that a commit can make the server faster), else from ``ISOBENCH_STANDIN_LATENCY_MS``, else
50 ms. ``--startup-s`` delays readiness (``inf``: never ready), printing progress as vLLM
does while it loads weights. Engine flags it does not know (``--dtype`` ...) are accepted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_LATENCY_MS = 50.0


def log(message: str) -> None:
    stamp = time.strftime("%m-%d %H:%M:%S")
    print(f"INFO {stamp} [standin] {message}", flush=True)


def configured_latency(cli_value: float | None) -> tuple[float, str]:
    if cli_value is not None:
        return cli_value, "--latency-ms"
    sys.path.insert(0, os.getcwd())
    try:
        config = importlib.import_module("standin_config")
        return float(config.LATENCY_MS), "standin_config.LATENCY_MS"
    except (ImportError, AttributeError):
        pass
    env = os.environ.get("ISOBENCH_STANDIN_LATENCY_MS")
    if env:
        return float(env), "ISOBENCH_STANDIN_LATENCY_MS"
    return DEFAULT_LATENCY_MS, "default"


def make_handler(model: str, latency_s: float, token_s: float, output_tokens: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # quieter than the default
            return

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
            else:
                self._json(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path not in ("/v1/completions", "/v1/chat/completions"):
                self._json(404, {"error": f"no route {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._json(400, {"error": "request body is not JSON"})
                return
            n = int(body.get("max_tokens") or output_tokens)
            time.sleep(latency_s)
            if not body.get("stream"):
                time.sleep(token_s * max(0, n - 1))
                text = " ".join("tok" for _ in range(n))
                usage = {"prompt_tokens": len(str(body.get("prompt", "")).split()), "completion_tokens": n}
                self._json(200, {"id": "cmpl-standin", "model": model, "choices": [{"text": text}], "usage": usage})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(n):
                if i:
                    time.sleep(token_s)
                chunk = {"id": "cmpl-standin", "model": model, "choices": [{"index": 0, "text": "tok "}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vllm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("model")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--latency-ms", type=float, default=None)
    serve.add_argument("--token-ms", type=float, default=2.0)
    serve.add_argument("--output-tokens", type=int, default=8)
    serve.add_argument("--startup-s", type=float, default=0.0)
    args, engine_args = parser.parse_known_args(argv)
    latency_ms, source = configured_latency(args.latency_ms)
    log(f"vLLM stand-in API server, model={args.model!r}, latency {latency_ms:g} ms (from {source})")
    if engine_args:
        log(f"non-default engine args (ignored by the stand-in): {engine_args}")
    started = time.monotonic()
    while time.monotonic() - started < args.startup_s:
        log(f"Loading model weights... {time.monotonic() - started:.1f}s")
        time.sleep(0.5 if math.isinf(args.startup_s) else min(0.5, args.startup_s))
    server = Server(
        (args.host, args.port), make_handler(args.model, latency_ms / 1e3, args.token_ms / 1e3, args.output_tokens)
    )
    log(f"Started server process; Uvicorn running on http://{args.host}:{args.port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
