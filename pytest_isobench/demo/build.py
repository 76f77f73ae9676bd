"""The demo projects' command line: build a repository, write a dataset, time the tasks.

From the project root::

    python -m pytest_isobench.demo.build build DEST
    python -m pytest_isobench.demo.build dataset data/demo.jsonl
    python -m pytest_isobench.demo.build measure --runs 15

``--project demo-gpu`` (before the command) picks the GPU project instead of ``textkit``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .gitrun import git
from .projects import GPU_PROJECT, TEXTKIT
from .repository import build_demo_repo
from .tasks import demo_tasks, write_dataset
from .timing import measure_task

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``build DEST``, ``dataset OUT`` or ``measure [--runs N]``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_isobench.demo.build")
    parser.add_argument("--project", choices=["demo", "demo-gpu"], default="demo", help="which bundled project")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the demo repository").add_argument("dest", type=Path)
    sub.add_parser("dataset", help="write the demo dataset").add_argument("out", type=Path)
    measure = sub.add_parser("measure", help="time every task's base and head")
    measure.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    project = TEXTKIT if args.project == "demo" else GPU_PROJECT
    if args.command == "build":
        print(build_demo_repo(args.dest, verify=False, project=project), git(args.dest, "rev-parse", "HEAD"))
    elif args.command == "dataset":
        print(write_dataset(args.out, project=project))
    else:
        with tempfile.TemporaryDirectory(prefix="isobench-demo-") as tmp:
            repo = build_demo_repo(Path(tmp) / "repo", project=project)
            for task in demo_tasks(repo, project):
                base, head = measure_task(repo, task, args.runs)
                b, h = statistics.median(base), statistics.median(head)
                print(
                    f"{task.instance_id}: base {b * 1e3:.1f} ms, head {h * 1e3:.2f} ms, "
                    f"speedup {b / h:.2f} (base {task.base_commit[:8]}, head "
                    f"{task.head_commit[:8]})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
