"""LLM classification of scanned commits against a loopback OpenAI-compatible server.

The server is ``tests/fake_openai.py``; answers are chosen from the commit hash in the
prompt. Checked: answers validated by pydantic, cached per (commit, model) so a second run
sends nothing, 500s and 429s retried with backoff, bad answers reported and not cached,
and ``isobench dataset build --classify`` dropping the commits the model rejects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI
from test_history_scan import History, known_history

from pytest_isobench import cli
from pytest_isobench.history.classify import (
    Classification,
    ClassifyError,
    ClassifyOptions,
    cache_path,
    classify_commits,
    parse_answer,
)
from pytest_isobench.history.scan import CommitInfo, ScanOptions, scan_repository


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return known_history(tmp_path_factory.mktemp("known") / "repo")


@pytest.fixture(scope="module")
def commits(history: History) -> list[CommitInfo]:
    return scan_repository(history.root, ScanOptions(progress=False)).commits


@pytest.fixture(autouse=True)
def _no_real_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def answer_for(history: History) -> Any:
    """A server answer from the commit hash in the prompt: ``engine`` is not a perf change."""

    def answer(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        sha = re.search(r"Commit ([0-9a-f]{40})", prompt)
        assert sha is not None
        is_perf = sha.group(1) != history.perf["engine"]
        apis = ["pkg.core.parse"] if sha.group(1) == history.perf["parse"] else []
        return json.dumps({"is_perf": is_perf, "apis": apis, "reason": f"judged {sha.group(1)[:8]}", "confidence": 0.9})

    return answer


def options(server: FakeOpenAI, cache: Path, **kw: Any) -> ClassifyOptions:
    return ClassifyOptions(model="fake-model", base_url=server.url, cache_dir=cache, backoff_s=0.01, **kw)


def test_answers_validated_and_cached(history: History, commits: list[CommitInfo], tmp_path: Path) -> None:
    with FakeOpenAI([answer_for(history)]) as server:
        first = classify_commits(commits, options(server, tmp_path / "cache", max_workers=3))
        assert len(server.requests) == 3
        assert first.requested == 3 and first.cached == 0 and not first.failures
        assert all(isinstance(a, Classification) for a in first.answers.values())
        assert first.answers[history.perf["engine"]].is_perf is False
        assert first.answers[history.perf["parse"]].apis == ["pkg.core.parse"]
        request = server.requests[0]
        assert request["model"] == "fake-model"
        assert request["response_format"]["type"] == "json_schema"
        assert "Diff:" in request["messages"][-1]["content"]

        second = classify_commits(commits, options(server, tmp_path / "cache"))
        assert len(server.requests) == 3  # zero new requests
        assert second.cached == 3 and second.requested == 0
        assert second.answers == first.answers
    assert cache_path(tmp_path / "cache", history.perf["join"], "fake-model").is_file()
    # Another model is another cache entry.
    assert not cache_path(tmp_path / "cache", history.perf["join"], "other").exists()


@pytest.mark.parametrize("status", [500, 429])
def test_failures_are_retried(history: History, commits: list[CommitInfo], tmp_path: Path, status: int) -> None:
    with FakeOpenAI([answer_for(history)], fail_first=2, status=status) as server:
        report = classify_commits(commits[:1], options(server, tmp_path, max_workers=1))
        assert len(server.requests) == 3
    assert report.retried == 2 and not report.failures
    assert report.answers[commits[0].sha].is_perf is True


def test_gives_up_after_the_retries(commits: list[CommitInfo], tmp_path: Path) -> None:
    with FakeOpenAI(['{"is_perf": true}'], fail_first=100, status=503) as server:
        report = classify_commits(commits[:1], options(server, tmp_path, retries=2))
        assert len(server.requests) == 3
    assert "InternalServerError" in report.failures[commits[0].sha]
    assert not report.answers


def test_invalid_answers_are_reported_not_cached(commits: list[CommitInfo], tmp_path: Path) -> None:
    with FakeOpenAI(['{"apis": "not a list"}']) as server:
        report = classify_commits(commits[:2], options(server, tmp_path))
        assert len(server.requests) == 2  # a malformed answer is not retried
    assert set(report.failures) == {c.sha for c in commits[:2]}
    assert all(why.startswith("invalid answer") for why in report.failures.values())
    assert not list(tmp_path.rglob("*.json"))


def test_parse_answer_accepts_a_code_fence() -> None:
    fenced = '```json\n{"is_perf": false, "apis": [], "reason": "docs"}\n```'
    assert parse_answer(fenced) == Classification(is_perf=False, reason="docs")


def test_no_key_and_no_server_is_a_clear_error(commits: list[CommitInfo], tmp_path: Path) -> None:
    with pytest.raises(ClassifyError, match="OPENAI_API_KEY"):
        classify_commits(commits[:1], ClassifyOptions(cache_dir=tmp_path))


def test_build_with_classify(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "perf.jsonl"
    argv = ["dataset", "build", str(history.root), "--out", str(out), "--no-progress", "--classify"]
    with FakeOpenAI([answer_for(history)]) as server:
        argv += ["--model", "fake-model", "--base-url", server.url, "--cache-dir", str(tmp_path / "cache")]
        assert cli.main(argv) == 0
        assert len(server.requests) == 3
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["head_commit"] for r in records] == [history.perf["parse"], history.perf["join"]]
        assert all(r["llm_is_perf"] is True and r["llm_model"] == "fake-model" for r in records)
        assert records[0]["llm_apis"] == ["pkg.core.parse"]
        assert "3 request(s)" in capsys.readouterr().err

        assert cli.main([*argv, "--keep-rejected"]) == 0
        assert len(server.requests) == 3  # all three from the cache
        assert "3 from the cache" in capsys.readouterr().err
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(records) == 3 and records[1]["llm_is_perf"] is False
