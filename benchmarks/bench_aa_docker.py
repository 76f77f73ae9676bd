"""A real A/A on the demo suite in Docker under bursty background load.

Run: ``python benchmarks/bench_aa_docker.py --tasks 40 [--out DIR] [--max-time S]``.

Runs ``pytest tasks/demo.yaml --isobench-agent=human --isobench-backend=docker`` (the
agent's code is byte for byte the human's, so the right answer is "similar" every time)
again and again until ``--tasks`` task runs are recorded, while this script keeps the
machine busy in bursts: one worker per core, pinned to it (the demo's containers run on
core 0), each alternating idle spells of 0.05 to 1.5 s and CPU-bound spells of 0.05 to
1.0 s, at random. The load starts before the first run and stops when the script ends.

``--setup-experiment`` runs the demo's template-cache task twice per suite run: with its
JSON-protocol perf test and with the same workload written in ISO-Bench's / GSO's
``setup-experiment`` shape (``benchmarks/data/template_cache_setup_experiment.py``, timed
by the harness's driver, its equivalence checked), and prints the figures of each shape
apart and the ratio of their median half-widths (target: within 1.5x).

``--cpuset N`` runs the containers on core(s) N instead of the suite's core 0 (say, a core
kept free of other work, to measure this machine's quiet noise floor).

Resumable: every suite run writes its records under ``DIR/run-NNN/`` at once; a second
invocation with the same ``--out`` counts what is there and runs only the rest (so a
shared machine can be given back between subsets: ``--tasks 8`` now, ``--tasks 40``
later). ``--report`` prints the figures of ``DIR`` without running anything.

Prints, per task run, the category and the agent/human interval with its width, then the
wrong categories (beats/worse; target <= 5%), the share of intervals inside +-5%
("similar"; target >= 90%), the median half-width and this machine's noise floor (the
median per-round spread of agent/human). Needs the Docker engine and the demo image
``isobench-demo:bookworm``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_isobench.report.aa import aa_lines, aa_task

ROOT = Path(__file__).resolve().parents[1]
IDS = ("demo-65ce4b7f", "demo-866ff223", "demo-ac9bebc0", "demo-c7a161c8")
SE_SCRIPT = Path(__file__).resolve().parent / "data" / "template_cache_setup_experiment.py"
SE_BASE = "demo-template-cache"
SE_ID = "demo-template-cache-setup-experiment"


def add_setup_experiment_task(dataset: Path) -> str:
    """Append the template-cache task with its perf test in the setup-experiment shape; the
    item id the two template-cache tasks share (``-k`` selects both)."""
    records = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    (base,) = [r for r in records if r["instance_id"] == SE_BASE]
    extra = {
        **base,
        "instance_id": SE_ID,
        "perf_tests": [{"name": "template-cache-se", "script": SE_SCRIPT.read_text()}],
    }
    with dataset.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(extra) + "\n")
    return f"demo-{base['head_commit'][:8]}"


def shape_of(record: dict[str, Any]) -> str:
    tests = record.get("perf_tests") or [{}]
    return str(tests[0].get("shape") or ("setup-experiment" if record.get("instance_id") == SE_ID else "json"))


def burst_worker(core: int, seed: int, stop: Any) -> None:
    """Alternate idle and CPU-bound spells of random length on one core until ``stop``."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    rng = random.Random(seed)
    while not stop.is_set():
        if stop.wait(rng.uniform(0.05, 1.5)):
            return
        until = time.monotonic() + rng.uniform(0.05, 1.0)
        x = 0
        while time.monotonic() < until:
            for i in range(10_000):
                x += i * i


def read_records(out: Path) -> list[dict[str, Any]]:
    records = []
    for run in sorted(out.glob("run-*")):
        for path in sorted((run / "tasks").glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue  # a run killed while writing: that task is run again
            record["item_id"] = f"{run.name}/{record.get('item_id', '?')}"
            records.append(record)
    return records


def override(suite: Path, old: str, new: str, flag: str) -> None:
    """Replace the suite's ``old`` line with ``new`` (the value ``flag`` gives)."""
    text = suite.read_text(encoding="utf-8")
    if old not in text:
        sys.exit(f"tasks/demo.yaml: expected {old.strip()!r}, to override with {flag}")
    suite.write_text(text.replace(old, new), encoding="utf-8")


def suite_run(
    out: Path,
    index: int,
    ids: list[str],
    extra: list[str],
    load: str,
    cpuset: str | None = None,
    min_time: float | None = None,
    perf_lines: tuple[str, ...] = (),
    setup_experiment: bool = False,
) -> int:
    """One ``pytest tasks/demo.yaml --isobench-agent=human`` over ``ids``, records to ``out/run-NNN``."""
    results = out / f"run-{index:03d}"
    results.mkdir(parents=True, exist_ok=True)
    (results / "bench.json").write_text(json.dumps({"load": load, "args": extra}) + "\n", encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="isobench-aa-") as tmp:
        root = Path(tmp)
        for rel in ("tasks/demo.yaml", "data/demo.jsonl"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / rel, root / rel)
        suite = root / "tasks" / "demo.yaml"
        if setup_experiment:
            ids = [add_setup_experiment_task(root / "data" / "demo.jsonl")]
        if min_time is not None:
            override(suite, "min_time_s: 0.01\n", f"min_time_s: {min_time:g}\n", "--min-time")
        if perf_lines:  # more keys of the suite's perf section (--no-lockstep, --passes)
            text = suite.read_text(encoding="utf-8")
            added = "".join(f"  {line}\n" for line in perf_lines)
            suite.write_text(text.replace("\nperf:\n", f"\nperf:\n{added}", 1), encoding="utf-8")
        if cpuset is not None:
            override(suite, 'cpuset: "0"', f'cpuset: "{cpuset}"', "--cpuset")
        argv = [sys.executable, "-m", "pytest", "tasks/demo.yaml", "-p", "no:cacheprovider", "-q", "-rN"]
        argv += ["--isobench-agent=human", "--isobench-backend=docker", f"--isobench-results={results}"]
        argv += [f"--isobench-cache-dir={out / 'cache'}", "-k", " or ".join(i.split("-", 1)[1] for i in ids), *extra]
        started = time.monotonic()
        code = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
        took = time.monotonic() - started
    print(f"run-{index:03d}: {len(ids)} task(s), pytest exit {code.returncode}, {took:.0f} s", flush=True)
    if code.returncode not in (0, 1):
        print(code.stdout[-3000:] + code.stderr[-2000:], file=sys.stderr)
    return code.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40, help="task runs wanted in --out in all (default 40)")
    parser.add_argument("--out", type=Path, default=ROOT / ".isobench" / "bench-aa", help="results, kept for resume")
    parser.add_argument("--max-time", type=float, default=None, help="budget per task (default: the suite's)")
    parser.add_argument("--no-load", action="store_true", help="no background load (for comparison)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--min-time", type=float, default=None, help="the perf tests' seconds per pass (suite: 0.01)")
    parser.add_argument("--cpuset", default=None, help="the containers' cores instead of the suite's \"0\"")
    parser.add_argument("--no-lockstep", action="store_true", help="variants one process after another (old)")
    parser.add_argument("--passes", type=int, default=None, help="passes per variant per lockstep round (suite: 10)")
    parser.add_argument("--report", action="store_true", help="print the figures of --out, run nothing")
    parser.add_argument(
        "--setup-experiment",
        action="store_true",
        help="template-cache twice per run: its JSON test and the same workload in the setup-experiment shape",
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    extra = [] if args.max_time is None else [f"--isobench-max-time={args.max_time}"]

    load = "none" if args.no_load else "bursty, one worker per core"
    if args.cpuset is not None:
        load += f"; containers on cpuset {args.cpuset}"
    if args.min_time is not None:
        load += f"; perf.min_time_s {args.min_time:g}"
    perf_lines: list[str] = []
    if args.no_lockstep:
        perf_lines.append("lockstep: false")
    if args.passes is not None:
        perf_lines.append(f"passes: {args.passes}")
    if perf_lines:
        load += "; perf." + ", perf.".join(perf_lines)
    done = read_records(out)
    wanted = 0 if args.report else max(0, args.tasks - len(done))
    if wanted:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
        stop = multiprocessing.Event()
        workers = []
        if not args.no_load:
            for n, core in enumerate(cores):
                worker = multiprocessing.Process(target=burst_worker, args=(core, args.seed * 1000 + n, stop))
                worker.start()
                workers.append(worker)
            print(f"bursty load: {len(workers)} worker(s) on cores {cores}", flush=True)
        try:
            index = max((int(p.name.split("-")[1]) for p in out.glob("run-*")), default=0) + 1
            while wanted > 0:
                ids = list(IDS[: min(wanted, len(IDS))])
                suite_run(
                    out, index, ids, extra, load, args.cpuset, args.min_time, tuple(perf_lines), args.setup_experiment
                )
                index += 1
                now = len(read_records(out))
                if now == len(done):
                    sys.exit("a suite run recorded no task: stopping (see the output above)")
                wanted -= now - len(done)
                done = read_records(out)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=5)
                if worker.is_alive():
                    worker.terminate()
    records = read_records(out)
    runs = {}
    for run in sorted(out.glob("run-*")):
        try:
            runs[run.name] = json.loads((run / "bench.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            runs[run.name] = {"load": "bursty, one worker per core (not recorded)", "args": []}
    loads = sorted({str(r["load"]) + (" " + " ".join(r["args"]) if r["args"] else "") for r in runs.values()})
    print(f"\nA/A, demo suite, Docker, --isobench-agent=human; {len(runs)} suite runs; load: {'; '.join(loads)}")
    print(f"results: {out}")
    print("\n".join(aa_lines([aa_task(r) for r in records])))
    shapes = sorted({shape_of(r) for r in records})
    if len(shapes) > 1:
        widths = {}
        for shape in shapes:
            tasks = [aa_task(r) for r in records if shape_of(r) == shape]
            print(f"\nperf-test shape {shape}:")
            print("\n".join(aa_lines(tasks)[-5:]))
            halves = [w for t in tasks if (w := t.half_width) is not None]
            widths[shape] = statistics.median(halves) if halves else math.nan
        if {"json", "setup-experiment"} <= widths.keys():
            ratio = widths["setup-experiment"] / widths["json"]
            print(f"\nmedian half-width, setup-experiment / json: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
