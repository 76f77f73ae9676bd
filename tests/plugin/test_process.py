"""``process_of``: the one answer to "which pytest process am I", under real pytest-xdist."""

from __future__ import annotations

import pytest

CONFTEST = """
from pytest_isobench.process import process_of

def pytest_configure(config):
    p = process_of(config)
    with open(config.rootpath / "roles.txt", "a") as fh:
        fh.write(f"{p.role} {p.worker} {p.workers} {p.distributed} {p.run_id is not None}\\n")
"""


def _roles(pytester: pytest.Pytester, *args: str) -> list[str]:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass\n")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=2)
    return sorted((pytester.path / "roles.txt").read_text().splitlines())


def test_a_plain_run_is_a_single_process(pytester: pytest.Pytester) -> None:
    assert _roles(pytester, "-p", "no:cacheprovider") == ["single 0 1 False False"]


def test_under_xdist_a_controller_and_numbered_workers_that_know_the_run_id(pytester: pytest.Pytester) -> None:
    # an --isobench-* flag asks for ISO-Bench work: the plugin proper hands the run id to the workers
    roles = _roles(pytester, "-n", "2", "--isobench-backend=local", "-p", "no:cacheprovider")
    assert roles == ["controller 0 1 True False", "worker 0 2 True True", "worker 1 2 True True"]
