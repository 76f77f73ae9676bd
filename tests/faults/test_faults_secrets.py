"""Decoy secrets in the environment never reach anything the run writes or prints.

One pytest run on a synthetic suite does an agent run (the ``openai`` agent against a
loopback model server), generates a perf test for a task that has none, and writes a
junitxml file and a debug log; then ``isobench report`` writes markdown and HTML. Every
file under the project (records, summary, caches, generated tests, logs, reports) and
everything printed is scanned for the decoys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI
from faultkit import make_project

DECOYS = {
    "OPENAI_API_KEY": "sk-decoy-faults-6a0c1f2e9b8d7c6a5f4e3d2c1b0a9f8e",
    "AWS_SECRET_ACCESS_KEY": "decoy/aws/Zx81kLmN0pQrStUvWxYz0123456789abcd",
    "HF_TOKEN": "hf_decoyFaultsAbCdEfGhIjKlMnOpQrStUvWx",
    "ISOBENCH_DECOY_SECRET": "decoy-secret-7f6e5d4c3b2a",
}
GENERATED = (
    "Here it is:\n```python\nimport hashlib, json, time\n"
    "t0 = time.perf_counter()\nvalue = sum(range(20000))\n"
    'print(json.dumps({"time_s": time.perf_counter() - t0, '
    '"digest": hashlib.sha256(str(value).encode()).hexdigest()}))\n```\n'
)


def _answer(body: dict[str, Any]) -> str:
    system = str(body["messages"][0]["content"])
    if "benchmark scripts" in system:  # test generation
        return GENERATED
    if len(body["messages"]) <= 2:  # the agent's first step: which files to read
        return '{"files": ["speed.py"]}'
    return "I would not change anything."


@pytest.mark.slow
def test_decoy_secrets_never_leave_the_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", tasks=2)
    data = project.path / "data.jsonl"
    records = [json.loads(line) for line in data.read_text().splitlines()]
    records[1]["perf_tests"] = []  # this task's perf test is generated
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    results = project.path / "results"
    with FakeOpenAI([_answer]) as server:
        env = {**os.environ, **DECOYS, "OPENAI_BASE_URL": server.url, "OPENAI_MODEL": "m"}
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *project.args(project.path / "cache", results),
                "--isobench-backend=local",
                "--isobench-agent=openai",
                "--isobench-model=m",
                "--isobench-generate=missing",
                "--isobench-testgen-model=m",
                f"--junitxml={results / 'junit.xml'}",
                f"--log-file={project.path / 'debug.log'}",
                "--log-file-level=DEBUG",
                "-rA",
                "-vv",
            ],
            cwd=project.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        isobench = str(Path(sys.executable).with_name("isobench"))
        report = subprocess.run(
            [isobench, "report", str(results), "--markdown", "report.md", "--html", "report.html"],
            cwd=project.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    printed = run.stdout + run.stderr + report.stdout + report.stderr
    assert len(server.requests) >= 3, printed[-3000:]  # the agent and the generator both asked
    assert list((results / "tasks").glob("*.json")), printed[-3000:]
    assert (results / "junit.xml").is_file() and (project.path / "debug.log").is_file()
    assert report.returncode == 0, report.stderr[-2000:]
    written = sorted(p for p in project.path.rglob("*") if p.is_file() and ".git/objects" not in str(p))
    kinds = {p.suffix for p in written}
    assert {".json", ".xml", ".log", ".md", ".html", ".py"} <= kinds, kinds
    leaks = []
    for name, value in DECOYS.items():
        if value in printed:
            leaks.append(f"{name} printed")
        leaks += [f"{name} in {p.relative_to(project.path)}" for p in written if value.encode() in p.read_bytes()]
    assert leaks == [], leaks
