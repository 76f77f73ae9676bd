"""The real Claude Code and Codex CLIs, unmodified, through ``pytest tasks/demo.yaml``.

Each CLI talks to ``FakeModels`` on loopback (Anthropic Messages API streamed for Claude
Code, OpenAI Responses API streamed for Codex), which plays the demo's unique-seen-set
task: read the file, look around, make one edit, finish. The tests check what a user
relies on: the patch is captured and applied once to a fresh checkout and measured; the
record holds the tokens and cost exactly as the tool reported them (and as the server
sent them); nothing of the caller's (a decoy variable, a decoy HOME) reaches what the
agent can read; an endpoint that is down is an error within seconds that names the URL,
is not cached, and the next run tries again. One task, short budgets.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from agent_clis import (
    DECOY_PROBE,
    DECOY_VALUE,
    EXPECTED_DIFF_LINES,
    SCRIPT,
    TASK,
    agent_environment,
    agents_image,
    bridge_gateway,
    cli_bin,
    git_diff_files,
    point_at,
    reported_json,
    tool_outputs,
)
from demo_project import read_records, run_demo
from fake_models import MODEL, OPENAI_MODEL, FakeModels, free_port

QUICK = ("--isobench-max-time=4", "--isobench-min-rounds=3")
ITEM = f"demo-{TASK}"
MODELS = {"claude_code": MODEL, "codex": OPENAI_MODEL}


def _demo(pytester: pytest.Pytester, cache: Path, results: Path, agent: str, *extra: str) -> pytest.RunResult:
    result: pytest.RunResult = run_demo(
        pytester,
        cache,
        results,
        f"--isobench-agent={agent}",
        f"--isobench-model={MODELS[agent]}",
        "-k",
        TASK,
        *QUICK,
        *extra,
    )
    return result


def expected_usage(server: FakeModels, agent: str) -> dict[str, int]:
    """What the server sent, in the record's kinds."""
    sent = [usage for _kind, usage in server.usage_sent]
    usage = {
        "input": sum(u.input_tokens for u in sent),
        "output": sum(u.output_tokens for u in sent),
        "cache_read": sum(u.cache_read_input_tokens for u in sent),
        "cache_write": sum(u.cache_creation_input_tokens for u in sent) if agent == "claude_code" else 0,
    }
    if agent == "codex":
        usage["reasoning"] = 0
    return usage


def check_run(record: dict[str, Any], server: FakeModels, agent: str) -> None:
    """Patch captured, applied once and measured; usage as reported; no decoy anywhere."""
    assert record["agent_failure"] is None, record.get("agent_logs", "")[-3000:]
    patch = record["patch"]
    assert git_diff_files(patch) == ["textkit/dedup.py"], patch
    for line in EXPECTED_DIFF_LINES:
        assert line in patch, patch
    # Applied once, to a fresh checkout of the baseline (never again to the agent's own sandbox).
    assert record["patch_method"] == "git apply"
    variants = record["perf_tests"][0]["variants"]
    assert variants["agent"]["values"] and not variants["agent"].get("error"), variants["agent"]

    run = record["agent_run"]
    reported = reported_json(record["agent_logs"], agent)
    assert run["usage"] == expected_usage(server, agent)
    assert run["tokens"] == sum(run["usage"][k] for k in ("input", "output", "cache_read", "cache_write"))
    if agent == "claude_code":
        assert run["reported_usage"]["usage"] == reported["usage"]
        assert run["reported_usage"]["modelUsage"] == reported["modelUsage"]
        assert run["cost_usd"] == reported["total_cost_usd"] and run["cost_usd"] > 0
        assert run["model"] == MODEL
    else:
        totals = {key: sum(turn[key] for turn in reported) for key in reported[0]}
        assert run["reported_usage"]["usage"] == totals
        assert run["cost_usd"] is None  # Codex reports no cost
        assert run["model"] == OPENAI_MODEL

    # The look-around step ran, and its output (env, every file under HOME and the tree)
    # went back to the server: the decoy is in none of it, nor in anything else sent.
    looked = [out for out in tool_outputs(server) if "FILES:" in out]
    assert looked, [o[:200] for o in tool_outputs(server)]
    assert "isobench-agent-home." in looked[0]
    assert "HITS:\nEND" in looked[0].replace("\r", ""), looked[0][-500:]
    assert DECOY_VALUE not in server.everything_received()
    assert DECOY_PROBE[:6] in server.everything_received()  # the probe did run, and travel


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_real_cli_local_backend(
    agent: str, pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_environment(monkeypatch, tmp_path, cli_bin())
    results = tmp_path / "results"
    with FakeModels(SCRIPT) as server:
        point_at(monkeypatch, agent, server.base_url())
        result = _demo(pytester, demo_cache, results, agent, "--isobench-backend=local", "--isobench-rerun-agent")
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()[-4000:]
    check_run(read_records(results)[ITEM], server, agent)


@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_endpoint_down_is_an_error_in_seconds_not_cached_and_retried(
    agent: str, pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent_environment(monkeypatch, tmp_path, cli_bin())
    cache = tmp_path / "cache"  # its own cache: nothing of another test's runs
    down = f"http://127.0.0.1:{free_port()}"
    point_at(monkeypatch, agent, down)
    begin = time.monotonic()
    result = _demo(pytester, cache, tmp_path / "results-1", agent, "--isobench-backend=local")
    elapsed = time.monotonic() - begin
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "does not answer" in out and down in out, out[-3000:]
    assert elapsed < 60, elapsed  # pytest start, demo repository and the 5 s preflight at most
    assert not list((cache / "patches").rglob("*.json")) if (cache / "patches").exists() else True
    if agent != "codex":
        return
    with FakeModels(SCRIPT) as server:
        point_at(monkeypatch, agent, server.base_url())
        again = _demo(pytester, cache, tmp_path / "results-2", agent, "--isobench-backend=local")
    assert again.parseoutcomes().get("errors", 0) == 0, again.stdout.str()[-3000:]
    assert server.main_requests(), "the second run did not run the agent"
    assert read_records(tmp_path / "results-2")[ITEM]["agent_failure"] is None


@pytest.mark.docker
@pytest.mark.parametrize("agent", ["claude_code", "codex"])
def test_real_cli_docker_backend(
    agent: str, pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = agents_image()
    agent_environment(monkeypatch, tmp_path, cli_bin())
    results = tmp_path / "results"
    # The server listens on the host's side of Docker's bridge (host-local, like loopback),
    # the only host address a container reaches.
    with FakeModels(SCRIPT, host=bridge_gateway()) as server:
        point_at(monkeypatch, agent, server.base_url())
        result = _demo(
            pytester,
            demo_cache,
            results,
            agent,
            "--isobench-backend=docker",
            f"--isobench-image={image}",
            "--isobench-rerun-agent",
        )
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) == 0, result.stdout.str()[-4000:]
    record = read_records(results)[ITEM]
    assert record["backend"] == "docker"
    check_run(record, server, agent)
