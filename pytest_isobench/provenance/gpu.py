"""GPU provenance from ``nvidia-smi``: what the GPUs were and what state they were in.

:func:`snapshot` asks ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` for
each GPU's model, driver, SM and memory clocks, temperature, power, ECC and persistence
mode, and ``--query-compute-apps`` for the processes that hold a GPU; the CUDA version
comes from the banner of plain ``nvidia-smi`` (asked once per process). A machine
without ``nvidia-smi`` gives ``{"available": False, "reason": ...}``, never an error.
:func:`task_gpu_record` pairs a snapshot taken before a task with one taken after it and
adds warnings: clocks not locked, another process on a GPU, the SM clock moving.
:func:`lock_clocks` / :func:`reset_clocks` run ``nvidia-smi -lgc`` / ``-rgc`` where the
user is allowed to. Nothing here times anything or starts containers.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

#: The ``--query-gpu`` fields asked for, in order (names as ``nvidia-smi --help-query-gpu`` spells them).
QUERY_FIELDS: tuple[str, ...] = (
    "index",
    "uuid",
    "name",
    "driver_version",
    "pci.bus_id",
    "clocks.sm",
    "clocks.mem",
    "clocks.max.sm",
    "clocks.max.mem",
    "clocks.default_applications.graphics",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "ecc.mode.current",
    "persistence_mode",
    "memory.used",
    "memory.total",
    "utilization.gpu",
)
#: Our names for the fields above (units in the names: nounits drops them from the values).
KEYS: tuple[str, ...] = (
    "index",
    "uuid",
    "name",
    "driver",
    "pci_bus_id",
    "sm_clock_mhz",
    "mem_clock_mhz",
    "max_sm_clock_mhz",
    "max_mem_clock_mhz",
    "base_sm_clock_mhz",
    "temperature_c",
    "power_w",
    "power_limit_w",
    "ecc",
    "persistence",
    "memory_used_mib",
    "memory_total_mib",
    "utilization_pct",
)
APPS_FIELDS = ("gpu_uuid", "pid", "process_name", "used_memory")
_NUMERIC = frozenset(KEYS[5:13]) | {"memory_used_mib", "memory_total_mib", "utilization_pct"}
_MISSING = re.compile(r"^\[?(N/A|Not Supported|Unknown Error|Insufficient Permissions)\]?$", re.IGNORECASE)
_CUDA = re.compile(r"CUDA Version:\s*([0-9][0-9.]*)")
#: Set by the process that locked the clocks (xdist workers inherit it): the locked SM clock.
LOCKED_ENV = "ISOBENCH_GPU_CLOCKS_LOCKED_MHZ"
_TIMEOUT_S = 20.0
CLOCK_DRIFT = 0.05  # an SM clock that moves more than this between start and end is reported


class GpuQueryError(Exception):
    """``nvidia-smi`` printed something we cannot read; the message quotes the line."""


def _value(key: str, raw: str) -> Any:
    text = raw.strip()
    if not text or _MISSING.match(text):
        return None
    if key in _NUMERIC:
        try:
            number = float(text)
        except ValueError:
            raise GpuQueryError(f"field {key!r}: expected a number, got {text!r}") from None
        return int(number) if number.is_integer() and key != "power_w" else number
    if key == "index":
        return int(text)
    return text


def parse_gpus(text: str) -> list[dict[str, Any]]:
    """Rows of ``--query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits``, one dict per GPU."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(KEYS):
            raise GpuQueryError(f"nvidia-smi line {number}: expected {len(KEYS)} fields, got {len(cells)}: {line!r}")
        rows.append({key: _value(key, cell) for key, cell in zip(KEYS, cells, strict=True)})
    return rows


def parse_apps(text: str) -> list[dict[str, Any]]:
    """Rows of ``--query-compute-apps=gpu_uuid,pid,process_name,used_memory --format=csv,noheader,nounits``."""
    apps: list[dict[str, Any]] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < len(APPS_FIELDS) or not cells[1].isdigit():
            continue  # "No running processes found" and blank lines
        memory = cells[-1]
        apps.append(
            {
                "gpu_uuid": cells[0],
                "pid": int(cells[1]),
                "process_name": ",".join(cells[2:-1]),  # a name may hold commas
                "used_memory_mib": int(memory) if memory.isdigit() else None,
            }
        )
    return apps


def parse_cuda_version(banner: str) -> str | None:
    """The ``CUDA Version: 12.4`` of plain ``nvidia-smi``'s banner."""
    found = _CUDA.search(banner)
    return found.group(1) if found else None


def _smi() -> str | None:
    return shutil.which("nvidia-smi")


def _run(exe: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)


@functools.cache
def _cuda_version(exe: str) -> str | None:
    try:
        out = _run(exe)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_cuda_version(out.stdout)


def snapshot(devices: list[str] | None = None) -> dict[str, Any]:
    """The GPUs' state now (all, or the indexes/UUIDs in ``devices``); never raises."""
    exe = _smi()
    if exe is None:
        return {"available": False, "reason": "nvidia-smi not found on PATH"}
    try:
        query = _run(exe, f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits")
        if query.returncode != 0:
            why = (query.stderr or query.stdout).strip().splitlines()
            return {
                "available": False,
                "reason": f"nvidia-smi failed (exit {query.returncode}): {why[-1] if why else ''}",
            }
        gpus = parse_gpus(query.stdout)
        apps_out = _run(exe, f"--query-compute-apps={','.join(APPS_FIELDS)}", "--format=csv,noheader,nounits")
        apps = parse_apps(apps_out.stdout) if apps_out.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, GpuQueryError) as exc:
        return {"available": False, "reason": f"nvidia-smi unreadable: {exc}"}
    if devices:
        wanted = set(devices)
        gpus = [g for g in gpus if str(g["index"]) in wanted or g["uuid"] in wanted]
        uuids = {g["uuid"] for g in gpus}
        apps = [a for a in apps if a["gpu_uuid"] in uuids]
    return {"available": True, "cuda": _cuda_version(exe), "gpus": gpus, "processes": apps}


def device_ids(spec: str | None) -> list[str] | None:
    """The explicit devices of a GPU selection (``device=0``, ``0,1``); None for all/a count/none."""
    if spec is None or spec == "all" or spec.isdigit():
        return None
    return [d for d in spec.removeprefix("device=").split(",") if d]


_STATIC = ("index", "uuid", "name", "driver", "pci_bus_id", "ecc", "persistence", "memory_total_mib", "power_limit_w")
_DYNAMIC = ("index", "sm_clock_mhz", "mem_clock_mhz", "temperature_c", "power_w", "memory_used_mib", "utilization_pct")


def task_gpu_record(
    start: dict[str, Any], end: dict[str, Any] | None, *, uses_gpu: bool, own_pids: frozenset[int] = frozenset()
) -> dict[str, Any]:
    """A record's ``gpu`` field from snapshots before and after a task, with warnings."""
    if not start.get("available"):
        return {"available": False, "reason": start.get("reason", "")}
    gpus: list[dict[str, Any]] = start["gpus"]
    record: dict[str, Any] = {
        "available": True,
        "cuda": start.get("cuda"),
        "devices": [{k: g.get(k) for k in _STATIC} for g in gpus],
        "start": [{k: g.get(k) for k in _DYNAMIC} for g in gpus],
        "end": [{k: g.get(k) for k in _DYNAMIC} for g in (end or {}).get("gpus", [])],
        "processes_start": [a for a in start.get("processes", []) if a["pid"] not in own_pids],
        "processes_end": [a for a in (end or {}).get("processes", []) if a["pid"] not in own_pids],
        "clocks_locked_mhz": locked_clocks(),
    }
    record["warnings"] = gpu_warnings(record) if uses_gpu else []
    return record


def gpu_warnings(record: dict[str, Any]) -> list[str]:
    """What makes a GPU timing less trustworthy, one line each."""
    warnings: list[str] = []
    if record.get("clocks_locked_mhz") is None:
        warnings.append(
            "GPU clocks are not locked: timings move with boost and temperature (--isobench-lock-clocks locks them)"
        )
    others = {(a["pid"], a["process_name"]) for a in record["processes_start"] + record["processes_end"]}
    for pid, name in sorted(others):
        warnings.append(f"another process holds a GPU during this task: pid {pid} ({name})")
    ends = {row["index"]: row for row in record["end"]}
    for row in record["start"]:
        after = ends.get(row["index"])
        before_clock = row.get("sm_clock_mhz")
        after_clock = after.get("sm_clock_mhz") if after else None
        if before_clock and after_clock and abs(after_clock - before_clock) > CLOCK_DRIFT * before_clock:
            warnings.append(
                f"GPU {row['index']}: SM clock moved from {before_clock} to {after_clock} MHz during the task"
            )
    for device in record["devices"]:
        if device.get("persistence") not in (None, "Enabled"):
            warnings.append(f"GPU {device['index']}: persistence mode is off (the first use pays the driver start)")
    return warnings


def locked_clocks() -> int | None:
    """The SM clock this run locked (see :func:`lock_clocks`), or None."""
    value = os.environ.get(LOCKED_ENV, "")
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class LockResult:
    """What ``--isobench-lock-clocks`` did: the clock locked, or why not."""

    locked_mhz: int | None
    message: str
    devices: tuple[str, ...] = ()


def lock_clocks(mhz: int | None = None, devices: list[str] | None = None) -> LockResult:
    """``nvidia-smi -lgc MHZ,MHZ`` on the GPUs (the base clock when ``mhz`` is None); never raises.

    Locking needs root (or an administrator's permission) and a GPU that supports it:
    otherwise the result says why and nothing is changed.
    """
    exe = _smi()
    if exe is None:
        return LockResult(None, "nvidia-smi not found on PATH: clocks not locked")
    state = snapshot(devices)
    if not state.get("available") or not state.get("gpus"):
        return LockResult(None, f"no GPU to lock: {state.get('reason', 'none visible')}")
    if mhz is None:
        bases = {g["base_sm_clock_mhz"] for g in state["gpus"]} - {None}
        if len(bases) != 1:
            return LockResult(None, "clocks not locked: the GPUs report no common base clock (pass a clock in MHz)")
        mhz = int(bases.pop())
    targets = [str(g["index"]) for g in state["gpus"]]
    try:
        out = _run(exe, "-i", ",".join(targets), "-lgc", f"{mhz},{mhz}")
    except (OSError, subprocess.SubprocessError) as exc:
        return LockResult(None, f"nvidia-smi -lgc failed: {exc}")
    text = (out.stdout + out.stderr).strip()
    if out.returncode != 0:
        return LockResult(None, f"clocks not locked (nvidia-smi -lgc exit {out.returncode}): {text[-300:]}")
    os.environ[LOCKED_ENV] = str(mhz)
    return LockResult(mhz, f"GPU clocks locked at {mhz} MHz on GPU {','.join(targets)}", tuple(targets))


def reset_clocks(result: LockResult) -> str:
    """``nvidia-smi -rgc`` on the GPUs :func:`lock_clocks` locked; the outcome in words."""
    os.environ.pop(LOCKED_ENV, None)
    exe = _smi()
    if result.locked_mhz is None or exe is None:
        return "nothing to reset"
    try:
        out = _run(exe, "-i", ",".join(result.devices), "-rgc")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi -rgc failed: {exc}"
    if out.returncode != 0:
        return f"nvidia-smi -rgc exit {out.returncode}: {(out.stdout + out.stderr).strip()[-300:]}"
    return "GPU clocks reset"


class GpuWarning(UserWarning):
    """A GPU condition that makes a task's timings less trustworthy (see ``gpu_warnings``)."""
