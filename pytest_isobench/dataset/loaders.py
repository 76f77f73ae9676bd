"""Read dataset sources into tasks: JSONL, JSON, Parquet and Hugging Face by name.

A source is a path (``.jsonl``, ``.json``, ``.parquet``) or ``hf:OWNER/NAME[:split]``.
Errors name the file and line (or row) and what was expected. The ``datasets`` and
``pyarrow`` libraries are imported only when such a source is read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonrows import json_lines
from .lazy import TaskRef
from .models import RecordRef, Task
from .shapes import RecordError, task_from_record

HF_PREFIX = "hf:"


class DatasetError(Exception):
    """A source that cannot be read at all (missing, unreadable, unreachable)."""


class DatasetUnavailable(DatasetError):
    """A source that may exist but cannot be reached from here (hub offline, no cache)."""


@dataclass
class LoadResult:
    """The tasks of one source, plus the records that could not become tasks."""

    source: str
    tasks: list[Task] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def is_hf(source: str) -> bool:
    return source.startswith(HF_PREFIX)


def parse_hf(source: str) -> tuple[str, str | None]:
    """``hf:OWNER/NAME[:split]`` -> (``OWNER/NAME``, split or None)."""
    body = source[len(HF_PREFIX) :]
    name, _, split = body.partition(":")
    if name.count("/") != 1 or not all(name.split("/")):
        raise DatasetError(f"{source!r}: expected hf:OWNER/NAME[:split]")
    return name, split or None


def load_source(source: str, base_dir: Path | None = None) -> LoadResult:
    """Load every record of ``source``; bad records are collected, not raised."""
    if is_hf(source):
        return _from_rows(source, _hf_rows(source))
    path = Path(source)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise DatasetError(f"{path}: dataset file not found")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl(path)
    if suffix == ".json":
        return _from_rows(str(path), _json_rows(path))
    if suffix == ".parquet":
        return _from_rows(str(path), _parquet_rows(path))
    raise DatasetError(f"{path}: unknown dataset format {suffix!r}; expected .jsonl, .json, .parquet or hf:OWNER/NAME")


@dataclass
class RefResult:
    """Light references to the tasks of one source, plus the records that are not tasks."""

    source: str
    refs: list[TaskRef] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_refs(source: str, base_dir: Path | None = None) -> RefResult:
    """Like :func:`load_source`, but JSONL records are only identified (mapped lazily)."""
    path = None if is_hf(source) else Path(source)
    if path is not None and base_dir is not None and not path.is_absolute():
        path = base_dir / path
    if path is None or path.suffix.lower() != ".jsonl" or not path.exists():
        loaded = load_source(source, base_dir)
        return RefResult(loaded.source, [TaskRef.of(t, loaded.source) for t in loaded.tasks], loaded.errors)
    result = RefResult(source=str(path))
    name = str(path.resolve())
    for line in json_lines(path):
        if line.error is not None:
            result.errors.append(f"{path}:{line.number}: malformed JSON ({line.problem()})")
            continue
        try:
            result.refs.append(TaskRef.identify(line.value, name, line.number, line.offset))
        except RecordError as exc:
            result.errors.append(str(exc).replace(name, str(path), 1))
    return result


def _jsonl(path: Path) -> LoadResult:
    result = LoadResult(source=str(path))
    source = str(path.resolve())
    for line in json_lines(path):
        where = f"{path}:{line.number}"
        if line.error is not None:
            result.errors.append(f"{where}: malformed JSON ({line.problem()})")
            continue
        try:
            result.tasks.append(task_from_record(line.value, where, RecordRef(source=source, line=line.number)))
        except RecordError as exc:
            result.errors.append(str(exc))
    return result


def _json_rows(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
    if isinstance(data, dict):
        for key in ("tasks", "instances", "data", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            data = [data]
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON array of records")
    for index, raw in enumerate(data):
        yield f"{path}[{index}]", raw


def _parquet_rows(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DatasetError(f"{path}: cannot read as Parquet ({exc})") from None
    for index, raw in enumerate(table.to_pylist()):
        yield f"{path}[row {index}]", raw


def _hf_rows(source: str) -> Iterator[tuple[str, Any]]:
    name, split = parse_hf(source)
    dataset = _load_hf(name, split, source)
    for index, raw in enumerate(dataset):
        yield f"{source}[row {index}]", raw


def _load_hf(name: str, split: str | None, source: str) -> Any:
    """Load from the hub, or from the local cache when the hub cannot be reached."""
    import datasets

    wanted = split or "train"
    offline = (
        os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1" or not _hub_reachable()
    )
    first: Exception | None = None
    if not offline:
        try:
            return datasets.load_dataset(name, split=wanted)
        except Exception as exc:  # the hub could not be reached: try the cache
            first = exc
    try:
        import datasets.config as dconfig
        import huggingface_hub.constants as hconst

        saved = (dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE)
        dconfig.HF_HUB_OFFLINE = hconst.HF_HUB_OFFLINE = True
        try:
            return datasets.load_dataset(name, split=wanted)
        finally:
            dconfig.HF_HUB_OFFLINE, hconst.HF_HUB_OFFLINE = saved
    except Exception as exc:
        cause = first or exc
        raise DatasetUnavailable(
            f"{source}: Hugging Face dataset {name!r} (split {wanted!r}) is neither reachable on "
            f"the hub nor in the local cache ({type(cause).__name__}: {str(cause)[:200]}). "
            f"Fix: run once with network access (or `isobench dataset pull {name}`) to fill the "
            f"cache, or point the suite at a local .jsonl/.parquet copy"
        ) from None


def _hub_reachable(timeout_s: float = 2.0) -> bool:
    """A quick TCP check, so an offline machine goes to the cache at once, not after retries."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout_s):
            return True
    except OSError:
        return False


def _from_rows(source: str, rows: Iterator[tuple[str, Any]]) -> LoadResult:
    result = LoadResult(source=source)
    for where, raw in rows:
        try:
            result.tasks.append(task_from_record(raw, where))
        except RecordError as exc:
            result.errors.append(str(exc))
    return result
