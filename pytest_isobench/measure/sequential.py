"""The sequential design: when the protocol may look at its data, at which level each
look is judged, and the counterbalanced order of the rounds.

Looking at intervals after every round and stopping as soon as one clears a threshold
("peek until significant") turns a 2.5% false alarm into 7-15%. Here the protocol looks
only at a fixed schedule of rounds (growing by about half each time, at block ends), and
every interval at an interim look is computed at the level ``alpha * interim_share / K``
(K: the number of scheduled looks); the final analysis, when the time or round budget
ends, gets the rest, ``alpha * (1 - interim_share)``. By the union bound the chance that
any interval the protocol ever computes misses the true speedup is at most ``alpha``
whatever the number of looks and whenever the budget ends, so every category's false
alarm (a one-sided miss) stays at or below ``alpha / 2`` and the interval reported at the
stop covers the truth with probability at least ``1 - alpha``. This is the
Haybittle-Peto idea with a Bonferroni split: conservative at the interim looks (an early
stop needs strong evidence), and nearly unadjusted at the end of the budget, which is
where undecided tasks (the A/A ones) are judged.

Blocks: with k variants a block is every order of them (k! rounds for k <= 3, otherwise
the k cyclic shifts of a shuffled order, a Latin square), shuffled within the block, so
each variant takes each position equally often and a "first in the round runs slower"
effect cancels. Pure code: no pytest, docker or scipy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from pytest_isobench.measure.paired import min_rounds_for

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

__all__ = ["INTERIM_SHARE", "LOOK_GROWTH", "SequentialDesign", "block_orders", "block_size", "design"]

INTERIM_SHARE = 0.25
"""The part of ``alpha`` spent on the interim looks, all of them together."""

LOOK_GROWTH = 1.5
"""Each interim look comes after about this many times the rounds of the one before."""


@dataclass(frozen=True)
class SequentialDesign:
    """Where the interim looks are and the two-sided level each analysis uses.

    ``looks``: rounds after which the protocol may stop early (empty: it never does);
    ``interim_level``: the two-sided error level of every interval at those looks;
    ``final_level``: that of the analysis when the budget ends; ``min_rounds``: the
    fewest rounds the protocol runs (enough for an interval at the final level).
    """

    alpha: float
    looks: tuple[int, ...]
    interim_level: float
    final_level: float
    min_rounds: int
    block: int

    def level(self, interim: bool) -> float:
        return self.interim_level if interim and self.looks else self.final_level


def block_size(n_variants: int) -> int:
    """Rounds per counterbalanced block."""
    if n_variants <= 1:
        return 1
    return math.factorial(n_variants) if n_variants <= 3 else n_variants


def _up(n: int, block: int) -> int:
    return -(-n // block) * block


def _schedule(first: int, max_rounds: int, block: int, growth: float) -> list[int]:
    looks: list[int] = []
    n = _up(first, block)
    while n < max_rounds:
        looks.append(n)
        n = _up(max(n + 1, math.ceil(n * growth)), block)
    return looks


@cache
def design(
    alpha: float,
    min_rounds: int,
    max_rounds: int,
    n_variants: int,
    *,
    interim_share: float = INTERIM_SHARE,
    growth: float = LOOK_GROWTH,
) -> SequentialDesign:
    """The design for a protocol run (see the module docstring)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha!r}")
    if not 0 <= interim_share < 1:
        raise ValueError(f"interim_share: expected a fraction in [0, 1), got {interim_share!r}")
    block = block_size(n_variants)
    final_alone = max(min_rounds, min_rounds_for(alpha))
    if interim_share == 0:
        return SequentialDesign(alpha, (), 0.0, alpha, final_alone, block)
    # Count the looks from the earliest start; starting later only removes looks, so the
    # level computed for this count stays valid (conservative) for the real schedule.
    budgeted = _schedule(max(min_rounds, 2), max_rounds, block, growth)
    if not budgeted:
        return SequentialDesign(alpha, (), 0.0, alpha, final_alone, block)
    interim = alpha * interim_share / len(budgeted)
    final = alpha - alpha * interim_share
    first = max(min_rounds, min_rounds_for(interim))
    looks = tuple(_schedule(first, max_rounds, block, growth))
    if not looks:  # too few rounds for an interim interval: the end gets all of alpha
        return SequentialDesign(alpha, (), 0.0, alpha, final_alone, block)
    return SequentialDesign(alpha, looks, interim, final, max(min_rounds, min_rounds_for(final)), block)


def block_orders(variants: Sequence[str], rng: random.Random) -> list[list[str]]:
    """One counterbalanced block of round orders for ``variants``, shuffled."""
    names = list(variants)
    if len(names) <= 3:
        orders = [list(p) for p in itertools.permutations(names)]
    else:
        rng.shuffle(names)
        orders = [names[i:] + names[:i] for i in range(len(names))]
    rng.shuffle(orders)
    return orders
