#!/usr/bin/env bash
# fp32 vs bf16 text towers on MovieLens-100K (docs/results-ml100k-bf16.md):
# the chosen LightGCN + IRLLRec configuration of docs/results-ml100k.md, one
# thread each (OpenBLAS and oneDNN's OpenMP), niced, two runs at a time.
#   scripts/ml100k/run_bf16.sh [--build DIR] [--data DIR] [--out DIR] [SEED:PRECISION ...]
# Default runs: 2023:fp32 2023:bf16. Each run writes DIR/<precision>-s<seed>/
# (log.jsonl, result.json, stderr.txt with the text-tower path taken and
# /usr/bin/time -v's peak RSS). ALIGN=fp32|bf16-logits|bf16 (env) also sets
# --align-precision, the hook's alignment products; its runs go to
# DIR/<precision>-align-<ALIGN>-s<seed>/.
set -eu
cd "$(dirname "$0")/../.."
build=build data=out/ml100k out=out/ml100k-bf16
runs=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift ;;
    --data) data=$2; shift ;;
    --out) out=$2; shift ;;
    *) runs+=("$1") ;;
  esac
  shift
done
[ ${#runs[@]} -gt 0 ] || runs=(2023:fp32 2023:bf16)
trainer=$build/examples/lightgcn/lightgcn_train
cfg="--irllrec --reg 1e-5 --keep 0.8 --w-kd 3e-3 --tau-kd 0.2 --w-pair 3e-3 --tau-pair 0.2
     --w-tran 5e-3 --w-itm 1e-3 --intents 64 --hook-lr 1e-3 --dim 32 --layers 3 --lr 5e-3
     --batch 4096 --epochs 3000 --eval-step 3 --patience 10"
run() {
  local seed=${1%%:*} prec=${1##*:} dir=$out/${1##*:}${ALIGN:+-align-$ALIGN}-s${1%%:*}
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  /usr/bin/time -v env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 nice "$trainer" --data "$data" \
    $cfg --seed "$seed" --threads 1 --text-precision "$prec" ${ALIGN:+--align-precision $ALIGN} \
    --quiet --out "$dir" \
    >"$dir/stdout.txt" 2>"$dir/stderr.txt"
  echo "$1 done"
}
i=0
for r in "${runs[@]}"; do
  run "$r" &
  i=$((i + 1))
  [ $((i % 2)) -eq 0 ] && wait
done
wait
