"""``perf.refresh_every: k``: each variant measured in a fresh sandbox every k of its rounds.

A real task run of the demo (the human diff as the agent, so all three variants run) on
both backends: every variant's record lists the sandboxes it ran in, one per k of its
runs (warm-ups included), each a new one (another worktree directory, another container),
opened from the same spec with the next generation; the agent's patch is in every one of
its sandboxes (its values stay the human's, far from the baseline's); a verdict comes out
and nothing is left behind.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from demo_project import ROOT

from pytest_isobench.agents.builtin import HumanAgent
from pytest_isobench.dataset import load_refs
from pytest_isobench.sandbox.factory import BuiltinSandboxes
from pytest_isobench.sandbox.protocol import LABEL_RUN, Sandbox, SandboxSpec
from pytest_isobench.settings import Settings
from pytest_isobench.suite import load_suite
from pytest_isobench.taskrun import TaskInput, TaskRun
from pytest_isobench.taskrun.build_record import refreshed

HEAD = "866ff223"  # unique() with a seen-set: a speedup no noise hides
EVERY = 2


@dataclasses.dataclass
class Counting(BuiltinSandboxes):
    """The built-in backend, noting each sandbox it is asked for (variant, generation)."""

    specs: list[tuple[str, int]] = dataclasses.field(default_factory=list)

    def __call__(self, spec: SandboxSpec) -> Sandbox:
        self.specs.append((spec.variant, spec.generation))
        return super().__call__(spec)


def _input(cache: Path, backend: str, run_id: str) -> TaskInput:
    suite = load_suite(ROOT / "tasks" / "demo.yaml")
    suite = suite.model_copy(update={"perf": suite.perf.model_copy(update={"refresh_every": EVERY})})
    ref = next(r for r in load_refs(suite.dataset, base_dir=suite.base_dir).refs if r.head_commit.startswith(HEAD))
    settings = Settings(
        run_id=run_id, rootdir=ROOT, agent="human", backend=backend, cache_dir=cache, min_rounds=5, max_time_s=8
    )
    return TaskInput(
        item_id=f"demo-{HEAD}",
        nodeid=f"tasks/demo.yaml::demo-{HEAD}",
        task=ref.load(),
        suite=suite,
        settings=settings,
        backend=backend,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_each_variant_gets_a_fresh_sandbox_every_k_of_its_rounds(
    backend: str, demo_cache: Path, tmp_path: Path
) -> None:
    run_id = f"refresh-{backend}-{tmp_path.name[-12:]}"
    factory = Counting(backend, demo_cache)
    try:
        record = TaskRun(_input(demo_cache, backend, run_id), factory, agent=HumanAgent).run()
        leftovers = (
            factory.client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
            if factory.client is not None
            else []
        )
    finally:
        factory.close()
    assert record.status in ("passed", "failed"), record.reason  # measured and judged
    assert record.verdict is not None and record.verdict.category is not None, record.verdict
    (test,) = record.perf_tests
    assert refreshed(EVERY) in test.randomised, test.randomised
    assert set(test.variants) == {"baseline", "human", "agent"}
    for variant, data in test.variants.items():
        print(f"{backend} {variant}: {len(data.warmup)} warm-up + {test.rounds} rounds, sandboxes {data.sandboxes}")
        runs = len(data.warmup) + test.rounds  # each of its runs, warm-ups included
        assert runs > EVERY, f"too few rounds to see a refresh: {runs}"
        assert len(data.sandboxes) == math.ceil(runs / EVERY), (variant, runs, data.sandboxes)
        assert len(set(data.sandboxes)) == len(data.sandboxes), f"a sandbox of {variant} came back: {data.sandboxes}"
        timed = [g for v, g in factory.specs if v == variant]
        assert timed[-len(data.sandboxes) :] == list(range(len(data.sandboxes))), factory.specs
        if backend == "local":
            names = [Path(p).name for p in data.sandboxes]
            assert names == [variant] + [f"{variant}.{g}" for g in range(1, len(names))]
            assert not any(Path(p).exists() for p in data.sandboxes), "a worktree was left behind"
        else:
            assert all(re.fullmatch(r"[0-9a-f]{12}", c) for c in data.sandboxes), data.sandboxes
    assert leftovers == [], [c.name for c in leftovers]
    # The captured patch went into every fresh agent sandbox: its values stay the human's
    # (the demo's 100x-class speedup), never the baseline's.
    agent, baseline = test.variants["agent"].values, test.variants["baseline"].values
    assert max(agent) < min(baseline) / 3, (agent, baseline)
