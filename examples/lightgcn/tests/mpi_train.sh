#!/usr/bin/env bash
# lightgcn_train_mpi --mpi under mpirun, on the trainer's own SYNTHETIC data
# (no --data): mpi_train.sh MPIEXEC TRAIN_MPI TRAIN WORKDIR MODE
#   train   2 ranks: exit 0, only rank 0 writes (rank 1 is given another --out,
#           which must stay absent, and its scratch copy of the data is gone),
#           finite figures, a repeat gives the same result.json and bytes;
#           1 rank with --mpi gives the bits of the plain trainer
#   resume  2 ranks: 4 epochs straight = 2 epochs + --resume to 4 (result.json
#           figures, the .npy files and the final checkpoint), for lightgcn,
#           lightgcn + IRLLRec, sgl, simgcl and mf + IRLLRec
#   refuse  --resume with another rank count (2 -> 1, 2 -> plain trainer,
#           1 -> 2), --mpi-ranks other than mpirun's -n, --mpi without mpirun,
#           --mpi to the plain trainer, a batch that leaves a rank without a
#           triple: each refused, naming what differs;
#           ranks that are not training one model (rank 1 given another
#           --seed, --lr or --hook-lr) stopped, naming what differs
#   shard   --mpi --mpi-shard (node-sharded hook), 2 ranks, LightGCN + IRLLRec:
#           only rank 0 writes, every epoch's losses within 1e-5 of one
#           process's, the trained embeddings one process's bytes at 2 and
#           4 ranks (the sums over rows are per-chunk partials added in
#           double), the same TEST line, a repeat gives the same bytes, 2 epochs + resume
#           = 4 straight; a checkpoint of the other layout refused either way,
#           --mpi-shard without --irllrec or without --mpi refused
# Exit 77 (skipped) when mpirun is absent.
set -u
mpiexec=$1 tmpi=$2 tplain=$3 work=$4 mode=$5
if [ -z "$mpiexec" ] || ! command -v "$mpiexec" >/dev/null 2>&1; then
  echo "SKIP: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"; exit 77
fi
# Open MPI refuses root without these; one thread per rank on a shared machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,tcp
export OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
rm -rf "$work"
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"   # where ranks > 0 keep their copy of the synthetic data
fail=0
bad() { echo "FAIL: $*"; fail=1; }
common=(--epochs 4 --batch 1024 --eval-step 1 --patience 100 --threads 1 --quiet)

# mpirun ARGS...: within 120 s, or a hang is reported.
mpi() {
  timeout 120 "$mpiexec" "$@"
  local rc=$?
  [ $rc -eq 124 ] && echo "FAIL: mpirun still running after 120 s (a hang)"
  return $rc
}
# result.json without what may differ between equal runs: times, and the
# output folder in the paths of the data and text.
figures() { sed -e 's/"[a-z_]*seconds": [0-9.e+-]*//g' -e "s|$work/[^/\"]*/|OUT/|g" "$1"; }
same_run() { # DIR_A DIR_B LABEL [checkpoint]
  local f
  if [ "$(figures "$1/result.json")" = "$(figures "$2/result.json")" ]; then
    echo "$3: result.json figures identical"
  else
    bad "$3: result.json differs:"; diff <(figures "$1/result.json") <(figures "$2/result.json")
  fi
  for f in user_emb.npy item_emb.npy user_emb0.npy item_emb0.npy model.irlm ${4:+checkpoint.irlm}; do
    cmp -s "$1/$f" "$2/$f" || bad "$3: $f differs"
  done
}
finite() { # DIR LABEL
  if grep -Eqi 'nan|inf' "$1/result.json"; then bad "$2: non-finite figures: $(cat "$1/result.json")"
  elif ! grep -Eq '"test": \{"recall@5": [0-9.]+, "recall@10": [0-9.]+, "recall@20": 0\.[0-9]*[1-9]' "$1/result.json"; then
    bad "$2: no positive test recall@20 in $1/result.json"
  else echo "$2: figures finite ($(grep -o '"test": {[^}]*}' "$1/result.json"))"; fi
}

case $mode in
train)
  # Rank 1 gets another --out: it must write nothing there (nor anywhere in OUT).
  mpi -n 1 "$tmpi" --mpi --mpi-ranks 2 "${common[@]}" --out "$work/a" : \
      -n 1 "$tmpi" --mpi --mpi-ranks 2 "${common[@]}" --out "$work/a-rank1" \
      >"$work/a.stdout" 2>"$work/a.stderr"
  rc=$?
  [ $rc -eq 0 ] || { bad "2 ranks exited $rc"; cat "$work/a.stderr"; }
  [ -e "$work/a-rank1" ] && bad "rank 1 created its --out $work/a-rank1"
  [ -z "$(ls -A "$work/tmp")" ] || bad "a scratch copy of the data was left: $(ls "$work/tmp")"
  want="item_emb.npy item_emb0.npy log.jsonl model.irlm result.json synthetic-data user_emb.npy user_emb0.npy"
  got=$(ls "$work/a" | tr '\n' ' ' | sed 's/ $//')
  [ "$got" = "$want" ] && echo "outputs: $got" || bad "outputs are '$got', not '$want'"
  # one line per epoch, per evaluation, and the test: written once, by rank 0
  n=$(wc -l <"$work/a/log.jsonl")
  [ "$n" -eq 9 ] && echo "log.jsonl: 9 lines" || bad "log.jsonl has $n lines, not 4 + 4 + 1"
  n=$(grep -c '^TEST' "$work/a.stdout")
  [ "$n" -eq 1 ] && echo "one TEST line on stdout" || bad "$n TEST lines on stdout"
  grep -q '"ranks": 2' "$work/a/result.json" || bad "result.json does not say \"ranks\": 2"
  finite "$work/a" "2 ranks"
  # The same again, as usually started: the same result.json and bytes.
  mpi -n 2 "$tmpi" --mpi "${common[@]}" --out "$work/b" >/dev/null 2>"$work/b.stderr" ||
    { bad "the repeat exited $?"; cat "$work/b.stderr"; }
  same_run "$work/a" "$work/b" "repeat at 2 ranks"
  # One rank with --mpi is the plain trainer, bit for bit.
  mpi -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/c1" >/dev/null 2>"$work/c1.stderr" ||
    { bad "1 rank exited $?"; cat "$work/c1.stderr"; }
  "$tplain" "${common[@]}" --out "$work/p" >/dev/null 2>&1 || bad "the plain trainer failed"
  for f in user_emb.npy item_emb.npy user_emb0.npy item_emb0.npy model.irlm; do
    cmp -s "$work/c1/$f" "$work/p/$f" || bad "1 rank: $f differs from the plain trainer's"
  done
  [ $fail -eq 0 ] && echo "1 rank with --mpi: the plain trainer's bytes"
  ;;
resume)
  hook=(--irllrec --intents 8 --w-tran 0.5 --w-itm 0.5)
  for m in lightgcn irllrec sgl simgcl mf-irllrec; do
    case $m in
      lightgcn) x=() ;;
      irllrec) x=("${hook[@]}") ;;
      mf-irllrec) x=(--model mf "${hook[@]}") ;;
      *) x=(--model "$m") ;;
    esac
    a="$work/$m-full" b="$work/$m-split"
    mpi -n 2 "$tmpi" --mpi "${common[@]}" "${x[@]}" --epochs 4 --save-every 4 --out "$a" \
      >/dev/null 2>"$a.stderr" || { bad "$m: the straight run exited $?"; cat "$a.stderr"; }
    mpi -n 2 "$tmpi" --mpi "${common[@]}" "${x[@]}" --epochs 2 --save-every 2 --out "$b" \
      >/dev/null 2>"$b.stderr" || { bad "$m: the first half exited $?"; cat "$b.stderr"; }
    cp "$b/checkpoint.irlm" "$work/$m-k.irlm"
    mpi -n 2 "$tmpi" --mpi "${common[@]}" "${x[@]}" --epochs 4 --save-every 4 --out "$b" \
      --resume "$work/$m-k.irlm" >/dev/null 2>"$b.resume.stderr" ||
      { bad "$m: the resumed run exited $?"; cat "$b.resume.stderr"; }
    grep -q "resumed from" "$b.resume.stderr" || bad "$m: no 'resumed from' line"
    same_run "$a" "$b" "$m: 4 epochs vs 2 + resume" checkpoint
    finite "$a" "$m"
  done
  ;;
refuse)
  mpi -n 2 "$tmpi" --mpi "${common[@]}" --epochs 2 --save-every 2 --out "$work/two" \
    >/dev/null 2>"$work/two.stderr" || { bad "the 2-rank run exited $?"; cat "$work/two.stderr"; }
  "$tplain" "${common[@]}" --epochs 2 --save-every 2 --out "$work/one" >/dev/null 2>&1 ||
    bad "the plain run failed"
  # refused(LABEL, EXPECTED TEXT, COMMAND...): non-zero exit and the text on stderr
  refused() {
    local label=$1 text=$2; shift 2
    "$@" >"$work/r.stdout" 2>"$work/r.stderr"
    local rc=$?
    if [ $rc -eq 0 ]; then bad "$label: accepted"
    elif grep -qF -- "$text" "$work/r.stderr"; then
      echo "$label: refused (exit $rc): $(grep -F -- "$text" "$work/r.stderr" | head -1)"
    else bad "$label: refused (exit $rc) without '$text':"; cat "$work/r.stderr"; fi
  }
  refused "2-rank checkpoint, 1 rank" "written by a run of 2 ranks, this run has 1 rank" \
    mpi -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/x1" --resume "$work/two/checkpoint.irlm"
  refused "2-rank checkpoint, plain trainer" "written by a run of 2 ranks, this run has 1 rank" \
    "$tplain" "${common[@]}" --out "$work/x2" --resume "$work/two/checkpoint.irlm"
  refused "1-process checkpoint, 2 ranks" "written by a run of 1 rank (one process), this run has 2 ranks" \
    mpi -n 2 "$tmpi" --mpi "${common[@]}" --out "$work/x3" --resume "$work/one/checkpoint.irlm"
  refused "--mpi-ranks 3 under mpirun -n 2" "--mpi-ranks 3, but mpirun started 2 ranks" \
    mpi -n 2 "$tmpi" --mpi --mpi-ranks 3 "${common[@]}" --out "$work/x4"
  [ -e "$work/x4" ] && bad "--mpi-ranks refusal created its --out"
  n=$(grep -c "mpi-ranks 3" "$work/r.stderr")
  [ "$n" -eq 1 ] || bad "--mpi-ranks refusal printed $n times, not once (rank 0)"
  refused "--mpi without mpirun" "not started by mpirun" \
    env -u OMPI_COMM_WORLD_RANK -u PMIX_RANK -u PMI_RANK "$tmpi" --mpi "${common[@]}" --out "$work/x5"
  refused "--mpi to the plain trainer" "built without MPI" \
    "$tplain" --mpi "${common[@]}" --out "$work/x6"
  # Every global batch must give each rank a triple (15,132 train pairs here).
  refused "--batch 1 for 2 ranks" "--batch 1 is smaller than the 2 ranks" \
    mpi -n 2 "$tmpi" --mpi "${common[@]}" --batch 1 --out "$work/x7"
  refused "a last batch of 1 triple for 2 ranks" "leave a last batch of 1 triples for 2 ranks" \
    mpi -n 2 "$tmpi" --mpi "${common[@]}" --batch 15131 --out "$work/x8"
  for d in x1 x2 x3 x5 x6 x7 x8; do [ -e "$work/$d" ] && bad "a refused run left $work/$d"; done
  # Ranks that would not train one model: found at the start (E(0) from
  # another seed; the hook's settings) or after the first epoch (another lr).
  refused "rank 1 with another --seed" "E(0) or step count at the start differs from rank 0's" \
    mpi -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y1" : \
        -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y1" --seed 5
  [ -e "$work/y1" ] && bad "a run stopped before training left $work/y1"
  refused "rank 1 with another --lr" "E(0) or step count after an epoch differs from rank 0's" \
    mpi -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y2" : \
        -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y2" --lr 0.002
  refused "rank 1 with another --hook-lr" "hold other parameters, runtime parameters" \
    mpi -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y3" --irllrec --intents 8 : \
        -n 1 "$tmpi" --mpi "${common[@]}" --out "$work/y3" --irllrec --intents 8 --hook-lr 0.01
  ;;
shard)
  hook=(--irllrec --intents 8 --w-tran 0.5 --w-itm 0.5)
  mpi -n 1 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/s" : \
      -n 1 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/s-rank1" \
      >"$work/s.stdout" 2>"$work/s.stderr" || { bad "2 sharded ranks exited $?"; cat "$work/s.stderr"; }
  [ -e "$work/s-rank1" ] && bad "rank 1 created its --out"
  grep -q '"node_sharded": true' "$work/s/result.json" || bad "result.json does not say node_sharded"
  finite "$work/s" "2 sharded ranks"
  "$tplain" "${common[@]}" "${hook[@]}" --out "$work/p" >"$work/p.stdout" 2>/dev/null ||
    bad "the plain trainer failed"
  # every epoch's mean training loss, one process against the 2 ranks
  losses() { grep '"split": "train"' "$1/log.jsonl" | sed 's/.*"split": "train", "loss": \([^,]*\),.*/\1/'; }
  if paste <(losses "$work/s") <(losses "$work/p") |
       awk '{d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * ($2 < 0 ? -$2 : $2)) bad = 1; n++}
            END {exit (bad || n != 4)}'; then
    echo "epoch losses within 1e-5 of one process: $(losses "$work/s" | tr '\n' ' ')"
  else
    bad "epoch losses differ from one process's:"; paste <(losses "$work/s") <(losses "$work/p")
  fi
  # reduction chunks (lib/hook/reduce.c): the trained embeddings are one process's bytes
  for f in user_emb.npy item_emb.npy; do
    if cmp -s "$work/s/$f" "$work/p/$f"; then echo "$f: the bytes of one process"
    else bad "$f of the 2 sharded ranks differs from one process's"; fi
  done
  if [ "$(grep '^TEST' "$work/s.stdout")" = "$(grep '^TEST' "$work/p.stdout")" ]; then
    echo "the TEST line of one process: $(grep '^TEST' "$work/s.stdout")"
  else bad "TEST differs: $(grep '^TEST' "$work/s.stdout") vs $(grep '^TEST' "$work/p.stdout")"; fi
  mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/s2" >/dev/null \
    2>"$work/s2.stderr" || { bad "the repeat exited $?"; cat "$work/s2.stderr"; }
  same_run "$work/s" "$work/s2" "sharded repeat at 2 ranks"
  # 4 ranks (the synthetic set's 2 + 2 chunks of 512: one each)
  mpi -n 4 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/s4" >/dev/null \
    2>"$work/s4.stderr" || { bad "4 sharded ranks exited $?"; cat "$work/s4.stderr"; }
  for f in user_emb.npy item_emb.npy; do
    if cmp -s "$work/s4/$f" "$work/p/$f"; then echo "$f at 4 ranks: the bytes of one process"
    else bad "$f of the 4 sharded ranks differs from one process's"; fi
  done
  a="$work/sf" b="$work/sh"
  mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --save-every 4 --out "$a" \
    >/dev/null 2>&1 || bad "the straight sharded run failed"
  mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --epochs 2 --save-every 2 \
    --out "$b" >/dev/null 2>&1 || bad "the first sharded half failed"
  cp "$b/checkpoint.irlm" "$work/sk.irlm"
  mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --save-every 4 --out "$b" \
    --resume "$work/sk.irlm" >/dev/null 2>&1 || bad "the resumed sharded run failed"
  same_run "$a" "$b" "sharded: 4 epochs vs 2 + resume" checkpoint
  mpi -n 2 "$tmpi" --mpi "${common[@]}" "${hook[@]}" --epochs 2 --save-every 2 --out "$work/dp" \
    >/dev/null 2>&1 || bad "the data-parallel run failed"
  out=$(mpi -n 2 "$tmpi" --mpi "${common[@]}" "${hook[@]}" --out "$work/z1" --resume "$work/sk.irlm" 2>&1)
  [ $? -ne 0 ] && grep -q "node-sharded (--mpi-shard) run, this run is not" <<<"$out" &&
    echo "sharded checkpoint, data-parallel run: refused" || bad "sharded checkpoint accepted: $out"
  out=$(mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/z2" \
        --resume "$work/dp/checkpoint.irlm" 2>&1)
  [ $? -ne 0 ] && grep -q "not node-sharded run, this run is node-sharded" <<<"$out" &&
    echo "data-parallel checkpoint, sharded run: refused" || bad "data-parallel checkpoint accepted: $out"
  out=$(mpi -n 2 "$tmpi" --mpi --mpi-shard "${common[@]}" --out "$work/z3" 2>&1)
  [ $? -ne 0 ] && grep -q "needs --irllrec" <<<"$out" && echo "--mpi-shard without --irllrec: refused" ||
    bad "--mpi-shard without --irllrec accepted: $out"
  out=$("$tplain" --mpi-shard "${common[@]}" "${hook[@]}" --out "$work/z4" 2>&1)
  [ $? -ne 0 ] && grep -q "is a setting of --mpi" <<<"$out" && echo "--mpi-shard without --mpi: refused" ||
    bad "--mpi-shard without --mpi accepted: $out"
  for d in z1 z2 z3 z4; do [ -e "$work/$d" ] && bad "a refused run left $work/$d"; done
  ;;
*) echo "usage: mpi_train.sh MPIEXEC TRAIN_MPI TRAIN WORKDIR train|resume|refuse|shard"; exit 2 ;;
esac
[ $fail -eq 0 ] && echo "ok: mpi $mode"
exit $fail
