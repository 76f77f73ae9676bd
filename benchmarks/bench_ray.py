"""Ray executor: wall time against a serial run, the per-task overhead Ray adds, controller memory.

Run: ``python benchmarks/bench_ray.py [--tasks 16] [--delay 0.25] [--rounds 6] [--memory-tasks 1000]``.
Starts a local Ray cluster (a head and two nodes declaring 2 GPUs each: 4 GPUs), prints
how long that took, and

1. builds a git repository with ``--tasks`` performance commits whose perf tests mostly
   wait (the baseline sleeps ``2 x --delay``, the human commit ``--delay``), each task
   needing one GPU, timed from ``--rounds`` rounds on against a loose precision target
   (both runs stop at the same look: the same work; the rounds are printed); runs the
   suite serially (``--isobench-backend=local``, no Ray) and on the cluster
   (``--isobench-ray``), and prints both wall times and the speedup;
2. prints the per-task overhead Ray adds, defined per task as its Ray wall time minus the
   time the same task took in the serial run (pytest's duration of its item there). Its
   Ray wall time runs from the moment it was placeable (its measurement submitted and,
   when an earlier measurement held the same GPU of the same node, that one ended) to its
   record arriving at the controller. The overhead splits into Ray's own part (placeable
   -> start on the node, plus end on the node -> record on the controller), shown apart
   for a phase that was the first on its worker process (the Ray worker booting and
   importing the plugin: once per worker, per run) and one on a reused worker, and the
   rest (the work itself slower on the node than serially: other tasks on the same cores,
   a clone of the repository per node);
3. runs ``--memory-tasks`` small synthetic tasks (the executor's synthetic work: no
   repository, each phase returns a record at once) and prints the controller's resident
   set size as the tasks finish, and its peak (target: flat).

Prints figures only; asserts nothing. The machine this was written on has 2 cores: the
cluster declares few CPUs and a small object store, and is shut down in ``finally``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import local_cluster, measurement_overlaps, synthetic_suite  # noqa: E402

PERF = """import json, time
from work import DELAY
t0 = time.perf_counter()
time.sleep(DELAY)
print(json.dumps({"time_s": time.perf_counter() - t0}))
"""

RSS_CONFTEST = """
import os

from pytest_isobench.executors.ray_plugin import WORK_KEY
from pytest_isobench.executors.synthetic import SYNTHETIC_WORK

OUT = os.environ["ISOBENCH_BENCH_RSS"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def pytest_configure(config):
    config.stash[WORK_KEY] = SYNTHETIC_WORK


def pytest_runtest_logfinish(nodeid, location):
    with open("/proc/self/statm") as fh:
        resident = int(fh.read().split()[1]) * PAGE
    with open(OUT, "a") as fh:
        fh.write(f"{resident}\\n")
"""


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@b"
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env).stdout


def waiting_suite(root: Path, tasks: int, delay: float, rounds: int) -> None:
    """A repository of ``tasks`` commits that halve a sleep, and a suite over them (1 GPU each)."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    rows = []
    for i in range(tasks):
        for d in (2 * delay, delay):
            (repo / "work.py").write_text(f"DELAY = {d!r}  # task {i}\n", encoding="utf-8")
            _git(repo, "add", "-A")
            _git(repo, "commit", "-q", "-m", f"task {i}: delay {d}")
            if d == delay:
                head = _git(repo, "rev-parse", "HEAD").strip()
        rows.append(
            {
                "instance_id": f"wait-{i:02d}",
                "head_commit": head,
                "perf_tests": [{"name": "wait", "script": PERF}],
            }
        )
    (root / "data").mkdir()
    (root / "tasks").mkdir()
    (root / "data/wait.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    # A 2x speedup against a +-50% precision target: an early look stops it, the same in both runs.
    timing = f"timing:\n  warmup: 0\n  min_rounds: {rounds}\n  max_time_s: 120\n  target_ci: 0.5\n"
    for gpus, file in ((1, "wait.yaml"), (0, "wait_serial.yaml")):  # no GPU here: the serial run asks for none
        (root / "tasks" / file).write_text(
            f"name: wait\ndataset: ../data/wait.jsonl\nrepo: {repo}\ngpus_required: {gpus}\n"
            f"perf:\n  python: python3\n{timing}",
            encoding="utf-8",
        )


def run_pytest(root: Path, results: Path, *args: str, env: dict[str, str] | None = None) -> tuple[float, str]:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--isobench-backend=local"]
    argv += [f"--isobench-results={results}", f"--isobench-cache-dir={root / 'cache'}", *args]
    begin = time.perf_counter()
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - begin
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
    return wall, tail


def load(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((results / "tasks").glob("*.json"))]


def junit_times(junit: Path) -> dict[str, float]:
    """Each item's duration (setup + call + teardown) as pytest measured it, by item name."""
    return {case.get("name", ""): float(case.get("time", "0")) for case in ET.parse(junit).iter("testcase")}


@dataclass
class TaskSpan:
    """One task of the Ray run, seen from the controller and from the node that measured it."""

    item_id: str
    placeable: float  # its measurement submitted and the GPU it got free on its node
    received: float  # its record on the controller
    start: float  # the phase's start on the node (after the worker took it)
    end: float  # the phase's end on the node
    fresh_worker: bool  # the first phase its worker process ran in this run

    @property
    def ray_part(self) -> float:
        return (self.start - self.placeable) + (self.received - self.end)


def task_spans(records: list[dict[str, Any]]) -> list[TaskSpan]:
    runs = []
    for rec in records:
        ray = rec["ray"]
        run = next(r for r in ray["runs"] if r["phase"] == "measure")
        runs.append((rec["item_id"], ray["submitted"]["measure"], ray["received"], run))
    seen: set[tuple[str, int]] = set()
    spans = []
    for item_id, submitted, received, run in sorted(runs, key=lambda r: r[3]["start"]):
        freed = [
            other["end"]
            for other_id, _s, _r, other in runs
            if other_id != item_id
            and other["node_id"] == run["node_id"]
            and set(other["gpu_ids"]) & set(run["gpu_ids"])
            and other["end"] <= run["start"]
        ]
        worker = (run["node_id"], int(run.get("pid", 0)))
        spans.append(
            TaskSpan(item_id, max([submitted, *freed]), received, run["start"], run["end"], worker not in seen)
        )
        seen.add(worker)
    return spans


def _stats(values: list[float]) -> str:
    if not values:
        return "none"
    return f"mean {sum(values) / len(values):.3f} s, max {max(values):.3f} s (n={len(values)})"


def bench_waiting(cluster: Any, tmp: Path, tasks: int, delay: float, rounds: int) -> None:
    root = tmp / "wait"
    waiting_suite(root, tasks, delay, rounds)
    junit = root / "serial.xml"
    serial, serial_tail = run_pytest(root, root / "serial", "tasks/wait_serial.yaml", f"--junitxml={junit}")
    print(f"serial run (no Ray, local backend): {serial:.1f} s  [{serial_tail}]")
    on_ray, ray_tail = run_pytest(root, root / "ray", "tasks/wait.yaml", f"--isobench-ray={cluster.address}")
    print(f"Ray run (4 GPUs on 2 nodes):       {on_ray:.1f} s  [{ray_tail}]")
    print(f"wall time: serial {serial:.1f} s, on the cluster {on_ray:.1f} s: {serial / on_ray:.2f}x for {tasks} tasks")
    records = load(root / "ray")
    explain(records)
    serial_records = load(root / "serial")
    if not records or not serial_records:
        return
    own = junit_times(junit)
    print(
        "timing rounds per task: serial "
        f"{sorted({p['rounds'] for r in serial_records for p in r['perf_tests']})}, "
        f"on Ray {sorted({p['rounds'] for r in records for p in r['perf_tests']})}"
    )
    spans = task_spans(records)
    total = [s.received - s.placeable - own[s.item_id] for s in spans if s.item_id in own]
    print(f"serial time per task: {_stats(list(own.values()))}")
    print(f"overhead Ray adds per task (Ray wall of the task - its serial time): {_stats(total)} (target <= 1 s)")
    fresh = [s.ray_part for s in spans if s.fresh_worker]
    reused = [s.ray_part for s in spans if not s.fresh_worker]
    print(
        f"  Ray's own part (placeable -> start on node, end on node -> record): {_stats([s.ray_part for s in spans])}"
    )
    print(f"    phases on a fresh worker (its boot and imports, once per worker): {_stats(fresh)}")
    print(f"    phases on a reused worker:                                        {_stats(reused)}")
    rest = [s.end - s.start - own[s.item_id] for s in spans if s.item_id in own]
    print(f"  the work itself on the node - serially (shared cores, clone per node): {_stats(rest)}")
    print(f"GPU overlaps between measurements: {len(measurement_overlaps(records))}")


def explain(records: list[dict[str, Any]]) -> None:
    """Status counts, and the commonest reasons of the tasks that did not pass."""
    statuses = Counter(r["status"] for r in records)
    print("records: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    reasons = Counter(str(r.get("reason") or "")[:160] for r in records if r["status"] in ("error", "skipped"))
    for reason, count in reasons.most_common(3):
        print(f"  {count} x {reason}")


def bench_memory(cluster: Any, tmp: Path, tasks: int) -> None:
    root = tmp / "memory"
    synthetic_suite(root, [f"mem-{i:04d}" for i in range(tasks)], gpus=0)
    (root / "conftest.py").write_text(RSS_CONFTEST, encoding="utf-8")
    rss_file = root / "rss.txt"
    env = {"ISOBENCH_BENCH_RSS": str(rss_file), "ISOBENCH_SYNTHETIC_SLEEP": "0"}
    wall, tail = run_pytest(root, root / "results", "tasks/syn.yaml", f"--isobench-ray={cluster.address}", env=env)
    rss = [int(x) for x in rss_file.read_text(encoding="utf-8").split()] if rss_file.exists() else []
    print(f"{tasks} synthetic tasks on Ray: {wall:.1f} s  [{tail}]")
    explain(load(root / "results"))
    if len(rss) < 4:
        print("controller RSS: not enough samples")
        return
    marks = [len(rss) // 10, len(rss) // 4, len(rss) // 2, len(rss) - 1]
    shown = ", ".join(f"after {i + 1}: {rss[i] / 2**20:.1f} MiB" for i in marks)
    print(f"controller RSS {shown}")
    growth = (rss[-1] - rss[marks[0]]) / max(len(rss) - 1 - marks[0], 1)
    peak = max(rss) / 2**20
    print(f"controller peak RSS {peak:.1f} MiB; growth {growth / 1024:.2f} KiB per task after the first tenth")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--memory-tasks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        begin = time.perf_counter()
        with local_cluster(gpu_nodes=2, gpus_per_node=2) as cluster:
            print(f"local Ray cluster (head + 2 nodes, 4 GPUs) up in {time.perf_counter() - begin:.1f} s")
            if args.tasks:
                bench_waiting(cluster, Path(tmp), args.tasks, args.delay, args.rounds)
            if args.memory_tasks:
                bench_memory(cluster, Path(tmp), args.memory_tasks)


if __name__ == "__main__":
    main()
