"""Task records shaped like the runner writes them, for the report, results and field tests.

Built with the real ``Verdict`` and statistics classes; ``write_dir`` stores them through
the real writer. Shared by test modules in several folders, so it lives in ``tests/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_isobench.measure.stats import Estimate, summarize
from pytest_isobench.measure.verdict import Verdict
from pytest_isobench.results.store import write_record

SETTINGS = {
    "agent": "trae",
    "model": None,
    "min_rounds": 5,
    "target_ci": 0.02,
    "warmup": 1,
    "image": None,
    "gpus": None,
}


def _est(point: float | None) -> Estimate | None:
    return None if point is None else Estimate(point, point * 0.95, point * 1.05)


def make_record(
    item_id: str,
    *,
    category: str | None = "similar",
    human: float | None = 1.5,
    agent_x: float | None = 1.5,
    agent: str | None = "trae",
    suite: str = "demo",
    settings: dict[str, Any] | None = None,
    status: str | None = None,
    human_significant: bool = True,
    patch: str | None = "diff --git a/m.py b/m.py\n",
) -> dict[str, Any]:
    """A record shaped like ``runner.run_task`` writes it (verdict from the real class)."""
    ratio = None if human is None or agent_x is None else agent_x / human
    passed = category in ("beats", "similar") if agent else human_significant
    verdict = Verdict(
        passed=passed,
        category=category if agent else None,  # type: ignore[arg-type]
        human=_est(human),
        agent=_est(agent_x) if agent else None,
        agent_vs_human=_est(ratio) if agent else None,
        human_significant=human_significant,
        human_pvalue=0.001 if human_significant else 0.4,
        agent_pvalue=0.002 if agent else None,
        equivalent=category != "failed",
        reason=str(category),
        message=f"agent {agent_x} vs human {human}: {category}",
    )
    base = [1.0, 1.01, 0.99, 1.0, 1.02]
    variants: dict[str, Any] = {"baseline": base, "human": [v / (human or 1) for v in base]}
    if agent:
        variants["agent"] = [v / (agent_x or 1) for v in base]
    record: dict[str, Any] = {
        "item_id": f"{suite}-{item_id}",
        "nodeid": f"tasks/{suite}.yaml::{suite}-{item_id}",
        "suite": suite,
        "instance_id": item_id,
        "repo": "demo/repo",
        "head_commit": item_id * 5,
        "base_commit": item_id * 5 + "^",
        "agent": agent,
        "model": None,
        "settings": {**SETTINGS, "agent": agent, **(settings or {})},
        "run_id": "20250101T000000Z-abcdef",
        "perf_tests": [
            {
                "name": "perf",
                "rounds": 5,
                "stop_reason": "target_ci",
                "elapsed_s": 1.0,
                "warnings": [],
                "variants": {
                    name: {"values": values, "walls": values, "digests": ["d1"], "stats": summarize(values).as_dict()}
                    for name, values in variants.items()
                },
            }
        ],
        "direction": "lower",
        "verdict": verdict.as_dict(),
        "status": status or ("passed" if passed else "failed"),
    }
    if agent:
        record["patch"] = patch
    if category == "failed" and agent:
        record["verdict"].update(human=None, agent=None, agent_vs_human=None)
    return record


def demo_records() -> list[dict[str, Any]]:
    return [
        make_record("aaaa1111", category="beats", human=1.5, agent_x=2.0),
        make_record("bbbb2222", category="similar", human=1.5, agent_x=1.5),
        make_record("cccc3333", category="worse", human=2.0, agent_x=1.1),
        make_record("dddd4444", category="failed", human=None, agent_x=None),
        make_record("eeee5555", category=None, human=None, agent_x=None, status="error"),
    ]


def write_dir(path: Path, records: list[dict[str, Any]]) -> Path:
    for record in records:
        write_record(path, record)
    return path
