#!/usr/bin/env bash
# ctest plot_training: scripts/plot-training.sh turns lightgcn_train's JSON log
# into a PNG: a fresh log (train + val + test lines, with IRLLRec terms), and a
# log with val lines only and no final test (older format, or a run still
# going). Skipped (77) without gnuplot.
#   plot_training.sh SCRIPT WORKDIR
set -eu
script=$1 work=$2
command -v gnuplot >/dev/null 2>&1 || { echo "no gnuplot: skipped"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

{
  for e in 0 1 2 3 4 5 6; do
    l=$(awk -v e=$e 'BEGIN { printf "%.6f", 1.3 - 0.1 * e }')
    b=$(awk -v e=$e 'BEGIN { printf "%.6f", 0.69 - 0.05 * e }')
    echo "{\"epoch\": $e, \"split\": \"train\", \"loss\": $l, \"bpr\": $b, \"reg\": 1e-07, \"hook\": {\"total\": 0.6, \"kd\": 5.1, \"pair\": 5.2, \"tran\": 0.1, \"itm\": 6.9, \"reg\": 1e-05}, \"epoch_seconds\": 0.3}"
    if [ $((e % 3)) -eq 0 ]; then
      echo "{\"epoch\": $e, \"split\": \"val\", \"recall@5\": 0.01, \"recall@10\": 0.02, \"recall@20\": 0.0$((e + 2)), \"ndcg@5\": 0.01, \"ndcg@10\": 0.01, \"ndcg@20\": 0.0$((e + 1)), \"n_users\": 10, \"loss\": $l, \"bpr\": $b, \"reg\": 1e-07, \"epoch_seconds\": 0.3, \"eval_seconds\": 0.1, \"best\": true}"
    fi
  done
  echo '{"epoch": 6, "split": "test", "recall@5": 0.01, "recall@10": 0.02, "recall@20": 0.05, "ndcg@5": 0.01, "ndcg@10": 0.02, "ndcg@20": 0.03, "n_users": 10}'
} > "$work/full.jsonl"
grep '"split": "val"' "$work/full.jsonl" | sed 's/, "hook": {[^}]*}//' > "$work/valonly.jsonl"

bash "$script" "$work/full.jsonl" "$work/full.png" "a \"quoted\" title" 2> "$work/full.err" ||
  fail "full log: $(cat "$work/full.err")"
is_png "$work/full.png" || fail "full.png is not a PNG"
grep -q '7 train epochs, 3 validations' "$work/full.err" || fail "counts: $(cat "$work/full.err")"
bash "$script" "$work/valonly.jsonl" "$work/valonly.png" 2> "$work/valonly.err" ||
  fail "val-only log: $(cat "$work/valonly.err")"
is_png "$work/valonly.png" || fail "valonly.png is not a PNG"
grep -q '0 train epochs, 3 validations' "$work/valonly.err" || fail "counts: $(cat "$work/valonly.err")"
: > "$work/empty.jsonl"
bash "$script" "$work/empty.jsonl" "$work/empty.png" 2>/dev/null && fail "empty log accepted"
echo "plot_training: OK"
