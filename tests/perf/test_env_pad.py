"""Every perf-test process runs with an environment of a random size (issue 23, item 1:
what stays with a variant across rounds is re-drawn at its source), in real sandboxes: one
process at a time, a fresh size for every process; in lockstep, one for every round, the
same for its variants. The record keeps each round's padding and says what was randomised."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandboxutil import one_commit_boxes

from pytest_isobench.dataset.models import PerfTest
from pytest_isobench.measure.protocol import Measurement, ProtocolSettings, run_protocol
from pytest_isobench.perf import lockstep, perftest
from pytest_isobench.sandbox.protocol import Sandbox
from pytest_isobench.taskrun.build_record import perf_test_record

RUN_ID = f"test-env-pad-{uuid.uuid4().hex[:8]}"

# Reports the padding it saw as its time, (length + 1) microseconds, so the test can
# compare what the process saw with what the harness recorded.
SAYS_ITS_PAD = (
    "import json, os\n"
    "pad = os.environ.get('ISOBENCH_ENV_PAD')\n"
    "assert pad is None or set(pad) <= {'x'}\n"
    "print(json.dumps({'time_s': (len(pad or '') + 1) / 1e6, 'digest': 'same'}))\n"
)

# The same in lockstep: calibrates, answers passes, then reports.
SPEAKS_ITS_PAD = r"""
import json, os, sys
t = (len(os.environ.get("ISOBENCH_ENV_PAD", "")) + 1) / 1e6
for line in sys.stdin:
    cmd = line.split()[0]
    if cmd == "calibrate":
        print(json.dumps({"isobench": "calibrated", "loops": 1}), flush=True)
    elif cmd == "pass":
        print(json.dumps({"isobench": "pass", "time_s": t}), flush=True)
    elif cmd == "end":
        break
print(json.dumps({"time_s": t, "loops": 1, "digest": "same"}))
"""


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def boxes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Sandbox]]:
    with one_commit_boxes(request.param, tmp_path, "env-pad", RUN_ID, ("baseline", "human")) as made:
        yield made


def _saw(value: float | None) -> int:
    assert value is not None
    return round(value * 1e6) - 1


def test_each_process_gets_a_fresh_padding_and_the_record_keeps_it(boxes: dict[str, Sandbox]) -> None:
    test = PerfTest(name="pad", script=SAYS_ITS_PAD)
    for box in boxes.values():
        perftest.prepare(box, test)

    def run_one(variant: str) -> Measurement:
        return perftest.run_once(boxes[variant], test, "python3", 30)

    settings = ProtocolSettings(warmup=0, min_rounds=6, max_rounds=6, seed=1, interim_share=0.0)
    result = run_protocol(["baseline", "human"], run_one, settings)
    pads = [s.m.env_pad for s in result.samples]
    assert all(p is not None and 0 <= p < perftest.PAD_MAX for p in pads)
    assert [_saw(s.m.value) for s in result.samples] == pads  # what the process really saw
    assert len(set(pads)) >= 8  # 12 draws out of 4096: repeats are rare
    record = perf_test_record("pad", result)
    assert record.variants["human"].env_pad == [s.m.env_pad for s in result.samples if s.variant == "human"]
    assert record.randomised == list(perftest.RANDOMISED)
    assert "ISOBENCH_ENV_PAD" in record.randomised[0]


def test_lockstep_pads_the_variants_of_a_round_alike_and_redraws_it(boxes: dict[str, Sandbox]) -> None:
    test = PerfTest(name="pad", script=SPEAKS_ITS_PAD)
    for box in boxes.values():
        perftest.prepare(box, test)
    steps = lockstep.Lockstep(boxes, test, "python3", 30, cycles=3)

    def never(name: str) -> Measurement:
        raise AssertionError(f"run_one({name!r}) called, but the test speaks the protocol")

    seen: list[int] = []
    for _ in range(4):
        pads = set()
        for m in steps.round(["baseline", "human"], never, None):
            assert m.error is None and m.env_pad is not None and m.passes
            assert _saw(m.passes[0]) == m.env_pad  # what the process really saw
            pads.add(m.env_pad)
        assert len(pads) == 1, pads  # one layout for the round
        seen.extend(pads)
    assert len(set(seen)) >= 3, seen  # 4 draws out of 4096: repeats are rare
