"""The figures vLLM's (and SGLang's) benchmark scripts print, read with regular expressions.

``benchmark_serving.py`` ends with a ``Serving Benchmark Result`` block of ``Name: value``
lines (TTFT, TPOT and ITL in ms: mean, median, p99; request and token throughputs);
``benchmark_latency.py`` prints ``Avg latency: X seconds``; ``benchmark_throughput.py``
prints ``Throughput: X requests/s, Y tokens/s``. Each pattern is a
:class:`~pytest_isobench.dataset.models.MetricSpec` with its direction, so a suite can add
or replace patterns in the same form. This module only parses text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pytest_isobench.dataset.models import MetricSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)"


def _line(label: str) -> str:
    """A result-block line: the label at the start, spaces, the number."""
    return r"^\s*" + re.escape(label) + r"\s+" + _NUM


def _spec(name: str, pattern: str, direction: str) -> MetricSpec:
    return MetricSpec(name=name, pattern=pattern, direction="lower" if direction == "lower" else "higher")


SERVING_METRICS: tuple[MetricSpec, ...] = (
    _spec("request_throughput", _line("Request throughput (req/s):"), "higher"),
    _spec("output_token_throughput", _line("Output token throughput (tok/s):"), "higher"),
    _spec("total_token_throughput", _line("Total Token throughput (tok/s):"), "higher"),
    *(
        _spec(f"{stat}_{kind.lower()}_ms", _line(f"{label} {kind} (ms):"), "lower")
        for kind in ("TTFT", "TPOT", "ITL")
        for stat, label in (("mean", "Mean"), ("median", "Median"), ("p99", "P99"))
    ),
)
LATENCY_METRICS: tuple[MetricSpec, ...] = (
    _spec("avg_latency_s", r"^\s*Avg latency:\s+" + _NUM + r"\s+seconds", "lower"),
    _spec("p50_latency_s", r"^\s*50% percentile latency:\s+" + _NUM + r"\s+seconds", "lower"),
    _spec("p99_latency_s", r"^\s*99% percentile latency:\s+" + _NUM + r"\s+seconds", "lower"),
)
THROUGHPUT_METRICS: tuple[MetricSpec, ...] = (
    # benchmark_throughput.py: "Throughput: 9.59 requests/s, 4909.12 tokens/s" (older) or
    # "..., 4909.12 total tokens/s, 2454.56 output tokens/s" (newer).
    _spec("request_throughput", r"^\s*Throughput:\s+" + _NUM + r"\s+requests/s", "higher"),
    _spec("token_throughput", r"^\s*Throughput:\s+\S+\s+requests/s,\s+" + _NUM + r"\s+(?:total\s+)?tokens/s", "higher"),
    _spec("output_token_throughput_offline", r"^\s*Throughput:.*?,\s+" + _NUM + r"\s+output tokens/s", "higher"),
)
ALL_METRICS: tuple[MetricSpec, ...] = SERVING_METRICS + LATENCY_METRICS + THROUGHPUT_METRICS
LABELS: dict[str, str] = {
    "mean_ttft_ms": "Mean TTFT (ms):",
    "request_throughput": "Request throughput (req/s): / Throughput: X requests/s",
    "avg_latency_s": "Avg latency: X seconds",
}


class MetricsError(Exception):
    """A benchmark's output lacks the metric it is judged on; ``output`` keeps the output."""

    def __init__(self, message: str, output: str, found: Mapping[str, float] | None = None) -> None:
        super().__init__(message)
        self.output = output
        self.found = dict(found or {})


def spec(name: str, specs: Iterable[MetricSpec] = ALL_METRICS) -> MetricSpec:
    """The pattern called ``name`` (``KeyError`` naming the known ones)."""
    pool = list(specs)
    for candidate in pool:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no metric pattern named {name!r}; known: {', '.join(sorted({s.name for s in pool}))}")


def parse_metrics(text: str, specs: Iterable[MetricSpec] = ALL_METRICS) -> dict[str, float]:
    """Every metric found in ``text`` by name; the last occurrence wins (the final result block)."""
    found: dict[str, float] = {}
    for s in specs:
        matches = re.findall(s.pattern, text, flags=re.MULTILINE)
        if not matches:
            continue
        last = matches[-1]
        raw = last[0] if isinstance(last, tuple) else last
        try:
            found[s.name] = float(raw)
        except ValueError:
            continue
    return found


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def require(text: str, primary: str, specs: Iterable[MetricSpec] = ALL_METRICS) -> tuple[float, dict[str, float]]:
    """The primary metric's value and all metrics found; :class:`MetricsError` if it is missing."""
    pool = list(specs)
    wanted = spec(primary, pool)
    found = parse_metrics(text, pool)
    if primary not in found:
        label = LABELS.get(primary, wanted.pattern)
        raise MetricsError(
            f"primary metric {primary!r} ({label}) not found in the benchmark output "
            f"(found: {', '.join(sorted(found)) or 'none'}); last output:\n{tail(text)}",
            output=text,
            found=found,
        )
    return found[primary], found


def specs_for(mode: str) -> tuple[MetricSpec, ...]:
    """The patterns of one benchmark mode (``serving``, ``latency``, ``throughput``)."""
    return {"serving": SERVING_METRICS, "latency": LATENCY_METRICS, "throughput": THROUGHPUT_METRICS}.get(
        mode, ALL_METRICS
    )
