"""The demo suite: ``textkit``, a small library with a real, reproducible git history.

Four of its commits are genuine performance improvements; each is a task of the demo
dataset (``data/demo.jsonl``) with a perf test under ``perf/``. The history's format is in
:mod:`.history`, the projects in :mod:`.projects`, the build in :mod:`.repository`, the
tasks and dataset records in :mod:`.tasks` and the command line in :mod:`.build`.
"""

from __future__ import annotations

from .projects import EXPECTED_HEAD
from .repository import build_demo_repo, demo_repo
from .tasks import DemoTask, dataset_records, demo_tasks, write_dataset

__all__ = [
    "EXPECTED_HEAD",
    "DemoTask",
    "build_demo_repo",
    "dataset_records",
    "demo_repo",
    "demo_tasks",
    "write_dataset",
]
