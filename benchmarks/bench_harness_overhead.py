"""Harness overhead of one demo task in Docker: the whole pytest item's wall time over what
the perf test itself measured plus the container starts, with a breakdown of the rest.

Run: ``python benchmarks/bench_harness_overhead.py [--task ac9bebc0] [--max-time 10]``. It
runs ``pytest tasks/demo.yaml --isobench-backend=docker --isobench-agent=human -k TASK`` in
a scratch directory, reads the junitxml and the task's record, then starts one sandbox of
its own to split the per-repetition overhead into exec, interpreter start and the perf
script's untimed part. A script, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from pytest_isobench.demo.repository import demo_repo
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.protocol import SandboxSpec

ROOT = Path(__file__).resolve().parents[1]


def _median_exec(sandbox: DockerSandbox, command: str, reps: int = 15) -> float:
    sandbox.exec(command, 60)
    walls = [sandbox.exec(command, 60).wall_s for _ in range(reps)]
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="ac9bebc0")
    parser.add_argument("--max-time", default="10")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel in ("tasks/demo.yaml", "data/demo.jsonl"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, root / rel)
        cache, results, junit = root / "cache", root / "results", root / "junit.xml"
        demo_repo(cache)  # built before the clock starts: the item does not build it
        argv = [sys.executable, "-m", "pytest", "tasks/demo.yaml", "-p", "no:cacheprovider", "-q"]
        argv += ["--isobench-backend=docker", "--isobench-agent=human", "-k", args.task]
        argv += [f"--isobench-cache-dir={cache}", f"--isobench-results={results}", f"--junitxml={junit}"]
        argv += [f"--isobench-max-time={args.max_time}"]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=root, capture_output=True, text=True)
        process_s = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        case = next(ET.parse(junit).iter("testcase"))
        item_s = float(case.get("time", "nan"))
        record = json.loads(next((results / "tasks").glob("*.json")).read_text(encoding="utf-8"))

        values = walls = warmups = 0.0
        reps = 0
        for test in record["perf_tests"]:
            for data in test["variants"].values():
                values += sum(data["values"])
                walls += sum(data["walls"])
                warmups += sum(data["warmup"])
                reps += len(data["values"])
        measured = values + warmups
        setup_s = record["setup_s"]

        # A sandbox of our own for the per-repetition split and a bare container start.
        client = engine_client()
        repo = demo_repo(cache)
        spec = SandboxSpec(
            "bench-overhead", "baseline", repo, record["base_commit"], image="isobench-demo:bookworm", run_id="bench"
        )
        sandbox = DockerSandbox(spec, client)
        try:
            sandbox.start()
            start_s = sandbox.start_s
            exec_true = _median_exec(sandbox, "true")
            py_start = _median_exec(sandbox, "python3 -c pass") - exec_true
            py_import = _median_exec(sandbox, "python3 -c 'import textkit.tokenize'") - exec_true - py_start
        finally:
            sandbox.close()
            client.close()

    container_starts = 3 * start_s
    per_rep_overhead = (walls - values) / reps
    print(f"task demo-{args.task}, docker, agent=human, --isobench-max-time={args.max_time}: {record['status']}")
    print(f"  pytest process wall            {process_s:8.2f} s")
    print(f"  item wall (junitxml time)      {item_s:8.2f} s")
    print(f"  perf test's own times          {measured:8.2f} s  ({reps} timed reps + warm-ups)")
    print(f"  3 container starts (measured)  {container_starts:8.2f} s  ({start_s * 1000:.0f} ms each)")
    print(f"  sandbox setup (record setup_s) {setup_s:8.2f} s  (starts + checkout + git, 3 variants)")
    print(f"RATIO item / (own times + container starts) = {item_s / (measured + container_starts):.2f}  (aim <= 1.15)")
    print(f"ratio item / (own times + full setup_s)      = {item_s / (measured + setup_s):.2f}")
    print("breakdown per timed repetition (wall of the exec minus the perf test's time_s):")
    region_ms = values / reps * 1000
    print(f"  total overhead                 {per_rep_overhead * 1000:8.1f} ms  (timed region {region_ms:.1f} ms)")
    print(f"  docker exec (`true`)           {exec_true * 1000:8.1f} ms")
    print(f"  python3 start                  {py_start * 1000:8.1f} ms")
    print(f"  import textkit                 {py_import * 1000:8.1f} ms")
    rest = per_rep_overhead - exec_true - py_start - py_import
    print(f"  rest (data generation, untimed warm-up pass, digest) {rest * 1000:.1f} ms")
    other = item_s - walls - setup_s
    print(f"item time outside the timed execs and setup: {other:.2f} s (warm-up execs, teardown, bootstrap, record)")


if __name__ == "__main__":
    main()
