#!/usr/bin/env bash
# Proof that the C ABI serves the SDKs to come: a Go program (cgo) and a Node script (koffi)
# each drive a host-driven run of a 10-task graph with a failing task and read the report.
set -euo pipefail
cd "${PROCESSES_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"

cargo build --lib --quiet
# The Go program finds the library by its SONAME in target/debug (the C step makes the link;
# make it here too so that this step stands alone).
ln -sf libprocesses.so target/debug/libprocesses.so.0

echo "--- Go (cgo)"
(
  cd tests/ffi-smoke/go
  test -z "$(gofmt -l .)" || { gofmt -l . >&2; exit 1; }
  go vet ./...
  # cgocheck2 checks every pointer the program hands to C at run time.
  GOEXPERIMENT=cgocheck2 timeout 300 go run .
)

echo "--- Node (koffi)"
(
  cd tests/ffi-smoke/node
  # npm ci only when the installed tree is missing or older than the lock file.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  timeout 120 node smoke.js
)
