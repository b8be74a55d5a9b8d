#!/usr/bin/env bash
# Before/after of the ranking pass on the same machine state: bench_eval
# and bench_recommend of two builds (A: before, e.g. a build of main; B:
# this tree), alternated in one run, ROUNDS rounds (default 5) at DIMS
# (default "32 64"), 2 threads. A runs with OPENBLAS_NUM_THREADS=1 (its
# documented setting: two workers each calling sgemm); B's fused scorer
# calls no BLAS, so OPENBLAS_NUM_THREADS=2 there only gives its sgemm roof
# both cores; B's sgemm scorer (--scorer 1) runs like A. Prints every
# run's median line and, per arm, the median over the rounds.
#   scripts/bench-rank-ab.sh A_BUILD_DIR B_BUILD_DIR
set -eu
a=$1 b=$2 rounds=${ROUNDS:-5} dims=${DIMS:-"32 64"}
med() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
uptime
for d in $dims; do
  ea=() eb=() es=() ra=() rb=() qa=() qb=()
  for r in $(seq "$rounds"); do
    x=$(OPENBLAS_NUM_THREADS=1 "$a/bench/bench_eval" --threads 2 --dim "$d" | awk '/eval median/ {print $3}')
    y=$(OPENBLAS_NUM_THREADS=2 "$b/bench/bench_eval" --threads 2 --dim "$d" | tee /tmp/bench-rank-ab.last |
        awk '/eval median/ {print $3}')
    z=$(OPENBLAS_NUM_THREADS=1 "$b/bench/bench_eval" --threads 2 --dim "$d" --scorer 1 |
        awk '/eval median/ {print $3}')
    echo "d $d round $r: eval A $x s, B fused $y s, B sgemm scorer $z s  ($(cut -d' ' -f1-3 /proc/loadavg))"
    grep -E '^roof|^evaluation' /tmp/bench-rank-ab.last | sed 's/^/    B: /'
    ea+=("$x") eb+=("$y") es+=("$z")
  done
  for r in $(seq "$rounds"); do
    x=$(OPENBLAS_NUM_THREADS=1 "$a/bench/bench_recommend" --threads 2 --dim "$d" | awk '/^summary/ {print $7, $16}')
    y=$(OPENBLAS_NUM_THREADS=2 "$b/bench/bench_recommend" --threads 2 --dim "$d" | tee /tmp/bench-rank-ab.last |
        awk '/^summary/ {print $7, $16}')
    echo "d $d round $r: recommend-all/eval and single-user p99 ms: A $x, B $y  ($(cut -d' ' -f1-3 /proc/loadavg))"
    grep -E '^evaluator_run|^recommend top|^single-user|same calls|^roof|^recommend all' /tmp/bench-rank-ab.last | sed 's/^/    B: /'
    ra+=("${x%% *}") rb+=("${y%% *}") qa+=("${x##* }") qb+=("${y##* }")
  done
  echo "d $d medians over $rounds rounds: eval A $(printf '%s\n' "${ea[@]}" | med) s, B fused $(printf '%s\n' "${eb[@]}" | med) s, B sgemm scorer $(printf '%s\n' "${es[@]}" | med) s"
  echo "d $d medians: recommend-all/eval A $(printf '%s\n' "${ra[@]}" | med), B $(printf '%s\n' "${rb[@]}" | med); single-user p99 A $(printf '%s\n' "${qa[@]}" | med) ms, B $(printf '%s\n' "${qb[@]}" | med) ms"
done
uptime
