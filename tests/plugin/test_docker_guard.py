"""The CI guard: under ``ISOBENCH_REQUIRE_DOCKER=1`` a Docker test with no engine fails.

Docker tests carry the ``docker`` marker and nothing else; the conftest decides at run time
whether they skip (no engine here) or fail (CI). A module-level ``skipif`` would decide at
import time, before the conftest sees the test, and hide the missing engine: none may exist.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
# A socket nobody listens on: the engine is "down" for the inner run only.
DEAD = "unix:///nonexistent/isobench-dead-docker.sock"


def _env(monkeypatch: pytest.MonkeyPatch, require: bool) -> None:
    monkeypatch.setenv("DOCKER_HOST", DEAD)
    if require:
        monkeypatch.setenv("ISOBENCH_REQUIRE_DOCKER", "1")
    else:
        monkeypatch.delenv("ISOBENCH_REQUIRE_DOCKER", raising=False)


def test_the_sandbox_docker_module_fails_without_an_engine_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, require=True)
    # A subprocess: this session's conftest has already cached that an engine answers.
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "-p", "no:cacheprovider"]
    result = pytester.runpytest_subprocess(*config, "-q", str(TESTS / "sandbox" / "test_sandbox_docker.py"))
    outcomes = result.parseoutcomes()
    # Setup fails: each test is an error, none skipped (one test there needs no engine).
    assert outcomes.get("errors", 0) >= 15 and "skipped" not in outcomes and outcomes.get("passed", 0) <= 1, outcomes
    result.stdout.fnmatch_lines(["*Docker required in CI: no Docker engine answers*"])


def test_a_docker_test_skips_with_the_reason_outside_ci_and_fails_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_engine="""
        import pytest

        @pytest.mark.docker
        def test_needs_the_engine():
            raise AssertionError("must not run without an engine")

        def test_plain():
            pass
        """
    )
    pytester.makeini("[pytest]\nmarkers =\n    docker: needs a Docker engine\naddopts = --strict-markers\n")
    _env(monkeypatch, require=False)
    outside = pytester.runpytest("-rs")  # in process: the copied conftest is a fresh module here
    outside.assert_outcomes(passed=1, skipped=1)
    outside.stdout.fnmatch_lines(["*no Docker engine answers*"])
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))  # a fresh cache again
    _env(monkeypatch, require=True)
    in_ci = pytester.runpytest()
    in_ci.assert_outcomes(passed=1, errors=1)
    in_ci.stdout.fnmatch_lines(["*Docker required in CI: no Docker engine answers*"])


def _skipif_at_module_level(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets)
            if named and node.value is not None and "skipif" in ast.unparse(node.value):
                return True
    return False


def test_no_test_module_skips_at_import_time() -> None:
    offenders = [
        path.name
        for path in sorted(TESTS.rglob("test_*.py"))
        if _skipif_at_module_level(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], f"module-level skipif (use markers; the conftest decides): {offenders}"
