#!/usr/bin/env python3
"""Do two lightgcn_train binaries compute the same bits on the backbone page's settings?

    python3 scripts/ml100k/check_same_trainer.py TRAINER_A TRAINER_B DATA_DIR
        [--epochs 6] [--eval-step 3] [--seed 2023] [--only mf,sgl,...] [--keep DIR]

The run cache (out/ml100k-runs) is keyed by the md5 of the trainer binary, so any rebuild
(a new commit, another compiler flag) makes every cached run look stale. This script is
the evidence that lets a page built with one binary stand for another: for every
configuration of docs/results-backbones.md (each backbone MF, LightGCN, SGL, SimGCL with
its chosen host settings; plain, + RLMRec-Con, + IRLLRec with the hook settings of
backbones.py; with --alternatives also both text variants under each alternative hook
setting, named rlmrec-con-alt1 etc. in the order of backbones.ALTERNATIVES), it trains a short run with both binaries (same argv, one thread,
OPENBLAS_NUM_THREADS=1) and compares byte for byte:

- every .npy the trainer wrote (final and layer-0 user/item embeddings),
- result.json's val and test metrics, best_epoch, epochs_run, evaluations, config and
  irllrec blocks (the time fields and the output/data paths are not compared),
- log.jsonl with the *_seconds fields removed (every loss term and every evaluation).

It prints one line per configuration and exits 1 if any configuration differs (or a
trainer fails). A short run only shows the two binaries agree on these steps; the
argument for longer runs is that training is a deterministic function of the same
arithmetic, so bitwise-equal steps stay equal. DATA_DIR is an ML-100K folder from
make_embeddings.sh (the split and the four text files); RLMRec-Con runs on a temporary
folder holding the split and the profile pair only, as the runner does.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runlib import COMMON, DATA_FILES, TEXT_FILES  # noqa: E402
from backbones import ALTERNATIVES, text_cfg  # noqa: E402

# The chosen host settings of docs/results-backbones.md (seed-2023 validation there).
HOSTS = [
    ("mf", [("--model", "mf"), ("--layers", "0"), ("--reg", "1e-5")]),
    ("lightgcn", [("--reg", "1e-5"), ("--keep", "0.8")]),
    ("sgl", [("--model", "sgl"), ("--reg", "1e-5"), ("--view-keep", "0.8"),
             ("--cl-weight", "1e-2"), ("--cl-tau", "0.5")]),
    ("simgcl", [("--model", "simgcl"), ("--reg", "1e-5"), ("--cl-weight", "1e-2"),
                ("--cl-tau", "0.2"), ("--eps", "0.9")]),
]
KINDS = ("base", "rlmrec-con", "irllrec")
RESULT_KEYS = ("val", "test", "best_epoch", "epochs_run", "evaluations", "config", "irllrec",
               "seed", "threads", "synthetic")


def configurations(alternatives=False):
    """(backbone, name, cfg): the page's 12 chosen configurations, then with
    alternatives=True the text variants under each of backbones.ALTERNATIVES."""
    for b, host in HOSTS:
        for kind in KINDS:
            yield b, kind, (list(host) if kind == "base" else text_cfg(host, kind))
    if alternatives:
        for i, (_, rl, ir) in enumerate(ALTERNATIVES):
            for b, host in HOSTS:
                for kind, ch in (("rlmrec-con", rl), ("irllrec", ir)):
                    yield b, "%s-alt%d" % (kind, i + 1), text_cfg(host, kind, ch)


def argv_of(cfg, data, args):
    over = dict(cfg)
    over["--epochs"] = str(args.epochs)
    over["--eval-step"] = str(args.eval_step)
    merged = [(f, over.get(f, v)) for f, v in COMMON] + \
        [(f, v) for f, v in cfg if f not in dict(COMMON)]
    argv = ["--data", data]
    for f, v in merged:
        argv += [f] if v is None else [f, v]
    return argv + ["--seed", str(args.seed), "--threads", "1", "--quiet"]


def strip_paths(x):
    """The irllrec block names its text files by path; compare their names only."""
    if isinstance(x, dict):
        return {k: (os.path.basename(v) if isinstance(v, str) and os.sep in v else strip_paths(v))
                for k, v in x.items()}
    return x


def digest(out):
    """{what: bytes-or-json} of one run, the things compared."""
    d = {}
    for f in sorted(os.listdir(out)):
        if f.endswith(".npy"):
            with open(os.path.join(out, f), "rb") as fh:
                d[f] = hashlib.md5(fh.read()).hexdigest()
    with open(os.path.join(out, "result.json")) as f:
        r = json.load(f)
    for k in RESULT_KEYS:
        d["result.json:" + k] = json.dumps(strip_paths(r.get(k)), sort_keys=True)
    lines = []
    with open(os.path.join(out, "log.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            lines.append(json.dumps({k: v for k, v in e.items() if not k.endswith("seconds")},
                                    sort_keys=True))
    d["log.jsonl"] = hashlib.md5("\n".join(lines).encode()).hexdigest()
    d["log.jsonl:lines"] = str(len(lines))
    return d


def npy_floats(path):
    """The float32 payload of a .npy the trainer wrote (little-endian '<f4'), or None."""
    with open(path, "rb") as f:
        b = f.read()
    if b[:6] != b"\x93NUMPY":
        return None
    hl = struct.unpack("<H", b[8:10])[0]
    head = b[10:10 + hl].decode("latin1")
    if "'<f4'" not in head:
        return None
    data = b[10 + hl:]
    return struct.unpack("<%df" % (len(data) // 4), data[:len(data) // 4 * 4])


def max_abs_diff(a_dir, b_dir, names):
    """The largest |A - B| over the differing .npy files, or None if not comparable."""
    worst = None
    for n in names:
        a, b = npy_floats(os.path.join(a_dir, n)), npy_floats(os.path.join(b_dir, n))
        if a is None or b is None or len(a) != len(b):
            return None
        d = max(abs(x - y) for x, y in zip(a, b))
        worst = d if worst is None else max(worst, d)
    return worst


def train(trainer, argv, out):
    os.makedirs(out)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    p = subprocess.run([trainer] + argv + ["--out", out], capture_output=True, text=True,
                       env=env)
    if p.returncode != 0:
        return "rc %d: %s" % (p.returncode, p.stderr.strip().splitlines()[-1:] or "")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trainer_a")
    ap.add_argument("trainer_b")
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--eval-step", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--only", default="", help="comma-separated backbones or configurations as printed, e.g. "
                         "mf,sgl/irllrec (default: all)")
    ap.add_argument("--keep", default=None, help="keep the runs in this folder")
    ap.add_argument("--alternatives", action="store_true",
                    help="also the text variants under the page's alternative hook settings "
                         "(backbones.ALTERNATIVES: weaker / stronger text alignment)")
    ap.add_argument("--label-a", default="", help="what A is (printed with its md5)")
    ap.add_argument("--label-b", default="", help="what B is (printed with its md5)")
    args = ap.parse_args()
    for t in (args.trainer_a, args.trainer_b):
        if not os.access(t, os.X_OK):
            sys.exit("check_same_trainer: no trainer at %s" % t)
    data = os.path.abspath(args.data)
    missing = [f for f in DATA_FILES + TEXT_FILES if not os.path.exists(os.path.join(data, f))]
    if missing:
        sys.exit("check_same_trainer: %s lacks %s" % (data, ", ".join(missing)))
    work = args.keep or tempfile.mkdtemp(prefix="same-trainer-")
    os.makedirs(work, exist_ok=True)
    prf = os.path.join(work, "data-profile-only")
    os.makedirs(prf, exist_ok=True)
    for f in DATA_FILES + TEXT_FILES[:2]:
        if not os.path.lexists(os.path.join(prf, f)):
            os.symlink(os.path.join(data, f), os.path.join(prf, f))
    md5 = {t: hashlib.md5(open(t, "rb").read()).hexdigest()[:12]
           for t in (args.trainer_a, args.trainer_b)}
    for x, t, label in (("A", args.trainer_a, args.label_a), ("B", args.trainer_b, args.label_b)):
        print("%s = %s (md5 %s)%s" % (x, t, md5[t], ": " + label if label else ""))
    print("data %s; --epochs %d --eval-step %d --seed %d, one thread" % (
        os.path.basename(data), args.epochs, args.eval_step, args.seed), flush=True)
    only = set(filter(None, args.only.split(",")))
    bad = 0
    for b, kind, cfg in configurations(args.alternatives):
        if only and b not in only and "%s/%s" % (b, kind) not in only:
            continue
        argv = argv_of(cfg, prf if kind.startswith("rlmrec-con") else data, args)
        name = "%s/%s" % (b, kind)
        outs = [os.path.join(work, name.replace("/", "-") + "-" + x) for x in ("A", "B")]
        for o in outs:
            if os.path.isdir(o):
                shutil.rmtree(o)
        errs = [train(t, argv, o) for t, o in zip((args.trainer_a, args.trainer_b), outs)]
        if any(errs):
            bad += 1
            print("%-20s FAILED  %s" % (name, "; ".join(e for e in errs if e)), flush=True)
            continue
        da, db = digest(outs[0]), digest(outs[1])
        diff = sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
        if diff:
            bad += 1
            npys = [k for k in diff if k.endswith(".npy")]
            worst = max_abs_diff(outs[0], outs[1], npys) if npys else None
            print("%-20s DIFFERENT  %s%s" % (name, ", ".join(diff), "" if worst is None else
                                             " (largest |A-B| in them %.3g)" % worst),
                  flush=True)
        else:
            with open(os.path.join(outs[0], "result.json")) as f:
                r = json.load(f)
            print("%-20s identical  (%d files, %s log lines; val R@20 %.6f, test R@20 %.6f)" % (
                name, sum(k.endswith(".npy") for k in da), da["log.jsonl:lines"],
                r["val"]["recall@20"], r["test"]["recall@20"]), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("%s" % ("ALL IDENTICAL" if bad == 0 else "%d configuration(s) differ" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
