"""The bundled demo projects: where each one's history and perf tests are, and who wrote it.

``textkit`` (:data:`TEXTKIT`, the demo suite) and ``tinylm`` (:data:`GPU_PROJECT`, whose
performance commits need a GPU). Each names the head its reproducible build must end at.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HISTORY_DIR = HERE / "history"
PERF_DIR = HERE / "perf"

AUTHOR_NAME = "Textkit Maintainers"
AUTHOR_EMAIL = "maintainers@textkit.invalid"
BRANCH = "main"
DATASET_REPO = "isobench:demo"

#: SHA of the last commit of the demo history; a build that ends elsewhere is an error.
EXPECTED_HEAD = "5d08a88f8a97f2a09b35ae0d1f6c8300be7cc75d"


@dataclass(frozen=True)
class Project:
    """One bundled demo project: where its history and perf tests are, and who wrote it."""

    name: str  # instance ids are ``<name>-<slug>``
    history: Path
    perf: Path
    dataset_repo: str  # the ``repo`` of its dataset records
    expected_head: str
    author_name: str
    author_email: str
    cache_name: str  # the built repository's folder in the cache


TEXTKIT = Project("demo", HISTORY_DIR, PERF_DIR, DATASET_REPO, EXPECTED_HEAD, AUTHOR_NAME, AUTHOR_EMAIL, "demo-repo")
#: ``tinylm``: a small PyTorch project whose performance commits need a GPU (``tasks/demo-gpu.yaml``).
GPU_PROJECT = Project(
    "demo-gpu",
    HERE / "gpu" / "history",
    HERE / "gpu" / "perf",
    "isobench:demo-gpu",
    "257fe2b6f475c92008d02a26537b2e6fcabe58cd",
    "Tinylm Maintainers",
    "maintainers@tinylm.invalid",
    "demo-gpu-repo",
)
PROJECTS = {p.dataset_repo: p for p in (TEXTKIT, GPU_PROJECT)}
