"""The Docker backend of the ``Sandbox`` protocol: one long-lived container per variant.

A ``DockerSandbox`` starts a labelled container from the suite's image, copies the checkout
in without bind mounts (so a remote engine through ``DOCKER_HOST`` works), gives it a git
history of one detached commit (the agent must not find the human commit in it), runs the
setup commands, and then runs commands under an in-container ``timeout`` so a hung process
group dies inside the container. It must not know about agents, perf-test reports or
statistics, pulls an image only when the engine lacks it, and must not leave containers behind: ``start`` cleans up
after itself when it fails and ``close`` is idempotent.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import tarfile
import time
import uuid
from typing import TYPE_CHECKING, Any

from pytest_isobench.sandbox import gpus, patching
from pytest_isobench.sandbox.bounded import BoundedBuffer
from pytest_isobench.sandbox.docker_conversation import DockerConversation
from pytest_isobench.sandbox.patching import check_relpath
from pytest_isobench.sandbox.protocol import (
    LABEL,
    LABEL_RUN,
    LABEL_TASK,
    LABEL_VARIANT,
    ExecResult,
    PatchResult,
    SandboxError,
    SandboxSpec,
)
from pytest_isobench.sandbox.run_sweep import wait_for_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    import docker
    from docker.models.containers import Container

WORKDIR = "/work/repo"
BASELINE_MESSAGE = "isobench baseline"
NETWORK = "bridge"
KILL_AFTER_S = 2
# Exit statuses of coreutils `timeout`: 124 after TERM, 137 (128 + 9) when KILL was needed.
_TIMEOUT_CODES = (124, 137)
_KILLED = 137
# $0: the limit in seconds, $1: the command. The trap also takes the group down when the
# wrapper itself is signalled.
_GROUP_WRAPPER = (
    f'timeout --kill-after={KILL_AFTER_S} -s TERM "$0" sh -c "$1" & p=$!; '
    "trap 'kill -9 -$p 2>/dev/null; exit 143' TERM INT HUP; "
    "wait $p; rc=$?; kill -9 -$p 2>/dev/null; exit $rc"
)
_OOM_COUNT = "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events 2>/dev/null; true"

# A fixed identity and date make the baseline commit identical in every variant, and say
# nothing about the real history.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "isobench",
    "GIT_AUTHOR_EMAIL": "isobench@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "isobench",
    "GIT_COMMITTER_EMAIL": "isobench@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def engine_client(timeout: float = 5) -> docker.DockerClient:
    """A client for the engine ``DOCKER_HOST`` (or the local socket) names, pinged.

    ``timeout`` bounds the ping; later calls get docker's usual 60 s per request (long
    ``exec`` streams are not bounded by it). Raises ``SandboxError`` with the cause.
    """
    try:
        import docker
        from docker.constants import DEFAULT_TIMEOUT_SECONDS
    except ImportError as exc:  # a broken install: the engine cannot be reached from here
        raise SandboxError(f"the Docker SDK cannot be imported ({exc}): pip install docker") from exc

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        raise SandboxError(f"Docker engine not answering ({exc}): start dockerd or set DOCKER_HOST") from exc
    client.api.timeout = DEFAULT_TIMEOUT_SECONDS
    return client


@contextlib.contextmanager
def _engine_errors(what: str) -> Iterator[None]:
    """Turn the SDK's and the transport's exceptions into ``SandboxError``."""
    import docker

    try:
        yield
    except (docker.errors.DockerException, OSError) as exc:
        raise SandboxError(f"{what}: {exc}") from exc


def _decode(data: bytes | None) -> str:
    return data.decode("utf-8", "replace") if data else ""


def _tar_one(name: str, data: bytes, mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _container_name(spec: SandboxSpec) -> str:
    parts = [_NAME_UNSAFE.sub("-", p).strip("-.")[:40] for p in (spec.run_id, spec.task_id)]
    return "-".join(["isobench", *[p for p in parts if p], spec.variant, uuid.uuid4().hex[:8]])


class DockerSandbox:
    """One variant's checkout in a long-lived, labelled container (see the module doc)."""

    def __init__(self, spec: SandboxSpec, client: docker.DockerClient) -> None:
        self.spec = spec
        self.client = client
        self.name: str | None = None
        self.start_s = 0.0  # seconds to create and start the container
        self.checkout_s = 0.0
        self.setup_s = 0.0
        self.baseline_commit = ""
        self._container: Container | None = None
        self._network = True
        self._oom_seen = 0

    @property
    def workdir(self) -> str:
        return WORKDIR

    @property
    def identity(self) -> str:
        """The container's id (short), once started; its name before."""
        return str(self._container.short_id) if self._container is not None else str(self.name)

    @property
    def container(self) -> Container:
        """The running container (``SandboxError`` before ``start`` or after ``close``)."""
        if self._container is None:
            raise SandboxError(f"sandbox {self.spec.task_id}/{self.spec.variant} is not started")
        return self._container

    @property
    def network_enabled(self) -> bool:
        return self._network

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        if self.name is not None:
            raise SandboxError(f"sandbox {self.name} was already started")
        try:
            self._create()
            t0 = time.perf_counter()
            self._checkout()
            self.checkout_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            offline = bool(self.spec.setup_commands) and not self.spec.network_during_setup
            if offline:
                self.set_network(False)
            for command in self.spec.setup_commands:
                res = self.exec(command, self.spec.setup_timeout_s)
                if not res.ok:
                    why = (
                        f"timed out after {self.spec.setup_timeout_s:g} s"
                        if res.timed_out
                        else f"exit status {res.exit_code}"
                    )
                    raise SandboxError(f"setup command failed ({why}) in {self.spec.image}: {command}\n{res.tail()}")
            if offline:
                self.set_network(True)
            self.setup_s = time.perf_counter() - t0
        except BaseException:
            with contextlib.suppress(SandboxError):
                self.close()
            raise

    def _create(self) -> None:
        import docker

        image = self.spec.image
        if not image:
            raise SandboxError(
                f"no image for {self.spec.task_id}: the docker sandbox needs one "
                "(set it in the suite or with an option)"
            )
        limits = self.spec.limits
        wait_for_engine(self.client)  # an engine restarting between tasks is waited for, briefly
        with _engine_errors("Docker engine not answering"):
            try:
                self.client.images.get(image)
            except docker.errors.ImageNotFound:
                self._pull(image)
        self.name = _container_name(self.spec)
        t0 = time.perf_counter()
        with _engine_errors(f"could not start a container from {image!r}"):
            self._container = self.client.containers.run(
                image,
                command=["sleep", "infinity"],
                name=self.name,
                detach=True,
                init=True,
                labels={
                    LABEL: "1",
                    LABEL_RUN: self.spec.run_id,
                    LABEL_TASK: self.spec.task_id,
                    LABEL_VARIANT: self.spec.variant,
                },
                mem_limit=limits.memory,
                # No swap beyond the limit: swapping would show up as a slowdown.
                memswap_limit=limits.memory,
                cpuset_cpus=limits.cpuset,
                device_requests=gpus.device_requests(limits.gpus),
                working_dir=WORKDIR,
                environment=dict(self.spec.env),
            )
        self.start_s = time.perf_counter() - t0
        self._network = True

    def _pull(self, image: str) -> None:
        """Pull a missing image once (the engine caches it for every later sandbox)."""
        import docker

        try:
            self.client.images.pull(image)
        except (docker.errors.APIError, docker.errors.DockerException) as exc:
            raise SandboxError(
                f"image {image!r} not found and could not be pulled ({str(exc)[:200]}): "
                "build it (e.g. scripts/build-base-image.sh for the demo) or make the registry reachable"
            ) from None

    def _checkout(self) -> None:
        spec = self.spec
        try:
            archive = subprocess.run(
                ["git", "-C", str(spec.repo_dir), "archive", "--format=tar", spec.commit],
                capture_output=True,
                check=False,
            )
        except OSError as exc:
            raise SandboxError(f"could not run git on the host: {exc}") from exc
        if archive.returncode != 0:
            raise SandboxError(
                f"git archive of {spec.commit} in {spec.repo_dir} failed: {_decode(archive.stderr).strip()}"
            )
        with _engine_errors(f"could not copy the checkout into {self.name}"):
            self.container.put_archive(WORKDIR, archive.stdout)
        # A fresh repository with one commit: the variant's history is detached from the
        # real one. `-f` keeps files the archive has even if a .gitignore names them.
        script = (
            "git -c init.defaultBranch=main init -q"
            " && git config gc.auto 0"
            f" && git config user.name {_GIT_ENV['GIT_AUTHOR_NAME']}"
            f" && git config user.email {_GIT_ENV['GIT_AUTHOR_EMAIL']}"
            " && git add -A -f"
            f" && git -c commit.gpgsign=false commit -q --allow-empty -m '{BASELINE_MESSAGE}'"
            f" && printf '%s' {shlex.quote(patching.excludes_file())} > .git/info/exclude"
            " && git rev-parse HEAD"
        )
        code, out, err = self._run(["sh", "-c", script], env=_GIT_ENV)
        if code != 0:
            raise SandboxError(f"could not create the baseline commit in {self.name}: {err}{out}")
        self.baseline_commit = out.strip()

    def close(self) -> None:
        name = self.name
        if name is None:
            return
        import docker

        try:
            self.client.api.remove_container(name, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except (docker.errors.DockerException, OSError) as exc:
            raise SandboxError(f"could not remove container {name}: {exc}") from exc
        self.name = None
        self._container = None

    # -- commands --------------------------------------------------------------------

    def _run(self, argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
        """An internal command (git, patch): no time limit, output decoded."""
        with _engine_errors(f"exec in {self.name} failed"):
            res: Any = self.container.exec_run(argv, workdir=WORKDIR, environment=env, demux=True)
        out, err = res.output if res.output is not None else (None, None)
        return int(res.exit_code), _decode(out), _decode(err)

    def exec(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> ExecResult:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        # `timeout` runs the command in a process group of its own and signals that group
        # at the limit (KILL after a grace period); the wrapper kills what is left of the
        # group when the command ends, so background children neither outlive it nor
        # hold the output stream open. Output is read as a stream and bounded.
        argv = ["sh", "-c", _GROUP_WRAPPER, f"{timeout_s:.3f}", command]
        container = self.container
        out, err = BoundedBuffer(), BoundedBuffer()
        with _engine_errors(f"exec in {self.name} failed"):
            t0 = time.perf_counter()
            api = self.client.api
            exec_id = api.exec_create(container.id, argv, workdir=WORKDIR, environment=env)["Id"]
            for chunk_out, chunk_err in api.exec_start(exec_id, stream=True, demux=True):
                out.feed(chunk_out or b"")
                err.feed(chunk_err or b"")
            wall = time.perf_counter() - t0
            code = api.exec_inspect(exec_id).get("ExitCode")
        code = int(code) if code is not None else -1
        # 124/137 can also be the command's own status (or an OOM kill): only a run that
        # lasted the whole limit counts as timed out.
        timed_out = code in _TIMEOUT_CODES and wall >= timeout_s
        oom = code == _KILLED and not timed_out and self._oom_kills_grew()
        return ExecResult(code, out.text(), err.text(), wall, timed_out, oom_killed=oom)

    def converse(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> DockerConversation:
        """``command`` as ``exec`` runs it, its standard input open (see ``docker_conversation``)."""
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
        with _engine_errors(f"exec in {self.name} failed"):
            return DockerConversation(
                self.client,
                self.container,
                command,
                timeout_s,
                workdir=WORKDIR,
                env=env,
                kill_after_s=KILL_AFTER_S,
                engine_errors=_engine_errors,
            )

    def _oom_kills(self) -> int | None:
        """The container's count of OOM kills (cgroup v1 or v2); None when unreadable."""
        code, out, _ = self._run(["sh", "-c", _OOM_COUNT])
        counts = [int(m) for m in re.findall(r"^oom_kill (\d+)$", out, flags=re.MULTILINE)]
        return max(counts) if code == 0 and counts else None

    def _oom_kills_grew(self) -> bool:
        count = self._oom_kills()
        if count is None:
            return False
        grew = count > self._oom_seen
        self._oom_seen = count
        return grew

    def write_file(self, relpath: str, content: str) -> None:
        path = check_relpath(relpath)
        with _engine_errors(f"could not write {path} into {self.name}"):
            self.container.put_archive(WORKDIR, _tar_one(path, content.encode()))

    def set_network(self, enabled: bool) -> None:
        if enabled == self._network:
            return
        cid = self.container.id
        with _engine_errors(f"could not switch the network of {self.name}"):
            if enabled:
                self.client.api.connect_container_to_network(cid, NETWORK)
            else:
                self.client.api.disconnect_container_from_network(cid, NETWORK, force=True)
        self._network = enabled

    # -- patches ---------------------------------------------------------------------

    def apply_patch(self, patch: str) -> PatchResult:
        return patching.apply(self, self.baseline_commit or "HEAD", patch)

    def diff(self) -> str:
        return patching.capture(self, self.baseline_commit or "HEAD")
