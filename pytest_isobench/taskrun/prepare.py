"""Stage ``prepare``: what must hold before any sandbox starts, and the task's checkout.

Skips (with the reason) a task that cannot run here: more GPUs than visible, a perf test
that generation could not provide, a gated model without a token. Then clones the task's
repository once into the cache and resolves baseline and human to full shas. Raises
``SandboxError`` when the repository cannot be had: infrastructure, never the agent.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from ..dataset.models import PerfTest
from ..perf import asvsuite
from ..sandbox.gpus import visible_gpus
from ..sandbox.protocol import SandboxError
from ..sandbox.repo import RepoCache
from ..serving.modes import classify, serving_plan
from ..serving.secrets import SecretError, check_models
from ..testgen import CachedTest, cache
from .model import Checkout, Prepared, TaskFailed, TaskInput, TaskSkipped


def check_gpus(run: TaskInput) -> None:
    needed = run.task.gpus if run.task.gpus is not None else run.suite.gpus_required
    if needed > 0 and not run.gpus_scheduled:
        have = visible_gpus()
        if have < needed:
            raise TaskSkipped(f"needs {needed} GPU(s), {have} visible here")


def generated_test(run: TaskInput) -> CachedTest:
    """The task's test in ``generated_tests/`` (hand-written or generated), or skip with why not."""
    if run.testgen_reason:
        raise TaskSkipped(f"no perf test: {_why_none(run)}{run.testgen_reason}")
    found = cache.load_cached(cache.default_root(run.settings.rootdir), run.suite.name, run.item_id)
    if found is None:
        corrupt = cache.corrupt_path(cache.default_root(run.settings.rootdir), run.suite.name, run.item_id)
        if corrupt.exists():
            raise TaskSkipped(f"no perf test: the cached one was corrupt (set aside as {corrupt}); run again")
        if run.task.unit_tests:
            raise TaskSkipped(f"no perf test: {_why_none(run)}perf-test generation is off (--isobench-generate)")
        raise TaskSkipped("no perf test in the record, and perf-test generation is off (--isobench-generate)")
    return found


def _why_none(run: TaskInput) -> str:
    """Why a record with test scripts has no perf test: its scripts are unit tests (run as gates)."""
    if any(t.script is not None for t in run.task.unit_tests):
        return "the dataset's efficiency tests are unit tests (run as correctness gates, never timed); "
    return ""


def timed_tests(run: TaskInput) -> tuple[list[PerfTest], dict[str, str]]:
    """The dataset's perf tests that are timed, and a note for each left out: a script that
    reports no figure would be judged on its process's wall time (interpreter start-up and
    imports), which only a suite that opts in (``perf.process_time``) accepts."""
    tests: list[PerfTest] = []
    notes: dict[str, str] = {}
    for test in run.task.perf_tests:
        if test.kind != "no-figure":
            tests.append(test)
        elif run.suite.perf.process_time:
            tests.append(test)
            notes[test.name] = (
                f"perf test {test.name!r} reports no figure: judged on its process's wall time "
                "(perf.process_time), which includes interpreter start-up and imports"
            )
        else:
            notes[test.name] = (
                f"perf test {test.name!r} reports no figure (no JSON line with time_s or avg_ms, no "
                "setup()/experiment()): its process wall time is not judged (perf.process_time: true to opt in)"
            )
    if run.task.perf_tests and not tests:
        raise TaskSkipped("; ".join(notes.values()))
    return tests, notes


def check_serving_models(run: TaskInput) -> None:
    """A gated model without a token is a task problem, reported before anything starts."""
    serving = run.suite.serving
    if serving is None:
        return
    commands = [t.command for t in run.task.perf_tests if t.command and classify(t.command) != "script"]
    try:
        check_models([serving_plan(c, serving).model for c in commands])
    except SecretError as exc:
        raise TaskFailed(str(exc)) from None


def checkout(run: TaskInput) -> Checkout:
    """The task's repository, cloned once into the cache, with base and head resolved."""
    task = run.task
    repo = task.repo or run.suite.repo
    if not repo:
        raise SandboxError(f"{task.instance_id}: no repository (set 'repo' in the suite or the record)")
    repos = RepoCache(run.settings.cache_dir)
    if task.human_patch and task.base_commit:
        # the human variant is the base with the patch (taskrun/patch.py: apply_human):
        # the head commit need not be in the repository at all
        repo_dir = repos.ensure(repo, [task.base_commit])
        base = repos.resolve(repo_dir, task.base_commit)
        return Checkout(repo_dir, base, base)
    base_rev = task.base_commit or f"{task.head_commit}^"
    repo_dir = repos.ensure(repo, [task.head_commit, base_rev])
    return Checkout(repo_dir, repos.resolve(repo_dir, base_rev), repos.resolve(repo_dir, task.head_commit))


MAX_ASV_BENCHMARKS = 12
"""The most benchmarks of a repository's asv suite timed for a task that names none."""


def _git(repo_dir: Path, *args: str) -> str:
    found = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, text=True, check=False)
    return found.stdout if found.returncode == 0 else ""


def asv_suite(run: TaskInput, where: Checkout) -> tuple[list[PerfTest], str]:
    """The benchmarks of the repository's asv suite at the base, as ``asv`` perf tests (those
    the human patch is about first, at most :data:`MAX_ASV_BENCHMARKS`), and a note."""
    folder = asvsuite.benchmark_dir(_git(where.repo_dir, "show", f"{where.base}:{asvsuite.CONF}"))
    paths = _git(where.repo_dir, "ls-tree", "-r", "--name-only", where.base, "--", folder).split()
    files = {p: _git(where.repo_dir, "show", f"{where.base}:{p}") for p in paths if p.endswith(".py")}
    names = asvsuite.ranked(asvsuite.discover(files, folder), run.task.human_patch)
    if not names:
        raise TaskSkipped(f"no perf test: the record names no asv benchmark and {folder}/ at the base has none")
    kept = names[:MAX_ASV_BENCHMARKS]
    tests = [PerfTest(name=f"asv:{n}", target=n, shape="asv") for n in kept]
    note = f"{len(kept)} of the {len(names)} benchmarks of the asv suite in {folder}/ timed"
    note += " (those the patch is about first)" if len(kept) < len(names) else ""
    return tests, note


def with_asv_suite(run: TaskInput, where: Checkout, tests: list[PerfTest], notes: dict[str, str]) -> list[PerfTest]:
    """``tests`` with an ``asv`` test that names no benchmark (``*``) replaced by the suite's."""
    expanded: list[PerfTest] = []
    for test in tests:
        if test.kind == "asv" and not (test.target or "").strip("* "):
            found, note = asv_suite(run, where)
            notes[found[0].name] = note  # a warning on the first of them, in the record
            expanded += found
        else:
            expanded.append(test)
    return expanded


def prepare(run: TaskInput) -> Prepared:
    """Checks that need no sandbox, then the checkout."""
    begin = time.perf_counter()
    check_gpus(run)
    tests, notes = timed_tests(run)
    generated = None if tests else generated_test(run)
    check_serving_models(run)
    where = checkout(run)
    tests = with_asv_suite(run, where, tests, notes)
    return Prepared(
        checkout=where, generated=generated, setup_s=time.perf_counter() - begin, perf_tests=tests, notes=notes
    )
