"""The stand-in model's dialects for OpenHands and TRAE: their tool names, and Chat Completions.

``FakeModels`` (see :mod:`fake_models`) plays one script for every tool; this module says
how a step of it looks in the tools OpenHands (``execute_bash``, ``str_replace_editor``,
``finish``) and trae-agent (``bash``, ``str_replace_based_edit_tool``, ``task_done``)
offer, and answers OpenAI Chat Completions (``POST /v1/chat/completions``), which
OpenHands calls through litellm. Usage follows OpenAI's convention: ``prompt_tokens``
include the cached ones, told apart in ``prompt_tokens_details.cached_tokens``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_models import FakeModels, Step


def dialect(tools: set[str]) -> str | None:
    """Whose tools these are: ``openhands``, ``trae``, or None (Claude Code's, Codex's)."""
    if "str_replace_editor" in tools and "execute_bash" in tools:  # OpenHands' CodeAct agent
        return "openhands"
    if "str_replace_based_edit_tool" in tools and "bash" in tools:
        return "trae"
    return None


def named_tool_call(step: Step, workdir: str, tools: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The (tool, arguments) that play ``step`` with OpenHands' or TRAE's tools; None for other
    tool sets, and for a ``say`` step (a plain message)."""
    path = f"{workdir}/{step.path}"
    replace = {"command": "str_replace", "path": path, "old_str": step.old, "new_str": step.new}
    kind = dialect(tools)
    if kind == "openhands":
        low = {"security_risk": "LOW"}
        if step.kind == "read":
            return "str_replace_editor", {"command": "view", "path": path, **low}
        if step.kind == "bash":
            return "execute_bash", {"command": step.command, **low}
        if step.kind == "edit":
            return "str_replace_editor", {**replace, **low}
        if step.kind == "done":
            return "finish", {"message": step.text}
        return None  # "say": a plain message, no tool call
    if kind == "trae":
        if step.kind == "read":
            return "str_replace_based_edit_tool", {"command": "view", "path": path}
        if step.kind == "bash":
            return "bash", {"command": step.command}
        if step.kind == "edit":
            return "str_replace_based_edit_tool", replace
        if step.kind == "done" and "task_done" in tools:
            return "task_done", {}
    return None


def chat_tool_names(body: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            function = tool.get("function") if isinstance(tool.get("function"), dict) else tool
            if function.get("name"):
                names.add(str(function["name"]))
    return names


def chat_completion(fake: FakeModels, body: dict[str, Any]) -> tuple[bytes, str]:
    """One Chat Completions answer: the script's next step as a tool call, with its usage."""
    tools = chat_tool_names(body)
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    done = sum(1 for m in messages if m.get("role") == "tool")
    step, workdir = fake._step(done), fake._workdir(body)
    call = named_tool_call(step, workdir, tools) if tools else None
    usage = fake._usage("main" if tools else "side", done)
    message: dict[str, Any] = {"role": "assistant", "content": None if call else step.text}
    if call:
        name, args = call
        message["tool_calls"] = [
            {"id": f"call_{done:04d}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        ]
    usage_obj = {
        "prompt_tokens": usage.input_tokens + usage.cache_read_input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.cache_read_input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
    }
    answer = {
        "id": f"chatcmpl-{len(fake.requests)}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": body.get("model") or "stand-in",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}],
        "usage": usage_obj,
    }
    if not body.get("stream"):
        return json.dumps(answer).encode(), "application/json"
    delta = {**message, "tool_calls": [{**c, "index": 0} for c in message.get("tool_calls", [])]}
    chunk = {**answer, "object": "chat.completion.chunk"}
    chunks = [
        {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}], "usage": None},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": answer["choices"][0]["finish_reason"]}]},
    ]
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return text.encode(), "text/event-stream"
