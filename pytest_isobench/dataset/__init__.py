"""The dataset layer: the task model and the loaders of every known record shape."""

from __future__ import annotations

from .lazy import TaskRef
from .loaders import DatasetError, DatasetUnavailable, LoadResult, RefResult, load_refs, load_source
from .models import HumanFigures, MetricSpec, PerfTest, RecordRef, Task, UnitTests
from .shapes import KNOWN_SHAPES, RecordError, task_from_record

__all__ = [
    "KNOWN_SHAPES",
    "DatasetError",
    "DatasetUnavailable",
    "HumanFigures",
    "LoadResult",
    "MetricSpec",
    "PerfTest",
    "RecordError",
    "RecordRef",
    "RefResult",
    "Task",
    "TaskRef",
    "UnitTests",
    "load_refs",
    "load_source",
    "task_from_record",
]
