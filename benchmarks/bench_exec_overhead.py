"""What one command costs through the docker sandbox, next to a host process: the harness's
own overhead per timed repetition, and the container start time per variant.

Run: ``python benchmarks/bench_exec_overhead.py [--image IMAGE] [--reps 30]``. It needs a
Docker engine and the image (default: the demo image). A script, not a test: it prints a
table and asserts nothing; it must not leave a container behind.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.protocol import SandboxSpec

if TYPE_CHECKING:
    from collections.abc import Callable


def _ms(samples: list[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    ordered = sorted(s * 1000 for s in samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return statistics.median(ordered), p90


def _time(fn: Callable[[], object], reps: int) -> list[float]:
    fn()  # warm-up, not counted
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _repo(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    git("init", "-q")
    (root / "m.py").write_text("print('hello')\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    return git("rev-parse", "HEAD").strip()


def _exec_rows(sandbox: DockerSandbox, reps: int) -> list[tuple[str, float, float]]:
    host = _time(lambda: subprocess.run(["true"], check=True), reps)
    raw = _time(lambda: sandbox.container.exec_run(["true"]), reps)
    wrapped = _time(lambda: sandbox.exec("true", 10), reps)
    return [
        ("host subprocess `true`", *_ms(host)),
        ("container exec_run `true`", *_ms(raw)),
        ("sandbox.exec `true` (timeout + sh)", *_ms(wrapped)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="docker sandbox exec and start overhead")
    parser.add_argument("--image", default="isobench-demo:bookworm")
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    client = engine_client()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        commit = _repo(Path(tmp))
        starts: list[float] = []
        overhead = float("nan")
        for i in range(3):
            spec = SandboxSpec("bench", "baseline", Path(tmp), commit, image=args.image, run_id=f"bench-{i}")
            sandbox = DockerSandbox(spec, client)
            try:
                t0 = time.perf_counter()
                sandbox.start()
                total = time.perf_counter() - t0
                starts.append(sandbox.start_s)
                if i == 0:
                    rows.append(("start: full (create + checkout)", total * 1000, float("nan")))
                    rows += _exec_rows(sandbox, args.reps)
                    overhead = rows[-1][1] - rows[-3][1]
            finally:
                sandbox.close()
        rows.insert(0, ("container start (3 starts)", *_ms(starts)))
    client.close()
    print(f"{args.reps} repetitions each, after one warm-up; image {args.image}")
    print(f"{'what':<38} {'median ms':>10} {'p90 ms':>8}")
    for name, med, p90 in rows:
        p90_text = "" if p90 != p90 else f"{p90:8.1f}"
        print(f"{name:<38} {med:10.1f} {p90_text:>8}")
    print(f"sandbox.exec overhead over a host process (median): {overhead:.1f} ms")


if __name__ == "__main__":
    main()
