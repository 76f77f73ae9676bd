"""The ``tasks/*.yaml`` suite model: which dataset, and the defaults its tasks share.

A suite names a dataset source (a file relative to the suite, or ``hf:OWNER/NAME[:split]``)
and the settings every task of it uses unless the record says otherwise: repository,
container image, GPUs, resources, timeouts, perf-test defaults and the success rule.
It runs nothing: it is parsed and validated, with errors that name the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .dataset.models import MetricSpec
from .measure.protocol import ProtocolSettings
from .measure.rule import SuccessRule
from .perf.correctness import CorrectnessSpec
from .provenance.imported import PackageCheck
from .sandbox.cpus import parse_cpuset
from .serving.modes import WorkloadDefaults

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_MARKER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SuiteError(Exception):
    """A suite file that cannot be used; the message names the file and the key."""


class PerfDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    python: str = Field(default="python3", description="interpreter for script perf tests")
    timeout_s: float = Field(default=300.0, gt=0)
    metric: MetricSpec | None = None
    min_time_s: float = Field(
        default=0.1,
        ge=0,
        description="least seconds one value should take, passed to perf tests as ISOBENCH_MIN_TIME_S (0: not passed)",
    )
    lockstep: bool = Field(
        default=True,
        description="run the variants' processes at once, their passes alternating (ISOBENCH_LOCKSTEP), "
        "when the perf test answers; false: one process after another",
    )
    passes: int = Field(
        default=20,
        ge=2,
        le=1000,
        description="most passes per variant in a lockstep round (its cycles also stop after 2 s, once 5 ran)",
    )
    process_time: bool = Field(
        default=False,
        description="judge a perf test that reports no figure on its process's wall time (whole-process "
        "benchmarks; the record warns); false: such a test is not timed",
    )
    refresh_every: int = Field(
        default=0,
        ge=0,
        description="a fresh sandbox for each variant every this many of its rounds (the same checkout, patch "
        "and setup; its cache state and filesystem layout re-drawn); 0: one sandbox per variant for the task",
    )
    own_stack: bool = Field(
        default=True,
        description="time the passes of a test timed through the harness's timing code (the demo's, "
        "setup-experiment, workload and asv drivers) in a thread of their own, their stack at an offset drawn "
        "per lockstep round and shared by its variants (ISOBENCH_STACK_OFFSET); false: in the test's main "
        "thread (a test that installs signal handlers or sets thread-local state before timing)",
    )


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpuset: str | None = None
    memory: str | None = None
    gpus: str | None = Field(default=None, description="'all', a count, or device ids")
    network_during_setup: bool = Field(
        default=True, description="false: setup commands run offline (docker backend; local cannot switch)"
    )

    @field_validator("cpuset")
    @classmethod
    def _cpuset(cls, value: str | None) -> str | None:
        if value is not None:
            parse_cpuset(value)  # a ValueError names the cpuset and what was expected
        return value


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    setup_s: float = Field(default=1800.0, gt=0)
    agent_s: float = Field(default=7200.0, gt=0)


class Timing(BaseModel):
    """The suite's timing protocol; ``--isobench-*`` options and ini keys override it.

    Its defaults are the measure layer's (``ProtocolSettings``), defined there once.
    """

    model_config = ConfigDict(extra="forbid")

    warmup: int = Field(default=ProtocolSettings.warmup, ge=0)
    min_rounds: int = Field(default=ProtocolSettings.min_rounds, ge=2)
    max_time_s: float = Field(default=ProtocolSettings.max_time_s, gt=0)
    target_ci: float = Field(default=ProtocolSettings.target_rel_width, gt=0, lt=1)


Success = SuccessRule
"""The ``success:`` section is the verdict's rule itself (one type, no copy)."""


class Rebuild(BaseModel):
    """How the agent's variant is rebuilt when its patch touches compiled code."""

    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(description="glob patterns of files whose change needs a rebuild, e.g. csrc/**")
    command: str = Field(description="run in the agent's checkout after the patch, e.g. pip install -e .")
    timeout_s: float = Field(default=3600.0, gt=0)


class Suite(BaseModel):
    """One ``tasks/<name>.yaml`` file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    dataset: str
    dataset_fallback: str | None = Field(
        default=None, description="used when `dataset` is unavailable (e.g. the hub offline), and said so"
    )
    repo: str | None = None
    image: str | None = Field(
        default=None,
        description="image name; may use {commit}, {short}, {parent}, {parent12}: the agent uses the baseline's",
    )
    images: dict[Literal["baseline", "human"], str] = Field(
        default_factory=dict, description="per-variant image templates (the agent uses the baseline's); else image"
    )
    package: PackageCheck | None = Field(
        default=None, description="the installed package each variant must import its own code of (vllm, sglang)"
    )
    gpus_required: int = Field(default=0, ge=0)
    resources: Resources = Field(default_factory=Resources)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    perf: PerfDefaults = Field(default_factory=PerfDefaults)
    timing: Timing = Field(default_factory=Timing)
    success: SuccessRule = Field(default_factory=SuccessRule)
    rebuild: Rebuild | None = None
    correctness: CorrectnessSpec | None = None
    serving: WorkloadDefaults | None = Field(
        default=None, description="serving/offline benchmark defaults (vLLM, SGLang); None: commands run as scripts"
    )
    setup_commands: list[str] = Field(default_factory=list)
    markers: list[str] = Field(
        default_factory=list, description="marker names put on every task item of the suite (select with -m)"
    )
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be letters, digits, '-', '_' or '.' (it prefixes item ids)")
        return value

    @field_validator("markers")
    @classmethod
    def _markers_ok(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _MARKER.match(name):
                raise ValueError(f"{name!r} is not a marker name (letters, digits and '_', not starting with a digit)")
        return value

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


def default_suite(name: str, dataset: str) -> Suite:
    """The settings an ad-hoc ``--isobench-dataset`` source is collected with."""
    return Suite(name=name, dataset=dataset)


def load_suite(path: Path) -> Suite:
    """Parse and validate a suite file; :class:`SuiteError` names the file and the key."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SuiteError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a mapping of suite keys (name, dataset, ...)")
    data.setdefault("name", path.stem)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"key {'.'.join(str(p) for p in err['loc']) or '<root>'!r}: {err['msg']}" for err in exc.errors()
        )
        raise SuiteError(f"{path}: {problems}") from None
    return suite.model_copy(update={"path": path})
