"""A private Docker engine for tests that kill and restart one: never the shared engine.

It runs as root with its own unix socket, ``--data-root``, ``--exec-root`` and
``--pidfile`` in a temporary folder (the data root on a tmpfs), its own bridge interface on a private /24 (never
``--bridge=none``: that makes dockerd delete the host's ``docker0``, the shared engine's
bridge), and no iptables, masquerading or forwarding changes. The demo image is loaded
into it from the shared engine with ``docker save | docker load``.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

IMAGE = "isobench-demo:bookworm"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class PrivateEngine:
    """``start``/``kill``/``stop`` a dockerd of our own under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = root / "docker.sock"
        self.bridge = f"fxbr{secrets.token_hex(3)}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def host(self) -> str:
        return f"unix://{self.sock}"

    def _argv(self) -> list[str]:
        r = self.root
        return [
            "dockerd",
            f"--host={self.host}",
            f"--data-root={r / 'data'}",
            f"--exec-root={r / 'exec'}",
            f"--pidfile={r / 'docker.pid'}",
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            f"--containerd-namespace=fx-{self.bridge}",
            f"--containerd-plugins-namespace=fxp-{self.bridge}",
        ]

    def create_data_root(self) -> None:
        """The data root on a tmpfs: loading is faster, and removing it is one unmount."""
        data = self.root / "data"
        data.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3g", "tmpfs", str(data)], check=True, capture_output=True)

    def create_bridge(self) -> None:
        subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        _ip("link", "add", "name", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{subnet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def start(self, limit_s: float = 60) -> None:
        log = (self.root / f"dockerd-{self.starts}.log").open("wb")
        self.starts += 1
        self.proc = subprocess.Popen(self._argv(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + limit_s
        while subprocess.run(["docker", "-H", self.host, "version"], capture_output=True).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private dockerd did not start: see {log.name}")
            time.sleep(0.2)

    def load_image(self, image: str = IMAGE) -> None:
        script = f"docker save {image} | docker -H {self.host} load -q"
        subprocess.run(["sh", "-c", script], check=True, capture_output=True)

    def kill(self) -> None:
        """SIGKILL the daemon and its containerd, as a crash of the engine would.

        The containers' shims live on; the next daemon finds them and, without
        live-restore, stops them (they stay, stopped, until someone removes them).
        """
        assert self.proc is not None
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        containerd = int(pidfile.read_text()) if pidfile.exists() else None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        # The next daemon reuses a containerd whose pid answers kill(pid, 0), which a
        # zombie nobody reaps still does: wait until it is dead, then drop its pid file.
        deadline = time.monotonic() + 30
        while containerd is not None and _running(containerd) and time.monotonic() < deadline:
            time.sleep(0.1)
        pidfile.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the daemon and everything it started; remove the bridge and the folder's mounts."""
        if self.proc is not None and self.proc.poll() is None:
            # A test engine holds nothing worth a graceful shutdown.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        # A containerd left by a SIGKILLed daemon, and any shim: only processes of our folder.
        for pid in _pids_mentioning(str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with open("/proc/mounts") as fh:
            mounts = [line.split()[1] for line in fh if str(self.root) in line.split()[1]]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        subprocess.run(["umount", "-l", str(self.root / "data")], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
    return found


def docker0_present() -> bool:
    """The shared engine's bridge is still there (a private engine must never remove it)."""
    return Path("/sys/class/net/docker0").exists()


def why_not() -> str | None:
    """Why no private engine can run here, or None."""
    if os.geteuid() != 0:
        return "a private dockerd needs root"
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        return "dockerd or the docker CLI is not installed"
    return None


@contextlib.contextmanager
def running(load: bool = True) -> Iterator[PrivateEngine]:
    """A started private engine (the demo image loaded when ``load``), stopped and removed after."""
    problem = why_not()
    if problem is not None:
        pytest.skip(problem)
    assert docker0_present(), "the shared engine's bridge is missing before the test"
    # A short root: unix socket paths are limited to 107 bytes.
    root = Path(subprocess.check_output(["mktemp", "-d", "/tmp/fxeng.XXXXXX"], text=True).strip())
    private = PrivateEngine(root)
    try:
        private.create_data_root()
        private.create_bridge()
        private.start()
        if load:
            private.load_image()
        yield private
    finally:
        private.stop()
        shutil.rmtree(root, ignore_errors=True)
        assert docker0_present(), "the shared engine's bridge disappeared"
