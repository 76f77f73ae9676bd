#!/usr/bin/env bash
# Builds the image the agent tests run Claude Code and Codex in: the demo's base image
# (Debian bookworm from debootstrap, see build-base-image.sh) plus Node.js from Debian's
# packages and the pinned agent CLIs of scripts/agent-clis.env, installed from npm once on
# the host by install-agent-clis.sh and copied in (one npm install serves the host and
# the image; the container needs no access to the npm registry).
# Usage: scripts/build-agents-image.sh [IMAGE]   (default: isobench-agents:bookworm)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:-isobench-agents:bookworm}"
BASE="${ISOBENCH_BASE_IMAGE:-isobench-demo:bookworm}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"; exit 0
fi
BIN="$(scripts/install-agent-clis.sh)"
MODULES="$(cd "$BIN/.." && pwd)"
docker image inspect "$BASE" >/dev/null 2>&1 || scripts/build-base-image.sh "$BASE"
NAME="isobench-agents-build-$$"
trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
docker run -d --name "$NAME" -e DEBIAN_FRONTEND=noninteractive "$BASE" sleep infinity >/dev/null
docker exec "$NAME" sh -euc '
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs ca-certificates >/dev/null
  apt-get clean && rm -rf /var/lib/apt/lists/*
  mkdir -p /opt/isobench-agent-clis'
docker cp "$MODULES" "$NAME:/opt/isobench-agent-clis/node_modules"
docker exec "$NAME" sh -euc '
  for tool in claude codex; do ln -sf "/opt/isobench-agent-clis/node_modules/.bin/$tool" "/usr/local/bin/$tool"; done
  claude --version && codex --version'
docker stop -t 1 "$NAME" >/dev/null
docker commit --change 'CMD ["/bin/bash"]' "$NAME" "$IMAGE" >/dev/null
echo "built $IMAGE"
