#!/usr/bin/env bash
# The test command: lint, type-check and run the test suite. Docker tests run when an
# engine answers (and skip with the reason otherwise); .ci/run starts one first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh
.venv/bin/ruff check pytest_isobench tests benchmarks
.venv/bin/mypy
.venv/bin/pytest tests -p no:cacheprovider -q "$@"
