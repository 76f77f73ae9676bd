"""Dataset tasks become pytest items: suite files, ad-hoc datasets, and the task item.

Collection reads records and builds items; it never runs docker, and runs git and an LLM
only to generate missing perf tests (``--isobench-generate``, cached in ``generated_tests/``). A suite
that cannot be parsed, or a record that cannot become a task, becomes one item that errors
with the reason in setup, so every other suite and task still collects and runs. A dataset
that cannot be reached (hub offline, no cache) skips its collector with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..dataset import DatasetError, DatasetUnavailable, Task, load_refs
from ..keys import MARKERS_KEY, REF_KEY, SESSION_KEY, SOURCE_NOTES_KEY, SUITE_KEY, TASK_KEY, TESTGEN_KEY
from ..sandbox.repo import RepoCache
from ..suite import Suite, SuiteError, default_suite, load_suite
from ..testgen import GenJob, RepoContext, cache, generate_missing, repo_context
from .body import run_task
from .ids import task_ids

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr
    from _pytest._py.path import LocalPath

_MARK_SAFE = re.compile(r"[^A-Za-z0-9_]")


class CollectProblem(Exception):
    """A suite or record that could not become a runnable task."""


def marker_name(text: str) -> str:
    """A suite name as a marker name usable with ``-m``."""
    cleaned = _MARK_SAFE.sub("_", text)
    return cleaned if cleaned[:1].isalpha() else f"s_{cleaned}"


def _register_marker(config: pytest.Config, name: str, help_text: str) -> None:
    known: set[str] = config.stash.setdefault(MARKERS_KEY, set())
    if name not in known:
        config.addinivalue_line("markers", f"{name}: {help_text}")
        known.add(name)


class TaskItem(pytest.Function):
    """One task: times baseline, human and (with an agent) the agent's variant."""

    @property
    def task(self) -> Task:
        return task_of(self)

    @property
    def suite(self) -> Suite:
        return self.stash[SUITE_KEY]

    def reportinfo(self) -> tuple[Path | LocalPath | str, int | None, str]:
        ref = self.stash[REF_KEY]
        if ref.line is not None:
            return Path(ref.source), ref.line - 1, f"{self.name}: {ref.subject[:60]}"
        return self.path, 0, f"{self.name}: {ref.subject[:60]}"


def task_of(item: pytest.Item) -> Task:
    """The full task of an item, mapped from its record on first use.

    A record that identified at collection but fails to map (a malformed perf test,
    say) raises :class:`~pytest_isobench.dataset.RecordError` naming file:line and field.
    """
    task = item.stash.get(TASK_KEY, None)
    if task is None:
        task = item.stash[REF_KEY].load()
        item.stash[TASK_KEY] = task
    return task


class ProblemItem(pytest.Item):
    """Stands for a suite or record that failed to load: errors in setup with the reason."""

    def __init__(self, *, problem: str, skip: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem
        self.skip = skip
        if skip:  # reported at the suite file, not at this module
            self.add_marker(pytest.mark.skip(reason=problem))

    def setup(self) -> None:
        pytest.fail(self.problem, pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise CollectProblem(self.problem)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CollectProblem):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | LocalPath | str, int | None, str]:
        return self.path, 0, self.name


def _task_items(parent: pytest.Collector, suite: Suite) -> Iterator[pytest.Item]:
    config = parent.config
    notes = config.stash.setdefault(SOURCE_NOTES_KEY, [])
    try:
        try:
            loaded = load_refs(suite.dataset, base_dir=suite.base_dir)
            if suite.dataset_fallback is not None:
                notes.append(f"isobench: suite {suite.name}: dataset {suite.dataset} ({len(loaded.refs)} tasks)")
        except DatasetUnavailable:
            if suite.dataset_fallback is None:
                raise
            loaded = load_refs(suite.dataset_fallback, base_dir=suite.base_dir)
            notes.append(
                f"isobench: suite {suite.name}: {suite.dataset} unavailable (not reachable, not cached); "
                f"using the shipped {suite.dataset_fallback} ({len(loaded.refs)} tasks)"
            )
    except DatasetUnavailable as exc:
        yield ProblemItem.from_parent(parent, name=f"{suite.name}-unavailable", problem=str(exc), skip=True)
        return
    except DatasetError as exc:
        yield ProblemItem.from_parent(parent, name=f"{suite.name}-dataset", problem=str(exc))
        return
    suite_mark = marker_name(suite.name)
    _register_marker(config, "isobench", "an ISO-Bench task item")
    _register_marker(config, suite_mark, f"tasks of the {suite.name} suite")
    _register_marker(config, "gpu", "tasks that need a GPU")
    for name in suite.markers:
        _register_marker(config, name, f"set by the markers key of the {suite.name} suite")
    marks = [pytest.mark.isobench, getattr(pytest.mark, suite_mark), *(getattr(pytest.mark, m) for m in suite.markers)]
    gpu_mark = pytest.mark.gpu
    ids = task_ids(suite.name, [t.head_commit for t in loaded.refs])
    shared: Any = None  # every item of a collector has the same function: one fixture closure
    items: list[TaskItem] = []
    for task_id, task in zip(ids, loaded.refs, strict=True):
        item = TaskItem.from_parent(parent, name=task_id, callobj=run_task, fixtureinfo=shared)
        shared = item._fixtureinfo
        item.stash[REF_KEY] = task
        item.stash[SUITE_KEY] = suite
        for mark in marks:
            item.add_marker(mark)
        if (task.gpus if task.gpus is not None else suite.gpus_required) > 0:
            item.add_marker(gpu_mark)
        items.append(item)
    _generate_missing(items, suite, config)
    yield from items
    for index, problem in enumerate(loaded.errors, start=1):
        yield ProblemItem.from_parent(parent, name=f"{suite.name}-invalid-{index}", problem=problem)


def _generate_missing(items: list[TaskItem], suite: Suite, config: pytest.Config) -> None:
    """Ask the model for the perf tests tasks lack (``--isobench-generate``); cached ones cost nothing."""
    settings = config.stash[SESSION_KEY].settings
    if settings.generate == "never" or not items:
        return
    root = cache.default_root(settings.rootdir)
    with cache.suite_lock(root, suite.name):  # xdist workers: the first generates, the others read the cache
        present = cache.cached_ids(root, suite.name)
        jobs: list[GenJob] = []
        for item in items:
            if (
                settings.generate == "missing"
                and cache.safe_name(item.name) in present
                and cache.load_cached(root, suite.name, item.name) is not None  # intact (a corrupt one is set aside)
            ):
                continue  # cached: the task record is not even loaded
            try:
                task = task_of(item)
            except Exception:
                continue  # the item reports its record error in setup
            if task.perf_tests:
                continue
            repo = task.repo or suite.repo
            context = partial(_repo_context, settings.cache_dir, repo, task) if repo else None
            jobs.append(GenJob(item.name, suite.name, task, python=suite.perf.python, context=context))
        if not jobs:
            return
        outcomes = generate_missing(
            jobs,
            model=settings.testgen_model,
            concurrency=settings.testgen_concurrency,
            attempts=settings.testgen_attempts,
            timeout_s=settings.testgen_timeout_s,
            root=root,
            mode=settings.generate,
        )
    for item in items:
        outcome = outcomes.get(item.name)
        if outcome is not None and not outcome.usable and outcome.status != "dataset":
            item.stash[TESTGEN_KEY] = outcome.reason


def _repo_context(cache_dir: Path, repo: str, task: Task) -> RepoContext:
    repos = RepoCache(cache_dir)
    base_rev = task.base_commit or f"{task.head_commit}^"
    repo_dir = repos.ensure(repo, [task.head_commit, base_rev])
    base, head = repos.resolve(repo_dir, base_rev), repos.resolve(repo_dir, task.head_commit)
    return repo_context(repo_dir, base, head, task.files_changed)


class SuiteFile(pytest.File):
    """A ``tasks/*.yaml`` suite: one item per task of its dataset."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            suite = load_suite(self.path)
        except SuiteError as exc:
            yield ProblemItem.from_parent(self, name=f"{self.path.stem}-suite", problem=str(exc))
            return
        yield from _task_items(self, suite)


class DatasetCollector(pytest.Collector):
    """A dataset given with ``--isobench-dataset`` (a path or ``hf:``), with default settings."""

    def __init__(self, *, source: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source

    def collect(self) -> Iterator[pytest.Item]:
        try:
            suite = default_suite("dataset", self.source)
        except Exception as exc:  # a pydantic error on the source string itself
            raise CollectProblem(f"{self.source}: {exc}") from None
        yield from _task_items(self, suite)
