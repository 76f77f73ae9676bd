"""Perf test of demo-precompile-regex: ``textkit.tokenize.words`` on 40,000 short lines.

Run from the checkout root (``python3 _isobench_perf_precompile-regex.py``). The last
line printed is ``{"time_s": <seconds of the timed region>, "digest": <sha256 hex of the
words' repr>}``.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import time

from textkit.tokenize import words  # type: ignore[import-not-found]

SEED = 20240109
LINES = 40_000


def make_lines(seed: int) -> list[str]:
    """Headline-like lines: 2 to 5 words, some capitalised, some with punctuation."""
    rng = random.Random(seed)
    vocab = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9)))
        for _ in range(2_000)
    ]
    vocab += [w.capitalize() for w in vocab[:400]] + ["don't", "it's", "2024", "42"]
    ends = ["", ".", "!", "?", ":"]
    return [
        " ".join(rng.choices(vocab, k=rng.randint(2, 5))) + rng.choice(ends)
        for _ in range(LINES)
    ]


def main() -> None:
    lines = make_lines(SEED)
    for line in lines[:1_000]:  # warm-up, untimed
        words(line)
    start = time.perf_counter()
    result = [words(line) for line in lines]
    elapsed = time.perf_counter() - start
    digest = hashlib.sha256(repr(result).encode("utf-8")).hexdigest()
    print(f"{len(lines)} lines, {sum(map(len, result))} words")
    print(json.dumps({"time_s": elapsed, "digest": digest}))


if __name__ == "__main__":
    main()
