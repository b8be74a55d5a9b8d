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
common=(--data "$work/data" --dim 8 --layers 2 --batch 32 --eval-step 2 --patience 100
        --threads 2 --quiet --lr 0.01)
E=6 k=3
fail=0
for mode in plain irllrec; do
  extra=()
  if [ "$mode" = irllrec ]; then extra=(--irllrec --intents 4 --keep 0.8 --w-tran 0.5 --w-itm 0.5); fi
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
if "$train" "${common[@]}" --epochs $E --out "$work/bad" --resume "$work/irllrec-k.irlm" \
     2>"$work/bad.err" >/dev/null; then
  echo "resuming a checkpoint with another configuration was accepted"; fail=1
else
  echo "mismatched checkpoint refused: $(tail -1 "$work/bad.err")"
fi
exit $fail
