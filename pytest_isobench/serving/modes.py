"""Benchmark modes of the vLLM/SGLang suites, and the one workload every variant runs.

A record's ``perf_command`` is classified as ``serving`` (``benchmark_serving.py``,
``vllm bench serve``, ``sglang.bench_serving``: a client against a model server),
``latency`` or ``throughput`` (offline benchmarks run directly), or ``script`` (anything
else, run as an ordinary perf test). Each mode has a primary metric: mean TTFT for serving,
request throughput for throughput, average latency for latency.

The workload is normalised from the record's command and the suite's defaults alone, never
from anything a variant has, so baseline, human and agent run byte-identical commands: the
same model, dataset, prompt count, request rate, seed and maximum model length (the original
runner mixed datasets between variants). For serving, the command's flags are split between
the server (engine flags such as ``--dtype``, ``--max-model-len``) and the client. This
module is pure: it parses and formats strings, it runs nothing.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .settings import ServingSettings

Mode = Literal["serving", "latency", "throughput", "script"]
MODES: tuple[Mode, ...] = ("serving", "latency", "throughput", "script")

PRIMARY_METRIC: dict[Mode, str] = {
    "serving": "mean_ttft_ms",
    "throughput": "request_throughput",
    "latency": "avg_latency_s",
}
"""The metric each mode is judged on (``script`` keeps the perf-test protocol's own figure)."""

_SCRIPTS: dict[str, Mode] = {
    "benchmark_serving.py": "serving",
    "benchmark_latency.py": "latency",
    "benchmark_throughput.py": "throughput",
}
_MODULES: dict[str, Mode] = {
    "sglang.bench_serving": "serving",
    "sglang.bench_one_batch": "latency",
    "sglang.bench_offline_throughput": "throughput",
    "vllm.benchmarks.benchmark_serving": "serving",
}
_VLLM_BENCH: dict[str, Mode] = {"serve": "serving", "latency": "latency", "throughput": "throughput"}
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")

# Flags of vLLM's benchmark_serving.py (the client); every other flag of a serving command
# belongs to the server it is benchmarked against.
CLIENT_FLAGS = frozenset(
    [
        "backend",
        "base-url",
        "host",
        "port",
        "endpoint",
        "dataset",
        "dataset-name",
        "dataset-path",
        "max-concurrency",
        "model",
        "tokenizer",
        "tokenizer-mode",
        "best-of",
        "use-beam-search",
        "num-prompts",
        "logprobs",
        "request-rate",
        "burstiness",
        "seed",
        "trust-remote-code",
        "disable-tqdm",
        "profile",
        "save-result",
        "save-detailed",
        "metadata",
        "result-dir",
        "result-filename",
        "ignore-eos",
        "percentile-metrics",
        "metric-percentiles",
        "goodput",
        "sonnet-input-len",
        "sonnet-output-len",
        "sonnet-prefix-len",
        "sharegpt-output-len",
        "random-input-len",
        "random-output-len",
        "random-range-ratio",
        "random-prefix-len",
        "hf-subset",
        "hf-split",
        "hf-output-len",
        "served-model-name",
        "lora-modules",
    ]
)
SHARED_FLAGS = frozenset({"model", "trust-remote-code", "tokenizer", "served-model-name"})
"""Client flags the server needs too (the model it serves, how to load it)."""
_SERVING_ALIASES = {"input-len": "random-input-len", "output-len": "random-output-len"}
_ALIASES = {"tp": "tensor-parallel-size", "pp": "pipeline-parallel-size", "q": "quantization"}
# The workload keys, in the order they are written first on every command.
WORKLOAD_KEYS = ("model", "dataset-name", "dataset-path", "num-prompts", "request-rate", "seed", "max-model-len")


class WorkloadDefaults(BaseModel):
    """A suite's serving/offline defaults (``serving:`` in ``tasks/*.yaml``).

    Keys the record's command lacks are filled from here, the same for every variant;
    ``model`` replaces the record's model (a path only its author had, say).
    ``serve_command`` is a template with ``{model}``, ``{port}`` and ``{python}``;
    ``client_script`` replaces the checkout's benchmark script so that every variant is
    measured by the same client (old checkouts' scripts differ).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    python: str = "python3"
    model: str | None = None
    dataset_name: str | None = "random"
    dataset_path: str | None = None
    num_prompts: int | None = Field(default=200, gt=0)
    request_rate: str | None = "inf"
    seed: int | None = 0
    max_model_len: int | None = Field(default=None, gt=0)
    serve_command: str = "{python} -m vllm.entrypoints.openai.api_server --model {model} --port {port}"
    server_args: list[str] = Field(default_factory=list, description="extra server flags, e.g. gpu memory")
    client_script: str | None = None
    # The server's settings, flat in the YAML; defaults and meaning in ``ServingSettings``.
    host: str = ServingSettings.host
    port: int = Field(default=ServingSettings.port, gt=0, lt=65536)
    health_path: str = ServingSettings.health_path
    startup_timeout_s: float = Field(default=ServingSettings.startup_timeout_s, gt=0)
    client_timeout_s: float = Field(default=ServingSettings.client_timeout_s, gt=0)
    load_format: Literal["keep", "dummy", "never"] = Field(
        default="keep", description="'dummy': random weights where the task allows; 'never': strip it"
    )
    primary_metric: str | None = None

    @property
    def server(self) -> ServingSettings:
        """The ``ServingSettings`` these defaults set (the others keep their defaults)."""
        names = [f.name for f in dataclasses.fields(ServingSettings) if f.name in type(self).model_fields]
        return ServingSettings(**{name: getattr(self, name) for name in names})


@dataclass(frozen=True)
class ParsedCommand:
    """A benchmark command split into its parts; ``flags`` keeps order, values None for switches."""

    env: tuple[str, ...]
    program: tuple[str, ...]  # e.g. ("python3", "benchmarks/benchmark_serving.py") or ("vllm", "bench", "serve")
    flags: tuple[tuple[str, str | None], ...]
    mode: Mode
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServingPlan:
    """What a serving task runs: the server, the client against it, and where it listens."""

    mode: Mode
    client_command: str
    serve_command: str | None
    model: str | None
    server: ServingSettings = field(default_factory=ServingSettings)
    primary_metric: str | None = None
    notes: tuple[str, ...] = field(default=())


def _program(tokens: list[str]) -> tuple[tuple[str, ...], Mode, int]:
    """The program tokens, its mode, and where its arguments start."""
    if not tokens:
        return (), "script", 0
    if tokens[0] == "vllm" and len(tokens) > 2 and tokens[1] == "bench" and tokens[2] in _VLLM_BENCH:
        return tuple(tokens[:3]), _VLLM_BENCH[tokens[2]], 3
    if _PYTHON.match(tokens[0]) and len(tokens) > 1:
        if tokens[1] == "-m" and len(tokens) > 2:
            return tuple(tokens[:3]), _MODULES.get(tokens[2], "script"), 3
        return tuple(tokens[:2]), _SCRIPTS.get(os.path.basename(tokens[1]), "script"), 2
    return (tokens[0],), _SCRIPTS.get(os.path.basename(tokens[0]), "script"), 1


def parse_command(command: str) -> ParsedCommand:
    """Split ``command`` into env assignments, program, and flags (``ValueError`` if unparsable)."""
    try:
        tokens = shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"perf command {command!r} cannot be parsed: {exc}") from None
    env: list[str] = []
    while tokens and _ENV_ASSIGN.match(tokens[0]):
        env.append(tokens.pop(0))
    program, mode, start = _program(tokens)
    flags: list[tuple[str, str | None]] = []
    dropped: list[str] = []
    rest = tokens[start:]
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if token.startswith("[") and token.endswith("]"):
            dropped.append(token)  # an optional placeholder the record's author left in
            continue
        if not token.startswith("-") or token == "-":
            dropped.append(token)
            continue
        name, eq, value = token.lstrip("-").partition("=")
        name = name.replace("_", "-")
        name = _ALIASES.get(name, name)
        if not eq:
            value_or_none: str | None = None
            if i < len(rest) and not (rest[i].startswith("-") and not _is_number(rest[i])):
                value_or_none = rest[i]
                i += 1
            flags.append((name, value_or_none))
        else:
            flags.append((name, value))
    return ParsedCommand(tuple(env), program, tuple(flags), mode, tuple(dropped))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def classify(command: str) -> Mode:
    """``serving``, ``latency``, ``throughput`` or ``script`` for a record's perf command."""
    try:
        return parse_command(command).mode
    except ValueError:
        return "script"


def primary_metric(mode: Mode, defaults: WorkloadDefaults | None = None) -> str | None:
    """The metric a mode is judged on; the suite may name another."""
    if defaults is not None and defaults.primary_metric:
        return defaults.primary_metric
    return PRIMARY_METRIC.get(mode)


def _format(env: tuple[str, ...], program: tuple[str, ...], flags: list[tuple[str, str | None]]) -> str:
    parts = [*env, *program]
    for name, value in flags:
        parts.append(f"--{name}")
        if value is not None:
            parts.append(value)
    return shlex.join(parts)


def _ordered(flags: dict[str, str | None]) -> list[tuple[str, str | None]]:
    first = [(k, flags[k]) for k in WORKLOAD_KEYS if k in flags]
    return first + [(k, v) for k, v in flags.items() if k not in WORKLOAD_KEYS]


def _normalised_flags(parsed: ParsedCommand, defaults: WorkloadDefaults) -> dict[str, str | None]:
    flags: dict[str, str | None] = {}
    for name, value in parsed.flags:
        if parsed.mode == "serving":
            name = _SERVING_ALIASES.get(name, name)
        flags[name] = value
    if parsed.mode == "serving" and "dataset" in flags and "dataset-path" not in flags:
        flags["dataset-path"] = flags.pop("dataset")  # the deprecated spelling of --dataset-path
        flags.setdefault("dataset-name", "sharegpt")
    if defaults.model is not None:
        flags["model"] = defaults.model
    if parsed.mode == "serving":
        if "dataset-path" not in flags and "dataset-name" not in flags:
            if defaults.dataset_name is not None:
                flags["dataset-name"] = defaults.dataset_name
            if defaults.dataset_path is not None:
                flags["dataset-path"] = defaults.dataset_path
        fill: tuple[tuple[str, object], ...] = (
            ("num-prompts", defaults.num_prompts),
            ("request-rate", defaults.request_rate),
            ("seed", defaults.seed),
        )
        for key, default in fill:
            if key not in flags and default is not None:
                flags[key] = str(default)
    elif parsed.mode == "throughput":
        if "num-prompts" not in flags and defaults.num_prompts is not None:
            flags["num-prompts"] = str(defaults.num_prompts)
        if "seed" not in flags and defaults.seed is not None:
            flags["seed"] = str(defaults.seed)
    if "max-model-len" not in flags and defaults.max_model_len is not None:
        flags["max-model-len"] = str(defaults.max_model_len)
    if defaults.load_format == "dummy":
        flags["load-format"] = "dummy"
    elif defaults.load_format == "never" and flags.get("load-format") == "dummy":
        del flags["load-format"]
    return flags


def _program_for(parsed: ParsedCommand, defaults: WorkloadDefaults) -> tuple[str, ...]:
    program = parsed.program
    if defaults.client_script is not None and parsed.mode == "serving":
        return (defaults.python, defaults.client_script)
    if program and _PYTHON.match(program[0]):
        return (defaults.python, *program[1:])
    return program


def serving_plan(task_command: str, defaults: WorkloadDefaults | None = None) -> ServingPlan:
    """The normalised commands of a task: for serving, the server's and the client's.

    A pure function of the record's command and the suite's defaults: every variant gets
    the same plan, and only the checkout it runs in differs.
    """
    defaults = defaults if defaults is not None else WorkloadDefaults()
    parsed = parse_command(task_command)
    notes = tuple(f"dropped {t!r} from the perf command" for t in parsed.dropped)
    if parsed.mode == "script":
        return ServingPlan("script", task_command, None, None, notes=notes)
    flags = _normalised_flags(parsed, defaults)
    model = flags.get("model")

    def plan(client_command: str, serve_command: str | None) -> ServingPlan:
        return ServingPlan(
            parsed.mode,
            client_command,
            serve_command,
            model,
            server=defaults.server,
            primary_metric=primary_metric(parsed.mode, defaults),
            notes=notes,
        )

    if parsed.mode != "serving":
        return plan(_format(parsed.env, _program_for(parsed, defaults), _ordered(flags)), None)
    if model is None:
        raise ValueError(f"serving perf command {task_command!r} names no --model (and the suite gives none)")
    client: dict[str, str | None] = {}
    server: dict[str, str | None] = {}
    for name, value in flags.items():
        if name in CLIENT_FLAGS:
            client[name] = value
            if name in SHARED_FLAGS and name != "model":
                server[name] = value
        else:
            server[name] = value
    client["host"] = defaults.host
    client["port"] = str(defaults.port)
    client.setdefault("backend", "vllm")
    serve = defaults.serve_command.format(
        model=shlex.quote(model), port=defaults.port, python=shlex.quote(defaults.python)
    )
    tail = _format((), (), _ordered(server))
    extra = shlex.join(defaults.server_args)
    serve_command = " ".join(p for p in (" ".join(parsed.env), serve, tail, extra) if p)
    client_command = _format(parsed.env, _program_for(parsed, defaults), _ordered(client))
    return plan(client_command, serve_command)


def workload_command(task_command: str, suite_defaults: WorkloadDefaults | None = None) -> str:
    """The benchmark command every variant runs (the client, for serving)."""
    return serving_plan(task_command, suite_defaults).client_command
