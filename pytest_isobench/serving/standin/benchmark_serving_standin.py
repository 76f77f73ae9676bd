#!/usr/bin/env python3
"""A stand-in for vLLM's ``benchmarks/benchmark_serving.py``, printing its real output format.

Standard library only. It sends ``--num-prompts`` streaming completion requests to the
server at ``--host``/``--port`` (all at once for ``--request-rate inf``, else Poisson
arrivals seeded by ``--seed``; at most ``--max-concurrency`` in flight), times the first
token (TTFT), the gaps between tokens (ITL) and the time per output token (TPOT), and
prints the ``Serving Benchmark Result`` block exactly as vLLM lays it out. Flags it does
not use (``--dataset-name`` ...) are accepted and ignored.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
from typing import Any


class Result:
    def __init__(self) -> None:
        self.ok = False
        self.ttft = 0.0
        self.latency = 0.0
        self.itl: list[float] = []
        self.output_tokens = 0
        self.prompt_tokens = 0
        self.error = ""


def one_request(host: str, port: int, endpoint: str, model: str, prompt: str, max_tokens: int) -> Result:
    result = Result()
    result.prompt_tokens = len(prompt.split())
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "stream": True})
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=600)
        conn.request("POST", endpoint, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            result.error = f"HTTP {response.status}: {response.read()[:200]!r}"
            return result
        last = start
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            now = time.perf_counter()
            if result.output_tokens == 0:
                result.ttft = now - start
            else:
                result.itl.append(now - last)
            last = now
            result.output_tokens += 1
        result.latency = time.perf_counter() - start
        result.ok = result.output_tokens > 0
        if not result.ok:
            result.error = "no tokens in the response"
        conn.close()
    except OSError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="vllm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--endpoint", default="/v1/completions")
    parser.add_argument("--model", required=True)
    parser.add_argument("--num-prompts", type=int, default=1000)
    parser.add_argument("--request-rate", type=float, default=float("inf"))
    parser.add_argument("--max-concurrency", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-input-len", type=int, default=32)
    parser.add_argument("--random-output-len", type=int, default=8)
    args, _ignored = parser.parse_known_args(argv)
    print(f"Namespace({', '.join(f'{k}={v!r}' for k, v in sorted(vars(args).items()))})")
    rng = random.Random(args.seed)
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    prompts = [" ".join(rng.choice(words) for _ in range(args.random_input_len)) for _ in range(args.num_prompts)]
    print("Starting initial single prompt test run...")
    probe = one_request(args.host, args.port, args.endpoint, args.model, prompts[0], args.random_output_len)
    if not probe.ok:
        print(
            "Initial test run failed - Please make sure benchmark arguments are correctly specified. "
            f"Error: {probe.error}"
        )
        return 1
    print("Initial test run completed. Starting main benchmark run...")
    print(f"Traffic request rate: {args.request_rate}")
    print("Burstiness factor: 1.0 (Poisson process)")
    print(f"Maximum request concurrency: {args.max_concurrency}")
    limit = threading.Semaphore(args.max_concurrency or len(prompts) or 1)
    results: list[Result] = [Result() for _ in prompts]

    def worker(i: int) -> None:
        with limit:
            results[i] = one_request(
                args.host, args.port, args.endpoint, args.model, prompts[i], args.random_output_len
            )

    threads: list[threading.Thread] = []
    start = time.perf_counter()
    for i in range(len(prompts)):
        t = threading.Thread(target=worker, args=(i,))
        t.start()
        threads.append(t)
        if args.request_rate != float("inf"):
            time.sleep(rng.expovariate(args.request_rate))
    for t in threads:
        t.join()
    duration = time.perf_counter() - start
    done = [r for r in results if r.ok]
    for r in results:
        if not r.ok:
            print(f"request failed: {r.error}", file=sys.stderr)
    if not done:
        print("All requests failed.", file=sys.stderr)
        return 1
    total_in = sum(r.prompt_tokens for r in done)
    total_out = sum(r.output_tokens for r in done)
    ttfts = [r.ttft * 1e3 for r in done]
    tpots = [(r.latency - r.ttft) * 1e3 / (r.output_tokens - 1) for r in done if r.output_tokens > 1]
    itls = [x * 1e3 for r in done for x in r.itl]
    report(len(done), duration, total_in, total_out, ttfts, tpots, itls)
    return 0


def report(
    completed: int,
    duration: float,
    total_in: int,
    total_out: int,
    ttfts: list[float],
    tpots: list[float],
    itls: list[float],
) -> None:
    def mean(xs: list[float]) -> float:
        return statistics.fmean(xs) if xs else 0.0

    def row(label: str, value: Any, fmt: str = "<10.2f") -> None:
        print("{:<40} {:{fmt}}".format(label, value, fmt=fmt))

    print("{s:{c}^{n}}".format(s=" Serving Benchmark Result ", n=50, c="="))
    row("Successful requests:", completed, "<10")
    row("Benchmark duration (s):", duration)
    row("Total input tokens:", total_in, "<10")
    row("Total generated tokens:", total_out, "<10")
    row("Request throughput (req/s):", completed / duration)
    row("Output token throughput (tok/s):", total_out / duration)
    row("Total Token throughput (tok/s):", (total_in + total_out) / duration)
    for title, short, values in (
        ("Time to First Token", "TTFT", ttfts),
        ("Time per Output Token (excl. 1st token)", "TPOT", tpots),
        ("Inter-token Latency", "ITL", itls),
    ):
        print("{s:{c}^{n}}".format(s=title, n=50, c="-"))
        row(f"Mean {short} (ms):", mean(values))
        row(f"Median {short} (ms):", statistics.median(values) if values else 0.0)
        row(f"P99 {short} (ms):", percentile(values, 99))
    print("=" * 50)


if __name__ == "__main__":
    sys.exit(main())
