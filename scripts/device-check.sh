#!/usr/bin/env bash
# The GPU device check, in one go (under 10 minutes) on a machine with a CUDA GPU, Python
# 3.12 with torch, pytest, pytest-benchmark, pytest-xdist, numpy, scipy, pyyaml, matplotlib
# and pyarrow, and no network. It installs the project into .device-venv (system site
# packages visible) from the wheels scripts/device-wheels.sh downloaded (.device-wheels),
# records the environment, checks that tasks/demo-gpu.yaml collects, and then, if a GPU is
# visible, runs the suite on the local backend without an agent and with
# --isobench-agent=human (the human diff as the agent: agent vs human is an A/A). Clocks are
# left as they are (a lent machine's settings must not change); ISOBENCH_LOCK_CLOCKS=1 adds
# --isobench-lock-clocks on a machine of your own. Records, logs and figures go to $OUT (else
# ./device-check-out). Exit status: 0 done, 3 no GPU here (stopped before the GPU runs),
# 4 install or collection failed, 5 a run failed to produce records.
# ISOBENCH_CHECK_PYTHON=PY uses an interpreter that already has the project instead.
# Through the device tool: command "scripts/device-check.sh", carry [".device-wheels"],
# timeout_s 590 (run scripts/device-wheels.sh here first).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-device-check-out}"
WHEELS="${ISOBENCH_WHEELS:-.device-wheels}"
# Seconds per pytest run (the whole check must end within the device tool's 600 s).
LIMIT_NO_AGENT_S="${ISOBENCH_LIMIT_NO_AGENT_S:-210}"
LIMIT_HUMAN_S="${ISOBENCH_LIMIT_HUMAN_S:-300}"
mkdir -p "$OUT"
say() { echo "device-check: $*" | tee -a "$OUT/device-check.log"; }
say "start $(date -u +%FT%TZ) on $(uname -n)"

PY="${ISOBENCH_CHECK_PYTHON:-}"
if [ -z "$PY" ]; then
  base="${PYTHON:-python3}"
  [ -x .device-venv/bin/python ] || "$base" -m venv --system-site-packages .device-venv
  PY=.device-venv/bin/python
  if ! "$PY" -c "import pytest_isobench" 2>/dev/null; then
    if [ ! -d "$WHEELS" ]; then
      say "no wheels folder $WHEELS: run scripts/device-wheels.sh where a registry answers, and carry it here"
      exit 4
    fi
    if ! "$PY" -m pip install --no-index --find-links "$WHEELS" -e . > "$OUT/pip-install.log" 2>&1; then
      say "offline install failed; last lines of $OUT/pip-install.log:"
      tail -n 15 "$OUT/pip-install.log"
      exit 4
    fi
  fi
fi
say "python: $("$PY" -c 'import sys; print(sys.version.split()[0])'), project installed"

"$PY" - > "$OUT/environment.json" <<'PYEOF'
import json, platform
from pytest_isobench.provenance import gpu
from pytest_isobench.sandbox.gpus import visible_gpus
facts = {"python": platform.python_version(), "machine": platform.machine(), "nvidia_smi_gpus": visible_gpus()}
try:
    import torch
    facts["torch"] = torch.__version__
    facts["torch_cuda"] = torch.version.cuda
    facts["cuda_available"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        facts["device"] = torch.cuda.get_device_name(0)
except ImportError as exc:
    facts["torch"] = None
    facts["torch_error"] = str(exc)
    facts["cuda_available"] = False
facts["gpu"] = gpu.snapshot()
print(json.dumps(facts, indent=1))
PYEOF
say "environment: $(tr -d '\n ' < "$OUT/environment.json" | cut -c1-300)"

if ! "$PY" -m pytest tasks/demo-gpu.yaml --collect-only -q -p no:cacheprovider > "$OUT/collect.txt" 2>&1 \
  || ! grep -q "3 tests collected" "$OUT/collect.txt"; then
  say "tasks/demo-gpu.yaml did not collect its 3 tasks:"
  tail -n 15 "$OUT/collect.txt"
  exit 4
fi
say "tasks/demo-gpu.yaml collects 3 tasks"

ready=$("$PY" -c "
import json
f = json.load(open('$OUT/environment.json'))
print('yes' if f['nvidia_smi_gpus'] > 0 and f['cuda_available'] else 'no')")
if [ "$ready" != yes ]; then
  say "no GPU here (nvidia-smi lists $("$PY" -c "import json; print(json.load(open('$OUT/environment.json'))['nvidia_smi_gpus'])"), torch CUDA: $("$PY" -c "import json; print(json.load(open('$OUT/environment.json'))['cuda_available'])")): stopping before the GPU runs"
  exit 3
fi

status=0
for run in no-agent human; do
  args=()
  [ "${ISOBENCH_LOCK_CLOCKS:-0}" = 1 ] && args+=(--isobench-lock-clocks)
  limit="$LIMIT_NO_AGENT_S"
  if [ "$run" = human ]; then
    args+=(--isobench-agent=human)
    limit="$LIMIT_HUMAN_S"
  fi
  say "run $run: pytest tasks/demo-gpu.yaml ${args[*]:-} (limit ${limit} s)"
  start=$SECONDS
  timeout "$limit" "$PY" -m pytest tasks/demo-gpu.yaml -p no:cacheprovider -rA --isobench-backend=local \
    --isobench-results="$OUT/$run" --junitxml="$OUT/$run.junit.xml" "${args[@]}" \
    > "$OUT/$run.log" 2>&1
  rc=$?
  say "run $run: exit $rc after $((SECONDS - start)) s; $(ls "$OUT/$run/tasks" 2>/dev/null | wc -l) records"
  tail -n 12 "$OUT/$run.log"
  ls "$OUT/$run/tasks/"*.json > /dev/null 2>&1 || status=5
done
"$PY" scripts/device_figures.py "$OUT" | tee "$OUT/figures.txt"
say "done $(date -u +%FT%TZ), exit $status"
exit $status
