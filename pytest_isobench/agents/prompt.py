"""The task prompt, the same for every agent: what to speed up, never how the human did it.

Built from the APIs, files and perf test of a task; the human diff and commit message are
never part of it. Versioned, and stored with each run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..dataset.models import Task

PROMPT_VERSION = "1"


def task_prompt(task: Task, workdir: str) -> str:
    lines = [
        f"The repository in {workdir} is checked out at a baseline commit.",
        "Make the code measurably faster for the workload below, without changing its",
        "observable behaviour (outputs must stay identical). Edit the source files in place;",
        "do not add benchmark files, do not change tests, and do not install packages.",
    ]
    if task.apis:
        lines.append("")
        lines.append("APIs that the workload exercises:")
        lines.extend(f"- {api}" for api in task.apis[:30])
    for test in task.perf_tests:
        lines.append("")
        if test.script:
            lines.append(f"Perf test {test.name!r} (Python script, run from the repository root):")
            lines.append("```python")
            lines.append(test.script.rstrip())
            lines.append("```")
        elif test.command:
            lines.append(f"Perf test {test.name!r} (command run from the repository root):")
            lines.append(f"    {test.command}")
    return "\n".join(lines) + "\n"
