"""Stage ``judge``: the verdict of a measured task, from plain protocol results.

The measure layer decides (paired statistics, the suite's success rule); a
``pytest_isobench_verdict`` implementation may replace the verdict, handed in as a plain
callable so this module knows nothing of pytest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..dataset.models import Task
from ..measure.verdict import Verdict
from ..measure.verdict import judge as judge_results
from .measure import success_rule
from .model import Measured, PatchOutcome, TaskInput

VerdictHook = Callable[[Task, list[Any], Verdict], "Verdict | None"]


def judge(
    run: TaskInput, measured: Measured, patch: PatchOutcome | None, verdict_hook: VerdictHook | None = None
) -> Verdict:
    """The default verdict, or the hook's replacement when it gives one."""
    results = [r for _, r in measured.results]
    rule = success_rule(run.suite, run.settings)
    verdict = judge_results(results, rule, has_agent=patch is not None, direction=measured.direction)
    if verdict_hook is not None:
        replaced = verdict_hook(run.task, results, verdict)
        if replaced is not None:
            verdict = replaced
    return verdict
