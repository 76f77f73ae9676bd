"""Stable, readable item ids: ``<suite>-<first 8 hex of the human commit>``.

Ids are the keys of saved results, of ``-k`` and of ``--lf``: deterministic, short and
greppable. When two tasks of a suite share the 8-character prefix, the prefix grows until
the ids differ, and identical commits get ``-2``, ``-3``... in dataset order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def task_ids(suite: str, heads: Sequence[str], width: int = 8) -> list[str]:
    """One id per head commit, unique within the suite, in the same order."""
    lowered = [h.lower() for h in heads]
    size = {h: width for h in lowered}
    groups: dict[str, list[str]] = defaultdict(list)
    for head in dict.fromkeys(lowered):
        groups[head[:width]].append(head)
    for members in groups.values():
        if len(members) < 2:
            continue
        longest = max(len(m) for m in members)
        grown = width
        while grown < longest and len({m[:grown] for m in members}) < len(members):
            grown += 1
        for member in members:
            size[member] = grown
    seen: dict[str, int] = defaultdict(int)
    ids = []
    for head in lowered:
        base = f"{suite}-{head[: size[head]]}"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids
