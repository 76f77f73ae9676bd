"""CPUs for parallel workers: each pytest-xdist worker's sandboxes get cores of their own.

A suite's ``resources.cpuset`` says which cores one measurement runs on ("0", "2-3").
With ``-n N`` the workers measure at the same time; on the same cores they would slow
each other down at random, which no statistics can undo. Worker ``k`` of ``N`` therefore
gets the ``k``-th set of as many cores, counting from the suite's own cores and then the
machine's others in order; when the machine has too few for a set each, every worker keeps
the suite's cores and is told why its figures are noisy. Pure code, no Docker.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["available_cpus", "format_cpuset", "parse_cpuset", "worker_cpuset"]


def parse_cpuset(text: str) -> list[int]:
    """The cores a Docker cpuset names, in its order ("0-2,6" is 0, 1, 2, 6)."""
    cpus: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or (dash and int(high) < int(low)):
            raise ValueError(f"cpuset {text!r}: expected CPU numbers and ranges such as 0-3,6")
        for cpu in range(int(low), int(high if dash else low) + 1):
            if cpu not in cpus:
                cpus.append(cpu)
    return cpus


def format_cpuset(cpus: Sequence[int]) -> str:
    """A cpuset string for ``cpus``, runs of consecutive cores as ranges."""
    parts: list[str] = []
    ordered = sorted(set(cpus))
    start = prev = ordered[0]
    for cpu in [*ordered[1:], -2]:
        if cpu != prev + 1:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = cpu
        prev = cpu
    return ",".join(parts)


def available_cpus() -> list[int]:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def worker_cpuset(
    cpuset: str | None, worker: int, workers: int, available: Sequence[int]
) -> tuple[str | None, str | None]:
    """``(worker's cpuset, warning)``: worker ``worker`` of ``workers`` gets its own cores.

    Unchanged with one worker or no cpuset. The warning (else ``None``) says why the
    workers must share the suite's cores.
    """
    if cpuset is None or workers <= 1:
        return cpuset, None
    wanted = parse_cpuset(cpuset)
    ordered = wanted + [cpu for cpu in sorted(available) if cpu not in wanted]
    size = len(wanted)
    if size * workers > len(ordered):
        return cpuset, (
            f"{workers} workers measure on the suite's cpuset {cpuset!r} at once: this machine has "
            f"{len(ordered)} core(s), {size * workers} are needed for a set each, so their measurements "
            "disturb each other; lower -n"
        )
    return format_cpuset(ordered[worker * size : (worker + 1) * size]), None
