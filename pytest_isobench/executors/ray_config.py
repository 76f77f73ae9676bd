"""The Ray options of a run (``--isobench-ray``, ``--isobench-agent-concurrency``) as plain values.

Read from the options and checked in ``pytest_configure`` (``run_config.ray_options``):
a bad combination is a ``pytest.UsageError`` before anything connects or starts.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_AGENT_CONCURRENCY = 8
# A task whose node dies is run again elsewhere at most this many times.
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class RayOptions:
    address: str  # "auto", HOST:PORT or ray://HOST:PORT
    agent_concurrency: int = DEFAULT_AGENT_CONCURRENCY
    retries: int = DEFAULT_RETRIES
