#!/usr/bin/env bash
# The irllrec tool end to end (docs/cli.md): train demo-sized synthetic
# models, then inspect, recommend, similar and explain over the trainer's
# OUT/model.irlm, in text and --json, checked against the trainer's own
# user_emb.npy / item_emb.npy and the dataset's train.txt (check_cli.py);
# then hostile input: every refusal must exit non-zero, print nothing on
# stdout and name the problem on stderr.
#   cli_test.sh IRLLREC LIGHTGCN_TRAIN IRLLREC_SYNTH IRLM_EDIT WORKDIR
set -u
cli=$(realpath "$1") train=$(realpath "$2") synth=$(realpath "$3") edit=$(realpath "$4")
work=$5
here=$(cd "$(dirname "$0")" && pwd)
check() { python3 "$here/check_cli.py" "$@"; }
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
fail=0
ok() { echo "ok:   $1"; }
bad() { echo "FAIL: $1"; fail=1; }
# expect_fail NAME PATTERN CMD...: rc != 0, stdout empty, stderr matches PATTERN
expect_fail() {
  local name=$1 pat=$2 rc; shift 2
  "$@" >"$work/out" 2>"$work/err"; rc=$?
  if [ $rc -eq 0 ]; then bad "$name: accepted (rc 0)"; return; fi
  if [ -s "$work/out" ]; then
    bad "$name: rc $rc but stdout is not empty: $(head -2 "$work/out")"; return
  fi
  if [ "$(wc -l <"$work/err")" -ne 1 ]; then
    bad "$name: stderr is not one line: $(cat "$work/err")"; return
  fi
  if grep -Eq -- "$pat" "$work/err"; then ok "$name (rc $rc): $(cat "$work/err")"; else
    bad "$name: stderr does not match /$pat/: $(cat "$work/err")"; fi
}
# expect_ok NAME CMD...: rc 0, output in $work/out
expect_ok() {
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then ok "$name"; else
    bad "$name: rc $?: $(cat "$work/err")"; fi
}

# Demo-sized data (60 users, 40 items, 4 intents) and three serving models:
# with the hook, plain, and plain on data of another shape (90 x 70).
"$synth" --out "$work/data" --users 60 --items 40 --intents 4 --profile-dim 8 \
  --intent-dim 8 --mean-degree 6 --seed 7 --quiet || { echo "synth failed"; exit 1; }
"$synth" --out "$work/data2" --users 90 --items 70 --intents 4 --profile-dim 8 \
  --intent-dim 8 --mean-degree 6 --seed 8 --quiet || { echo "synth failed"; exit 1; }
common=(--dim 8 --layers 2 --batch 32 --eval-step 2 --patience 100 --quiet)
trained() { # trained NAME ARGS...: train quietly, show the log on failure
  local name=$1; shift
  "$train" "$@" >"$work/$name.log" 2>&1 ||
    { echo "training $name failed:"; cat "$work/$name.log"; exit 1; }
}
irl=(--data "$work/data" "${common[@]}" --irllrec --intents 4 --lr 0.01)
# 10 epochs, evaluated at 0, 2, .., 8: the best epoch is never the last one
trained irl "${irl[@]}" --out "$work/irl" --epochs 10 --save-every 10
trained plain --data "$work/data" --out "$work/plain" "${common[@]}" --epochs 9
trained other --data "$work/data2" --out "$work/other" "${common[@]}" --epochs 9
M=$work/irl/model.irlm
K=4

# --- the trainer's serving model holds the hook of the best epoch ----------------
best=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["best_epoch"])' \
  "$work/irl/result.json")
# the same run stopped after the best epoch: its checkpoint holds that epoch's hook
trained irl-best "${irl[@]}" --out "$work/irl-best" \
  --epochs $((best + 1)) --save-every $((best + 1))
if "$edit" same "$M" serve.proto.user "$work/irl-best/checkpoint.irlm" hook.proto.user; then
  ok "model.irlm has the prototypes of the best epoch $best"
else bad "model.irlm prototypes are not those of the best epoch $best"; fi
"$edit" same "$M" serve.proto.item "$work/irl/checkpoint.irlm" hook.proto.item >/dev/null
case $? in
  1) ok "model.irlm prototypes differ from the last epoch's" ;;
  0) bad "model.irlm has the prototypes of the last epoch, not of the best epoch $best" ;;
  *) bad "cannot compare model.irlm with the last checkpoint" ;;
esac

# --- inspect ---------------------------------------------------------------
expect_ok "inspect model" "$cli" inspect "$M"
for s in serve.user_emb serve.item_emb serve.seen.indptr serve.proto.user; do
  if grep -q "^  $s " "$work/out"; then ok "inspect lists $s"; else bad "inspect lacks $s"; fi
done
grep -q "^checksums verified" "$work/out" && grep -q "serving model" "$work/out" &&
  ok "inspect: checksums verified, serving model" ||
    bad "inspect: no verdict line: $(head -5 "$work/out")"
expect_ok "inspect --json" "$cli" inspect --json "$M"
check inspect 60 8 <"$work/out" || bad "inspect --json content"
size=$(stat -c %s "$M")
head -c $((size / 2)) "$M" >"$work/trunc.irlm"
expect_fail "inspect truncated" "truncated: $((size / 2)) of the $size bytes" \
  "$cli" inspect "$work/trunc.irlm"
cp "$M" "$work/flip.irlm"
printf '\xff' | dd of="$work/flip.irlm" bs=1 seek=$((size - 100)) conv=notrunc status=none
expect_fail "inspect bit-flipped" "checksum mismatch" "$cli" inspect "$work/flip.irlm"
expect_fail "inspect a text file" "not an .irlm" "$cli" inspect "$work/data/train.txt"
expect_fail "inspect a missing file" "nothere.irlm: cannot read it.*No such file" \
  "$cli" inspect "$work/nothere.irlm"

# --- recommend: results equal a ranking from the .npy files ------------------
expect_ok "recommend --json" "$cli" recommend "$M" --user 0,5,59 -k 5 --json
check recommend "$work/irl" "$work/data" 5 0 - - <"$work/out" || bad "recommend --json content"
[ "$(wc -l <"$work/out")" -eq 3 ] && ok "recommend --json: one line per user" ||
  bad "recommend --json lines"
expect_ok "recommend --json all users" "$cli" recommend "$M" --user "$(seq -s, 0 59)" --json
check recommend "$work/irl" "$work/data" 20 0 - - <"$work/out" || bad "recommend all users"
expect_ok "recommend --include-seen" "$cli" recommend "$M" --user 1,2 -k 10 --include-seen --json
check recommend "$work/irl" "$work/data" 10 1 - - <"$work/out" || bad "recommend --include-seen"
printf '# items 0..19\n0 1 2 3 4,5,6,7\n8 9 10 11 12 13 14 15 16 17 18 19\n' >"$work/allow.txt"
printf '1\n3\n5\n' >"$work/deny.txt"
expect_ok "recommend --allow --deny" "$cli" recommend "$M" --user 3 -k 8 --allow "$work/allow.txt" \
  --deny "$work/deny.txt" --json
check recommend "$work/irl" "$work/data" 8 0 "$work/allow.txt" "$work/deny.txt" <"$work/out" ||
  bad "recommend --allow/--deny content"
: >"$work/empty.txt"
expect_ok "recommend empty --allow" "$cli" recommend "$M" --user 3 --allow "$work/empty.txt" --json
grep -q '"items": \[\]' "$work/out" && ok "empty --allow: no items" ||
  bad "empty --allow: $(cat "$work/out")"
expect_ok "recommend text" "$cli" recommend "$M" --user 0,5 -k 3
[ "$(grep -c '^ *[0-9]' "$work/out")" -eq 6 ] && ok "recommend text: 2 x 3 rows" ||
  bad "recommend text: $(cat "$work/out")"
expect_ok "recommend the other model's user 80" \
  "$cli" recommend "$work/other/model.irlm" --user 80 -k 3

# --- similar -------------------------------------------------------------------
expect_ok "similar --item --json" "$cli" similar "$M" --item 3,17 -k 5 --json
check similar "$work/irl" item 5 <"$work/out" || bad "similar --item content"
expect_ok "similar --user --json" "$cli" similar "$M" --user 0 --json
check similar "$work/irl" user 10 <"$work/out" || bad "similar --user content"
expect_ok "similar text" "$cli" similar "$M" --item 3 -k 4
[ "$(grep -c '^ *3 ' "$work/out")" -eq 4 ] && ok "similar text: 4 rows" ||
  bad "similar text: $(cat "$work/out")"

# --- explain -------------------------------------------------------------------
expect_ok "explain --user --json" "$cli" explain "$M" --user 0,7 --json
check explain_nodes user $K $K 60 <"$work/out" || bad "explain --user content"
expect_ok "explain --item --top 2 --json" "$cli" explain "$M" --item 5 --top 2 --json
check explain_nodes item $K 2 40 <"$work/out" || bad "explain --item content"
expect_ok "explain pair --json" "$cli" explain "$M" --user 0,7 --item 3,5 --top $K --json
check explain_pairs "$work/irl" $K <"$work/out" || bad "explain pair content"
[ "$(wc -l <"$work/out")" -eq 4 ] && ok "explain pairs: 2 x 2 lines" ||
  bad "explain pairs: $(cat "$work/out")"
expect_ok "explain pair text" "$cli" explain "$M" --user 0 --item 3
grep -q "^user 0, item 3: score .* = intents .* + residual" "$work/out" && ok "explain text" ||
  bad "explain text: $(cat "$work/out")"

# --- help ------------------------------------------------------------------------
for c in "" inspect recommend similar explain; do
  expect_ok "help $c" "$cli" $c --help
  grep -q "^usage: irllrec" "$work/out" || bad "help $c: no usage line"
done

# --- hostile input -------------------------------------------------------------------
expect_fail "unknown user" "--user 60: no such user \(the model has 60 users" \
  "$cli" recommend "$M" --user 60
expect_fail "unknown user among known ones" "--user 1000: no such user" \
  "$cli" recommend "$M" --user 1,1000 --json
expect_fail "unknown item" "--item 40: no such item" "$cli" similar "$M" --item 40
expect_fail "the other model's user" "--user 80: no such user" "$cli" recommend "$M" --user 80
expect_fail "the other model's item" "--item 50: no such item" \
  "$cli" explain "$M" --user 0 --item 50
expect_fail "-k 0" "-k: 0 is out of range \(want 1\.\.100000\)" "$cli" recommend "$M" --user 0 -k 0
expect_fail "-k -3" "-k: -3 is out of range" "$cli" recommend "$M" --user 0 -k -3
expect_fail "-k abc" "-k: 'abc' is not an integer" "$cli" recommend "$M" --user 0 -k abc
expect_fail "--k=2x" "--k: '2x' is not an integer" "$cli" similar "$M" --item 0 --k=2x
expect_fail "-k missing value" "-k needs a value" "$cli" recommend "$M" --user 0 -k
expect_fail "--top 0" "--top: 0 is out of range" "$cli" explain "$M" --user 0 --top 0
expect_fail "--top over K" "--top 9 exceeds the model's 4 intents" \
  "$cli" explain "$M" --user 0 --top 9
expect_fail "bad id list" "--user '1,,2': empty id" "$cli" recommend "$M" --user 1,,2
expect_fail "negative id" "--user '-1'.*not an id" "$cli" recommend "$M" --user -1
expect_fail "unknown flag" "unknown option '--frobnicate'" \
  "$cli" recommend "$M" --user 0 --frobnicate
expect_fail "flag of another command" "option '--top' does not apply to recommend" \
  "$cli" recommend "$M" --user 0 --top 3
expect_fail "no --user" "--user ID is required" "$cli" recommend "$M"
expect_fail "similar with both sides" "exactly one of --item ID or --user ID" \
  "$cli" similar "$M" --item 1 --user 1
expect_fail "explain with neither" "give --user ID, --item ID or both" "$cli" explain "$M"
expect_fail "no model" "no MODEL file given" "$cli" recommend --user 0
expect_fail "two models" "unexpected argument" "$cli" recommend "$M" "$M" --user 0
expect_fail "-k twice" "-k given twice" "$cli" recommend "$M" --user 0 -k 2 -k 3
expect_fail "unknown command" "unknown command 'recomend'" "$cli" recomend "$M" --user 0
printf '1 2\n3 x7\n' >"$work/badallow.txt"
expect_fail "bad --allow file" "badallow.txt:2: 'x7' is not an item id" \
  "$cli" recommend "$M" --user 0 --allow "$work/badallow.txt"
printf '1 2\n40\n' >"$work/bigallow.txt"
expect_fail "--deny id out of range" \
  "bigallow.txt:2: '40' is not an item id of this model \(want 0\.\.39\)" \
  "$cli" recommend "$M" --user 0 --deny "$work/bigallow.txt"
expect_fail "--allow missing file" "--allow .*nofile: No such file" \
  "$cli" recommend "$M" --user 0 --allow "$work/nofile"
mkfifo "$work/fifo"
expect_fail "--allow FIFO" "--allow .*fifo: not a regular file" timeout 10 \
  "$cli" recommend "$M" --user 0 --allow "$work/fifo"
expect_fail "model FIFO" "fifo" timeout 10 "$cli" recommend "$work/fifo" --user 0
expect_fail "recommend truncated" "truncated" "$cli" recommend "$work/trunc.irlm" --user 0
expect_fail "similar bit-flipped" "checksum mismatch" "$cli" similar "$work/flip.irlm" --item 0
expect_fail "explain a text file" "not an .irlm" "$cli" explain "$work/data/train.txt" --user 0
expect_fail "recommend a missing file" "cannot read it.*No such file" \
  "$cli" recommend "$work/nothere.irlm" --user 0
expect_fail "recommend a folder" "directory" "$cli" recommend "$work" --user 0
expect_fail "explain without intents" "no intents" "$cli" explain "$work/plain/model.irlm" --user 0
trained ckpt --data "$work/data" --out "$work/ckpt" "${common[@]}" --epochs 2 --save-every 2
expect_fail "recommend a trainer checkpoint" "not a serving model" \
  "$cli" recommend "$work/ckpt/checkpoint.irlm" --user 0
expect_ok "inspect a trainer checkpoint" "$cli" inspect "$work/ckpt/checkpoint.irlm"
grep -q "LightGCN trainer checkpoint" "$work/out" && ok "inspect names the checkpoint" ||
  bad "inspect checkpoint kind"
# Content defects behind valid checksums (written through the model API)
"$edit" nan "$M" "$work/nan.irlm" serve.user_emb || bad "irlm_edit nan"
expect_fail "recommend NaN embedding" "non-finite.*serve.user_emb" \
  "$cli" recommend "$work/nan.irlm" --user 1
expect_fail "inspect NaN embedding" "serve.user_emb holds 1 non-finite value" \
  "$cli" inspect "$work/nan.irlm"
"$edit" droprow "$M" "$work/short.irlm" serve.item_emb || bad "irlm_edit droprow"
expect_fail "recommend inconsistent shapes" "damaged serving model.*serve.item_emb" \
  "$cli" recommend "$work/short.irlm" --user 1
"$edit" setmeta "$M" "$work/meta.irlm" serve.n_users 90 || bad "irlm_edit setmeta"
expect_fail "recommend shapes disagreeing with metadata" \
  "damaged serving model.*serve.user_emb.*90" \
  "$cli" recommend "$work/meta.irlm" --user 80

exit $fail
