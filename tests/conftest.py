"""Shared test set-up: Docker tests skip with a reason when no engine answers.

In CI (``ISOBENCH_REQUIRE_DOCKER=1``, set by ``.ci/run``) a missing engine or image is a
failure instead, so the Docker tests can never be skipped silently there.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy  # noqa: F401  (pytester inline runs must not unload it: numpy cannot load twice)
import pytest

DEMO_IMAGE = "isobench-demo:bookworm"


@functools.cache
def docker_problem() -> str | None:
    """Why Docker tests cannot run here, or None when they can."""
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}); .ci/run starts one"
    try:
        client.images.get(DEMO_IMAGE)
    except Exception:
        return f"image {DEMO_IMAGE} missing: run scripts/build-base-image.sh"
    finally:
        client.close()
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None:
        return
    problem = docker_problem()
    if problem is None:
        return
    if os.environ.get("ISOBENCH_REQUIRE_DOCKER") == "1":
        pytest.fail(f"Docker required in CI: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache directory per session, so the demo repository is built once."""
    path = tmp_path_factory.getbasetemp() / "isobench-cache"
    path.mkdir(exist_ok=True)
    return path
