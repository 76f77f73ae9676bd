"""What kind of script a dataset's test is, read from its text (no import, no run).

The data of the field carry three kinds of Python scripts where a perf test is expected:

- ``setup-experiment``: ISO-Bench's and GSO's perf tests. ``setup()`` returns data,
  ``experiment(data)`` does the timed work and returns a result, ``store_result``,
  ``load_result`` and ``check_equivalence`` compare it with a reference; the script's own
  ``run_test`` times ``experiment`` and prints ``avg_ms``. The harness times
  ``experiment`` itself through its driver (``perf/driver.py``) and runs the equivalence
  check as the authors meant.
- ``unit-tests``: a pytest module of the project's own tests (``import pytest``,
  ``def test_...``): a correctness gate, never timed (its process time is interpreter
  start-up plus imports, not the task's code).
- ``json``: our own protocol, a script that prints a JSON line with ``time_s`` or ``avg_ms``.
- ``no-figure``: none of these: nothing but the process's wall time could be read from
  it, which is not judged unless the suite opts in (``perf.process_time``).

Three more are never read from a text, the record names them (``PerfTest.shape``):

- ``workload``: SWE-fficiency's workload, a script that times a statement with
  ``timeit.repeat`` (its ``setup`` before each repeat) and prints ``Mean:`` / ``Std Dev:``;
- ``pytest-node``: SWE-Perf's efficiency tests, pytest node ids of the repository
  (``PerfTest.target``) timed by their call phase;
- ``asv``: a benchmark of the repository's own asv suite (``PerfTest.target``), as
  FormulaCode's tasks are measured.

Commands (``perf_command``) are ``command``; they are read by the serving layer or a
regular-expression metric, as before. This module only reads text: the ``perf`` layer
decides what each kind gets.
"""

from __future__ import annotations

import re
from typing import Literal

Shape = Literal["json", "setup-experiment", "unit-tests", "no-figure", "command", "workload", "pytest-node", "asv"]

SHAPES: tuple[Shape, ...] = (
    "json",
    "setup-experiment",
    "unit-tests",
    "no-figure",
    "command",
    "workload",
    "pytest-node",
    "asv",
)

# Top-level definitions only (column 0): a nested helper named ``setup`` is not the entry point.
_SETUP = re.compile(r"^def setup\s*\(", re.MULTILINE)
_EXPERIMENT = re.compile(r"^def experiment\s*\(", re.MULTILINE)
_PYTEST_IMPORT = re.compile(r"^\s*(import pytest\b|from pytest\b|from _pytest\b)", re.MULTILINE)
_TEST_DEF = re.compile(r"^(?:async\s+)?def test_\w*\s*\(|^class Test\w*\s*[:(]", re.MULTILINE)
_FIGURE = re.compile(r"""["'](time_s|avg_ms)["']|ISOBENCH_LOCKSTEP|ISOBENCH_MIN_TIME_S""")


def classify(script: str) -> Shape:
    """The kind of ``script`` (see the module's docstring); setup/experiment wins over the rest."""
    if _SETUP.search(script) and _EXPERIMENT.search(script):
        return "setup-experiment"
    if _TEST_DEF.search(script) and _PYTEST_IMPORT.search(script):
        return "unit-tests"
    if _FIGURE.search(script):
        return "json"
    return "no-figure"


def why(shape: Shape) -> str:
    """One line for the collection and the record: what the harness does with this kind."""
    return {
        "json": "JSON report line (time_s/avg_ms): timed, in lockstep when it answers",
        "setup-experiment": "setup()/experiment(): timed by the harness's driver in lockstep, "
        "its check_equivalence run on human and agent",
        "unit-tests": "a pytest module of unit tests: run as a correctness gate, never timed",
        "no-figure": "reports no figure: only process wall time, not judged (perf.process_time: true to opt in)",
        "command": "a command: its metric (regular expression) or the serving benchmark's",
        "workload": "SWE-fficiency's workload: its timeit statement timed by the harness's driver in lockstep, "
        "its setup run before every pass",
        "pytest-node": "tests of the repository (SWE-Perf): the call phase's duration under pytest, one per process",
        "asv": "a benchmark of the repository's asv suite: setup() then the time_* callable, timed in lockstep",
    }[shape]
