#!/usr/bin/env bash
# Build the library and its examples, then train LightGCN on a SYNTHETIC
# dataset with planted intents that the library generates (no external data).
#   scripts/demo.sh [--data DIR] [extra lightgcn_train flags]
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DIRLLREC_BUILD_TESTS=OFF >/dev/null
cmake --build build-demo -j"$jobs" >/dev/null
# The evaluator already runs one sgemm per worker thread; OpenBLAS's own pool
# on top of that oversubscribes two cores. A host's choice, made here.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
out=out/demo
mkdir -p "$out"
echo "== LightGCN on synthetic data (output in $out/lightgcn)" >&2
build-demo/examples/lightgcn/lightgcn_train --out "$out/lightgcn" --threads 2 "$@"
