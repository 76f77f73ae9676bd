"""An xdist worker that dies mid-task (``os._exit`` while its perf test runs), for real, with ``-n 2``.

The other workers' records and the summary must be written, the lost task recorded as an
``error`` with xdist's reason and the task's own fields (id, repository, commits, agent,
settings) like any other record, nothing of the run left in the cache, and
``--isobench-resume`` must run that task and only it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultkit import make_project, output, records, start

CRASH = """\
import os
import threading


def pytest_runtest_setup(item):
    if item.name == os.environ.get("FX_CRASH_ITEM"):
        # The task runs in setup: the worker dies a second into it, its perf test running.
        threading.Timer(1.0, os._exit, (3,)).start()
"""


@pytest.mark.slow
def test_worker_death_loses_one_task_and_resume_runs_only_it(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    project = make_project(tmp_path / "p", tasks=4, extra=["", "time.sleep(1)"])
    (project.path / "conftest.py").write_text(CRASH)
    cache, results = tmp_path / "cache", tmp_path / "results"
    lost = project.ids[1]
    args = ("--isobench-backend=local", "-n", "2", "-rA")
    proc = start(project, cache, results, *args, env={"FX_CRASH_ITEM": lost})
    proc.wait(timeout=300)
    text = output(project)
    assert proc.returncode == 1, text[-3000:]
    assert "crashed while running" in text
    first = records(results)
    assert sorted(first) == project.ids, text[-3000:]
    assert first[lost]["status"] == "error" and first[lost]["verdict"] is None
    assert "crashed while running" in first[lost]["reason"] and "not the agent's fault" in first[lost]["reason"]
    task = next(
        t
        for t in map(json.loads, (project.path / "data.jsonl").read_text().splitlines())
        if t["head_commit"][:8] == lost[3:]
    )
    other = first[project.ids[0]]
    for key in ("instance_id", "repo", "base_commit", "head_commit"):
        assert first[lost][key] == task[key], (key, first[lost])
    for key in ("suite", "agent", "model", "run_id", "settings", "nodeid"):
        assert first[lost][key] == (other[key] if key != "nodeid" else f"fx.yaml::{lost}"), (key, first[lost])
    assert first[lost]["lost"] is True
    for item_id in project.ids:
        if item_id != lost:
            assert first[item_id]["status"] in ("passed", "failed"), first[item_id]
    summary = (results / "summary.json").read_text()
    assert lost in summary and '"error"' in summary
    left = [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
    assert left == [], left[:5]
    assert not (cache / "runs").exists()  # the notes of tasks in flight went with the run

    again = start(project, cache, results, *args, f"--isobench-resume={results}")
    again.wait(timeout=300)
    text = output(project)
    assert again.returncode in (0, 1), text[-3000:]
    after = records(results)
    assert sorted(after) == project.ids
    rerun = {k for k, r in after.items() if r["run_id"] != first[k]["run_id"]}
    assert rerun == {lost}, text[-3000:]
    assert after[lost]["status"] in ("passed", "failed"), after[lost]
    for item_id in project.ids:
        line = next(x for x in text.splitlines() if x.startswith(item_id + " "))
        assert ("(resumed)" in line) == (item_id != lost), line
