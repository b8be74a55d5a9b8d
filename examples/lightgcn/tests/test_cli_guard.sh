#!/usr/bin/env bash
# Careless and hostile use of lightgcn_train and irllrec-synth (issue 17,
# items 3, 5, 6, 7, 13, 16, 18): every case must be refused (or warned
# about) with a message naming the flag, file or line, and a failed run must
# leave no output folder behind.
#   test_cli_guard.sh LIGHTGCN_TRAIN IRLLREC_SYNTH WORKDIR
set -u
train=$(realpath "$1") synth=$(realpath "$2") work=$3
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
cd "$work" # a run without --data or --out writes into the current folder
fail=0
ok() { echo "ok:   $1"; }
bad() { echo "FAIL: $1"; fail=1; }
# expect NAME PATTERN CMD...: CMD fails (rc != 0) and its stderr matches PATTERN
expect() {
  local name=$1 pat=$2; shift 2
  if "$@" >/dev/null 2>"$work/err"; then bad "$name: accepted"; return; fi
  if grep -Eq -- "$pat" "$work/err"; then ok "$name: $(tail -1 "$work/err")"; else
    bad "$name: message does not match /$pat/: $(cat "$work/err")"; fi
}
# A regression must not take the machine's memory: cap it unless sanitized.
if ! ldd "$train" 2>/dev/null | grep -q 'libasan\|libtsan'; then ulimit -v 4000000; fi

"$synth" --out "$work/data" --users 60 --items 40 --intents 4 --profile-dim 8 \
  --intent-dim 8 --mean-degree 6 --seed 7 --quiet || { echo "synth failed"; exit 1; }
common=(--data "$work/data" --dim 8 --layers 2 --batch 32 --eval-step 2 --patience 100 --quiet)

# 13: flags and their limits
expect "13 unknown last flag" "unknown option '--quite'" "$train" --quiet --quite
expect "13 --threads range" "--threads.*1\.\.256" "$train" --threads 100000
expect "13 --layers range" "--layers.*0\.\.64" "$train" --layers 100
expect "13 --dim range" "--dim.*1\.\.256" "$train" --dim 1000
# issue 12: the backbone and its settings
expect "12 bad --model" "--model: 'gcn' \(want lightgcn, sgl, simgcl or mf\)" "$train" --model gcn
expect "12 bad --dataset-config" "--dataset-config: 'movielens'" "$train" --dataset-config movielens
expect "12 --eps for sgl" "--eps is not a setting of --model sgl \(only of simgcl\)" \
  "$train" --model sgl --eps 0.5
expect "12 --view-keep for simgcl" "--view-keep is not a setting of --model simgcl" \
  "$train" --model simgcl --view-keep 0.5
expect "12 --keep for sgl" "--keep is not a setting of --model sgl" "$train" --model sgl --keep 0.5
expect "12 --cl-weight for lightgcn" "--cl-weight is not a setting of --model lightgcn" \
  "$train" --cl-weight 0.1
expect "12 --layers for mf" "--model mf has no graph layers \(--layers 3 given\)" \
  "$train" --model mf --layers 3
expect "12 --view-keep range" "--view-keep: '0' \(want a number in \(0, 1\]\)" \
  "$train" --model sgl --view-keep 0
expect "12 --cl-tau range" "--cl-tau: '0' \(want a number in \[1e-6, 1e3\]\)" \
  "$train" --model simgcl --cl-tau 0
expect "12 --eps range" "--eps: '-1'" "$train" --model simgcl --eps -1
expect "13 negative --seed" "--seed: '-1'" "$train" --seed -1
expect "13 --seed not a number" "--seed" "$train" --seed 12x
# 13: a failure after parsing leaves no output folder (trainer and synth)
expect "13 missing data" "train.txt" "$train" --data "$work/nodata" --out "$work/fail1"
if [ -e "$work/fail1" ]; then bad "13 failed run left $work/fail1"; else ok "13 failed run left nothing"; fi
expect "13 synth failure" "n_intents" "$synth" --out "$work/sfail" --items 10 --intents 20 --quiet
if [ -e "$work/sfail" ]; then bad "13 failed synth left $work/sfail"; else ok "13 failed synth left nothing"; fi
mkdir -p "$work/keep" && echo mine > "$work/keep/notes.txt"
expect "13 failure into an existing folder" "train.txt" "$train" --data "$work/nodata" --out "$work/keep"
if [ "$(ls "$work/keep")" = notes.txt ]; then ok "13 existing folder: only its own file left"; else
  bad "13 existing folder now holds: $(ls "$work/keep" | tr '\n' ' ')"; fi

# 18: --min-degree beyond the item count
expect "18 synth --min-degree > --items" "--min-degree 50 exceeds --items 40" \
  "$synth" --out "$work/sdeg" --users 10 --items 40 --intents 4 --min-degree 50 --quiet
if [ -e "$work/sdeg" ]; then bad "18 left $work/sdeg"; fi

# 3: implausible shapes are refused before allocating, naming file, line, id
mkdir -p "$work/bigid" "$work/bigstats"
printf '0 1 2\n1 2000000000\n' > "$work/bigid/train.txt"
expect "3 one huge item id" "bigid/train.txt:2: item id 2000000000 is implausible" \
  "$train" --data "$work/bigid" --out "$work/o3a" --epochs 1
printf '0 1 2\n1 3\n' > "$work/bigstats/train.txt"
printf '{"n_users": 2000000000, "n_items": 2000000000}\n' > "$work/bigstats/stats.json"
expect "3 stats.json 2e9 x 2e9" 'stats.json: "n_users" = 2000000000 is implausible' \
  "$train" --data "$work/bigstats" --out "$work/o3b" --epochs 1

# 5: an earlier run's checkpoint is not replaced without --resume/--overwrite
"$train" "${common[@]}" --epochs 2 --save-every 2 --out "$work/r5" >/dev/null 2>&1 || bad "5 first run"
cp "$work/r5/checkpoint.irlm" "$work/r5.irlm"; cp "$work/r5/log.jsonl" "$work/r5.log"
expect "5 rerun over a checkpoint" "--overwrite" "$train" "${common[@]}" --epochs 2 --out "$work/r5"
if cmp -s "$work/r5/checkpoint.irlm" "$work/r5.irlm" && cmp -s "$work/r5/log.jsonl" "$work/r5.log"; then
  ok "5 checkpoint and log untouched"; else bad "5 checkpoint or log changed"; fi
if "$train" "${common[@]}" --epochs 2 --out "$work/r5" --overwrite >/dev/null 2>&1; then
  ok "5 --overwrite accepted"; else bad "5 --overwrite refused"; fi

# 6: --resume with changed hook flags is refused, naming each flag and both values
irl=(--irllrec --intents 4 --keep 0.8 --w-tran 0.5)
"$train" "${common[@]}" "${irl[@]}" --epochs 2 --save-every 2 --out "$work/r6" >/dev/null 2>&1 || bad "6 first run"
cp "$work/r6/checkpoint.irlm" "$work/r6.irlm"
expect "6 changed --w-kd" "--w-kd 0.5 differs from the checkpoint's 0.01" \
  "$train" "${common[@]}" "${irl[@]}" --w-kd 0.5 --epochs 4 --out "$work/r6" --resume "$work/r6.irlm"
grep -q -- "--w-tran" "$work/err" && bad "6 names an unchanged flag"
expect "6 changed --w-tran and --hook-lr" "--hook-lr 0.5 differs" \
  "$train" "${common[@]}" "${irl[@]/0.5/0.25}" --hook-lr 0.5 --epochs 4 --out "$work/r6" --resume "$work/r6.irlm"
grep -q -- "--w-tran 0.25 differs from the checkpoint's 0.5" "$work/err" || bad "6 --w-tran not named"

# 7: --resume on other data of the same shape is refused
cp -r "$work/data" "$work/data2"
awk 'NR == 1 { for (c = 0; c < 40; c++) { seen = 0; for (f = 2; f <= NF; f++) if ($f == c) seen = 1;
       if (!seen) { $NF = c; break } } } { print }' "$work/data/train.txt" > "$work/data2/train.txt"
cmp -s "$work/data/train.txt" "$work/data2/train.txt" && bad "7 data2 not changed"
common2=("${common[@]/$work\/data/$work/data2}")
expect "7 other TRAIN data" "TRAIN data .*differs" \
  "$train" "${common2[@]}" --epochs 4 --out "$work/r5" --resume "$work/r5.irlm"
cp -r "$work/data" "$work/data3"
f="$work/data3/usr_prf.npy"; n=$(stat -c %s "$f")
b=$(od -An -tu1 -j $((n - 4)) -N1 "$f" | tr -d ' ')
printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$f" bs=1 seek=$((n - 4)) conv=notrunc status=none
common3=("${common[@]/$work\/data/$work/data3}")
expect "7 other text embeddings" "text embeddings .*differ" \
  "$train" "${common3[@]}" "${irl[@]}" --epochs 4 --out "$work/r6" --resume "$work/r6.irlm"

# 16: all-zero text and --irllrec with no text are reported
cp -r "$work/data" "$work/data0"
f="$work/data0/itm_prf.npy"; n=$(stat -c %s "$f")
h=$(( $(od -An -tu2 -j 8 -N2 "$f" | tr -d ' ') + 10 ))
dd if=/dev/zero of="$f" bs=1 seek=$h count=$((n - h)) conv=notrunc status=none
"$train" "${common[@]/$work\/data/$work/data0}" --irllrec --intents 4 --epochs 1 \
  --out "$work/o16a" >/dev/null 2>"$work/err"
if grep -q -- "--itm-prf .*itm_prf.npy: all 40 rows are zero" "$work/err"; then ok "16 all-zero text warned"; else
  bad "16 all-zero text not reported: $(cat "$work/err")"; fi
mkdir -p "$work/notext" && cp "$work/data"/*.txt "$work/data"/stats.json "$work/notext/"
"$train" "${common[@]/$work\/data/$work/notext}" --irllrec --intents 4 --epochs 1 \
  --out "$work/o16b" >/dev/null 2>"$work/err"
if grep -q "without any text embeddings" "$work/err"; then ok "16 no text warned"; else
  bad "16 --irllrec without text not reported: $(cat "$work/err")"; fi
exit $fail
