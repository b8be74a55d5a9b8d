#!/bin/sh
# Fidelity of the LightGCN host against the authors' released PyTorch code on
# amazon-book with the LightGCN baseline config (d 32, L 3, lr 1e-3, batch
# 4096, reg 1e-6, keep 0.8, eval every 3 epochs, patience 5). Runs the seeds
# one after another and prints every seed, the mean, and mean / reference.
# Target: mean >= 0.98 x reference for each of the six figures.
#
# usage: scripts/fidelity-lightgcn.sh [build dir (build)] [threads (2)] [seeds...]
# env:   DATA (default ../shared/data/amazon-book), OUT (default /tmp/fidelity-lightgcn),
#        OPENBLAS_NUM_THREADS (default 1: the evaluator already runs one sgemm per
#        worker thread, and OpenBLAS's own threads would oversubscribe the cores
#        and spin after each call, slowing the next training epoch)
set -eu
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
[ $# -ge 2 ] && shift 2 || shift $#
seeds=${*:-"2023 2024 2025"}
data=${DATA:-$here/../shared/data/amazon-book}
out=${OUT:-/tmp/fidelity-lightgcn}
bin=$build/examples/lightgcn/lightgcn_train
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 1; }
[ -f "$data/train.txt" ] || { echo "no data at $data: skipped"; exit 0; }
mkdir -p "$out"
echo "fidelity-lightgcn: $(date -u +%FT%TZ), threads $threads, OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $seeds; do
  echo "seed $s ..."
  /usr/bin/time -f "%e %M" -o "$out/time-$s.txt" \
    "$bin" --data "$data" --out "$out/seed-$s" --seed "$s" --threads "$threads" --quiet \
    > "$out/seed-$s.stdout" 2> "$out/seed-$s.stderr"
  tail -n 2 "$out/seed-$s.stdout"
done
python3 - "$out" $seeds <<'PY'
import json, sys
out, seeds = sys.argv[1], sys.argv[2:]
keys = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20"]
ref = dict(zip(keys, [0.0579, 0.0916, 0.1434, 0.0584, 0.0700, 0.0869]))
rows = []
print("%-6s %5s %6s %8s %8s " % ("seed", "best", "epochs", "wall s", "RSS MB") +
      " ".join("%9s" % k for k in keys))
for s in seeds:
    r = json.load(open("%s/seed-%s/result.json" % (out, s)))
    wall, kb = open("%s/time-%s.txt" % (out, s)).read().split()
    rows.append(r)
    print("%-6s %5d %6d %8.1f %8.1f " % (s, r["best_epoch"], r["epochs_run"], float(wall),
          int(kb) / 1024.0) + " ".join("%9.4f" % r["test"][k] for k in keys))
mean = {k: sum(r["test"][k] for r in rows) / len(rows) for k in keys}
print("%-6s %30s " % ("mean", "") + " ".join("%9.4f" % mean[k] for k in keys))
print("%-6s %30s " % ("ref", "(authors, seed 2023, ep 231)") + " ".join("%9.4f" % ref[k] for k in keys))
print("%-6s %30s " % ("ratio", "") + " ".join("%9.3f" % (mean[k] / ref[k]) for k in keys))
ok = all(mean[k] >= 0.98 * ref[k] for k in keys)
print("target mean >= 0.98 x reference on every figure:", "PASS" if ok else "FAIL")
PY
