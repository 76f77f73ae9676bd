"""Recognise the real record shapes of ISO-Bench, GSO and our own files, per record.

Each mapper turns one raw ``dict`` into a :class:`Task`. Long texts collection never uses
are dropped when the record can be re-read from its source line (JSONL), and kept in
``extra`` otherwise. Unknown fields are kept in ``extra``, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from . import field_shapes
from .models import HumanFigures, PerfTest, RecordRef, Task
from .rowparts import LONG_FIELDS, NODE_ID, RecordError, as_list, build, require, strs, unit_tests_of
from .scriptkind import classify

__all__ = ["KNOWN_SHAPES", "LONG_FIELDS", "SHAPES", "RecordError", "identify", "task_from_record"]


def _perf_command(value: Any) -> list[PerfTest]:
    commands = strs(value)
    return [PerfTest(name=f"cmd{i}" if i else "cmd", command=c) for i, c in enumerate(commands)]


def _scripts(value: Any, prefix: str) -> list[PerfTest]:
    """The perf tests among a record's test scripts (unit-test modules and node ids are not)."""
    return [
        PerfTest(name=f"{prefix}{i}", script=s)
        for i, s in enumerate(strs(value))
        if not NODE_ID.match(s) and classify(s) != "unit-tests"
    ]


def _human_from_durations(raw: Mapping[str, Any]) -> HumanFigures | None:
    changes = raw.get("duration_changes")
    speedup = raw.get("human_performance")
    if not changes and speedup is None:
        return None
    base: list[float] = []
    head: list[float] = []
    for change in as_list(changes):
        if isinstance(change, Mapping):
            base.extend(float(x) for x in as_list(change.get("base")))
            head.extend(float(x) for x in as_list(change.get("head")))
    return HumanFigures(base=base, head=head, speedup=float(speedup) if speedup is not None else None)


def _instance(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """Canonical instances (``instance_id``, ``base_commit``, ``head_commit``) and ours."""
    perf: list[PerfTest] = []
    try:
        perf = [PerfTest.model_validate(p) for p in as_list(raw.get("perf_tests"))]
    except ValidationError as exc:
        raise RecordError(f"{where}: field 'perf_tests': {exc.errors()[0]['msg']}") from None
    perf += _scripts(raw.get("efficiency_test"), "efficiency")
    perf += _perf_command(raw.get("perf_command"))
    subject = raw.get("subject") or str(raw.get("gt_commit_message") or "").split("\n", 1)[0]
    return build(
        raw,
        where,
        origin,
        _INSTANCE_USED,
        shape="instance",
        instance_id=require(raw, "instance_id", where),
        head=require(raw, "head_commit", where),
        base=raw.get("base_commit") or None,
        perf=perf,
        subject=str(subject),
        apis=strs(raw.get("apis")) or strs(raw.get("api")),
        human=_human_from_durations(raw),
        unit_tests=unit_tests_of(raw, ("efficiency_test",), where),
    )


_INSTANCE_USED = frozenset(
    {
        "instance_id",
        "repo",
        "base_commit",
        "head_commit",
        "efficiency_test",
        "perf_tests",
        "perf_command",
        "metric",
        "apis",
        "api",
        "files_changed",
        "models",
        "setup_commands",
        "install_commands",
        "duration_changes",
        "human_performance",
        "subject",
        "gpus",
        "PASS_TO_PASS",
        "FAIL_TO_PASS",
    }
)
_COMMIT_USED = frozenset(
    {
        "commit_hash",
        "parent_commit",
        "commit_subject",
        "repo",
        "perf_command",
        "test_script",
        "apis",
        "files_changed",
        "models",
        "metric",
        "gpus",
        "setup_commands",
        "install_commands",
    }
)
_GSO_USED = frozenset(
    {
        "instance_id",
        "repo",
        "base_commit",
        "opt_commit",
        "api",
        "prob_script",
        "tests",
        "setup_commands",
        "install_commands",
        "gpus",
    }
)


def _commit(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """ISO-Bench commit-level records and Hugging Face rows: the base is ``parent_commit``
    when the record names it (facts taken from ISO-Bench's runs), else the first parent."""
    head = require(raw, "commit_hash", where)
    parent = raw.get("parent_commit")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise RecordError(f"{where}: field 'parent_commit' must be a commit sha, got {parent!r}")
    shape = "hf-isobench" if "test_script" in raw else "commit"
    perf = _scripts(raw.get("test_script"), "test") + _perf_command(raw.get("perf_command"))
    subject = raw.get("commit_subject") or str(raw.get("commit_message") or "").split("\n", 1)[0]
    return build(
        raw,
        where,
        origin,
        _COMMIT_USED,
        shape=shape,
        instance_id=str(raw.get("instance_id") or head),
        head=head,
        base=parent.strip() if isinstance(parent, str) else None,
        perf=perf,
        subject=str(subject),
        apis=strs(raw.get("apis")),
        human=None,
        unit_tests=unit_tests_of(raw, ("test_script",), where),
    )


def _gso(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """GSO rows: ``opt_commit`` is the human commit, ``tests`` the perf scripts."""
    perf = _scripts(raw.get("tests"), "test")
    if not perf:
        perf = _scripts(raw.get("prob_script"), "prob")
    subject = str(raw.get("gt_commit_message") or "").split("\n", 1)[0]
    instance_id = require(raw, "instance_id", where)
    return build(
        raw,
        where,
        origin,
        _GSO_USED,
        shape="gso",
        instance_id=instance_id,
        head=require(raw, "opt_commit", where),
        base=require(raw, "base_commit", where),
        perf=perf,
        subject=subject,
        apis=strs(raw.get("api")),
        human=None,
        unit_tests=unit_tests_of(raw, ("tests",), where),
        more={"image": GSO_IMAGE.format(arch=raw.get("arch") or "x86_64", instance_id=instance_id.lower())},
    )


GSO_IMAGE = "slimshetty/gso:gso.eval.{arch}.{instance_id}"
"""GSO's published instance image (``gso/data/dataset.py: remote_instance_image_key``)."""

Mapper = Callable[[Mapping[str, Any], str, "RecordRef | None"], Task]

# (name, the keys that identify it, mapper); the first whose keys are all present wins.
SHAPES: tuple[tuple[str, tuple[str, ...], Mapper], ...] = (
    ("gso", ("opt_commit",), _gso),
    ("swefficiency", ("instance_id", "workload"), field_shapes.swefficiency),
    ("formulacode", ("task_id", "pr_base_sha"), field_shapes.formulacode),
    ("instance", ("instance_id", "head_commit"), _instance),
    ("sweperf", ("instance_id", "base_commit", "patch", "efficiency_test", "PASS_TO_PASS"), field_shapes.sweperf),
    ("instance", ("instance_id", "base_commit"), _instance),
    ("hf-isobench", ("commit_hash", "test_script"), _commit),
    ("commit", ("commit_hash",), _commit),
)

KNOWN_SHAPES = (
    "canonical instance (instance_id, base_commit, head_commit, efficiency_test, ...); "
    "commit-level ISO-Bench (commit_hash, perf_command, ...); "
    "Hugging Face ISO-Bench row (commit_hash, test_script, ...); "
    "GSO row (instance_id, base_commit, opt_commit, prob_script, tests, ...); " + field_shapes.KNOWN
)


# Identity fields per shape: (instance id key or None for the head, head key, subject key).
_IDENTITY: dict[str, tuple[str | None, str, str]] = {
    "gso": ("instance_id", "opt_commit", "gt_commit_message"),
    "swefficiency": ("instance_id", "base_commit", "problem_statement"),
    "sweperf": ("instance_id", "base_commit", "problem_statement"),
    "formulacode": ("task_id", "pr_base_sha", "final_md"),
    "instance": ("instance_id", "head_commit", "subject"),
    "hf-isobench": (None, "commit_hash", "commit_subject"),
    "commit": (None, "commit_hash", "commit_subject"),
}


def identify(raw: Mapping[str, Any], where: str) -> tuple[str, str, str, int | None]:
    """The identity of a record (instance id, head, subject, GPUs) without mapping it all."""
    for name, keys, _mapper in SHAPES:
        if all(k in raw for k in keys):
            id_key, head_key, subject_key = _IDENTITY[name]
            head = require(raw, head_key, where)
            instance_id = require(raw, id_key, where) if id_key else str(raw.get("instance_id") or head)
            if name == "gso":
                require(raw, "base_commit", where)
            subject = str(raw.get(subject_key) or raw.get("gt_commit_message") or "").split("\n", 1)[0]
            gpus = raw.get("gpus")
            if gpus is not None and (not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 0):
                raise RecordError(f"{where}: field 'gpus' must be a whole number >= 0, got {gpus!r}")
            return instance_id, head, subject[:200], gpus
    present = ", ".join(sorted(map(str, raw))[:8]) or "no fields"
    raise RecordError(f"{where}: unknown record shape (has {present}); known shapes: {KNOWN_SHAPES}")


def task_from_record(raw: Any, where: str, origin: RecordRef | None = None) -> Task:
    """Map one raw record onto a :class:`Task`, or raise :class:`RecordError`."""
    if not isinstance(raw, Mapping):
        raise RecordError(f"{where}: expected a JSON object, got {type(raw).__name__}")
    for _name, keys, mapper in SHAPES:
        if all(k in raw for k in keys):
            return mapper(raw, where, origin)
    present = ", ".join(sorted(map(str, raw))[:8]) or "no fields"
    raise RecordError(f"{where}: unknown record shape (has {present}); known shapes: {KNOWN_SHAPES}")
