"""ISO-Bench's own reading of a three-way result: its primary metric, its +-5% rule, and
what a failure was caused by.

These are ISO-Bench's rules, applied to ISO-Bench's single measurements (no intervals):
its analysis (``COMPREHENSIVE_BENCHMARK_ANALYSIS.md`` in the Claude Code results folder)
compares the agent with the human on one primary metric per commit (``tpot_mean`` for
serving runs, ``throughput`` for standalone ones) and calls the agent a win above +5%, a
match within +-5%, a loss below -5%. The categories that come out are labelled ISO-Bench's
everywhere they are shown; they are never our verdict categories (``beats``/``similar``/
``worse``), which need an interval. Nothing here reads a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ISOBENCH_TOLERANCE",
    "PRIMARY_METRICS",
    "Cause",
    "Comparison",
    "classify_failure",
    "compare",
]

ISOBENCH_TOLERANCE = 0.05

# (metric, higher is better), in the order ISO-Bench's analysis prefers them; the flat
# result files spell the same metrics with a unit suffix.
PRIMARY_METRICS: tuple[tuple[str, bool], ...] = (
    ("tpot_mean", False),
    ("tpot_mean_ms", False),
    ("throughput", True),
    ("throughput_tok_s", True),
    ("output_token_throughput_tok_s", True),
    ("output_throughput", True),
    ("latency_avg", False),
    ("ttft_mean", False),
    ("ttft_mean_ms", False),
)


@dataclass(frozen=True)
class Comparison:
    """The agent against the human on one metric, as ISO-Bench compares them."""

    metric: str
    higher_is_better: bool
    human: float
    agent: float
    agent_vs_human: float  # relative, positive when the agent is better
    category: str  # ISO-Bench's: beats / matches / loses


def _value(metrics: Mapping[str, object] | None, name: str) -> float | None:
    value = (metrics or {}).get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def primary_metric(human: Mapping[str, object] | None) -> tuple[str, bool] | None:
    """The first of :data:`PRIMARY_METRICS` the human has a positive value for (a TPOT of
    0, one output token, cannot be compared in ratio)."""
    for name, higher in PRIMARY_METRICS:
        value = _value(human, name)
        if value is not None and value > 0:
            return name, higher
    return None


def compare(human: Mapping[str, object] | None, agent: Mapping[str, object] | None) -> Comparison | None:
    """ISO-Bench's category for the agent, or None when either side lacks the human's
    primary metric."""
    chosen = primary_metric(human)
    if chosen is None:
        return None
    name, higher = chosen
    h, a = _value(human, name), _value(agent, name)
    if h is None or a is None:
        return None
    relative = (a - h) / h if higher else (h - a) / h
    if relative > ISOBENCH_TOLERANCE:
        category = "beats"
    elif relative < -ISOBENCH_TOLERANCE:
        category = "loses"
    else:
        category = "matches"
    return Comparison(name, higher, h, a, relative, category)


@dataclass(frozen=True)
class Cause:
    """Why a run produced no comparison: ``kind`` is ``infrastructure`` (not the agent's
    doing, nor the human's), ``reference`` (the baseline or human run failed) or ``agent``."""

    kind: str
    reason: str


# Searched in the error and in the captured output: an agent's "no metrics" is the
# infrastructure's when the output shows the image was never pulled.
_INFRA: tuple[tuple[str, str], ...] = (
    (r"manifest unknown|pull access denied|No such image|ImagePullBackOff", "image not pulled"),
    (
        r"Repository Not Found|RepositoryNotFoundError|not a valid model identifier|gated repo|401 Client Error",
        "model repository not found",
    ),
    (r"Missing parent_commit", "baseline commit unknown"),
    (
        r"install failed|No wheel available|Incremental build failed|Git reset failed|not properly installed"
        r"|port binding bug|fundamental model compatibility",
        "install or build",
    ),
    (r"No space left", "disk full"),
    (r"Sandbox error|Broken pipe|timed out after 60 seconds", "sandbox"),
    (r"No perf_command", "no perf command"),
)
_REFERENCE = re.compile(r"^\s*(baseline|human)\b", re.IGNORECASE)
_AGENT: tuple[tuple[str, str], ...] = (
    (r"crashed after applying patch|Agent server", "server crashed with the patch"),
    (r"timed out|timeout", "timeout"),
    (r"no (\w+ )?metrics|could not parse metrics|produced no metrics", "no metrics in output"),
    (r"only non-Python files", "patch not applicable"),
)


def classify_failure(error: str | None, output: str = "", side: str = "agent") -> Cause:
    """The cause of a failed run from what the files say. ``side`` is which run the file
    is of (``baseline``, ``human``, ``agent`` or ``all`` for a three-way file)."""
    text = error or ""
    for pattern, reason in _INFRA:
        if re.search(pattern, text, re.IGNORECASE) or (output and re.search(pattern, output, re.IGNORECASE)):
            return Cause("infrastructure", reason)
    reference = _REFERENCE.match(text)
    if side in ("baseline", "human") or reference:
        which = reference.group(1).lower() if reference else side
        return Cause("reference", f"{which} run failed")
    if re.search(r"Server crashed during startup", text):
        return Cause("agent" if side == "agent" else "reference", "server crashed during startup")
    for pattern, reason in _AGENT:
        if re.search(pattern, text, re.IGNORECASE):
            return Cause("agent", reason)
    return Cause("agent", "other: " + text.strip().splitlines()[0][:60] if text.strip() else "no error given")
