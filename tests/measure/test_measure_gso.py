"""GSO's success test on examples worked out from GSO's grader.

The examples follow ``get_opt_status`` in gso-bench/gso ``src/gso/harness/grading/
metrics.py``: each test's times reduce to their mean; ``opt_base`` needs the mean of the
base's per-test means above the patch's and ``round(GM, 1) >= 1.2`` (GM: geometric mean
of base/patch per test); ``opt_commit`` needs, in addition, the harmonic mean over tests
of commit/patch (human time over agent time) ``> 0.95``. Each expected value below was
worked out by hand from that arithmetic (the numbers are in the comments).
"""

from __future__ import annotations

import random

import pytest

from pytest_isobench.measure.gso import gso_opt
from pytest_isobench.measure.protocol import Measurement, ProtocolResult, ProtocolSettings, Sample
from pytest_isobench.measure.rule import SuccessRule
from pytest_isobench.measure.verdict import judge

# (name, base, patch, commit, opt_base, opt_commit)
EXAMPLES = [
    # One test; the agent matches the 2x human: GM 2.0, HM 1.0.
    ("matches-human", [[2.0, 2.0]], [[1.0, 1.0]], [[1.0, 1.0]], True, True),
    # GM 1.16 rounds to 1.2: passes GSO's minimum, though 1.16 < 1.2.
    ("gm-rounds-up", [[1.16]], [[1.0]], [[1.0]], True, True),
    # GM 1.14 rounds to 1.1: below the minimum, whatever the human did.
    ("gm-rounds-down", [[1.14]], [[1.0]], [[1.05]], False, False),
    # HM of human/agent time 0.96 > 0.95: passes; 0.94: fails.
    ("hm-just-above", [[2.0]], [[1.0]], [[0.96]], True, True),
    ("hm-just-below", [[2.0]], [[1.0]], [[0.94]], True, False),
    # Per-test ratios 10 and 0.1: HM 2 / (0.1 + 10) = 0.198, a fail, while the harmonic
    # means of the speedups agree (agent 10x and 1x, human 1x and 10x: both 1.82), which
    # the old rule (HM agent >= 0.95 HM human) passed.
    ("hm-of-ratios-not-ratio-of-hms", [[1.0], [1.0]], [[0.1], [1.0]], [[1.0], [0.1]], True, False),
    # GM of speedups 2.04 (0.833x on a 10 s test, 5x on a 0.1 s one), but the mean base
    # time 5.05 s is below the mean patch time 6.01 s: not an improvement for GSO.
    ("mean-check", [[10.0], [0.1]], [[12.0], [0.02]], [[8.0], [0.05]], False, False),
    # Means, not medians: base times 1, 1, 4 have mean 2 (median 1): a 2x for GSO.
    ("means-not-medians", [[1.0, 1.0, 4.0]], [[1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]], True, True),
]


@pytest.mark.parametrize(("name", "base", "patch", "commit", "opt_base", "opt_commit"), EXAMPLES)
def test_gso_examples(
    name: str,
    base: list[list[float]],
    patch: list[list[float]],
    commit: list[list[float]],
    opt_base: bool,
    opt_commit: bool,
) -> None:
    r = gso_opt(base, patch, commit)
    assert (r.opt_base, r.opt_commit) == (opt_base, opt_commit), (name, r)


def test_gso_figures() -> None:
    r = gso_opt([[1.0], [1.0]], [[0.1], [1.0]], [[1.0], [0.1]])
    assert r.hm_patch_commit == pytest.approx(2 / (0.1 + 10))
    assert r.gm_patch_base == pytest.approx(10**0.5)
    assert (r.base_mean, r.patch_mean) == (pytest.approx(1.0), pytest.approx(0.55))
    assert r.as_dict()["opt_commit"] is False


def test_gso_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="same tests"):
        gso_opt([[1.0]], [[1.0], [1.0]], [[1.0]])
    with pytest.raises(ValueError, match=r"patch\[0\]"):
        gso_opt([[1.0]], [[0.0]], [[1.0]])
    with pytest.raises(ValueError, match="base"):
        gso_opt([], [], [])


def _result(base: list[float], human: list[float], agent: list[float]) -> ProtocolResult:
    values = {"baseline": base, "human": human, "agent": agent}
    samples = [
        Sample(v, i, order, Measurement(x, x, "same"))
        for order, (v, xs) in enumerate(values.items())
        for i, x in enumerate(xs)
    ]
    return ProtocolResult(tuple(values), ProtocolSettings(), samples, len(base), "max_time")


def test_judge_applies_gsos_test_to_the_measured_times() -> None:
    """Through ``judge``: the hm-of-ratios example as two measured perf tests (12 rounds,
    0.1% noise). The old rule passed it; GSO's does not."""
    rng = random.Random(3)

    def times(t: float) -> list[float]:
        return [t * rng.lognormvariate(0.0, 0.001) for _ in range(12)]

    tests = [_result(times(1.0), times(1.0), times(0.1)), _result(times(1.0), times(0.1), times(1.0))]
    v = judge(tests, SuccessRule(rule="gso"), has_agent=True)
    assert v.gso is not None
    assert v.gso.hm_patch_commit == pytest.approx(0.198, abs=0.002)
    assert not v.passed
    assert "gso fail" in v.reason
    ok = [_result(times(2.0), times(1.0), times(1.0))]
    assert judge(ok, SuccessRule(rule="gso"), has_agent=True).passed
