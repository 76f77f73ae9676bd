"""The one ``Task`` model every dataset shape is mapped onto.

Pure data (pydantic v2): no pytest, no docker, no git. Long texts that collection never
needs (diffs, timelines, commit messages) are not held here; :class:`RecordRef` says where
to read them back from when a later stage (test generation, reports) asks for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .scriptkind import Shape, classify

Direction = Literal["lower", "higher"]


class MetricSpec(BaseModel):
    """A figure read from a perf test's output with a regular expression."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    pattern: str = Field(description="regular expression whose first group is the number")
    direction: Direction = "lower"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if compiled.groups < 1:
            raise ValueError("the pattern needs one capturing group around the number")
        return value


class PerfTest(BaseModel):
    """One perf test: a Python script's source, a file in the checkout, or a command."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "perf"
    script: str | None = Field(default=None, description="Python source, copied into the checkout")
    command: str | None = Field(default=None, description="shell command run in the checkout")
    metric: MetricSpec | None = None
    shape: Shape | None = Field(
        default=None, description="what kind of test this is (json, setup-experiment, ...); None: read from the script"
    )
    target: str | None = Field(
        default=None,
        description="what a test of the repository names: pytest node ids (pytest-node, space-separated) "
        "or an asv benchmark (asv: 'module.Class.time_x', optionally with '(params)')",
    )

    @property
    def kind(self) -> Shape:
        """The test's shape: the one given, else a command's, else read from the script."""
        if self.shape is not None:
            return self.shape
        if self.script is None and self.target is not None:
            return "pytest-node"
        if self.script is None:
            return "command"
        return classify(self.script)


class UnitTests(BaseModel):
    """Tests of the project run as a correctness gate in every variant, never timed: a pytest
    module from the dataset (``script``, written into the checkout) or node ids of the
    repository's own tests (SWE-bench's ``PASS_TO_PASS`` / ``FAIL_TO_PASS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    script: str | None = None
    node_ids: list[str] = Field(default_factory=list)


class HumanFigures(BaseModel):
    """Timings the dataset recorded for the human commit (informative, never trusted)."""

    model_config = ConfigDict(frozen=True)

    base: list[float] = Field(default_factory=list)
    head: list[float] = Field(default_factory=list)
    speedup: float | None = None


class RecordRef(BaseModel):
    """Where a task's source record lives, to read long fields back lazily."""

    model_config = ConfigDict(frozen=True)

    source: str
    line: int | None = None
    offset: int | None = None

    def load(self) -> dict[str, Any]:
        """Re-read the full source record (only JSONL files are addressable by line)."""
        if self.line is None:
            raise LookupError(f"{self.source}: the record cannot be re-read (not a JSONL line)")
        if self.offset is not None:
            with Path(self.source).open("rb") as raw:
                raw.seek(self.offset)
                found = json.loads(raw.readline())
                if not isinstance(found, dict):
                    raise LookupError(f"{self.source}:{self.line}: not a JSON object")
                return found
        with Path(self.source).open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, start=1):
                if number == self.line:
                    value = json.loads(text)
                    if not isinstance(value, dict):
                        raise LookupError(f"{self.source}:{self.line}: not a JSON object")
                    return value
        raise LookupError(f"{self.source}: has no line {self.line}")


class Task(BaseModel):
    """One performance task: a repository, a baseline, a human commit, and perf tests."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    repo: str | None = Field(default=None, description="URL or local path; the suite may supply it")
    base_commit: str | None = Field(
        default=None, description="baseline; None or '<sha>^' means the first parent of head"
    )
    head_commit: str
    subject: str = ""
    perf_tests: list[PerfTest] = Field(default_factory=list)
    unit_tests: list[UnitTests] = Field(default_factory=list)
    apis: list[str] = Field(default_factory=list)
    files_changed: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    setup_commands: list[str] = Field(default_factory=list)
    install_commands: list[str] = Field(default_factory=list)
    human: HumanFigures | None = None
    human_patch: str | None = Field(
        default=None,
        description="the human change as a diff on the base (SWE-fficiency, FormulaCode): the human variant "
        "is the baseline with it applied, as the agent's is with its patch",
    )
    image: str | None = Field(default=None, description="the image the benchmark's own template names for this task")
    rebuild_commands: list[str] = Field(
        default_factory=list, description="run in a patched variant (human or agent) after its patch is applied"
    )
    gpus: int | None = Field(default=None, description="GPUs the task needs (None: suite default)")
    shape: str = "isobench"
    origin: RecordRef | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("head_commit")
    @classmethod
    def _hexish(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @property
    def base_is_parent(self) -> bool:
        return self.base_commit is None or self.base_commit.endswith("^")

    def long_field(self, name: str) -> Any:
        """A field dropped at load time (diff, message, ...), read back from the source."""
        if name in self.extra:
            return self.extra[name]
        if self.origin is None:
            return None
        return self.origin.load().get(name)
