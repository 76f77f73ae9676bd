"""Perf test of demo-template-cache: ``textkit.template.render``, few templates, many contexts.

Run from the checkout root (``python3 _isobench_perf_template-cache.py``). The last
line printed is ``{"time_s": <seconds per loop>, "loops": <loops per pass>, "digest":
<sha256 hex of the rendered texts>}``.
"""

from __future__ import annotations

import hashlib
import json
import random
import string

from _timing import measure  # type: ignore[import-not-found]  # inlined in the dataset
from textkit.template import render  # type: ignore[import-not-found]

SEED = 20240105
CONTEXTS = 200

TEMPLATES = [
    (
        "Dear {{ user.name|title }},\n\n"
        "Thank you for your order #{{ order.id }} of {{ order.count }} item(s), "
        "placed on {{ order.date }}. The total comes to {{ order.total }} EUR.\n"
        "It ships to {{ user.city|upper }} within {{ order.days }} days.\n\n"
        "Questions? Write to {{ shop.email|lower }} and quote {{ order.id }}.\n"
        "-- {{ shop.name|title }}\n"
    ),
    (
        "<tr><td>{{ order.id }}</td><td>{{ user.name|title }}</td>"
        "<td>{{ user.city|title }}</td><td>{{ order.count }}</td>"
        "<td>{{ order.total }}</td><td>{{ order.date }}</td></tr>"
    ),
    (
        "[{{ order.date }}] order={{ order.id }} user={{ user.name|lower|strip }} "
        "city={{ user.city|lower }} items={{ order.count }} total={{ order.total }} "
        "status=shipped carrier=post eta={{ order.days }}d"
    ),
    (
        "Hello {{ user.name|title }}! Your parcel for order {{ order.id }} left our "
        "warehouse today. Track it on our website; the driver will call you in "
        "{{ user.city|title }} before delivery. Kind regards, {{ shop.name }}."
    ),
]


def make_contexts(seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9)))

    shop = {"name": "the corner shop", "email": "Help@Corner.Example"}
    return [
        {
            "user": {"name": f"{word()} {word()}", "city": word()},
            "order": {
                "id": 100_000 + i,
                "count": rng.randint(1, 9),
                "total": round(rng.uniform(5, 500), 2),
                "date": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "days": rng.randint(1, 7),
            },
            "shop": shop,
        }
        for i in range(CONTEXTS)
    ]


def run(contexts: list[dict[str, object]]) -> list[str]:
    return [render(template, context) for context in contexts for template in TEMPLATES]


def main() -> None:
    contexts = make_contexts(SEED)
    per_loop, loops = measure(lambda: run(contexts))
    result = run(contexts)
    digest = hashlib.sha256("\x00".join(result).encode("utf-8")).hexdigest()
    print(f"{len(result)} renders")
    print(json.dumps({"time_s": per_loop, "loops": loops, "digest": digest}))


if __name__ == "__main__":
    main()
