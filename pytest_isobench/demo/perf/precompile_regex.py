"""Perf test of demo-precompile-regex: ``textkit.tokenize.words`` on 60,000 short lines.

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
LINES = 60_000


def make_lines(seed: int) -> list[str]:
    """Headline-like lines: 2 to 5 words, some capitalised, some with punctuation."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(2_000)]
    vocab += [w.capitalize() for w in vocab[:400]] + ["don't", "it's", "2024", "42"]
    ends = ["", ".", "!", "?", ":"]
    return [" ".join(rng.choices(vocab, k=rng.randint(2, 5))) + rng.choice(ends) for _ in range(LINES)]


def main() -> None:
    lines = make_lines(SEED)
    result = [words(line) for line in lines]  # warm-up, untimed: the digested output
    start = time.perf_counter()
    # The timed pass keeps only the word counts, so that it measures tokenizing
    # rather than the allocation of 60,000 lists that stay alive.
    sizes = [len(words(line)) for line in lines]
    elapsed = time.perf_counter() - start
    digest = hashlib.sha256(repr((result, sizes)).encode("utf-8")).hexdigest()
    print(f"{len(lines)} lines, {sum(sizes)} words")
    print(json.dumps({"time_s": elapsed, "digest": digest}))


if __name__ == "__main__":
    main()
