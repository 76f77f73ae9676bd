"""Command-line options and ini keys: the ``--help`` text and usage errors before any run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.measure.protocol import ProtocolSettings
from pytest_isobench.measure.rule import PASSABLE, SuccessRule
from pytest_isobench.options import (
    MAX_TIME_S,
    MIN_ROUNDS,
    PASS_CATEGORIES,
    TARGET_CI,
    WARMUP,
    categories_type,
    choice_type,
    positive_float,
    positive_int,
    shard_type,
)
from pytest_isobench.settings import Settings
from pytest_isobench.taskrun.measure import success_rule

USAGE_ERROR = 4

# Writes a file when anything past option validation happens: a session or a collection.
_SENTINELS = """
from pathlib import Path


def pytest_sessionstart(session):
    Path("session-started").write_text("")
"""


@pytest.fixture
def guarded(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(_SENTINELS)
    pytester.makepyfile(
        test_sentinel="""
        from pathlib import Path
        Path("collected").write_text("")

        def test_nothing():
            pass
        """
    )
    return pytester


def assert_nothing_ran(pytester: pytest.Pytester, result: pytest.RunResult) -> None:
    assert result.ret == USAGE_ERROR
    assert not (pytester.path / "session-started").exists()
    assert not (pytester.path / "collected").exists()
    assert "passed" not in result.stdout.str()


def test_help_shows_the_isobench_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "ISO-Bench: agents on real performance commits:",
            "  --isobench-agent=NAME",
            "*agent whose patch is measured against the human commit*",
            "  --isobench-model=MODEL",
            "  --isobench-predictions=FILE|DIR",
            "  --isobench-dataset=PATH_OR_HF",
            "*collect a dataset without a suite file (.jsonl, .json,*",
            "  --isobench-shard=K/N  keep shard K of N (1-based) of the tasks, the same on",
            "  --isobench-durations=FILE",
            "  --isobench-backend=NAME",
            "*sandbox backend: docker, local (not isolated) or auto*",
            "  --isobench-image=IMAGE",
            "  --isobench-gpus=SPEC  GPUs for each sandbox: all, a count, or device ids like",
            "  --isobench-lock-clocks",
            "  --isobench-lock-clocks-mhz=MHZ",
            "  --isobench-min-rounds=N",
            "  --isobench-max-time=SECONDS",
            "  --isobench-target-ci=FRACTION",
            "  --isobench-pass=CATEGORIES",
            "  --isobench-warmup=N   untimed warm-up runs per variant (default 1)",
            "  --isobench-results=DIR",
            "  --isobench-resume=DIR",
            "  --isobench-cache-dir=DIR",
            "  --isobench-rerun-agent",
            "  --isobench-agent-timeout=SECONDS",
            "  --isobench-generate=MODE",
            "  --isobench-testgen-model=MODEL",
            "  --isobench-testgen-concurrency=N",
            "  --isobench-testgen-attempts=N",
            "  --isobench-testgen-timeout=SECONDS",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "  isobench_agent (string):",
            "  isobench_backend (string):",
            "  isobench_min_rounds (string):",
            "  isobench_suites (linelist):",
            "*glob patterns of suite files collected from directories*",
        ]
    )
    # Every flag of the plugin is --isobench-* and in its one group.
    text = result.stdout.str()
    group = text.split("ISO-Bench: agents on real performance commits:", 1)[1].split("\n\n", 1)[0]
    flags = [line.split()[0] for line in group.splitlines() if line.startswith("  --")]
    assert len(flags) == 29
    assert all(flag.startswith("--isobench-") for flag in flags)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0/4", "expected 1 <= K <= N (shards are numbered from 1)"),
        ("5/4", "expected 1 <= K <= N (shards are numbered from 1)"),
        ("x", "expected K/N with whole numbers, e.g. 3/8"),
    ],
)
def test_bad_shard_is_a_usage_error(guarded: pytest.Pytester, value: str, why: str) -> None:
    result = guarded.runpytest(f"--isobench-shard={value}")
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines([f"ERROR: --isobench-shard: '{value}': {why}"])


def test_bad_backend_is_a_usage_error(guarded: pytest.Pytester) -> None:
    result = guarded.runpytest("--isobench-backend=foo")
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines(["ERROR: --isobench-backend: 'foo' is not one of auto, docker, local"])


@pytest.mark.parametrize(
    ("arg", "line"),
    [
        ("--isobench-min-rounds=0", "ERROR: --isobench-min-rounds: '0' is not a whole number >= 1"),
        ("--isobench-min-rounds=many", "ERROR: --isobench-min-rounds: 'many'*"),
        ("--isobench-max-time=-3", "ERROR: --isobench-max-time: '-3' is not a number > 0"),
        ("--isobench-target-ci=nan", "ERROR: --isobench-target-ci: 'nan' is not a number > 0"),
        ("--isobench-generate=sometimes", "ERROR: --isobench-generate: 'sometimes' is not one of*"),
        ("--isobench-warmup=-1", "ERROR: --isobench-warmup: '-1' is not a whole number >= 0"),
        ("--isobench-durations=absent.json", "ERROR: --isobench-durations: *absent.json is not a file"),
        ("--isobench-resume=absent-dir", "ERROR: --isobench-resume: *absent-dir is not a directory"),
        ("--isobench-agent=predictions", "ERROR: --isobench-agent=predictions needs --isobench-predictions=FILE|DIR"),
        ("--isobench-pass=similar,maybe", "ERROR: --isobench-pass: 'similar,maybe': expected comma-separated *"),
    ],
)  # fmt: skip
def test_other_bad_values_are_usage_errors(guarded: pytest.Pytester, arg: str, line: str) -> None:
    result = guarded.runpytest(arg)
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines([line])


def test_bad_ini_value_is_a_usage_error(guarded: pytest.Pytester) -> None:
    guarded.makeini("[pytest]\nisobench_backend = podman\n")
    result = guarded.runpytest()
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines(["ERROR: --isobench-backend: 'podman' is not one of*"])


def test_ini_sets_defaults_and_flags_win(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nisobench_min_rounds = 7\nisobench_max_time = 30\n")
    pytester.makepyfile(
        """
        def test_settings(isobench_settings):
            assert isobench_settings.min_rounds == 7
            assert isobench_settings.max_time_s == 30.0
            assert isobench_settings.backend == "auto"
            assert isobench_settings.shard is None
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile(
        """
        def test_settings(isobench_settings):
            assert isobench_settings.min_rounds == 9
            assert isobench_settings.max_time_s == 30.0
            assert isobench_settings.shard == (2, 3)
        """
    )
    pytester.runpytest("--isobench-min-rounds=9", "--isobench-shard=2/3").assert_outcomes(passed=1)


def test_plain_tests_are_not_sharded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(): pass\ndef test_b(): pass\n")
    for k in (1, 2, 3):
        pytester.runpytest(f"--isobench-shard={k}/3").assert_outcomes(passed=2)


def test_malformed_durations_file_is_a_usage_error(guarded: pytest.Pytester) -> None:
    (guarded.path / "durations.json").write_text("{oops")
    result = guarded.runpytest("--isobench-shard=1/2", "--isobench-durations=durations.json")
    assert_nothing_ran(guarded, result)


def test_bad_ini_warmup_is_a_usage_error(guarded: pytest.Pytester) -> None:
    guarded.makeini("[pytest]\nisobench_warmup = x\n")
    result = guarded.runpytest()
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines(["ERROR: *isobench*warmup*'x'*"])


# -- the type= parsers, directly ---------------------------------------------------------


def test_shard_type() -> None:
    assert shard_type("2/5") == (2, 5)
    with pytest.raises(pytest.UsageError, match=r"^--isobench-shard: '6/5': "):
        shard_type("6/5")


def test_choice_type() -> None:
    parse = choice_type("--x", ("a", "b"))
    assert parse("b") == "b"
    with pytest.raises(pytest.UsageError, match=r"^--x: 'c' is not one of a, b$"):
        parse("c")


@pytest.mark.parametrize("bad", ["0", "-2", "1.5", "", "ten"])
def test_positive_int_rejects(bad: str) -> None:
    with pytest.raises(pytest.UsageError, match=rf"^--n: '{bad}' is not a whole number >= 1$"):
        positive_int("--n")(bad)


def test_positive_int_and_float_accept() -> None:
    assert positive_int("--n")("3") == 3
    assert positive_float("--f")("0.25") == 0.25


@pytest.mark.parametrize("bad", ["0", "-0.1", "nan", "x", ""])
def test_positive_float_rejects(bad: str) -> None:
    with pytest.raises(pytest.UsageError, match=rf"^--f: '{bad}' is not a number > 0$"):
        positive_float("--f")(bad)


def test_fixtures_are_prefixed_and_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    out = result.stdout.str()
    for name in ("baseline", "human", "agent", "record", "patch", "run", "task", "settings", "session"):
        # the fixture's line, then its docstring indented on the next one
        assert re.search(rf"^isobench_{name}( |$).*\n    \S", out, re.MULTILINE), f"isobench_{name} undocumented"
    names = {line.split()[0] for line in out.splitlines() if line and not line.startswith((" ", "-", "="))}
    assert not names & {"baseline", "human", "agent"}, "unprefixed fixtures leak into every project"


def test_an_unwritable_results_dir_is_a_usage_error_naming_it(guarded: pytest.Pytester) -> None:
    (guarded.path / "taken").write_text("a file where the results would go\n")
    target = guarded.path / "taken" / "results"
    result = guarded.runpytest(f"--isobench-results={target}")
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines([f"*--isobench-results: {target} cannot be a directory: {guarded.path / 'taken'}*"])
    assert not target.exists()


def test_the_results_dir_is_checked_for_suites_under_the_rootdir(guarded: pytest.Pytester) -> None:
    (guarded.path / "tasks").mkdir()
    (guarded.path / "tasks" / "x.yaml").write_text("name: x\ndataset: x.jsonl\n")
    (guarded.path / ".isobench").write_text("")  # the default results dir cannot be made
    result = guarded.runpytest()
    assert_nothing_ran(guarded, result)
    result.stderr.fnmatch_lines(["*--isobench-results: *.isobench*results* cannot be a directory*"])


def test_a_project_without_isobench_work_is_not_stopped_by_the_results_dir(pytester: pytest.Pytester) -> None:
    (pytester.path / ".isobench").write_text("")  # the default results dir cannot be made, unused
    pytester.makepyfile(test_plain="def test_ok():\n    pass\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_defaults_in_the_help_are_the_protocols() -> None:
    # options.py keeps copies so that the entry module imports no statistics
    defaults = ProtocolSettings()
    assert (
        defaults.min_rounds,
        defaults.max_time_s,
        defaults.target_rel_width,
        defaults.warmup,
    ) == (MIN_ROUNDS, MAX_TIME_S, TARGET_CI, WARMUP)


def test_pass_categories_option_overrides_the_suites_and_matches_the_rule() -> None:
    assert PASS_CATEGORIES == PASSABLE  # the option parses what the rule accepts
    assert categories_type(" similar, inconclusive,similar") == ("similar", "inconclusive")

    class FakeSuite:
        success = SuccessRule(similar_tolerance=0.1)

    suite: Any = FakeSuite()
    settings = Settings(run_id="r", rootdir=Path("."))
    assert success_rule(suite, settings) is suite.success
    settings.pass_categories = ("similar", "inconclusive")
    rule = success_rule(suite, settings)
    assert rule.pass_categories == ("similar", "inconclusive")
    assert rule.similar_tolerance == 0.1  # the rest of the suite's rule stays
    assert suite.success.pass_categories == ("beats", "similar")
    # A record judged under other pass categories is not resumed: its status could differ.
    assert settings.fingerprint()["pass_categories"] == ["similar", "inconclusive"]
    assert "pass_categories" not in Settings(run_id="r", rootdir=Path(".")).fingerprint()


def test_ini_pass_categories_reach_the_settings(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nisobench_pass = similar,inconclusive\n")
    pytester.makepyfile(
        """
        def test_settings(isobench_settings):
            assert isobench_settings.pass_categories == ("similar", "inconclusive")
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makepyfile(
        """
        def test_settings(isobench_settings):
            assert isobench_settings.pass_categories == ("beats",)
        """
    )
    pytester.runpytest("--isobench-pass=beats").assert_outcomes(passed=1)
