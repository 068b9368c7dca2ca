#!/usr/bin/env bash
# The scheduler benchmark through the C ABI: builds the C front end (benches/c, Release, linked
# statically) and the Rust benchmark, then runs them in turn on every cell (shapes x empty and
# pass bodies x 1 and 2 workers) and prints the C front end's run time as a ratio to the Rust
# core's, taken round after round. Writes target/bench/scheduler_c.jsonl. Extra arguments go
# to scripts/bench_c.py, for example
#   scripts/bench_c.sh --shape chain --body pass --workers 2 --rounds 5
# It takes several minutes at the default sizes; it is not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPROCESSES_SANITIZE= \
  -DPROCESSES_VALGRIND= >/dev/null
cmake --build build/bench --target scheduler_c >/dev/null
rust="$(cargo bench --bench scheduler --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "scheduler" and m.get("executable"):
        print(m["executable"])')"

mkdir -p target/bench
out=target/bench/scheduler_c.jsonl
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
python3 scripts/bench_c.py build/bench/benches/c/scheduler_c "$rust" "$@" >"$out.partial"
mv "$out.partial" "$out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
