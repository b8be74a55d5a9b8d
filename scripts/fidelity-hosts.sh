#!/bin/sh
# Fidelity of the SGL and SimGCL hosts (lightgcn_train --model sgl|simgcl,
# the authors' Amazon-book configs: docs/hosts.md) against the authors' code
# on amazon-book (DESIGN.md section 11: seed 2023, one thread, to early
# stopping, TEST at the best validation epoch). Runs each model's seeds one
# after another (a seed whose result.json exists is not rerun), then prints
# every finished seed, the mean and mean / reference.
# Target: mean TEST Recall@20 and NDCG@20 >= 0.98 x reference.
#
# usage: scripts/fidelity-hosts.sh [build dir (build)] [threads (2)] [seeds...]
# env:   MODELS (default "sgl simgcl"), DATA (default ../shared/data/amazon-book),
#        OUT (default /tmp/fidelity-hosts), BIN (default BUILD/examples/lightgcn/
#        lightgcn_train), REPORT_ONLY=1 (no runs: the table of what finished),
#        OPENBLAS_NUM_THREADS (default 1, as scripts/fidelity-lightgcn.sh),
#        FLAGS (more trainer flags for every run, e.g. "--cl-precision bf16";
#        use its own OUT: finished seeds are not rerun)
set -eu
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
[ $# -ge 2 ] && shift 2 || shift $#
seeds=${*:-"2023 2024 2025"}
models=${MODELS:-"sgl simgcl"}
data=${DATA:-$here/../shared/data/amazon-book}
out=${OUT:-/tmp/fidelity-hosts}
bin=${BIN:-$build/examples/lightgcn/lightgcn_train}
[ -x "$bin" ] || { echo "no $bin: build first" >&2; exit 1; }
[ -f "$data/train.txt" ] || { echo "no data at $data: skipped"; exit 0; }
mkdir -p "$out"
if [ "${REPORT_ONLY:-0}" != 1 ]; then
  echo "fidelity-hosts: $(date -u +%FT%TZ), models $models, threads $threads," \
       "OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS, flags '${FLAGS:-}'," \
       "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for m in $models; do
    for s in $seeds; do
      [ -f "$out/$m-$s/result.json" ] && continue
      echo "$m seed $s ... ($(date -u +%TZ), load $(cut -d' ' -f1 /proc/loadavg))"
      /usr/bin/time -f "%e %M" -o "$out/time-$m-$s.txt" \
        "$bin" --model "$m" --data "$data" --out "$out/$m-$s" --overwrite --seed "$s" \
        --threads "$threads" --quiet ${FLAGS:-} > "$out/$m-$s.stdout" 2> "$out/$m-$s.stderr"
      tail -n 2 "$out/$m-$s.stdout"
    done
  done
fi
python3 - "$out" "$models" $seeds <<'PY'
import json, os, sys
out, models, seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
keys = ["recall@5", "recall@10", "recall@20", "ndcg@5", "ndcg@10", "ndcg@20"]
refs = {"sgl": ([0.0644, 0.1023, 0.1480, 0.0643, 0.0774, 0.0925], "seed 2023, best ep 45"),
        "simgcl": ([0.0610, 0.0991, 0.1512, 0.0612, 0.0747, 0.0915], "seed 2023, best ep 81")}
verdicts = []
for m in models:
    rows = []
    print("%s\n%-6s %5s %6s %8s %8s " % (m, "seed", "best", "epochs", "wall s", "RSS MB") +
          " ".join("%9s" % k for k in keys))
    for s in seeds:
        p = "%s/%s-%s/result.json" % (out, m, s)
        if not os.path.exists(p):
            print("%-6s (not finished)" % s)
            continue
        r = json.load(open(p))
        wall, kb = open("%s/time-%s-%s.txt" % (out, m, s)).read().split()
        rows.append(r)
        print("%-6s %5d %6d %8.1f %8.1f " % (s, r["best_epoch"], r["epochs_run"], float(wall),
              int(kb) / 1024.0) + " ".join("%9.4f" % r["test"][k] for k in keys))
    if not rows:
        continue
    mean = {k: sum(r["test"][k] for r in rows) / len(rows) for k in keys}
    print("%-6s %30s " % ("mean", "(%d seed%s)" % (len(rows), "" if len(rows) == 1 else "s")) +
          " ".join("%9.4f" % mean[k] for k in keys))
    if m not in refs:
        continue
    ref = dict(zip(keys, refs[m][0]))
    print("%-6s %30s " % ("ref", "(authors, %s)" % refs[m][1]) +
          " ".join("%9.4f" % ref[k] for k in keys))
    print("%-6s %30s " % ("ratio", "") + " ".join("%9.3f" % (mean[k] / ref[k]) for k in keys))
    ok = all(mean[k] >= 0.98 * ref[k] for k in ("recall@20", "ndcg@20"))
    verdicts.append("%s %s over %d seed(s)" % (m, "PASS" if ok else "FAIL", len(rows)))
if verdicts:
    print("target mean R@20 and N@20 >= 0.98 x reference:", "; ".join(verdicts))
PY
