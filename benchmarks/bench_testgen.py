"""What generating perf tests for 100 tasks costs against a slow model, and what the cache saves.

A loopback OpenAI-compatible server (``tests/fake_openai.py``) answers each request after
1 s. Pass 1 generates tests for 100 tasks with the default concurrency (8): the target
is at most 15 s (100 requests of 1 s over 8 connections is 12.5 s at best). Pass 2 runs
the same 100 jobs again: every test comes from ``generated_tests/`` with no request, and
its time is compared with a plain cached lookup (``cached_test`` per task) and with
``pytest --collect-only`` of 100 plain tests (target: the second pass adds at most 10%).

Run: ``python benchmarks/bench_testgen.py [--tasks 100] [--delay 1] [--concurrency 8]
[--check]``. A script, not a test: it prints figures; with ``--check`` it exits 1 when a
target is missed. It writes only under a temporary directory it removes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

from pytest_isobench.dataset.models import Task  # noqa: E402
from pytest_isobench.testgen import cache  # noqa: E402
from pytest_isobench.testgen.generate import GenJob, generate_missing  # noqa: E402

ANSWER = """Here it is.

```python
import hashlib, json, time

def main():
    start = time.perf_counter()
    result = sorted(range(1000))
    elapsed = time.perf_counter() - start
    print(json.dumps({"time_s": elapsed, "digest": hashlib.sha256(repr(result).encode()).hexdigest()}))

if __name__ == "__main__":
    main()
```
"""


def make_jobs(count: int) -> list[GenJob]:
    jobs = []
    for number in range(count):
        task = Task(
            instance_id=f"bench-{number}",
            head_commit=f"{number:08x}" + "cd" * 16,
            subject=f"perf: speed up path {number}",
            apis=[f"pkg.mod.f{number}"],
            files_changed=["pkg/mod.py"],
        )
        jobs.append(GenJob(item_id=f"bench-{task.short_head}", suite="bench", task=task, allowed_imports=["pkg"]))
    return jobs


def plain_collect_s(tmp: Path, count: int, reps: int = 3) -> float:
    """Median wall time of ``pytest --collect-only`` of ``count`` parametrized tests."""
    (tmp / "plain").mkdir()
    (tmp / "plain" / "test_plain.py").write_text(
        f"import pytest\n\n@pytest.mark.parametrize('n', range({count}))\ndef test_n(n):\n    pass\n"
    )
    (tmp / "plain" / "pytest.ini").write_text("[pytest]\n")
    times = []
    for _ in range(reps):
        begin = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=tmp / "plain",
            capture_output=True,
            check=True,
        )
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    jobs = make_jobs(args.tasks)
    failed = False
    with tempfile.TemporaryDirectory(prefix="isobench-bench-testgen-") as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "generated_tests"
        with FakeOpenAI([ANSWER], delay_s=args.delay) as server:
            options: dict[str, Any] = dict(model="bench", base_url=server.url, api_key="bench-key", root=root)
            begin = time.perf_counter()
            first = generate_missing(jobs, concurrency=args.concurrency, **options)
            first_s = time.perf_counter() - begin
            first_requests = len(server.requests)
            generated = sum(o.status == "generated" for o in first.values())
            begin = time.perf_counter()
            second = generate_missing(jobs, concurrency=args.concurrency, **options)
            second_s = time.perf_counter() - begin
            second_requests = len(server.requests) - first_requests
        cached = sum(o.status == "cached" for o in second.values())
        lookups = []
        for _ in range(5):
            begin = time.perf_counter()
            found = [cache.cached_test(root, job.suite, job.item_id) for job in jobs]
            lookups.append(time.perf_counter() - begin)
        lookup_s = statistics.median(lookups)
        assert all(t is not None for t in found)
        plain_s = plain_collect_s(tmp, args.tasks)
    floor = args.tasks * args.delay / args.concurrency
    print(f"tasks: {args.tasks}, server delay {args.delay:g} s/request, concurrency {args.concurrency}")
    print(
        f"pass 1 (generate): {first_s:.2f} s, {first_requests} requests, {generated} generated "
        f"(ideal {floor:.2f} s; target <= 15 s)"
    )
    print(f"pass 2 (cached):   {second_s * 1000:.1f} ms, {second_requests} requests, {cached} from the cache")
    print(f"plain cached lookup (cached_test x {args.tasks}): {lookup_s * 1000:.1f} ms")
    print(
        f"pytest --collect-only of {args.tasks} plain tests: {plain_s * 1000:.0f} ms; "
        f"pass 2 adds {second_s / plain_s:.1%} (target <= 10%)"
    )
    if first_s > 15 or second_requests != 0 or generated != args.tasks or second_s / plain_s > 0.10:
        failed = True
        print("TARGET MISSED")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
