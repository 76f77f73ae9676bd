"""Perf test of demo-gpu-decode-without-sync: ``tinylm.decode.greedy_decode``, 512 steps.

Run from the checkout root on a machine with a CUDA GPU. A batch of 32 states of width
512 over a vocabulary of 8,192: each step's kernels are small, so a host-device sync per
step leaves the GPU idle while Python queues the next one. WARMUP untimed calls, then
REPEATS calls each timed with CUDA events; the last line printed is ``{"time_s": <median
seconds>, "digest": <sha256 of the decoded tokens>}`` (both versions run the same kernels,
so the tokens are identical). ``TINYLM_PERF_DEVICE=cpu`` runs a small CPU version (a dry
run of the logic); without a GPU and without it the test stops with exit status 2.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch  # type: ignore[import-not-found]
from tinylm.decode import greedy_decode  # type: ignore[import-not-found]

SEED = 20240207
WARMUP = 2
REPEATS = 5
SIZES = {"cuda": (32, 512, 8192, 512), "cpu": (4, 64, 256, 64)}  # batch, dim, vocab, steps


def device() -> Any:
    name = os.environ.get("TINYLM_PERF_DEVICE", "cuda")
    if name == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU visible to torch: this perf test needs one", file=sys.stderr)
        sys.exit(2)
    return torch.device(name)


def timed(fn: Callable[[], Any], dev: Any) -> tuple[float, Any]:
    """Median seconds of REPEATS calls after WARMUP calls (CUDA events on a GPU)."""
    for _ in range(WARMUP):
        fn()
    times = []
    out = None
    for _ in range(REPEATS):
        if dev.type == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000.0)
        else:
            begin = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - begin)
    return statistics.median(times), out


def digest(tokens: list[list[int]]) -> str:
    return hashlib.sha256(json.dumps(tokens).encode()).hexdigest()


def main() -> None:
    dev = device()
    batch, dim, vocab, steps = SIZES[dev.type]
    gen = torch.Generator().manual_seed(SEED)
    state = torch.randn(batch, dim, generator=gen).to(dev)
    weight = (torch.randn(dim, vocab, generator=gen) / dim**0.5).to(dev)
    embedding = torch.randn(vocab, dim, generator=gen).to(dev)
    seconds, tokens = timed(lambda: greedy_decode(state, weight, embedding, steps), dev)
    print(f"{steps} steps, batch {batch}, vocab {vocab} on {dev}: {seconds * 1e3:.3f} ms")
    print(json.dumps({"time_s": seconds, "digest": digest(tokens)}))


if __name__ == "__main__":
    main()
