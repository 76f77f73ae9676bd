"""A speedup estimate with its interval, and which way is faster: the measure layer's smallest values.

In a module of their own so that the estimators (:mod:`.stats`, :mod:`.paired`) can share
them without importing each other both ways.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Direction = Literal["lower", "higher"]
"""``"lower"``: the value is a time, lower is better. ``"higher"``: a rate, e.g. tokens/s."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval ``[low, high]``."""

    point: float
    low: float
    high: float

    @property
    def rel_half_width(self) -> float:
        """Half the interval's width relative to the point: 0.02 means about +-2%."""
        if self.point == 0:
            return math.inf
        return (self.high - self.low) / 2 / abs(self.point)

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    def as_dict(self) -> dict[str, float]:
        return {"point": self.point, "low": self.low, "high": self.high}
