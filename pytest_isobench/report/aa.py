"""A/A figures: how well this machine tells identical code from itself.

Under ``--isobench-agent=human`` the agent's code is byte for byte the human's, so every
agent/human interval should lie inside the similarity band and no task should come out
``beats`` or ``worse``. This module reads finished task records (nothing is run here) and
computes the figures ``isobench doctor --noise`` and ``benchmarks/bench_aa_docker.py``
print: wrong categories, the share of intervals inside the band ("similar"), their median
half-width and the per-round spread of agent/human (this machine's noise floor).
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..demo.tasks import write_dataset

__all__ = ["WRONG", "AATask", "aa_lines", "aa_task", "run_demo_aa"]

WRONG = ("beats", "worse")
"""Categories that are wrong when the agent's code is the human's."""


@dataclass(frozen=True)
class AATask:
    """One A/A task run. ``point``/``low``/``high``: the agent/human interval; ``round_spread``:
    standard deviation of the per-round log ratio agent/human; ``noisy``: the noise guard warned."""

    item_id: str
    status: str
    category: str | None
    point: float | None
    low: float | None
    high: float | None
    rounds: int
    round_spread: float | None
    noisy: bool
    stop_reason: str = "?"
    elapsed_s: float = 0.0

    @property
    def half_width(self) -> float | None:
        if self.low is None or self.high is None:
            return None
        return (self.high - self.low) / 2

    def inside(self, tolerance: float) -> bool:
        """The interval lies inside ``1 +- tolerance``."""
        if self.low is None or self.high is None:
            return False
        return self.low >= 1 - tolerance and self.high <= 1 + tolerance


def _round_spread(test: dict[str, Any]) -> float | None:
    variants = test.get("variants") or {}
    agent = (variants.get("agent") or {}).get("values") or []
    human = (variants.get("human") or {}).get("values") or []
    logs = [math.log(a / h) for a, h in zip(agent, human, strict=False) if a > 0 and h > 0]
    return statistics.stdev(logs) if len(logs) >= 2 else None


def aa_task(record: dict[str, Any]) -> AATask:
    """The A/A figures of one task record."""
    verdict = record.get("verdict") or {}
    ratio = verdict.get("agent_vs_human") or {}
    tests = record.get("perf_tests") or [{}]
    return AATask(
        item_id=str(record.get("item_id", "?")),
        status=str(record.get("status", "?")),
        category=verdict.get("category"),
        point=ratio.get("point"),
        low=ratio.get("low"),
        high=ratio.get("high"),
        rounds=int(tests[0].get("rounds") or 0),
        round_spread=_round_spread(tests[0]),
        noisy=bool((record.get("noise") or {}).get("warnings")),
        stop_reason=str(tests[0].get("stop_reason", "?")),
        elapsed_s=float(tests[0].get("elapsed_s") or 0.0),
    )


def aa_lines(tasks: list[AATask], tolerance: float = 0.05) -> list[str]:
    """The printed figures: per task, then the totals."""
    lines = []
    for t in tasks:
        if t.point is None or t.low is None or t.high is None:
            lines.append(f"{t.item_id}: {t.status} ({t.category}), no agent/human interval")
            continue
        spread = "-" if t.round_spread is None else f"{t.round_spread:.1%}"
        lines.append(
            f"{t.item_id}: {t.category or t.status:<12} agent/human {t.point:.3f}x [{t.low:.3f}, {t.high:.3f}] "
            f"width {t.high - t.low:.3f}  rounds {t.rounds} ({t.stop_reason}, {t.elapsed_s:.0f} s)  "
            f"per-round spread {spread}" + ("  (noise warned)" if t.noisy else "")
        )
    n = len(tasks)
    if not n:
        return [*lines, "no task runs"]
    categories = Counter(t.category or t.status for t in tasks)
    wrong = sum(categories[c] for c in WRONG)
    inside = sum(t.inside(tolerance) for t in tasks)
    widths = [w for t in tasks if (w := t.half_width) is not None]
    spreads = [s for t in tasks if (s := t.round_spread) is not None]
    lines.append(f"task runs: {n}; categories: " + ", ".join(f"{k} {v}" for k, v in sorted(categories.items())))
    lines.append(f"wrong categories (beats/worse): {wrong}/{n} = {wrong / n:.1%}")
    lines.append(f"similar (interval inside 1 +- {tolerance:g}): {inside}/{n} = {inside / n:.1%}")
    if widths:
        lines.append(f"median half-width: {statistics.median(widths):.4f}")
    if spreads:
        lines.append(
            f"noise floor (median per-round spread of agent/human): {statistics.median(spreads):.2%}; "
            f"task runs with noise warnings: {sum(t.noisy for t in tasks)}/{n}"
        )
    return lines


def run_demo_aa(extra: list[str], results: Path) -> tuple[int, list[dict[str, Any]]]:
    """``pytest`` on a fresh copy of the demo suite with ``--isobench-agent=human`` (an A/A):
    its exit status and the task records written under ``results``."""
    import json

    with tempfile.TemporaryDirectory(prefix="isobench-aa-") as tmp:
        root = Path(tmp)
        (root / "tasks").mkdir()
        write_dataset(root / "data" / "demo.jsonl")
        (root / "tasks" / "demo.yaml").write_text(DEMO_SUITE, encoding="utf-8")
        argv = [sys.executable, "-m", "pytest", "tasks/demo.yaml", "-p", "no:cacheprovider", "-q"]
        argv += ["--isobench-agent=human", f"--isobench-results={results}", *extra]
        code = subprocess.run(argv, cwd=root, check=False).returncode
    records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((results / "tasks").glob("*.json"))]
    return code, records


DEMO_SUITE = """\
name: demo
dataset: ../data/demo.jsonl
repo: isobench:demo
image: isobench-demo:bookworm
resources: {cpuset: "0", memory: 1g}
perf: {python: python3, timeout_s: 60, min_time_s: 0.01}
success: {rule: isobench, similar_tolerance: 0.05}
timing: {warmup: 1, min_rounds: 5, max_time_s: 30, target_ci: 0.02}
"""
"""The bundled demo suite as ``isobench doctor --noise`` runs it (the source tree's
``tasks/demo.yaml`` is not installed with the package; a test keeps the two equal)."""
