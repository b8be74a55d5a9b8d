#!/usr/bin/env bash
# ctest lightgcn_train_log: the trainer's library log callback and its
# per-epoch output.
#   train_log.sh path/to/lightgcn_train WORKDIR
# 1. A synthetic run: exactly one "epoch N" line per epoch on stderr, one
#    "train" line per epoch in log.jsonl, no library warning.
# 2. The same data with a stats.json lacking n_users/n_items: the library's
#    warning (irllrec_x_dataset_load, logged through the ctx callback) reaches
#    stderr with the trainer's prefix; --lib-log 0 silences it.
set -eu
bin=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--epochs 4 --eval-step 2 --dim 8 --layers 1 --batch 2048)

"$bin" --out "$work/a" "${common[@]}" > "$work/a.out" 2> "$work/a.err" || fail "run a: $(cat "$work/a.err")"
n=$(grep -c '^epoch ' "$work/a.err" || true)
[ "$n" -eq 4 ] || fail "expected 4 epoch lines on stderr, got $n"
n=$(grep -c '"split": "train"' "$work/a/log.jsonl" || true)
[ "$n" -eq 4 ] || fail "expected 4 train lines in log.jsonl, got $n"
n=$(grep -c '"split": "val"' "$work/a/log.jsonl" || true)
[ "$n" -eq 2 ] || fail "expected 2 val lines in log.jsonl, got $n"
grep -q 'libirllrec' "$work/a.err" && fail "unexpected library message: $(grep libirllrec "$work/a.err")"

data="$work/a/synthetic-data"
echo '{}' > "$data/stats.json"
"$bin" --data "$data" --out "$work/b" "${common[@]}" --quiet > /dev/null 2> "$work/b.err" ||
  fail "run b: $(cat "$work/b.err")"
grep -q '^lightgcn_train: libirllrec warning: irllrec_x_dataset_load: .*stats.json lacks "n_users" or "n_items"' \
  "$work/b.err" || fail "library warning not on stderr: $(cat "$work/b.err")"
grep -q '^epoch ' "$work/b.err" && fail "--quiet printed epoch lines"
"$bin" --data "$data" --out "$work/c" "${common[@]}" --quiet --lib-log 0 > /dev/null 2> "$work/c.err" ||
  fail "run c: $(cat "$work/c.err")"
grep -q 'libirllrec' "$work/c.err" && fail "--lib-log 0 still logged: $(cat "$work/c.err")"
"$bin" --lib-log 5 > /dev/null 2>&1 && fail "--lib-log 5 accepted"
echo "lightgcn_train_log: OK"
