"""Real tasks measured the way their authors meant: perf-test shapes, equivalence, unit-test gates.

ISO-Bench's and GSO's perf tests (``setup()`` / ``experiment()`` / ``check_equivalence``)
run under the harness's driver in lockstep, their own equivalence check run on human and
agent; unit-test modules found where perf tests are expected are correctness gates run
under pytest, never timed; a script that reports no figure is not judged. End to end
through pytest on a repository made here, on the local backend and in Docker, and the
two real ISO-Bench records of the shared data classified.
"""

from __future__ import annotations

import difflib
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitutil import git, one_commit_repo
from sandboxutil import variant_boxes

from pytest_isobench.dataset import load_source
from pytest_isobench.dataset.models import PerfTest, Task
from pytest_isobench.dataset.scriptkind import classify
from pytest_isobench.dataset.shapes import RecordError, task_from_record
from pytest_isobench.measure.protocol import Measurement
from pytest_isobench.perf import equivalence, gates, lockstep, perftest
from pytest_isobench.sandbox.protocol import Sandbox, SandboxSpec
from pytest_isobench.settings import Settings
from pytest_isobench.suite import Suite
from pytest_isobench.taskrun.model import TaskInput, TaskSkipped
from pytest_isobench.taskrun.prepare import timed_tests
from pytest_isobench.testgen.validate import validate_in_sandboxes

IMAGE = "isobench-demo:bookworm"
ROOT = Path(__file__).resolve().parents[2]
# The shared data beside the checkout where there is one; the project's copy of it otherwise.
SAMPLE = ROOT.parent / "shared" / "datasets" / "vllm-canonical-sample.jsonl"
if not SAMPLE.is_file():
    SAMPLE = ROOT / "data" / "vllm-canonical-sample.jsonl"
RUN_ID = f"test-shapes-{uuid.uuid4().hex[:8]}"

SLOW = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
FAST = "def total(n):\n    return n * (n - 1) // 2\n"
WRONG = "def total(n):\n    return n * (n - 1) // 4\n"  # fast, and half the right sum
BREAKS_ZERO = "def total(n):\n    return n * (n - 1) // 2 if n else 1\n"  # same result for the perf test
# The agent's patch takes a path the test reports with ISO-Bench's code: the agent's failure.
NOT_TRIGGERED = 'def total(n):\n    raise RuntimeError("OPT_PATH_NOT_TRIGGERED: the fast path was skipped")\n'

# ISO-Bench's / GSO's shape, with the script's own timing and command line that the
# harness must never run (its __main__ would exit 3).
SETUP_EXPERIMENT = """
import json, os, sys, time
from calc import total

def setup():
    return 20000

def experiment(n):
    if os.environ.get("ISOBENCH_TEST_LOG"):
        with open("passes.log", "a") as log:
            log.write(f"{time.time_ns()} {os.environ.get('VARIANT', '?')}\\n")
    return total(n)

def store_result(result, path):
    with open(path, "w") as fh:
        json.dump({"total": result}, fh)

def load_result(path):
    with open(path) as fh:
        return json.load(fh)

def check_equivalence(current, reference):
    assert current == reference["total"], f"total {current} != reference {reference['total']}"

def run_test(eqcheck=False, reference=False, prefix=""):
    data = setup()
    t0 = time.perf_counter()
    experiment(data)
    return (time.perf_counter() - t0) * 1000

if __name__ == "__main__":
    sys.exit(3)
"""

NEEDS_A_GPU = """
E_CAPABILITY = "CAPABILITY_UNSUPPORTED"
def setup():
    raise RuntimeError(f"{E_CAPABILITY}: CUDA device is required for this kernel")
def experiment(data):
    return data
"""

UNIT_MODULE = """
import pytest
from calc import total

def test_small():
    assert total(4) == 6

def test_zero():
    assert total(0) == 0

def test_wrong_on_every_commit():
    assert total(3) == 99

if __name__ == "__main__":
    pytest.main([__file__, "-q"])
"""

NO_FIGURE = "from calc import total\nprint(total(100000))\n"


def test_the_two_real_isobench_records_are_classified() -> None:
    """ISO-Bench's published canonical vLLM records: one perf test of the setup/experiment
    shape, one module of the project's unit tests (a gate, not a perf test)."""
    loaded = load_source(str(SAMPLE))
    assert loaded.errors == []
    first, second = loaded.tasks
    assert [t.kind for t in first.perf_tests] == ["setup-experiment"]
    assert first.unit_tests == []
    assert second.perf_tests == []
    assert [(u.name, u.script is not None) for u in second.unit_tests] == [("efficiency_test0", True)]


@pytest.mark.parametrize(
    ("script", "shape"),
    [
        (SETUP_EXPERIMENT, "setup-experiment"),
        (UNIT_MODULE, "unit-tests"),
        (NO_FIGURE, "no-figure"),
        ('import json\nprint(json.dumps({"time_s": 1.0}))\n', "json"),
        ('import json\nprint(json.dumps({"avg_ms": 3.0}))\n', "json"),
        # a nested helper named setup is not the entry point; a test module without pytest is not one
        ("def f():\n    def setup():\n        pass\ndef experiment(d):\n    pass\n", "no-figure"),
        ("def test_x():\n    assert 1\n", "no-figure"),
    ],
)
def test_scripts_are_classified_from_their_text(script: str, shape: str) -> None:
    assert classify(script) == shape
    assert PerfTest(name="t", script=script).kind == shape


def test_swe_bench_test_ids_become_a_gate_not_a_perf_test() -> None:
    task = task_from_record(
        {
            "instance_id": "x-1",
            "base_commit": "a" * 40,
            "head_commit": "b" * 40,
            "PASS_TO_PASS": json.dumps(["tests/test_a.py::test_one", "tests/test_a.py::test_two[1]"]),
            "FAIL_TO_PASS": ["tests/test_b.py::test_new"],
            "efficiency_test": ["tests/test_perf.py::test_speed"],
        },
        "rows.jsonl:1",
    )
    assert task.perf_tests == []
    assert {u.name: u.node_ids for u in task.unit_tests} == {
        "efficiency_test": ["tests/test_perf.py::test_speed"],
        "PASS_TO_PASS": ["tests/test_a.py::test_one", "tests/test_a.py::test_two[1]"],
        "FAIL_TO_PASS": ["tests/test_b.py::test_new"],
    }
    with pytest.raises(RecordError, match=r"rows.jsonl:2: field 'PASS_TO_PASS': not a JSON list"):
        task_from_record(
            {"instance_id": "x", "base_commit": "a", "head_commit": "b", "PASS_TO_PASS": "[oops"}, "rows.jsonl:2"
        )


def test_pytest_short_summary_is_read_per_test() -> None:
    out = (
        "PASSED t.py::test_a\nFAILED t.py::test_b - assert 1 == 2\nERROR t.py::test_c - fixture\n"
        "XFAIL t.py::test_d - known\nSKIPPED [1] t.py:9: no gpu\n"
    )
    assert gates.parse(out) == ({"t.py::test_a", "t.py::test_d"}, {"t.py::test_b", "t.py::test_c"})


# -- the driver and equivalence in sandboxes, both backends ------------------------------


@pytest.fixture(scope="module")
def calc_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return one_commit_repo(tmp_path_factory.mktemp("shapes-repo"), {"calc.py": SLOW})


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def boxes(request: pytest.FixtureRequest, calc_repo: tuple[Path, str], tmp_path: Path) -> Iterator[dict[str, Sandbox]]:
    def spec_of(variant: str) -> SandboxSpec:
        return SandboxSpec(
            task_id="shapes",
            variant=variant,  # type: ignore[arg-type]
            repo_dir=calc_repo[0],
            commit=calc_repo[1],
            image=IMAGE,
            run_id=RUN_ID,
            env={"VARIANT": variant, "ISOBENCH_TEST_LOG": "1"},
        )

    with variant_boxes(request.param, spec_of, tmp_path / "worktrees") as made:
        yield made


def _never(name: str) -> Measurement:
    raise AssertionError(f"run_one({name!r}) called, but the driver speaks the protocol")


def test_setup_experiment_passes_alternate_in_lockstep(boxes: dict[str, Sandbox]) -> None:
    test = PerfTest(name="calc", script=SETUP_EXPERIMENT)
    for box in boxes.values():
        perftest.prepare(box, test)
    steps = lockstep.Lockstep(boxes, test, "python3", 60, cycles=6)
    order = ["agent", "baseline", "human"]
    ran = steps.round(order, _never, 0.005)
    assert steps.supported is True and steps.notes == []
    assert [m.error for m in ran] == [None, None, None]
    for m in ran:
        assert m.passes is not None and len(m.passes) == 6 and m.loops is not None and m.loops >= 1
    # By the kernel's clock: after each process's calibration (its experiment calls logged
    # too), the passes run cycle after cycle, each variant once per cycle, every order.
    logged = sorted(
        line.split() for box in boxes.values() for line in box.exec("cat passes.log", 30).stdout.splitlines()
    )
    calls = [variant for _, variant in logged]
    loops = {v: m.loops or 0 for v, m in zip(order, ran, strict=True)}
    passes = calls[-6 * sum(loops.values()) :]  # 6 cycles, each variant's pass `loops` calls long
    sequence: list[str] = []
    while passes:
        variant = passes[0]
        assert passes[: loops[variant]] == [variant] * loops[variant], passes[: loops[variant] + 1]
        sequence.append(variant)
        passes = passes[loops[variant] :]
    cycles = [tuple(sequence[i : i + 3]) for i in range(0, len(sequence), 3)]
    assert len(cycles) == 6
    assert cycles[0] == tuple(order)
    assert sorted(cycles) == sorted(itertools.permutations(order))


def test_equivalence_reference_on_the_baseline_checked_on_the_others(boxes: dict[str, Sandbox], tmp_path: Path) -> None:
    test = PerfTest(name="calc", script=SETUP_EXPERIMENT)
    for box in boxes.values():
        perftest.prepare(box, test)
    boxes["agent"].write_file("calc.py", WRONG)
    keep = tmp_path / "cache" / "ref.b64"
    found = equivalence.check(boxes, test, "python3", 60, keep=keep)
    statuses = {v: c.status for v, c in found.variants.items()}
    assert statuses == {"baseline": "stored", "human": "same", "agent": "differs"}
    assert found.variants["agent"].message == "total 99995000 != reference 199990000"
    assert keep.is_file() and found.reference_bytes == len(keep.read_text())
    # The reference never lands in a checkout.
    for box in boxes.values():
        listed = box.exec("git status --porcelain --untracked-files=all --ignored", 30).stdout
        assert "reference" not in listed, listed


# -- end to end through pytest, local backend and Docker ---------------------------------


def _commit(repo: Path, text: str, message: str) -> str:
    (repo / "calc.py").write_text(text)
    git(repo, "commit", "-qam", message)
    return git(repo, "rev-parse", "HEAD").strip()


def _diff(base_text: str, new_text: str) -> str:
    """A patch of calc.py from ``base_text`` to ``new_text``."""
    lines = difflib.unified_diff(
        base_text.splitlines(keepends=True), new_text.splitlines(keepends=True), "a/calc.py", "b/calc.py"
    )
    return "".join(lines)


def _project(root: Path, backend: str) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A repository (slow base, fast human, a human that is wrong) and one task per case."""
    repo, base = one_commit_repo(root / "repo", {"calc.py": SLOW})
    head = _commit(repo, FAST, "perf: closed form")
    git(repo, "checkout", "-q", base)
    git(repo, "checkout", "-q", "-b", "wrong")
    wrong_head = _commit(repo, WRONG, "perf: closed form (wrong)")
    common = {"repo": str(repo), "base_commit": base, "head_commit": head}
    se = {"name": "calc", "script": SETUP_EXPERIMENT}
    tasks: dict[str, dict[str, Any]] = {
        "good": {**common, "perf_tests": [se], "efficiency_test": [UNIT_MODULE]},
        "wrong": {**common, "perf_tests": [se]},
        "breaks": {**common, "perf_tests": [se], "efficiency_test": [UNIT_MODULE]},
        "humanwrong": {**common, "head_commit": wrong_head, "perf_tests": [se]},
        "gpu": {**common, "perf_tests": [{"name": "gpu", "script": NEEDS_A_GPU}]},
        "agentcode": {**common, "perf_tests": [se]},
        "unitonly": {**common, "efficiency_test": [UNIT_MODULE]},
        "nofigure": {**common, "perf_tests": [{"name": "bare", "script": NO_FIGURE}]},
    }
    lines = [json.dumps({"instance_id": f"calc-{name}", **record}) for name, record in tasks.items()]
    (root / "data.jsonl").write_text("\n".join(lines) + "\n")
    image = f"image: {IMAGE}\n" if backend == "docker" else ""
    (root / "calc.yaml").write_text(
        "name: calc\ndataset: data.jsonl\n" + image + "perf: {min_time_s: 0.005, timeout_s: 60}\n"
        "timing: {warmup: 0, min_rounds: 4, max_time_s: 6, target_ci: 0.5}\n"
    )
    patches = {
        "good": FAST,
        "wrong": WRONG,
        "breaks": BREAKS_ZERO,
        "humanwrong": FAST,
        "gpu": FAST,
        "agentcode": NOT_TRIGGERED,
    }
    preds = [
        {"instance_id": f"calc-{name}", "model_patch": _diff(SLOW, text), "model_name_or_path": "t"}
        for name, text in patches.items()
    ]
    (root / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    return repo, tasks


@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_each_shape_gets_what_its_authors_meant(pytester: pytest.Pytester, backend: str) -> None:
    _project(pytester.path, backend)
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "calc.yaml",
        "-p",
        "no:cacheprovider",
        "-rA",
        f"--isobench-backend={backend}",
        "--isobench-agent=predictions",
        f"--isobench-predictions={pytester.path / 'preds.jsonl'}",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        # Whatever the timing says (an A/A of sub-millisecond values on a shared machine; the
        # verdict's error rates are bench_calibration's and bench_aa_docker's business), the
        # good agent passes: what this test pins is the checks around the timing.
        "--isobench-pass=similar,inconclusive,beats,worse",
        timeout=600,
    )
    records = {
        r["instance_id"].removeprefix("calc-"): r
        for r in (json.loads(p.read_text()) for p in (results / "tasks").glob("*.json"))
    }
    out = result.stdout.str()
    # The agent whose output is wrong (and fast) fails with the check's own message, before timing.
    wrong = records["wrong"]
    assert wrong["status"] == "failed" and wrong["perf_tests"] == []
    assert "output differs: total 99995000 != reference 199990000" in wrong["verdict"]["message"]
    assert wrong["checks"]["equivalence"]["calc"]["variants"]["human"] == {"status": "same"}
    # A human failing its own check is a problem of the task: an error, not the agent's failure.
    human = records["humanwrong"]
    assert human["status"] == "error" and "human commit fails perf test 'calc'" in human["reason"]
    assert "!= reference" in human["reason"] and human["verdict"] is None
    # An error code on the baseline: the task does not apply here.
    gpu = records["gpu"]
    assert gpu["status"] == "skipped" and "CAPABILITY_UNSUPPORTED on the baseline" in gpu["reason"]
    # ... on the agent alone, it is the agent's failure.
    code = records["agentcode"]
    assert code["status"] == "failed" and code["agent_failure"] is None
    assert code["verdict"]["message"] == "agent failed: perf test 'calc' reports OPT_PATH_NOT_TRIGGERED with the patch"
    # Only unit tests: no perf test, and the reason says why.
    assert records["unitonly"]["status"] == "skipped"
    assert "the dataset's efficiency tests are unit tests" in records["unitonly"]["reason"]
    # No figure: not judged on process time.
    assert records["nofigure"]["status"] == "skipped"
    assert "'bare' reports no figure" in records["nofigure"]["reason"]
    # A patch that keeps the perf test's result but breaks a unit test that passes on the human.
    breaks = records["breaks"]
    assert breaks["status"] == "failed" and breaks["perf_tests"] == []
    assert (
        breaks["verdict"]["message"]
        == "unit tests broke: efficiency_test0: _isobench_unit_efficiency_test0.py::test_zero"
    )
    # The good agent: gates ran in every variant (the test failing everywhere reported, not
    # held against it), equivalence held, and the test was timed by the driver in lockstep.
    good = records["good"]
    gate = good["checks"]["unit_tests"]["efficiency_test0"]
    assert set(gate["variants"]) == {"baseline", "human", "agent"}
    assert gate["broken_by_agent"] == []
    assert gate["failing_on_all"] == ["_isobench_unit_efficiency_test0.py::test_wrong_on_every_commit"]
    assert gate["variants"]["agent"]["passed"] == [
        "_isobench_unit_efficiency_test0.py::test_small",
        "_isobench_unit_efficiency_test0.py::test_zero",
    ]
    statuses = {v: c["status"] for v, c in good["checks"]["equivalence"]["calc"]["variants"].items()}
    assert statuses == {"baseline": "stored", "human": "same", "agent": "same"}
    (timed,) = good["perf_tests"]
    assert timed["name"] == "calc" and timed["shape"] == "setup-experiment" and timed["lockstep"] is True
    assert all(timed["variants"][v]["passes"] for v in ("baseline", "human", "agent"))
    assert good["status"] == "passed", out


def test_collect_only_and_the_record_show_the_real_records_shapes(pytester: pytest.Pytester) -> None:
    """The two real ISO-Bench records: ``--collect-only`` names each test's shape, and the
    record of each task (here an error: the fork's repository cannot be reached from this
    machine) carries them too."""
    result = pytester.runpytest_subprocess(
        f"--isobench-dataset={SAMPLE}", "--collect-only", "-q", "-p", "no:cacheprovider"
    )
    result.stdout.fnmatch_lines(
        [
            "isobench: perf tests by shape: setup-experiment 1; unit-test gates: 1",
            "  dataset-8d75fe48: efficiency0 setup-experiment",
            "  dataset-0f40557a: efficiency_test0 unit-tests (gate)",
        ]
    )
    results = pytester.path / "results"
    pytester.runpytest_subprocess(
        f"--isobench-dataset={SAMPLE}",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=local",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        timeout=300,
    )
    shapes = {
        r["instance_id"]: r["test_shapes"]
        for r in (json.loads(p.read_text()) for p in (results / "tasks").glob("*.json"))
    }
    assert shapes == {
        "OmniPerf-Bench__vllm-8d75fe4": {"efficiency0": "setup-experiment"},
        "coding-mess__vllm-PR-498": {"efficiency_test0": "unit-tests"},
    }


def test_a_generated_setup_experiment_test_is_validated_by_its_own_check(
    calc_repo: tuple[Path, str], tmp_path: Path
) -> None:
    """Prompt v2 asks for this shape: validation stores the baseline's result and needs the
    human's equal to it by the test's own check, then the human faster."""

    def spec_of(variant: str) -> SandboxSpec:
        return SandboxSpec(
            task_id="shapes-gen",
            variant=variant,  # type: ignore[arg-type]
            repo_dir=calc_repo[0],
            commit=calc_repo[1],
            run_id=RUN_ID,
        )

    with variant_boxes("local", spec_of, tmp_path / "worktrees", ("baseline", "human")) as boxes:
        test = PerfTest(name="gen", script=SETUP_EXPERIMENT)
        boxes["human"].write_file("calc.py", FAST)
        ok = validate_in_sandboxes(boxes["baseline"], boxes["human"], test, "python3", 60, runs=2)
        assert ok.ok, ok.reason
        assert ok.speedup is not None and ok.speedup > 2
        boxes["human"].write_file("calc.py", WRONG)
        bad = validate_in_sandboxes(boxes["baseline"], boxes["human"], test, "python3", 60, runs=2)
        assert not bad.ok
        assert bad.reason == (
            "check_equivalence fails on the human commit (differs): total 99995000 != reference 199990000"
        )


def test_an_experiment_without_data_is_called_without(boxes: dict[str, Sandbox]) -> None:
    """Some of GSO's tests keep the data in a global that setup() fills."""
    script = (
        "import json\nDATA = None\ndef setup():\n    global DATA\n    DATA = list(range(1000))\n"
        "def experiment():\n    return sum(DATA)\n"
    )
    test = PerfTest(name="globals", script=script)
    box = boxes["baseline"]
    perftest.prepare(box, test)
    measured = perftest.run_once(box, test, "python3", 60, min_time_s=0.01, process_time=False)
    assert measured.error is None and measured.value is not None and measured.loops is not None


def _run_input(tmp_path: Path, process_time: bool, tests: list[PerfTest]) -> TaskInput:
    suite = Suite.model_validate({"name": "s", "dataset": "d.jsonl", "perf": {"process_time": process_time}})
    task = Task(instance_id="t", head_commit="abc", perf_tests=tests)
    settings = Settings(run_id="r", rootdir=tmp_path, cache_dir=tmp_path)
    return TaskInput(item_id="s-abc", nodeid="s.yaml::s-abc", task=task, suite=suite, settings=settings)


def test_a_script_without_a_figure_is_judged_only_where_the_suite_opts_in(tmp_path: Path) -> None:
    bare, good = PerfTest(name="bare", script=NO_FIGURE), PerfTest(name="calc", script=SETUP_EXPERIMENT)
    with pytest.raises(TaskSkipped, match=r"perf test 'bare' reports no figure .*perf.process_time: true to opt in"):
        timed_tests(_run_input(tmp_path, False, [bare]))
    tests, notes = timed_tests(_run_input(tmp_path, False, [bare, good]))
    assert tests == [good] and "not judged" in notes["bare"]  # the rest of the task still runs
    tests, notes = timed_tests(_run_input(tmp_path, True, [bare]))
    assert tests == [bare] and "judged on its process's wall time" in notes["bare"]  # the record warns
