#!/usr/bin/env bash
# --resume refuses what it should not read (issue 17 items 4 and 14):
#   - a file over the trainer's max_bytes (LGCN_CKPT_MAX_BYTES) is refused
#     by size, naming max_bytes, before it is read (a sparse file: nothing
#     is written to disk);
#   - a named pipe is refused at once instead of blocking in open().
#   resume_limits.sh LIGHTGCN_TRAIN IRLLREC_SYNTH WORKDIR
set -u
train=$1 synth=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
"$synth" --out "$work/data" --users 60 --items 40 --intents 4 --profile-dim 8 \
  --intent-dim 8 --mean-degree 6 --seed 7 --quiet || exit 1
common=(--data "$work/data" --dim 8 --layers 2 --batch 32 --epochs 1 --threads 1 --quiet)
fail=0
# 100 nodes x 8: the cap is 256 MiB + 51,200 bytes; 300 MiB is over it.
truncate -s 300M "$work/big.irlm"
if timeout 60 "$train" "${common[@]}" --out "$work/o1" --resume "$work/big.irlm" \
     >/dev/null 2>"$work/big.err"; then
  echo "FAIL: a 300 MiB --resume file was accepted"; fail=1
elif grep -q "max_bytes" "$work/big.err"; then
  echo "oversized checkpoint refused: $(grep max_bytes "$work/big.err" | tail -1)"
else
  echo "FAIL: the oversized checkpoint was not refused by max_bytes:"; cat "$work/big.err"; fail=1
fi
mkfifo "$work/pipe.irlm"
timeout 20 "$train" "${common[@]}" --out "$work/o2" --resume "$work/pipe.irlm" \
  >/dev/null 2>"$work/pipe.err"
rc=$?
if [ $rc -eq 124 ]; then
  echo "FAIL: --resume on a FIFO blocked (killed after 20 s)"; fail=1
elif [ $rc -eq 0 ]; then
  echo "FAIL: --resume on a FIFO was accepted"; fail=1
elif grep -q "named pipe" "$work/pipe.err"; then
  echo "FIFO refused: $(grep "named pipe" "$work/pipe.err" | tail -1)"
else
  echo "FAIL: the FIFO refusal does not say what the file is:"; cat "$work/pipe.err"; fail=1
fi
exit $fail
