"""Stand-ins for a vLLM model server and its serving benchmark, for tests without a GPU.

``vllm_standin.py`` is launched exactly as ``vllm serve MODEL --port P`` would be and
answers health checks and OpenAI-compatible completions with a configurable latency;
``benchmark_serving_standin.py`` is a client printing ``benchmark_serving.py``'s real
result block. Both are standard-library scripts, copied into a sandbox's checkout with
``write_file`` under the ``_isobench_`` prefix (so an agent's diff never carries them).
"""

from __future__ import annotations

import shlex
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_isobench.sandbox.protocol import Sandbox

SERVER_FILE = "_isobench_vllm_standin.py"
CLIENT_FILE = "_isobench_benchmark_serving_standin.py"
_SOURCES = {SERVER_FILE: "vllm_standin.py", CLIENT_FILE: "benchmark_serving_standin.py"}


def source(filename: str) -> str:
    """The text of a stand-in script, by its in-sandbox name or its module file name."""
    name = _SOURCES.get(filename, filename)
    if name not in _SOURCES.values():
        raise KeyError(f"no stand-in called {filename!r}; known: {', '.join(_SOURCES)}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def install(sandbox: Sandbox) -> tuple[str, str]:
    """Write both stand-ins into the sandbox's checkout; their relative paths (server, client)."""
    for target in _SOURCES:
        sandbox.write_file(target, source(target))
    return SERVER_FILE, CLIENT_FILE


def serve_command(model: str, port: int, python: str = "python3", *extra: str) -> str:
    """The stand-in's command line, shaped like ``vllm serve MODEL --port P``."""
    return shlex.join([python, SERVER_FILE, "serve", model, "--port", str(port), *extra])
