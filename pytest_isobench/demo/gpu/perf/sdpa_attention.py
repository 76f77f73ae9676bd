"""Perf test of demo-gpu-sdpa-attention: ``tinylm.attention.attention`` in fp16, (4, 8, 4096, 64).

Run from the checkout root on a machine with a CUDA GPU. WARMUP untimed calls, then
REPEATS calls each timed with CUDA events; the last line printed is ``{"time_s": <median
seconds>, "digest": <sha256 of the output rounded to 4 decimals>}``. Every query is 128
times one of the keys (keys are random +-1 vectors), so its own key's score beats every
other by more than 200 after scaling: the softmax is exactly one-hot in every kernel
(exp underflows to 0) and the output is exactly the chosen values, whatever the kernel.
The margin is checked before timing. ``TINYLM_PERF_DEVICE=cpu`` runs a small float32 CPU
version (a dry run of the logic); without a GPU and without it the test stops with exit
status 2.
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
from tinylm.attention import attention  # type: ignore[import-not-found]

SEED = 20240205
WARMUP = 2
REPEATS = 5
SIZES = {"cuda": (4, 8, 4096, 64), "cpu": (1, 2, 256, 64)}  # batch, heads, seq, dim
QUERY_GAIN = 128.0
MIN_MARGIN = 200.0  # scaled score distance from the chosen key to the next best


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


def inputs(dev: Any) -> tuple[Any, Any, Any]:
    batch, heads, seq, dim = SIZES[dev.type]
    gen = torch.Generator().manual_seed(SEED)
    k = (torch.randint(0, 2, (batch, heads, seq, dim), generator=gen).float() * 2 - 1).to(dev)
    v = torch.randint(-8, 9, (batch, heads, seq, dim), generator=gen).float().to(dev)
    chosen = torch.randint(0, seq, (batch, heads, seq), generator=gen).to(dev)
    q = QUERY_GAIN * torch.gather(k, 2, chosen.unsqueeze(-1).expand(-1, -1, -1, dim))
    top = ((q @ k.transpose(-2, -1)) / dim**0.5).topk(2, dim=-1).values  # exact: small integers
    margin = float((top[..., 0] - top[..., 1]).min())
    if margin < MIN_MARGIN:  # the softmax would not be exactly one-hot
        raise SystemExit(f"input margin {margin} < {MIN_MARGIN}: change SEED")
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    return q.to(dtype), k.to(dtype), v.to(dtype)


def main() -> None:
    dev = device()
    q, k, v = inputs(dev)
    seconds, out = timed(lambda: attention(q, k, v), dev)
    print(f"attention {tuple(q.shape)} {q.dtype} on {dev}: {seconds * 1e3:.3f} ms")
    print(json.dumps({"time_s": seconds, "digest": digest(out)}))


if __name__ == "__main__":
    main()
