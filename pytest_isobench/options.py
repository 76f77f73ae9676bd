"""Command-line options and ini keys of the plugin, and the ``type=`` parsers behind them.

Every flag is ``--isobench-*`` in one group; a bad value is a ``pytest.UsageError`` that
quotes the value and says what was expected, before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from .collect.shard import ShardSpecError, parse_shard
from .sandbox.gpus import parse_gpus

BACKENDS = ("auto", "docker", "local")
GENERATE = ("never", "missing", "all")


def shard_type(value: str) -> tuple[int, int]:
    try:
        return parse_shard(value)
    except ShardSpecError as exc:
        raise pytest.UsageError(f"--isobench-shard: {exc}") from None


def choice_type(flag: str, choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise pytest.UsageError(f"{flag}: {value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _bounded(flag: str, convert: Callable[[str], Any], minimum: float, strict: bool, what: str) -> Callable[[str], Any]:
    """A ``type=`` parser: ``convert`` the value and check it against ``minimum``."""
    expected = f"{what} {'>' if strict else '>='} {minimum:g}"

    def parse(value: str) -> Any:
        try:
            number = convert(value)
        except ValueError:
            number = None
        if number is None or not (number > minimum if strict else number >= minimum):
            raise pytest.UsageError(f"{flag}: {value!r} is not {expected}")
        return number

    return parse


# ``measure.protocol.ProtocolSettings``' defaults, for the help text: kept here so that the
# entry module (which adds these options to every pytest run) imports no statistics;
# tests/plugin/test_options.py checks that they agree.
MIN_ROUNDS = 5
MAX_TIME_S = 120.0
TARGET_CI = 0.02
WARMUP = 1

PASS_CATEGORIES = ("beats", "similar", "worse", "inconclusive")
"""The categories a run may pass (``measure.rule.PASSABLE``, kept here so that parsing
options does not import the statistics)."""


def categories_type(value: str) -> tuple[str, ...]:
    """``--isobench-pass``: comma-separated categories, each one of :data:`PASS_CATEGORIES`."""
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [n for n in names if n not in PASS_CATEGORIES]
    if unknown or not names:
        raise pytest.UsageError(
            f"--isobench-pass: {value!r}: expected comma-separated categories among {', '.join(PASS_CATEGORIES)}"
        )
    return tuple(dict.fromkeys(names))


def positive_int(flag: str) -> Callable[[str], int]:
    return _bounded(flag, int, 1, False, "a whole number")


def non_negative_int(flag: str) -> Callable[[str], int]:
    return _bounded(flag, int, 0, False, "a whole number")


def positive_float(flag: str) -> Callable[[str], float]:
    return _bounded(flag, float, 0, True, "a number")


def gpus_type(value: str) -> str:

    try:
        return parse_gpus(value)
    except ValueError as exc:
        raise pytest.UsageError(f"--isobench-gpus: {exc}") from None


_RAY_ADDRESS = re.compile(r"^(?:ray://)?[A-Za-z0-9_.-]+:\d{1,5}$")


def ray_address_type(value: str) -> str:
    text = value.strip()
    if text == "auto" or _RAY_ADDRESS.match(text):
        return text
    raise pytest.UsageError(
        f"--isobench-ray: {value!r} is not 'auto' or a cluster address HOST:PORT (or ray://HOST:PORT)"
    )


# (flag, ini key or None, kwargs for addoption); ini keys share the flag's help.
_OPTIONS: list[tuple[str, str | None, dict[str, Any]]] = [
    (
        "--isobench-agent",
        "isobench_agent",
        dict(
            metavar="NAME",
            help="agent whose patch is measured against the human commit (e.g. trae, claude_code, codex, openhands, openai, human, noop, predictions); without it, items check the human speedup alone",
        ),
    ),
    ("--isobench-model", "isobench_model", dict(metavar="MODEL", help="model the agent uses")),
    (
        "--isobench-predictions",
        None,
        dict(
            metavar="FILE|DIR",
            help="SWE-bench style predictions JSONL (instance_id, model_patch, model_name_or_path), or a folder of ISO-Bench runs (prediction.jsonl files), for --isobench-agent=predictions",
        ),
    ),
    (
        "--isobench-dataset",
        None,
        dict(
            action="append",
            default=[],
            metavar="PATH_OR_HF",
            help="collect a dataset without a suite file (.jsonl, .json, .parquet or hf:OWNER/NAME[:split]); repeatable",
        ),
    ),
    (
        "--isobench-shard",
        None,
        dict(
            type=shard_type, metavar="K/N", help="keep shard K of N (1-based) of the tasks, the same on every machine"
        ),
    ),
    (
        "--isobench-durations",
        None,
        dict(metavar="FILE", help="JSON of node id -> seconds used to balance --isobench-shard"),
    ),
    (
        "--isobench-backend",
        "isobench_backend",
        dict(
            type=choice_type("--isobench-backend", BACKENDS),
            metavar="NAME",
            help="sandbox backend: docker, local (not isolated) or auto (docker when an engine answers)",
        ),
    ),
    ("--isobench-image", None, dict(metavar="IMAGE", help="container image for every task (overrides the suite's)")),
    (
        "--isobench-gpus",
        None,
        dict(type=gpus_type, metavar="SPEC", help="GPUs for each sandbox: all, a count, or device ids like 0,1"),
    ),
    (
        "--isobench-ray",
        "isobench_ray",
        dict(
            type=ray_address_type,
            metavar="ADDRESS",
            help="run the selected tasks on a Ray cluster: auto (RAY_ADDRESS or the cluster started here with 'ray start') or HOST:PORT; needs pytest-isobench[ray]",
        ),
    ),
    (
        "--isobench-agent-concurrency",
        "isobench_agent_concurrency",
        dict(
            type=positive_int("--isobench-agent-concurrency"),
            metavar="N",
            help="agent runs in flight at once on the Ray cluster (default 8)",
        ),
    ),
    (
        "--isobench-lock-clocks",
        None,
        dict(
            action="store_true",
            default=False,
            help="lock the GPU clocks (nvidia-smi -lgc) for the run at the base clock or --isobench-lock-clocks-mhz; reset (-rgc) at the end. Needs root",
        ),
    ),
    (
        "--isobench-lock-clocks-mhz",
        None,
        dict(
            type=positive_int("--isobench-lock-clocks-mhz"),
            metavar="MHZ",
            help="the SM clock --isobench-lock-clocks locks",
        ),
    ),
    (
        "--isobench-min-rounds",
        "isobench_min_rounds",
        dict(
            type=positive_int("--isobench-min-rounds"),
            metavar="N",
            help=f"rounds of interleaved timing at least (default {MIN_ROUNDS})",
        ),
    ),
    (
        "--isobench-max-time",
        "isobench_max_time",
        dict(
            type=positive_float("--isobench-max-time"),
            metavar="SECONDS",
            help=f"timing budget per task (default {MAX_TIME_S:g})",
        ),
    ),
    (
        "--isobench-target-ci",
        "isobench_target_ci",
        dict(
            type=positive_float("--isobench-target-ci"),
            metavar="FRACTION",
            help=f"stop adding rounds once each speedup's interval is within this relative half-width (default {TARGET_CI:g})",
        ),
    ),
    (
        "--isobench-pass",
        "isobench_pass",
        dict(
            type=categories_type,
            metavar="CATEGORIES",
            help="agent categories that pass, comma-separated (beats, similar, worse, inconclusive); overrides the suite's success.pass_categories (default beats,similar)",
        ),
    ),
    (
        "--isobench-warmup",
        "isobench_warmup",
        dict(
            type=non_negative_int("--isobench-warmup"),
            metavar="N",
            help=f"untimed warm-up runs per variant (default {WARMUP})",
        ),
    ),
    (
        "--isobench-results",
        "isobench_results",
        dict(metavar="DIR", help="directory for result records (default .isobench/results/<run id>)"),
    ),
    (
        "--isobench-resume",
        None,
        dict(metavar="DIR", help="reuse complete records in DIR for the same agent and settings; run the rest"),
    ),
    (
        "--isobench-cache-dir",
        "isobench_cache_dir",
        dict(metavar="DIR", help="repository clones, worktrees and agent patches (default .isobench/cache)"),
    ),
    (
        "--isobench-rerun-agent",
        None,
        dict(action="store_true", default=False, help="run the agent even when its patch is cached"),
    ),
    (
        "--isobench-agent-timeout",
        "isobench_agent_timeout",
        dict(type=positive_float("--isobench-agent-timeout"), metavar="SECONDS", help="agent budget (default 7200)"),
    ),
    (
        "--isobench-review-factor",
        "isobench_review_factor",
        dict(
            type=positive_float("--isobench-review-factor"),
            metavar="X",
            help="flag agent speedups above X times the human's for review (default 10)",
        ),
    ),
    (
        "--isobench-generate",
        "isobench_generate",
        dict(
            type=choice_type("--isobench-generate", GENERATE),
            metavar="MODE",
            help="generate missing perf tests with an LLM: never, missing, all",
        ),
    ),
    (
        "--isobench-testgen-model",
        "isobench_testgen_model",
        dict(metavar="MODEL", help="model for perf-test generation (OpenAI-compatible endpoint)"),
    ),
    (
        "--isobench-testgen-concurrency",
        "isobench_testgen_concurrency",
        dict(
            type=positive_int("--isobench-testgen-concurrency"),
            metavar="N",
            help="perf tests generated at once (default 8)",
        ),
    ),
    (
        "--isobench-testgen-attempts",
        "isobench_testgen_attempts",
        dict(
            type=positive_int("--isobench-testgen-attempts"),
            metavar="N",
            help="model answers, and validations, per generated perf test (default 3)",
        ),
    ),
    (
        "--isobench-testgen-timeout",
        "isobench_testgen_timeout",
        dict(
            type=positive_float("--isobench-testgen-timeout"),
            metavar="SECONDS",
            help="limit per request to the test-generation model (default 60)",
        ),
    ),
]


def addoptions(parser: pytest.Parser) -> None:
    group = parser.getgroup("isobench", "ISO-Bench: agents on real performance commits")
    for flag, ini, kwargs in _OPTIONS:
        dest = flag.lstrip("-").replace("-", "_")
        group.addoption(flag, dest=dest, **kwargs)
        if ini is not None:
            parser.addini(ini, help=str(kwargs.get("help", "")), type="string", default=None)
    parser.addini(
        "isobench_suites",
        help="glob patterns of suite files collected from directories (default tasks/*.yaml)",
        type="linelist",
        default=["tasks/*.yaml", "tasks/*.yml"],
    )


TASK_FILE_SUFFIXES = (".yaml", ".yml", ".jsonl", ".parquet")
"""Suite and data files: an argument ending so names ISO-Bench work."""


def given(config: pytest.Config) -> bool:
    """Some ``--isobench-*`` flag is given, or some ``isobench_*`` ini key is set."""
    for flag, ini, _kwargs in _OPTIONS:
        if config.getoption(flag.lstrip("-").replace("-", "_"), None) not in (None, [], False):
            return True
        if ini is not None and config.getini(ini) not in (None, ""):
            return True
    return False


def names_task_files(config: pytest.Config) -> bool:
    """The arguments name suite or data files, or suite files lie under the rootdir."""
    if any(str(arg).split("::")[0].endswith(TASK_FILE_SUFFIXES) for arg in config.args):
        return True
    return any(next(config.rootpath.glob(pattern), None) for pattern in config.getini("isobench_suites"))


def get(config: pytest.Config, flag: str, ini: str | None = None, default: Any = None) -> Any:
    """An option's value: the flag, else the ini key (parsed with the flag's type), else default."""
    dest = flag.lstrip("-").replace("-", "_")
    value = config.getoption(dest, None)
    if value is not None and value != []:
        return value
    if ini is not None:
        raw = config.getini(ini)
        if raw not in (None, ""):
            parser = next((kw.get("type") for f, _i, kw in _OPTIONS if f == flag), None)
            return parser(str(raw)) if parser is not None else raw
    return default
