#!/usr/bin/env bash
# Runs the scheduler benchmark matrix (every shape x body x workers of
# shared/bench/WORKLOADS.md) in release mode, writes one JSON object per cell to
# target/bench/scheduler.jsonl and prints a markdown table with the core's ratios to the
# floor and to the reference figures. Extra arguments go to the benchmark, for example
#   scripts/bench.sh --shape layered --body empty --workers 2
# It takes several minutes at the default sizes; it is not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/bench/scheduler.jsonl
mkdir -p target/bench
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
cargo bench --bench scheduler -- "$@" >"$out.partial"
mv "$out.partial" "$out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 scripts/bench_table.py "$out"
