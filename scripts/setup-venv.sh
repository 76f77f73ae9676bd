#!/usr/bin/env bash
# Creates .venv (if missing) and installs the project with its test and ray extras, editable.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
if ! .venv/bin/python -c "import pytest_isobench, mypy, ruff, ray, pytest_timeout" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test,ray]'
fi
