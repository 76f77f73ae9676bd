"""End to end: the bundled demo suite through a real pytest subprocess, both backends.

Each test copies ``tasks/demo.yaml`` and ``data/demo.jsonl`` into a pytester directory,
runs pytest on it and reads the per-task records. The demo repository is built once per
session into a shared cache directory. Timing budgets are short (``--isobench-max-time``):
the two local runs whose verdicts need a longer budget are in test_e2e_verdicts.py (a
module of their own, so that xdist runs them beside these).
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from demo_project import DEMO_IDS, ROOT, assert_no_worktree, junit_properties, read_records, run_demo

from pytest_isobench.demo.repository import demo_repo

QUICK = ("--isobench-max-time=8", "--isobench-min-rounds=5")
ESTIMATE = r"\d+\.\d\dx \[\d+\.\d\d, \d+\.\d\d\]"


def _run(pytester: pytest.Pytester, cache: Path, results: Path, *args: str) -> pytest.RunResult:
    result: pytest.RunResult = run_demo(pytester, cache, results, *args)
    return result


def our_containers(run_id: str | None = None) -> list[Any]:
    """Containers labelled ``io.isobench`` (of one run when given: other runs may share the engine)."""
    import docker

    label = "io.isobench" if run_id is None else f"io.isobench.run={run_id}"
    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": label}))
    finally:
        client.close()


# -- local backend -------------------------------------------------------------------------


@pytest.mark.slow
def test_local_agent_noop_every_task_fails(pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path) -> None:
    """A do-nothing agent never passes: every task fails, "worse" or "inconclusive".

    Margin, not a seed (real processes): the humans are 1.5x to 270x, so the noop's true
    agent/human ratio is at most 0.66, and a pass needs its agent/human interval to lie
    wholly above 0.95, a miss of more than 35% on one side. Each interval misses on one
    side with probability at most 1.25% (the sequential design's final level 0.0375, or
    less), and a miss of that size needs the interval's centre many half-widths off as
    well; so this fails far less than once in 10,000 runs. It used to assert "worse",
    which a short budget on a busy machine turned into a chance failure (and the old
    verdict called the noop "similar" and passed it).
    """
    results = tmp_path / "results"
    result = _run(pytester, demo_cache, results, "--isobench-backend=local", "--isobench-agent=noop", *QUICK)
    result.assert_outcomes(failed=4)
    message = re.compile(rf"agent {ESTIMATE} vs human {ESTIMATE}: (worse|inconclusive) \(needs >= \d+\.\d\dx\)")
    assert len(message.findall(result.stdout.str())) >= 4, result.stdout.str()
    records = read_records(results)
    assert sorted(records) == list(DEMO_IDS)
    for item_id, record in records.items():
        verdict = record["verdict"]
        assert record["status"] == "failed", item_id
        assert verdict["category"] in ("worse", "inconclusive"), (item_id, verdict["message"])
        assert verdict["agent_vs_human"]["low"] < 0.95, (item_id, verdict["message"])
        assert message.search(verdict["message"]), verdict["message"]
    assert_no_worktree(demo_cache)


def _unified(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_local_predictions_good_unappliable_and_inequivalent(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:

    repo = demo_repo(demo_cache)
    tasks = {json.loads(line)["head_commit"][:8]: json.loads(line) for line in (ROOT / "data/demo.jsonl").open()}
    good, bad, wrong = tasks["65ce4b7f"], tasks["c7a161c8"], tasks["866ff223"]
    stats = _git(repo, "show", f"{bad['base_commit']}:textkit/stats.py")
    assert "    total = 0\n" in stats
    # The removed line is not in the file: no fallback can place this hunk.
    fake = stats.replace("    total = 0\n", "    total = 12345  # isobench-not-there\n")
    dedup = _git(repo, "show", f"{wrong['base_commit']}:textkit/dedup.py")
    assert "    return result\n" in dedup
    predictions = [
        {
            "instance_id": good["instance_id"],
            "model_patch": _git(repo, "diff", good["base_commit"], good["head_commit"]),
        },
        {
            "instance_id": bad["instance_id"],
            "model_patch": _unified("textkit/stats.py", fake, fake.replace("not-there", "not-there-either")),
        },
        {
            "instance_id": wrong["instance_id"],
            "model_patch": _unified(
                "textkit/dedup.py", dedup, dedup.replace("    return result\n", "    return result[::-1]\n")
            ),
        },
    ]
    for p in predictions:
        p["model_name_or_path"] = "test-model"
    file = tmp_path / "preds.jsonl"
    file.write_text("".join(json.dumps(p) + "\n" for p in predictions), encoding="utf-8")
    results = tmp_path / "results"
    result = _run(
        pytester,
        demo_cache,
        results,
        "--isobench-backend=local",
        "--isobench-agent=predictions",
        f"--isobench-predictions={file}",
        "-k",
        "65ce4b7f or c7a161c8 or 866ff223",
        "--isobench-max-time=12",
        "--isobench-min-rounds=6",
    )
    records = read_records(results)
    assert sorted(records) == ["demo-65ce4b7f", "demo-866ff223", "demo-c7a161c8"]

    unapplied = records["demo-c7a161c8"]
    assert unapplied["status"] == "failed"
    assert unapplied["agent_failure"] == "patch"
    assert unapplied["verdict"]["category"] == "failed"
    # The failure message shows the rejected hunk.
    out = result.stdout.str()
    assert "agent failed (patch)" in out
    assert "isobench-not-there" in out, out[-3000:]
    assert "@@ " in out

    inequivalent = records["demo-866ff223"]
    assert inequivalent["status"] == "failed"
    assert inequivalent["verdict"]["category"] == "failed"
    assert inequivalent["verdict"]["equivalent"] is False
    assert "correctness: digest" in inequivalent["verdict"]["message"]
    result.stdout.fnmatch_lines(["*correctness: digest * != baseline *"])
    assert_no_worktree(demo_cache)

    # The good prediction is the human diff: applied, equivalent, never "worse". Whether a 12 s
    # budget narrows its interval inside +-5% depends on the machine's noise (issue 12's precision
    # target), so an honest "inconclusive" is accepted here; the categories' error rates are
    # pinned by test_calibration and benchmarks/bench_calibration.py.
    ok = records["demo-65ce4b7f"]
    assert ok["patch_method"] == "git apply"
    assert ok["verdict"]["equivalent"] is True
    assert ok["verdict"]["category"] in ("similar", "beats", "inconclusive"), ok["verdict"]["message"]
    assert (ok["status"] == "passed") == (ok["verdict"]["category"] != "inconclusive"), ok["verdict"]["message"]
    if ok["status"] == "passed":
        result.assert_outcomes(passed=1, failed=2)
    else:
        result.assert_outcomes(failed=3)


# -- docker backend ------------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.slow
def test_docker_agent_human_passes_and_leaves_no_container(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    junit = tmp_path / "junit.xml"
    # Two tasks whose timed regions are tens of milliseconds: enough for a tight ratio in
    # a short budget (demo-866ff223's human region is ~0.3 ms, see the report).
    result = _run(
        pytester,
        demo_cache,
        results,
        "--isobench-backend=docker",
        "--isobench-agent=human",
        "-k",
        "65ce4b7f or ac9bebc0",
        f"--junitxml={junit}",
        "--isobench-max-time=12",
        "--isobench-min-rounds=6",
    )
    records = read_records(results)
    assert sorted(records) == ["demo-65ce4b7f", "demo-ac9bebc0"]
    # The agent's code is the human's: never "beats" or "worse"; "similar" needs the interval inside
    # +-5% within 12 s, which depends on the machine's noise (issue 12's precision target), so an
    # honest "inconclusive" (a failed item) is accepted; the plumbing below is what this test pins.
    passed = 0
    for item_id, record in records.items():
        assert record["backend"] == "docker"
        category = record["verdict"]["category"]
        assert category in ("similar", "inconclusive"), (item_id, record["verdict"]["message"])
        assert (record["status"] == "passed") == (category == "similar"), item_id
        passed += category == "similar"
    result.assert_outcomes(passed=passed, failed=2 - passed)
    props = junit_properties(junit)
    for item_id, found in props.items():
        if records[item_id]["status"] == "passed":
            assert found["isobench_verdict"] == "similar", item_id
            assert {"isobench_human_speedup", "isobench_agent_speedup", "isobench_agent_vs_human_speedup"} <= set(found)
    run_ids = {r["run_id"] for r in records.values()}
    assert len(run_ids) == 1
    assert our_containers(run_ids.pop()) == []
