"""The perf-test protocol of ARCHITECTURE.md: run a perf test in a sandbox, read its figure.

The report is the last line of standard output that parses as a JSON object: ``time_s``
(or ISO-Bench's ``avg_ms``) is the timed region and ``digest``, when present, must match
across variants. The harness passes ``ISOBENCH_MIN_TIME_S``, the least time one value
should take; a test that honours it repeats its timed region and reports ``loops`` (the
repetitions behind one value; ``time_s`` is then per loop). A suite may instead name a
metric read by a regular expression, with a direction. With neither, the whole process's
wall time counts, with a warning. This module runs one command and parses; it does not
schedule rounds or compute statistics.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import random
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..measure.protocol import Measurement

if TYPE_CHECKING:
    from ..dataset.models import MetricSpec, PerfTest
    from ..sandbox.protocol import ExecResult, Sandbox

SCRIPT_PREFIX = "_isobench_perf_"
MIN_TIME_ENV = "ISOBENCH_MIN_TIME_S"
PAD_ENV = "ISOBENCH_ENV_PAD"
PAD_MAX = 4096
"""Every perf-test process gets ``ISOBENCH_ENV_PAD`` of a random length in ``[0, PAD_MAX)``:
the environment's size moves the initial stack and where the heap's first objects fall, and
with them the alignment of everything the process puts there, by several percent of its
time (Mytkowicz et al., "Producing wrong data without doing anything obviously wrong",
ASPLOS 2009). Drawn again for every lockstep round (the same for the variants of the round,
whose processes then lie out alike) or, one process at a time, for every process, a layout
that happens to be slow stays with no variant over rounds (what the rounds' independence
needs); 4 KiB covers a page."""
RANDOMISED = (
    f"environment size ({PAD_ENV}: 0-{PAD_MAX - 1} bytes, one per lockstep round, the same for its variants; "
    "per process when not in lockstep)",
)
"""What the harness re-draws for each perf-test process, as the record says it."""
STACK_ENV = "ISOBENCH_STACK_OFFSET"
STACK_MAX = 4096
"""With ``perf.own_stack`` (the default), a perf test timed through ``perf/timing.py`` runs
its passes in a thread whose stack begins ``ISOBENCH_STACK_OFFSET`` bytes lower (a multiple
of 16 in ``[0, STACK_MAX)``): the stack's position against the test's data, which address-
space randomisation otherwise draws for each process and which can move a test's time by
20% or more, is then one value per lockstep round, the same for all its variants (their
ratio is rid of it) and drawn again for the next round (the mean is over positions)."""
RANDOMISED_STACK = (
    f"stack position of the timed passes ({STACK_ENV}: 0-{STACK_MAX - 16} bytes in steps of 16, "
    "one per lockstep round, the same for its variants; per process when not in lockstep)",
)
HASH_ENV = "PYTHONHASHSEED"
RANDOMISED_HASH = (
    f"string hashing ({HASH_ENV}: one per lockstep round, the same for its variants; left to Python when not in "
    "lockstep or when the harness's own environment sets it)",
)
"""Python draws a hash seed for every process, and with it where a set's or a dict's
entries fall: in lockstep the harness draws it once per round instead, the same for its
variants (measured on ``demo-c7a161c8`` in three containers, layouts shared: processes of
one round in different speed modes in 1 of 24 rounds with a shared seed, 3 of 20 without)."""
_pad_rng = random.Random()
_SAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Report:
    value: float | None
    digest: str | None
    warning: str | None = None
    extra: dict[str, Any] | None = None
    loops: int | None = None


def script_name(test: PerfTest) -> str:
    return f"{SCRIPT_PREFIX}{_SAFE.sub('_', test.name)}.py"


def command_for(test: PerfTest, python: str, mode: str = "") -> str:
    """The shell command that runs ``test`` in a checkout (identical for every variant); a
    ``setup-experiment`` test runs under the driver (``mode``: ``--reference`` or ``--eqcheck``)."""
    if test.command:
        return test.command
    kind = test.kind
    if kind == "setup-experiment":
        return f"{python} {DRIVER_NAME} {shlex.quote(script_name(test))}" + (f" {mode}" if mode else "")
    if kind == "workload":
        return f"{python} {WORKLOAD_DRIVER} {shlex.quote(script_name(test))}"
    if kind == "asv":
        return f"{python} {ASV_DRIVER} {shlex.quote(test.target or '')}"
    if kind == "pytest-node":
        # -p no:isobench: our own plugin, if installed there, has nothing to do in the project's tests
        plugin = PYTEST_TIMER.removesuffix(".py")
        nodes = " ".join(shlex.quote(n) for n in (test.target or "").split())
        return f"{python} -m pytest -q -p no:cacheprovider -p no:isobench -p {plugin} {nodes}"
    return f"{python} {shlex.quote(script_name(test))}"


def prepare(sandbox: Sandbox, test: PerfTest) -> None:
    """Put a script perf test into the checkout (the same bytes in every variant), with the
    driver beside a ``setup-experiment`` test."""
    kind = test.kind
    if test.script is not None:
        sandbox.write_file(script_name(test), test.script)
    if test.command is not None:
        return
    if kind == "setup-experiment":
        sandbox.write_file(DRIVER_NAME, driver_source())
    elif kind == "workload":
        sandbox.write_file(WORKLOAD_DRIVER, driver_source("workload_driver.py"))
    elif kind == "asv":
        sandbox.write_file(ASV_DRIVER, driver_source("asv_driver.py"))
    elif kind == "pytest-node":
        sandbox.write_file(PYTEST_TIMER, (_HERE / "pytest_timer.py").read_text(encoding="utf-8"))


def prepare_all(sandboxes: Iterable[Sandbox], test: PerfTest) -> None:
    """:func:`prepare` in every sandbox."""
    for sandbox in sandboxes:
        prepare(sandbox, test)


DRIVER_NAME = "_isobench_driver.py"
WORKLOAD_DRIVER = "_isobench_workload.py"
ASV_DRIVER = "_isobench_asv.py"
PYTEST_TIMER = "_isobench_pytest_timer.py"
_HERE = Path(__file__).resolve().parent
_TIMING_IMPORT = re.compile(r"^from pytest_isobench\.perf\.timing import [\w, ]+\n", re.MULTILINE)


@functools.cache
def driver_source(name: str = "driver.py") -> str:
    """A driver of ``perf/`` (``driver.py``, ``workload_driver.py``, ``asv_driver.py``) as it
    goes into a checkout: ``perf/timing.py``'s code in place of its import of it, so that it
    stands alone there (both files are text for the sandbox)."""
    driver = (_HERE / name).read_text(encoding="utf-8")
    if not _TIMING_IMPORT.search(driver):
        raise RuntimeError(f"perf/{name} no longer imports perf/timing.py")
    return with_timing(driver)


def with_timing(text: str) -> str:
    """``text`` (a script) with ``perf/timing.py``'s code in place of its first
    ``from pytest_isobench.perf.timing import ...`` line."""
    timing = (_HERE / "timing.py").read_text(encoding="utf-8")
    code = timing[timing.index("from __future__ import annotations") :].split("\n", 1)[1].strip("\n")
    return _TIMING_IMPORT.sub(lambda _m: code + "\n", text, count=1)


def json_line(line: str) -> dict[str, Any] | None:
    """``line`` as a JSON object, or None when it is not one (other output of the test)."""
    line = line.strip()
    if not (line.startswith("{") and line.endswith("}")):
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if (value := json_line(line)) is not None:
            return value
    return None


def parse_report(stdout: str, metric: MetricSpec | None) -> Report:
    """The figure a run reports: regex metric, else the JSON line, else nothing."""
    if metric is not None:
        matches = re.findall(metric.pattern, stdout, flags=re.MULTILINE)
        if not matches:
            return Report(None, None, f"metric {metric.name!r} not found in the output")
        found = matches[-1][0] if isinstance(matches[-1], tuple) else matches[-1]
        try:
            return Report(float(found), None)
        except ValueError:
            return Report(None, None, f"metric {metric.name!r}: {found!r} is not a number")
    report = last_json(stdout)
    if report is None:
        return Report(None, None, "no JSON report line: fell back to process time")
    digest = report.get("digest")
    digest_text = None if digest is None else str(digest)
    loops, warning = _loops(report.get("loops"))
    for key, scale in (("time_s", 1.0), ("avg_ms", 1e-3)):
        raw = report.get(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
            return Report(float(raw) * scale, digest_text, warning, loops=loops)
    return Report(None, digest_text, "JSON report has no positive time_s or avg_ms: fell back to process time")


def _loops(raw: object) -> tuple[int | None, str | None]:
    """The report's ``loops``: a positive integer, or absent (``None``) with a warning when malformed."""
    if raw is None:
        return None, None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        return raw, None
    return None, f"JSON report: loops must be an integer >= 1, got {raw!r} (ignored)"


def to_measurement(
    result: ExecResult, metric: MetricSpec | None, memory_limit: str | None = None, process_time: bool = True
) -> Measurement:
    """One run's outcome as a sample for the timing protocol. Without a figure in the output
    the process's wall time stands in, with a warning, where ``process_time`` allows it;
    otherwise the run is an error (what would be judged is start-up and imports)."""
    if result.oom_killed:
        return Measurement(
            value=None,
            wall_s=result.wall_s,
            digest=None,
            error=f"out of memory (limit {memory_limit or 'of the sandbox'}): killed by the OOM killer "
            f"after {result.wall_s:.1f}s; last output:\n{result.tail()}",
        )
    if result.timed_out:
        return Measurement(
            value=None,
            wall_s=result.wall_s,
            digest=None,
            error=f"timed out after {result.wall_s:.1f}s and was killed; last output:\n{result.tail()}",
        )
    if result.exit_code != 0:
        return Measurement(
            value=None,
            wall_s=result.wall_s,
            digest=None,
            error=f"exit status {result.exit_code}; last output:\n{result.tail()}",
        )
    report = parse_report(result.stdout, metric)
    if report.value is None and metric is None and not process_time:
        return Measurement(
            value=None,
            wall_s=result.wall_s,
            digest=None,
            error=f"reported no figure ({report.warning.split(':')[0] if report.warning else 'no report'}); "
            f"process wall time is not judged (perf.process_time: true to opt in); last output:\n{result.tail()}",
        )
    if report.value is None and metric is not None:
        return Measurement(
            value=None, wall_s=result.wall_s, digest=None, error=f"{report.warning}; last output:\n{result.tail()}"
        )
    value = report.value if report.value is not None else result.wall_s
    return Measurement(
        value=value, wall_s=result.wall_s, digest=report.digest, warning=report.warning, loops=report.loops
    )


def run_once(
    sandbox: Sandbox,
    test: PerfTest,
    python: str,
    timeout_s: float,
    metric: MetricSpec | None = None,
    min_time_s: float | None = None,
    process_time: bool = True,
    own_stack: bool = False,
) -> Measurement:
    """Run ``test`` once in ``sandbox`` and turn the output into a measurement; with
    ``min_time_s`` the test is told (``ISOBENCH_MIN_TIME_S``) how long one value should take;
    with ``own_stack``, to time its passes on a stack at an offset drawn for this process."""
    env = {} if min_time_s is None else {MIN_TIME_ENV: f"{min_time_s:g}"}
    pad = draw_pad()
    offset = draw_offset() if own_stack else None
    result = sandbox.exec(command_for(test, python), timeout_s, env=padded(env, pad, offset))
    m = to_measurement(result, test.metric or metric, sandbox.spec.limits.memory, process_time)
    return dataclasses.replace(m, env_pad=pad, stack_offset=offset)


def draw_pad() -> int:
    """A fresh padding length for one process (see :data:`PAD_MAX`)."""
    return _pad_rng.randrange(PAD_MAX)


def draw_hash_seed() -> int | None:
    """A hash seed for the processes of one round, or None when this process's
    environment sets ``PYTHONHASHSEED`` (the user's choice stands)."""
    return None if HASH_ENV in os.environ else _pad_rng.randrange(2**32)


def draw_offset() -> int:
    """A fresh stack offset (see :data:`STACK_MAX`)."""
    return _pad_rng.randrange(STACK_MAX // 16) * 16


def padded(env: dict[str, str], pad: int, offset: int | None = None, hash_seed: int | None = None) -> dict[str, str]:
    """``env`` with the padding variable of ``pad`` bytes (and the stack offset and the
    hash seed, if any)."""
    extra = {STACK_ENV: str(offset)} if offset is not None else {}
    if hash_seed is not None:
        extra[HASH_ENV] = str(hash_seed)
    return {**env, PAD_ENV: "x" * pad, **extra}


DEFAULT_MIN_TIME_S = 0.1
"""What a test that honours ``ISOBENCH_MIN_TIME_S`` assumes when it is unset (pyperf's)."""

MAX_MIN_TIME_S = 1.0
"""The longest value the harness asks for when a test's values tie."""


@dataclass
class LoopPace:
    """The ``ISOBENCH_MIN_TIME_S`` a perf test is run with, raised when its values tie.

    ``saw`` is told every measurement; :meth:`longer` (the protocol's ``more_loops``)
    raises the minimum time tenfold, up to :data:`MAX_MIN_TIME_S`, when every value so far
    came with ``loops`` (the test honours it), and says what it asked for; otherwise it
    returns ``None`` and the ties are only warned about.
    """

    min_time_s: float | None
    honoured: bool | None = None

    def saw(self, m: Measurement) -> None:
        if m.error is None:
            self.honoured = self.honoured is not False and m.loops is not None

    def longer(self) -> str | None:
        current = self.min_time_s if self.min_time_s else DEFAULT_MIN_TIME_S
        if not self.honoured or current >= MAX_MIN_TIME_S:
            return None
        self.min_time_s = min(MAX_MIN_TIME_S, current * 10)
        self.honoured = None
        return f"asked the perf test for values of at least {self.min_time_s:g} s ({MIN_TIME_ENV})"
