"""``TaskRecord``: the typed result of one task, as written, read back and reported.

One pydantic model for every consumer: the task run builds it (in
:mod:`pytest_isobench.taskrun.build_record`, the one place its fields are filled), the store
writes and reads it, resume replays it, and ``benchmark.json``, the terminal summary and
the reports read its attributes. Unknown fields are kept (``extra="allow"``) so that a
``pytest_isobench_record`` hook's additions and newer records survive a round trip.
Nothing here computes statistics or runs anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

RECORD_SCHEMA = "isobench.record/1"

Status = Literal["passed", "failed", "skipped", "error"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "skipped", "error")

# Fields that differ between two runs of the same task by timing and machine state alone.
TIMING_FIELDS = frozenset({"setup_s", "run_id", "resumed", "versions", "machine", "noise", "gpu"})


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class EstimateRecord(_Open):
    """A speedup with its confidence interval."""

    point: float
    low: float
    high: float


class VerdictRecord(_Open):
    """The judgement of a task (see :class:`pytest_isobench.measure.verdict.Verdict`)."""

    passed: bool = False
    category: str | None = None
    human: EstimateRecord | None = None
    agent: EstimateRecord | None = None
    agent_vs_human: EstimateRecord | None = None
    human_significant: bool | None = None
    human_pvalue: float | None = None
    agent_pvalue: float | None = None
    equivalent: bool | None = None
    human_equivalent: bool | None = None
    needed: float | None = None
    reason: str = ""
    message: str = ""

    human_verdict: str | None = None  # significant, inconclusive, slower or tied
    level: float | None = None
    rounds: int | None = None
    gso: dict[str, Any] | None = None
    # Per pair of variants ("baseline/human", ...): the rounds' serial dependence, the
    # factor its interval was widened by and whether the test called it dependent.
    dependence: dict[str, dict[str, Any]] | None = None

    @classmethod
    def failed(cls, reason: str, message: str, tampered: bool = False) -> VerdictRecord:
        """The agent failed before anything could be timed (patch, build, correctness, tampering ...)."""
        return cls(passed=False, category="tampering" if tampered else "failed", reason=reason, message=message)

    def dependent_lag1(self) -> float | None:
        """The strongest lag-1 autocorrelation among the pairs found dependent, if any."""
        found = [float(d.get("lag1", 0.0)) for d in (self.dependence or {}).values() if d.get("dependent")]
        return max(found) if found else None

    def label(self) -> str:
        """The category, or for a run without agent what came of the human speedup."""
        if self.category:
            return self.category
        if self.human_significant:
            return "significant"
        return self.human_verdict or "not significant"


class VariantRecord(_Open):
    """One variant's samples in one perf test."""

    values: list[float] = Field(default_factory=list)
    walls: list[float] = Field(default_factory=list)
    digests: list[str] = Field(default_factory=list)
    warmup: list[float | None] = Field(default_factory=list)
    loops: list[int | None] = Field(default_factory=list)  # loops per value (ISOBENCH_MIN_TIME_S)
    # Lockstep rounds: each kept round's passes (seconds per loop), from which its value came.
    passes: list[list[float]] = Field(default_factory=list)
    # Each kept round's environment padding (bytes): per lockstep round (the same for its
    # variants), per process otherwise.
    env_pad: list[int | None] = Field(default_factory=list)
    # Each kept round's stack offset of the timed passes (perf.own_stack), one per lockstep round.
    stack_offset: list[int | None] = Field(default_factory=list)
    # Each kept round's PYTHONHASHSEED, one per lockstep round (None: Python drew its own).
    hash_seed: list[int | None] = Field(default_factory=list)
    # perf.refresh_every: the sandboxes it ran in, in order (a container's id, a worktree's directory)
    sandboxes: list[str] = Field(default_factory=list)
    stats: dict[str, Any] | None = None  # pytest-benchmark's stats object
    error: str | None = None


class PerfTestRecord(_Open):
    """One perf test's timing rounds."""

    name: str
    shape: str | None = None  # json, setup-experiment, no-figure (timed on process time), command
    rounds: int = 0
    stop_reason: str = ""
    elapsed_s: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    looks: list[int] = Field(default_factory=list)  # the rounds at which the sequential stop looked
    order: list[list[str]] = Field(default_factory=list)
    lockstep: bool = False  # the variants' passes alternated within each round (ISOBENCH_LOCKSTEP)
    randomised: list[str] = Field(default_factory=list)  # what was re-drawn for every round or process
    # how the lockstep rounds' cycles were chosen (measure/allocation.py): the last choice,
    # the within- and between-process variances and the costs it was chosen from
    allocation: dict[str, Any] | None = None
    variants: dict[str, VariantRecord] = Field(default_factory=dict)


class AgentRunRecord(_Open):
    """What the agent's run cost (its patch and logs are fields of the task record)."""

    exit_status: int = 0
    duration_s: float = 0.0
    tokens: int | None = None
    cost_usd: float | None = None
    model: str | None = None
    timed_out: bool = False
    patch_bytes: int = 0


class CorrectnessRecord(_Open):
    """The suite's correctness check: scores, errors and failures per variant."""

    scores: dict[str, float] = Field(default_factory=dict)
    errors: dict[str, str] = Field(default_factory=dict)
    failed: dict[str, str] = Field(default_factory=dict)


class NoiseRecord(_Open):
    """The noise guard around the timing: machine snapshots at start and end, and every warning."""

    start: dict[str, Any] = Field(default_factory=dict)
    end: dict[str, Any] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)


class MachineRecord(_Open):
    node: str = ""
    machine: str = ""
    gpu: str | None = None
    cpuset: str | None = None


class TaskRecord(_Open):
    """Everything known about one task of one run."""

    record_schema: str = Field(default=RECORD_SCHEMA, alias="schema")
    item_id: str
    status: Status
    reason: str = ""
    verdict: VerdictRecord | None = None
    nodeid: str = ""
    suite: str | None = None
    instance_id: str | None = None
    repo: str | None = None
    head_commit: str | None = None
    base_commit: str | None = None
    agent: str | None = None
    model: str | None = None
    settings: dict[str, Any] | None = None  # Settings.fingerprint(): what makes records comparable
    run_id: str | None = None
    machine: MachineRecord = Field(default_factory=MachineRecord)
    versions: dict[str, str] = Field(default_factory=dict)
    backend: str | None = None
    setup_s: float | None = None
    agent_run: AgentRunRecord | None = None
    patch: str | None = None
    patch_method: str | None = None
    agent_failure: str | None = None
    agent_rebuilt: bool = False
    agent_logs: str = ""
    prompt_version: str | None = None
    human_patch: str | None = None
    correctness: CorrectnessRecord | None = None
    human_correct: bool | None = None
    imported: dict[str, Any] | None = None  # what each variant imported (suite ``package``)
    # Checks the dataset's own tests ask for, before timing: ``unit_tests`` (gates, per variant),
    # ``equivalence`` (per setup-experiment perf test), ``untimed`` (tests not timed, and why).
    checks: dict[str, Any] | None = None
    test_shapes: dict[str, str] = Field(default_factory=dict)  # each test of the task: its shape, or unit-tests
    review: str | None = None  # why a human should look at the patch (a speedup far above the human's)
    perf_tests: list[PerfTestRecord] = Field(default_factory=list)
    serving: dict[str, Any] = Field(default_factory=dict)
    direction: str | None = None
    noise: NoiseRecord | None = None
    gpu: dict[str, Any] | None = None  # GPU provenance: nvidia-smi snapshots around the timing, warnings
    resumed: bool = False
    lost: bool = False  # its process died under it (an xdist worker): an error record stands in
    run_label: str | None = Field(default=None, exclude=True)  # ``isobench report --runs-as-k``: which run

    _path: str | None = PrivateAttr(default=None)  # where it was read from, for messages

    @property
    def path(self) -> str | None:
        return self._path

    def label(self) -> str:
        """What the summary calls this task: error/skipped, its category, or significance."""
        if self.status in ("error", "skipped"):
            return self.status
        if self.verdict is not None:
            return self.verdict.label()
        return self.status

    @property
    def message(self) -> str:
        """Why it passed or failed, in one line or a few."""
        if self.verdict is not None and self.verdict.message:
            return self.verdict.message
        return self.reason or self.agent_failure or self.status

    def as_resumed(self) -> TaskRecord:
        """The record as a resumed run reports it: the same fields, flagged ``resumed``."""
        return self.model_copy(update={"resumed": True})

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to disk (field names as in the file, ``schema`` included)."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True)
        return data

    @classmethod
    def from_json(cls, data: Any, path: str | None = None) -> TaskRecord:
        """Read a record back; raises pydantic's ``ValidationError`` naming the bad field."""
        record = cls.model_validate(data)
        record._path = path
        return record

    def extra(self, key: str) -> Any:
        """A field that a hook or a newer record added (None when absent)."""
        return (self.model_extra or {}).get(key)

    def comparable(self) -> dict[str, Any]:
        """The record without the fields that only timing and the run change (tests, resume)."""
        data = self.to_json()
        for key in TIMING_FIELDS:
            data.pop(key, None)
        return data


def as_records(records: Sequence[TaskRecord | dict[str, Any]]) -> list[TaskRecord]:
    """Records as models (JSON objects, e.g. written by hand in a test, are validated)."""
    return [r if isinstance(r, TaskRecord) else TaskRecord.from_json(r) for r in records]
