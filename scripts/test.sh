#!/usr/bin/env bash
# The test command: lint, type-check and run the test suite. Docker tests run when an
# engine answers (and skip with the reason otherwise); .ci/run starts one first.
#
#   scripts/test.sh            the full suite (CI's command)
#   scripts/test.sh --quick    the everyday tier: no test marked slow or docker
#
# Tests run in parallel (pytest-xdist, ISOBENCH_TEST_WORKERS workers, default twice the
# cores, at most 8: most tests wait on git, Docker or a pytest subprocess rather than
# compute; --dist loadscope keeps a module's tests on one worker, so a module-scoped fixture
# (a demo run, a Ray cluster, a private engine, built images) is built once, not once per
# worker), then the tests marked serial run alone: their assertions read timings that
# other tests running beside them would blur. Other arguments go to both runs.
#
# Nothing may hang CI: a test fails after 600 s (pytest-timeout, pyproject.toml) and each
# part is stopped as Ctrl-C stops it (SIGTERM to pytest, SIGKILL 60 s later) when it runs too
# long: the parallel part after ISOBENCH_TEST_PART_TIMEOUT seconds (default 2400; it takes
# about 12 minutes), the serial part after half that (it takes about 4). A worker that dies
# stops the parallel part at once, naming its test (--max-worker-restart=0): with
# --dist loadscope, pytest-xdist hands a dead worker's module, the test that killed it
# included, to a new worker, and has been seen waiting for ever after.
set -euo pipefail
cd "$(dirname "$0")/.."
select=""
if [ "${1:-}" = "--quick" ]; then
  select="not slow and not docker"
  shift
fi
cores="$(nproc 2>/dev/null || echo 2)"
workers="${ISOBENCH_TEST_WORKERS:-$((cores * 2 > 8 ? 8 : cores * 2))}"
scripts/setup-venv.sh
.venv/bin/ruff check pytest_isobench tests benchmarks
.venv/bin/mypy
cap="${ISOBENCH_TEST_PART_TIMEOUT:-2400}"
both() { if [ -n "$select" ]; then echo "($select) and $1"; else echo "$1"; fi; }
parallel=0
timeout --foreground -k 60 "$cap" .venv/bin/pytest tests -p no:cacheprovider -q -n "$workers" --dist loadscope --max-worker-restart=0 --durations=20 -m "$(both "not serial")" "$@" || parallel=$?
serial=0
timeout --foreground -k 60 "$((cap / 2))" .venv/bin/pytest tests -p no:cacheprovider -q --durations=20 -m "$(both serial)" "$@" || serial=$?
# 5 is "no test selected": fine for one part (-k may pick tests of one part only), not both
if [ "$parallel" -eq 5 ] && [ "$serial" -eq 5 ]; then exit 5; fi
for code in "$parallel" "$serial"; do
  if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then echo "scripts/test.sh: a part ran past its time limit and was stopped" >&2; fi
  if [ "$code" -ne 0 ] && [ "$code" -ne 5 ]; then exit "$code"; fi
done
