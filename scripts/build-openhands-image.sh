#!/usr/bin/env bash
# Builds the image the OpenHands agent tests run in: Debian trixie from debootstrap (Python
# 3.13, which openhands-ai 0.59 needs; bookworm's 3.11 is too old) with the demo's tools
# (pytest, git, patch), and openhands-ai at the adapter's pin installed by pip from the
# package index into a venv, /opt/openhands (the adapter is pointed at it with
# ISOBENCH_OPENHANDS_PYTHON=/opt/openhands/bin/python). 0.59.0's wheel is tagged for
# CPython 3.12 only, so pip builds its pure-Python sdist (its VS Code extension build is
# skipped: no Node.js in the image). Leanness: no pip cache, no bytecode written at install
# (Python writes what it imports at run time), no apt lists or downloaded packages. On a
# loaded 2-core machine it took 6.5 minutes; the image is about 1.5 GB.
# Where pip must trust an extra certificate authority (a TLS-inspecting proxy), the host's
# PIP_CERT bundle is used in the build container too, then removed.
# Usage: scripts/build-openhands-image.sh [IMAGE]   (default: isobench-openhands:trixie)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:-isobench-openhands:trixie}"
VERSION="$(sed -n 's/^OPENHANDS_VERSION = "\(.*\)"$/\1/p' pytest_isobench/agents/openhands.py)"
[ -n "$VERSION" ] || { echo "no OPENHANDS_VERSION in pytest_isobench/agents/openhands.py" >&2; exit 1; }
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"; exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
ROOT="$(mktemp -d)"
NAME="isobench-openhands-build-$$"
STAGE="isobench-openhands-stage:$$"
trap 'rm -rf "$ROOT"; docker rm -f "$NAME" >/dev/null 2>&1 || true; docker rmi "$STAGE" >/dev/null 2>&1 || true' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python3-pytest,git,patch,procps,ca-certificates \
  trixie "$ROOT" >/dev/null
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*  # 120 MB the image never uses
tar -C "$ROOT" -c . | docker import - "$STAGE" >/dev/null
docker run -d --name "$NAME" "$STAGE" sleep infinity >/dev/null
CERT_ENV=()
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
  docker cp "$PIP_CERT" "$NAME:/tmp/pip-ca.pem"
  CERT_ENV=(-e PIP_CERT=/tmp/pip-ca.pem)
fi
docker exec "${CERT_ENV[@]}" -e PIP_NO_CACHE_DIR=1 -e PIP_DISABLE_PIP_VERSION_CHECK=1 "$NAME" sh -euc "
  python3 -m venv /opt/openhands
  /opt/openhands/bin/pip install -q --no-compile 'openhands-ai==$VERSION'
  /opt/openhands/bin/python -c 'import openhands.core.main, openhands.runtime.impl.cli.cli_runtime'
  rm -f /tmp/pip-ca.pem; rm -rf /root/.cache /tmp/pip-*"
docker stop -t 1 "$NAME" >/dev/null
docker commit --change 'CMD ["/bin/bash"]' "$NAME" "$IMAGE" >/dev/null
echo "built $IMAGE"
