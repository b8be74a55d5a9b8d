#!/usr/bin/env bash
# Build and run the whole test suite.
#   scripts/test.sh              default build (OpenBLAS), warnings as errors
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   scripts/test.sh --noblas     the plain C GEMM build (-DIRLLREC_BLAS=OFF), also without
#                                oneDNN (-DIRLLREC_DNNL=OFF: bf16 hooks fall back to fp32)
#   scripts/test.sh --tsan       ThreadSanitizer (plain C GEMM) over the threaded library suites
#                                (the LightGCN example takes ~5 min under TSan: run it by hand)
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
mode=${1:-}
filter=()
case "$mode" in
  --sanitize)
    dir=build-asan
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DIRLLREC_WERROR=ON \
          -DIRLLREC_SANITIZE="address;undefined" -DIRLLREC_BUILD_BENCH=OFF >/dev/null
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # Leaks are reported by the test process itself, not a forked child.
    export CK_FORK=no ;;
  --noblas)
    dir=build-noblas
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIRLLREC_WERROR=ON -DIRLLREC_BLAS=OFF \
          -DIRLLREC_DNNL=OFF -DIRLLREC_BUILD_BENCH=OFF >/dev/null ;;
  --tsan)
    dir=build-tsan
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIRLLREC_WERROR=ON -DIRLLREC_BLAS=OFF \
          -DIRLLREC_SANITIZE=thread -DIRLLREC_BUILD_BENCH=OFF >/dev/null
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
    export CK_FORK=no
    filter=(-R '^(threads|eval|rank|rank_refuse|rank_fused|intent|align|align_tran|hook|hook_run|checkpoint)$') ;;
  "")
    dir=build-test
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIRLLREC_WERROR=ON >/dev/null ;;
  *) echo "usage: scripts/test.sh [--sanitize|--noblas|--tsan]" >&2; exit 2 ;;
esac
cmake --build "$dir" -j"$jobs"
cd "$dir"
ctest --output-on-failure -V -j1 "${filter[@]}"
