#!/usr/bin/env bash
# Build and run the whole test suite.
#   scripts/test.sh              default build (OpenBLAS), warnings as errors
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DIRLLREC_WERROR=ON \
        -DIRLLREC_SANITIZE="address;undefined" -DIRLLREC_BUILD_BENCH=OFF >/dev/null
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build-test
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIRLLREC_WERROR=ON >/dev/null
fi
cmake --build "$dir" -j"$jobs"
cd "$dir"
# CK_FORK=no under the sanitizers so leaks are reported by the test process itself.
if [ "${1:-}" = "--sanitize" ]; then export CK_FORK=no; fi
ctest --output-on-failure -V -j1
