"""GPU requests for containers: parse the ``gpus`` setting and build Docker device requests.

This module turns a sandbox's ``Limits.gpus`` value ("all", a count such as "2", or device
ids such as "0,1" / "device=1") into the ``device_requests`` that ``docker run --gpus``
would send, and counts the GPUs the host can see. It must not start containers, pick GPUs
for workers or import docker at module import time (the plugin imports it cheaply).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from docker.types import DeviceRequest

# Device ids are indexes ("0") or the UUIDs nvidia-smi prints ("GPU-3b1c...", "MIG-...").
_DEVICE_ID = re.compile(r"^(?:\d+|(?:GPU|MIG)-[A-Za-z0-9/-]+)$")
_EXPECTED = "expected 'all', a GPU count such as '2', or device ids such as '0,1' or 'device=1'"


def _device_ids(text: str, original: str) -> list[str]:
    ids = [part.strip() for part in text.split(",")]
    bad = [part for part in ids if not _DEVICE_ID.match(part)]
    if not ids or bad:
        raise ValueError(f"invalid GPU selection {original!r}: {_EXPECTED}")
    return ids


def parse_gpus(value: str) -> str:
    """Validate a GPU selection and return its normal form.

    A bare number is a count ("2"), a comma list or ``device=...`` names device ids
    ("0,1", "device=1"). Raises ``ValueError`` naming the bad value and what is expected.
    """
    text = value.strip()
    if text.lower() == "all":
        return "all"
    if text.isdigit():
        if int(text) < 1:
            raise ValueError(
                f"invalid GPU count {value!r}: a count must be at least 1 "
                "(use 'device=0' for device 0, or leave the setting unset for no GPU)"
            )
        return str(int(text))
    if text.lower().startswith("device="):
        return "device=" + ",".join(_device_ids(text[len("device=") :], value))
    if text:
        ids = _device_ids(text, value)
        # A single non-numeric token is one device id (a UUID); keep the explicit form.
        return ",".join(ids) if len(ids) > 1 else "device=" + ids[0]
    raise ValueError(f"invalid GPU selection {value!r}: {_EXPECTED}")


def device_requests(spec: str | None) -> list[DeviceRequest]:
    """The ``device_requests`` for ``containers.run``; ``[]`` when ``spec`` is None (no GPU)."""
    if spec is None:
        return []
    from docker.types import DeviceRequest

    normal = parse_gpus(spec)
    capabilities = [["gpu"]]
    if normal == "all":
        return [DeviceRequest(count=-1, capabilities=capabilities)]
    if normal.isdigit():
        return [DeviceRequest(count=int(normal), capabilities=capabilities)]
    ids = normal.removeprefix("device=").split(",")
    return [DeviceRequest(device_ids=ids, capabilities=capabilities)]


def visible_gpus() -> int:
    """How many GPUs ``nvidia-smi -L`` lists on this host; 0 without it. Never raises."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return 0
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return 0
    if out.returncode != 0:
        return 0
    # MIG instances are listed indented under their GPU; count whole GPUs only.
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def worker_share(spec: str | None, worker: int, workers: int, visible: int) -> str | None:
    """The GPUs one of ``workers`` parallel workers may use, so no two share a GPU.

    ``all`` or a count is turned into device ids: worker ``k`` of ``n`` gets its own
    contiguous slice of the ``visible`` devices (a count ``c`` gives each worker ``c``).
    Explicit device ids are split the same way. With one worker, ``spec`` is unchanged.
    Raises ``ValueError`` when there are not enough GPUs for every worker.
    """
    if spec is None or workers <= 1:
        return spec
    if spec.startswith("device="):
        pool = spec.removeprefix("device=").split(",")
        per = len(pool) // workers
    elif spec == "all":
        pool = [str(i) for i in range(visible)]
        per = visible // workers
    elif spec.isdigit():
        pool = [str(i) for i in range(visible)]
        per = int(spec)
    else:
        pool = spec.split(",")
        per = len(pool) // workers
    if per < 1 or per * workers > len(pool):
        raise ValueError(
            f"{workers} workers need {max(per, 1) * workers} GPU(s) for {spec!r}, {len(pool)} available: "
            f"lower -n or the GPUs per task"
        )
    mine = pool[worker * per : (worker + 1) * per]
    return "device=" + ",".join(mine) if len(mine) == 1 else ",".join(mine)
