"""Perf test of demo-unique-seen-set: ``textkit.dedup.unique`` on 4,000 words.

Run from the checkout root (``python3 _isobench_perf_unique-seen-set.py``). The last
line printed is ``{"time_s": <seconds per loop>, "loops": <loops per pass>, "digest":
<sha256 hex of the result's repr>}``.
"""

from __future__ import annotations

import hashlib
import json
import random
import string

from _timing import measure  # type: ignore[import-not-found]  # inlined in the dataset
from textkit.dedup import unique  # type: ignore[import-not-found]

SEED = 20240103
DISTINCT = 1_300
COUNT = 4_000


def make_items(seed: int) -> list[str]:
    """COUNT words drawn from a vocabulary of DISTINCT random words."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10))) for _ in range(DISTINCT)]
    return rng.choices(vocab, k=COUNT)


def main() -> None:
    items = make_items(SEED)
    per_loop, loops = measure(lambda: unique(items))
    result = unique(items)
    digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()
    print(f"{len(items)} items, {len(result)} distinct")
    print(json.dumps({"time_s": per_loop, "loops": loops, "digest": digest}))


if __name__ == "__main__":
    main()
