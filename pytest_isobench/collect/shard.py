"""Deterministic sharding for CI matrices: ``--isobench-shard=K/N``.

The N shards are disjoint, together hold every task, and are the same on every machine:
tasks are ordered by their node id (never by collection order or hash seeds). Without
recorded durations, task *i* of that order goes to shard ``i % N`` (counts differ by at
most one). With a durations file (``{nodeid: seconds}``, as pytest-split stores it) the
tasks are placed longest first on the least loaded shard; unknown tasks count as the
mean of the known ones.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from pathlib import Path


class ShardSpecError(ValueError):
    """A ``K/N`` value that is not a valid shard."""


def parse_shard(value: str) -> tuple[int, int]:
    """``"3/8"`` -> ``(3, 8)``; 1-based, ``1 <= K <= N``."""
    k_text, sep, n_text = value.partition("/")
    if not sep or not k_text.strip().isdigit() or not n_text.strip().isdigit():
        raise ShardSpecError(f"{value!r}: expected K/N with whole numbers, e.g. 3/8")
    k, n = int(k_text), int(n_text)
    if n < 1 or not 1 <= k <= n:
        raise ShardSpecError(f"{value!r}: expected 1 <= K <= N (shards are numbered from 1)")
    return k, n


def load_durations(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShardSpecError(f"{path}: cannot read durations ({exc})") from None
    if not isinstance(data, dict):
        raise ShardSpecError(f"{path}: expected a JSON object of node id -> seconds")
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def assign(ids: Sequence[str], shards: int, durations: Mapping[str, float] | None = None) -> dict[str, int]:
    """Map every id to a 0-based shard number."""
    ordered = sorted(ids)
    if not durations:
        return {node: i % shards for i, node in enumerate(ordered)}
    known = [durations[n] for n in ordered if n in durations]
    fallback = sum(known) / len(known) if known else 1.0
    weight = {n: durations.get(n, fallback) for n in ordered}
    heap = [(0.0, shard) for shard in range(shards)]
    result: dict[str, int] = {}
    for node in sorted(ordered, key=lambda n: (-weight[n], n)):
        load, shard = heapq.heappop(heap)
        result[node] = shard
        heapq.heappush(heap, (load + weight[node], shard))
    return result


def select(ids: Sequence[str], k: int, n: int, durations: Mapping[str, float] | None = None) -> set[str]:
    """The ids that shard ``k`` of ``n`` (1-based) keeps."""
    placement = assign(ids, n, durations)
    return {node for node, shard in placement.items() if shard == k - 1}
