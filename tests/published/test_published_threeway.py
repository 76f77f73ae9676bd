"""ISO-Bench's published results read as they are: the three-way result folders in each of
their shapes, ISO-Bench's two-way aggregation recomputed, and its headline figures set
beside the files.

The fixture writes small folders of the shapes found in ISO-Bench's
``archive/results/2026-01/*_results_3way_*`` (the real data stays out of this repository):
``results/modal/<commit>/benchmark_result.json``, flat ``<commit>_<variant>_result.json``
files (one of them not valid JSON, one claiming success without a metric), an export
table, SGLang's top-level ``benchmark_result.json``, an evaluation folder of
``run_summary.json`` files with its ``evaluation_report.json``, and READMEs with figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.cli import main
from pytest_isobench.published.aggregate import aggregate
from pytest_isobench.published.claims import find_claims
from pytest_isobench.published.rules import Cause, classify_failure, compare
from pytest_isobench.published.threeway import scan_threeway

C1, C2, C3, C4 = "aaaaaaaa" + "1" * 32, "bbbbbbbb" + "2" * 32, "cccccccc" + "3" * 32, "dddddddd" + "4" * 32


def _write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _modal(root: Path, commit: str, result: dict[str, Any]) -> None:
    _write(
        root / "results" / "modal" / commit[:8] / "benchmark_result.json",
        {"instance": {"commit_hash": commit}, "result": result},
    )


def _flat(root: Path, commit: str, side: str, **fields: Any) -> None:
    _write(
        root / "results" / f"{commit[:8]}_{side}_result.json",
        {"human_commit": commit[:8], "human_commit_full": commit, **fields},
    )


@pytest.fixture
def results(tmp_path: Path) -> Path:
    base = tmp_path / "archive" / "results" / "2026-01"
    claude = base / "omniperf_results_3way_claude_code"
    # matches: TPOT 10.0 human vs 10.3 agent (3% worse, inside +-5%)
    _modal(claude, C1, {
        "status": "success", "benchmark_mode": "serving",
        "baseline_metrics": {"tpot_mean": 12.0}, "human_metrics": {"tpot_mean": 10.0},
        "agent_metrics": {"tpot_mean": 10.3},
    })  # fmt: skip
    # the human measured, the agent's server crashed: ISO-Bench's "failed", the agent's doing
    _modal(claude, C2, {
        "status": "error", "baseline_metrics": {"tpot_mean": 5.0}, "human_metrics": {"tpot_mean": 4.0},
        "agent_metrics": None, "error": "Server crashed during startup",
    })  # fmt: skip
    # nothing measured: the baseline could not be installed (infrastructure)
    _modal(claude, C3, {
        "status": "error", "baseline_metrics": {}, "human_metrics": {}, "agent_metrics": None,
        "error": "Baseline install failed: No wheel available and no ancestor wheel found for c3",
    })  # fmt: skip
    _write(
        claude / "exports" / "full_results.jsonl",
        json.dumps({
            "commit_hash": C4, "status": "success", "agent_name": "claude-code", "agent_model": "claude-sonnet-4",
            "baseline_throughput": 100.0, "human_throughput": 150.0, "agent_throughput": 120.0,
        }) + "\n",
    )  # fmt: skip
    _write(
        claude / "README.md",
        "# Results\n\n| Metric | Value |\n|---|---|\n| Total commits | 3 |\n"
        "| Evaluable for Agent vs Human | 5 |\n| Agent matches or beats human | 50% |\n",
    )
    _write(claude / "logs" / "modal" / "x_progress.json", {"status": "success"})  # a log, not a result

    trae = base / "omniperf_results_3way_trae_gpt5"
    # beats on throughput (the flat baseline file has its metrics at the top level)
    _flat(trae, C1, "baseline", status="success", output_token_throughput_tok_s=900.0)
    _flat(trae, C1, "human", status="success", metrics={"output_token_throughput_tok_s": 1000.0})
    _flat(trae, C1, "agent", status="success", metrics={"output_token_throughput_tok_s": 1100.0})
    # the agent crashed its server, the human ran: failed
    _flat(trae, C2, "human", status="success", metrics={"output_token_throughput_tok_s": 1000.0})
    _flat(trae, C2, "agent", status="error", error="Server crashed after applying patch", metrics={})
    # "no metrics" that the output shows to be an image never pulled
    _flat(
        trae, C3, "agent", status="error", error="No metrics in agent output", metrics={},
        raw_output="docker: Error response from daemon: manifest for x:baseline-1 not found: manifest unknown",
    )  # fmt: skip
    # a model repository that does not exist
    _flat(
        trae, C4, "agent", status="error", error="Server crashed during startup", metrics={},
        raw_output="huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error. Repository Not Found",
    )  # fmt: skip
    # the human alone: no agent result file, which is no failure of the agent
    _flat(trae, "abababab" + "5" * 32, "human", status="success", metrics={"output_token_throughput_tok_s": 1.0})
    _write(trae / "results" / "eeeeeeee_agent_result.json", '{"status": "success"}\n}')  # not valid JSON
    _flat(trae, "ffffffff" + "6" * 32, "agent", status="success", metrics={})  # success without a metric
    _write(
        trae / "BENCHMARK_REPORT.md",
        "| Agent | Total Commits | Successful | Success Rate |\n|---|---|---|---|\n| **TRAE GPT-5** | 6 | 2 | 33% |\n",
    )

    sglang = base / "omniperf_results_3way_sglang"
    _write(sglang / "sglang" / "99999999" / "benchmark_result.json", {
        "status": "error", "commit": "99999999", "full_commit": "9" * 40, "baseline_metrics": {},
        "human_metrics": {}, "agent_metrics": None, "error": "Human server failed to start. Logs: ...",
    })  # fmt: skip
    return base


def _summary(root: Path, item: str, agent: str, model: str, evaluation: dict[str, Any], patch: bool = True) -> None:
    _write(
        root / "vllm" / agent / model / "ts1" / item / "run_summary.json",
        {
            "meta": {"repo": "vllm", "agent": agent, "model": model, "timestamp": "ts1", "item_id": item},
            "commits": {"human": "1" * 40, "pre": "2" * 40},
            "agent": {"status": "success", "patch_generated": patch},
            "evaluation": evaluation,
        },
    )


@pytest.fixture
def evals(tmp_path: Path) -> Path:
    root = tmp_path / "eval_results_v2"
    ok = {"status": "success", "baseline_ms": 10.0, "patched_ms": 8.0}
    _summary(root, "vllm_core-0001", "trae", "gpt-5", {**ok, "speedup": 1.25})  # improvement
    _summary(root, "vllm_core-0002", "trae", "gpt-5", {**ok, "speedup": 0.90})  # regression
    _summary(root, "vllm_core-0003", "trae", "gpt-5", {**ok, "speedup": 1.02})  # neutral
    _summary(root, "vllm_core-0004", "trae", "gpt-5", {"status": "success", "baseline_ms": None})  # not run
    _summary(root, "vllm_core-0005", "trae", "gpt-5", {"status": "error", "error": "boom"})
    _summary(root, "vllm_core-0006", "trae", "gpt-5", {"status": "no_patch"}, patch=False)
    _summary(root, "vllm_core-0007", "trae", "gpt-5", {"status": "error", "error": "No test script found"})
    _write(root / "evaluation_report.json", {"runs": {"trae/gpt-5": {"total_commits": 7, "tests_passed": 5}}})
    return root


def test_isobench_rule_on_its_primary_metric() -> None:
    matches = compare({"tpot_mean": 10.0}, {"tpot_mean": 10.4})
    assert matches is not None and (matches.metric, matches.category) == ("tpot_mean", "matches")
    loses = compare({"tpot_mean": 10.0}, {"tpot_mean": 11.0})  # lower is better: 10% slower
    assert loses is not None and loses.category == "loses" and loses.agent_vs_human == pytest.approx(-0.1)
    beats = compare({"throughput": 100.0}, {"throughput": 106.0})  # higher is better
    assert beats is not None and beats.category == "beats"
    # a TPOT of 0 (one output token) cannot be compared in ratio: the next metric is used
    zero = compare({"tpot_mean": 0.0, "throughput": 50.0}, {"tpot_mean": 0.0, "throughput": 50.0})
    assert zero is not None and (zero.metric, zero.category) == ("throughput", "matches")
    assert compare({"tpot_mean": 10.0}, {"ttft_mean": 3.0}) is None  # the agent lacks the metric


def test_failure_causes_tell_the_infrastructure_from_the_agent() -> None:
    assert classify_failure("No metrics in agent output", "x: manifest unknown") == Cause(
        "infrastructure", "image not pulled"
    )
    repo = classify_failure("crash", "OSError: org/m is not a valid model identifier")
    assert (repo.kind, repo.reason) == ("infrastructure", "model repository not found")
    assert classify_failure("Server crashed after applying patch").kind == "agent"
    assert classify_failure("Baseline benchmark produced no metrics", side="agent").reason == "baseline run failed"
    assert classify_failure("Server crashed during startup", side="human").kind == "reference"


def _by(records: list[Any], folder: str, commit: str) -> Any:
    return next(r for r in records if r.run.endswith(folder) and r.commit == commit and not r.shape.startswith("ex"))


def test_every_shape_is_read_and_bad_files_are_named(results: Path) -> None:
    scan = scan_threeway([results])
    records = scan.records
    assert sorted(scan.unreadable) == [
        f"{results}/omniperf_results_3way_trae_gpt5/results/eeeeeeee_agent_result.json: not valid JSON "
        "(Extra data: line 2 column 1 (char 22))",
        f"{results}/omniperf_results_3way_trae_gpt5/results/ffffffff_agent_result.json: status success but no metric",
    ]
    first = _by(records, "claude_code", C1)
    assert (first.source, first.measurement, first.shape) == (
        "ISO-Bench",
        "single run each, no interval",
        "benchmark_result:results/modal",
    )
    assert first.files == [f"{results}/omniperf_results_3way_claude_code/results/modal/aaaaaaaa/benchmark_result.json"]
    # the folder's export names the model, for all its shapes
    assert (first.agent, first.model, first.isobench_category, first.isobench_metric) == (
        "claude_code",
        "claude-sonnet-4",
        "matches",
        "tpot_mean",
    )
    crashed = _by(records, "claude_code", C2)
    assert (crashed.isobench_category, crashed.failure_kind) == ("failed", "agent")
    infra = _by(records, "claude_code", C3)
    assert (infra.isobench_category, infra.failure_kind, infra.failure_reason) == (
        None,
        "infrastructure",
        "install or build",
    )
    export = next(r for r in records if r.shape == "export:full_results.jsonl")
    assert (export.commit, export.isobench_category, export.isobench_metric) == (C4, "loses", "throughput")
    assert _by(records, "trae_gpt5", C1).isobench_category == "beats"
    assert _by(records, "trae_gpt5", C2).isobench_category == "failed"
    pulled, repo = _by(records, "trae_gpt5", C3), _by(records, "trae_gpt5", C4)
    assert (pulled.isobench_category, pulled.failure_reason) == (None, "image not pulled")
    assert (repo.isobench_category, repo.failure_reason) == (None, "model repository not found")
    alone = _by(records, "trae_gpt5", "abababab" + "5" * 32)
    assert (alone.isobench_category, alone.failure_kind) == (None, "missing")
    sglang = next(r for r in records if r.repo == "sglang")
    assert (sglang.shape, sglang.failure_kind, sglang.failure_reason) == (
        "benchmark_result:sglang",
        "reference",
        "human run failed",
    )
    assert not any("logs" in f for r in records for f in r.files)


def test_the_aggregation_counts_as_isobench_counts(evals: Path, tmp_path: Path) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(evals), "--out", str(out)]) == 0
    records = [json.loads(p.read_text()) for p in sorted((out / "published").rglob("*.json"))]
    [row] = aggregate(records)
    assert row.as_dict() == {
        "key": "trae/gpt-5",
        "total_commits": 7,
        "tests_available": 6,  # all but the one without a test script
        "tests_run": 4,  # the four "success" evaluations
        "tests_passed": 3,  # those with a speedup
        "tests_failed": 1,  # "success" without a baseline timing
        "no_test_available": 1,
        "no_patch": 1,
        "patch_failed": 0,
        "timeouts": 0,
        "errors": 1,
        "commits_with_improvement": 1,  # 1.25 > 1.05
        "commits_with_regression": 1,  # 0.90 < 0.95
        "commits_neutral": 1,
        "avg_speedup": pytest.approx((1.25 + 0.90 + 1.02) / 3),
        "median_speedup": 1.02,
    }


def test_claims_are_found_where_isobench_wrote_them(results: Path) -> None:
    claims, problems = find_claims(sorted(results.iterdir()))
    assert problems == []
    found = {(Path(c.file).name, c.key, c.written, Path(c.target).name) for c in claims}
    assert found == {
        ("README.md", "commits", "3", "omniperf_results_3way_claude_code"),
        ("README.md", "comparable", "5", "omniperf_results_3way_claude_code"),
        ("README.md", "matches_or_beats_pct", "50%", "omniperf_results_3way_claude_code"),
        ("BENCHMARK_REPORT.md", "commits", "6", "omniperf_results_3way_trae_gpt5"),
        ("BENCHMARK_REPORT.md", "agent_success", "2", "omniperf_results_3way_trae_gpt5"),
    }


def _row(lines: list[str], *first: str) -> list[str]:
    return next(line.split() for line in lines if line.split()[: len(first)] == list(first))


def test_import_then_report_recomputes_and_checks_the_headlines(
    results: Path, evals: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "imported"
    assert main(["import", str(results), str(evals), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert "three-way: 11 record(s)" in said.out and "2 file(s) unreadable" in said.out
    assert "eeeeeeee_agent_result.json: not valid JSON" in said.err

    report, md = tmp_path / "report.json", tmp_path / "report.md"
    assert main(["report", str(out), "--json", str(report), "--markdown", str(md), "--no-plots"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = ["vllm", "claude_code", "claude-sonnet-4", "omniperf_results_3way_claude_code"]
    # tasks 3, agent measured 1, comparable 2: matches 1, failed 1; the infrastructure failure not counted
    modal = _row(lines, *head, "benchmark_result:results/modal")
    assert modal[5:13] == ["3", "1", "2", "0", "1", "0", "1", "0"]
    causes = " ".join(modal[13:])
    assert causes == "agent: server crashed during startup 1, infrastructure: install or build 1"
    trae = _row(lines, "vllm", "trae", "gpt-5", "omniperf_results_3way_trae_gpt5", "flat:results")
    assert trae[5:13] == ["6", "1", "2", "1", "0", "0", "1", "2"]
    assert "image not pulled 1" in " ".join(trae) and "model repository not found 1" in " ".join(trae)
    aggregated = _row(lines, "trae/gpt-5")
    assert aggregated[1:7] == ["7", "4", "3", f"{(1.25 + 0.90 + 1.02) / 3:.4f}x", "1", "1"]
    # published vs files: the README says 3 commits (so do the files) and 5 evaluable (the files: 2)
    assert _row(lines, "README.md:5")[-4:-2] == ["3", "yes"]
    assert _row(lines, "README.md:6")[-5:-3] == ["5", "2"] and "NO" in _row(lines, "README.md:6")
    success = _row(lines, "BENCHMARK_REPORT.md:3", "TRAE", "GPT-5:", "successful")
    assert success[-5:] == ["2", "1", "NO", "omniperf_results_3way_trae_gpt5", "(flat:results)"]
    assert _row(lines, "BENCHMARK_REPORT.md:3", "TRAE", "GPT-5:", "total")[-5:-2] == ["6", "6", "yes"]
    assert _row(lines, "evaluation_report.json", "runs.trae/gpt-5.tests_passed")[2:4] == ["5", "3"]
    data = json.loads(report.read_text())["published_figures"]
    assert {r["shape"] for r in data["threeway"]} >= {"benchmark_result:results/modal", "flat:results"}
    assert len(data["unreadable"]) == 2 and data["aggregation"][0]["key"] == "trae/gpt-5"
    assert "published vs files" in md.read_text() and "flat:results" in md.read_text()
