"""The Ray controller: submits each selected task item to the cluster and replays the results.

Registered in ``pytest_configure`` only with ``--isobench-ray``; its ``pytest_runtestloop``
replaces pytest's loop. Collection and selection (``-k``, ``-m``, ``--lf``, shards) have
already happened. Items that are not tasks (and resumed tasks) run here as usual. Each
task becomes an agent-phase Ray task (CPU, at most ``--isobench-agent-concurrency`` at
once) and then a measurement-phase Ray task (the suite's GPUs, CPUs and memory; Ray
never gives a GPU to two at once, and the node pins it to cores no other measurement
holds); as each comes back the session writes its record (the
one writer, as for any task) and its reports go through pytest's hooks. A task no node can hold is skipped at once; a
task whose node died is retried by Ray (bounded) and its attempts are in the record.
Ctrl-C, ``-x`` or the end of the run cancel what is left and sweep every node.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from . import ray_remote
from .demand import Demand, live_nodes, placement_problem
from .progress import Progress, Throttled
from .replay import replay, reports
from .work import Finished, Handover, Work

if TYPE_CHECKING:
    from .ray_config import RayOptions

AGENT_DEMAND = Demand(gpus=0, cpus=1.0)
# How long cancelled tasks get to close their sandboxes before they are killed.
CANCEL_GRACE_S = 20.0
NODE_CHECK_S = 5.0
UNPLACEABLE_GRACE_S = 30.0


@dataclass
class ItemRun:
    """The controller's view of one submitted item."""

    item: pytest.Item
    payload: Any
    demand: Demand
    has_agent: bool
    runs: list[ray_remote.RunInfo] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    submitted_at: float = 0.0
    submitted: dict[str, float] = field(default_factory=dict)  # phase -> wall-clock time of submission


class RayExecutor:
    """Plugin object (``isobench-ray``): the run loop on a Ray cluster."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Any,
        options: RayOptions,
        work: Callable[[], Work],
        is_task: Callable[[pytest.Item], bool],
        demand_of: Callable[[pytest.Item], Demand],
        finish: Callable[[pytest.Item, Finished, dict[str, Any], list[pytest.TestReport]], None],
    ) -> None:
        self.config = config
        self.settings = settings
        self.options = options
        self._work = work  # looked up at run time: a conftest may substitute it
        self.is_task = is_task
        self.demand_of = demand_of
        self.finish_record = finish  # writes the record once and puts it on the item's reports
        self.items: dict[str, ItemRun] = {}
        self.pending: dict[Any, tuple[str, str]] = {}  # ObjectRef -> (nodeid, phase)
        self.waiting_agents: list[str] = []
        self.started_on: dict[tuple[str, str], str] = {}  # (nodeid, phase) -> node of its latest attempt
        self.unplaceable_since: dict[Any, float] = {}
        self.progress = Progress(total=0)
        self.log = logging.getLogger("isobench.ray")

    # -- pytest ---------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(
                f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} during collection"
            )
        if session.config.option.collectonly:
            return True
        remote = [item for item in session.items if self.is_task(item)]
        if not remote:
            return None  # nothing for the cluster: pytest's own loop
        self.work = self._work()
        local = [item for item in session.items if not self.is_task(item)]
        self._connect()
        rr = ray_remote.api()
        try:
            self._run(session, remote, local, rr)
        except BaseException:
            self._cancel_all()
            raise
        finally:
            self._sweep(rr)
            self._disconnect()
        return True

    # -- connection -----------------------------------------------------------------------
    def _connect(self) -> None:
        import ray

        _fewer_malloc_arenas()
        address = self.options.address
        try:
            ray.init(
                address=address,
                namespace="isobench",
                log_to_driver=False,
                logging_level=logging.WARNING,
                ignore_reinit_error=True,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            pytest.exit(
                f"--isobench-ray={address}: no Ray cluster answers ({exc}); start one with 'ray start --head'",
                returncode=pytest.ExitCode.USAGE_ERROR,
            )
        self._write(f"isobench: on Ray cluster {address} ({len(live_nodes(ray.nodes()))} live node(s))")

    def _disconnect(self) -> None:
        import ray

        ray.shutdown()

    # -- the loop -------------------------------------------------------------------------
    def _run(
        self, session: pytest.Session, remote: list[pytest.Item], local: list[pytest.Item], rr: ray_remote.RemoteApi
    ) -> None:
        import ray

        self.tracker = rr.tracker.options(
            scheduling_strategy=_here(), name=f"isobench-tracker-{self.settings.run_id}"
        ).remote()
        self.progress = Progress(total=len(remote))
        self.show = Throttled(self._write)
        nodes = live_nodes(ray.nodes())
        for item in remote:
            demand = self.demand_of(item)
            has_agent = bool(self.settings.agent)
            problem = placement_problem(demand, nodes) or (
                placement_problem(AGENT_DEMAND, nodes) if has_agent else None
            )
            if problem is not None:
                self._finish(session, item, Finished("skipped", problem), [], {})
                continue
            run = ItemRun(item, self.work.payload(item, self.settings), demand, has_agent, submitted_at=time.time())
            self.items[item.nodeid] = run
            if has_agent:
                self.waiting_agents.append(item.nodeid)
            else:
                self._submit(rr, run, "measure", None)
        self._top_up_agents(rr)
        for item in local:  # the cluster works meanwhile
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=None)
            self._check_stop(session)
            self._poll(session, rr, timeout=0)
        last_nodes = time.monotonic()
        while self.pending:
            self._poll(session, rr, timeout=0.5)
            if time.monotonic() - last_nodes > NODE_CHECK_S:
                last_nodes = time.monotonic()
                self._drop_unplaceable(session)
        self.show(self.progress.line(), force=True)

    def _submit(self, rr: ray_remote.RemoteApi, run: ItemRun, phase: str, handover: Handover | None) -> None:
        demand = run.demand if phase == "measure" else AGENT_DEMAND
        options: dict[str, Any] = {
            "num_cpus": demand.cpus,
            "num_gpus": demand.gpus,
            "max_retries": self.options.retries,
            "retry_exceptions": False,
            "name": f"isobench:{phase}:{run.item.name}",
        }
        if demand.memory:
            options["memory"] = demand.memory
        ref = rr.phase_task.options(**options).remote(
            self.work,
            phase,
            run.item.nodeid,
            run.payload,
            handover,
            str(self.settings.cache_dir),
            self.tracker,
            demand.cpuset if phase == "measure" else None,  # the node pins it to cores of its own
        )
        self.pending[ref] = (run.item.nodeid, phase)
        run.submitted[phase] = time.time()
        self.progress.submitted(phase)

    def _top_up_agents(self, rr: ray_remote.RemoteApi) -> None:
        in_flight = sum(1 for _key, phase in self.pending.values() if phase == "agent")
        while self.waiting_agents and in_flight < self.options.agent_concurrency:
            self._submit(rr, self.items[self.waiting_agents.pop(0)], "agent", None)
            in_flight += 1

    def _poll(self, session: pytest.Session, rr: ray_remote.RemoteApi, timeout: float) -> None:
        import ray

        if not self.pending:
            return
        # Wakes at the first result (not at the timeout), then takes every other one already back.
        refs = list(self.pending)
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            more, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
            ready += more
        self._drain_tracker()
        for ref in ready:
            key, phase = self.pending.pop(ref)
            self.unplaceable_since.pop(ref, None)
            self.started_on.pop((key, phase), None)
            run = self.items[key]
            self.progress.finished(phase, key)
            value = self._result(ref, run, phase)
            if isinstance(value, Handover):
                self._submit(rr, run, "measure", value)
            else:
                self._finish(session, run.item, value, run.runs, run.attempts)
            self._top_up_agents(rr)
            self._check_stop(session)
        self.show(self.progress.line())

    def _result(self, ref: Any, run: ItemRun, phase: str) -> Finished | Handover:
        import ray

        try:
            result = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return Finished("error", f"the {phase} phase was cancelled")
        except ray.exceptions.RayError as exc:
            tries = run.attempts.get(phase, 0)
            return Finished(
                "error",
                f"infrastructure: the {phase} phase failed on the Ray cluster after {tries} attempt(s) "
                f"({type(exc).__name__}): {str(exc)[-1500:]}",
            )
        run.runs.append(result.info)
        value: Finished | Handover = result.value
        return value

    def _drain_tracker(self) -> None:
        import ray

        for key, phase, node, _at in ray.get(self.tracker.drain.remote()):
            run = self.items.get(key)
            if run is None:
                continue
            self.started_on[(key, phase)] = node
            run.attempts[phase] = run.attempts.get(phase, 0) + 1
            if run.attempts[phase] > 1:
                self.progress.retried += 1
            self.progress.started(phase, key)

    def _finish(
        self, session: pytest.Session, item: pytest.Item, finished: Finished, runs: list[Any], attempts: dict[str, int]
    ) -> None:
        run = self.items.pop(item.nodeid, None)
        ray_info = {
            "address": self.options.address,
            "attempts": dict(attempts),
            "retries": sum(max(n - 1, 0) for n in attempts.values()),
            "runs": [r.as_dict() for r in runs],
        }
        duration = sum(r.end - r.start for r in runs)
        now = time.time()
        ray_info["received"] = round(now, 3)
        if run is not None:
            ray_info["submitted"] = {phase: round(t, 3) for phase, t in run.submitted.items()}
            ray_info["wall_s"] = round(now - run.submitted_at, 3)
        reps = reports(item, finished, duration)
        self.finish_record(item, finished, ray_info, reps)
        replay(item, reps)

    def _check_stop(self, session: pytest.Session) -> None:
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)

    def _drop_unplaceable(self, session: pytest.Session) -> None:
        """Nodes died and no live node can hold a waiting task any more: end it, rather than wait forever.

        Only after it stayed so for ``UNPLACEABLE_GRACE_S`` (a busy node can miss a heartbeat,
        a replacement node can be on its way); a task still running on a live node is left alone.
        """
        import ray

        nodes = live_nodes(ray.nodes())
        alive = {n.node_id for n in nodes}
        now = time.monotonic()
        for ref, (key, phase) in list(self.pending.items()):
            run = self.items[key]
            if self.started_on.get((key, phase)) in alive:
                self.unplaceable_since.pop(ref, None)
                continue
            problem = placement_problem(run.demand if phase == "measure" else AGENT_DEMAND, nodes)
            if problem is None:
                self.unplaceable_since.pop(ref, None)
                continue
            if now - self.unplaceable_since.setdefault(ref, now) < UNPLACEABLE_GRACE_S:
                continue
            ray.cancel(ref, force=True)
            del self.pending[ref]
            self.unplaceable_since.pop(ref, None)
            self.progress.finished(phase, key)
            self._finish(session, run.item, Finished("error", f"infrastructure: {problem}"), run.runs, run.attempts)

    # -- the end --------------------------------------------------------------------------
    def _cancel_all(self) -> None:
        """Cancel every remote task; give them time to close their sandboxes, then kill the rest."""
        import ray

        refs = list(self.pending)
        self.pending.clear()
        self.waiting_agents.clear()
        if not refs:
            return
        self._write(f"isobench: cancelling {len(refs)} Ray task(s)")
        for ref in refs:
            ray.cancel(ref, force=False)
        _done, left = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for ref in left:
            ray.cancel(ref, force=True)

    def _sweep(self, rr: ray_remote.RemoteApi) -> None:
        """Every live node removes what this run left on it (killed attempts leave containers)."""
        import ray

        refs = [
            rr.sweep_task.options(scheduling_strategy=_on(node.node_id)).remote(
                self.settings.run_id, str(self.settings.cache_dir)
            )
            for node in live_nodes(ray.nodes())
        ]
        try:
            removed = [x for found in ray.get(refs, timeout=120) for x in found]
        except ray.exceptions.RayError as exc:
            self._write(f"isobench: sweeping the Ray nodes failed: {exc}")
            return
        if removed:
            self._write(f"isobench: removed {len(removed)} leftover(s) of killed attempts on the Ray nodes")

    def _write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)


def _on(node_id: str) -> Any:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def _here() -> Any:
    import ray

    return _on(ray.get_runtime_context().get_node_id())


def _fewer_malloc_arenas() -> None:
    """Cap glibc's malloc arenas before Ray starts its threads in this process.

    Measured over 1,000 tasks (benchmarks/bench_ray.py): with glibc's default, one arena per
    thread, the controller's resident size grew by about 56 KiB per task from fragmentation
    alone; with two arenas, by about 9 KiB (the records the summary keeps). Not glibc: nothing.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(-8, 2)  # M_ARENA_MAX
