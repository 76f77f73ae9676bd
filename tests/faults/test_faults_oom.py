"""A perf test killed by the OOM killer at the suite's memory limit (1g), end to end in Docker.

Two synthetic tasks, the ``predictions`` agent: in the first, the human commit's code
allocates 1.5 GB (the task's problem: the record says ``error``); in the second, the
agent's patch makes it allocate (the agent's failure: ``failed``). Each message says "out of
memory (limit 1g)"; nothing hangs and no container of the run is left.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import make_project, records
from gitutil import git

HOG = "import speed\nif getattr(speed, 'HOG', False):\n    hog = b'x' * (1536 << 20)\n"


def _append(repo: Path, commit: str, line: str) -> str:
    """A diff against ``commit`` that appends ``line`` to speed.py."""
    text = git(repo, "show", f"{commit}:speed.py")
    old = text.splitlines()
    new = [*old, line]
    body = "".join(f" {x}\n" for x in old) + f"+{line}\n"
    return (
        f"diff --git a/speed.py b/speed.py\n--- a/speed.py\n+++ b/speed.py\n@@ -1,{len(old)} +1,{len(new)} @@\n{body}"
    )


@pytest.mark.docker
@pytest.mark.slow
def test_oom_kill_is_named_and_blamed_on_its_variant(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", tasks=2, extra=[HOG, HOG], suite={"resources": {"memory": "1g", "cpuset": "0"}}
    )
    data = project.path / "data.jsonl"
    tasks = [json.loads(line) for line in data.read_text().splitlines()]
    repo = Path(tasks[0]["repo"])
    # Task 0: its human commit sets HOG (a commit on top of the one the dataset names).
    human_hog, agent_hog = tasks[0], tasks[1]
    git(repo, "checkout", "-q", human_hog["head_commit"])
    (repo / "speed.py").write_text((repo / "speed.py").read_text() + "HOG = True\n")
    git(repo, "commit", "-qam", "human hog")
    human_hog["head_commit"] = git(repo, "rev-parse", "HEAD").strip()
    data.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    predictions = project.path / "predictions.jsonl"
    rows = [
        {
            "instance_id": human_hog["instance_id"],
            "model_patch": _append(repo, human_hog["base_commit"], "# harmless"),
            "model_name_or_path": "fx",
        },
        {
            "instance_id": agent_hog["instance_id"],
            "model_patch": _append(repo, agent_hog["base_commit"], "HOG = True"),
            "model_name_or_path": "fx",
        },
    ]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = project.path / "results"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *project.args(project.path / "cache", results),
            "--isobench-backend=docker",
            "--isobench-agent=predictions",
            f"--isobench-predictions={predictions}",
            "-rA",
        ],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    text = run.stdout + run.stderr
    found = {r["instance_id"]: r for r in records(results).values()}
    assert set(found) == {human_hog["instance_id"], agent_hog["instance_id"]}, text[-3000:]
    task_problem, agent_failure = found[human_hog["instance_id"]], found[agent_hog["instance_id"]]
    assert task_problem["status"] == "error", task_problem.get("verdict")
    assert task_problem["verdict"]["reason"].startswith("human failed: out of memory (limit 1g)")
    assert agent_failure["status"] == "failed", agent_failure.get("verdict")
    assert agent_failure["verdict"]["reason"].startswith("agent failed: out of memory (limit 1g)")
    assert "error (the task's, not the agent's): human failed: out of memory (limit 1g)" in text
    run_id = agent_failure["run_id"]
    import docker

    client = docker.from_env()
    try:
        assert client.containers.list(all=True, filters={"label": f"io.isobench.run={run_id}"}) == []
    finally:
        client.close()
