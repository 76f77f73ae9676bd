"""Perf test of demo-average-length-builtin: ``textkit.stats.average_word_length``.

Run from the checkout root (``python3 _isobench_perf_average-length-builtin.py``). The
last line printed is ``{"time_s": <seconds per loop>, "loops": <loops per pass>, "digest":
<sha256 hex of the results' repr>}``.
"""

from __future__ import annotations

import hashlib
import json
import random
import string

from _timing import measure  # type: ignore[import-not-found]  # inlined in the dataset
from textkit.stats import average_word_length  # type: ignore[import-not-found]

SEED = 20240107
TOKENS = 200_000
CALLS = 3


def make_tokens(seed: int) -> list[str]:
    """TOKENS words of 1 to 12 letters, drawn from a vocabulary of 5,000."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 12))) for _ in range(5_000)]
    return rng.choices(vocab, k=TOKENS)


def main() -> None:
    tokens = make_tokens(SEED)
    # Every call sees a different slice, so that no result can be reused.
    slices = [tokens[i:] for i in range(CALLS)]
    per_loop, loops = measure(lambda: [average_word_length(s) for s in slices])
    result = [average_word_length(s) for s in slices]
    digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()
    print(f"{CALLS} calls on {TOKENS} tokens: mean length {result[0]!r}")
    print(json.dumps({"time_s": per_loop, "loops": loops, "digest": digest}))


if __name__ == "__main__":
    main()
