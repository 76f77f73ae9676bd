"""How to detect and correct serial dependence of the per-round log ratios (issue 23).

Log ratios come from the project's own ``run_protocol`` driving the fake runs of
``bench_calibration`` (same noise models, persistence models included) for a fixed
number of rounds (no early stop), baseline against a human with the same true speed.
For each model and round count it prints:

- how often each detection test calls the rounds dependent at one-sided 5% (its size
  under the independent models, its power under the persistent ones): the lag-1
  autocorrelation of the ranks (Bartels), the sum of the ranks' autocorrelations at lags
  1-3 (what ``measure.dependence`` tests), the lag-1 autocorrelation of the values, and
  the Wald-Wolfowitz runs test about the median;
- the coverage of 1.0 by the 95% paired interval and its median half-width, as today
  (``none``) and widened by each long-run variance estimate: the AR(1) factor from lag 1
  alone, the ARMA(1, 1) factor from lags 1 and 2 as they are, the same with Marriott
  and Pope's AR(1) bias taken off (the rule before), the factor ``measure.dependence``
  uses (lags 1-4, their bias of ``F / n`` solved with ``F``; widened when its test
  leans that way), and batch means over batches of ``sqrt(n)`` rounds; each scaled by the
  t quantiles of the effective and the real number of rounds.

    python benchmarks/bench_dependence.py [--runs 1000] [--rounds 12,30,60]
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import statistics
import sys
from statistics import NormalDist
from typing import Any

from bench_calibration import PERSISTENT, fake_runs

from pytest_isobench.measure.dependence import (
    MAX_FACTOR,
    Dependence,
    _ranks,
    autocorrelation,
    debiased,
    dependence,
    order_moments,
    phi_cap,
    widened,
)
from pytest_isobench.measure.paired import log_ratios, paired_speedup
from pytest_isobench.measure.protocol import ProtocolSettings, run_protocol

MODELS = ("iid-3%", "iid-8%", "heavy-tails", "two-speed", "drift", *PERSISTENT)
TESTS = ("rank lag-1", "rank lags 1-3", "value lag-1", "runs")
WIDEN = ("none", "ar1 lag-1", "arma lag-1,2", "arma M-P", "arma used", "batch means")


def _p_lag1(x: list[float]) -> float:
    return _p_lags(x, 1)


def _p_lags(x: list[float], lags: int = 3) -> float:
    mean, var = order_moments(x, lags)
    s = sum(autocorrelation(x, k) for k in range(1, lags + 1))
    return 1 - NormalDist().cdf((s - mean) / math.sqrt(var)) if var > 0 else 1.0


def _arma(r1: float, r2: float, n: int) -> float:
    """The ARMA(1, 1) factor from lags 1 and 2 (``phi = r2 / r1``, capped)."""
    if r1 <= 0:
        return 1.0
    phi = min(max(r2 / r1, 0.0), phi_cap(n)) if r2 > 0 else 0.0
    return min(MAX_FACTOR, max(1.0, 1 + 2 * r1 / (1 - phi)))


def _p_runs(d: list[float]) -> float:
    """One-sided Wald-Wolfowitz: too few runs above/below the median means persistence."""
    med = statistics.median(d)
    signs = [v > med for v in d if v != med]
    n1, n2 = sum(signs), len(signs) - sum(signs)
    if n1 == 0 or n2 == 0:
        return 1.0
    runs = 1 + sum(a != b for a, b in itertools.pairwise(signs))
    n = n1 + n2
    mean = 2 * n1 * n2 / n + 1
    var = 2 * n1 * n2 * (2 * n1 * n2 - n) / (n * n * (n - 1))
    return NormalDist().cdf((runs + 0.5 - mean) / math.sqrt(var)) if var > 0 else 1.0


def _factor(method: str, d: list[float]) -> float:
    n = len(d)
    r = _ranks(d)
    r1 = autocorrelation(r, 1)
    if method == "arma used":
        return dependence(d).factor
    if method == "none" or r1 <= 0:
        return 1.0
    if method == "ar1 lag-1":
        return min(MAX_FACTOR, (1 + r1) / (1 - r1))
    if method == "arma lag-1,2":
        return _arma(r1, autocorrelation(r, 2), n)
    if method == "arma M-P":
        return _arma(debiased(r1, n), debiased(autocorrelation(r, 2), n), n)
    size = max(2, math.isqrt(n))
    means = [statistics.fmean(d[i : i + size]) for i in range(0, n - size + 1, size)]
    if len(means) < 2:
        return 1.0
    return min(MAX_FACTOR, max(1.0, size * statistics.variance(means) / statistics.variance(d)))


def _one(args: tuple[str, int, int]) -> tuple[list[bool], list[tuple[bool, float]]]:
    model, n, seed = args
    run_one, clock = fake_runs(model, {"baseline": 1.0, "human": 1.0}, seed)
    settings = ProtocolSettings(min_rounds=n, max_rounds=n, max_time_s=1e9, seed=seed, interim_share=0.0)
    result = run_protocol(["baseline", "human"], run_one, settings, clock=clock)
    base, human = result.paired("baseline", "human")
    d = log_ratios(base, human, "lower")
    rank = _ranks(d)
    rejects = [_p_lag1(rank) < 0.05, _p_lags(rank) < 0.05, _p_lag1(d) < 0.05, _p_runs(d) < 0.05]
    plain = paired_speedup(base, human, "lower", 0.95)
    out = []
    for method in WIDEN:
        f = _factor(method, d)
        e = widened(plain, Dependence(n, 0.0, 1.0, f), 0.95)
        out.append((e.low <= 1.0 <= e.high, e.rel_half_width))
    return rejects, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="simulated tasks per cell (default 1000)")
    parser.add_argument("--rounds", default="12,30,60", help="round counts (default 12,30,60)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.rounds.split(",")]
    models = args.models.split(",")
    head = f"{'model':12}{'n':>4}" + "".join(f"{t:>15}" for t in TESTS)
    head += "".join(f"{w:>22}" for w in WIDEN)
    print(f"bench_dependence: {args.runs} runs per cell; detection at one-sided 5%; coverage (half-width) at 95%")
    print(head)
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for model in models:
            for n in counts:
                res: list[Any] = pool.map(_one, [(model, n, s) for s in range(args.runs)], chunksize=50)
                line = f"{model:12}{n:>4}"
                for i in range(len(TESTS)):
                    line += f"{100 * sum(r[0][i] for r in res) / len(res):>14.1f}%"
                for j in range(len(WIDEN)):
                    cov = sum(r[1][j][0] for r in res) / len(res)
                    hw = statistics.median(r[1][j][1] for r in res)
                    line += f"{cov:>13.3f} ({100 * hw:4.1f}%)"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
