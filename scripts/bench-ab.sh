#!/usr/bin/env bash
# A/B of two builds on the acceptance benchmarks, alternating A and B in one
# run so both see the same machine: the LightGCN epoch (amazon-book) and the
# paper-scale LightGCN+IRLLRec step (1536-d), 5 rounds; prints each run's own
# median and the ratio of the medians over the rounds (B / A).
#   scripts/bench-ab.sh A_BUILD_DIR B_BUILD_DIR     (each built with bench/)
set -eu
a=$1 b=$2 rounds=${ROUNDS:-5}
med() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
lg_a=() lg_b=() st_a=() st_b=()
for r in $(seq "$rounds"); do
  for side in a b; do
    dir=$a; [ $side = b ] && dir=$b
    e=$(OPENBLAS_NUM_THREADS=1 "$dir/bench/bench_lightgcn" 2 9 | awk '/median epoch/ {print $3}')
    echo "lightgcn epoch  $side round $r: $e s"
    if [ $side = a ]; then lg_a+=("$e"); else lg_b+=("$e"); fi
  done
done
for r in $(seq "$rounds"); do
  for side in a b; do
    dir=$a; [ $side = b ] && dir=$b
    s=$(OPENBLAS_NUM_THREADS=2 "$dir/bench/bench_step" --intent-dim 1536 --profile-dim 1536 \
          --reps 5 --threads 2 | awk '/^step: median/ {print $3}')
    echo "irllrec step    $side round $r: $s s"
    if [ $side = a ]; then st_a+=("$s"); else st_b+=("$s"); fi
  done
done
ma=$(printf '%s\n' "${lg_a[@]}" | med) mb=$(printf '%s\n' "${lg_b[@]}" | med)
echo "lightgcn epoch: median A $ma s, B $mb s, B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b / a}')"
ma=$(printf '%s\n' "${st_a[@]}" | med) mb=$(printf '%s\n' "${st_b[@]}" | med)
echo "irllrec step:   median A $ma s, B $mb s, B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN {printf "%.3f", b / a}')"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
