"""Tampering: patches that touch the timing harness, runs that change the checkout, speedups to review.

The path checks and the checkout state are tested directly (the state on a real local
worktree); two end-to-end runs of the demo through ``--isobench-agent=predictions`` show
what a user sees: a patch that edits the perf test fails as ``tampering`` with the path,
and a patch whose code leaves a cache file in the checkout on every run fails the agent's
variant ("the run changed the checkout").
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from demo_project import copy_demo, demo_args, read_records, run_demo
from gitutil import git

from pytest_isobench.agents import tampering
from pytest_isobench.dataset.models import PerfTest
from pytest_isobench.measure.protocol import Measurement
from pytest_isobench.report.tables import task_row
from pytest_isobench.report.terminal import summary_lines
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import ExecResult, SandboxSpec

TASK = "866ff223"  # demo-unique-seen-set
QUICK = ("--isobench-max-time=4", "--isobench-min-rounds=3")


def new_file(path: str, text: str = "x = 1\n") -> str:
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


SCRIPT_TEST = PerfTest(name="unique-seen-set", script="data = open('bench/words.txt').read()\nprint('{}')\n")
COMMAND_TEST = PerfTest(name="serve", command="python3 benchmarks/bench_x.py --input=./data/in.json -n 3")


def test_patches_touching_the_harness_are_named_with_why() -> None:
    tests = [SCRIPT_TEST, COMMAND_TEST]
    assert tampering.tampered_paths(new_file("textkit/fast.py"), tests) == []
    assert tampering.tampered_paths("", tests) == []
    cases = {
        "_isobench_perf_unique_seen_set.py": "a harness file of pytest-isobench",
        "sub/_isobench_report.json": "a harness file of pytest-isobench",
        "bench/words.txt": "named by perf test 'unique-seen-set'",
        "benchmarks/bench_x.py": "named by perf test 'serve'",
        "data/in.json": "named by perf test 'serve'",
        "sitecustomize.py": "run at interpreter start-up: it can patch the timer",
        "lib/zz_timer.pth": "run at interpreter start-up: it can patch the timer",
    }
    for path, why in cases.items():
        found = tampering.tampered_paths(new_file("ok.py") + new_file(path), tests)
        assert found == [f"{path} ({why})"], (path, found)


def test_review_only_far_above_the_human() -> None:
    assert tampering.review_reason(12.0, 1.5) is None  # 8x the human: fine
    reason = tampering.review_reason(40.0, 1.5)
    assert reason is not None and "above 10x the human's (1.50x)" in reason
    assert tampering.review_reason(40.0, 1.5, factor=50) is None
    assert tampering.review_reason(None, 1.5) is None and tampering.review_reason(3.0, None) is None


def test_checkout_state_sees_new_rewritten_and_removed_files_not_bytecode(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "m.py").write_text("x = 1\n")
    (repo / ".gitignore").write_text("cache/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    spec = SandboxSpec(task_id="state", variant="agent", repo_dir=repo, commit=git(repo, "rev-parse", "HEAD").strip())
    sandbox = LocalSandbox(spec, tmp_path / "worktrees")
    sandbox.start()
    try:
        sandbox.write_file("_isobench_perf_x.py", "print(1)\n")
        sandbox.write_file("m.py", "x = 2\n")  # the agent's patch: changed, but before the runs
        before = tampering.checkout_state(sandbox)
        assert set(before) == {"_isobench_perf_x.py", "m.py"}
        assert tampering.changed_paths(before, tampering.checkout_state(sandbox)) == []
        sandbox.write_file("__pycache__/m.cpython-311.pyc", "bytecode")
        sandbox.write_file("cache/results.json", "{}")  # ignored by git, still state
        assert tampering.changed_paths(before, tampering.checkout_state(sandbox)) == ["cache/results.json"]
        sandbox.exec("rm cache/results.json && sleep 0.01 && printf 'x = 3\\n' > m.py", 30)
        assert tampering.changed_paths(before, tampering.checkout_state(sandbox)) == ["m.py"]
    finally:
        sandbox.close()


def test_a_state_that_cannot_be_read_whole_is_an_infrastructure_error(tmp_path: Path) -> None:
    """git failing (here: not a repository any more) or an output cut short is no state:
    read as empty, it would make the perf test look new after the next run and blame the
    variant. Raised after a retry; a cut read followed by a whole one is the whole one."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "m.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    spec = SandboxSpec(task_id="state", variant="human", repo_dir=repo, commit=git(repo, "rev-parse", "HEAD").strip())
    sandbox = LocalSandbox(spec, tmp_path / "worktrees")
    sandbox.start()
    try:
        sandbox.write_file("_isobench_perf_x.py", "print(1)\n")
        real_exec = sandbox.exec
        calls: list[str] = []

        def cut_once(command: str, timeout_s: float) -> ExecResult:
            result = real_exec(command, timeout_s)
            calls.append(command)
            if len(calls) == 1:  # the first read loses its tail, as a killed pipeline would
                return dataclasses.replace(result, stdout="")
            return result

        sandbox.exec = cut_once  # type: ignore[method-assign]
        assert set(tampering.checkout_state(sandbox)) == {"_isobench_perf_x.py"}
        assert len(calls) == 2
        sandbox.exec = real_exec  # type: ignore[method-assign]
        sandbox.exec("rm -rf .git", 30)  # git status now fails: not masked
        with pytest.raises(RuntimeError, match="could not read the state of the checkout"):
            tampering.checkout_state(sandbox)
    finally:
        sandbox.close()


def test_guard_fails_a_variant_whose_checkout_changes_after_its_first_run(tmp_path: Path) -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "m.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    sha = git(repo, "rev-parse", "HEAD").strip()
    boxes = {
        name: LocalSandbox(SandboxSpec(task_id="guard", variant=name, repo_dir=repo, commit=sha), tmp_path / "wt")  # type: ignore[arg-type]
        for name in ("baseline", "agent")
    }
    for box in boxes.values():
        box.start()
    try:
        guard = tampering.CheckoutGuard(boxes)
        ok = Measurement(value=1.0, wall_s=1.0)
        assert guard.after_run("baseline", ok) == ok and guard.after_run("agent", ok) == ok
        boxes["agent"].write_file("cache.json", "{}")  # written by a later run: found at the end
        assert guard.after_run("agent", ok) == ok  # only the first run is checked on the way
        result = cast("Any", SimpleNamespace(failures={}))
        guard.finish(result)
        assert list(result.failures) == ["agent"] and "cache.json" in result.failures["agent"]
    finally:
        for box in boxes.values():
            box.close()


def _predictions(path: Path, patch: str) -> Path:
    path.write_text(json.dumps({"instance_id": "demo-unique-seen-set", "model_patch": patch}) + "\n")
    return path


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        (new_file("benchmarks/bench_unique.py", "print('{\"time_s\": 1e-09}')"), "benchmarks/bench_unique.py"),
        (new_file("sitecustomize.py", "import time; time.perf_counter = lambda: 0.0"), "sitecustomize.py"),
    ],
    ids=["edits-the-perf-test", "patches-the-timer"],
)
def test_a_patch_editing_the_perf_test_fails_as_tampering(
    patch: str, path: str, pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    # The task's perf test is a command running a file of the repository, which the patch edits.
    copy_demo(pytester.path)
    data = pytester.path / "data" / "demo.jsonl"
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    for row in rows:
        if row["instance_id"] == "demo-unique-seen-set":
            row["perf_tests"] = [{"name": "bench", "command": "python3 benchmarks/bench_unique.py --words 4000"}]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    predictions = _predictions(tmp_path / "predictions.jsonl", new_file("textkit/fast.py") + patch)
    results = tmp_path / "results"
    result = pytester.runpytest_subprocess(
        *demo_args(
            demo_cache,
            results,
            "--isobench-backend=local",
            "--isobench-agent=predictions",
            f"--isobench-predictions={predictions}",
            "-k",
            TASK,
            *QUICK,
        ),
        timeout=300,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*agent failed (tampering)*{path}*"])
    record = read_records(results)[f"demo-{TASK}"]
    assert record["agent_failure"] == "tampering"
    assert record["verdict"]["category"] == "tampering"
    assert not record["perf_tests"]  # never measured


CACHE_EDIT = (
    "diff --git a/textkit/dedup.py b/textkit/dedup.py\n"
    "--- a/textkit/dedup.py\n"
    "+++ b/textkit/dedup.py\n"
    "@@ -1,3 +1,5 @@\n"
    ' """Remove repeated items, keeping the first occurrence of each."""\n'
    " \n"
    " from __future__ import annotations\n"
    "+import pathlib as _p\n"
    "+_p.Path('results.cache').write_text(str(_p.Path('results.cache').exists()))\n"
)


def test_a_run_that_changes_the_checkout_fails_the_variant(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path
) -> None:
    predictions = _predictions(tmp_path / "predictions.jsonl", CACHE_EDIT)
    results = tmp_path / "results"
    result = run_demo(
        pytester,
        demo_cache,
        results,
        "--isobench-backend=local",
        "--isobench-agent=predictions",
        f"--isobench-predictions={predictions}",
        "-k",
        TASK,
        *QUICK,
    )
    result.assert_outcomes(failed=1)
    record = read_records(results)[f"demo-{TASK}"]
    agent = record["perf_tests"][0]["variants"]["agent"]
    assert "the run changed the checkout" in agent["error"] and "results.cache" in agent["error"], agent
    assert record["perf_tests"][0]["variants"]["baseline"]["error"] is None
    assert record["perf_tests"][0]["variants"]["human"]["error"] is None


def test_review_shows_in_the_terminal_table_and_the_report_rows() -> None:

    reason = tampering.review_reason(40.0, 1.5)
    record = {"item_id": "demo-1", "status": "passed", "verdict": {"category": "beats", "message": "beats"}}
    lines, totals = summary_lines([{**record, "review": reason}])
    assert "beats (review)" in lines[2] and totals == {"beats": 1}
    assert task_row({**record, "review": reason}).message.startswith(f"REVIEW: {reason}")
    assert "(review)" not in summary_lines([record])[0][2]
