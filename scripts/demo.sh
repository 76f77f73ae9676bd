#!/usr/bin/env bash
# The main job: the bundled demo suite end to end. First baseline vs human (is every
# human speedup real here?), then the full three-way path with the human diff as the
# agent's patch. Uses Docker when an engine answers, else the local backend.
# Extra arguments go to both pytest runs (e.g. --isobench-backend=docker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
.venv/bin/pytest tasks/demo.yaml -p no:cacheprovider -rA "$@"
.venv/bin/pytest tasks/demo.yaml -p no:cacheprovider -rA --isobench-agent=human "$@"
