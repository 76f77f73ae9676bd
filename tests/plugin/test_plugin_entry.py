"""The entry module is cheap, and engages the plugin proper exactly when a run asks for it.

``pytest_isobench.plugin`` is imported by every pytest run where the package is installed;
it must load no models and no heavy library. The plugin proper (``run_plugin``: session,
collection, fixtures, reports) is registered for runs that name ISO-Bench work, and only
for those.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_isobench.plugin import RUN_PLUGIN

HEAVY = ("pydantic", "yaml", "numpy", "scipy", "docker", "datasets", "openai", "ray")
MODELS = ("pytest_isobench.dataset.models", "pytest_isobench.suite", "pytest_isobench.results.record", RUN_PLUGIN)

# Prints, from inside a run, whether the plugin proper is registered and what was loaded.
_PROBE = f"""
import json, sys

def test_probe(request):
    loaded = [m for m in {HEAVY + MODELS!r} if m in sys.modules]
    engaged = request.config.pluginmanager.hasplugin({RUN_PLUGIN!r})
    print("PROBE " + json.dumps({{"engaged": engaged, "loaded": loaded}}))
"""


def _probe(result: pytest.RunResult) -> dict[str, object]:
    line = next(line for line in result.outlines if "PROBE " in line)
    found: dict[str, object] = json.loads(line.split("PROBE ", 1)[1])
    return found


def test_importing_the_entry_module_loads_nothing_heavy() -> None:
    code = f"import sys, pytest, pytest_isobench.plugin; print([m for m in {HEAVY + MODELS!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_run_without_isobench_work_loads_nothing_heavy(pytester: pytest.Pytester) -> None:
    # A fresh interpreter: in this one the models are loaded already.
    pytester.makepyfile(test_probe=_PROBE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert _probe(result) == {"engaged": False, "loaded": []}


def test_an_isobench_flag_engages_it_in_a_fresh_interpreter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_probe=_PROBE)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--isobench-shard=1/1")
    result.assert_outcomes(passed=1)
    probe = _probe(result)
    assert probe["engaged"] is True
    assert RUN_PLUGIN in probe["loaded"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("files", "args"),
    [
        ({}, ["--isobench-max-time=3"]),
        ({"pytest.ini": "[pytest]\nisobench_backend = local\n"}, []),
        ({"tasks/x.yaml": "dataset: ../d.jsonl\n", "d.jsonl": ""}, ["test_probe.py"]),  # a suite under the rootdir
    ],
    ids=["flag", "ini", "suite-under-rootdir"],
)
def test_what_engages_it_before_collection(pytester: pytest.Pytester, files: dict[str, str], args: list[str]) -> None:
    for rel, text in files.items():
        (pytester.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / rel).write_text(text, encoding="utf-8")
    pytester.makepyfile(
        test_probe="""
        def test_probe(request, isobench_settings):
            assert request.config.pluginmanager.hasplugin("pytest_isobench.run_plugin")
            assert isobench_settings.run_id
        """
    )
    pytester.runpytest(*args).assert_outcomes(passed=1)


def test_a_plain_run_has_no_isobench_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_probe(isobench_settings):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'isobench_settings' not found*"])


def test_a_suite_met_only_during_collection_engages_it_there(pytester: pytest.Pytester) -> None:
    # fnmatch's '*' crosses folders, the rootdir glob's does not: only collection finds it.
    pytester.makeini("[pytest]\nisobench_suites = suites/*.yaml\n")
    head = "abcdef01" + "1" * 32
    (pytester.path / "suites" / "deep").mkdir(parents=True)
    (pytester.path / "suites" / "deep" / "s.yaml").write_text("dataset: d.jsonl\n", encoding="utf-8")
    (pytester.path / "suites" / "deep" / "d.jsonl").write_text(json.dumps({"commit_hash": head}) + "\n")
    result = pytester.runpytest("suites", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["suites/deep/s.yaml::s-abcdef01", "1 test collected*"])


def test_the_built_in_agents_are_known_when_engaged_in_a_fresh_interpreter(pytester: pytest.Pytester) -> None:
    # The session checks --isobench-agent once the plugin proper is registered whole: in a
    # fresh interpreter nothing else has registered the built-in agents before.
    head = "abcdef01" + "1" * 32
    pytester.makefile(".jsonl", d=json.dumps({"commit_hash": head}))
    pytester.makefile(".yaml", s="dataset: d.jsonl\n")
    result = pytester.runpytest_subprocess("s.yaml", "--collect-only", "-q", "--isobench-agent=noop")
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(["s.yaml::s-abcdef01"])
