"""Perf test of demo-gpu-batched-projection: ``tinylm.project.project_tokens``, 4,096 tokens, 1024x1024.

Run from the checkout root on a machine with a CUDA GPU. WARMUP untimed calls, then
REPEATS calls each timed with CUDA events; the last line printed is ``{"time_s": <median
seconds>, "digest": <sha256 of the output rounded to 4 decimals>}``. The inputs are small
integers, so every way of summing the products gives the exact same matrix.
``TINYLM_PERF_DEVICE=cpu`` runs a small CPU version (a dry run of the logic, timed with
``perf_counter``); without a GPU and without it the test stops with exit status 2.
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
from tinylm.project import project_tokens  # type: ignore[import-not-found]

SEED = 20240203
WARMUP = 2
REPEATS = 5
SIZES = {"cuda": (4096, 1024, 1024), "cpu": (256, 64, 64)}  # tokens, d_in, d_out


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


def digest(t: Any) -> str:
    rounded = torch.round(t.detach().to("cpu", torch.float64), decimals=4) + 0.0  # + 0.0: no -0.0
    return hashlib.sha256(rounded.contiguous().numpy().tobytes()).hexdigest()


def main() -> None:
    dev = device()
    tokens, d_in, d_out = SIZES[dev.type]
    gen = torch.Generator().manual_seed(SEED)
    hidden = torch.randint(-2, 3, (tokens, d_in), generator=gen).float().to(dev)
    weight = torch.randint(-2, 3, (d_in, d_out), generator=gen).float().to(dev)
    seconds, out = timed(lambda: project_tokens(hidden, weight), dev)
    print(f"{tokens} tokens x ({d_in}, {d_out}) on {dev}: {seconds * 1e3:.3f} ms")
    print(json.dumps({"time_s": seconds, "digest": digest(out)}))


if __name__ == "__main__":
    main()
