"""ISO-Bench's three-way GPU result folders, read as they are.

``archive/results/<month>/*_results_3way_<agent>/`` hold, per human commit, the serving
or standalone metrics ISO-Bench measured once each for baseline, human and agent, in
several shapes:

- ``.../<commit>/benchmark_result.json``: one file for the three (``result`` with
  ``baseline_metrics``, ``human_metrics``, ``agent_metrics``, ``status``, ``error``; the
  SGLang folder has the same keys at the top level);
- flat ``<commit>_{baseline,human,agent}_result.json``: one file per run (``status``,
  ``error``, ``metrics`` or the metrics at the top level, ``raw_output``);
- export tables (``exports/*.jsonl``, ``schema_v2_results.json``, parquet) with columns
  ``baseline_<metric>``, ``human_<metric>``, ``agent_<metric>``.

Each becomes a :class:`ThreeWayRecord` marked as published (source, folder, file) and as a
single measurement (no interval). A file that cannot be read (not JSON, no metrics where
a success is claimed) is named in ``unreadable`` and the scan goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..dataset.jsonrows import json_lines
from .rules import classify_failure, compare

__all__ = ["THREEWAY_SCHEMA", "ThreeWayRecord", "ThreeWayScan", "folder_identity", "scan_threeway"]

THREEWAY_SCHEMA = "isobench.published-3way/1"
SIDES = ("baseline", "human", "agent")
_FLAT = re.compile(r"^([0-9a-f]{7,40})_(baseline|human|agent)_result\.json$")
_EXPORTS = (".jsonl", ".parquet")
_EXPORT_JSON = ("schema_v2_results.json",)
# ISO-Bench's folder names, ``*_results_3way_<suffix>``: the agent, and the model where
# the name or the folder's own report says it (``_0123`` marks a rerun, kept apart).
_FOLDER_AGENTS: dict[str, tuple[str, str]] = {
    "claude_code": ("claude_code", "unknown"),
    "sglang": ("claude_code", "unknown"),
    "codex": ("codex", "gpt-5"),
    "codex_cli": ("codex", "gpt-5"),
    "trae_gpt5": ("trae", "gpt-5"),
    "trae_sonnet45": ("trae", "claude-sonnet-45"),
}


class ThreeWayRecord(BaseModel):
    """One commit of one published three-way folder, as ISO-Bench measured it (once each)."""

    schema_: Literal["isobench.published-3way/1"] = Field(default="isobench.published-3way/1", alias="schema")
    source: str = "ISO-Bench"
    measurement: str = "single run each, no interval"
    folder: str
    files: list[str]
    shape: str  # benchmark_result, flat, export:<file name>
    repo: str
    agent: str
    model: str
    run: str  # the folder name: reruns (``_0123``) stay apart
    commit: str
    status: dict[str, str | None] = Field(default_factory=dict)
    error: str | None = None
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)
    isobench_category: str | None = Field(
        default=None, description="ISO-Bench's rule (primary metric within +-5% of the human's); not ours"
    )
    isobench_metric: str | None = None
    isobench_agent_vs_human: float | None = None
    failure_kind: str | None = None
    failure_reason: str | None = None

    model_config = {"populate_by_name": True}


@dataclass
class ThreeWayScan:
    records: list[ThreeWayRecord] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    files_read: int = 0


def folder_identity(folder: Path) -> tuple[str, str, str]:
    """(repo, agent, model) from a ``*_results_3way_<suffix>`` folder name."""
    name = folder.name
    suffix = name.split("_3way_", 1)[1] if "_3way_" in name else name
    suffix = re.sub(r"_\d{4}$", "", suffix)
    agent, model = _FOLDER_AGENTS.get(suffix, (suffix, "unknown"))
    return ("sglang" if suffix == "sglang" else "vllm"), agent, model


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {k: float(v) for k, v in value.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _short(text: Any) -> str | None:
    return text.strip()[:500] if isinstance(text, str) and text.strip() else None


def _judge(record: ThreeWayRecord, output: str = "", side: str | None = None) -> ThreeWayRecord:
    """ISO-Bench's category when human and agent both have the primary metric; else the
    cause, read from the error of ``side`` (by default the first side without metrics).
    An agent failure with the human measured is ISO-Bench's ``failed``; a failure of the
    infrastructure or of the baseline/human run is nobody's category."""
    found = compare(record.metrics.get("human"), record.metrics.get("agent"))
    if found is not None:
        record.isobench_category = found.category
        record.isobench_metric = found.metric
        record.isobench_agent_vs_human = found.agent_vs_human
        return record
    side = side or next((s for s in SIDES if not record.metrics.get(s)), "agent")
    cause = classify_failure(record.error, output, side)
    record.failure_kind, record.failure_reason = cause.kind, cause.reason
    if cause.kind == "agent" and record.metrics.get("human"):
        record.isobench_category = "failed"
    return record


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_object(path: Path, scan: ThreeWayScan) -> dict[str, Any] | None:
    """A result file's JSON object, or None with the file named in ``scan.unreadable``."""
    try:
        data = _read(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        scan.unreadable.append(f"{path}: not valid JSON ({exc})")
        return None
    if not isinstance(data, dict):
        scan.unreadable.append(f"{path}: not a JSON object")
        return None
    scan.files_read += 1
    return data


def _benchmark_result(path: Path, folder: Path, data: dict[str, Any]) -> ThreeWayRecord:
    nested, about = data.get("result"), data.get("instance")
    result: dict[str, Any] = nested if isinstance(nested, dict) else data
    instance: dict[str, Any] = about if isinstance(about, dict) else {}
    commit = str(result.get("full_commit") or instance.get("commit_hash") or result.get("commit") or path.parent.name)
    repo, agent, model = folder_identity(folder)
    record = ThreeWayRecord(
        folder=str(folder),
        files=[str(path)],
        shape="benchmark_result:" + _inside(path.parent.parent, folder),
        repo=repo,
        agent=agent,
        model=model,
        run=folder.name,
        commit=commit,
        status={"all": _short(result.get("status"))},
        error=_short(result.get("error") or result.get("error_message") or result.get("agent_error")),
        metrics={s: m for s in SIDES if (m := _numbers(result.get(f"{s}_metrics")))},
    )
    output = " ".join(str(result.get(k) or "") for k in ("server_logs", "agent_raw", "human_raw", "baseline_raw"))
    return _judge(record, output)


def _flat_side(data: dict[str, Any]) -> dict[str, float]:
    nested = _numbers(data.get("metrics"))
    if nested:
        return nested
    return {k: v for k, v in _numbers(data).items() if k not in ("duration_s",)}


def _flat_group(
    folder: Path, shape: str, commit: str, files: dict[str, Path], scan: ThreeWayScan
) -> ThreeWayRecord | None:
    repo, agent, model = folder_identity(folder)
    record = ThreeWayRecord(
        folder=str(folder), files=[], shape=shape, repo=repo, agent=agent, model=model, run=folder.name, commit=commit
    )
    outputs: dict[str, str] = {}
    errors: dict[str, str] = {}
    for side in SIDES:
        path = files.get(side)
        if path is None:
            continue
        record.files.append(str(path))
        data = _read_object(path, scan)
        if data is None:
            continue
        record.commit = str(data.get("human_commit_full") or record.commit)
        status = _short(data.get("status"))
        record.status[side] = status
        metrics = _flat_side(data)
        if status == "success" and not metrics:
            scan.unreadable.append(f"{path}: status success but no metric")
        if metrics:
            record.metrics[side] = metrics
        error = _short(data.get("error"))
        if status != "success" or not metrics:
            errors[side] = error or f"status {status}"
        outputs[side] = str(data.get("raw_output") or "")
    if not record.status:
        return None
    if "agent" not in record.status and not errors:
        # no agent file at all: nothing was run for the agent here, which is no failure of it
        record.failure_kind, record.failure_reason = "missing", "no agent result file"
        return record
    if not errors:
        return _judge(record) if record.metrics.get("human") else record  # measured; compared where it can be
    # the agent's own file first: a missing human run is the reference's, reported only when the agent ran
    side = "agent" if "agent" in errors else next(iter(errors))
    record.error = errors[side]
    return _judge(record, outputs.get(side, ""), side)


_PREFIXED = re.compile(r"^(baseline|human|agent)_(.+)$")


def _export_row(path: Path, folder: Path, row: dict[str, Any]) -> ThreeWayRecord | None:
    commit = row.get("commit_hash") or row.get("full_commit") or row.get("commit")
    if not isinstance(commit, str):
        return None
    metrics: dict[str, dict[str, float]] = {}
    for key, value in row.items():
        match = _PREFIXED.match(key)
        if match and isinstance(value, int | float) and not isinstance(value, bool):
            side, name = match.groups()
            if name.startswith(("improvement", "vs_human", "version", "install")):
                continue
            metrics.setdefault(side, {})[name] = float(value)
    for side in SIDES:  # the summary shape: {"baseline": {...}, ...}
        if side not in metrics and _numbers(row.get(side)):
            metrics[side] = _numbers(row.get(side))
    repo, agent, model = folder_identity(folder)
    record = ThreeWayRecord(
        folder=str(folder),
        files=[str(path)],
        shape=f"export:{path.name}",
        repo=repo,
        agent=str(row.get("agent_name") or agent).replace("-", "_"),
        model=str(row.get("agent_model") or model),
        run=folder.name,
        commit=commit,
        status={"all": _short(row.get("status"))},
        error=_short(row.get("error") or row.get("error_message")),
        metrics=metrics,
    )
    return _judge(record)


def _export_rows(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # heavy, and only for this shape

        yield from pq.read_table(path).to_pylist()
        return
    if path.suffix == ".json":
        data = _read(path)
        rows = data if isinstance(data, list) else data.get("results", []) if isinstance(data, dict) else []
        yield from (r for r in rows if isinstance(r, dict))
        return
    for line in json_lines(path):
        if line.error is not None:
            raise ValueError(f"line {line.number}: {line.error}")
        if isinstance(line.value, dict):
            yield line.value


def _inside(path: Path, folder: Path) -> str:
    """``path`` relative to the result folder (``results/modal``), or its name."""
    return path.relative_to(folder).as_posix() if folder in path.parents else path.name


def _result_root(path: Path) -> Path:
    """The ``*_results_3way_*`` folder a file lies in (else its nearest folder above the
    per-commit or ``results`` folders)."""
    for parent in path.parents:
        if "_3way_" in parent.name:
            return parent
    return path.parent


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())


_NOT_RESULTS = {"logs", "reruns", "hf_export", "archive"}


def scan_threeway(paths: Iterable[Path]) -> ThreeWayScan:
    """Every three-way result under ``paths``. Logs, reruns, ``hf_export`` copies and a
    folder's own ``archive/`` are not results of their own and are left out; a bad file is
    named in ``unreadable`` and never raises."""
    scan = ThreeWayScan()
    flat: dict[tuple[Path, str], dict[str, Path]] = {}
    for path in _files(paths):
        folder = _result_root(path)
        inside = path.relative_to(folder).parts if folder in path.parents else (path.name,)
        if inside[0] in _NOT_RESULTS:
            continue
        match = _FLAT.match(path.name)
        if match:
            flat.setdefault((path.parent, match.group(1)), {})[match.group(2)] = path
        elif path.name == "benchmark_result.json":
            _add_benchmark_result(path, folder, scan)
        elif path.parent.name == "exports" and (path.suffix in _EXPORTS or path.name in _EXPORT_JSON):
            _add_export(path, folder, scan)
    for (parent, commit), files in sorted(flat.items()):
        folder = _result_root(parent / "x")
        shape = "flat:" + _inside(parent, folder)
        record = _flat_group(folder, shape, commit, files, scan)
        if record is not None:
            scan.records.append(record)
    _name_models(scan.records)
    return scan


def _name_models(records: list[ThreeWayRecord]) -> None:
    """A folder whose name leaves the model unknown takes the one model its export rows
    name (``agent_model``), so the folder's shapes stay one group."""
    named: dict[str, set[tuple[str, str]]] = {}
    for record in records:
        if record.shape.startswith("export:") and record.model != "unknown":
            named.setdefault(record.folder, set()).add((record.agent, record.model))
    for record in records:
        found = named.get(record.folder, set())
        if len(found) == 1:
            record.agent, record.model = next(iter(found))


def _add_benchmark_result(path: Path, folder: Path, scan: ThreeWayScan) -> None:
    data = _read_object(path, scan)
    if data is None:
        return
    record = _benchmark_result(path, folder, data)
    if record.status.get("all") == "success" and not record.metrics:
        scan.unreadable.append(f"{path}: status success but no metric")
    scan.records.append(record)


def _add_export(path: Path, folder: Path, scan: ThreeWayScan) -> None:
    try:
        rows = list(_export_rows(path))
    except (ValueError, OSError, ImportError) as exc:
        scan.unreadable.append(f"{path}: {exc}")
        return
    scan.files_read += 1
    for row in rows:
        record = _export_row(path, folder, row)
        if record is not None:
            scan.records.append(record)
