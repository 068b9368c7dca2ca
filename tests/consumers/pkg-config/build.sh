#!/usr/bin/env bash
# Builds the consumer program with nothing but a compiler and pkg-config, against the prefix
# in PKG_CONFIG_PATH, and runs it. Usage: build.sh OUT_DIR
set -euo pipefail
out="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
libdir="$(pkg-config --variable=libdir processes)"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Wpedantic -Werror $(pkg-config --cflags processes) \
  "$here/../main.c" -o "$out/consumer" $(pkg-config --libs processes) -Wl,-rpath,"$libdir"
"$out/consumer"
