"""What each agent tool reports about its own run: tokens by kind, cost, model, failure.

Read from the tool's own output, never recomputed: Claude Code's result object
(``usage``, ``modelUsage``, ``total_cost_usd``, ``is_error``), Codex's JSONL events
(``turn.completed`` usage, ``turn.failed``), trae's trajectory (each LLM call's usage
once, from ``llm_interactions``; ``agent_steps`` repeat it) and OpenHands' saved
trajectory (the last ``llm_metrics`` of its events: accumulated cost and token usage).
Tokens are kept by kind: ``input`` (not read from a cache), ``output``, ``cache_read``,
``cache_write`` and, when told, ``reasoning`` (a part of output, not added again).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    """One run's usage as the tool reported it."""

    usage: dict[str, int] = field(default_factory=dict)
    reported: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None
    model: str | None = None
    error: str | None = None

    @property
    def tokens(self) -> int | None:
        kinds = ("input", "output", "cache_read", "cache_write")
        return sum(self.usage.get(k, 0) for k in kinds) if self.usage else None


def json_documents(text: str) -> list[Any]:
    """The JSON in a tool's output: the whole text, else every line that parses."""
    text = text.strip()
    if not text:
        return []
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    docs: list[Any] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("{", "[")):
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return docs


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def claude_report(stdout: str) -> Report:
    """Claude Code's ``--output-format json`` result object."""
    results = [d for d in json_documents(stdout) if isinstance(d, dict) and d.get("type") == "result"]
    if not results:
        return Report(error="Claude Code printed no result object")
    result = results[-1]
    usage = _dict(result.get("usage"))
    by_model = _dict(result.get("modelUsage"))
    report = Report(
        usage={
            "input": _int(usage.get("input_tokens")),
            "output": _int(usage.get("output_tokens")),
            "cache_read": _int(usage.get("cache_read_input_tokens")),
            "cache_write": _int(usage.get("cache_creation_input_tokens")),
        },
        reported={"usage": usage, "modelUsage": by_model, "total_cost_usd": result.get("total_cost_usd")},
        cost_usd=float(result["total_cost_usd"]) if isinstance(result.get("total_cost_usd"), int | float) else None,
    )
    if by_model:
        # The model that did the work: most output tokens (side calls use a small model).
        report.model = max(by_model, key=lambda m: _int((by_model[m] or {}).get("outputTokens")))
    if result.get("is_error"):
        why = result.get("result") or result.get("api_error_status") or ""
        report.error = f"Claude Code reported an error ({result.get('subtype', 'error')}): {str(why)[:500]}"
    return report


def codex_report(stdout: str) -> Report:
    """Codex's ``exec --json`` events: usage summed over ``turn.completed``."""
    totals: dict[str, int] = {}
    failed: str | None = None
    turns = 0
    for event in json_documents(stdout):
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "turn.completed" and isinstance(event.get("usage"), dict):
            turns += 1
            for key, value in event["usage"].items():
                totals[key] = totals.get(key, 0) + _int(value)
        elif kind == "turn.failed":
            error = event.get("error")
            failed = str(error.get("message") if isinstance(error, dict) else error)[:500]
    if failed is not None:
        return Report(reported=totals, error=f"Codex reported a failed turn: {failed}")
    if not turns:
        return Report(error="Codex reported no completed turn")
    cached = totals.get("cached_input_tokens", 0)
    usage = {
        "input": totals.get("input_tokens", 0) - cached,  # Codex's input includes the cached part
        "output": totals.get("output_tokens", 0),
        "cache_read": cached,
        "cache_write": totals.get("cache_write_input_tokens", 0),
    }
    if "reasoning_output_tokens" in totals:
        usage["reasoning"] = totals["reasoning_output_tokens"]
    return Report(usage=usage, reported={"turns": turns, "usage": totals})


# trae's clients disagree on what `input_tokens` holds: Anthropic's leave out what the cache
# served (reported apart), OpenAI's (Responses API) and Google's include it (and say how much
# in `cache_read_input_tokens`), the OpenAI-compatible ones (OpenRouter, Azure, Doubao) report
# no cache part at all. Checked against the real tool (see tests/data/agents/README.md).
TRAE_INPUT_WITHOUT_CACHE = frozenset({"anthropic"})


def trae_report(trajectory: str) -> Report:
    """trae-agent's trajectory file: each LLM call counted once (``llm_interactions``)."""
    try:
        data = json.loads(trajectory)
    except json.JSONDecodeError:
        return Report(error="trae wrote no readable trajectory")
    if not isinstance(data, dict):
        return Report(error="trae's trajectory is not a JSON object")
    totals = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
        "reasoning_tokens": 0,
    }
    calls = 0
    fresh_input = 0  # input not read from a cache, whatever the provider's convention
    for interaction in data.get("llm_interactions") or []:
        usage = (interaction.get("response") or {}).get("usage") if isinstance(interaction, dict) else None
        if isinstance(usage, dict):
            calls += 1
            for key in totals:
                totals[key] += _int(usage.get(key))
            provider = str(interaction.get("provider") or data.get("provider") or "")
            cached = 0 if provider in TRAE_INPUT_WITHOUT_CACHE else _int(usage.get("cache_read_input_tokens"))
            fresh_input += _int(usage.get("input_tokens")) - cached
    usage_out = {
        "input": fresh_input,
        "output": totals["output_tokens"],
        "cache_read": totals["cache_read_input_tokens"],
        "cache_write": totals["cache_creation_input_tokens"],
    }
    if totals["reasoning_tokens"]:
        usage_out["reasoning"] = totals["reasoning_tokens"]
    model = data.get("model") if isinstance(data.get("model"), str) else None
    report = Report(usage=usage_out if calls else {}, reported={"llm_calls": calls, "usage": totals}, model=model)
    if data.get("success") is False:  # trae exits 0 all the same (max steps reached, say)
        report.error = f"trae reported the task unfinished: {str(data.get('final_result') or '')[:300]}"
    return report


def _last_metrics(node: Any) -> dict[str, Any] | None:
    """The last ``llm_metrics`` object (accumulated) found in OpenHands' events."""
    found: dict[str, Any] | None = None
    if isinstance(node, dict):
        metrics = node.get("llm_metrics")
        if isinstance(metrics, dict) and "accumulated_cost" in metrics:
            found = metrics
        for value in node.values():
            if isinstance(value, dict | list):
                found = _last_metrics(value) or found
    elif isinstance(node, list):
        for item in node:
            found = _last_metrics(item) or found
    return found


OPENHANDS_STATE_RE = re.compile(r"agent_state='(\w+)', reason='([^'\n]*)'")


def openhands_report(trajectory: str, log: str = "") -> Report:
    """OpenHands' saved trajectory: accumulated cost and token usage of its metrics.

    OpenHands exits 0 however its agent ended, and its trajectory leaves out the state
    changes: a run without the agent's ``finish`` action is a failure, its reason the last
    state its log (``LOG_ALL_EVENTS``) names.
    """
    try:
        data = json.loads(trajectory)
    except json.JSONDecodeError:
        return Report(error="OpenHands wrote no readable trajectory")
    metrics = _last_metrics(data)
    report = Report()
    if metrics is not None:
        usage = _dict(metrics.get("accumulated_token_usage"))
        cached = _int(usage.get("cache_read_tokens"))
        if usage:
            report.usage = {
                # litellm's prompt tokens include those read from the cache
                "input": _int(usage.get("prompt_tokens")) - cached,
                "output": _int(usage.get("completion_tokens")),
                "cache_read": cached,
                "cache_write": _int(usage.get("cache_write_tokens")),
            }
        cost = metrics.get("accumulated_cost")
        report.reported = {"accumulated_cost": cost, "accumulated_token_usage": usage}
        report.cost_usd = float(cost) if isinstance(cost, int | float) else None
        model = usage.get("model")
        # "default" is the name of OpenHands' metrics object, not a model
        report.model = model if isinstance(model, str) and model not in ("", "default") else None
    events = data if isinstance(data, list) else []
    if not any(isinstance(e, dict) and e.get("source") == "agent" and e.get("action") == "finish" for e in events):
        states = OPENHANDS_STATE_RE.findall(log)
        why = f" (its last state: {states[-1][0]}{': ' + states[-1][1] if states[-1][1] else ''})" if states else ""
        report.error = f"OpenHands ended without its agent finishing{why}"
    return report
