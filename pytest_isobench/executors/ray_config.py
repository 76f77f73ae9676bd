"""The Ray options of a run (``--isobench-ray``, ``--isobench-agent-concurrency``), checked early.

Built in ``pytest_configure``: a bad combination (no Ray installed, ``-n`` together with
Ray, device ids that only mean something on this machine) is a ``pytest.UsageError``
before anything connects or starts. Ray itself is not imported here, only looked up.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import pytest

from .. import options as opt

DEFAULT_AGENT_CONCURRENCY = 8
# A task whose node dies is run again elsewhere at most this many times.
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class RayOptions:
    address: str  # "auto", HOST:PORT or ray://HOST:PORT
    agent_concurrency: int = DEFAULT_AGENT_CONCURRENCY
    retries: int = DEFAULT_RETRIES


def ray_options(config: pytest.Config, gpus: str | None) -> RayOptions | None:
    """The Ray options, or None when the run is not on Ray; ``UsageError`` when they cannot work."""
    address = opt.get(config, "--isobench-ray", "isobench_ray")
    concurrency = opt.get(
        config, "--isobench-agent-concurrency", "isobench_agent_concurrency", DEFAULT_AGENT_CONCURRENCY
    )
    if address is None:
        if config.getoption("isobench_agent_concurrency", None) is not None:
            raise pytest.UsageError("--isobench-agent-concurrency applies to Ray runs only: add --isobench-ray")
        return None
    if importlib.util.find_spec("ray") is None:
        raise pytest.UsageError(
            f"--isobench-ray={address}: Ray is not installed; install it with pip install 'pytest-isobench[ray]'"
        )
    numprocesses = config.getoption("numprocesses", None)
    if numprocesses not in (None, 0, "0"):
        raise pytest.UsageError(
            f"--isobench-ray and -n {numprocesses} do not combine: Ray schedules the tasks across the cluster; drop -n"
        )
    if gpus is not None:
        raise pytest.UsageError(
            f"--isobench-gpus={gpus} names GPUs of this machine; on Ray each measurement gets the GPUs Ray assigns "
            "(set gpus_required in the suite)"
        )
    return RayOptions(address=address, agent_concurrency=int(concurrency))
