"""The pytest process's memory over a long run: RSS after 2 demo tasks vs after 20.

Run: ``python benchmarks/bench_memory.py [--backend local] [--copies 5]``. It writes a
dataset that repeats the four demo records ``--copies`` times (distinct ``instance_id``
suffixes; the repeated head commits get ``-2``, ``-3``... item ids), a suite for it, and a
``conftest.py`` plugin that appends the process's resident set size (``/proc/self/statm``)
after each test; then runs pytest once and prints RSS after task 2 and after task 20 and
their ratio (target: within 10%). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = """
import os

OUT = os.environ["ISOBENCH_BENCH_RSS"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def pytest_runtest_logfinish(nodeid, location):
    with open("/proc/self/statm") as fh:
        resident = int(fh.read().split()[1]) * PAGE
    with open(OUT, "a") as fh:
        fh.write(f"{nodeid} {resident}\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="local")
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    records = [json.loads(x) for x in (ROOT / "data/demo.jsonl").read_text(encoding="utf-8").splitlines() if x]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        (root / "tasks").mkdir()
        rows = [{**r, "instance_id": f"{r['instance_id']}-copy{i}"} for i in range(args.copies) for r in records]
        (root / "data/mem.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        suite = (ROOT / "tasks/demo.yaml").read_text(encoding="utf-8")
        suite = suite.replace("name: demo\n", "name: mem\n").replace("../data/demo.jsonl", "../data/mem.jsonl")
        (root / "tasks/mem.yaml").write_text(suite, encoding="utf-8")
        (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        rss_file = root / "rss.txt"
        argv = [sys.executable, "-m", "pytest", "tasks/mem.yaml", "-p", "no:cacheprovider", "-q"]
        argv += [f"--isobench-backend={args.backend}", f"--isobench-cache-dir={root / 'cache'}"]
        argv += [f"--isobench-results={root / 'results'}", "--isobench-max-time=3", "--isobench-min-rounds=5"]
        env = {**os.environ, "ISOBENCH_BENCH_RSS": str(rss_file)}
        proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
        lines = rss_file.read_text(encoding="utf-8").split("\n") if rss_file.exists() else []
        samples = [(n, int(v)) for n, v in (x.split() for x in lines if x)]
        tail = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    if len(samples) < 20:
        sys.exit(f"only {len(samples)} tasks ran: {tail[0]}")
    mib = 1024 * 1024
    print(f"{len(samples)} tasks, backend {args.backend}: {tail[0]}")
    for i in (1, 2, 4, 8, 12, 16, 20):
        print(f"  RSS after task {i:2d}: {samples[i - 1][1] / mib:7.1f} MiB  ({samples[i - 1][0]})")
    after2, after20 = samples[1][1], samples[19][1]
    print(f"RSS after 20 / after 2 = {after20 / after2:.3f}  (target <= 1.10)")
    print(f"RSS after 20 / after 4 = {after20 / samples[3][1]:.3f}  (every task's code paths loaded once)")


if __name__ == "__main__":
    main()
