"""What collecting 10,000 dataset tasks costs next to collecting 10,000 plain pytest tests.

Both sides run ``pytest --collect-only -q -p no:cacheprovider`` in a fresh interpreter with
the same installed plugins and the same (empty) ini file: (a) one test function
parametrized over ``range(10000)``, (b) a generated suite over a generated 10,000-record
commit-level JSONL dataset. Runs alternate (plain, isobench, isobench, plain, ...) after
one uncounted warm-up of each; the script reports the median wall time (measured from
the parent, interpreter start included), the CPU time and peak RSS each child reports for
itself, and the isobench/plain ratios (target: wall time and RSS <= 1.5). It also times
loading the real 99-record vLLM file and shows the loaded tasks hold no diff text.

Run: ``python benchmarks/bench_collect.py [--tasks 10000] [--reps 5] [--check]``. A script,
not a test: it prints figures; with ``--check`` it exits 1 when a ratio is over target.
It writes only under a temporary directory it removes.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_isobench.dataset import load_source

ROOT = Path(__file__).resolve().parents[1]
REAL_FILE = ROOT.parent / "shared" / "datasets" / "vllm-perf-commits.jsonl"
TARGET = 1.5

# The child: run pytest in-process, then report its own peak RSS (KiB on Linux) and CPU time.
_CHILD = """
import resource, sys
import pytest
code = pytest.main(sys.argv[1:])
use = resource.getrusage(resource.RUSAGE_SELF)
print("BENCH_MAXRSS_KB=%d" % use.ru_maxrss, file=sys.stderr)
print("BENCH_CPU_S=%.4f" % (use.ru_utime + use.ru_stime), file=sys.stderr)
sys.exit(int(code))
"""

_FLAGS = ["--collect-only", "-q", "-p", "no:cacheprovider"]

_DIRS = ["vllm", "csrc", "benchmarks", "tests", "vllm/model_executor", "vllm/attention"]
_WORDS = [
    "fused",
    "moe",
    "kernel",
    "cache",
    "sampler",
    "scheduler",
    "prefill",
    "decode",
    "attention",
    "quant",
    "fp8",
    "cuda",
    "graph",
    "batch",
    "tokenizer",
    "lora",
]
_MODELS = [
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "deepseek-ai/DeepSeek-V3",
]


def _record(rng: random.Random, index: int) -> dict[str, object]:
    words = rng.sample(_WORDS, 4)
    files = [f"{rng.choice(_DIRS)}/{rng.choice(_WORDS)}_{rng.randrange(99)}.py" for _ in range(rng.randint(1, 12))]
    model = rng.choice(_MODELS)
    return {
        "commit_hash": f"{rng.getrandbits(160):040x}",
        "commit_subject": f"[Perf] {' '.join(words).capitalize()} (#{10000 + index})",
        "commit_date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z",
        "pr_url": f"https://github.com/vllm-project/vllm/pull/{10000 + index}",
        "perf_command": (
            f"python benchmarks/benchmark_throughput.py --model {model} --input-len "
            f"{rng.choice([128, 512, 1024])} --output-len 128"
            if rng.random() < 0.6
            else None
        ),
        "models": [model],
        "apis": [f"vllm.{w}.{w.capitalize()}Impl.forward" for w in words[: rng.randint(1, 4)]],
        "files_changed": files,
        "functions_changed": [f"{w}_step" for w in words[:2]],
        "stats": {"num_files": len(files), "num_hunks": rng.randint(1, 40), "num_edited_lines": rng.randint(2, 800)},
        "has_serving": rng.random() < 0.3,
        "has_performance": True,
    }


def write_inputs(root: Path, n: int) -> tuple[Path, Path]:
    plain = root / "plain"
    plain.mkdir()
    (plain / "pytest.ini").write_text("[pytest]\n")
    (plain / "test_plain.py").write_text(
        f'import pytest\n\n\n@pytest.mark.parametrize("i", range({n}))\ndef test_plain(i):\n    pass\n'
    )
    iso = root / "isobench"
    (iso / "tasks").mkdir(parents=True)
    (iso / "data").mkdir()
    (iso / "pytest.ini").write_text("[pytest]\n")
    rng = random.Random(20240601)
    with (iso / "data" / "gen.jsonl").open("w") as fh:
        for index in range(n):
            fh.write(json.dumps(_record(rng, index)) + "\n")
    (iso / "tasks" / "gen.yaml").write_text(
        "name: gen\ndataset: ../data/gen.jsonl\nrepo: https://github.com/vllm-project/vllm.git\ngpus_required: 1\n"
    )
    return plain, iso


def run_child(cwd: Path, target: str, expect: int) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS KiB) of one fresh ``pytest --collect-only`` process."""
    cmd = [sys.executable, "-c", _CHILD, target, *_FLAGS]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or f"{expect} tests collected" not in proc.stdout:
        tail = (proc.stdout[-800:] + proc.stderr[-800:]).strip()
        raise SystemExit(f"collection in {cwd} failed (exit {proc.returncode}):\n{tail}")
    found = dict(line.split("=", 1) for line in proc.stderr.splitlines() if line.startswith("BENCH_"))
    return wall, float(found["BENCH_CPU_S"]), int(found["BENCH_MAXRSS_KB"])


def real_file_figures() -> None:
    if not REAL_FILE.is_file():
        print(f"real file: {REAL_FILE} absent, skipped")
        return

    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        result = load_source(str(REAL_FILE))
        times.append(time.perf_counter() - t0)
    tasks = result.tasks
    held = sum(len(t.model_dump_json()) for t in tasks)
    with_diff = sum(1 for t in tasks if "diff_text" in t.extra or "diff_text" in t.model_dump())
    size = REAL_FILE.stat().st_size
    print(f"real file: {REAL_FILE.name}, {len(tasks)} tasks, {size / 1e6:.1f} MB on disk")
    print(f"  load time: median {statistics.median(times) * 1000:.1f} ms over {len(times)} loads")
    print(
        f"  tasks holding diff_text: {with_diff}; all tasks as JSON: {held / 1e3:.0f} kB "
        f"({held / size:.1%} of the file)"
    )
    diff = tasks[0].long_field("diff_text")
    print(f"  tasks[0].long_field('diff_text'): {len(diff or '')} characters, read back on demand")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio is over 1.5")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="isobench-bench-collect-") as tmp:
        plain, iso = write_inputs(Path(tmp), args.tasks)
        sides = {
            "plain": (plain, "test_plain.py"),
            "isobench": (iso, "tasks/gen.yaml"),
        }
        samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in sides}
        for cwd, target in sides.values():
            run_child(cwd, target, args.tasks)  # warm-up: .pyc files, page cache
        for rep in range(args.reps):
            order = list(sides) if rep % 2 == 0 else list(reversed(sides))
            for name in order:
                cwd, target = sides[name]
                samples[name].append(run_child(cwd, target, args.tasks))

    print(
        f"pytest --collect-only -q -p no:cacheprovider, {args.tasks} items, "
        f"{args.reps} alternating runs each, Python {sys.version.split()[0]}"
    )
    medians: dict[str, tuple[float, float, float]] = {}
    for name, runs in samples.items():
        walls = [w for w, _, _ in runs]
        cpus = [c for _, c, _ in runs]
        rss = [r / 1024 for _, _, r in runs]
        medians[name] = (statistics.median(walls), statistics.median(cpus), statistics.median(rss))
        print(
            f"  {name:9s} wall median {medians[name][0]:6.2f} s "
            f"(min {min(walls):.2f}, max {max(walls):.2f})  "
            f"CPU median {medians[name][1]:6.2f} s  "
            f"peak RSS median {medians[name][2]:6.1f} MiB"
        )
    time_ratio = medians["isobench"][0] / medians["plain"][0]
    cpu_ratio = medians["isobench"][1] / medians["plain"][1]
    rss_ratio = medians["isobench"][2] / medians["plain"][2]
    verdict = "ok" if max(time_ratio, rss_ratio) <= TARGET else "OVER TARGET"
    print(
        f"  ratio isobench/plain: wall time {time_ratio:.2f}, CPU time {cpu_ratio:.2f}, "
        f"peak RSS {rss_ratio:.2f} (target <= {TARGET} for wall time and RSS: {verdict})"
    )
    load = Path("/proc/loadavg")
    if load.is_file():
        print(
            f"  load average at the end: {load.read_text().split()[0]} "
            "(wall times are noisy on a busy machine; CPU time less so)"
        )
    real_file_figures()
    return 1 if args.check and verdict != "ok" else 0


if __name__ == "__main__":
    sys.exit(main())
