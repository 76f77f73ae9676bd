"""The noise guard: what else the machine was doing while a task was timed, and whether
its values can be trusted.

At the start and the end of each task, :func:`snapshot` reads the load average, each
CPU's frequency and governor, and, over a short window in which the harness itself
sleeps, how much CPU the rest of the machine used and which processes used it. The
checks (:func:`snapshot_warnings`, :func:`value_warnings`) turn a busy machine, values
shorter than 1 ms and a large spread into plain-text warnings for the record, the item
and the terminal summary, as pyperf's checks do.

A pure reader of ``/proc`` and ``/sys``: every reader takes the root it reads from (tests
pass fake trees) and returns ``None`` or an empty result where a file is missing or
unreadable (macOS, containers without ``/sys``), never an error.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ..measure.protocol import ProtocolResult

__all__ = [
    "BUSY_CORES",
    "MIN_VALUE_S",
    "SPREAD_LIMIT",
    "BusyProcess",
    "NoiseSnapshot",
    "NoiseWarning",
    "read_cpu_freqs_mhz",
    "read_cpu_times",
    "read_governors",
    "read_loadavg",
    "read_process_ticks",
    "snapshot",
    "snapshot_warnings",
    "task_report",
    "value_warnings",
]

PROC = Path("/proc")
SYS_CPU = Path("/sys/devices/system/cpu")

BUSY_CORES = 0.25
"""Other work using at least this many cores during a snapshot's window marks the
machine busy (an idle machine's daemons stay near 0.02)."""

MIN_VALUE_S = 1e-3
"""A timed value (one pass: ``time_s`` x ``loops``) shorter than this is dominated by the
timer's resolution and call overhead (pyperf's limit)."""

SPREAD_LIMIT = 0.10
"""A standard deviation of at least 10% of the mean is a large spread (pyperf's limit)."""

WINDOW_S = 0.25
TOP_PROCESSES = 5


class NoiseWarning(UserWarning):
    """A task timed on a busy machine, with too short values or a large spread."""


@dataclass(frozen=True)
class BusyProcess:
    """A process that used CPU during the window: ``cores`` 1.0 is one core all the time."""

    pid: int
    name: str
    cores: float


@dataclass(frozen=True)
class NoiseSnapshot:
    """The machine at one moment. ``None`` and empty fields were not readable here."""

    at: float
    cpus: int
    loadavg: tuple[float, float, float] | None = None
    freq_mhz: dict[int, float] = field(default_factory=dict)
    governors: dict[int, str] = field(default_factory=dict)
    window_s: float = 0.0
    busy_cores: float | None = None  # CPU used by everything else during the window
    busy_processes: list[BusyProcess] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["freq_mhz"] = {str(k): v for k, v in self.freq_mhz.items()}
        data["governors"] = {str(k): v for k, v in self.governors.items()}
        return data


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def read_loadavg(proc: Path = PROC) -> tuple[float, float, float] | None:
    """The 1, 5 and 15 minute load averages from ``loadavg``."""
    text = _read(proc / "loadavg")
    if text is None:
        if proc == PROC and hasattr(os, "getloadavg"):  # macOS, BSD: no /proc, the same figures
            try:
                return os.getloadavg()
            except OSError:
                return None
        return None
    try:
        one, five, fifteen = (float(x) for x in text.split()[:3])
    except ValueError:
        return None
    return one, five, fifteen


def _cpu_dirs(sys_cpu: Path) -> list[tuple[int, Path]]:
    try:
        entries = list(sys_cpu.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        suffix = entry.name[3:]
        if entry.name.startswith("cpu") and suffix.isdigit():
            found.append((int(suffix), entry))
    return sorted(found)


def read_governors(sys_cpu: Path = SYS_CPU) -> dict[int, str]:
    """Each CPU's frequency governor (``performance``, ``powersave``, ...), where cpufreq exists."""
    governors = {}
    for cpu, path in _cpu_dirs(sys_cpu):
        text = _read(path / "cpufreq" / "scaling_governor")
        if text and text.strip():
            governors[cpu] = text.strip()
    return governors


def read_cpu_freqs_mhz(proc: Path = PROC, sys_cpu: Path = SYS_CPU) -> dict[int, float]:
    """Each CPU's current frequency: cpufreq's ``scaling_cur_freq`` (kHz), else ``cpuinfo``."""
    freqs: dict[int, float] = {}
    for cpu, path in _cpu_dirs(sys_cpu):
        text = _read(path / "cpufreq" / "scaling_cur_freq")
        if text is None:
            continue
        try:
            freqs[cpu] = int(text.strip()) / 1000.0
        except ValueError:
            continue
    if freqs:
        return freqs
    current: int | None = None
    for line in (_read(proc / "cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            current = int(value) if value.strip().isdigit() else None
        elif key == "cpu MHz" and current is not None:
            try:
                freqs[current] = float(value)
            except ValueError:
                continue
    return freqs


def read_cpu_times(proc: Path = PROC) -> tuple[int, int] | None:
    """``(busy, total)`` clock ticks of all CPUs since boot, from the ``cpu`` line of ``stat``."""
    text = _read(proc / "stat")
    if not text or not text.startswith("cpu "):
        return None
    try:
        ticks = [int(x) for x in text.splitlines()[0].split()[1:]]
    except ValueError:
        return None
    if len(ticks) < 4:
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    ticks = ticks[:8]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    total = sum(ticks)
    return total - idle, total


def read_process_ticks(proc: Path = PROC) -> dict[int, tuple[str, int]]:
    """``pid -> (name, user + system clock ticks)`` for every process readable in ``proc``."""
    found: dict[int, tuple[str, int]] = {}
    try:
        entries = [e for e in proc.iterdir() if e.name.isdigit()]
    except OSError:
        return found
    for entry in entries:
        text = _read(entry / "stat")
        if text is None:
            continue  # gone in the meantime
        # "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
        open_, close = text.find("("), text.rfind(")")
        if open_ < 0 or close < open_:
            continue
        rest = text[close + 2 :].split()
        try:
            ticks = int(rest[11]) + int(rest[12])  # utime, stime (fields 14 and 15)
        except (IndexError, ValueError):
            continue
        found[int(entry.name)] = (text[open_ + 1 : close], ticks)
    return found


def _ticks_per_s() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100


def snapshot(
    window_s: float = WINDOW_S,
    *,
    proc: Path = PROC,
    sys_cpu: Path = SYS_CPU,
    exclude: Iterable[int] = (),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    top: int = TOP_PROCESSES,
) -> NoiseSnapshot:
    """Read the machine now; with ``window_s > 0`` also watch it that long (this process
    sleeps meanwhile, so what runs is everything else). ``exclude``: pids not to list;
    ``top``: how many of the busiest processes to keep."""
    at = clock()
    cpus = os.cpu_count() or 1
    loadavg = read_loadavg(proc)
    freqs = read_cpu_freqs_mhz(proc, sys_cpu)
    governors = read_governors(sys_cpu)
    if window_s <= 0:
        return NoiseSnapshot(at, cpus, loadavg, freqs, governors)
    skip = {os.getpid(), *exclude}
    cpu_before, procs_before = read_cpu_times(proc), read_process_ticks(proc)
    started = time.monotonic()
    sleep(window_s)
    cpu_after, procs_after = read_cpu_times(proc), read_process_ticks(proc)
    elapsed = max(time.monotonic() - started, 1e-6)
    busy_cores = None
    if cpu_before is not None and cpu_after is not None and cpu_after[1] > cpu_before[1]:
        busy_cores = cpus * (cpu_after[0] - cpu_before[0]) / (cpu_after[1] - cpu_before[1])
    hz = _ticks_per_s()
    busy = []
    for pid, (name, ticks) in procs_after.items():
        before = procs_before.get(pid)
        if pid in skip or before is None or before[0] != name:
            continue
        cores = (ticks - before[1]) / hz / elapsed
        if cores >= 0.05:
            busy.append(BusyProcess(pid, name, round(cores, 3)))
    busy.sort(key=lambda p: -p.cores)
    return NoiseSnapshot(
        at=at,
        cpus=cpus,
        loadavg=loadavg,
        freq_mhz=freqs,
        governors=governors,
        window_s=round(elapsed, 3),
        busy_cores=None if busy_cores is None else round(busy_cores, 3),
        busy_processes=busy[:top],
    )


def snapshot_warnings(snap: NoiseSnapshot, when: str) -> list[str]:
    """Why ``snap`` (taken at ``when``: "start"/"end") says the machine was busy, if it does."""
    found = []
    if snap.busy_cores is not None and snap.busy_cores >= BUSY_CORES:
        who = ", ".join(f"{p.name} ({p.cores:.2f})" for p in snap.busy_processes) or "short-lived processes"
        found.append(f"busy machine at the {when}: other work used {snap.busy_cores:.2f} of {snap.cpus} cores ({who})")
    if snap.loadavg is not None and snap.loadavg[0] >= snap.cpus:
        found.append(f"busy machine at the {when}: load average {snap.loadavg[0]:.2f} on {snap.cpus} cores")
    if len(snap.freq_mhz) > 1:
        low, high = min(snap.freq_mhz.values()), max(snap.freq_mhz.values())
        if high > 0 and low < 0.8 * high:
            found.append(f"CPU frequencies differ at the {when}: {low:.0f} to {high:.0f} MHz (frequency scaling)")
    return found


def _spread(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean > 0 else None


def value_warnings(
    rounds: Mapping[str, Mapping[int, float]],
    loops: Mapping[str, Mapping[int, int | None]],
    *,
    baseline: str = "baseline",
    timed: bool = True,
) -> list[str]:
    """Warnings about one perf test's values: ``rounds`` maps variant -> round -> value,
    ``loops`` variant -> round -> the loops that value reported (``None``: not reported).

    - a raw value (``value`` x ``loops``) under 1 ms, when the values are times (``timed``);
    - a variant whose values spread by >= 10% of their mean;
    - a within-round spread >= 10%: the standard deviation of the per-round log ratio of a
      variant to the baseline run in the same round.
    """
    found = []
    for variant, by_round in rounds.items():
        values = list(by_round.values())
        if not values:
            continue
        if timed:
            counts = loops.get(variant, {})
            shortest = min(v * (counts.get(r) or 1) for r, v in by_round.items())
            if shortest < MIN_VALUE_S:
                hint = (
                    "the perf test should repeat its timed region (ISOBENCH_MIN_TIME_S) and report loops"
                    if not any(counts.values())
                    else "raise ISOBENCH_MIN_TIME_S (perf.min_time_s)"
                )
                found.append(
                    f"{variant}: a timed value of only {shortest * 1e3:.3f} ms (under 1 ms: the timer's "
                    f"resolution and overhead weigh on it); {hint}"
                )
        spread = _spread(values)
        if spread is not None and spread >= SPREAD_LIMIT:
            found.append(f"{variant}: values spread widely (standard deviation {spread:.0%} of the mean)")
    base = rounds.get(baseline, {})
    for variant, by_round in rounds.items():
        if variant == baseline:
            continue
        logs = [math.log(v / base[r]) for r, v in by_round.items() if r in base and v > 0 and base[r] > 0]
        if len(logs) >= 2 and statistics.stdev(logs) >= SPREAD_LIMIT:
            found.append(
                f"{variant}/{baseline}: large within-round spread (per-round ratios vary by "
                f"{statistics.stdev(logs):.0%}): the machine was noisy while timing"
            )
    return found


def task_report(
    start: NoiseSnapshot, end: NoiseSnapshot, tests: Sequence[tuple[str, ProtocolResult, bool]]
) -> dict[str, Any]:
    """The record's ``noise`` entry of one task: both snapshots and every warning.

    ``tests``: ``(name, result, timed)`` per perf test, ``timed`` when its values are
    seconds (no metric), so that the 1 ms check applies."""
    found = snapshot_warnings(start, "start") + snapshot_warnings(end, "end")
    for name, result, timed in tests:
        rounds: dict[str, dict[int, float]] = {}
        loops: dict[str, dict[int, int | None]] = {}
        for s in result.samples:
            if s.round < 0 or s.m.error is not None or s.m.value is None:
                continue
            rounds.setdefault(s.variant, {})[s.round] = s.m.value
            loops.setdefault(s.variant, {})[s.round] = s.m.loops
        checks = value_warnings(rounds, loops, baseline=result.baseline, timed=timed)
        found += [f"[{name}] {w}" for w in checks]
    return {"start": start.as_dict(), "end": end.as_dict(), "warnings": found}
