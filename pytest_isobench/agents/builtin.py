"""Agents that need no model: ``noop`` (empty patch), ``human`` (the human diff, to
validate the harness end to end) and ``predictions`` (patches from a SWE-bench style file).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

from .agent import Agent, AgentContext, AgentRun, AgentUnavailable
from .predictions import PredictionTable, load_predictions


class NoopAgent(Agent):
    """Changes nothing: agent equals baseline (the A/A calibration run)."""

    name: ClassVar[str] = "noop"
    needs_sandbox: ClassVar[bool] = False

    def run(self, ctx: AgentContext) -> AgentRun:
        return AgentRun(patch="")


def human_diff(repo_dir: Path, base: str, head: str) -> str:
    """The human commit's diff against the baseline, read from the cached clone."""
    import git

    text: str = git.Repo(repo_dir).git.diff(base, head, "--binary", "--no-color", "--no-ext-diff")
    return text + "\n" if text and not text.endswith("\n") else text


class HumanAgent(Agent):
    """Returns the human diff: agent equals human, which validates the harness."""

    name: ClassVar[str] = "human"
    needs_sandbox: ClassVar[bool] = False

    def run(self, ctx: AgentContext) -> AgentRun:
        if ctx.task.human_patch:  # a human change given as a diff on the base (SWE-fficiency, FormulaCode)
            return AgentRun(patch=ctx.task.human_patch)
        return AgentRun(patch=human_diff(ctx.repo_dir, ctx.base_sha, ctx.head_sha))


class PredictionsAgent(Agent):
    """Patches from ``--isobench-predictions``: a SWE-bench style JSONL/JSON file, or a
    directory of ISO-Bench run folders (see :mod:`pytest_isobench.agents.predictions`)."""

    name: ClassVar[str] = "predictions"
    needs_sandbox: ClassVar[bool] = False

    def check(self, ctx_options: dict[str, Any]) -> None:
        if not ctx_options.get("predictions"):
            raise AgentUnavailable("--isobench-agent=predictions needs --isobench-predictions=FILE|DIR")

    def doctor(self) -> tuple[bool, str]:
        return True, "reads patches from --isobench-predictions=FILE|DIR (SWE-bench JSONL or ISO-Bench runs)"

    def run(self, ctx: AgentContext) -> AgentRun:
        path = Path(ctx.options["predictions"])
        table = predictions_table(path)
        found, how = table.match(
            item_id=str(ctx.options.get("item_id", "")),
            instance_id=ctx.task.instance_id,
            head=ctx.head_sha or ctx.task.head_commit,
            base=ctx.base_sha or ctx.task.base_commit,
        )
        if found is None:
            raise AgentUnavailable(how)
        warnings = list(found.warnings)
        if found.missing:
            warnings.append(found.missing)
        return AgentRun(
            patch=found.patch,
            model=found.model,
            logs=f"prediction from {found.source} (matched by {how})",
            warnings=warnings,
        )


@functools.cache
def _table(path: str, mtime_ns: int) -> PredictionTable:
    return load_predictions(Path(path))


def predictions_table(path: Path) -> PredictionTable:
    """The predictions at ``path``, read once per process while the file is unchanged."""
    return _table(str(path.resolve()), path.stat().st_mtime_ns)


BUILTIN: dict[str, type[Agent]] = {a.name: a for a in (NoopAgent, HumanAgent, PredictionsAgent)}
