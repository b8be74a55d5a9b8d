#!/usr/bin/env bash
# Resume is bit-identical: E epochs in one run vs k epochs + checkpoint + a
# new process resuming to E epochs, for plain LightGCN and LightGCN+IRLLRec
# on small synthetic data. Compares the output embeddings and the final
# checkpoints byte for byte (a checkpoint's bytes depend only on its content:
# E(0), Adam, sampler and dropout state, early-stopping state, hook state).
#   test_resume.sh LIGHTGCN_TRAIN IRLLREC_SYNTH WORKDIR
set -eu
train=$1 synth=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
"$synth" --out "$work/data" --users 60 --items 40 --intents 4 --profile-dim 8 \
  --intent-dim 8 --mean-degree 6 --seed 7 --quiet
common=(--data "$work/data" --dim 8 --batch 32 --eval-step 2 --patience 100
        --threads 2 --quiet --lr 0.01)
E=6 k=3
fail=0
hook=(--irllrec --intents 4 --w-tran 0.5 --w-itm 0.5)
for mode in plain irllrec sgl simgcl mf sgl-irllrec simgcl-irllrec mf-irllrec; do
  case $mode in
    plain) extra=(--layers 2) ;;
    irllrec) extra=(--layers 2 "${hook[@]}" --keep 0.8) ;;
    mf) extra=(--model mf) ;;
    mf-irllrec) extra=(--model mf "${hook[@]}") ;;
    *-irllrec) extra=(--layers 2 --model "${mode%-irllrec}" "${hook[@]}") ;;
    *) extra=(--layers 2 --model "$mode") ;;
  esac
  a="$work/$mode-full" b="$work/$mode-split"
  "$train" "${common[@]}" "${extra[@]}" --epochs $E --save-every $E --out "$a" >/dev/null
  "$train" "${common[@]}" "${extra[@]}" --epochs $k --save-every $k --out "$b" >/dev/null
  cp "$b/checkpoint.irlm" "$work/$mode-k.irlm"
  "$train" "${common[@]}" "${extra[@]}" --epochs $E --save-every $E --out "$b" \
    --resume "$work/$mode-k.irlm" >/dev/null
  for f in user_emb.npy item_emb.npy user_emb0.npy item_emb0.npy checkpoint.irlm; do
    if cmp -s "$a/$f" "$b/$f"; then
      echo "$mode: $f identical"
    else
      echo "$mode: $f DIFFERS"; fail=1
    fi
  done
  # the resumed checkpoint must differ from the epoch-k one (training did happen)
  if cmp -s "$work/$mode-k.irlm" "$b/checkpoint.irlm"; then echo "$mode: no progress"; fail=1; fi
done
# a checkpoint of another configuration is refused
if "$train" "${common[@]}" --layers 2 --epochs $E --out "$work/bad" \
     --resume "$work/irllrec-k.irlm" 2>"$work/bad.err" >/dev/null; then
  echo "resuming a checkpoint with another configuration was accepted"; fail=1
else
  echo "mismatched checkpoint refused: $(tail -1 "$work/bad.err")"
fi
# so is one of another backbone, naming both (--model is checked first)
if "$train" "${common[@]}" --layers 2 --model simgcl --epochs $E --out "$work/bad2" \
     --resume "$work/sgl-k.irlm" 2>"$work/bad2.err" >/dev/null; then
  echo "resuming an sgl checkpoint with --model simgcl was accepted"; fail=1
elif grep -q "checkpoint is of --model sgl, this run is --model simgcl" "$work/bad2.err"; then
  echo "other backbone refused: $(tail -1 "$work/bad2.err")"
else
  echo "other backbone refused without naming it: $(cat "$work/bad2.err")"; fail=1
fi
# result.json names the backbone
for mode in plain sgl simgcl mf; do
  want=$mode; [ "$mode" = plain ] && want=lightgcn
  if grep -q "\"model\": \"$want\"" "$work/$mode-full/result.json"; then echo "$mode: result.json model $want"
  else echo "$mode: result.json lacks \"model\": \"$want\""; fail=1; fi
done
# log.jsonl carries the contrastive term for sgl and simgcl only
for mode in sgl simgcl; do
  grep -q '"split": "train".*"cl": ' "$work/$mode-full/log.jsonl" || { echo "$mode: no cl in log.jsonl"; fail=1; }
done
if grep -q '"cl": ' "$work/plain-full/log.jsonl"; then echo "plain: cl in log.jsonl"; fail=1; fi
exit $fail
