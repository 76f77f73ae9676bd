"""The Docker engine client of a test module that must leave no container behind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_isobench.sandbox.docker_sandbox import engine_client
from pytest_isobench.sandbox.protocol import LABEL_RUN

if TYPE_CHECKING:
    from collections.abc import Iterator


def engine_left_clean(run_id: str) -> Iterator[Any]:
    """Yield the engine client; at the end, remove the run's containers and fail if any were left."""
    client = engine_client()  # docker-marked tests are skipped by conftest before this runs
    try:
        yield client
    finally:
        left = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        for container in left:
            container.remove(force=True)
        client.close()
        assert not left, f"containers left behind: {[c.name for c in left]}"
