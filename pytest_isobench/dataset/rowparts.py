"""The parts every record mapper shares: field readers, the error naming a field, and the
one constructor of a :class:`Task` from a mapped record (``build``).

Pure data: no pytest, no git. Mappers live in ``shapes.py`` (ISO-Bench, GSO, ours) and
``field_shapes.py`` (SWE-fficiency, SWE-Perf, FormulaCode).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
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


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def strs(value: Any) -> list[str]:
    if value is None:
        return []
    if type(value) is list and all(type(v) is str for v in value):
        # the common case, without a copy: drop only placeholders
        if "" in value or "N/A" in value:
            return [v for v in value if v not in ("", "N/A")]
        return value
    return [str(v) for v in as_list(value) if v not in (None, "", "N/A")]


# ``tests/test_x.py::test_y[param]`` or ``tests/test_x.py``: a test of the repository, not a script.
NODE_ID = re.compile(r"^[\w./-]+\.py(::[^\n]+)?$")


def unit_tests_of(raw: Mapping[str, Any], fields: tuple[str, ...], where: str) -> list[UnitTests]:
    """Unit-test modules found among the test scripts of ``fields``, and the node ids of
    ``PASS_TO_PASS`` / ``FAIL_TO_PASS`` (lists, or JSON text of lists as SWE-bench writes them)."""
    found: list[UnitTests] = []
    for field in fields:
        scripts = strs(raw.get(field))
        modules = [(i, s) for i, s in enumerate(scripts) if not NODE_ID.match(s) and classify(s) == "unit-tests"]
        found += [UnitTests(name=f"{field}{i}", script=s) for i, s in modules]
        ids = [s for s in scripts if NODE_ID.match(s)]
        if ids:
            found.append(UnitTests(name=field, node_ids=ids))
    for field in ("PASS_TO_PASS", "FAIL_TO_PASS"):
        ids = node_ids(raw.get(field), field, where)
        if ids:
            found.append(UnitTests(name=field, node_ids=ids))
    return found


def node_ids(value: Any, field: str, where: str) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{where}: field {field!r}: not a JSON list of test ids ({exc.msg})") from None
    ids = strs(value)
    if any("\n" in i for i in ids):
        raise RecordError(f"{where}: field {field!r}: expected test ids (one per entry), got text with newlines")
    return ids


def split_extra(raw: Mapping[str, Any], used: frozenset[str], addressable: bool) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in used and not (addressable and k in LONG_FIELDS)}


def require(raw: Mapping[str, Any], field: str, where: str) -> str:
    value = raw.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(f"{where}: missing required field {field!r}")
    if not isinstance(value, str):
        raise RecordError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")
    return value.strip()


def build(
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
    more: Mapping[str, Any] | None = None,
) -> Task:
    """The :class:`Task` of a mapped record (``more``: further fields of the task, such as
    ``repo``, ``human_patch``, ``image`` or ``rebuild_commands``); a field the model
    rejects is a :class:`RecordError` naming it."""
    metric = raw.get("metric")
    if metric is not None and perf:
        spec = MetricSpec.model_validate(metric)
        perf = [p if p.metric else p.model_copy(update={"metric": spec}) for p in perf]
    fields: dict[str, Any] = {"repo": raw.get("repo") or None, **dict(more or {})}
    try:
        return Task(
            instance_id=instance_id,
            base_commit=base,
            head_commit=head,
            subject=subject,
            perf_tests=perf,
            unit_tests=unit_tests or [],
            apis=apis,
            files_changed=strs(raw.get("files_changed")),
            models=strs(raw.get("models")),
            setup_commands=strs(raw.get("setup_commands")),
            install_commands=strs(raw.get("install_commands")),
            human=human,
            gpus=raw.get("gpus"),
            shape=shape,
            origin=origin,
            extra=split_extra(raw, used, origin is not None and origin.line is not None),
            **fields,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        raise RecordError(f"{where}: field {field!r}: {first['msg']}") from None
