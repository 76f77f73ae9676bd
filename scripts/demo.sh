#!/usr/bin/env bash
# The main job: the bundled demo suite end to end. First baseline vs human (is every
# human speedup real here?), then the full three-way path with the human diff as the
# agent's patch. Uses Docker when an engine answers (building the demo image from Debian
# packages if it is missing), else the local backend.
# Extra arguments go to both pytest runs (e.g. --isobench-backend=local).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
IMAGE=isobench-demo:bookworm
extra=()
if docker info >/dev/null 2>&1; then
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
    scripts/build-base-image.sh "$IMAGE" || true
  fi
  if ! docker image inspect "$IMAGE" >/dev/null 2>&1 && [[ " $* " != *" --isobench-backend"* ]]; then
    echo "demo: image $IMAGE unavailable; running on the local backend"
    extra+=(--isobench-backend=local)
  fi
fi
.venv/bin/pytest tasks/demo.yaml -p no:cacheprovider -rA "${extra[@]}" "$@"
# An A/A (the agent's code is the human's): only beats or worse would be wrong;
# inconclusive (this machine too noisy to tell within the budget) is counted, not failed.
.venv/bin/pytest tasks/demo.yaml -p no:cacheprovider -rA --isobench-agent=human --isobench-pass=similar,inconclusive \
  "${extra[@]}" "$@"
