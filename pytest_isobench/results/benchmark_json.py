"""Write pytest-benchmark's JSON format, so ``pytest-benchmark compare`` reads our results.

One benchmark entry per (task, variant, perf test) with the per-variant statistics of the
record (computed by the measure layer) and the raw samples as ``data``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..atomic import atomic_write
from .record import TaskRecord, as_records


def machine_info() -> dict[str, Any]:
    """pytest-benchmark's own description of this machine (its CPU info included)."""
    from pytest_benchmark import plugin

    generate: Callable[[], dict[str, Any]] = plugin.pytest_benchmark_generate_machine_info  # unannotated there
    return generate()


def benchmarks_of(record: TaskRecord) -> list[dict[str, Any]]:
    entries = []
    for test in record.perf_tests:
        for variant, data in test.variants.items():
            if not data.stats:
                continue
            entries.append(
                {
                    "group": record.item_id,
                    "name": f"{record.item_id}[{variant}-{test.name}]",
                    "fullname": f"{record.nodeid or record.item_id}[{variant}-{test.name}]",
                    "params": {"variant": variant, "perf_test": test.name},
                    "param": f"{variant}-{test.name}",
                    "extra_info": {"task": record.item_id, "agent": record.agent},
                    "options": {
                        "disable_gc": False,
                        "timer": "perf_test",
                        "min_rounds": len(data.values),
                        "max_time": 0,
                        "min_time": 0,
                        "warmup": True,
                    },
                    "stats": {**data.stats, "data": list(data.values)},
                }
            )
    return entries


def write_benchmark_json(
    path: Path, records: Sequence[TaskRecord | dict[str, Any]], commit_info: dict[str, Any] | None = None
) -> Path:
    records = as_records(records)
    doc = {
        "machine_info": machine_info(),
        "commit_info": commit_info or {},
        "benchmarks": [b for r in records for b in benchmarks_of(r)],
        "datetime": _dt.datetime.now(_dt.UTC).isoformat(),
        "version": _format_version(),
    }
    atomic_write(path, json.dumps(doc, indent=1, default=str) + "\n")
    return path


def _format_version() -> str:
    """The version of the pytest-benchmark whose format this is: the installed one."""
    from pytest_benchmark import __version__

    return str(__version__)
