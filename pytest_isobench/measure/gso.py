"""GSO's success test, computed the way GSO's grader computes it.

GSO (``gso-bench/gso``, ``src/gso/harness/grading/metrics.py``, ``get_opt_status``) times
each of a task's tests several times per variant and reduces each test to the mean of its
times. With ``base``, ``patch`` (the agent) and ``commit`` (the human):

- per-test speedups are ``before_mean / after_mean`` per test;
- the patch improves on the base (``opt_base``) when the mean of the base's per-test
  means is above the patch's, and ``round(GM, 1) >= 1.2``, GM the geometric mean of the
  patch's per-test speedups over the base (numpy's rounding of a numpy float);
- it matches the commit (``opt_commit``, GSO's success) when, in addition, the harmonic
  mean over tests of ``commit_mean / patch_mean`` (human time over agent time) is
  ``> 0.95``.

This module re-implements that arithmetic (it does not copy GSO's code) on the values
our protocol measured; it is a point decision, as GSO's is. Pure: numpy is imported
lazily, no pytest or docker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["GsoResult", "gso_opt"]


@dataclass(frozen=True)
class GsoResult:
    """GSO's figures for one task. ``gm_patch_base`` is the geometric mean of the agent's
    per-test speedups over the baseline, ``hm_patch_commit`` the harmonic mean of
    human time / agent time per test."""

    base_mean: float
    patch_mean: float
    commit_mean: float
    gm_patch_base: float
    hm_patch_commit: float
    opt_base: bool
    opt_commit: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "base_mean": self.base_mean,
            "patch_mean": self.patch_mean,
            "commit_mean": self.commit_mean,
            "gm_patch_base": self.gm_patch_base,
            "hm_patch_commit": self.hm_patch_commit,
            "opt_base": self.opt_base,
            "opt_commit": self.opt_commit,
        }


def _test_means(times: Sequence[Sequence[float]], name: str) -> list[Any]:
    import numpy as np

    if not times:
        raise ValueError(f"{name}: expected the times of at least one test, got none")
    means = []
    for i, t in enumerate(times):
        values = [float(v) for v in t]
        if not values:
            raise ValueError(f"{name}[{i}]: expected at least one time, got none")
        if any(not (math.isfinite(v) and v > 0) for v in values):
            raise ValueError(f"{name}[{i}]: expected finite positive times, got {values!r}")
        means.append(np.mean(values))  # numpy's summation, as GSO's
    return means


def _ratios(before: list[Any], after: list[Any]) -> list[Any]:
    return [b / a for b, a in zip(before, after, strict=True)]


def gso_opt(
    base: Sequence[Sequence[float]],
    patch: Sequence[Sequence[float]],
    commit: Sequence[Sequence[float]],
    *,
    human_fraction: float = 0.95,
    min_speedup: float = 1.2,
) -> GsoResult:
    """GSO's ``opt_base`` / ``opt_commit`` from per-test lists of times (seconds).

    ``base[i]``, ``patch[i]`` and ``commit[i]`` are the times of test i in each variant.
    ``human_fraction`` and ``min_speedup`` are GSO's ``OPT_THRESH`` (0.95) and
    ``MIN_PROB_SPEEDUP`` (1.2).
    """
    import numpy as np

    b, p, c = _test_means(base, "base"), _test_means(patch, "patch"), _test_means(commit, "commit")
    if not len(b) == len(p) == len(c):
        raise ValueError(f"expected the same tests in every variant, got {len(b)}, {len(p)} and {len(c)} tests")
    base_mean, patch_mean, commit_mean = (float(np.mean(x)) for x in (b, p, c))
    pb = _ratios(b, p)
    gm = np.exp(np.mean(np.log(pb)))  # a numpy float, rounded by numpy as GSO's is
    pc = _ratios(c, p)
    hm = len(pc) / sum(1 / s for s in pc)
    opt_base = bool(base_mean > patch_mean and round(gm, 1) >= min_speedup)
    opt_commit = bool(opt_base and hm > human_fraction)
    return GsoResult(base_mean, patch_mean, commit_mean, float(gm), float(hm), opt_base, opt_commit)
