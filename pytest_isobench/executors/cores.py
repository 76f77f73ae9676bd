"""A node's cores handed out to the measurements it runs, so that no two share one.

Ray counts CPUs but pins nothing: two measurements it places on one node would run on the
same cores (the suite's cpuset, the same on every node) and slow each other at random.
Each measurement that names a cpuset therefore holds as many whole cores of its node as
that cpuset names, the suite's own first, then the node's others (as xdist workers are
given theirs), for as long as it runs. A core is held by an exclusive ``flock`` on a file
per core in a folder of the node: the kernel releases it when the holder exits, so a
killed attempt never leaves a core taken. A node whose cores are all held (it declared
more CPUs to Ray than it has, or other runs share it) makes the next measurement wait:
measurements run one at a time rather than overlap. One asking for more cores than the
node has waits for all of them and runs alone on them.

No Ray import here: the cores a process may use come from its affinity.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..sandbox.cpus import format_cpuset, parse_cpuset

POLL_S = 0.2


@dataclass(frozen=True)
class HeldCores:
    """The cores a measurement holds: their cpuset, how long it waited, why it got fewer."""

    cpuset: str
    waited_s: float
    note: str | None = None


def preferred_order(wanted: Sequence[int], available: Sequence[int]) -> list[int]:
    """The node's cores, those of the suite's cpuset first (a lone measurement gets exactly those)."""
    here = sorted(set(available))
    return [c for c in wanted if c in here] + [c for c in here if c not in wanted]


def _try_hold(folder: Path, order: Sequence[int], count: int) -> list[tuple[int, int]] | None:
    """``(core, descriptor holding its lock)`` for ``count`` free cores in ``order``; None when too few are free."""
    got: list[tuple[int, int]] = []
    for core in order:
        fd = os.open(folder / f"core-{core}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        got.append((core, fd))
        if len(got) == count:
            break
    if len(got) < count:
        for _core, fd in got:
            os.close(fd)  # closing the descriptor drops its lock
        return None
    return got


@contextlib.contextmanager
def hold_cores(
    folder: Path, cpuset: str, available: Sequence[int], timeout_s: float | None = None
) -> Iterator[HeldCores]:
    """Hold as many of the node's cores as ``cpuset`` names, waiting while too few are free.

    ``folder`` is the node's (one per node, not per run: every measurement on the node
    counts). ``timeout_s`` (None: no limit) ends the wait with a ``TimeoutError``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    wanted = parse_cpuset(cpuset)
    order = preferred_order(wanted, available)
    if not order:
        raise ValueError(f"cpuset {cpuset!r}: this process may run on no core")
    count, note = len(wanted), None
    if count > len(order):
        count = len(order)
        note = (
            f"the measurement asks for {len(wanted)} cores ({cpuset}); this node has {len(order)}: "
            "it runs alone on all of them"
        )
    begin = time.monotonic()
    held = _try_hold(folder, order, count)
    while held is None:
        if timeout_s is not None and time.monotonic() - begin > timeout_s:
            raise TimeoutError(f"no {count} free core(s) on this node within {timeout_s:g} s ({folder})")
        time.sleep(POLL_S)
        held = _try_hold(folder, order, count)
    try:
        yield HeldCores(format_cpuset([core for core, _fd in held]), round(time.monotonic() - begin, 3), note)
    finally:
        for _core, fd in held:
            os.close(fd)  # closing the descriptor drops its lock


__all__ = ["HeldCores", "hold_cores", "preferred_order"]
