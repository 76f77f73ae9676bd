"""Finding and removing what earlier runs left on the Docker engine, and checking the engine.

Everything the docker backend creates carries the ``io.isobench`` label; this module lists
and removes labelled containers and volumes (``isobench clean``, a session's start) and
answers ``isobench doctor``'s engine questions. It must not touch anything without our
label, must not remove the containers of the run in progress when told which one it is,
and must not start or pull anything.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pytest_isobench.sandbox.docker_sandbox import engine_client
from pytest_isobench.sandbox.protocol import LABEL, LABEL_RUN, SandboxError

if TYPE_CHECKING:
    import docker

DEMO_IMAGE = "isobench-demo:bookworm"


def _volume_created(volume: dict[str, Any]) -> float | None:
    """A volume's creation time (epoch seconds); None when the engine does not say."""
    try:
        return datetime.fromisoformat(str(volume.get("CreatedAt", ""))).timestamp()
    except ValueError:
        return None


def _keep(
    labels: dict[str, str] | None,
    created: float | None,
    run_id: str | None,
    older_than_s: float | None,
    now: float,
) -> bool:
    if run_id is not None and (labels or {}).get(LABEL_RUN) == run_id:
        return True
    if older_than_s is not None:
        # Unknown age: too young to be sure it is a leftover.
        return created is None or now - created < older_than_s
    return False


def _containers(client: docker.DockerClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.api.containers(all=True, filters={"label": LABEL})
    return found


def _volumes(client: docker.DockerClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.api.volumes(filters={"label": LABEL}).get("Volumes") or []
    return found


def _name(container: dict[str, Any]) -> str:
    names = container.get("Names") or []
    return str(names[0]).lstrip("/") if names else str(container["Id"])[:12]


def sweep(client: docker.DockerClient, run_id: str | None = None, older_than_s: float | None = None) -> list[str]:
    """Remove our labelled containers and volumes; return the names removed.

    ``run_id`` spares the containers of that run (the one in progress); ``older_than_s``
    spares anything younger. Something already gone is not an error; an engine failure
    raises ``SandboxError``.
    """
    import docker

    now = time.time()
    removed: list[str] = []
    try:
        for c in _containers(client):
            created = float(c["Created"]) if c.get("Created") is not None else None
            if _keep(c.get("Labels"), created, run_id, older_than_s, now):
                continue
            try:
                client.api.remove_container(c["Id"], force=True, v=True)
            except docker.errors.NotFound:
                continue
            removed.append(_name(c))
        for v in _volumes(client):
            if _keep(v.get("Labels"), _volume_created(v), run_id, older_than_s, now):
                continue
            try:
                client.api.remove_volume(v["Name"], force=True)
            except docker.errors.NotFound:
                continue
            removed.append(str(v["Name"]))
    except (docker.errors.DockerException, OSError) as exc:
        raise SandboxError(f"could not sweep leftovers: {exc}") from exc
    return removed


def leftovers(client: docker.DockerClient) -> list[str]:
    """Names of our labelled containers and volumes still on the engine."""
    import docker

    try:
        return [_name(c) for c in _containers(client)] + [str(v["Name"]) for v in _volumes(client)]
    except (docker.errors.DockerException, OSError) as exc:
        raise SandboxError(f"could not list leftovers: {exc}") from exc


def doctor_engine(image: str = DEMO_IMAGE) -> list[tuple[str, bool, str]]:
    """``(check, ok, detail)`` for the engine, the base image and leftovers. Never raises."""
    import docker

    try:
        client = engine_client()
    except SandboxError as exc:
        skipped = "not checked: no engine"
        return [
            ("docker engine", False, str(exc)),
            (f"image {image}", False, skipped),
            ("leftovers", False, skipped),
        ]
    checks: list[tuple[str, bool, str]] = []
    try:
        try:
            info = client.version()
            checks.append(
                (
                    "docker engine",
                    True,
                    f"Docker {info.get('Version', '?')} (API {info.get('ApiVersion', '?')}) at {client.api.base_url}",
                )
            )
        except (docker.errors.DockerException, OSError) as exc:
            checks.append(("docker engine", False, f"version query failed: {exc}"))
        try:
            found = client.images.get(image)
            size_mb = int(found.attrs.get("Size", 0)) / 1e6
            checks.append((f"image {image}", True, f"present ({size_mb:.0f} MB)"))
        except docker.errors.ImageNotFound:
            checks.append(
                (
                    f"image {image}",
                    False,
                    f"missing: build it with scripts/build-base-image.sh {image}",
                )
            )
        except (docker.errors.DockerException, OSError) as exc:
            checks.append((f"image {image}", False, f"could not inspect it: {exc}"))
        try:
            left = leftovers(client)
            detail = (
                "none"
                if not left
                else f"{len(left)} left by earlier runs ({', '.join(left[:5])}"
                f"{', ...' if len(left) > 5 else ''}): remove them with `isobench clean`"
            )
            checks.append(("leftovers", not left, detail))
        except SandboxError as exc:
            checks.append(("leftovers", False, str(exc)))
    finally:
        client.close()
    return checks
