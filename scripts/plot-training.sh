#!/usr/bin/env bash
# Plot the training curves of a lightgcn_train run from its JSON log.
#   scripts/plot-training.sh OUT/log.jsonl curves.png [title]
# Top panel: validation Recall@20 and NDCG@20 against epoch (the kept epoch,
# from the final "test" line, dashed). Bottom panel: the epoch-mean training
# loss (total, and BPR alone when IRLLRec adds terms) against epoch, from the
# "train" lines (one per epoch; logs written before those existed fall back to
# the loss stored on each "val" line).
# Needs gnuplot (Debian: apt-get install gnuplot-nox). Without it: exit 77.
# Works on a log that is still being written (every finished epoch is flushed).
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 LOG.jsonl OUT.png [title]" >&2
  exit 2
fi
log=$1 out=$2 title=${3:-$1}
if ! command -v gnuplot >/dev/null 2>&1; then
  echo "plot-training.sh: gnuplot not found; install it with: sudo apt-get install gnuplot-nox" >&2
  exit 77
fi
[ -r "$log" ] || { echo "plot-training.sh: cannot read $log" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The trainer writes one flat object per line with fixed key spelling, so a
# field is the number after '"key": '. (jq would do, but is one more package.)
awk -v dir="$tmp" '
  function num(key,   s) {
    if (index($0, "\"" key "\": ") == 0) return "";
    s = substr($0, index($0, "\"" key "\": ") + length(key) + 4);
    sub(/[,}].*/, "", s);
    return s;
  }
  /"split": "train"/ { print num("epoch"), num("loss"), num("bpr") > (dir "/train.dat"); nt++ }
  /"split": "val"/   { print num("epoch"), num("recall@20"), num("ndcg@20") > (dir "/val.dat");
                       print num("epoch"), num("loss"), num("bpr") > (dir "/valloss.dat"); nv++ }
  /"split": "test"/  { best = num("epoch") }
  /"hook": /         { hook = 1 }
  END {
    printf "%d %d %s %d\n", nt, nv, best == "" ? "-1" : best, hook > (dir "/meta");
  }' "$log"
read -r n_train n_val best hook < "$tmp/meta"
if [ "$n_val" -eq 0 ] && [ "$n_train" -eq 0 ]; then
  echo "plot-training.sh: $log has no train or val lines" >&2
  exit 1
fi
loss_file="$tmp/train.dat"
[ "$n_train" -gt 0 ] || loss_file="$tmp/valloss.dat"
[ "$n_val" -gt 0 ] || : > "$tmp/val.dat"

# Title text goes into a gnuplot string: drop quotes and backslashes.
title=$(printf '%s' "$title" | tr -d '"\\')
term=png
kept=""
[ "$best" -lt 0 ] || kept=", NaN with lines dashtype 2 lc rgb \"gray40\" title \"kept epoch $best\""
gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term=pngcairo

gnuplot <<EOF
set terminal $term noenhanced size 900,760 font ",10"
set output "$out"
set multiplot layout 2,1 title "$title"
set grid
set key bottom right
set xlabel "epoch"
if ($best >= 0) { set arrow 1 from $best, graph 0 to $best, graph 1 nohead dashtype 2 lc rgb "gray40" }
set ylabel "validation metric"
if ($n_val > 0) {
  plot "$tmp/val.dat" using 1:2 with linespoints pt 7 ps 0.6 lw 2 title "Recall@20", \
       "" using 1:3 with linespoints pt 5 ps 0.6 lw 2 title "NDCG@20"$kept
} else {
  set label 1 "no validation lines" at graph 0.5, graph 0.5 center
  plot NaN notitle
  unset label 1
}
set key top right
set ylabel "training loss (epoch mean)"
if ($hook) {
  plot "$loss_file" using 1:2 with lines lw 2 title "total (BPR + reg + IRLLRec)", \
       "" using 1:3 with lines lw 1 dashtype 3 title "BPR"
} else {
  plot "$loss_file" using 1:2 with lines lw 2 title "BPR + reg"
}
unset multiplot
EOF
echo "plot-training.sh: wrote $out ($n_train train epochs, $n_val validations)" >&2
