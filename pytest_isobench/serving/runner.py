"""Serving and offline benchmark runs as measurements for the timing protocol.

A :class:`ServingSession` keeps one variant's model server up for the whole interleaved
measurement of that variant (start-up is paid once, outside the timed region); each
repetition runs the benchmark client once against it and turns the client's output into a
:class:`~pytest_isobench.measure.protocol.Measurement` whose value is the mode's primary
metric. Every metric found is recorded per run, and the server's log is kept when anything
failed. Offline modes (latency, throughput) run the benchmark directly, with no server.
:func:`measure_variants` drives ``run_protocol`` over the sessions of all variants. It does
not judge: verdicts come from ``measure.verdict`` as for script perf tests.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_isobench.measure.protocol import Measurement, ProtocolResult, ProtocolSettings, run_protocol
from pytest_isobench.serving import metrics as metrics_mod
from pytest_isobench.serving.modes import PRIMARY_METRIC, Mode, ServingPlan
from pytest_isobench.serving.secrets import redact
from pytest_isobench.serving.server import LOG_PATH, ModelServer, ServerError
from pytest_isobench.serving.settings import ServingSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    from pytest_isobench.dataset.models import Direction, MetricSpec
    from pytest_isobench.sandbox.protocol import Sandbox


@dataclass(frozen=True)
class ServingSpec:
    """What one variant runs: the client command, and for serving the server it talks to.

    ``primary`` defaults to the mode's primary metric; ``metrics`` to the mode's patterns.
    ``server_env`` goes to the server's process only (e.g. ``HF_TOKEN`` for the variant
    that downloads), ``client_env`` to each client run.
    """

    mode: Mode
    client_command: str
    serve_command: str | None = None
    primary: str | None = None
    metrics: tuple[MetricSpec, ...] = ()
    server: ServingSettings = field(default_factory=ServingSettings)
    server_env: dict[str, str] = field(default_factory=dict)
    client_env: dict[str, str] = field(default_factory=dict)
    log_path: str = LOG_PATH
    secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.mode == "script":
            raise ValueError("a 'script' perf command is run by the perf-test protocol, not as a benchmark")
        if self.mode == "serving" and not self.serve_command:
            raise ValueError("mode 'serving' needs a serve_command")
        metric_specs = self.metric_specs
        metrics_mod.spec(self.primary_name, metric_specs)  # KeyError early for an unknown primary

    @classmethod
    def from_plan(cls, plan: ServingPlan, **overrides: Any) -> ServingSpec:
        """The spec of a normalised plan (see :func:`~pytest_isobench.serving.modes.serving_plan`)."""
        values: dict[str, Any] = {
            "mode": plan.mode,
            "client_command": plan.client_command,
            "serve_command": plan.serve_command,
            "primary": plan.primary_metric,
            "server": plan.server,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def metric_specs(self) -> tuple[MetricSpec, ...]:
        return self.metrics or metrics_mod.specs_for(self.mode)

    @property
    def primary_name(self) -> str:
        return self.primary or PRIMARY_METRIC[self.mode]

    @property
    def direction(self) -> Direction:
        """Of the primary metric: ``lower`` (TTFT, latency) or ``higher`` (throughput)."""
        return metrics_mod.spec(self.primary_name, self.metric_specs).direction


@dataclass(frozen=True)
class RunRecord:
    """One benchmark run: the metrics it printed, or why it failed with its output."""

    metrics: dict[str, float]
    wall_s: float
    error: str | None = None
    output: str | None = None  # kept only when the run failed

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"metrics": self.metrics, "wall_s": round(self.wall_s, 4)}
        if self.error is not None:
            data["error"] = self.error
            data["output"] = self.output
        return data


def run_client(sandbox: Sandbox, spec: ServingSpec) -> tuple[Measurement, RunRecord]:
    """Run the benchmark once (the server, if any, must be up); value = the primary metric."""
    res = sandbox.exec(spec.client_command, spec.server.client_timeout_s, env=spec.client_env or None)
    text = redact(res.stdout + ("\n" + res.stderr if res.stderr else ""), spec.secret)
    error: str | None = None
    found: dict[str, float] = {}
    value: float | None = None
    if res.timed_out:
        error = f"benchmark timed out after {res.wall_s:.1f}s and was killed; last output:\n{metrics_mod.tail(text)}"
    elif res.exit_code != 0:
        error = f"benchmark exit status {res.exit_code}; last output:\n{metrics_mod.tail(text)}"
    else:
        try:
            value, found = metrics_mod.require(text, spec.primary_name, spec.metric_specs)
        except metrics_mod.MetricsError as exc:
            error, found = str(exc), exc.found
    record = RunRecord(found, res.wall_s, error, text if error is not None else None)
    return Measurement(value=value, wall_s=res.wall_s, error=error), record


class ServingSession:
    """One variant's server, up from ``__enter__`` to ``__exit__``; ``run_once`` per repetition.

    A server that does not come up is not raised: every ``run_once`` then returns a failed
    measurement with the reason and the log's tail, so the protocol treats it like any
    failed run (a baseline or human that fails is the task's problem, an agent's is the agent's).
    """

    def __init__(
        self,
        sandbox: Sandbox,
        spec: ServingSpec,
        *,
        server_factory: Callable[..., ModelServer] = ModelServer,
    ) -> None:
        self.sandbox = sandbox
        self.spec = spec
        self.server: ModelServer | None = None
        self.start_error: str | None = None
        self.runs: list[RunRecord] = []
        self.server_log: str | None = None
        self.ready_s: float | None = None
        self._factory = server_factory

    def __enter__(self) -> ServingSession:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(failed=exc is not None)

    def start(self) -> None:
        spec = self.spec
        if spec.mode != "serving" or spec.serve_command is None:
            return
        self.server = self._factory(
            self.sandbox,
            spec.serve_command,
            settings=spec.server,
            log_path=spec.log_path,
            env=spec.server_env,
        )
        try:
            self.ready_s = self.server.start()
        except ServerError as exc:
            self.start_error = redact(str(exc), spec.secret)
            self.server_log = redact(exc.log, spec.secret)
            self.server = None  # start() killed it already

    @property
    def failed(self) -> bool:
        return self.start_error is not None or any(r.error is not None for r in self.runs)

    def run_once(self) -> Measurement:
        if self.start_error is not None:
            return Measurement(value=None, wall_s=0.0, error=f"server start failed: {self.start_error}")
        measurement, record = run_client(self.sandbox, self.spec)
        if measurement.error is not None and self.server is not None and not self.server.alive():
            log = redact(self.server.log_tail(), self.spec.secret)
            error = f"{measurement.error}\nthe server has exited; last log lines:\n{log}"
            measurement = Measurement(value=None, wall_s=measurement.wall_s, error=error)
            record = RunRecord(record.metrics, record.wall_s, error, record.output)
        self.runs.append(record)
        return measurement

    def close(self, failed: bool = False) -> None:
        """Stop the server; its whole log is kept (``server_log``) when anything failed."""
        server, self.server = self.server, None
        if server is None:
            return
        try:
            if failed or self.failed:
                self.server_log = redact(server.read_log(), self.spec.secret)
        finally:
            server.stop()

    def as_record(self) -> dict[str, Any]:
        """A JSON-able account: commands, readiness time, each run's metrics, failures, log."""
        data: dict[str, Any] = {
            "mode": self.spec.mode,
            "primary": self.spec.primary_name,
            "direction": self.spec.direction,
            "client_command": self.spec.client_command,
            "serve_command": self.spec.serve_command,
            "ready_s": self.ready_s,
            "runs": [r.as_dict() for r in self.runs],
        }
        if self.start_error is not None:
            data["start_error"] = self.start_error
        if self.server_log is not None:
            data["server_log"] = self.server_log
        return data


def run_serving_once(sandbox: Sandbox, spec: ServingSpec) -> Measurement:
    """One complete benchmark: the server (for serving) is started, used once and stopped."""
    with ServingSession(sandbox, spec) as session:
        return session.run_once()


@dataclass
class ServingMeasurement:
    """The protocol's result and every variant's session record."""

    result: ProtocolResult
    sessions: dict[str, dict[str, Any]]


def measure_variants(
    sandboxes: Mapping[str, Sandbox],
    specs: Mapping[str, ServingSpec] | ServingSpec,
    settings: ProtocolSettings,
    *,
    on_ready: Callable[[], None] | None = None,
    **protocol_kwargs: Any,
) -> ServingMeasurement:
    """Bring every variant's server up, interleave the client runs, bring them all down.

    ``sandboxes`` is ordered baseline first. ``specs`` is one spec for all, or one per
    variant (the same commands; only the environment may differ, e.g. ``HF_TOKEN`` for the
    one that downloads). ``settings.direction`` must be the primary metric's direction.
    ``on_ready`` runs once every server is up, before the first timed run (switch the
    network off there: a server may need it to download its model while starting).
    """
    names = list(sandboxes)
    per_variant = {n: specs if isinstance(specs, ServingSpec) else specs[n] for n in names}
    commands = {(s.mode, s.client_command, s.serve_command) for s in per_variant.values()}
    if len(commands) != 1:
        raise ValueError(f"variants must run identical benchmark commands, got {sorted(map(str, commands))}")
    direction = next(iter(per_variant.values())).direction
    if settings.direction != direction:
        raise ValueError(f"settings.direction is {settings.direction!r}, the primary metric's is {direction!r}")
    sessions: dict[str, ServingSession] = {}
    with contextlib.ExitStack() as stack:
        for name in names:
            sessions[name] = stack.enter_context(ServingSession(sandboxes[name], per_variant[name]))
        if on_ready is not None:
            on_ready()

        def run_one(name: str) -> Measurement:
            return sessions[name].run_once()

        result = run_protocol(names, run_one, settings, **protocol_kwargs)
    return ServingMeasurement(result, {n: s.as_record() for n, s in sessions.items()})
