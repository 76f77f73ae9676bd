"""Rows of the field's other benchmarks, mapped onto our :class:`Task` as each publishes them.

Read from each benchmark's own loader and harness (never copied):

- **SWE-fficiency** (``swefficiency/harness/test_spec.py``, ``run_evaluation.py``): the human
  version is ``base_commit`` + ``patch`` (their "gold" prediction is the ``patch`` field);
  the perf test is ``workload``, a script around ``timeit.repeat`` printing ``Mean:`` /
  ``Std Dev:``; correctness is ``PASS_TO_PASS`` (run through ``covering_tests``); their
  image is built as ``sweb.eval.{arch}.{instance_id}:latest`` unless the row names one
  (``image_name``).
- **SWE-Perf** (``evaluation/utils.py: load_sweperf_dataset``, ``test_spec.py``): human =
  ``base_commit`` + ``patch``; ``efficiency_test`` holds pytest node ids, timed by their
  call durations; ``duration_changes`` is a JSON *string* of a list (one per run) of
  ``{test: {"base": s, "head": s}}``; ``human_performance`` is a fraction of time saved
  (0.003), not a speedup, kept in ``extra``.
- **FormulaCode** (rows of ``task_id``, ``repo_name``, ``pr_base_sha``,
  ``pr_merge_commit_sha``, ``patch``, ``image_name``, ``container_name``, ``final_md``):
  human = ``pr_base_sha`` + ``patch``; the perf tests are the repository's own asv
  benchmarks, not in the row: ``benchmarks`` when a row names them, else every benchmark
  of the suite (``asv`` shape, target ``*``, expanded at prepare time).

GSO rows are mapped in ``shapes.py``. A required field that is missing is a
:class:`RecordError` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import HumanFigures, PerfTest, RecordRef, Task
from .rowparts import RecordError, build, node_ids, require, strs, unit_tests_of

ARCH = "x86_64"
SWEB_IMAGE = "sweb.eval.{arch}.{instance_id}:latest"
"""The instance image both SWE-fficiency and SWE-Perf build (SWE-bench's naming)."""

ALL_BENCHMARKS = "*"


def _patch(raw: Mapping[str, Any], where: str) -> str:
    patch = require(raw, "patch", where)
    return patch if patch.endswith("\n") else patch + "\n"


def _commands(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"rebuild_commands": strs(raw.get("rebuild_commands"))}


def _sweb_image(raw: Mapping[str, Any], instance_id: str) -> str:
    named = raw.get("image_name")
    if isinstance(named, str) and named.strip():
        return named.strip()
    return SWEB_IMAGE.format(arch=raw.get("arch") or ARCH, instance_id=instance_id)


_SWEFFICIENCY_USED = frozenset(
    {"instance_id", "repo", "base_commit", "patch", "workload", "PASS_TO_PASS", "FAIL_TO_PASS", "image_name"}
    | {"setup_commands", "install_commands", "rebuild_commands", "gpus"}
)


def swefficiency(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """A SWE-fficiency row: base + ``patch``, the ``workload`` script, ``PASS_TO_PASS`` gates."""
    instance_id = require(raw, "instance_id", where)
    base = require(raw, "base_commit", where)
    workload = require(raw, "workload", where)
    return build(
        raw,
        where,
        origin,
        _SWEFFICIENCY_USED,
        shape="swefficiency",
        instance_id=instance_id,
        head=base,
        base=base,
        perf=[PerfTest(name="workload", script=workload, shape="workload")],
        subject=str(raw.get("problem_statement") or "").split("\n", 1)[0][:200],
        apis=[],
        human=None,
        unit_tests=unit_tests_of(raw, (), where),
        more={"human_patch": _patch(raw, where), "image": _sweb_image(raw, instance_id), **_commands(raw)},
    )


_SWEPERF_USED = frozenset(
    {"instance_id", "repo", "base_commit", "patch", "efficiency_test", "PASS_TO_PASS", "FAIL_TO_PASS", "image_name"}
    | {"setup_commands", "install_commands", "rebuild_commands", "gpus", "duration_changes"}
)


def duration_changes(value: Any, where: str) -> list[dict[str, dict[str, float]]]:
    """SWE-Perf's ``duration_changes``: a JSON string (or its list) of runs, each
    ``{test: {"base": seconds, "head": seconds}}``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RecordError(f"{where}: field 'duration_changes': not JSON ({exc.msg})") from None
    if not isinstance(value, list) or not all(isinstance(run, Mapping) for run in value):
        raise RecordError(f"{where}: field 'duration_changes': expected a list of {{test: {{base, head}}}} per run")
    runs: list[dict[str, dict[str, float]]] = []
    for i, run in enumerate(value):
        parsed: dict[str, dict[str, float]] = {}
        for test, pair in run.items():
            if not isinstance(pair, Mapping) or "base" not in pair or "head" not in pair:
                raise RecordError(f"{where}: field 'duration_changes'[{i}][{test!r}]: expected base and head")
            parsed[str(test)] = {"base": float(pair["base"]), "head": float(pair["head"])}
        runs.append(parsed)
    return runs


def sweperf(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """A SWE-Perf row: base + ``patch``; each ``efficiency_test`` node id a ``pytest-node`` test."""
    instance_id = require(raw, "instance_id", where)
    base = require(raw, "base_commit", where)
    tests = node_ids(raw.get("efficiency_test"), "efficiency_test", where)
    if not tests:
        raise RecordError(f"{where}: missing required field 'efficiency_test' (pytest node ids)")
    runs = duration_changes(raw.get("duration_changes"), where)
    human = None
    if runs:  # per run, the efficiency tests' durations added up: the dataset's own figures
        human = HumanFigures(
            base=[sum(r[t]["base"] for t in tests if t in r) for r in runs],
            head=[sum(r[t]["head"] for t in tests if t in r) for r in runs],
        )
    extra_more: dict[str, Any] = {}
    if runs:
        extra_more["duration_changes"] = runs
    task = build(
        raw,
        where,
        origin,
        _SWEPERF_USED,
        shape="sweperf",
        instance_id=instance_id,
        head=base,
        base=base,
        perf=[PerfTest(name=f"efficiency{i}", target=t, shape="pytest-node") for i, t in enumerate(tests)],
        subject=str(raw.get("problem_statement") or "").split("\n", 1)[0][:200],
        apis=[],
        human=human,
        unit_tests=unit_tests_of(raw, (), where),
        more={"human_patch": _patch(raw, where), "image": _sweb_image(raw, instance_id), **_commands(raw)},
    )
    task.extra.update(extra_more)
    return task


_FORMULACODE_USED = frozenset(
    {"task_id", "repo_name", "pr_base_sha", "patch", "image_name", "benchmarks", "final_md"}
    | {"setup_commands", "install_commands", "rebuild_commands", "gpus", "PASS_TO_PASS", "FAIL_TO_PASS"}
)


def _repo_url(name: str) -> str:
    """``owner/name`` as FormulaCode names a repository; a URL or a path stays as it is."""
    if "://" in name or name.startswith(("/", ".", "git@")) or name.count("/") != 1:
        return name
    return f"https://github.com/{name}"


def formulacode(raw: Mapping[str, Any], where: str, origin: RecordRef | None) -> Task:
    """A FormulaCode row: ``pr_base_sha`` + ``patch``; the repository's asv benchmarks."""
    task_id = require(raw, "task_id", where)
    base = require(raw, "pr_base_sha", where)
    repo = require(raw, "repo_name", where)
    names = strs(raw.get("benchmarks")) or [ALL_BENCHMARKS]
    perf = [PerfTest(name=f"asv{i}" if len(names) > 1 else "asv", target=n, shape="asv") for i, n in enumerate(names)]
    image = raw.get("image_name")
    return build(
        raw,
        where,
        origin,
        _FORMULACODE_USED,
        shape="formulacode",
        instance_id=task_id,
        head=base,
        base=base,
        perf=perf,
        subject=str(raw.get("final_md") or "").strip().split("\n", 1)[0].lstrip("# ")[:200],
        apis=[],
        human=None,
        unit_tests=unit_tests_of(raw, (), where),
        more={
            "repo": _repo_url(repo),
            "human_patch": _patch(raw, where),
            "image": image.strip() if isinstance(image, str) and image.strip() else None,
            **_commands(raw),
        },
    )


KNOWN = (
    "SWE-fficiency row (instance_id, base_commit, patch, workload, PASS_TO_PASS, ...); "
    "SWE-Perf row (instance_id, base_commit, patch, efficiency_test, PASS_TO_PASS, duration_changes, ...); "
    "FormulaCode row (task_id, repo_name, pr_base_sha, patch, image_name, ...)"
)
