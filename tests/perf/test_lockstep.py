"""Lockstep rounds: conversations with a running command, the driver, and the values.

The conversations and the driver run for real in both backends (host processes and
containers of a real engine) against small perf-test scripts that speak the protocol, do
not, crash, or hang. The values' arithmetic is checked on passes made up to show the
failure it prevents: a machine whose speed changes between variants.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitutil import one_commit_repo
from sandboxutil import sleeping, variant_boxes

from pytest_isobench.dataset.models import PerfTest
from pytest_isobench.measure.allocation import FROM_ROUNDS
from pytest_isobench.measure.passes import combine_cycles
from pytest_isobench.measure.protocol import Measurement, ProtocolSettings, run_protocol
from pytest_isobench.perf import lockstep, perftest
from pytest_isobench.sandbox.conversation import Conversing
from pytest_isobench.sandbox.protocol import Sandbox, SandboxSpec
from pytest_isobench.taskrun.build_record import perf_test_record

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-lockstep-{uuid.uuid4().hex[:8]}"

# A perf test that speaks the protocol; each pass appends "<wall clock ns> <variant>" to
# passes.log in the checkout (the clock is the kernel's, shared by the host and its
# containers), so that a test can see the order in which the passes really ran.
SPEAKS = r"""
import json, os, sys, time
name = os.environ.get("VARIANT", "?")
log = open("passes.log", "a")
loops, best = 0, float("inf")
def region():
    return sum(i * i for i in range(2000))
for line in sys.stdin:
    cmd, _, count = line.strip().partition(" ")
    if cmd == "calibrate":
        loops = int(count) if count else len(name)  # its own choice: 8 baseline, 5 human or agent
        log.write(f"{time.time_ns()} calibrate:{name}:{count or '-'}\n"); log.flush()
        print("calibrating", flush=True)
        print(json.dumps({"isobench": "calibrated", "loops": loops}), flush=True)
    elif cmd == "pass":
        log.write(f"{time.time_ns()} {name}\n"); log.flush()
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            region()
        per = (time.perf_counter_ns() - t0) / 1e9 / loops
        best = min(best, per)
        print(json.dumps({"isobench": "pass", "time_s": per}), flush=True)
    elif cmd == "end":
        break
print(json.dumps({"time_s": best, "loops": loops, "digest": "same"}))
"""

SILENT = 'import json; print(json.dumps({"time_s": 0.01, "digest": "same"}))\n'

CRASHES_AT_THIRD_PASS = r"""
import json, sys
n = 0
for line in sys.stdin:
    if line.startswith("calibrate"):
        print(json.dumps({"isobench": "calibrated", "loops": 1}), flush=True)
    elif line.strip() == "pass":
        n += 1
        if n == 3:
            sys.exit("boom at pass 3")
        print(json.dumps({"isobench": "pass", "time_s": 0.001}), flush=True)
"""


# -- the values -------------------------------------------------------------------------


def test_two_variants_ratio_is_the_median_of_the_cycle_ratios() -> None:
    a = [1.0, 2.0, 1.0, 1.9, 1.1]
    b = [1.2, 2.2, 1.3, 1.9, 1.4]
    values = combine_cycles({"a": a, "b": b})
    ratios = sorted(y / x for x, y in zip(a, b, strict=True))
    assert values["b"] / values["a"] == pytest.approx(statistics.median(ratios))
    # The scale is the least disturbed cycle's: values read as seconds per loop.
    assert min(a) <= values["a"] <= max(a)


def test_a_machine_switching_speed_between_cycles_cancels_in_lockstep() -> None:
    """The failure mode measured on these machines: a core switching between speed states
    1.8x apart on sub-second scales (one process after another, identical code differed by
    up to 1.8x). Identical code, 200 rounds of 10 cycles, each cycle in either state: the
    lockstep values agree within 1% in every round."""
    rng = random.Random(7)
    worst = 0.0
    for _ in range(200):
        # One state per cycle: the variants' passes of a cycle are milliseconds apart.
        states = [rng.choice([1.0, 1.8]) for _ in range(10)]
        a = [0.005 * s * rng.uniform(0.995, 1.005) for s in states]
        b = [0.005 * s * rng.uniform(0.995, 1.005) for s in states]
        values = combine_cycles({"a": a, "b": b})
        worst = max(worst, abs(math.log(values["b"] / values["a"])))
    assert worst < math.log(1.01)


def test_three_variants_keep_their_ratios_under_a_common_slowdown() -> None:
    base = [0.010, 0.010, 0.010, 0.010]
    slow = [1.0, 2.0, 1.5, 1.0]
    passes = {
        "baseline": [x * s for x, s in zip(base, slow, strict=True)],
        "human": [0.5 * x * s for x, s in zip(base, slow, strict=True)],
        "agent": [0.25 * x * s for x, s in zip(base, slow, strict=True)],
    }
    values = combine_cycles(passes)
    assert values["human"] / values["baseline"] == pytest.approx(0.5)
    assert values["agent"] / values["human"] == pytest.approx(0.5)
    assert values["baseline"] == pytest.approx(0.010)


@pytest.mark.parametrize(
    ("passes", "expected"),
    [
        ({}, "at least one variant"),
        ({"a": [], "b": [1.0]}, "at least one complete cycle"),
        ({"a": [1.0, float("nan")], "b": [1.0, 1.0]}, "passes of a: expected positive finite seconds, got nan"),
        ({"a": [1.0], "b": [0.0]}, "passes of b: expected positive finite seconds, got 0.0"),
    ],
)
def test_bad_passes_are_named(passes: dict[str, list[float]], expected: str) -> None:
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        combine_cycles(passes)


# -- the protocol's round hook ----------------------------------------------------------


def test_a_round_is_one_call_in_the_block_order_and_must_answer_every_variant() -> None:
    seen: list[list[str]] = []

    def together(order: list[str]) -> list[Measurement]:
        seen.append(list(order))
        return [Measurement(0.01 if v == "baseline" else 0.005, 0.1, passes=(0.01,)) for v in order]

    def one(_: str) -> Measurement:
        raise AssertionError("run_one is not used when run_together is given")

    settings = ProtocolSettings(warmup=0, min_rounds=6, max_rounds=6, max_time_s=60, seed=3)
    result = run_protocol(["baseline", "human", "agent"], one, settings, run_together=together)
    assert result.rounds == 6
    # Counterbalanced: the six rounds of one block are the six orders of the three variants.
    assert sorted(map(tuple, seen)) == sorted(
        {
            ("baseline", "human", "agent"),
            ("baseline", "agent", "human"),
            ("human", "baseline", "agent"),
            ("human", "agent", "baseline"),
            ("agent", "baseline", "human"),
            ("agent", "human", "baseline"),
        }
    )
    assert [s.variant for s in result.samples[:3]] == seen[0]
    with pytest.raises(ValueError, match="run_together: expected 3 measurements, got 1"):
        run_protocol(["baseline", "human", "agent"], one, settings, run_together=lambda order: together(order)[:1])


# -- conversations and the driver, both backends -----------------------------------------


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return one_commit_repo(tmp_path_factory.mktemp("lockstep-repo"))


def _spec(repo: tuple[Path, str], variant: str) -> SandboxSpec:
    return SandboxSpec(
        task_id="lockstep",
        variant=variant,  # type: ignore[arg-type]
        repo_dir=repo[0],
        commit=repo[1],
        image=IMAGE,
        run_id=RUN_ID,
        env={"VARIANT": variant},
    )


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def boxes(request: pytest.FixtureRequest, repo: tuple[Path, str], tmp_path: Path) -> Iterator[dict[str, Sandbox]]:
    with variant_boxes(request.param, lambda variant: _spec(repo, variant), tmp_path / "worktrees") as made:
        yield made


def _driver(boxes: dict[str, Sandbox], script: str, cycles: int = 4, timeout_s: float = 30) -> lockstep.Lockstep:
    test = PerfTest(name="t", script=script)
    for box in boxes.values():
        perftest.prepare(box, test)
    return lockstep.Lockstep(boxes, test, "python3", timeout_s, cycles=cycles)


def _never(name: str) -> Measurement:
    raise AssertionError(f"run_one({name!r}) called, but the test speaks the protocol")


def test_conversation_lines_both_ways_then_the_run_result(boxes: dict[str, Sandbox]) -> None:
    box = boxes["baseline"]
    assert isinstance(box, Conversing)
    talk = box.converse('while read x; do echo "got $x"; echo err >&2; done; echo bye', 30)
    for word in ("one", "two"):
        assert talk.send(word)
        assert talk.receive(10) == f"got {word}"
    result = talk.finish(10)  # closes its input: the loop ends
    assert result.exit_code == 0 and not result.timed_out
    assert result.stdout == "got one\ngot two\nbye\n"
    assert result.stderr == "err\nerr\n"
    assert talk.receive(1) == "bye"  # lines not read before the end are still there
    assert talk.receive(1) is None  # then the end, and it stays the end
    assert talk.receive(1) is None


def test_conversation_past_its_limit_is_killed_with_its_children(boxes: dict[str, Sandbox]) -> None:
    box = boxes["baseline"]
    assert isinstance(box, Conversing)
    began = time.perf_counter()
    marker = f"{300 + time.time_ns() % 10**5}"
    talk = box.converse(f"sleep {marker}.5 & sleep {marker}", 1.5)
    assert talk.receive(30) is None  # the output ends when the limit kills the group
    result = talk.finish(30)
    took = time.perf_counter() - began
    assert result.timed_out and result.exit_code == 124
    assert took < 15, took
    assert not sleeping(box, marker)


def test_lockstep_round_alternates_the_passes_in_every_order(boxes: dict[str, Sandbox]) -> None:
    steps = _driver(boxes, SPEAKS, cycles=6)
    order = ["human", "agent", "baseline"]
    ran = steps.round(order, _never, 0.01)
    assert steps.supported is True and steps.notes == []
    assert [m.error for m in ran] == [None, None, None]
    for v, m in zip(order, ran, strict=True):
        assert m.passes is not None and len(m.passes) == 6
        assert m.loops == len(v) and m.digest == "same"
        assert m.value is not None and m.value > 0
    # The values are the per-cycle combination of the passes, not each process's own minimum.
    expected = combine_cycles({v: list(m.passes or ()) for v, m in zip(order, ran, strict=True)})
    assert [m.value for m in ran] == pytest.approx([expected[v] for v in order])
    # What really ran, by the kernel's clock: cycle after cycle, each variant once per cycle,
    # the cycles going through every order of the three, starting with the round's.
    logged = sorted(
        line.split() for box in boxes.values() for line in box.exec("cat passes.log", 30).stdout.splitlines()
    )
    sequence = [variant for _, variant in logged if not variant.startswith("calibrate:")]
    cycles = [tuple(sequence[i : i + 3]) for i in range(0, len(sequence), 3)]
    assert len(cycles) == 6 and cycles[0] == tuple(order)
    assert sorted(cycles) == sorted(itertools.permutations(order))


def test_later_rounds_ask_for_the_most_loops_each_variant_chose(boxes: dict[str, Sandbox]) -> None:
    """A calibration disturbed by other work picks too few loops: from the second round on
    each variant is asked for the most loops it chose so far, or enough for its fastest pass
    to last the minimum time, until the minimum time changes."""
    steps = _driver(boxes, SPEAKS, cycles=2)
    order = ["baseline", "human"]
    steps.round(order, _never, None)
    assert steps.loops == {"baseline": 8, "human": 5}
    steps.loops["human"] = 11  # as if an earlier round had chosen more
    second = steps.round(order, _never, None)
    assert [m.loops for m in second] == [8, 11]
    third = steps.round(order, _never, 0.05)  # ties asked for longer values: the tests choose again ...
    assert [m.loops for m in third] == [8, 5]
    for v, m in zip(order, third, strict=True):  # ... and are then asked for passes of 0.05 s
        assert m.passes is not None
        assert steps.loops[v] == max(m.loops or 0, math.ceil(0.05 / min(m.passes))), (v, m.passes)
    asked = [
        line.split()[1]
        for box in (boxes["baseline"], boxes["human"])
        for line in box.exec("cat passes.log", 30).stdout.splitlines()
        if "calibrate:" in line
    ]
    assert asked == [
        *("calibrate:baseline:-", "calibrate:baseline:8", "calibrate:baseline:-"),
        *("calibrate:human:-", "calibrate:human:11", "calibrate:human:-"),
    ]


def test_a_round_of_long_passes_stops_its_cycles_after_the_round_time(boxes: dict[str, Sandbox]) -> None:
    slow = SPEAKS.replace(
        "        t0 = time.perf_counter_ns()", "        time.sleep(0.05)\n        t0 = time.perf_counter_ns()"
    )
    steps = _driver(boxes, slow, cycles=50)
    steps.cycles_s = 1.0
    began = time.perf_counter()
    ran = steps.round(["baseline", "human", "agent"], _never, None)
    took = time.perf_counter() - began
    counts = {len(m.passes or ()) for m in ran}
    assert len(counts) == 1, counts  # every variant the same cycles
    (cycles,) = counts
    # Three passes of >= 50 ms a cycle: the round stops after about 1 s of them, not 50 cycles.
    assert lockstep.MIN_CYCLES <= cycles <= 10, cycles
    assert took < 20, took
    assert all(m.error is None and m.value is not None for m in ran)


def test_a_test_that_does_not_speak_it_runs_one_process_after_another(boxes: dict[str, Sandbox]) -> None:
    steps = _driver(boxes, SILENT)
    singles: list[str] = []

    def run_one(name: str) -> Measurement:
        singles.append(name)
        return perftest.run_once(boxes[name], PerfTest(name="t", script=SILENT), "python3", 30)

    order = ["agent", "baseline", "human"]
    first = steps.round(order, run_one, 0.01)
    # The first variant's run to the end counts (it ran alone); the others run one by one.
    assert steps.supported is False
    assert singles == ["baseline", "human"]
    assert [m.value for m in first] == [0.01, 0.01, 0.01]
    assert [m.passes for m in first] == [None, None, None]
    assert "does not answer ISOBENCH_LOCKSTEP" in steps.notes[0]
    singles.clear()
    steps.round(order, run_one, 0.01)
    assert singles == order


def test_a_test_that_reads_its_input_to_the_end_is_timed_the_old_way(boxes: dict[str, Sandbox]) -> None:
    """A perf test that reads standard input to its end (it was /dev/null before lockstep)
    would wait forever on the open pipe: after one reply limit it is timed as before."""
    reads = 'import json, sys\nsys.stdin.read()\nprint(json.dumps({"time_s": 0.02, "digest": "same"}))\n'
    steps = _driver(boxes, reads, timeout_s=2)
    test = PerfTest(name="t", script=reads)

    def run_one(name: str) -> Measurement:
        return perftest.run_once(boxes[name], test, "python3", 30)

    began = time.perf_counter()
    ran = steps.round(["baseline", "human"], run_one, 0.01)
    assert time.perf_counter() - began < 20
    assert steps.supported is False
    assert "gave no answer to 'calibrate' within 2s" in steps.notes[0]
    assert [(m.error, m.value) for m in ran] == [(None, 0.02), (None, 0.02)]


def test_a_variant_that_crashes_mid_round_errs_alone(boxes: dict[str, Sandbox]) -> None:
    steps = _driver(boxes, SPEAKS, cycles=5)
    boxes["agent"].write_file(perftest.script_name(PerfTest(name="t")), CRASHES_AT_THIRD_PASS)
    order = ["baseline", "agent", "human"]
    ran = dict(zip(order, steps.round(order, _never, 0.01), strict=True))
    assert ran["agent"].error is not None and "boom at pass 3" in ran["agent"].error
    assert ran["baseline"].error is None and ran["human"].error is None
    values = combine_cycles({v: list(ran[v].passes or ()) for v in ("baseline", "human")})
    assert ran["human"].value == pytest.approx(values["human"])


def test_a_variant_that_stops_answering_is_killed_at_the_reply_limit(boxes: dict[str, Sandbox]) -> None:
    steps = _driver(boxes, SPEAKS, cycles=3, timeout_s=6)
    hangs = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        'print(\'{"isobench": "calibrated", "loops": 1}\', flush=True)\n'
        "time.sleep(600)\n"
    )
    boxes["human"].write_file(perftest.script_name(PerfTest(name="t")), hangs)
    began = time.perf_counter()
    ran = dict(zip(["baseline", "human"], steps.round(["baseline", "human"], _never, 0.01), strict=True))
    assert time.perf_counter() - began < 30
    assert ran["human"].error is not None and "no answer to 'pass' within 6s" in ran["human"].error
    assert ran["baseline"].error is None


def test_the_record_keeps_each_rounds_passes(boxes: dict[str, Sandbox]) -> None:
    """The record keeps every kept round's passes, from which its value came."""

    steps = _driver(boxes, SPEAKS, cycles=6)
    settings = ProtocolSettings(warmup=0, min_rounds=2, max_rounds=2, max_time_s=60, seed=1)
    result = run_protocol(list(boxes), _never, settings, run_together=lambda order: steps.round(order, _never, 0.01))
    record = perf_test_record("t", result)
    assert record.lockstep is True
    for variant in boxes:
        kept = record.variants[variant]
        assert len(kept.passes) == 2 and all(len(p) == 6 for p in kept.passes)
    rounds = [{s.variant: s.m.passes for s in result.samples if s.round == r} for r in range(2)]
    for r, passes in enumerate(rounds):
        again = combine_cycles({v: list(p or ()) for v, p in passes.items()})
        assert record.variants["human"].values[r] == pytest.approx(again["human"])
    assert type(record).model_validate_json(record.model_dump_json()) == record  # the record file keeps them


# A perf test whose process is, for its whole life, either fast or 3x slow (drawn at its
# start, as a process's memory placement is), its passes steady: what demo-c7a161c8 does
# in Docker (issue 23, item 5), exaggerated so that a test machine's load (which preempts
# passes of a few milliseconds often) cannot hide it.
LIFELONG = r"""
import json, os, sys, time
slow = os.urandom(1)[0] < 128
pause = 0.004 * (3.0 if slow else 1.0)
for line in sys.stdin:
    cmd = line.strip().partition(" ")[0]
    if cmd == "calibrate":
        print(json.dumps({"isobench": "calibrated", "loops": 1}), flush=True)
    elif cmd == "pass":
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < pause:  # a spin, not a sleep: no wake-up latency
            pass
        print(json.dumps({"isobench": "pass", "time_s": time.perf_counter() - t0}), flush=True)
    elif cmd == "end":
        break
print(json.dumps({"time_s": pause, "loops": 1, "digest": "same"}))
"""


def test_processes_that_differ_for_life_get_fewer_passes_and_more_rounds(boxes: dict[str, Sandbox]) -> None:
    """After the first rounds (all at the geometric middle of the bounds, 9 of 3-20) the rounds' cycles are
    chosen from what they showed: processes that differ for life while their passes agree
    get few (the least is one cycle per place, 3 of 3 variants; a loaded machine's
    preempted passes may ask for a second), and the record says why."""
    steps = _driver(boxes, LIFELONG, cycles=20)
    settings = ProtocolSettings(warmup=0, min_rounds=14, max_rounds=14, max_time_s=120, seed=2)
    result = run_protocol(list(boxes), _never, settings, run_together=lambda order: steps.round(order, _never, None))
    assert steps.allocation is not None
    result.allocation.update(steps.allocation.as_dict())
    record = perf_test_record("t", result)
    cycles = [len(p) for p in record.variants["human"].passes]
    assert cycles[:FROM_ROUNDS] == [9] * FROM_ROUNDS, cycles  # nothing to choose from yet
    assert cycles[-1] in (3, 6), (cycles, record.allocation)
    assert record.allocation is not None and record.allocation["cycles"] in (3, 6)
    assert record.allocation["between_var"] > record.allocation["within_var"] / 20, record.allocation
    assert record.allocation["start_s"] > 0 and record.allocation["cycle_s"] > 0
