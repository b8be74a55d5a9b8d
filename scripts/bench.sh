#!/usr/bin/env bash
# Run every acceptance benchmark and print its figures (medians, BLAS in use,
# load average). Benchmarks are programs under bench/, never unit tests.
#   scripts/bench.sh [BUILD_DIR]      (default build-bench, Release)
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
dir=${1:-build-bench}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIRLLREC_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" >/dev/null
say() { printf '\n== %s (load: %s)\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
say "evaluation: 11,000 x 9,332, d 32, 2 threads, median of 5"
OPENBLAS_NUM_THREADS=1 "$dir/bench/bench_eval" --threads 2
say "recommend top-20 beside the evaluation, 11,000 x 9,332, d 32, 2 threads, median of 5"
OPENBLAS_NUM_THREADS=1 "$dir/bench/bench_recommend" --threads 2
say "LightGCN epoch on amazon-book, 2 threads"
OPENBLAS_NUM_THREADS=1 "$dir/bench/bench_lightgcn" 2 9
say "alignment losses at amazon-book shapes, 2 threads, median of 5"
"$dir/bench/bench_align" 2 5
say "one LightGCN+IRLLRec step, 1536-d text (TIMING-ONLY stand-ins)"
OPENBLAS_NUM_THREADS=2 "$dir/bench/bench_step" --text fp32 --intent-dim 1536 --profile-dim 1536 --reps 5 --threads 2
say "the same step with bf16 text towers (oneDNN: OpenBLAS at one thread, OpenMP passive; docs/threading.md)"
OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive "$dir/bench/bench_step" --text bf16 --intent-dim 1536 --profile-dim 1536 --reps 5 --threads 2
say "one LightGCN+IRLLRec step, 3072-d intents (TIMING-ONLY stand-ins)"
OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive "$dir/bench/bench_step" --text bf16 --intent-dim 3072 --profile-dim 1536 --reps 5 --threads 2
