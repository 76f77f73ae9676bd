#!/usr/bin/env bash
# Builds the demo suite's base image (Debian bookworm, python3, pytest for unit-test gates, git, patch) from
# Debian's packages with debootstrap, for machines that cannot pull from a registry.
# Usage: scripts/build-base-image.sh [IMAGE]   (default: isobench-demo:bookworm)
set -euo pipefail
IMAGE="${1:-isobench-demo:bookworm}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"; exit 0
fi
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
debootstrap --variant=minbase --include=python3,python3-pytest,git,patch,procps bookworm "$ROOT" >/dev/null
tar -C "$ROOT" -c . | docker import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
