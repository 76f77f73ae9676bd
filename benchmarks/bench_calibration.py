"""Calibration of the verdicts: false alarms, coverage, rounds and widths under noise.

Simulates perf-test runs on a fake clock and feeds them through the project's own
``run_protocol`` (counterbalanced blocks, sequential looks, ``decided`` early stop) and
``judge``, exactly as the runner does, under these noise models:

- ``iid-3%`` / ``iid-8%``: independent lognormal noise, CV 3% and 8%;
- ``heavy-tails``: 3% iid noise, and 5% of the runs 1.5-3x slower (a hiccup);
- ``two-speed``: a machine that flips between two speed states 1.65x apart (a Markov
  chain, ~20 runs per state on average), plus 3% iid noise;
- ``drift``: a slow random walk of the machine's speed (1% per run in log), plus 3%;
- ``fast-states``: what these machines do (measured with the machine idle): a core
  switching between two speed states 1.8x apart, each state lasting 15 ms to 1 s
  (log-uniform), plus 1.5% per process (its memory layout, its hash seed: fixed for the
  process's life) and 1% per pass. Simulated pass by pass, as the demo suite runs: a
  perf-test process starts and calibrates (0.1 s), then passes of 10 ms (in the fast
  state), at most 20 per round and no more than 2 s of them. Two round designs, both
  paired HL: one process per variant after another (each value the fastest of its own
  passes), and lockstep (``perf.lockstep``: the variants' passes alternate cycle by
  cycle, the values from ``combine_cycles``, the round run through ``run_together``);
- ``ar<phi>-<spread>`` (issue 23): rounds that are not independent. Each variant's own
  factor follows an AR(1) over its rounds with persistence 0.3, 0.5 or 0.8 and a
  stationary spread of 2% or 5% (in log), on top of 3% iid noise per run: what a
  sandbox's cache state, memory placement or layout can do, which lockstep and pairing
  cannot cancel since it belongs to one variant. Default estimator only.

For the first five models and each estimator (the default paired Hodges-Lehmann, and the
old unpaired Hodges-Lehmann through the same protocol), and for the pass-by-pass models
and each round design, it prints:

- A/A, three variants (human and agent are the baseline): the false-alarm rate of every
  category (human "significant", agent "beats", agent "worse": nominal alpha/2 = 2.5%
  each, any of them: 5%), how often the agent came out "similar" / "inconclusive", the
  coverage of 1.00 by the agent/human interval, the median rounds and the median
  half-width of the agent/human interval;
- human only (two variants) at true speedups 1.0, 1.05 and 1.5: the coverage of the human
  interval (nominal 95%), the "significant" rate, the median rounds and half-width.

Each run costs 0.1 s of fake time per perf-test run plus its value; the budget is the
demo suite's 30 s. ``--runs`` sets the runs per cell (default 300, a few minutes on two
busy cores; 2000 for figures to quote); the runs are split over ``--jobs`` processes
(default 2). Rates are flagged ``!`` when they exceed the nominal level by more than two
simulation standard errors, coverage when below 0.94. ``--assume-independent`` judges as
the rule did before issue 23 (rounds taken as independent: no widening, early stops on
dependent rounds), for the table before.

    python benchmarks/bench_calibration.py [--runs 2000] [--jobs 2] [--models iid-3%,ar0.5-2%] [--assume-independent]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_isobench.measure.allocation import RoundCost, allocate
from pytest_isobench.measure.paired import paired_speedup
from pytest_isobench.measure.passes import combine_cycles
from pytest_isobench.measure.protocol import Measurement, ProtocolSettings, run_protocol
from pytest_isobench.measure.rule import SuccessRule
from pytest_isobench.measure.verdict import decided, judge
from pytest_isobench.perf.lockstep import CYCLES_S, DEFAULT_CYCLES, MIN_CYCLES, cycle_orders

MODELS = ("iid-3%", "iid-8%", "heavy-tails", "two-speed", "drift", "fast-states", "process-modes")
PASS_MODELS = ("fast-states", "process-modes")
"""Models simulated pass by pass, whose columns are round designs (:data:`DESIGNS`)."""
PERSISTENT = {
    "ar0.3-2%": (0.3, 0.02),
    "ar0.5-2%": (0.5, 0.02),
    "ar0.8-2%": (0.8, 0.02),
    "ar0.3-5%": (0.3, 0.05),
    "ar0.5-5%": (0.5, 0.05),
    "ar0.8-5%": (0.8, 0.05),
}
"""Persistence models: each variant's own factor follows an AR(1) over its rounds
(persistence, stationary spread in log), what a sandbox's cache state or layout can do and
lockstep cannot cancel; on top, 3% iid noise per run."""
ALL_MODELS = MODELS + tuple(PERSISTENT)
ESTIMATORS = {"paired HL (default)": "paired-hodges-lehmann", "unpaired HL (old)": "hodges-lehmann"}
DESIGNS = {"lockstep (default)": "lockstep", "lockstep, 20 cycles": "lockstep-fixed", "one after another": "processes"}
"""Round designs compared under the pass-by-pass models (all with the default estimator):
lockstep with its cycles chosen from the rounds so far (``measure/allocation.py``), lockstep
with the suite's most cycles every round (before issue 23's item 5), one process after
another."""
SLOW_PROCESS_SHARE = 0.25
SLOW_PROCESS_FACTOR = 1.22
"""``process-modes``: the share of processes that run this much slower for their whole
life (what ``demo-c7a161c8`` does in Docker: a quarter of its processes 20-25% slow)."""
PASSES = DEFAULT_CYCLES  # the suite's perf.passes default, as the demo suite runs
PASS_S = 0.01
STATE_FACTOR = 1.8
SPEEDUPS = (1.0, 1.05, 1.5)
BUDGET_S = 30.0
RUN_OVERHEAD_S = 0.1
BASE_TIME_S = 0.1
MAX_ROUNDS = 200
ASSUME_INDEPENDENT = False
"""``--assume-independent``: judge as the rule did before issue 23 (see ``ProtocolSettings``)."""


def _rule_kw() -> dict[str, Any]:
    # Passed only when asked, so that the bench also runs on the code before issue 23.
    return {"assume_independent": True} if ASSUME_INDEPENDENT else {}


def persistent_factors(model: str, variants: list[str], n: int, rng: np.random.Generator) -> dict[str, list[float]]:
    """Each variant's AR(1) factor for its first ``n`` runs (stationary from the first)."""
    phi, spread = PERSISTENT[model]
    out: dict[str, list[float]] = {}
    for v in variants:
        x = rng.normal(0.0, spread)
        series = []
        for _ in range(n):
            series.append(float(math.exp(x)))
            x = phi * x + math.sqrt(1 - phi * phi) * rng.normal(0.0, spread)
        out[v] = series
    return out


def machine(model: str, n: int, rng: np.random.Generator) -> Any:
    """Multiplicative noise for the first ``n`` perf-test runs of one simulated task."""
    if model == "iid-3%":
        return np.exp(rng.normal(0.0, 0.03, n))
    if model == "iid-8%":
        return np.exp(rng.normal(0.0, 0.08, n))
    iid = np.exp(rng.normal(0.0, 0.03, n))
    if model == "heavy-tails":
        slow = rng.random(n) < 0.05
        return iid * np.where(slow, rng.uniform(1.5, 3.0, n), 1.0)
    if model in PERSISTENT:
        return iid  # the persistent part is per variant: see persistent_factors
    if model == "two-speed":
        flips = rng.random(n) < 0.05
        state = np.cumsum(flips) % 2
        if rng.random() < 0.5:
            state = 1 - state
        return iid * np.where(state == 1, 1.65, 1.0)
    if model == "drift":
        return iid * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    raise ValueError(f"model: expected one of {ALL_MODELS}, got {model!r}")


@dataclass
class Outcome:
    significant: bool
    category: str | None
    covered: bool
    rounds: int
    half_width: float  # relative half-width of the judged interval (agent/human, or human)


class FastStates:
    """A core's speed state over (fake) time: 1.0 or ``STATE_FACTOR``, each state lasting
    15 ms to 1 s (log-uniform); queried at non-decreasing times."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.slow = bool(rng.random() < 0.5)
        self.until = self._length()

    def _length(self) -> float:
        return float(math.exp(self.rng.uniform(math.log(0.015), math.log(1.0))))

    def factor(self, t: float) -> float:
        while t >= self.until:
            self.slow = not self.slow
            self.until += self._length()
        return STATE_FACTOR if self.slow else 1.0


def simulate_passes(model: str, design: str, scales: dict[str, float], seed: int, truth: float) -> Outcome:
    """One task on the ``fast-states`` machine (``process-modes``: with processes that run
    slow for their life), pass by pass, through run_protocol + judge."""
    rng = np.random.default_rng(seed)
    states = FastStates(rng)
    state = {"now": 0.0}

    process: dict[str, float] = {}

    def start(variant: str) -> None:
        if model == "process-modes":
            process[variant] = SLOW_PROCESS_FACTOR if rng.random() < SLOW_PROCESS_SHARE else 1.0
        else:
            process[variant] = float(math.exp(rng.normal(0.0, 0.015)))
        state["now"] += RUN_OVERHEAD_S

    def one_pass(variant: str) -> float:
        f = states.factor(state["now"]) * float(math.exp(rng.normal(0.0, 0.01)))
        state["now"] += PASS_S * f
        return BASE_TIME_S * scales[variant] * process[variant] * f

    def run_one(variant: str) -> Measurement:
        began = state["now"]
        start(variant)
        cycles_from = state["now"]
        times = []
        for i in range(PASSES):
            if i >= MIN_CYCLES and state["now"] - cycles_from >= CYCLES_S:
                break
            times.append(one_pass(variant))
        value = min(times)
        return Measurement(value, state["now"] - began, "same")

    costs: list[RoundCost] = []

    def run_together(order: list[str]) -> list[Measurement]:
        began = state["now"]
        for v in order:
            start(v)
        orders = cycle_orders(order)
        passes: dict[str, list[float]] = {v: [] for v in order}
        cycles_from = state["now"]
        planned = PASSES if design == "lockstep-fixed" else allocate(costs, len(order), PASSES, len(order)).cycles
        for i in range(planned):
            if i >= MIN_CYCLES and state["now"] - cycles_from >= CYCLES_S:
                break
            for v in orders[i % len(orders)]:
                passes[v].append(one_pass(v))
                state["now"] += 0.0002  # the request and the answer
        values = combine_cycles(passes)
        wall = state["now"] - began
        costs.append(RoundCost(passes, state["now"] - cycles_from, wall))
        return [Measurement(values[v], wall, "same", passes=tuple(passes[v])) for v in order]

    rule = SuccessRule()
    settings = ProtocolSettings(min_rounds=5, max_rounds=MAX_ROUNDS, max_time_s=BUDGET_S, seed=seed, **_rule_kw())
    result = run_protocol(
        list(scales),
        run_one,
        settings,
        clock=lambda: state["now"],
        decided=lambda partial: decided(partial, rule),
        run_together=None if design == "processes" else run_together,
    )
    return _outcome(result, rule, "agent" in scales, truth)


def _outcome(result: Any, rule: SuccessRule, has_agent: bool, truth: float) -> Outcome:
    v = judge([result], rule, has_agent=has_agent)
    est = v.agent_vs_human if has_agent else v.human
    assert est is not None
    return Outcome(
        significant=v.human_significant,
        category=v.category,
        covered=est.low <= truth <= est.high,
        rounds=result.rounds,
        half_width=est.rel_half_width,
    )


def fake_runs(model: str, scales: dict[str, float], seed: int) -> tuple[Any, Any]:
    """A fake ``run_one`` and its clock for one simulated task under ``model`` (not
    ``fast-states``, which is simulated pass by pass)."""
    rng = np.random.default_rng(seed)
    n_max = (MAX_ROUNDS + 1) * len(scales)
    noise = machine(model, n_max, rng).tolist()
    own = persistent_factors(model, list(scales), MAX_ROUNDS + 2, rng) if model in PERSISTENT else None
    runs = dict.fromkeys(scales, 0)
    state = {"now": 0.0, "i": 0}

    def clock() -> float:
        return state["now"]

    def run_one(variant: str) -> Measurement:
        value = BASE_TIME_S * scales[variant] * noise[state["i"]]
        if own is not None:
            value *= own[variant][runs[variant]]
            runs[variant] += 1
        state["i"] += 1
        state["now"] += RUN_OVERHEAD_S + value
        return Measurement(value, RUN_OVERHEAD_S + value, "same")

    return run_one, clock


def simulate(model: str, estimator: str, scales: dict[str, float], seed: int, truth: float) -> Outcome:
    """One task through run_protocol + judge. ``truth`` is the true human speedup
    (A/A three-variant runs check the agent/human ratio, whose truth is 1.0). Under
    ``fast-states`` ``estimator`` names the round design (see :data:`DESIGNS`)."""
    if model in PASS_MODELS:
        return simulate_passes(model, estimator, scales, seed, truth)
    run_one, clock = fake_runs(model, scales, seed)

    rule = SuccessRule(estimator=estimator)  # type: ignore[arg-type]
    settings = ProtocolSettings(
        min_rounds=5,
        max_rounds=MAX_ROUNDS,
        max_time_s=BUDGET_S,
        seed=seed,
        estimator=estimator,  # type: ignore[arg-type]
        **_rule_kw(),
    )
    result = run_protocol(list(scales), run_one, settings, clock=clock, decided=lambda partial: decided(partial, rule))
    return _outcome(result, rule, "agent" in scales, truth)


def fixed_n_comparison(models: list[str], reps: int, resamples: int = 1000) -> None:
    """Why the interval is the exact signed-rank one and not a bootstrap over rounds: A/A
    coverage of both 95% intervals at the round counts an early look sees, ``reps``
    simulated tasks each, rounds alternating which variant runs first."""
    print(f"\n== paired intervals at a fixed number of rounds: signed-rank vs bootstrap ({reps} A/A runs) ==")
    head = ("model", "rounds", "cover signed-rank", "cover bootstrap", "width s-r", "width boot")
    print(f"{head[0]:12}{head[1]:>8}{head[2]:>20}{head[3]:>18}{head[4]:>12}{head[5]:>12}")
    for model in models:
        for n in (8, 12, 20, 40):
            rng = np.random.default_rng(n)
            cover = [0, 0]
            widths: list[list[float]] = [[], []]
            for _ in range(reps):
                noise = machine(model, 2 * n, rng).reshape(n, 2)
                swap = np.arange(n) % 2 == 1  # counterbalanced: who runs first alternates
                base = np.where(swap, noise[:, 1], noise[:, 0])
                human = np.where(swap, noise[:, 0], noise[:, 1])
                est = paired_speedup(base.tolist(), human.tolist(), "lower", 0.95)
                cover[0] += est.low <= 1.0 <= est.high
                widths[0].append(est.rel_half_width)
                d = np.log(base) - np.log(human)
                meds = np.median(d[rng.integers(0, n, (resamples, n))], axis=1)
                lo, hi = np.exp(np.percentile(meds, [2.5, 97.5]))
                cover[1] += lo <= 1.0 <= hi
                widths[1].append((hi - lo) / 2 / math.exp(float(np.median(d))))
            print(
                f"{model:12}{n:>8}{cover[0] / reps:>20.3f}{cover[1] / reps:>18.3f}"
                f"{100 * statistics.median(widths[0]):>11.1f}%{100 * statistics.median(widths[1]):>11.1f}%"
            )
    print(
        "(an interim look judges at level ~0.0016: a percentile bootstrap would need > 1/0.0008 = 1250 "
        "resamples per interval just to have a tail quantile, and many times that to place it)"
    )


def columns(model: str) -> dict[str, str]:
    """The compared columns of a model: estimators, or under ``fast-states`` round designs."""
    if model in PERSISTENT:
        return {name: est for name, est in ESTIMATORS.items() if est == "paired-hodges-lehmann"}
    return DESIGNS if model in PASS_MODELS else ESTIMATORS


def _cell(args: tuple[str, str, str, float, int, int]) -> list[Outcome]:
    model, estimator, kind, speedup, first, count = args
    out = []
    for seed in range(first, first + count):
        if kind == "aa":
            scales = {"baseline": 1.0, "human": 1.0, "agent": 1.0}
            out.append(simulate(model, estimator, scales, seed, 1.0))
        else:
            out.append(simulate(model, estimator, {"baseline": 1.0, "human": 1.0 / speedup}, seed, speedup))
    return out


def _median_rounds(outcomes: list[Outcome]) -> float:
    return statistics.median(o.rounds for o in outcomes)


def _rate(k: int, n: int) -> str:
    return f"{100 * k / n:5.1f}%"


def _flag_above(k: int, n: int, nominal: float) -> str:
    se = math.sqrt(nominal * (1 - nominal) / n)
    return "!" if k / n > nominal + 2 * se else " "


AA_ROWS: list[tuple[str, Any, float | None]] = [
    ("  false 'significant' human (<=2.5%)", lambda o: o.significant, 0.025),
    ("  false 'beats' agent (<=2.5%)", lambda o: o.category == "beats", 0.025),
    ("  false 'worse' agent (<=2.5%)", lambda o: o.category == "worse", 0.025),
    ("  any false alarm (<=5%)", lambda o: o.significant or o.category in ("beats", "worse"), 0.05),
    ("  similar", lambda o: o.category == "similar", None),
    ("  inconclusive", lambda o: o.category == "inconclusive", None),
]
"""The A/A table's rate rows: label, which outcomes count, the nominal rate (flagged above)."""

Cells = dict[tuple[str, str, str, float], list[Outcome]]


def _rate_line(label: str, groups: list[list[Outcome]], pred: Any, nominal: float | None) -> tuple[str, int]:
    """One row of rates, one column per group; and whether the first column is flagged."""
    line, bad = f"{label:38}", 0
    for i, group in enumerate(groups):
        k = sum(1 for o in group if pred(o))
        flag = _flag_above(k, len(group), nominal) if nominal is not None else " "
        bad += flag == "!" and i == 0
        line += f"{_rate(k, len(group)):>23}{flag}"
    return line, bad


def _coverage_line(label: str, groups: list[list[Outcome]]) -> tuple[str, int]:
    line, bad = f"{label:38}", 0
    for i, group in enumerate(groups):
        cov = sum(o.covered for o in group) / len(group)
        flag = "!" if cov < 0.94 else " "
        bad += flag == "!" and i == 0
        line += f"{cov:>23.3f}{flag}"
    return line, bad


def _medians(groups: list[list[Outcome]], what: str) -> str:
    if what == "rounds":
        return f"{'  median rounds':38}" + "".join(f"{statistics.median(o.rounds for o in g):>24.0f}" for g in groups)
    label = "  median half-width agent/human" if what == "aa" else "  median half-width"
    return f"{label:38}" + "".join(f"{100 * statistics.median(o.half_width for o in g):>23.1f}%" for g in groups)


def print_model(model: str, cells: Cells) -> int:
    """The model's table (A/A, then human only at each speedup); figures flagged in the
    default column."""
    cols = columns(model)
    names = list(cols)
    print(f"\n== {model} ==")
    print(f"{'':38}" + "".join(f"{n:>24}" for n in names))
    aa = [cells[(model, cols[n], "aa", 1.0)] for n in names]
    print(f"A/A, 3 variants ({', '.join(f'{len(g)}' for g in aa)} runs)")
    bad = 0
    lines = [_rate_line(label, aa, pred, nominal) for label, pred, nominal in AA_ROWS]
    lines.append(_coverage_line("  agent/human coverage (>=0.94)", aa))
    for line, flagged in lines:
        print(line)
        bad += flagged
    print(_medians(aa, "rounds"))
    print(_medians(aa, "aa"))
    for s in SPEEDUPS:
        hs = [cells[(model, cols[n], "human", s)] for n in names]
        print(f"human only, true speedup {s:.2f} ({', '.join(f'{len(g)}' for g in hs)} runs)")
        label = "  'significant' (<=2.5%)" if s == 1.0 else "  'significant' (power)"
        for line, flagged in (
            _coverage_line("  coverage (>=0.94)", hs),
            _rate_line(label, hs, lambda o: o.significant, 0.025 if s == 1.0 else None),
        ):
            print(line)
            bad += flagged
        print(_medians(hs, "rounds"))
        print(_medians(hs, "human"))
    return bad


def run_cells(models: list[str], runs: dict[str, int], jobs: int) -> tuple[Cells, float]:
    """Every cell's outcomes, simulated in chunks over ``jobs`` processes; the seconds it took."""
    chunk = 100
    tasks: list[tuple[str, str, str, float, int, int]] = []
    for model in models:
        for name, est in columns(model).items():
            for kind, speedup in [("aa", 1.0)] + [("human", s) for s in SPEEDUPS]:
                for first in range(0, runs[name], chunk):
                    tasks.append((model, est, kind, speedup, first, min(chunk, runs[name] - first)))
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = pool.map(_cell, tasks, chunksize=1)
    cells: Cells = {}
    for t, res in zip(tasks, results, strict=True):
        cells.setdefault(t[:4], []).extend(res)
    return cells, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    global ASSUME_INDEPENDENT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=300, help="simulated tasks per cell (default 300; 2000 for figures to quote)"
    )
    parser.add_argument(
        "--old-runs", type=int, default=None, help="runs per cell for the old estimator (default: half)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--models", default=",".join(ALL_MODELS), help="comma-separated noise models")
    parser.add_argument("--fixed-n-runs", type=int, default=1000, help="A/A runs per fixed-n comparison (0: skip)")
    parser.add_argument(
        "--assume-independent",
        action="store_true",
        help="today's rule before issue 23: rounds taken as independent (no widening, early stops on dependent rounds)",
    )
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = [m for m in models if m not in ALL_MODELS]
    if unknown:
        parser.error(f"--models: expected names from {', '.join(ALL_MODELS)}, got {', '.join(unknown)}")
    ASSUME_INDEPENDENT = args.assume_independent  # read by the forked workers
    old = args.old_runs or max(1, args.runs // 2)
    runs = {name: args.runs if est in ("paired-hodges-lehmann", "lockstep", "lockstep-fixed") else old
            for name, est in {**ESTIMATORS, **DESIGNS}.items()}  # fmt: skip
    cells, elapsed = run_cells(models, runs, args.jobs)
    rule = "rounds assumed independent" if args.assume_independent else "rounds checked for dependence"
    print(f"bench_calibration: budget {BUDGET_S:g} s per task, alpha 0.05, {rule}, {args.jobs} jobs, {elapsed:.0f} s")
    bad = sum(print_model(model, cells) for model in models)
    print(f"\ndefault estimator: {bad} figure(s) outside the nominal level (flagged '!')")
    if args.fixed_n_runs:
        fixed_n_comparison([m for m in models if m in MODELS and m not in PASS_MODELS], args.fixed_n_runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
