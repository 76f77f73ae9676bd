"""The field's own success rules, computed beside our verdict from the same measured values.

Each benchmark judges a submission its own way; here each rule is re-implemented from its
code (read, never copied) on the values our protocol measured (each kept round's value
per variant and perf test), so that a record says what GSO, SWE-Perf, SWE-fficiency and
FormulaCode would have concluded from this very measurement. They are reported beside our
verdict (``verdict.field_rules`` in the record), never instead of it. Pure: numpy and
scipy are imported lazily; no pytest, no docker.

Values are per perf test: ``{test: {"baseline": [...], "human": [...], "agent": [...]}}``,
times in seconds (lower is better).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .gso import gso_opt

if TYPE_CHECKING:
    from .protocol import ProtocolResult

Values = Mapping[str, Mapping[str, Sequence[float]]]

__all__ = [
    "failed_agent",
    "field_rules",
    "filter_outliers",
    "formulacode",
    "gso",
    "max_significant_improvement",
    "swefficiency",
    "sweperf",
    "values_of",
]


def values_of(results: Sequence[tuple[str, ProtocolResult]]) -> dict[str, dict[str, list[float]]]:
    """Each perf test's kept values per variant (warm-up rounds and failed runs left out)."""
    found: dict[str, dict[str, list[float]]] = {}
    for name, result in results:
        per: dict[str, list[float]] = {v: [] for v in result.variants}
        for s in result.samples:
            if s.round >= 0 and s.m.error is None and s.m.value is not None:
                per.setdefault(s.variant, []).append(float(s.m.value))
        found[name] = per
    return found


# -- SWE-Perf -------------------------------------------------------------------------------


def filter_outliers(data: Sequence[float]) -> list[float]:
    """SWE-Perf's ``filter_outliers`` (``evaluation/utils.py``): values within one IQR of the
    quartiles (numpy's linear percentiles), the rest dropped."""
    import numpy as np

    array = np.array(list(data), dtype=float)
    q1, q3 = np.percentile(array, 25), np.percentile(array, 75)
    iqr = q3 - q1
    return [float(x) for x in array[(array >= q1 - iqr) & (array <= q3 + iqr)]]


def max_significant_improvement(
    head: Sequence[float], base: Sequence[float], p_threshold: float = 0.1, step: float = 0.001, max_x: float = 1.0
) -> float:
    """SWE-Perf's ``find_max_significant_improvement`` (``evaluation/utils.py``), Mann-Whitney:
    the largest ``x`` (by steps of 0.001 from 0, up to 1) for which ``base * (1 - x)`` is
    still significantly greater than ``head`` (one-sided U test, p < 0.1); 0 when even x = 0
    is not significant. The fraction of time saved, at the least, with confidence."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    a, b = np.array(list(head), dtype=float), np.array(list(base), dtype=float)
    x, last = 0.0, 0.0
    while x <= max_x:
        _stat, p_value = mannwhitneyu(b * (1 - x), a, alternative="greater")
        if not p_value < p_threshold:
            break
        last = x
        x += step  # accumulated as theirs is, so the same steps are tried
    return last


def sweperf(values: Values, variant: str = "agent", failed: bool = False) -> float:
    """SWE-Perf's per-instance performance (``evaluation/check_evaluation.py``): the mean over
    the efficiency tests of the maximal significant improvement of ``variant`` over the
    baseline, each side outlier-filtered; 0 for a run that failed (their ``run_failed``
    instances add nothing to the sum they divide by the number of instances)."""
    if failed or not values:
        return 0.0
    gains = [
        max_significant_improvement(filter_outliers(v[variant]), filter_outliers(v["baseline"]))
        for v in values.values()
    ]
    return sum(gains) / len(gains)


# -- SWE-fficiency --------------------------------------------------------------------------


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def swefficiency(values: Values, correct: bool = True) -> dict[str, float]:
    """SWE-fficiency's per-instance figures (``scripts/eval/get_report.py: evaluate_instance``):
    speedups are ``before_mean / after_mean`` of the workload's repeats (our values of each
    variant; several perf tests add up, as one workload running them all); the
    prediction's speedup counts as 1.0 unless every ``PASS_TO_PASS`` test passes
    (``correct``); ``speedup_ratio`` (their ``human_speedup_ratio``, the figure their
    harmonic mean is taken of) is the prediction's speedup over the gold patch's."""
    before = sum(_mean(v["baseline"]) for v in values.values())
    gold_after = sum(_mean(v["human"]) for v in values.values())
    gold = before / gold_after
    figures = {"gold_speedup": gold, "correctness": 1.0 if correct else 0.0}
    if all("agent" in v and v["agent"] for v in values.values()):
        raw = before / sum(_mean(v["agent"]) for v in values.values())
        pred = raw if correct else 1.0
        figures.update(raw_pred_speedup=raw, pred_speedup=pred, speedup_ratio=pred / gold if gold else 0.0)
    return figures


# -- FormulaCode ----------------------------------------------------------------------------


def _median(xs: Sequence[float]) -> float:
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _gmean(xs: Sequence[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def formulacode(values: Values, failed: bool = False) -> dict[str, float]:
    """FormulaCode's overall (level-4) advantage, as FC-Eval computes it (their metrics guide;
    ``adapters/formulacode/template/parser.py``, ``fceval/harness/models.py``): per benchmark
    ``agent_i = nop median / agent median`` and ``oracle_i = nop median / oracle median``
    (nop: the baseline; oracle: the human); the advantage is ``gmean(agent_i) -
    gmean(oracle_i)`` over all benchmarks; a failed agent counts as no change (every
    ``agent_i`` = 1.0)."""
    oracle = [_median(v["baseline"]) / _median(v["human"]) for v in values.values()]
    figures = {"oracle_speedup": _gmean(oracle)}
    if failed:
        agent = [1.0] * len(oracle)
    elif all(v.get("agent") for v in values.values()):
        agent = [_median(v["baseline"]) / _median(v["agent"]) for v in values.values()]
    else:  # no agent, or one whose every run failed: no agent figure
        return figures
    figures.update(agent_speedup=_gmean(agent), advantage=_gmean(agent) - _gmean(oracle))
    return figures


# -- GSO ------------------------------------------------------------------------------------


def gso(values: Values) -> dict[str, Any]:
    """GSO's ``opt_base`` / ``opt_commit`` (``measure/gso.py``) on these values."""
    tests = list(values.values())
    return gso_opt([t["baseline"] for t in tests], [t["agent"] for t in tests], [t["human"] for t in tests]).as_dict()


def failed_agent() -> dict[str, Any]:
    """What each benchmark records for an agent that failed before anything was timed (its
    patch did not apply, broke a test, changed the output): SWE-fficiency a prediction
    speedup of 1.0 and correctness 0, SWE-Perf 0, FormulaCode no change (1.0), GSO no
    ``opt_commit``."""
    return {
        "swefficiency": {"pred_speedup": 1.0, "correctness": 0.0},
        "sweperf": {"agent": 0.0},
        "formulacode": {"agent_speedup": 1.0},
        "gso": {"opt_base": False, "opt_commit": False},
    }


def field_rules(values: Values, *, failed: bool = False) -> dict[str, Any]:
    """Every rule that applies to these values: with an agent, the four benchmarks' figures
    for it; without one, what each says of the human. A rule that cannot be computed on
    these values (too few of them) says why instead of a figure."""
    usable = {t: v for t, v in values.items() if v.get("baseline") and v.get("human")}
    if not usable:
        return {}
    has_agent = all(v.get("agent") for v in usable.values())
    found: dict[str, Any] = {}
    rules: dict[str, Any] = {
        "swefficiency": lambda: swefficiency(usable, correct=not failed),
        "formulacode": lambda: formulacode(usable, failed=failed),
        "sweperf": lambda: {
            "human": sweperf(usable, "human"),
            **({"agent": sweperf(usable, "agent", failed)} if has_agent else {}),
        },
    }
    if has_agent:
        rules["gso"] = lambda: gso(usable)
    for name, compute in rules.items():
        try:
            found[name] = compute()
        except (ValueError, ZeroDivisionError, IndexError) as exc:  # a figure missing: say so, never fail the task
            found[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return found
