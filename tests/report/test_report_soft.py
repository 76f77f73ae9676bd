"""Soft metrics: Jaccard and line precision/recall on hand-computed diffs, and the LLM
judge against a loopback OpenAI-compatible server (cached, and marked missing on failure).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

from pytest_isobench.cli import main
from pytest_isobench.report.soft import (
    Judge,
    cache_key,
    changed_lines,
    file_jaccard,
    line_precision_recall,
    soft_metrics,
)
from pytest_isobench.results.store import write_record

AGENT_DIFF = "\n".join(
    [
        "diff --git a/pkg/fast.py b/pkg/fast.py",
        "index 1111111..2222222 100644",
        "--- a/pkg/fast.py",
        "+++ b/pkg/fast.py",
        "@@ -1,3 +1,3 @@",
        " def f(xs):",
        "-    return sorted(xs)[0]",
        "+    return min(xs)",
        " ",
        "diff --git a/pkg/util.py b/pkg/util.py",
        "--- a/pkg/util.py",
        "+++ b/pkg/util.py",
        "@@ -5,1 +5,2 @@",
        " x = 1",
        "+CACHE = {}",
        "",
    ]
)

HUMAN_DIFF = "\n".join(
    [
        "diff --git a/pkg/fast.py b/pkg/fast.py",
        "--- a/pkg/fast.py",
        "+++ b/pkg/fast.py",
        "@@ -1,2 +1,3 @@",
        " def f(xs):",
        "-    return sorted(xs)[0]",
        "+    # linear scan",
        "+    return min(xs)",
        "diff --git a/pkg/other.py b/pkg/other.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/pkg/other.py",
        "@@ -0,0 +1,2 @@",
        "+import os",
        "+",
        "",
    ]
)

GOOD_ANSWER = json.dumps(
    {
        "bottleneck": "same",
        "approach": "similar",
        "speedup_likelihood": 0.8,
        "failure_mode": "none",
        "quality": {"correctness": 9, "readability": 8, "maintainability": 8, "generality": 7},
    }
)


def test_changed_lines_reads_files_and_signs() -> None:
    files = changed_lines(HUMAN_DIFF)
    assert set(files) == {"pkg/fast.py", "pkg/other.py"}
    assert files["pkg/fast.py"] == {
        ("-", "return sorted(xs)[0]"): 1,
        ("+", "# linear scan"): 1,
        ("+", "return min(xs)"): 1,
    }
    assert files["pkg/other.py"] == {("+", "import os"): 1}  # the blank added line is ignored


def test_removed_line_looking_like_a_header_stays_in_its_hunk() -> None:
    diff = (
        "--- a/x.sql\n+++ b/x.sql\n@@ -1,2 +1,1 @@\n--- a comment\n keep\n--- a/y.py\n+++ b/y.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    files = changed_lines(diff)
    assert files["x.sql"] == {("-", "-- a comment"): 1}
    assert files["y.py"] == {("-", "a"): 1, ("+", "b"): 1}


def test_jaccard_and_line_precision_recall_hand_computed() -> None:
    # files: agent {fast, util}, human {fast, other}: 1 shared of 3 -> 1/3
    assert file_jaccard(AGENT_DIFF, HUMAN_DIFF) == pytest.approx(1 / 3)
    # lines: agent 3 changed (fast -, fast +, util +), human 4 (fast -, fast + x2, other +);
    # shared: "- return sorted(xs)[0]" and "+ return min(xs)" in pkg/fast.py -> P = 2/3, R = 2/4
    precision, recall = line_precision_recall(AGENT_DIFF, HUMAN_DIFF)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(0.5)
    assert line_precision_recall(HUMAN_DIFF, HUMAN_DIFF) == (1.0, 1.0)
    assert file_jaccard("", "") is None
    assert line_precision_recall("", HUMAN_DIFF) == (None, 0.0)


def make_record(item_id: str, patch: str = AGENT_DIFF, human_patch: str | None = HUMAN_DIFF) -> dict[str, Any]:
    record: dict[str, Any] = {
        "item_id": item_id,
        "suite": "demo",
        "agent": "trae",
        "model": None,
        "settings": {"agent": "trae"},
        "status": "passed",
        "verdict": {"passed": True, "category": "similar"},
        "patch": patch,
    }
    if human_patch is not None:
        record["human_patch"] = human_patch
    return record


def test_judge_through_loopback_server_is_cached(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with FakeOpenAI([GOOD_ANSWER]) as server:
        judge = Judge(model="judge-1", cache_dir=cache, base_url=server.url, api_key="test-key")
        first = soft_metrics(make_record("demo-aaaa1111"), judge)
        assert first.missing is None and first.cached is False
        assert first.judgement is not None
        assert first.judgement["bottleneck"] == "same" and first.judgement["quality"]["correctness"] == 9
        assert first.files_jaccard == pytest.approx(1 / 3)
        assert len(server.requests) == 1
        body = server.requests[0]
        assert body["model"] == "judge-1"
        assert "return min(xs)" in json.dumps(body["messages"])
        assert (cache / f"{cache_key(AGENT_DIFF, HUMAN_DIFF, 'judge-1')}.json").is_file()

        again = Judge(model="judge-1", cache_dir=cache, base_url=server.url, api_key="test-key")
        second = soft_metrics(make_record("demo-aaaa1111"), again)
        assert second.cached is True and second.judgement == first.judgement
        assert len(server.requests) == 1  # zero new requests

        other_model = Judge(model="judge-2", cache_dir=cache, base_url=server.url, api_key="test-key")
        assert soft_metrics(make_record("demo-aaaa1111"), other_model).cached is False
        assert len(server.requests) == 2  # the cache is per judge model


def test_failing_judge_marks_the_task_missing(tmp_path: Path) -> None:
    with FakeOpenAI([GOOD_ANSWER], fail_first=100, status=500) as server:
        judge = Judge(model="judge-1", cache_dir=tmp_path, base_url=server.url, api_key="k", max_retries=0)
        result = soft_metrics(make_record("demo-aaaa1111"), judge)
    assert result.judgement is None
    assert result.missing is not None and "judge request to" in result.missing
    assert result.line_precision == pytest.approx(2 / 3)  # the judge-free measures are still there
    assert not list(tmp_path.glob("*.json"))  # nothing cached for a failure


def test_invalid_judge_answer_is_missing_with_the_reason(tmp_path: Path) -> None:
    bad = json.loads(GOOD_ANSWER) | {"bottleneck": "maybe"}
    with FakeOpenAI([json.dumps(bad), "not json at all"]) as server:
        judge = Judge(model="j", cache_dir=tmp_path, base_url=server.url, api_key="k", max_retries=0)
        first = soft_metrics(make_record("a"), judge)
        second = soft_metrics(make_record("b", patch=AGENT_DIFF + "\n"), judge)
    assert first.missing is not None and "bottleneck" in first.missing and "schema" in first.missing
    assert second.missing is not None and "not JSON" in second.missing


def test_record_without_human_diff_is_missing() -> None:
    result = soft_metrics(make_record("a", human_patch=None))
    assert result.missing == "no human diff in the record (human_patch)"
    assert result.files_jaccard is None


def test_soft_metrics_from_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    write_record(results, make_record("demo-aaaa1111"))
    write_record(results, make_record("demo-bbbb2222", patch=AGENT_DIFF.replace("min(xs)", "xs[0]")))
    cache = tmp_path / "cache"
    args = ["report", str(results), "--soft-metrics", "--judge-model", "judge-1", "--judge-cache", str(cache)]
    with FakeOpenAI([GOOD_ANSWER]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        assert main([*args, "--json", str(tmp_path / "one.json")]) == 0
        assert len(server.requests) == 2
        assert main([*args, "--json", str(tmp_path / "two.json")]) == 0
        assert len(server.requests) == 2  # second run: all from the cache
    one = json.loads((tmp_path / "one.json").read_text())["soft"]
    two = json.loads((tmp_path / "two.json").read_text())["soft"]
    assert len(one) == 2
    assert all(v["judgement"]["approach"] == "similar" and not v["cached"] for v in one.values())
    assert all(v["cached"] for v in two.values())
    precision = sorted(v["line_precision"] for v in one.values())
    assert precision == pytest.approx([1 / 3, 2 / 3])
