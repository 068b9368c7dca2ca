#!/usr/bin/env bash
# Smoke run of the scheduler benchmark: builds it (dev profile, shared with the tests) and
# runs every cell once on tiny graphs, then checks that every line it prints is a JSON object
# carrying the required fields. Timings are not judged here: scripts/bench.sh measures them.
set -euo pipefail
cd "${PROCESSES_ROOT:-$(dirname "$0")/../..}"

if ! command -v python3 >/dev/null; then
  apt-get update && apt-get install -y --no-install-recommends python3
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
timeout 600 cargo test --quiet --bench scheduler -- --size 1000 --runs 1 >"$out"

python3 scripts/bench_check.py "$out"
