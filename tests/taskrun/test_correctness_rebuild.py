"""The suite's correctness check, the agent's rebuild step and per-commit image templates.

End to end through pytest and the local backend, on a repository made in the test: an
agent whose patch moves the correctness score off the baseline's fails on correctness
before any timing; a patch touching compiled code triggers the suite's rebuild command,
and a failing rebuild fails the agent as ``build``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_isobench.perf.correctness import CorrectnessSpec, compare, parse_score
from pytest_isobench.sandbox.images import render as _image
from pytest_isobench.sandbox.protocol import SandboxError

SLOW = "def total(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
FAST = "def total(n):\n    return n * (n - 1) // 2\n"
WRONG = "def total(n):\n    return n * (n - 1) // 2 + 1\n"
SCORE = "from calc import total\nprint('accuracy:', 0.9 if total(10) == 45 else 0.5)\n"
PERF = (
    "import json, time\nfrom calc import total\nt = time.perf_counter()\nr = [total(20000) for _ in range(20)]\n"
    "print(json.dumps({'time_s': time.perf_counter() - t, 'digest': str(r[0])}))\n"
)


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


@pytest.fixture
def project(pytester: pytest.Pytester) -> tuple[Path, str, str]:
    repo = pytester.path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text(SLOW)
    (repo / "score.py").write_text(SCORE)
    (repo / "native").mkdir()
    (repo / "native" / "kernel.c").write_text("int k(void) { return 1; }\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "slow")
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "calc.py").write_text(FAST)
    _git(repo, "commit", "-q", "-am", "perf: closed form")
    head = _git(repo, "rev-parse", "HEAD")
    record = {
        "instance_id": "calc-1",
        "repo": str(repo),
        "base_commit": base,
        "head_commit": head,
        "perf_tests": [{"name": "total", "script": PERF}],
    }
    (pytester.path / "data.jsonl").write_text(json.dumps(record) + "\n")
    return repo, base, head


def _suite(pytester: pytest.Pytester, rebuild_command: str) -> None:
    pytester.makefile(
        ".yaml",
        calc=f"""
        name: calc
        dataset: data.jsonl
        timing: {{min_rounds: 5, max_time_s: 20}}
        correctness:
          command: python3 score.py
          pattern: "accuracy: ([0-9.]+)"
          scale: 100
          tolerance: 1.0
        rebuild:
          paths: ["native/*"]
          command: "{rebuild_command}"
        """,
    )


def _patch(repo: Path, base: str, files: dict[str, str]) -> str:
    _git(repo, "checkout", "-q", base)
    for name, text in files.items():
        (repo / name).write_text(text)
    diff = _git(repo, "diff")
    _git(repo, "checkout", "-q", "--", ".")
    _git(repo, "checkout", "-q", "main")
    return diff + "\n"


def _run(pytester: pytest.Pytester, patch: str) -> tuple[pytest.RunResult, dict[str, object]]:
    preds = pytester.path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": "calc-1", "model_patch": patch, "model_name_or_path": "t"}) + "\n")
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "calc.yaml",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=local",
        "--isobench-agent=predictions",
        f"--isobench-predictions={preds}",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        timeout=300,
    )
    (record_path,) = (results / "tasks").glob("*.json")
    return result, json.loads(record_path.read_text())


def test_agent_off_the_baseline_score_fails_on_correctness(
    pytester: pytest.Pytester, project: tuple[Path, str, str]
) -> None:
    repo, base, _head = project
    _suite(pytester, "true")
    result, record = _run(pytester, _patch(repo, base, {"calc.py": WRONG}))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*correctness: score 50.00 vs baseline 90.00 (tolerance +-1)*"])
    assert record["correctness"]["scores"] == {"baseline": 90.0, "human": 90.0, "agent": 50.0}  # type: ignore[index]
    assert not record["perf_tests"]  # failed before any timing


def test_patch_touching_compiled_code_is_rebuilt_and_a_failed_build_fails_the_agent(
    pytester: pytest.Pytester, project: tuple[Path, str, str]
) -> None:
    repo, base, _head = project
    _suite(pytester, "echo compiling native; exit 3")
    patch = _patch(repo, base, {"calc.py": FAST, "native/kernel.c": "int k(void) { return 2; }\n"})
    result, record = _run(pytester, patch)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*agent failed (build)*native/kernel.c*", "*compiling native*"])
    assert record["agent_failure"] == "build"


def test_patch_outside_compiled_code_is_not_rebuilt(pytester: pytest.Pytester, project: tuple[Path, str, str]) -> None:
    repo, base, _head = project
    _suite(pytester, "exit 3")  # would fail the agent if it ran
    _result, record = _run(pytester, _patch(repo, base, {"calc.py": FAST}))
    assert record["agent_failure"] is None
    assert record["correctness"]["failed"] == {}  # type: ignore[index]
    assert record["status"] in ("passed", "failed")  # measured: the verdict is about speed now
    assert record["verdict"]["category"] in ("beats", "similar", "worse", "inconclusive")  # type: ignore[index]


def test_score_parsing_and_comparison() -> None:
    spec = CorrectnessSpec(command="x", pattern=r"exact_match,strict-match\|\s*([0-9.]+)", scale=100, tolerance=1)
    out = "|gsm8k|3|exact_match,strict-match|  0.7725|±|0.0115|\n"
    assert parse_score(out.replace("|  ", "|"), spec) == pytest.approx(77.25)
    assert compare({"baseline": 77.25, "human": 76.5, "agent": 75.0}, spec) == {
        "agent": "correctness: score 75.00 vs baseline 77.25 (tolerance +-1)"
    }
    assert parse_score("no score here", spec) is None


def test_image_template_gives_each_variant_its_commit_image() -> None:
    assert _image("REGISTRY/vllm:{commit}", "abc123") == "REGISTRY/vllm:abc123"
    assert _image("vllm:{short}", "0123456789abcdef") == "vllm:01234567"
    assert _image("python:3.12-slim", "abc") == "python:3.12-slim"
    with pytest.raises(SandboxError, match="known fields"):
        _image("vllm:{sha}", "abc")
