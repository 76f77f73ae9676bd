"""Serving and offline LLM benchmarks (vLLM, SGLang) as perf tests.

``modes`` classifies a record's perf command and normalises the one workload every variant
runs; ``metrics`` reads the benchmark scripts' figures; ``server`` runs a model server in a
sandbox's background; ``runner`` turns benchmark runs into the timing protocol's
measurements; ``secrets`` keeps ``HF_TOKEN`` to the one process that downloads; ``standin``
holds a stand-in server and client for machines without a GPU.
"""

from __future__ import annotations

from pytest_isobench.serving.metrics import MetricsError, parse_metrics
from pytest_isobench.serving.modes import Mode, ServingPlan, WorkloadDefaults, classify, serving_plan, workload_command
from pytest_isobench.serving.runner import ServingSession, ServingSpec, measure_variants, run_serving_once
from pytest_isobench.serving.secrets import SecretError
from pytest_isobench.serving.server import ModelServer, ServerError

__all__ = [
    "MetricsError",
    "Mode",
    "ModelServer",
    "SecretError",
    "ServerError",
    "ServingPlan",
    "ServingSession",
    "ServingSpec",
    "WorkloadDefaults",
    "classify",
    "measure_variants",
    "parse_metrics",
    "run_serving_once",
    "serving_plan",
    "workload_command",
]
