"""The real OpenHands (``openhands-ai`` at the adapter's pin), unmodified, through ``pytest tasks/demo.yaml``.

OpenHands runs in Docker, in the image ``scripts/build-openhands-image.sh`` builds (Debian
trixie, Python 3.13, openhands-ai from the package index in /opt/openhands), with its
``cli`` runtime, against ``FakeModels`` as an OpenAI-compatible endpoint (Chat Completions,
through OpenHands' LLM settings ``LLM_BASE_URL``/``LLM_API_KEY``/``LLM_MODEL``). The
stand-in plays the demo's unique-seen-set task with OpenHands' own tools. The checks are
those of the Claude Code and Codex tests (:mod:`test_agents_real`): the edit arrives as
the patch and is measured, the record's usage is what the server sent and what OpenHands
saved in its trajectory, no decoy secret of ours reaches anything the agent sees, and an
endpoint that is down is an error within seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agent_clis import (
    DECOY_PROBE,
    DECOY_VALUE,
    EXPECTED_DIFF_LINES,
    SCRIPT,
    TASK,
    agent_environment,
    bridge_gateway,
    git_diff_files,
    required_image,
    tool_outputs,
)
from demo_project import read_records, run_demo
from fake_models import FakeModels, free_port

OPENHANDS_IMAGE = "isobench-openhands:trixie"
OPENHANDS_PYTHON = "/opt/openhands/bin/python"
# litellm's prefix for an OpenAI-compatible endpoint, and a model it knows to call tools
# natively (an unknown one gets its tools described in the prompt instead)
MODEL = "openai/gpt-4o"
ITEM = f"demo-{TASK}"
QUICK = ("--isobench-max-time=4", "--isobench-min-rounds=3")

pytestmark = pytest.mark.docker


def point_openhands_at(monkeypatch: pytest.MonkeyPatch, url_base: str) -> None:
    """OpenHands' LLM settings, as a user would export them, and the image's interpreter."""
    monkeypatch.setenv("LLM_API_KEY", "sk-stand-in")
    monkeypatch.setenv("LLM_BASE_URL", url_base + "/v1")
    monkeypatch.setenv("ISOBENCH_OPENHANDS_PYTHON", OPENHANDS_PYTHON)
    monkeypatch.delenv("LLM_MODEL", raising=False)


def _demo(pytester: pytest.Pytester, cache: Path, results: Path, *extra: str) -> pytest.RunResult:
    result: pytest.RunResult = run_demo(
        pytester,
        cache,
        results,
        "--isobench-agent=openhands",
        f"--isobench-model={MODEL}",
        "--isobench-backend=docker",
        f"--isobench-image={OPENHANDS_IMAGE}",
        "-k",
        TASK,
        *QUICK,
        *extra,
    )
    return result


@pytest.mark.slow
def test_real_openhands_docker_backend(
    pytester: pytest.Pytester, demo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    required_image(OPENHANDS_IMAGE, "scripts/build-openhands-image.sh", "ISOBENCH_REQUIRE_OPENHANDS")
    agent_environment(monkeypatch, tmp_path, tmp_path / "no-clis")
    results = tmp_path / "results"
    with FakeModels(SCRIPT, host=bridge_gateway()) as server:
        point_openhands_at(monkeypatch, server.base_url())
        result = _demo(pytester, demo_cache, results, "--isobench-rerun-agent")
    assert result.parseoutcomes().get("errors", 0) == 0, result.stdout.str()[-4000:]
    record = read_records(results)[ITEM]
    assert record["backend"] == "docker"
    assert record["agent_failure"] is None, record.get("agent_logs", "")[-3000:]

    # The stand-in's edit is the patch, applied once to a fresh checkout and measured.
    patch = record["patch"]
    assert git_diff_files(patch) == ["textkit/dedup.py"], patch
    for line in EXPECTED_DIFF_LINES:
        assert line in patch, patch
    assert record["patch_method"] == "git apply"
    variants = record["perf_tests"][0]["variants"]
    assert variants["agent"]["values"] and not variants["agent"].get("error"), variants["agent"]

    # Usage: what the server sent (OpenAI's prompt tokens include the cached ones), as
    # OpenHands accumulated it in its trajectory.
    sent = [usage for _kind, usage in server.usage_sent]
    run = record["agent_run"]
    assert run["usage"] == {
        "input": sum(u.input_tokens for u in sent),
        "output": sum(u.output_tokens for u in sent),
        "cache_read": sum(u.cache_read_input_tokens for u in sent),
        "cache_write": 0,
    }
    assert run["tokens"] == sum(run["usage"].values())
    reported = run["reported_usage"]["accumulated_token_usage"]
    assert reported["prompt_tokens"] == sum(u.input_tokens + u.cache_read_input_tokens for u in sent)
    assert reported["completion_tokens"] == sum(u.output_tokens for u in sent)
    assert run["cost_usd"] == run["reported_usage"]["accumulated_cost"] and run["cost_usd"] > 0  # litellm's prices
    assert run["model"] == MODEL  # OpenHands names its metrics "default": the model asked for stands

    # The look-around ran in the agent's HOME and checkout; no decoy in what went back.
    looked = [out for out in tool_outputs(server) if "FILES:" in out]
    assert looked, [o[:200] for o in tool_outputs(server)]
    assert "isobench-agent-home." in looked[0]
    assert "HITS:\nEND" in looked[0].replace("\r", ""), looked[0][-500:]
    assert DECOY_VALUE not in server.everything_received()
    assert DECOY_PROBE[:6] in server.everything_received()


def test_openhands_endpoint_down_is_an_error_in_seconds(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    required_image(OPENHANDS_IMAGE, "scripts/build-openhands-image.sh", "ISOBENCH_REQUIRE_OPENHANDS")
    agent_environment(monkeypatch, tmp_path, tmp_path / "no-clis")
    cache = tmp_path / "cache"
    down = f"http://{bridge_gateway()}:{free_port()}"
    point_openhands_at(monkeypatch, down)
    begin = time.monotonic()
    result = _demo(pytester, cache, tmp_path / "results")
    elapsed = time.monotonic() - begin
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "does not answer" in out and down in out, out[-3000:]
    assert elapsed < 60, elapsed
    assert not list((cache / "patches").rglob("*.json")) if (cache / "patches").exists() else True
