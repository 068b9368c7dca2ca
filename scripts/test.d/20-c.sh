#!/usr/bin/env bash
# The C ABI: the generated header is up to date, the C tests and the C example pass under
# ctest (plain, then under AddressSanitizer + UndefinedBehaviorSanitizer, then under valgrind
# memcheck with no errors and no definite or indirect leaks), the C front end of the scheduler
# benchmark prints well-formed lines, and an installed tree serves a consumer through
# find_package and another through pkg-config, also after being moved.
set -euo pipefail
cd "${PROCESSES_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cmake >/dev/null || need+=(cmake)
command -v ninja >/dev/null || need+=(ninja-build)
command -v cc >/dev/null || need+=(gcc g++)
command -v readelf >/dev/null || need+=(binutils)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The committed header is what build.rs generates from src/ffi.
cargo build --lib --quiet
git diff --exit-code -- include/ || {
  echo "include/processes.h is stale: commit the header that cargo build generated" >&2
  exit 1
}
soname="$(readelf -d target/debug/libprocesses.so | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[[ "$soname" == "libprocesses.so.0" ]] || { echo "SONAME is '$soname'" >&2; exit 1; }

run_ctest() { # build-dir, extra cmake arguments...
  local dir="$1"
  shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
  cmake --build "$dir"
  ctest --test-dir "$dir" --output-on-failure --timeout 600
}

echo "--- C tests"
run_ctest build/c-test -DPROCESSES_SANITIZE= -DPROCESSES_VALGRIND=
echo "--- C tests under AddressSanitizer and UndefinedBehaviorSanitizer"
run_ctest build/c-asan -DPROCESSES_SANITIZE=address,undefined -DPROCESSES_VALGRIND=
echo "--- C tests under valgrind memcheck"
run_ctest build/c-valgrind -DPROCESSES_SANITIZE= -DPROCESSES_VALGRIND="$(command -v valgrind)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "--- the C front end of the scheduler benchmark prints a well-formed line per cell"
build/c-test/benches/c/scheduler_c --size 300 --runs 1 >"$work/scheduler_c.jsonl"
python3 scripts/bench_check.py "$work/scheduler_c.jsonl" c

echo "--- install, then consumers via find_package and pkg-config"
cmake --install build/c-test --prefix "$work/stage" >/dev/null
# Consumers must work from wherever the tree ends up.
mv "$work/stage" "$work/prefix"
prefix="$work/prefix"
test -f "$prefix/include/processes.h"
test -f "$prefix/lib/libprocesses.a"
test -L "$prefix/lib/libprocesses.so"
test -f "$prefix/lib/cmake/Processes/ProcessesConfigVersion.cmake"
cmake -S tests/consumers/find-package -B "$work/find-package" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/find-package" >/dev/null
"$work/find-package/consumer"
"$work/find-package/consumer_static"
needed="$(readelf -d "$work/find-package/consumer" | grep NEEDED | grep processes)"
[[ "$needed" == *"[libprocesses.so.0]"* ]] || { echo "consumer needs: $needed" >&2; exit 1; }
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" tests/consumers/pkg-config/build.sh "$work/pkg-config"
