"""The noise guard: its /proc and /sys readers on fake trees and on this machine, and the
checks that turn a busy machine, short values and a large spread into warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_isobench.measure.protocol import Measurement, ProtocolResult, ProtocolSettings, Sample
from pytest_isobench.perf import noise

STAT_LINE = "{pid} ({name}) S 1 1 1 0 -1 4194304 97 0 0 0 {utime} {stime} 0 0 20 0 1 0 30699 3133440 359\n"


def fake_proc(root: Path, *, busy: int, total: int, procs: dict[int, tuple[str, int]]) -> Path:
    """A /proc-like tree: loadavg, stat (busy/total ticks), cpuinfo and one stat per process."""
    proc = root / "proc"
    proc.mkdir(exist_ok=True)
    (proc / "loadavg").write_text("2.50 1.25 0.75 3/163 11213\n")
    idle = total - busy
    # user nice system idle iowait irq softirq steal guest guest_nice
    (proc / "stat").write_text(f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\nintr 1\n")
    (proc / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Fake\ncpu MHz\t\t: 2100.000\n\nprocessor\t: 1\ncpu MHz\t\t: 1200.500\n\n"
    )
    for pid, (name, ticks) in procs.items():
        (proc / str(pid)).mkdir(exist_ok=True)
        (proc / str(pid) / "stat").write_text(STAT_LINE.format(pid=pid, name=name, utime=ticks, stime=0))
    (proc / "self").mkdir(exist_ok=True)  # not a pid: ignored
    return proc


def fake_sys(root: Path, governors: dict[int, str], khz: dict[int, int]) -> Path:
    sys_cpu = root / "sys-cpu"
    for cpu in sorted({*governors, *khz}):
        freq = sys_cpu / f"cpu{cpu}" / "cpufreq"
        freq.mkdir(parents=True)
        if cpu in governors:
            (freq / "scaling_governor").write_text(governors[cpu] + "\n")
        if cpu in khz:
            (freq / "scaling_cur_freq").write_text(f"{khz[cpu]}\n")
    (sys_cpu / "cpufreq").mkdir(parents=True, exist_ok=True)  # not a CPU: ignored
    return sys_cpu


# -- readers on fake trees -------------------------------------------------------------------


def test_readers_parse_fake_proc_and_sys(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, busy=300, total=1000, procs={42: ("my (odd) name", 17), 7: ("sshd", 3)})
    sys_cpu = fake_sys(tmp_path, {0: "performance", 1: "powersave"}, {0: 3_000_000, 1: 1_500_000})
    assert noise.read_loadavg(proc) == (2.5, 1.25, 0.75)
    assert noise.read_cpu_times(proc) == (300, 1000)
    # A command name with spaces and parentheses is read whole.
    assert noise.read_process_ticks(proc) == {42: ("my (odd) name", 17), 7: ("sshd", 3)}
    assert noise.read_governors(sys_cpu) == {0: "performance", 1: "powersave"}
    # cpufreq wins over cpuinfo when present; without it cpuinfo is read.
    assert noise.read_cpu_freqs_mhz(proc, sys_cpu) == {0: 3000.0, 1: 1500.0}
    assert noise.read_cpu_freqs_mhz(proc, tmp_path / "none") == {0: 2100.0, 1: 1200.5}


def test_readers_fall_back_quietly_where_nothing_is_readable(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "loadavg").write_text("garbage\n")
    (empty / "stat").write_text("intr 1 2 3\n")
    assert noise.read_loadavg(empty) is None
    assert noise.read_loadavg(tmp_path / "missing") is None
    assert noise.read_cpu_times(empty) is None
    assert noise.read_process_ticks(tmp_path / "missing") == {}
    assert noise.read_governors(tmp_path / "missing") == {}
    assert noise.read_cpu_freqs_mhz(empty, tmp_path / "missing") == {}
    snap = noise.snapshot(0.01, proc=tmp_path / "missing", sys_cpu=tmp_path / "missing")
    assert snap.loadavg is None and snap.busy_cores is None and snap.busy_processes == []
    assert noise.snapshot_warnings(snap, "start") == []
    json.dumps(snap.as_dict())


def test_snapshot_measures_other_work_during_its_window(tmp_path: Path) -> None:
    """Between the two readings the fake machine's counters move as if a hog ran."""
    hz = os.sysconf("SC_CLK_TCK")
    proc = fake_proc(tmp_path, busy=1000, total=10_000, procs={500: ("hog", 10), 501: ("idle-daemon", 5)})
    sys_cpu = fake_sys(tmp_path, {}, {})

    def sleep(seconds: float) -> None:
        time.sleep(seconds)
        # The hog used a whole core for the window; 2 of os.cpu_count() cores were busy overall.
        window_ticks = int(hz * seconds * 1.0)
        fake_proc(
            tmp_path,
            busy=1000 + window_ticks * 2,
            total=10_000 + window_ticks * (os.cpu_count() or 1),
            procs={500: ("hog", 10 + window_ticks), 501: ("idle-daemon", 5), 502: ("new", 1)},
        )

    snap = noise.snapshot(0.2, proc=proc, sys_cpu=sys_cpu, sleep=sleep)
    assert snap.busy_cores == pytest.approx(2.0, rel=0.05)
    assert [p.name for p in snap.busy_processes] == ["hog"]  # the idle one and the newcomer are left out
    assert snap.busy_processes[0].cores == pytest.approx(1.0, rel=0.3)
    found = noise.snapshot_warnings(snap, "start")
    assert any("busy machine at the start" in w and "hog" in w for w in found), found
    assert any("load average" in w for w in found) == (snap.cpus <= 2.5)


def test_frequency_spread_is_flagged(tmp_path: Path) -> None:
    snap = noise.NoiseSnapshot(at=0.0, cpus=2, freq_mhz={0: 3000.0, 1: 1200.0}, busy_cores=0.01)
    assert noise.snapshot_warnings(snap, "end") == [
        "CPU frequencies differ at the end: 1200 to 3000 MHz (frequency scaling)"
    ]
    quiet = noise.NoiseSnapshot(at=0.0, cpus=2, loadavg=(0.1, 0.1, 0.1), freq_mhz={0: 3000.0, 1: 2990.0})
    assert noise.snapshot_warnings(quiet, "end") == []


# -- on this machine -----------------------------------------------------------------------


@pytest.mark.serial
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux /proc")
def test_snapshot_on_this_machine_sees_a_busy_child() -> None:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)  # let it start spinning
        snap = noise.snapshot(0.5, top=10_000)
    finally:
        hog.kill()
        hog.wait()
    assert snap.loadavg is not None and all(x >= 0 for x in snap.loadavg)
    assert snap.cpus == os.cpu_count()
    assert snap.busy_cores is not None
    # The hog alone keeps a core busy part of the time, even shared with other work.
    assert 0.05 <= snap.busy_cores <= snap.cpus + 0.1
    mine = [p for p in snap.busy_processes if p.pid == hog.pid]
    assert mine and mine[0].cores >= 0.05, snap.busy_processes
    assert all(p.pid != os.getpid() for p in snap.busy_processes)
    assert noise.snapshot_warnings(snap, "start")  # a whole-core hog is always reported
    json.dumps(snap.as_dict())


# -- checks on the values ------------------------------------------------------------------


def test_values_under_1ms_warn_and_loops_lift_them() -> None:
    rounds = {"baseline": {0: 0.0004, 1: 0.0004}, "human": {0: 0.0004, 1: 0.0004}}
    bare = noise.value_warnings(rounds, {})
    assert len(bare) == 2 and all("under 1 ms" in w and "report loops" in w for w in bare), bare
    # 0.4 ms per loop x 250 loops = 100 ms per value: nothing to warn about.
    loops = {v: {0: 250, 1: 250} for v in rounds}
    assert noise.value_warnings(rounds, loops) == []
    # Too few loops: still short, and the fix is a longer minimum time.
    few = noise.value_warnings(rounds, {v: {0: 2, 1: 2} for v in rounds})
    assert len(few) == 2 and all("ISOBENCH_MIN_TIME_S" in w and "0.800 ms" in w for w in few), few
    # A metric (not seconds) is never "under 1 ms".
    assert noise.value_warnings(rounds, {}, timed=False) == []


def test_spread_and_within_round_spread_warn() -> None:
    steady = {r: 0.1 for r in range(6)}
    drifting = {r: 0.1 * (1 + 0.3 * (r % 2)) for r in range(6)}
    found = noise.value_warnings({"baseline": steady, "human": drifting}, {})
    assert any(w.startswith("human: values spread widely") for w in found), found
    assert any(w.startswith("human/baseline: large within-round spread") for w in found), found
    assert not any(w.startswith("baseline:") for w in found)
    # Both slowed together in the same rounds: a spread over rounds, none within them.
    same = noise.value_warnings({"baseline": drifting, "human": dict(drifting)}, {})
    assert not any("within-round" in w for w in same), same


def test_task_report_reads_a_protocol_result() -> None:
    samples = [Sample("baseline", -1, 0, Measurement(1.0, 1.0))]
    for r in range(3):
        samples.append(Sample("baseline", r, 0, Measurement(0.0002, 0.1, loops=None)))
        samples.append(Sample("human", r, 1, Measurement(0.0002, 0.1, loops=1000)))
    result = ProtocolResult(("baseline", "human"), ProtocolSettings(), samples, 3, "max_time")
    quiet = noise.NoiseSnapshot(at=0.0, cpus=2, loadavg=(0.0, 0.0, 0.0), busy_cores=0.0)
    report = noise.task_report(quiet, quiet, [("t", result, True)])
    assert report["warnings"] == [
        "[t] baseline: a timed value of only 0.200 ms (under 1 ms: the timer's resolution and overhead weigh "
        "on it); the perf test should repeat its timed region (ISOBENCH_MIN_TIME_S) and report loops"
    ]
    assert report["start"]["loadavg"] == (0.0, 0.0, 0.0)
    json.dumps(report)
