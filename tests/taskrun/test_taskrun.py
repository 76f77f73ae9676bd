"""``TaskRun`` driven directly, without pytest's item machinery, on the bundled demo.

The stages run on the local backend against the real demo repository: the agent works in
a sandbox of its own, its captured patch is applied once to a fresh baseline checkout,
nothing it left behind reaches the timed checkout, and the record that comes back reads
back equal after serialisation. A task run pickles, so an executor can ship it.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from demo_project import ROOT

from pytest_isobench.agents.agent import Agent, AgentContext, AgentRun
from pytest_isobench.agents.builtin import NoopAgent, human_diff
from pytest_isobench.dataset import load_refs
from pytest_isobench.results.record import TaskRecord
from pytest_isobench.results.store import read_records, write_record
from pytest_isobench.sandbox.factory import BuiltinSandboxes
from pytest_isobench.sandbox.protocol import PatchResult, Sandbox, SandboxSpec
from pytest_isobench.settings import Settings
from pytest_isobench.suite import load_suite
from pytest_isobench.taskrun import TaskInput, TaskRun

HEAD = "866ff223"  # unique() with a seen-set: a speedup no noise hides
LEFTOVER = "textkit/__pycache__/leftover.cpython-311.pyc"  # a build product: never in a diff


class HumanInOwnSandbox(Agent):
    """Does what the human did, inside its own sandbox, and leaves a build product behind."""

    name: ClassVar[str] = "human-in-sandbox"
    needs_sandbox: ClassVar[bool] = True

    def run(self, ctx: AgentContext) -> AgentRun:
        assert ctx.sandbox is not None
        ctx.sandbox.apply_patch(human_diff(ctx.repo_dir, ctx.base_sha, ctx.head_sha))
        ctx.sandbox.write_file(LEFTOVER, "left by the agent\n")
        return AgentRun(patch=ctx.sandbox.diff())


@dataclass
class Spying:
    """A sandbox factory that records every sandbox, its patches and its life."""

    inner: BuiltinSandboxes
    events: list[str] = field(default_factory=list)
    opened: list[Sandbox] = field(default_factory=list)

    def __call__(self, spec: SandboxSpec) -> Sandbox:
        box = self.inner(spec)
        spy = self

        class Spy:
            def __init__(self) -> None:
                self.spec = spec
                self.patches: list[str] = []

            @property
            def workdir(self) -> str:
                return box.workdir

            def start(self) -> None:
                spy.events.append(f"open {spec.variant}")
                box.start()

            def close(self) -> None:
                spy.events.append(f"close {spec.variant}")
                box.close()

            def apply_patch(self, patch: str) -> PatchResult:
                self.patches.append(patch)
                spy.events.append(f"patch {spec.variant}")
                result = box.apply_patch(patch)
                self.leftover = (Path(box.workdir) / LEFTOVER).exists()
                return result

            def __getattr__(self, name: str) -> Any:
                return getattr(box, name)

        made: Any = Spy()
        self.opened.append(made)
        return made  # type: ignore[no-any-return]


def _input(cache: Path, agent: str | None, **settings: Any) -> TaskInput:
    suite = load_suite(ROOT / "tasks" / "demo.yaml")
    refs = load_refs(suite.dataset, base_dir=suite.base_dir).refs
    ref = next(r for r in refs if r.head_commit.startswith(HEAD))
    run_settings = Settings(
        run_id="taskrun-test",
        rootdir=ROOT,
        agent=agent,
        backend="local",
        cache_dir=cache,
        min_rounds=5,
        max_time_s=10,
        **settings,
    )
    return TaskInput(
        item_id=f"demo-{HEAD}",
        nodeid=f"tasks/demo.yaml::demo-{HEAD}",
        task=ref.load(),
        suite=suite,
        settings=run_settings,
    )


@pytest.mark.slow
def test_agent_patch_is_captured_in_its_own_sandbox_and_applied_once_to_a_fresh_checkout(
    demo_cache: Path, tmp_path: Path
) -> None:
    factory = Spying(BuiltinSandboxes("local", demo_cache))
    run = TaskRun(_input(demo_cache, "human-in-sandbox"), factory, agent=HumanInOwnSandbox)
    prepared = run.prepare()
    patch = run.produce_patch(prepared)
    assert patch is not None and patch.failure is None and "def unique" in patch.patch
    assert LEFTOVER not in patch.patch
    assert factory.events == ["open agent", "patch agent", "close agent"]  # its own sandbox, gone already

    measured = run.measure(prepared, patch)
    timed = factory.opened[1:]
    assert [b.spec.variant for b in timed] == ["baseline", "human", "agent"]
    agent_box: Any = timed[2]
    assert agent_box.patches == [patch.patch], "the captured patch is applied exactly once"
    assert factory.events[3:] == [
        "open baseline",
        "open human",
        "open agent",
        "patch agent",
        "close agent",
        "close human",
        "close baseline",
    ]
    assert agent_box.leftover is False, "what the agent left behind reached the timed checkout"
    verdict = run.judge(measured, patch)
    # The same code as the human's: equivalent output (the category depends on this machine's noise).
    assert verdict.equivalent and verdict.human_equivalent, verdict.message


@pytest.mark.slow
def test_task_run_end_to_end_gives_a_record_that_reads_back_equal(demo_cache: Path, tmp_path: Path) -> None:
    run = TaskRun(_input(demo_cache, "human-in-sandbox"), BuiltinSandboxes("local", demo_cache), HumanInOwnSandbox)
    shipped = pickle.loads(pickle.dumps(run))  # what an executor sends to another machine
    record = shipped.run()
    assert isinstance(record, TaskRecord)
    assert record.status in ("passed", "failed"), record.reason  # measured and judged (no error, no skip)
    assert record.verdict is not None and record.verdict.equivalent, record.verdict
    assert record.verdict.human is not None and record.verdict.human.low > 1.0  # the 100x-class speedup
    assert record.backend == "local" and record.agent == "human-in-sandbox"
    assert [t.name for t in record.perf_tests] == ["unique-seen-set"]
    assert set(record.perf_tests[0].variants) == {"baseline", "human", "agent"}
    assert record.patch_method is not None and record.human_patch
    write_record(tmp_path, record)
    [back] = read_records(tmp_path).records
    assert back.to_json() == record.to_json()
    for name in TaskRecord.model_fields:  # field by field, so a failure names the field
        assert getattr(back, name) == getattr(record, name), name
    assert not list((demo_cache / "worktrees").rglob("*.py")), "a sandbox was left behind"


def test_task_run_without_agent_and_with_a_failing_agent(demo_cache: Path) -> None:
    noop = TaskRun(_input(demo_cache, "noop"), BuiltinSandboxes("local", demo_cache), NoopAgent)
    prepared = noop.prepare()
    patch = noop.produce_patch(prepared)
    assert patch is not None and patch.patch == "" and patch.failure is None
    plain = TaskRun(_input(demo_cache, None), BuiltinSandboxes("local", demo_cache))
    assert plain.produce_patch(prepared) is None

    class Broken(Agent):
        name: ClassVar[str] = "broken"
        needs_sandbox: ClassVar[bool] = False

        def run(self, ctx: AgentContext) -> AgentRun:
            return AgentRun(patch="diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n")

    record = TaskRun(_input(demo_cache, "broken"), BuiltinSandboxes("local", demo_cache), Broken).run()
    assert record.status == "failed" and record.agent_failure == "patch"
    assert record.verdict is not None and record.verdict.category == "failed"
    assert record.perf_tests == []  # nothing timed

    class NoEngine(BuiltinSandboxes):
        def __call__(self, spec: SandboxSpec) -> Sandbox:
            raise OSError("engine gone")

    errored = TaskRun(_input(demo_cache, None), NoEngine("local", demo_cache)).run()
    assert errored.status == "error" and "engine gone" in errored.reason
