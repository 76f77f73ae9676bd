"""The harness's noise cost: the spread of its samples next to hyperfine's on the host.

Run: ``python benchmarks/bench_noise.py [--rounds 20]``. In one run, on the demo's
precompile-regex perf test (demo-ac9bebc0) at the baseline commit:

1. the harness (``pytest tasks/demo.yaml -k ac9bebc0 --isobench-backend=docker``, no agent)
   with ``--isobench-min-rounds=N``: the coefficient of variation (stddev / mean) of the
   baseline variant's samples, both the script's own ``time_s`` and the exec's wall time;
2. ``hyperfine --runs N --export-json`` timing the same script as a whole process on the
   host, in a git worktree of the baseline commit;
3. the script run N times on the host by this script, the CV of its own ``time_s``.

It prints the CVs and the ratios harness / host (aim: 1.2 or less). Needs Docker, the demo
image and ``hyperfine`` (``apt-get install hyperfine``). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_isobench.demo.repository import demo_repo

ROOT = Path(__file__).resolve().parents[1]
TASK = "demo-precompile-regex"


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.mean(values)


def _harness(root: Path, cache: Path, rounds: int) -> dict[str, list[float]]:
    for rel in ("tasks/demo.yaml", "data/demo.jsonl"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, root / rel)
    results = root / "results"
    argv = [sys.executable, "-m", "pytest", "tasks/demo.yaml", "-p", "no:cacheprovider", "-q", "-k", "ac9bebc0"]
    argv += ["--isobench-backend=docker", f"--isobench-cache-dir={cache}", f"--isobench-results={results}"]
    # Exactly N rounds: the run is decided after min_rounds, and max-time leaves room.
    argv += [f"--isobench-min-rounds={rounds}", "--isobench-max-time=300"]
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        sys.exit(f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    record = json.loads(next((results / "tasks").glob("*.json")).read_text(encoding="utf-8"))
    data = record["perf_tests"][0]["variants"]["baseline"]
    return {"values": data["values"], "walls": data["walls"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        sys.exit("hyperfine not found: apt-get install hyperfine")
    task = next(json.loads(x) for x in (ROOT / "data/demo.jsonl").open() if json.loads(x)["instance_id"] == TASK)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        repo = demo_repo(cache)
        harness = _harness(root / "project", cache, args.rounds)

        tree = root / "baseline"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "-q", "--detach", str(tree), task["base_commit"]])
        try:
            (tree / "_perf.py").write_text(task["perf_tests"][0]["script"], encoding="utf-8")
            export = root / "hyperfine.json"
            command = [hyperfine, "-N", "--warmup", "1", "--runs", str(args.rounds), "--export-json", str(export)]
            subprocess.run(
                [*command, "python3 _perf.py"],
                cwd=tree,
                check=True,
                capture_output=True,
            )
            whole = json.loads(export.read_text(encoding="utf-8"))["results"][0]["times"]
            own = []
            subprocess.run(["python3", "_perf.py"], cwd=tree, check=True, capture_output=True)
            for _ in range(args.rounds):
                out = subprocess.run(["python3", "_perf.py"], cwd=tree, check=True, capture_output=True, text=True)
                own.append(float(json.loads(out.stdout.strip().splitlines()[-1])["time_s"]))
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=False)

    rows = [
        ("harness (docker) time_s", harness["values"]),
        ("harness (docker) exec wall", harness["walls"]),
        ("hyperfine (host) whole process", whole),
        ("host script's own time_s", own),
    ]
    print(f"{TASK} baseline, {args.rounds} samples each (after warm-up)")
    print(f"{'what':<34} {'mean ms':>9} {'CV %':>7}")
    for name, values in rows:
        print(f"{name:<34} {statistics.mean(values) * 1000:9.1f} {cv(values) * 100:7.2f}")
    print(f"ratio harness time_s CV / host time_s CV      = {cv(harness['values']) / cv(own):.2f}  (aim <= 1.2)")
    print(f"ratio harness time_s CV / hyperfine CV        = {cv(harness['values']) / cv(whole):.2f}")
    print(f"ratio harness exec-wall CV / hyperfine CV     = {cv(harness['walls']) / cv(whole):.2f}")


if __name__ == "__main__":
    main()
