"""Soak: many short synthetic tasks under ``-n 2`` with faults injected at random, 1 in 10.

Run: ``python benchmarks/bench_soak.py [--tasks 200] [--seed 1] [--backend local|docker]``.
It builds a synthetic repository of ``--tasks`` commits (``tests/faultkit.py``), gives one
task in ten a fault chosen at random (seeded) from: the perf test crashes, hangs past its
limit, leaves a background process behind, prints 64 MB, or its xdist worker dies
(``os._exit`` in the call phase), runs pytest once with ``-n 2``, and prints: tasks
recorded, lost (no record at all), recorded as lost with their worker, leftovers (worktree
files, containers of the run, processes of the run) and the controller's peak RSS. A
second table gives each fault's count and the statuses its tasks got. Asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from faultkit import make_project  # noqa: E402

MARKER = "4242.125"  # the background child's sleep: found among processes afterwards
FAULTS = {
    "crash": "sys.exit(3)",
    "hang": "time.sleep(600)",
    "background": f"import subprocess; subprocess.Popen(['sleep', '{MARKER}'])",
    "flood": "sys.stdout.write('x' * (64 << 20) + '\\n')",
    "worker-death": "",  # done by the conftest below, in the worker itself
}
CONFTEST = """\
import os

DIE = set(os.environ.get("SOAK_DIE", "").split(","))


def pytest_runtest_call(item):
    if item.name in DIE:
        os._exit(3)
"""


def _peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _processes(marker: str, under: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if marker in cmd or cwd.startswith(str(under)):
            found.append(f"{entry.name}: {cmd[:80]}")
    return found


def _containers(run_ids: set[str]) -> list[str]:
    try:
        import docker

        client = docker.from_env(timeout=10)
        names = [
            c.name for r in run_ids for c in client.containers.list(all=True, filters={"label": f"io.isobench.run={r}"})
        ]
        client.close()
        return names
    except Exception:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.1, help="share of tasks given a fault")
    parser.add_argument("--backend", default="local", choices=("local", "docker"))
    parser.add_argument("--workers", default="2")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    plan = [rng.choice(list(FAULTS)) if rng.random() < args.rate else "" for _ in range(args.tasks)]
    with tempfile.TemporaryDirectory(prefix="isobench-soak-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        project = make_project(
            base / "p",
            tasks=args.tasks,
            delay_s=0.002,
            extra=[FAULTS.get(f, "") for f in plan],
            suite={
                "perf": {"python": "python3", "timeout_s": 3},
                "timing": {"warmup": 0, "min_rounds": 2, "max_time_s": 0.5, "target_ci": 0.5},
            },
            name="soak",
        )
        (project.path / "conftest.py").write_text(CONFTEST)
        die = [item for item, fault in zip(project.ids, plan, strict=True) if fault == "worker-death"]
        cache, results = base / "cache", base / "results"
        argv = [sys.executable, "-m", "pytest", *project.args(cache, results), f"--isobench-backend={args.backend}"]
        argv += ["-n", args.workers, "-q", "--max-worker-restart=1000"]
        print(f"built {args.tasks} tasks in {time.perf_counter() - t0:.1f}s; faults: {collections.Counter(plan)}")
        t0 = time.perf_counter()
        with (base / "out.txt").open("wb") as out:
            proc = subprocess.Popen(
                argv,
                cwd=project.path,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "SOAK_DIE": ",".join(die)},
            )
            peak = 0
            while proc.poll() is None:
                peak = max(peak, _peak_rss_kb(proc.pid) or 0)
                time.sleep(0.2)
        wall = time.perf_counter() - t0
        recorded = {}
        for path in (results / "tasks").glob("*.json"):
            record = json.loads(path.read_text())
            recorded[record["item_id"]] = record
        lost = [i for i in project.ids if i not in recorded]
        lost_with_worker = [i for i, r in recorded.items() if r.get("lost")]
        worktree_files = (
            [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
        )
        procs = _processes(MARKER, base)
        containers = _containers({r["run_id"] for r in recorded.values()})
        summary = results / "summary.json"
        print(f"pytest exit status {proc.returncode} after {wall:.1f}s ({args.backend}, -n {args.workers})")
        print(f"tasks recorded:        {len(recorded)} / {args.tasks}")
        print(f"tasks lost (no record): {len(lost)} {lost[:5]}")
        with_fields = [i for i in lost_with_worker if recorded[i].get("head_commit") and recorded[i].get("instance_id")]
        print(f"lost with a worker, recorded as error: {len(lost_with_worker)} (planned {len(die)})")
        print(f"  of them with the task's fields (instance id, commits): {len(with_fields)}")
        print(f"summary.json written:  {summary.is_file()}")
        notes = [p for p in (cache / "runs").rglob("*") if p.is_file()] if (cache / "runs").exists() else []
        print(
            f"leftovers: {len(worktree_files)} worktree files, {len(containers)} containers, {len(procs)} processes, "
            f"{len(notes)} run-state notes"
        )
        for p in procs[:5]:
            print(f"  process {p}")
        print(f"controller peak RSS:   {peak / 1024:.1f} MiB")
        print()
        print(f"{'fault':<14} {'tasks':>5}  statuses")
        by_fault: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for item_id, fault in zip(project.ids, plan, strict=True):
            by_fault[fault or "none"][recorded.get(item_id, {}).get("status", "NO RECORD")] += 1
        for fault, statuses in sorted(by_fault.items()):
            print(f"{fault:<14} {sum(statuses.values()):>5}  {dict(statuses)}")
        unfaulted = [i for i, f in zip(project.ids, plan, strict=True) if not f and i in recorded]
        for item_id in [i for i in unfaulted if recorded[i]["status"] == "error"][:5]:
            reason = (recorded[item_id].get("reason") or "").strip().splitlines()
            print(f"  error without a fault: {item_id}: {reason[0][:160] if reason else '?'}")


if __name__ == "__main__":
    main()
