#!/usr/bin/env bash
# Build the MovieLens-100K texts and embed them: a complete dataset folder for the trainer.
#
#   scripts/ml100k/make_embeddings.sh [--data DIR] [--out DIR] [--tool PATH] [--vectors FILE]
#                                     [--exclude-items FILE]
#                                     [-- extra irllrec-textembed flags, e.g. --a 1e-4]
#
# Defaults: --data ../shared/data/ml-100k, --out out/ml100k, --tool
# build/examples/textembed/irllrec-textembed (build it first:
# cmake -S . -B build && cmake --build build -j2), --vectors DATA/glove-6B-100d-subset.txt.
#
# Writes OUT/{usr_prf,itm_prf,usr_int,itm_int}.npy (SIF over GloVe vectors, NOT an LLM),
# copies train.txt, val.txt, test.txt and stats.json next to them, and keeps the texts in
# OUT/texts/ and the tool's report in OUT/embed-log.txt. --exclude-items FILE (item ids,
# one a line) keeps those items out of every user text (build_texts.py --exclude-items):
# the cold items of scripts/coldstart/make_split.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
data="$repo/../shared/data/ml-100k"
out="$repo/out/ml100k"
tool="$repo/build/examples/textembed/irllrec-textembed"
vectors=""
exclude=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --tool) tool=$2; shift 2 ;;
    --vectors) vectors=$2; shift 2 ;;
    --exclude-items) exclude=(--exclude-items "$2"); shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "make_embeddings.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$vectors" ] || vectors="$data/glove-6B-100d-subset.txt"
for f in "$data/train.txt" "$data/val.txt" "$data/test.txt" "$data/stats.json" "$vectors"; do
  [ -r "$f" ] || { echo "make_embeddings.sh: cannot read $f" >&2; exit 1; }
done
[ -x "$tool" ] || { echo "make_embeddings.sh: no tool at $tool (build it, or pass --tool)" >&2; exit 1; }

start=$(date +%s.%N)
mkdir -p "$out/texts"
python3 "$here/build_texts.py" --data "$data" --out "$out/texts" ${exclude[@]+"${exclude[@]}"}
python3 "$here/check_no_leak.py" --data "$data" --texts "$out/texts"

read -r n_users n_items < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["n_users"], s["n_items"])' "$data/stats.json")
log="$out/embed-log.txt"
: > "$log"
embed() { # tsv npy rows
  echo "== $1 -> $2" >> "$log"
  "$tool" --vectors "$vectors" --input "$out/texts/$1" --output "$out/$2" --rows "$3" \
          ${extra[@]+"${extra[@]}"} 2>> "$log"
}
embed user_profile.tsv usr_prf.npy "$n_users"
embed item_profile.tsv itm_prf.npy "$n_items"
embed user_intent.tsv usr_int.npy "$n_users"
embed item_intent.tsv itm_int.npy "$n_items"
for f in train.txt val.txt test.txt stats.json; do cp -f "$data/$f" "$out/$f"; done
end=$(date +%s.%N)
cat "$log" >&2
python3 -c 'import sys; print("make_embeddings.sh: %s ready in %.2f s" % (sys.argv[1], float(sys.argv[3]) - float(sys.argv[2])))' "$out" "$start" "$end" >&2
