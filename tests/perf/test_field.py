"""One harness for the field: SWE-fficiency, SWE-Perf and FormulaCode rows run unchanged.

Rows written here in each benchmark's published schema are mapped onto our task (base +
patch as the human, their perf tests in their shapes, their gates, their image names);
each shape's driver runs in a real checkout; each benchmark's rule is checked against a
hand computation following its code; and one task of each shape runs end to end through
pytest on a repository made here, on the local backend and in Docker.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from gitutil import one_commit_repo
from report_records import make_record, write_dir

from pytest_isobench.agents.agent import AgentContext
from pytest_isobench.agents.builtin import HumanAgent
from pytest_isobench.cli import main
from pytest_isobench.dataset.shapes import RecordError, task_from_record
from pytest_isobench.measure import field_rules
from pytest_isobench.measure.gso import gso_opt
from pytest_isobench.perf import asvsuite
from pytest_isobench.report import validity
from pytest_isobench.results.merge import merge_dirs

IMAGE = "isobench-demo:bookworm"

SLOW = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
FAST = "def total(n):\n    return n * (n - 1) // 2\n"
WRONG = "def total(n):\n    return n * (n - 1) // 2 if n else 1\n"  # breaks test_zero

WORKLOAD = """
import timeit
import statistics
from calc import total

data = None

def setup():
    global data
    data = 30000

def workload():
    total(data)

runtimes = timeit.repeat(workload, number=1, repeat=5, setup=setup)
print("Mean:", statistics.mean(runtimes))
print("Std Dev:", statistics.stdev(runtimes))
"""

UNIT_TESTS = """
from calc import total

def test_small():
    assert total(4) == 6

def test_zero():
    assert total(0) == 0

def test_big():
    assert total(30000) == 449985000
"""

ASV_CONF = '{\n  // asv allows comments\n  "version": 1,\n  "benchmark_dir": "benchmarks"\n}\n'
ASV_SUITE = """
from calc import total

class TimeTotal:
    params = [10000, 20000]
    param_names = ["n"]

    def setup(self, n):
        self.n = n

    def time_total(self, n):
        total(self.n)

def time_plain():
    total(5000)
"""

DIFF = "".join(
    difflib.unified_diff(SLOW.splitlines(keepends=True), FAST.splitlines(keepends=True), "a/calc.py", "b/calc.py")
)


def _rows(repo: str, base: str) -> dict[str, dict[str, Any]]:
    """One row per benchmark, in each one's published schema."""
    p2p = json.dumps(["tests/test_calc.py::test_small", "tests/test_calc.py::test_zero"])
    return {
        "swefficiency": {
            "instance_id": "calc__calc-1",
            "repo": repo,
            "base_commit": base,
            "patch": DIFF,
            "test_patch": "",
            "workload": WORKLOAD,
            "PASS_TO_PASS": p2p,
            "FAIL_TO_PASS": "[]",
            "covering_tests": ["tests/test_calc.py"],
            "version": "0.1",
            "problem_statement": "total() is slow",
        },
        "sweperf": {
            "instance_id": "calc__calc-2",
            "repo": repo,
            "base_commit": base,
            "patch": DIFF,
            "test_patch": "",
            "efficiency_test": ["tests/test_calc.py::test_big"],
            "duration_changes": json.dumps([{"tests/test_calc.py::test_big": {"base": 0.004, "head": 0.001}}] * 3),
            "human_performance": 0.003,
            "PASS_TO_PASS": p2p,
            "FAIL_TO_PASS": "[]",
            "version": "0.1",
        },
        "formulacode": {
            "task_id": "calc_calc_3",
            "repo_name": repo,
            "container_name": "calc-calc-3:final",
            "image_name": "formulacode/calc-calc-3:final",
            "patch": DIFF,
            "final_md": "# Speed up total\n...",
            "pr_base_sha": base,
            "pr_merge_commit_sha": "0" * 40,
        },
    }


# -- rows ------------------------------------------------------------------------------------


def test_each_schema_maps_onto_a_task() -> None:
    rows = _rows("/repo", "b" * 40)
    swe = task_from_record(rows["swefficiency"], "s:1")
    assert swe.shape == "swefficiency" and swe.base_commit == "b" * 40 and swe.human_patch == DIFF
    assert [(t.name, t.kind) for t in swe.perf_tests] == [("workload", "workload")]
    assert [(u.name, u.node_ids) for u in swe.unit_tests] == [
        ("PASS_TO_PASS", ["tests/test_calc.py::test_small", "tests/test_calc.py::test_zero"])
    ]
    assert swe.image == "sweb.eval.x86_64.calc__calc-1:latest"
    assert task_from_record({**rows["swefficiency"], "image_name": "x/y:z"}, "s:1").image == "x/y:z"

    perf = task_from_record(rows["sweperf"], "p:1")
    assert perf.shape == "sweperf" and perf.human_patch == DIFF
    assert [(t.kind, t.target) for t in perf.perf_tests] == [("pytest-node", "tests/test_calc.py::test_big")]
    assert perf.human is not None and perf.human.base == [0.004] * 3 and perf.human.speedup is None
    assert perf.extra["human_performance"] == 0.003  # a fraction of time saved, never read as a speedup
    assert perf.extra["duration_changes"][0]["tests/test_calc.py::test_big"] == {"base": 0.004, "head": 0.001}

    assert [(t.kind, t.target) for t in task_from_record(rows["formulacode"], "f:1").perf_tests] == [("asv", "*")]
    named = ["bench_calc.TimeTotal.time_total(20000)", "bench_calc.time_plain"]
    fc = task_from_record({**rows["formulacode"], "benchmarks": named}, "f:1")
    assert (fc.instance_id, fc.repo, fc.image) == ("calc_calc_3", "/repo", "formulacode/calc-calc-3:final")
    assert [(t.kind, t.target) for t in fc.perf_tests] == [
        ("asv", "bench_calc.TimeTotal.time_total(20000)"),
        ("asv", "bench_calc.time_plain"),
    ]
    assert fc.subject == "Speed up total"
    github = task_from_record({**rows["formulacode"], "repo_name": "pandas-dev/pandas"}, "f:1")
    assert github.repo == "https://github.com/pandas-dev/pandas"

    gso = task_from_record(
        {"instance_id": "Numpy__numpy-1", "repo": "numpy/numpy", "base_commit": "a", "opt_commit": "b", "tests": []},
        "g:1",
    )
    assert gso.image == "slimshetty/gso:gso.eval.x86_64.numpy__numpy-1"


def test_the_human_agent_replays_a_human_patch(tmp_path: Path) -> None:
    """`--isobench-agent=human` (the A/A check) on a task whose human is base + patch: the patch itself."""
    task = task_from_record(_rows(str(tmp_path), "b" * 40)["swefficiency"], "s:1")
    context = AgentContext(task, tmp_path, "b" * 40, "b" * 40, None, 60.0, "")
    assert HumanAgent().run(context).patch == DIFF


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        ("swefficiency", "patch"),
        ("swefficiency", "base_commit"),
        ("sweperf", "patch"),
        ("formulacode", "patch"),
        ("formulacode", "repo_name"),
    ],
)
def test_a_missing_field_is_named(shape: str, field: str) -> None:
    row = dict(_rows("/repo", "b" * 40)[shape])
    row[field] = ""
    with pytest.raises(RecordError, match=f"row:7: missing required field '{field}'"):
        task_from_record(row, "row:7")


def test_sweperf_duration_changes_must_be_json() -> None:
    row = {**_rows("/repo", "b" * 40)["sweperf"], "duration_changes": "[{not json"}
    with pytest.raises(RecordError, match="field 'duration_changes': not JSON"):
        task_from_record(row, "row:3")


def test_the_asv_suite_is_read_from_its_text() -> None:
    assert asvsuite.benchmark_dir(ASV_CONF) == "benchmarks"
    assert asvsuite.benchmark_dir('{"benchmark_dir": "asv_bench/benchmarks/"}') == "asv_bench/benchmarks"
    assert asvsuite.benchmark_dir(None) == "benchmarks"
    files = {
        "benchmarks/__init__.py": "",
        "benchmarks/bench_calc.py": ASV_SUITE,
        "benchmarks/io/csv.py": "class ReadCSV:\n    def setup(self): pass\n    def time_read(self): pass\n"
        "    def peakmem_read(self): pass\n",
        "benchmarks/broken.py": "def time_x(:\n",
    }
    names = asvsuite.discover(files, "benchmarks")
    assert names == ["bench_calc.TimeTotal.time_total", "bench_calc.time_plain", "io.csv.ReadCSV.time_read"]
    patch = "--- a/pkg/io/parsers/readers.py\n+++ b/pkg/io/csv.py\n"
    assert asvsuite.ranked(names, patch)[0] == "io.csv.ReadCSV.time_read"


# -- rules, by hand --------------------------------------------------------------------------


def test_swefficiency_speedup_ratio_by_hand() -> None:
    """get_report.py: pred = before/after, gold = before/gold_after, ratio = pred/gold; 1.0 when broken."""
    values = {"w": {"baseline": [2.0, 2.0], "human": [1.0, 1.0], "agent": [0.5, 0.5]}}
    assert field_rules.swefficiency(values) == {
        "gold_speedup": 2.0,
        "correctness": 1.0,
        "raw_pred_speedup": 4.0,
        "pred_speedup": 4.0,
        "speedup_ratio": 2.0,
    }
    broken = field_rules.swefficiency(values, correct=False)
    assert (broken["pred_speedup"], broken["speedup_ratio"], broken["correctness"]) == (1.0, 0.5, 0.0)


def test_formulacode_advantage_by_hand() -> None:
    """Per benchmark nop/agent and nop/oracle medians; advantage = gmean(agent) - gmean(oracle)."""
    values = {
        "a": {"baseline": [4.0, 4.0, 5.0], "human": [2.0, 2.0, 9.0], "agent": [1.0, 1.0, 1.0]},  # oracle 2, agent 4
        "b": {"baseline": [9.0], "human": [3.0], "agent": [9.0]},  # oracle 3, agent 1
    }
    found = field_rules.formulacode(values)
    assert found["oracle_speedup"] == pytest.approx(math.sqrt(6))
    assert found["agent_speedup"] == pytest.approx(2.0)
    assert found["advantage"] == pytest.approx(2.0 - math.sqrt(6))
    failed = field_rules.formulacode(values, failed=True)
    assert failed["advantage"] == pytest.approx(1.0 - math.sqrt(6))
    # An agent whose every timed run failed has no values: no agent figure, and no crash of
    # the task's record (seen when the checkout guard failed the agent's variant).
    gone = {t: {**v, "agent": []} for t, v in values.items()}
    assert field_rules.formulacode(gone) == {"oracle_speedup": pytest.approx(math.sqrt(6))}
    assert "agent" not in field_rules.field_rules(gone)["sweperf"]


def test_sweperf_improvement_by_hand() -> None:
    """IQR filter (one IQR beyond the quartiles), then the largest x with base*(1-x) still
    significantly above head: base 2.0 and head 1.0 everywhere are apart while 2(1-x) > 1,
    so the last x tried below 0.5 (steps of 0.001) is the answer."""
    assert field_rules.filter_outliers([1.0, 2.0, 3.0, 4.0, 100.0]) == [1.0, 2.0, 3.0, 4.0]
    values = {"t": {"baseline": [2.0] * 10, "human": [1.0] * 10, "agent": [2.0] * 10}}
    assert field_rules.sweperf(values, "human") == pytest.approx(0.499, abs=1e-9)
    assert field_rules.sweperf(values, "agent") == 0.0  # no faster than the base: not significant at x = 0
    assert field_rules.sweperf(values, "human", failed=True) == 0.0


def test_all_rules_beside_each_other() -> None:
    values = {"t": {"baseline": [2.0] * 8, "human": [1.0] * 8, "agent": [0.8] * 8}}
    found = field_rules.field_rules(values)
    assert set(found) == {"swefficiency", "formulacode", "sweperf", "gso"}
    assert found["gso"] == gso_opt([[2.0] * 8], [[0.8] * 8], [[1.0] * 8]).as_dict()
    assert found["gso"]["opt_commit"] is True
    assert found["swefficiency"]["speedup_ratio"] == pytest.approx(1.25)
    assert found["sweperf"]["agent"] > found["sweperf"]["human"] > 0.49
    without_agent = field_rules.field_rules({"t": {k: v for k, v in values["t"].items() if k != "agent"}})
    assert set(without_agent) == {"swefficiency", "formulacode", "sweperf"}
    assert without_agent["formulacode"] == {"oracle_speedup": 2.0}


# -- end to end ------------------------------------------------------------------------------


def _project(root: Path, backend: str) -> dict[str, dict[str, Any]]:
    """A repository (slow base, its tests, an asv suite), one row per benchmark, a suite,
    and predictions: the fast patch for two tasks, a patch that breaks a gate for the third."""
    for folder in ("tests", "benchmarks"):
        (root / "repo" / folder).mkdir(parents=True)
    repo, base = one_commit_repo(
        root / "repo",
        {
            "calc.py": SLOW,
            "tests/__init__.py": "",
            "tests/test_calc.py": UNIT_TESTS,
            "asv.conf.json": ASV_CONF,
            "benchmarks/__init__.py": "",
            "benchmarks/bench_calc.py": ASV_SUITE,
        },
    )
    rows = _rows(str(repo), base)
    for name, row in rows.items():
        (root / f"{name}.jsonl").write_text(json.dumps(row) + "\n")
        image = f"image: {IMAGE}\n" if backend == "docker" else ""
        (root / f"{name}.yaml").write_text(
            f"name: {name}\ndataset: {name}.jsonl\n" + image + "perf: {min_time_s: 0.005, timeout_s: 120}\n"
            "timing: {warmup: 0, min_rounds: 4, max_time_s: 8, target_ci: 0.5}\n"
        )
    broken = "".join(difflib.unified_diff(SLOW.splitlines(True), WRONG.splitlines(True), "a/calc.py", "b/calc.py"))
    preds = [
        {"instance_id": "calc__calc-1", "model_patch": DIFF},
        {"instance_id": "calc__calc-2", "model_patch": broken},
        {"instance_id": "calc_calc_3", "model_patch": DIFF},
    ]
    (root / "preds.jsonl").write_text("".join(json.dumps({**p, "model_name_or_path": "t"}) + "\n" for p in preds))
    return rows


@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_task_of_each_benchmark_runs_end_to_end(pytester: pytest.Pytester, backend: str) -> None:
    _project(pytester.path, backend)
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "swefficiency.yaml",
        "sweperf.yaml",
        "formulacode.yaml",
        "-p",
        "no:cacheprovider",
        "-rA",
        f"--isobench-backend={backend}",
        "--isobench-agent=predictions",
        f"--isobench-predictions={pytester.path / 'preds.jsonl'}",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        "--isobench-pass=similar,inconclusive,beats",
        timeout=900,
    )
    out = result.stdout.str()
    records = {r["instance_id"]: r for r in (json.loads(p.read_text()) for p in (results / "tasks").glob("*.json"))}
    assert set(records) == {"calc__calc-1", "calc__calc-2", "calc_calc_3"}, out

    # SWE-fficiency: human = base + patch, the workload's statement timed in lockstep,
    # PASS_TO_PASS gates in every variant, their rule beside ours.
    swe = records["calc__calc-1"]
    assert swe["status"] == "passed", out
    assert swe["human_patch"] == DIFF
    (workload,) = swe["perf_tests"]
    assert workload["shape"] == "workload" and workload["lockstep"] is True
    gate = swe["checks"]["unit_tests"]["PASS_TO_PASS"]
    assert set(gate["variants"]) == {"baseline", "human", "agent"} and gate["broken_by_agent"] == []
    beside = swe["verdict"]["field_rules"]
    assert beside["swefficiency"]["gold_speedup"] > 2 and beside["swefficiency"]["correctness"] == 1.0
    assert set(beside) == {"swefficiency", "formulacode", "sweperf", "gso"}

    # SWE-Perf: the node id's call duration, one value per process; a patch that breaks a
    # PASS_TO_PASS test fails before any timing.
    perf = records["calc__calc-2"]
    assert perf["status"] == "failed" and perf["perf_tests"] == []
    assert "tests/test_calc.py::test_zero" in perf["verdict"]["message"]
    assert perf["verdict"]["field_rules"]["swefficiency"] == {"pred_speedup": 1.0, "correctness": 0.0}
    assert perf["verdict"]["field_rules"]["sweperf"] == {"agent": 0.0}

    # FormulaCode: the row names no benchmark: the repository's asv suite is read at the
    # base (a parametrized method, every combination, and a plain function).
    fc = records["calc_calc_3"]
    assert fc["status"] == "passed", out
    shapes = {t["name"]: t["shape"] for t in fc["perf_tests"]}
    assert shapes == {"asv:bench_calc.TimeTotal.time_total": "asv", "asv:bench_calc.time_plain": "asv"}
    assert all(t["lockstep"] for t in fc["perf_tests"])
    assert fc["verdict"]["field_rules"]["formulacode"]["oracle_speedup"] > 2


@pytest.mark.parametrize("backend", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_a_sweperf_node_is_timed_by_its_call_duration(pytester: pytest.Pytester, backend: str) -> None:
    """The SWE-Perf task with the fast patch: timed (no lockstep: one pytest run per value)."""
    rows = _project(pytester.path, backend)
    preds = [{"instance_id": "calc__calc-2", "model_patch": DIFF, "model_name_or_path": "t"}]
    (pytester.path / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "sweperf.yaml",
        "-p",
        "no:cacheprovider",
        f"--isobench-backend={backend}",
        "--isobench-agent=predictions",
        f"--isobench-predictions={pytester.path / 'preds.jsonl'}",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        "--isobench-pass=similar,inconclusive,beats",
        timeout=600,
    )
    (path,) = (results / "tasks").glob("*.json")
    record = json.loads(path.read_text())
    assert record["instance_id"] == rows["sweperf"]["instance_id"]
    (timed,) = record["perf_tests"]
    assert timed["shape"] == "pytest-node", result.stdout.str()
    assert timed["lockstep"] is False
    assert record["verdict"]["field_rules"]["sweperf"]["human"] > 0.5, result.stdout.str()


# -- validity here -----------------------------------------------------------------------------


def test_report_lists_tasks_not_valid_here_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run without an agent established that one task's human speedup does not hold here:
    `isobench report` names it apart and leaves its agent record out of the success rate,
    unless asked; a minimum human speedup (GSO's 1.2) rules out one more."""
    records = [
        make_record("aaaa1111", category="similar", human=1.5, agent_x=1.5),
        make_record("bbbb2222", category="worse", human=1.02, agent_x=1.0),
        make_record("cccc3333", category="similar", human=1.1, agent_x=1.1),
    ]
    write_dir(tmp_path / "r", records)
    write_dir(tmp_path / "h", [make_record("bbbb2222", agent=None, human=1.02, human_significant=False)])
    dirs = [str(tmp_path / "r"), str(tmp_path / "h")]
    typed = merge_dirs([tmp_path / "r", tmp_path / "h"]).records
    assert [i.instance_id for i in validity.invalid_tasks(typed)] == ["bbbb2222"]
    assert [i.instance_id for i in validity.invalid_tasks(typed, 1.2)] == ["bbbb2222", "cccc3333"]

    assert main(["report", *dirs, "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "not valid here: 1 task(s) whose human speedup does not hold on this machine, left out" in out
    assert "demo bbbb2222: human speedup 1.020x is not significant here (run without an agent)" in out
    agent_group = next(g for g in json.loads((tmp_path / "a.json").read_text())["groups"] if g["key"]["agent"])
    assert (agent_group["tasks"], agent_group["passed"]) == (2, 2)

    assert main(["report", *dirs, "--include-invalid", "--json", str(tmp_path / "b.json")]) == 0
    agent_group = next(g for g in json.loads((tmp_path / "b.json").read_text())["groups"] if g["key"]["agent"])
    assert (agent_group["tasks"], agent_group["passed"]) == (3, 2)
