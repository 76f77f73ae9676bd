#!/usr/bin/env bash
# Builds the image the agent tests run Claude Code and Codex in: the demo's base image
# (Debian bookworm from debootstrap, see build-base-image.sh) plus Node.js and npm from
# Debian's packages and the pinned agent CLIs (scripts/agent-clis.env) from npm.
# Usage: scripts/build-agents-image.sh [IMAGE]   (default: isobench-agents:bookworm)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${1:-isobench-agents:bookworm}"
BASE="${ISOBENCH_BASE_IMAGE:-isobench-demo:bookworm}"
# shellcheck source=agent-clis.env
. scripts/agent-clis.env
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"; exit 0
fi
docker image inspect "$BASE" >/dev/null 2>&1 || scripts/build-base-image.sh "$BASE"
NAME="isobench-agents-build-$$"
trap 'docker rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
docker run --name "$NAME" -e DEBIAN_FRONTEND=noninteractive "$BASE" sh -euc "
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null
  npm install -g --no-audit --no-fund --loglevel=error \
    @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION @openai/codex@$CODEX_VERSION
  npm cache clean --force >/dev/null 2>&1
  apt-get clean && rm -rf /var/lib/apt/lists/*
  claude --version && codex --version
"
docker commit --change 'CMD ["/bin/bash"]' --change 'WORKDIR /' "$NAME" "$IMAGE" >/dev/null
echo "built $IMAGE"
