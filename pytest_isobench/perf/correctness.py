"""An optional per-suite correctness check run on every variant before timing.

For vLLM this is lm-eval on gsm8k with a sample limit: the same command in each variant's
checkout, a score read from its output with a regular expression, and the patched
variants' scores compared with the baseline's within the suite's tolerance (default one
point). It runs commands in sandboxes and compares numbers; it does not time anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..sandbox.protocol import Sandbox


class CorrectnessSpec(BaseModel):
    """``correctness:`` in a suite file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str = Field(description="run in each variant's checkout, e.g. lm_eval ... --limit 200")
    pattern: str = Field(description="regular expression whose first group is the score")
    tolerance: float = Field(default=1.0, ge=0, description="allowed distance from the baseline's score")
    scale: float = Field(default=1.0, gt=0, description="multiplies the parsed score (100 for a 0-1 accuracy)")
    timeout_s: float = Field(default=3600.0, gt=0)

    @field_validator("pattern")
    @classmethod
    def _one_group(cls, value: str) -> str:
        try:
            groups = re.compile(value).groups
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if groups < 1:
            raise ValueError("the pattern needs one capturing group around the score")
        return value


@dataclass
class CorrectnessResult:
    scores: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # variant -> why it is not correct

    def as_dict(self) -> dict[str, Any]:
        return {"scores": self.scores, "errors": self.errors, "failed": self.failed}


def parse_score(output: str, spec: CorrectnessSpec) -> float | None:
    found = re.findall(spec.pattern, output, flags=re.MULTILINE)
    if not found:
        return None
    last = found[-1][0] if isinstance(found[-1], tuple) else found[-1]
    try:
        return float(last) * spec.scale
    except ValueError:
        return None


def compare(scores: Mapping[str, float], spec: CorrectnessSpec, baseline: str = "baseline") -> dict[str, str]:
    """Variants whose score is further than ``tolerance`` from the baseline's, with why."""
    if baseline not in scores:
        return {}
    base = scores[baseline]
    return {
        name: f"correctness: score {score:.2f} vs baseline {base:.2f} (tolerance +-{spec.tolerance:g})"
        for name, score in scores.items()
        if name != baseline and abs(score - base) > spec.tolerance
    }


def check(sandboxes: Mapping[str, Sandbox], spec: CorrectnessSpec) -> CorrectnessResult:
    """Run the check in every sandbox (baseline first) and compare the scores."""
    result = CorrectnessResult()
    for name, sandbox in sandboxes.items():
        run = sandbox.exec(spec.command, spec.timeout_s)
        score = parse_score(run.stdout + "\n" + run.stderr, spec) if run.ok else None
        if score is None:
            why = "timed out" if run.timed_out else f"exit {run.exit_code}" if not run.ok else "no score in the output"
            result.errors[name] = f"{why}; last output:\n{run.tail(15)}"
            if name != "baseline":
                result.failed[name] = f"correctness check failed ({why})"
            continue
        result.scores[name] = score
    result.failed.update(compare(result.scores, spec))
    return result
