#!/usr/bin/env bash
# Runs every test of every language. Installs what the tests need first (system packages,
# Python and npm packages) and starts the local servers they talk to, so that it works on a
# fresh machine. Each step lives in scripts/test.d/, run in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROCESSES_ROOT="$PWD"

for step in scripts/test.d/*.sh; do
  echo "==> ${step#scripts/test.d/}"
  bash "$step"
done
echo "==> all tests passed"
