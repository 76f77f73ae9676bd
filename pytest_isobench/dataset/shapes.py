"""Recognise the real record shapes of ISO-Bench, GSO and our own files, per record.

Each mapper turns one raw ``dict`` into a :class:`Task`. Long texts collection never uses
are dropped when the record can be re-read from its source line (JSONL), and kept in
``extra`` otherwise. Unknown fields are kept in ``extra``, never an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from .models import HumanFigures, MetricSpec, PerfTest, RecordRef, Task, UnitTests
from .scriptkind import classify

# Fields that can be megabytes per record and that collection never reads.
LONG_FIELDS = frozenset(
    {
        "diff_text",
        "timeline_text",
        "commit_message",
        "patch",
        "gt_diff",
        "test_patch",
        "gt_commit_message",
        "hints_text",
        "llm_reason",
        "llm_api_reason",
        "affected_paths",
    }
)


class RecordError(ValueError):
    """A record that cannot become a task; the message names the record and the field."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _strs(value: Any) -> list[str]:
    if value is None:
        return []
    if type(value) is list and all(type(v) is str for v in value):
        # the common case, without a copy: drop only placeholders
        if "" in value or "N/A" in value:
            return [v for v in value if v not in ("", "N/A")]
        return value
    return [str(v) for v in _as_list(value) if v not in (None, "", "N/A")]


def _perf_command(value: Any) -> list[PerfTest]:
    commands = _strs(value)
    return [PerfTest(name=f"cmd{i}" if i else "cmd", command=c) for i, c in enumerate(commands)]


def _scripts(value: Any, prefix: str) -> list[PerfTest]:
    """The perf tests among a record's test scripts (unit-test modules and node ids are not)."""
    return [
        PerfTest(name=f"{prefix}{i}", script=s)
        for i, s in enumerate(_strs(value))
        if not _NODE_ID.match(s) and classify(s) != "unit-tests"
    ]


# ``tests/test_x.py::test_y[param]`` or ``tests/test_x.py``: a test of the repository, not a script.
_NODE_ID = re.compile(r"^[\w./-]+\.py(::[^\n]+)?$")


def _unit_tests(raw: Mapping[str, Any], fields: tuple[str, ...], where: str) -> list[UnitTests]:
    """Unit-test modules found among the test scripts of ``fields``, and the node ids of
    ``PASS_TO_PASS`` / ``FAIL_TO_PASS`` (lists, or JSON text of lists as SWE-bench writes them)."""
    found: list[UnitTests] = []
    for field in fields:
        scripts = _strs(raw.get(field))
        modules = [(i, s) for i, s in enumerate(scripts) if not _NODE_ID.match(s) and classify(s) == "unit-tests"]
        found += [UnitTests(name=f"{field}{i}", script=s) for i, s in modules]
        ids = [s for s in scripts if _NODE_ID.match(s)]
        if ids:
            found.append(UnitTests(name=field, node_ids=ids))
    for field in ("PASS_TO_PASS", "FAIL_TO_PASS"):
        ids = _node_ids(raw.get(field), field, where)
        if ids:
            found.append(UnitTests(name=field, node_ids=ids))
    return found


def _node_ids(value: Any, field: str, where: str) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{where}: field {field!r}: not a JSON list of test ids ({exc.msg})") from None
    ids = _strs(value)
    if any("\n" in i for i in ids):
        raise RecordError(f"{where}: field {field!r}: expected test ids (one per entry), got text with newlines")
    return ids


def _human_from_durations(raw: Mapping[str, Any]) -> HumanFigures | None:
    changes = raw.get("duration_changes")
    speedup = raw.get("human_performance")
    if not changes and speedup is None:
        return None
    base: list[float] = []
    head: list[float] = []
    for change in _as_list(changes):
        if isinstance(change, Mapping):
            base.extend(float(x) for x in _as_list(change.get("base")))
            head.extend(float(x) for x in _as_list(change.get("head")))
    return HumanFigures(base=base, head=head, speedup=float(speedup) if speedup is not None else None)


def _split_extra(raw: Mapping[str, Any], used: frozenset[str], addressable: bool) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in used and not (addressable and k in LONG_FIELDS)}


def _require(raw: Mapping[str, Any], field: str, where: str) -> str:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(f"{where}: missing required field {field!r}")
    if not isinstance(value, str):
        raise RecordError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")
    return value.strip()


def _instance(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """Canonical instances (``instance_id``, ``base_commit``, ``head_commit``) and ours."""
    perf: list[PerfTest] = []
    try:
        perf = [PerfTest.model_validate(p) for p in _as_list(raw.get("perf_tests"))]
    except ValidationError as exc:
        raise RecordError(f"{where}: field 'perf_tests': {exc.errors()[0]['msg']}") from None
    perf += _scripts(raw.get("efficiency_test"), "efficiency")
    perf += _perf_command(raw.get("perf_command"))
    subject = raw.get("subject") or str(raw.get("gt_commit_message") or "").split("\n", 1)[0]
    return _build(
        raw,
        where,
        origin,
        _INSTANCE_USED,
        shape="instance",
        instance_id=_require(raw, "instance_id", where),
        head=_require(raw, "head_commit", where),
        base=raw.get("base_commit") or None,
        perf=perf,
        subject=str(subject),
        apis=_strs(raw.get("apis")) or _strs(raw.get("api")),
        human=_human_from_durations(raw),
        unit_tests=_unit_tests(raw, ("efficiency_test",), where),
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
    head = _require(raw, "commit_hash", where)
    parent = raw.get("parent_commit")
    if parent is not None and (not isinstance(parent, str) or not parent.strip()):
        raise RecordError(f"{where}: field 'parent_commit' must be a commit sha, got {parent!r}")
    shape = "hf-isobench" if "test_script" in raw else "commit"
    perf = _scripts(raw.get("test_script"), "test") + _perf_command(raw.get("perf_command"))
    subject = raw.get("commit_subject") or str(raw.get("commit_message") or "").split("\n", 1)[0]
    return _build(
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
        apis=_strs(raw.get("apis")),
        human=None,
        unit_tests=_unit_tests(raw, ("test_script",), where),
    )


def _gso(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """GSO rows: ``opt_commit`` is the human commit, ``tests`` the perf scripts."""
    perf = _scripts(raw.get("tests"), "test")
    if not perf:
        perf = _scripts(raw.get("prob_script"), "prob")
    subject = str(raw.get("gt_commit_message") or "").split("\n", 1)[0]
    return _build(
        raw,
        where,
        origin,
        _GSO_USED,
        shape="gso",
        instance_id=_require(raw, "instance_id", where),
        head=_require(raw, "opt_commit", where),
        base=_require(raw, "base_commit", where),
        perf=perf,
        subject=subject,
        apis=_strs(raw.get("api")),
        human=None,
        unit_tests=_unit_tests(raw, ("tests",), where),
    )


Mapper = Callable[[Mapping[str, Any], str, "RecordRef | None"], Task]

# (name, the keys that identify it, mapper); the first whose keys are all present wins.
SHAPES: tuple[tuple[str, tuple[str, ...], Mapper], ...] = (
    ("gso", ("opt_commit",), _gso),
    ("instance", ("instance_id", "head_commit"), _instance),
    ("instance", ("instance_id", "base_commit"), _instance),
    ("hf-isobench", ("commit_hash", "test_script"), _commit),
    ("commit", ("commit_hash",), _commit),
)

KNOWN_SHAPES = (
    "canonical instance (instance_id, base_commit, head_commit, efficiency_test, ...); "
    "commit-level ISO-Bench (commit_hash, perf_command, ...); "
    "Hugging Face ISO-Bench row (commit_hash, test_script, ...); "
    "GSO row (instance_id, base_commit, opt_commit, prob_script, tests, ...)"
)


# Identity fields per shape: (instance id key or None for the head, head key, subject key).
_IDENTITY: dict[str, tuple[str | None, str, str]] = {
    "gso": ("instance_id", "opt_commit", "gt_commit_message"),
    "instance": ("instance_id", "head_commit", "subject"),
    "hf-isobench": (None, "commit_hash", "commit_subject"),
    "commit": (None, "commit_hash", "commit_subject"),
}


def identify(raw: Mapping[str, Any], where: str) -> tuple[str, str, str, int | None]:
    """The identity of a record (instance id, head, subject, GPUs) without mapping it all."""
    for name, keys, _mapper in SHAPES:
        if all(k in raw for k in keys):
            id_key, head_key, subject_key = _IDENTITY[name]
            head = _require(raw, head_key, where)
            instance_id = _require(raw, id_key, where) if id_key else str(raw.get("instance_id") or head)
            if name == "gso":
                _require(raw, "base_commit", where)
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


def _build(
    raw: Mapping[str, Any],
    where: str,
    origin: RecordRef | None,
    used: frozenset[str],
    *,
    shape: str,
    instance_id: str,
    head: str,
    base: str | None,
    perf: list[PerfTest],
    subject: str,
    apis: list[str],
    human: HumanFigures | None,
    unit_tests: list[UnitTests] | None = None,
) -> Task:
    metric = raw.get("metric")
    if metric is not None and perf:
        spec = MetricSpec.model_validate(metric)
        perf = [p if p.metric else p.model_copy(update={"metric": spec}) for p in perf]
    try:
        return Task(
            instance_id=instance_id,
            repo=raw.get("repo") or None,
            base_commit=base,
            head_commit=head,
            subject=subject,
            perf_tests=perf,
            unit_tests=unit_tests or [],
            apis=apis,
            files_changed=_strs(raw.get("files_changed")),
            models=_strs(raw.get("models")),
            setup_commands=_strs(raw.get("setup_commands")),
            install_commands=_strs(raw.get("install_commands")),
            human=human,
            gpus=raw.get("gpus"),
            shape=shape,
            origin=origin,
            extra=_split_extra(raw, used, origin is not None and origin.line is not None),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        raise RecordError(f"{where}: field {field!r}: {first['msg']}") from None
