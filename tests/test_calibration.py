"""Calibration in the real Docker backend: an A/A run must find nothing, a 1.5x must be found.

With ``--isobench-agent=noop`` the agent's checkout is the baseline's, so the agent's
speedup over the baseline is 1.0 by construction: its interval has to contain 1.0 on
every demo task. The precompile-regex task (demo-ac9bebc0, a ~1.5x human commit) must
come out significant without an agent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_IDS = ["demo-65ce4b7f", "demo-866ff223", "demo-ac9bebc0", "demo-c7a161c8"]

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.getbasetemp() / "isobench-cache"
    path.mkdir(exist_ok=True)
    return path


def _run(pytester: pytest.Pytester, cache: Path, results: Path, *extra: str) -> pytest.RunResult:
    for rel in ("tasks/demo.yaml", "data/demo.jsonl"):
        (pytester.path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, pytester.path / rel)
    return pytester.runpytest_subprocess(
        "tasks/demo.yaml",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=docker",
        f"--isobench-cache-dir={cache}",
        f"--isobench-results={results}",
        *extra,
        timeout=400,
    )


def _records(results: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((results / "tasks").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["item_id"]] = record
    return out


def test_a_a_noop_agent_interval_contains_one(pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    # Enough rounds for the interval to mean something; "worse" is decided early anyway.
    result = _run(
        pytester, demo_cache, results, "--isobench-agent=noop", "--isobench-min-rounds=10", "--isobench-max-time=10"
    )
    result.assert_outcomes(failed=4)  # noop is worse than every human: that is not the point here
    records = _records(results)
    assert sorted(records) == DEMO_IDS
    for item_id, record in records.items():
        verdict = record["verdict"]
        agent = verdict["agent"]
        assert record["backend"] == "docker"
        assert verdict["equivalent"] is True, item_id
        assert agent["low"] <= 1.0 <= agent["high"], f"{item_id}: A/A interval {agent} excludes 1.0"
        # And the noise is small enough for the interval to be useful.
        assert agent["high"] / agent["low"] < 2.0, (item_id, agent)


def test_one_point_five_x_task_is_significant(pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = _run(pytester, demo_cache, results, "-k", "ac9bebc0", "--isobench-min-rounds=10", "--isobench-max-time=15")
    result.assert_outcomes(passed=1)
    verdict = _records(results)["demo-ac9bebc0"]["verdict"]
    assert verdict["human_significant"] is True
    assert verdict["human_pvalue"] < 0.05
    assert 1.0 < verdict["human"]["low"] <= verdict["human"]["point"], verdict["human"]
    assert 1.1 < verdict["human"]["point"] < 2.5, verdict["human"]
