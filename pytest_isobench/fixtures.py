"""The plugin's fixtures, all prefixed ``isobench_``: thin doors onto the session and the task run.

``isobench_record`` runs the item's :class:`~pytest_isobench.taskrun.TaskRun` in setup (an
infrastructure failure is an error, a task that cannot run here a skip); the task item's
body only maps its record onto passed or failed. ``isobench_baseline``, ``isobench_human``
and ``isobench_agent`` are fresh, ready sandboxes of the three variants for code that wants
to run something in them itself; each is closed in ``finally``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from .collect.items import task_of
from .dataset import RecordError, Task
from .executors import inprocess
from .keys import RECORD_KEY, SESSION_KEY
from .results.record import TaskRecord
from .sandbox.protocol import Sandbox
from .session import IsobenchSession
from .settings import Settings
from .taskrun import AgentFailed, PatchOutcome, Prepared, TaskFailed, TaskRun, TaskSkipped
from .taskrun.patch import apply_once
from .taskrun.sandboxes import opened, spec_for

T = TypeVar("T")


def _stage(step: Callable[[], T]) -> T:
    """A task-run stage inside a fixture: skips skip, task and agent failures fail."""
    try:
        return step()
    except TaskSkipped as exc:
        pytest.skip(str(exc))
    except (TaskFailed, AgentFailed) as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def isobench_session(pytestconfig: pytest.Config) -> IsobenchSession:
    """The run's one state object: settings, run id, backend, records."""
    return pytestconfig.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def isobench_settings(isobench_session: IsobenchSession) -> Settings:
    """The run's parsed ISO-Bench settings (agent, backend, timing, directories)."""
    return isobench_session.settings


@pytest.fixture
def isobench_task(request: pytest.FixtureRequest) -> Task:
    """The task (a real performance commit) of the running ISO-Bench item."""
    try:
        return task_of(request.node)
    except RecordError as exc:
        pytest.fail(str(exc), pytrace=False)
    except KeyError:
        raise pytest.UsageError(
            f"{request.node.nodeid}: isobench_task is only available in ISO-Bench task items"
        ) from None


@pytest.fixture
def isobench_run(request: pytest.FixtureRequest, isobench_task: Task) -> TaskRun:
    """The item's task run: its plain inputs, this session's sandbox factory and agent."""
    return inprocess.task_run(request.node)


@pytest.fixture
def isobench_record(request: pytest.FixtureRequest, isobench_run: TaskRun) -> TaskRecord:
    """The item's task run, run: its record (skips and errors are raised here, in setup)."""
    session = request.config.stash[SESSION_KEY]
    executor = session.executor if session.executor is not None else inprocess.InProcess()
    record = executor.run(isobench_run)
    request.node.stash[RECORD_KEY] = record
    if record.status == "skipped":
        pytest.skip(record.reason)
    if record.status == "error":
        pytest.fail(record.reason, pytrace=False)
    return record


@pytest.fixture
def isobench_prepared(isobench_run: TaskRun) -> Prepared:
    """Stage ``prepare`` of the item's task run: checks, and the checkout with resolved commits."""
    return _stage(isobench_run.prepare)


@pytest.fixture
def isobench_baseline(isobench_run: TaskRun, isobench_prepared: Prepared) -> Iterator[Sandbox]:
    """A fresh, ready sandbox of the baseline (the human commit's parent)."""
    with opened(isobench_run.sandboxes, spec_for(isobench_run.input, "baseline", isobench_prepared.checkout)) as box:
        yield box


@pytest.fixture
def isobench_human(isobench_run: TaskRun, isobench_prepared: Prepared) -> Iterator[Sandbox]:
    """A fresh, ready sandbox of the human commit."""
    with opened(isobench_run.sandboxes, spec_for(isobench_run.input, "human", isobench_prepared.checkout)) as box:
        yield box


@pytest.fixture
def isobench_patch(isobench_run: TaskRun, isobench_prepared: Prepared) -> PatchOutcome:
    """Stage ``produce_patch``: the agent's run and patch, made in a sandbox of its own."""
    patch = _stage(lambda: isobench_run.produce_patch(isobench_prepared))
    if patch is None:
        pytest.skip("no agent in this run (--isobench-agent)")
    if patch.failure is not None:
        pytest.fail(f"agent failed ({patch.failure}): {patch.detail}"[:6000], pytrace=False)
    return patch


@pytest.fixture
def isobench_agent(
    isobench_run: TaskRun, isobench_prepared: Prepared, isobench_patch: PatchOutcome
) -> Iterator[Sandbox]:
    """A fresh sandbox of the baseline with the agent's patch applied once (and rebuilt if needed)."""
    with opened(isobench_run.sandboxes, spec_for(isobench_run.input, "agent", isobench_prepared.checkout)) as box:
        _stage(lambda: apply_once(box, isobench_patch, isobench_run.input.suite))
        yield box
