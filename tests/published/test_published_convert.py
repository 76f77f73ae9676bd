"""ISO-Bench's task configs (``tasks/*.yaml``) and ``bench.yaml`` accepted through
``isobench convert``: our suite and dataset are written, they load, and pytest collects
them. The configs are written here in ISO-Bench's shape (its example task config: ``id``,
``repo``, ``runner``, ``env_build``, ``optimization_contract``, ``agents``, ``testpack``,
``metrics``, ``scoring``), one of them a template whose commit was never filled in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pytest_isobench.cli import main
from pytest_isobench.suite import load_suite

HEAD = "f092153fbe349a9a1742940e3703bfcff6aa0a6d"
CONFIG = f"""
id: "vllm_core"
name: "vLLM core performance"
description: "Run vLLM performance checks with Dockerfile-based env"
repo:
  url: "https://github.com/vllm-project/vllm.git"
  human_commit: "{HEAD}"
runner:
  requires_gpu: true
  allow_network_during_prepare: true
env_build:
  allowed_strategies: ["dockerfile", "requirements"]
optimization_contract:
  strict_targets: false
  target_files: ["vllm/a.py"]
  constraints: ["No public API breakage"]
agents:
  openhands:
    args:
      subcommand: ["--python", "3.12"]
testpack:
  entrypoint: "../vlm-bench-generic"
metrics:
  - name: "throughput_img_per_s"
    using: "runtime:throughput"
    args:
      cmd: "python -c \\"print(1.0)\\""
      trials: 3
  - name: "functional_match"
    using: "quality:hash_match"
scoring:
  primary: "functional_match"
"""
TEMPLATE = """
id: sample_task
repo:
  human_commit: ${HUMAN_COMMIT}
  url: ${REPO_URL}
metrics: []
"""
BENCH = """
container:
  memory: "${BENCH_MEMORY:-4g}"
  gpus: "${BENCH_GPUS:-device=0}"
agents:
  default: "codex_cli"
  codex_cli:
    time_budget_minutes: 90
"""


def test_rejected_before_and_converted_now(
    pytester: pytest.Pytester, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "vllm.yaml"
    config.write_text(CONFIG)
    (tmp_path / "example.yaml").write_text(TEMPLATE)
    (tmp_path / "bench.yaml").write_text(BENCH)
    out = pytester.path / "suite"
    args = ["convert", str(config), str(tmp_path / "example.yaml"), "--bench", str(tmp_path / "bench.yaml")]
    assert main([*args, "--out", str(out), "--name", "isob"]) == 0
    said = capsys.readouterr()
    assert "converted 1 task(s), 1 skipped" in said.out
    assert "run: pytest" in said.out and "--isobench-agent=codex" in said.out  # codex_cli is our codex
    assert "example.yaml: repo.human_commit '${HUMAN_COMMIT}' is not a commit sha" in said.err
    assert "vllm.yaml: not carried over: env_build, testpack" in said.err

    suite = load_suite(out / "isob.yaml")
    assert (suite.gpus_required, suite.resources.memory, suite.resources.gpus) == (1, "4g", "0")
    assert suite.resources.network_during_setup and suite.timeouts.agent_s == 90 * 60
    assert (suite.success.rule, suite.success.similar_tolerance) == ("isobench", 0.05)
    assert suite.repo == "https://github.com/vllm-project/vllm.git"
    [record] = [json.loads(line) for line in (out / "isob.jsonl").read_text().splitlines()]
    assert (record["commit_hash"], record["instance_id"], record["perf_command"]) == (
        HEAD,
        "vllm_core",
        'python -c "print(1.0)"',
    )
    assert record["files_changed"] == ["vllm/a.py"]
    header = (out / "isob.yaml").read_text().splitlines()[1]
    assert "codex_cli -> codex" in header and yaml.safe_load((out / "isob.yaml").read_text())["name"] == "isob"

    result = pytester.runpytest(str(out / "isob.yaml"), "--collect-only", "-q")
    result.stdout.fnmatch_lines(["*isob.yaml::isob-f092153f*", "1 test collected*"])


def test_a_config_that_is_not_yaml_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: [unclosed\n")
    assert main(["convert", str(bad), "--out", str(tmp_path / "o")]) == 1
    assert f"error: {bad}: cannot read" in capsys.readouterr().err
