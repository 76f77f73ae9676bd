"""Agents that need no model: ``noop`` (empty patch), ``human`` (the human diff, to
validate the harness end to end) and ``predictions`` (patches from a SWE-bench style file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from .base import Agent, AgentContext, AgentRun, AgentUnavailable


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
        return AgentRun(patch=human_diff(ctx.repo_dir, ctx.base_sha, ctx.head_sha))


class PredictionsAgent(Agent):
    """Patches from ``--isobench-predictions`` (JSONL of instance_id, model_patch, ...)."""

    name: ClassVar[str] = "predictions"
    needs_sandbox: ClassVar[bool] = False

    def check(self, ctx_options: dict[str, Any]) -> None:
        if not ctx_options.get("predictions"):
            raise AgentUnavailable("--isobench-agent=predictions needs --isobench-predictions=FILE")

    def doctor(self) -> tuple[bool, str]:
        return True, "reads patches from --isobench-predictions=FILE (SWE-bench JSONL)"

    def run(self, ctx: AgentContext) -> AgentRun:
        table = load_predictions(Path(ctx.options["predictions"]))
        keys = [ctx.options.get("item_id", ""), ctx.task.instance_id]
        for key in keys:
            if key in table:
                entry = table[key]
                return AgentRun(patch=str(entry.get("model_patch") or ""), model=entry.get("model_name_or_path"))
        raise AgentUnavailable(f"no prediction for {' or '.join(k for k in keys if k)} in {ctx.options['predictions']}")


def load_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """``instance_id`` -> prediction; errors name the file and line."""
    table: dict[str, dict[str, Any]] = {}
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(text)
        rows = data if isinstance(data, list) else list(data.values())
        lines = [(i + 1, r) for i, r in enumerate(rows)]
    else:
        lines = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    lines.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: malformed JSON ({exc.msg})") from None
    for number, row in lines:
        if not isinstance(row, dict) or "instance_id" not in row or "model_patch" not in row:
            raise ValueError(f"{path}:{number}: expected instance_id and model_patch")
        table[str(row["instance_id"])] = row
    return table


BUILTIN: dict[str, type[Agent]] = {a.name: a for a in (NoopAgent, HumanAgent, PredictionsAgent)}
