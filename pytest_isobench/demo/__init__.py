"""The demo suite: ``textkit``, a small library with a real, reproducible git history.

Four of its commits are genuine performance improvements; each is a task of the demo
dataset (``data/demo.jsonl``) with a perf test under ``perf/``. See :mod:`.build`; its
names are re-exported here, imported on first use (so that ``python -m
pytest_isobench.demo.build`` runs the module once).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_isobench.demo.build import (
        EXPECTED_HEAD,
        DemoTask,
        build_demo_repo,
        dataset_records,
        demo_repo,
        demo_tasks,
        write_dataset,
    )

__all__ = [
    "EXPECTED_HEAD",
    "DemoTask",
    "build_demo_repo",
    "dataset_records",
    "demo_repo",
    "demo_tasks",
    "write_dataset",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("pytest_isobench.demo.build"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
