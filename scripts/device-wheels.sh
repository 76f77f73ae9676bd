#!/usr/bin/env bash
# Downloads, on a machine with a package registry, the wheels the GPU device check installs
# offline: this project's dependencies for CPython 3.12 on manylinux x86_64, less what the
# GPU machine already has (torch, pytest, pytest-benchmark, pytest-xdist, numpy, scipy,
# pyyaml, matplotlib, pyarrow and their own dependencies), plus setuptools and wheel to
# build the project. Usage: scripts/device-wheels.sh [DEST]  (default .device-wheels,
# ignored by git; carry it to the device, where scripts/device-check.sh installs from it).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="${1:-.device-wheels}"
PY="${PYTHON:-python3}"
PYVER="${ISOBENCH_WHEELS_PYTHON:-3.12}"  # the device's Python (3.11 to rehearse on this machine)
ABI="cp${PYVER/./}"
TARGET=(--only-binary=:all: --python-version "$PYVER" --implementation cp --abi "$ABI"
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
# On the device already (with their dependencies): never downloaded.
PRESENT='^(torch|triton|nvidia-.*|numpy|scipy|pyarrow|matplotlib|pillow|fonttools|contourpy|kiwisolver|cycler|pyparsing|sympy|mpmath|networkx|jinja2|markupsafe|pytest|pytest-benchmark|pytest-xdist|execnet|py-cpuinfo|pluggy|iniconfig|pyyaml)$'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "device-wheels: resolving the dependencies of $(basename "$PWD") for $ABI manylinux x86_64"
"$PY" -m pip install --quiet --dry-run --ignore-installed --report "$work/report.json" \
  "${TARGET[@]}" --target "$work/t" . "setuptools>=68" wheel
"$PY" - "$work/report.json" "$PRESENT" > "$work/wanted.txt" <<'PYEOF'
import json, re, sys
report = json.load(open(sys.argv[1]))
present = re.compile(sys.argv[2])
for item in report["install"]:
    meta = item["metadata"]
    name = re.sub(r"[-_.]+", "-", meta["name"]).lower()
    if name == "pytest-isobench" or present.match(name):
        continue
    print(f"{name}=={meta['version']}")
PYEOF
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
"$PY" -m pip download --quiet --no-deps "${TARGET[@]}" -d "$DEST.partial" -r "$work/wanted.txt"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
count=$(ls "$DEST" | wc -l)
size=$(du -sm "$DEST" | cut -f1)
echo "device-wheels: $count wheels, ${size} MiB in $DEST"
if [ "$size" -gt 60 ]; then
  echo "device-wheels: warning: ${size} MiB is more than the device carries comfortably (~50 MiB)" >&2
fi
