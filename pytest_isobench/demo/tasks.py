"""The tasks of a built demo repository (its performance commits) and their dataset records."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .gitrun import git
from .history import load_steps
from .projects import TEXTKIT, Project
from .repository import build_demo_repo, commit_shas


@dataclass(frozen=True)
class DemoTask:
    """A performance commit of the built demo repository."""

    slug: str
    base_commit: str
    head_commit: str
    subject: str
    apis: tuple[str, ...]
    files_changed: tuple[str, ...]
    perf_script: Path
    human_performance: float | None
    project: str = "demo"

    @property
    def instance_id(self) -> str:
        return f"{self.project}-{self.slug}"

    @property
    def perf_name(self) -> str:
        return self.slug

    def perf_text(self) -> str:
        """The perf test as it goes into the dataset and the checkouts (see :func:`perf_source`)."""
        return perf_source(self.perf_script)


TIMING_FILE = Path(__file__).resolve().parents[1] / "perf" / "timing.py"
TIMING_IMPORT = re.compile(r"^from _timing import measure\b.*$", flags=re.MULTILINE)


def perf_source(path: Path) -> str:
    """A perf test's text with the shared timing code (the package's ``perf/timing.py``, read
    as a file: it is text for the sandboxes) in place of its ``from _timing import measure``
    line, so that the script stands alone in a checkout."""
    text = path.read_text(encoding="utf-8")
    if not TIMING_IMPORT.search(text):
        return text
    timing = TIMING_FILE.read_text(encoding="utf-8")
    # The helper's own module docstring and __future__ import stay out of the script.
    code = timing[timing.index("from __future__ import annotations") :].split("\n", 1)[1].strip("\n")
    return TIMING_IMPORT.sub(lambda _: code, text, count=1)


def perf_script(slug: str, project: Project = TEXTKIT) -> Path:
    """The perf test of the task of step *slug*: ``perf/<slug with "_" for "-">.py``."""
    return project.perf / (slug.replace("-", "_") + ".py")


def demo_tasks(repo: Path, project: Project = TEXTKIT) -> list[DemoTask]:
    """The performance commits of the built demo repository *repo*, oldest first."""
    steps = load_steps(project.history)
    shas = commit_shas(repo)
    if len(shas) != len(steps):
        raise RuntimeError(f"{repo} has {len(shas)} commits, the history {len(steps)}")
    tasks: list[DemoTask] = []
    for step, sha in zip(steps, shas, strict=True):
        if step.apis is None:
            continue
        base = shas[step.index - 2]
        changed = git(repo, "diff", "--name-only", "--no-renames", base, sha).splitlines()
        tasks.append(
            DemoTask(
                slug=step.slug,
                base_commit=base,
                head_commit=sha,
                subject=git(repo, "log", "-1", "--format=%s", sha),
                apis=step.apis,
                files_changed=tuple(sorted(changed)),
                perf_script=perf_script(step.slug, project),
                human_performance=step.human_performance,
                project=project.name,
            )
        )
    return tasks


def dataset_records(repo: Path, project: Project = TEXTKIT) -> list[dict[str, Any]]:
    """One canonical dataset record per task of the built demo repository *repo*."""
    records: list[dict[str, Any]] = []
    for task in demo_tasks(repo, project):
        records.append(
            {
                "instance_id": task.instance_id,
                "repo": project.dataset_repo,
                "base_commit": task.base_commit,
                "head_commit": task.head_commit,
                "subject": task.subject,
                "apis": list(task.apis),
                "files_changed": list(task.files_changed),
                "perf_tests": [
                    {
                        "name": task.perf_name,
                        "script": task.perf_text(),
                    }
                ],
                "human_performance": task.human_performance,
            }
        )
    return records


def write_dataset(out: Path, repo: Path | None = None, project: Project = TEXTKIT) -> Path:
    """Write the demo dataset (JSONL) to *out*, from *repo* or a freshly built repository."""
    out = Path(out)
    if repo is None:
        with tempfile.TemporaryDirectory(prefix="isobench-demo-") as tmp:
            records = dataset_records(build_demo_repo(Path(tmp) / "repo", project=project), project)
    else:
        records = dataset_records(repo, project)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record) + "\n" for record in records)
    out.write_text(text, encoding="utf-8", newline="\n")
    return out
