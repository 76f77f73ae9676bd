"""The stand-in model's OpenAI-shaped answers and the tool sets of OpenHands and TRAE.

``FakeModels`` (see :mod:`fake_models`) plays one script for every tool; this module says
how a step of it looks in the tools OpenHands (``execute_bash``, ``str_replace_editor``,
``finish``) and trae-agent (``bash``, ``str_replace_based_edit_tool``, ``task_done``)
offer, and answers the OpenAI Responses API (Codex streamed; trae-agent whole) and Chat
Completions (``POST /v1/chat/completions``, which OpenHands calls through litellm). Usage
follows OpenAI's convention: input tokens include the cached ones, told apart in
``cached_tokens``.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_models import FakeModels, Step

OPENAI_MODEL = "gpt-5-codex"


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


def responses_reply(fake: FakeModels, body: dict[str, Any]) -> tuple[bytes, str]:
    """One Responses API answer (Codex streams; trae-agent asks for the whole response)."""
    tools = {str(t.get("name")): t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")}
    items = [i for i in body.get("input") or [] if isinstance(i, dict)]
    done = sum(1 for i in items if str(i.get("type", "")).endswith("call_output"))
    step, workdir = fake._step(done), fake._workdir(body)
    usage = fake._usage("main" if tools else "side", done)
    call_id = f"call_{done:04d}"
    item: dict[str, Any]
    named = named_tool_call(step, workdir, set(tools))
    if named:
        item = {
            "type": "function_call",
            "id": f"fc_{done}",
            "call_id": call_id,
            "name": named[0],
            "arguments": json.dumps(named[1]),
            "status": "completed",
        }
    elif step.kind in ("read", "bash") or (step.kind == "edit" and "apply_patch" not in tools):
        command = step.command if step.kind == "bash" else f"cat {step.path}"
        if step.kind == "edit":
            command = _python_edit(step)
        if "exec_command" in tools:
            name, args = "exec_command", {"cmd": command, "workdir": workdir}
        else:
            name, args = "shell", {"command": ["bash", "-lc", command], "workdir": workdir}
        item = {
            "type": "function_call",
            "id": f"fc_{done}",
            "call_id": call_id,
            "name": name,
            "arguments": json.dumps(args),
            "status": "completed",
        }
    elif step.kind == "edit":
        patch = _apply_patch_text(step)
        if tools["apply_patch"].get("type") == "custom":
            item = {
                "type": "custom_tool_call",
                "id": f"ctc_{done}",
                "call_id": call_id,
                "name": "apply_patch",
                "input": patch,
                "status": "completed",
            }
        else:
            item = {
                "type": "function_call",
                "id": f"fc_{done}",
                "call_id": call_id,
                "name": "apply_patch",
                "arguments": json.dumps({"input": patch}),
                "status": "completed",
            }
    else:
        item = {
            "type": "message",
            "id": f"msg_{done}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": step.text, "annotations": []}],
        }
    response_id = f"resp_{len(fake.requests)}"
    usage_obj = {
        "input_tokens": usage.input_tokens + usage.cache_read_input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.input_tokens + usage.cache_read_input_tokens + usage.output_tokens,
    }
    base = {"id": response_id, "object": "response", "model": body.get("model") or OPENAI_MODEL}
    if not body.get("stream"):  # trae-agent asks for the whole response at once
        whole = {**base, "created_at": 1700000000, "status": "completed", "output": [item], "usage": usage_obj}
        return json.dumps(whole).encode(), "application/json"
    events = [
        (
            "response.created",
            {"type": "response.created", "response": {**base, "status": "in_progress", "output": []}},
        ),
        ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}),
        ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
        (
            "response.completed",
            {
                "type": "response.completed",
                "response": {**base, "status": "completed", "output": [item], "usage": usage_obj},
            },
        ),
    ]
    return sse(events), "text/event-stream"


def sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Server-sent events, each named."""
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _apply_patch_text(step: Step) -> str:
    """Codex's own patch format for one replacement in one file."""
    old = "".join(f"-{line}\n" for line in step.old.splitlines())
    new = "".join(f"+{line}\n" for line in step.new.splitlines())
    return f"*** Begin Patch\n*** Update File: {step.path}\n@@\n{old}{new}*** End Patch"


def _python_edit(step: Step) -> str:
    """A shell command that makes the edit (for a tool set without ``apply_patch``)."""
    code = (
        "import pathlib,sys;p=pathlib.Path(sys.argv[1]);t=p.read_text();"
        "assert sys.argv[2] in t;p.write_text(t.replace(sys.argv[2],sys.argv[3],1))"
    )
    return " ".join(shlex.quote(a) for a in ("python3", "-c", code, step.path, step.old, step.new))
