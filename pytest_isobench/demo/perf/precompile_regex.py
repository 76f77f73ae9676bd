"""Perf test of demo-precompile-regex: ``textkit.tokenize.words`` on 20,000 short lines.

Run from the checkout root (``python3 _isobench_perf_precompile-regex.py``). The last
line printed is ``{"time_s": <seconds per loop>, "loops": <loops per pass>, "digest":
<sha256 hex of the words' repr>}``.
"""

from __future__ import annotations

import hashlib
import json
import random
import string

from _timing import measure  # type: ignore[import-not-found]  # inlined in the dataset
from textkit.tokenize import words  # type: ignore[import-not-found]

SEED = 20240109
LINES = 20_000


def make_lines(seed: int) -> list[str]:
    """Headline-like lines: 2 to 5 words, some capitalised, some with punctuation."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(2_000)]
    vocab += [w.capitalize() for w in vocab[:400]] + ["don't", "it's", "2024", "42"]
    ends = ["", ".", "!", "?", ":"]
    return [" ".join(rng.choices(vocab, k=rng.randint(2, 5))) + rng.choice(ends) for _ in range(LINES)]


def main() -> None:
    lines = make_lines(SEED)
    result = [words(line) for line in lines]  # the digested output
    # The timed passes keep only the word counts, so that they measure tokenizing
    # rather than the allocation of 20,000 lists that stay alive; each line is
    # lower-cased first, as a search index would (the same work on both sides).
    per_loop, loops = measure(lambda: [len(words(line.lower())) for line in lines])
    sizes = [len(words(line.lower())) for line in lines]
    digest = hashlib.sha256(repr((result, sizes)).encode("utf-8")).hexdigest()
    print(f"{len(lines)} lines, {sum(sizes)} words")
    print(json.dumps({"time_s": per_loop, "loops": loops, "digest": digest}))


if __name__ == "__main__":
    main()
