"""Each ``pytest_isobench_*`` hook (``hookspecs.py``) implemented by a conftest, run for real.

One pytest run of one demo task on the local backend, with the shortest timing budget and
a conftest implementing all four hooks; each test then checks one hook: that pytest called
the conftest's implementation where the hookspec says, and that what it returned or
changed reached the run (the agent used, the sandboxes built, the verdict given, the
record written). One run, not four: each costs tens of seconds on a small machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from demo_project import copy_demo, demo_args, read_records

TASK = "demo-ac9bebc0"
INSTANCE = "demo-precompile-regex"
FAST = (
    "-k",
    TASK.removeprefix("demo-"),
    "--isobench-backend=local",
    "--isobench-min-rounds=2",
    "--isobench-max-time=1",
)

CONFTEST = """
import dataclasses
from pathlib import Path

from pytest_isobench.agents.agent import Agent, AgentRun
from pytest_isobench.agents.builtin import human_diff
from pytest_isobench.sandbox.local import LocalSandbox

LOG = Path(__file__).with_name("sandboxes.log")


class ConftestAgent(Agent):
    name = "from-conftest"

    def run(self, ctx):
        # Works in its own sandbox like a real agent; the harness captures the diff.
        ctx.sandbox.apply_patch(human_diff(ctx.repo_dir, ctx.base_sha, ctx.head_sha))
        return AgentRun(patch=ctx.sandbox.diff(), logs="the conftest agent ran")


def pytest_isobench_agents():
    return {"from-conftest": ConftestAgent}


class LoggedSandbox(LocalSandbox):
    def start(self):
        with LOG.open("a") as log:
            log.write(f"start {self.spec.task_id} {self.spec.variant}\\n")
        super().start()

    def close(self):
        with LOG.open("a") as log:
            log.write(f"close {self.spec.variant}\\n")
        super().close()


def pytest_isobench_make_sandbox(backend, spec, config):
    if backend == "local":
        return LoggedSandbox(spec, config.rootpath / "conftest-worktrees")
    return None


def pytest_isobench_verdict(task, results, default):
    return dataclasses.replace(
        default, passed=False, message=f"vetoed by the conftest: {task.instance_id}, {len(results)} result(s)"
    )


def pytest_isobench_record(record, task):
    record["from_conftest"] = {"instance": task.instance_id, "status": record["status"]}
"""


@dataclass
class Run:
    root: Path
    output: str
    record: dict[str, Any]
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, demo_cache: Path) -> Run:
    root = tmp_path_factory.mktemp("hooks")
    copy_demo(root)
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    results = root / "results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *demo_args(demo_cache, results, *FAST, "--isobench-agent=from-conftest")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, output[-4000:]  # the verdict hook vetoes
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    return Run(root, output, read_records(results)[TASK], summary)


def test_pytest_isobench_agents_adds_an_agent(run: Run) -> None:
    assert run.record["agent"] == "from-conftest"
    assert run.record["agent_logs"] == "the conftest agent ran"
    assert run.record["patch"] == run.record["human_patch"] and run.record["patch"].startswith("diff --git")


def test_an_unknown_agent_lists_the_conftest_agent(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest("--isobench-agent=nope", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope*from-conftest*"])


def test_pytest_isobench_make_sandbox_builds_every_sandbox(run: Run) -> None:
    log = (run.root / "sandboxes.log").read_text().splitlines()
    # The agent works in a sandbox of its own; the timed agent variant is a fresh one.
    variants = ("agent", "baseline", "human", "agent")
    assert sorted(log) == sorted([f"start {TASK} {v}" for v in variants] + [f"close {v}" for v in variants])
    assert log[:2] == [f"start {TASK} agent", "close agent"]  # closed before the variants are timed
    # The conftest's root was used, and the sandboxes cleaned up after themselves there.
    assert (run.root / "conftest-worktrees").is_dir()
    assert not [p for p in (run.root / "conftest-worktrees").rglob("*") if p.is_file()]


def test_pytest_isobench_verdict_replaces_the_verdict(run: Run) -> None:
    message = f"vetoed by the conftest: {INSTANCE}, 1 result(s)"
    assert message in run.output
    assert run.record["status"] == "failed"
    assert run.record["verdict"]["message"] == message
    assert run.record["verdict"]["human"]["point"] > 0  # the rest of the default verdict is kept


def test_pytest_isobench_record_adds_fields(run: Run) -> None:
    assert run.record["from_conftest"] == {"instance": INSTANCE, "status": "failed"}
    assert [t["item_id"] for t in run.summary["tasks"]] == [TASK]
