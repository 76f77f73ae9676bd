"""The demo's template-cache perf test in ISO-Bench's / GSO's ``setup-experiment`` shape.

The same workload as ``pytest_isobench/demo/perf/template_cache.py`` (few templates, many
contexts), written the way ISO-Bench's and GSO's perf tests are: ``setup()`` builds the
data, ``experiment(data)`` renders, ``store_result`` / ``load_result`` /
``check_equivalence`` compare the rendered texts with the baseline's, and ``run_test``
with its command line is the script's own harness (never run by pytest-isobench, whose
driver imports this file). ``benchmarks/bench_aa_docker.py --setup-experiment`` adds a
task with this test beside the JSON-protocol one, so both shapes are measured in one run.
"""

import argparse
import hashlib
import json
import random
import string
import timeit

from textkit.template import render

SEED = 20240105
CONTEXTS = 200
TEMPLATES = [
    "Dear {{ user.name|title }},\n\nThank you for your order #{{ order.id }} of {{ order.count }} item(s), "
    "placed on {{ order.date }}. The total comes to {{ order.total }} EUR.\n"
    "It ships to {{ user.city|upper }} within {{ order.days }} days.\n\n"
    "Questions? Write to {{ shop.email|lower }} and quote {{ order.id }}.\n-- {{ shop.name|title }}\n",
    "<tr><td>{{ order.id }}</td><td>{{ user.name|title }}</td><td>{{ user.city|title }}</td>"
    "<td>{{ order.count }}</td><td>{{ order.total }}</td><td>{{ order.date }}</td></tr>",
    "[{{ order.date }}] order={{ order.id }} user={{ user.name|lower|strip }} city={{ user.city|lower }} "
    "items={{ order.count }} total={{ order.total }} status=shipped carrier=post eta={{ order.days }}d",
    "Hello {{ user.name|title }}! Your parcel for order {{ order.id }} left our warehouse today. Track it "
    "on our website; the driver will call you in {{ user.city|title }} before delivery. Kind regards, "
    "{{ shop.name }}.",
]


def setup():
    rng = random.Random(SEED)

    def word():
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


def experiment(contexts):
    return [render(template, context) for context in contexts for template in TEMPLATES]


def store_result(result, filename):
    with open(filename, "w") as fh:
        json.dump({"count": len(result), "sha256": hashlib.sha256("\x00".join(result).encode()).hexdigest()}, fh)


def load_result(filename):
    with open(filename) as fh:
        return json.load(fh)


def check_equivalence(current, reference):
    assert len(current) == reference["count"], f"{len(current)} renders, expected {reference['count']}"
    digest = hashlib.sha256("\x00".join(current).encode()).hexdigest()
    assert digest == reference["sha256"], "rendered texts differ from the reference"


def run_test(eqcheck=False, reference=False, prefix=""):
    data = setup()
    elapsed = timeit.timeit(lambda: experiment(data), number=10) / 10
    result = experiment(data)
    if reference:
        store_result(result, f"{prefix}_result.json")
    if eqcheck:
        check_equivalence(result, load_result(f"{prefix}_result.json"))
    print(json.dumps({"avg_ms": elapsed * 1000}))
    return elapsed


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--eqcheck", action="store_true")
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    run_test(args.eqcheck, args.reference, args.prefix)
