#!/usr/bin/env python3
"""MovieLens-100K real-text experiment: LightGCN, RLMRec-Con, IRLLRec and three ablations.

    python3 scripts/ml100k/run_experiments.py [--build DIR] [--data DIR] [--runs DIR]
                                              [--threads 2] [--fresh] [--variants a,b,...]

Builds out/ml100k with make_embeddings.sh when it is missing, picks every variant's
hyperparameters on VALIDATION Recall@20 (seed 2023, small documented grid), trains the
chosen configuration with seeds 2023, 2024, 2025, and writes docs/results-ml100k.md and
docs/img/ml100k-val-recall.png. Test metrics are read only for the final report.

Every run is cached in RUNS/<variant>/<key>/ with the exact command it ran (cmd.json);
the key hashes that command, the trainer binary and the data files, so a rebuilt trainer
or new embeddings rerun everything. --fresh ignores the cache. Python 3 standard library
only.
"""
import argparse
import hashlib
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SEEDS = (2023, 2024, 2025)
SELECT_SEED = 2023
KS = (5, 10, 20)
METRICS = ["recall@%d" % k for k in KS] + ["ndcg@%d" % k for k in KS]
DATA_FILES = ("train.txt", "val.txt", "test.txt", "stats.json")
TEXT_FILES = ("usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy")

# Shared by every run. eval-step 3 is the paper protocol; patience 20 (60 epochs) instead
# of 5 because on this small split validation Recall@20 still creeps up by ~0.001 per
# 10-20 epochs late in training and patience 5 cuts runs at noise (see the results page).
COMMON = [("--dim", "32"), ("--layers", "3"), ("--lr", "1e-3"), ("--batch", "4096"),
          ("--epochs", "3000"), ("--eval-step", "3"), ("--patience", "20")]

VARIANTS = [
    ("lightgcn", "LightGCN"),
    ("rlmrec-con", "LightGCN + RLMRec-Con (profile alignment only)"),
    ("irllrec", "LightGCN + IRLLRec"),
    ("irllrec-no-pair", "IRLLRec without pairwise alignment (w_pair 0)"),
    ("irllrec-no-tran", "IRLLRec without translation (w_tran 0)"),
    ("irllrec-no-itm", "IRLLRec without ITM (w_itm 0)"),
]
ABLATIONS = {"irllrec-no-pair": "--w-pair", "irllrec-no-tran": "--w-tran",
             "irllrec-no-itm": "--w-itm"}


def log(msg):
    print("run_experiments: " + msg, file=sys.stderr, flush=True)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Runner:
    def __init__(self, args):
        self.args = args
        self.trainer = os.path.join(args.build, "examples", "lightgcn", "lightgcn_train")
        self.fingerprint = None
        self.n_new = 0
        self.seconds_new = 0.0

    def setup(self):
        a = self.args
        if not all(os.path.exists(os.path.join(a.data, f)) for f in DATA_FILES + TEXT_FILES):
            log("%s incomplete: building it with make_embeddings.sh" % a.data)
            tool = os.path.join(a.build, "examples", "textembed", "irllrec-textembed")
            subprocess.run([os.path.join(HERE, "make_embeddings.sh"), "--out", a.data,
                            "--tool", tool], check=True)
        if not os.access(self.trainer, os.X_OK):
            sys.exit("run_experiments: no trainer at %s (cmake -S . -B build && "
                     "cmake --build build -j2)" % self.trainer)
        helptext = subprocess.run([self.trainer, "--help"], capture_output=True,
                                  text=True).stdout + subprocess.run(
            [self.trainer, "--help"], capture_output=True, text=True).stderr
        self.has_irllrec = "--irllrec" in helptext
        h = hashlib.md5(md5_file(self.trainer).encode())
        for f in DATA_FILES + TEXT_FILES:
            h.update(md5_file(os.path.join(a.data, f)).encode())
        self.fingerprint = h.hexdigest()
        # RLMRec-Con: the trainer switches a text pair off when its files are absent, so
        # this folder holds the split and the profile pair only.
        self.data_prf = os.path.join(a.runs, "data-profile-only")
        os.makedirs(self.data_prf, exist_ok=True)
        for f in DATA_FILES + TEXT_FILES[:2]:
            dst = os.path.join(self.data_prf, f)
            if os.path.lexists(dst):
                os.remove(dst)
            os.symlink(os.path.abspath(os.path.join(a.data, f)), dst)

    def data_for(self, variant):
        return self.data_prf if variant == "rlmrec-con" else self.args.data

    def run(self, variant, cfg, seed):
        """cfg: list of (flag, value-or-None). Returns the result dict plus the log."""
        argv = ["--data", os.path.abspath(self.data_for(variant))]
        # a cfg flag that is also in COMMON replaces it in place: one argv per setting
        over = dict(cfg)
        merged = [(f, over.get(f, v)) for f, v in COMMON] + \
            [(f, v) for f, v in cfg if f not in dict(COMMON)]
        for flag, val in merged:
            argv += [flag] if val is None else [flag, val]
        argv += ["--seed", str(seed), "--threads", str(self.args.threads), "--quiet"]
        key = hashlib.md5(json.dumps([self.fingerprint, argv]).encode()).hexdigest()[:12]
        out = os.path.join(self.args.runs, variant, "%s-s%d" % (key, seed))
        res_path = os.path.join(out, "result.json")
        if not self.args.fresh and os.path.exists(res_path) and os.path.exists(
                os.path.join(out, "cmd.json")):
            with open(os.path.join(out, "cmd.json")) as f:
                if json.load(f).get("argv") == argv:
                    return self.load(out)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.makedirs(out)
        cmd = [self.trainer] + argv + ["--out", out]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        t0 = time.time()
        with open(os.path.join(out, "stdout.txt"), "w") as so, \
                open(os.path.join(out, "stderr.txt"), "w") as se:
            rc = subprocess.run(cmd, stdout=so, stderr=se, env=env).returncode
        dt = time.time() - t0
        if rc != 0:
            with open(os.path.join(out, "stderr.txt")) as f:
                tail = f.read()[-2000:]
            sys.exit("run_experiments: trainer failed (rc %d): %s\n%s" % (rc, " ".join(cmd), tail))
        with open(os.path.join(out, "cmd.json"), "w") as f:
            json.dump({"argv": argv, "wall_seconds": round(dt, 2),
                       "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                       "load": os.getloadavg()[0]}, f)
        self.n_new += 1
        self.seconds_new += dt
        r = self.load(out)
        log("%-16s seed %d %-60s val R@20 %.4f  (%.1f s)" % (
            variant, seed, cfg_str(cfg), r["val"]["recall@20"], dt))
        return r

    @staticmethod
    def load(out):
        with open(os.path.join(out, "result.json")) as f:
            r = json.load(f)
        curve = []
        with open(os.path.join(out, "log.jsonl")) as f:
            for line in f:
                d = json.loads(line)
                if d.get("split") == "val":
                    curve.append((d["epoch"], d["recall@20"]))
        with open(os.path.join(out, "cmd.json")) as f:
            cmd = json.load(f)
        r["curve"] = curve
        r["dir"] = out
        r["wall_seconds"] = cmd.get("wall_seconds")
        return r


def cfg_str(cfg):
    return " ".join(f if v is None else "%s %s" % (f, v) for f, v in cfg)


def with_flag(cfg, flag, val):
    out, seen = [], False
    for f, v in cfg:
        if f == flag:
            out.append((f, val))
            seen = True
        else:
            out.append((f, v))
    if not seen:
        out.append((flag, val))
    return out


def get_flag(cfg, flag):
    return dict(cfg).get(flag)


class Search:
    """Coordinate search on seed-2023 validation Recall@20; earlier configs win ties."""

    def __init__(self, runner, variant):
        self.runner = runner
        self.variant = variant
        self.tried = []          # (stage, cfg, result)
        self.best = None         # (cfg, result)

    def stage(self, name, cfgs):
        for cfg in cfgs:
            r = self.runner.run(self.variant, cfg, SELECT_SEED)
            self.tried.append((name, cfg, r))
            if self.best is None or r["val"]["recall@20"] > self.best[1]["val"]["recall@20"]:
                self.best = (cfg, r)
        return self.best[0]


PROTOCOLS = [("3", "5"), ("3", "20"), ("1", "60")]


def protocol_check(runner):
    """LightGCN at the trainer's defaults under three eval-step/patience settings (val only)."""
    out = []
    for step, pat in PROTOCOLS:
        cfg = [("--reg", "1e-6"), ("--keep", "0.8"), ("--eval-step", step), ("--patience", pat)]
        out.append((step, pat, runner.run("lightgcn", cfg, SELECT_SEED)))
    return out


def search_lightgcn(runner):
    s = Search(runner, "lightgcn")
    s.stage("host reg x keep",
            [[("--reg", r), ("--keep", k)] for r, k in
             itertools.product(["1e-6", "1e-7", "1e-5", "1e-4"], ["0.8", "1.0"])])
    return s


def search_rlmrec(runner, lgcn_best):
    s = Search(runner, "rlmrec-con")
    base = [("--irllrec", None), ("--reg", "1e-7"), ("--keep", "1.0"),
            ("--w-kd", "1e-2"), ("--tau-kd", "0.2")]
    host_lgcn = with_flag(with_flag(base, "--reg", get_flag(lgcn_best, "--reg")),
                          "--keep", get_flag(lgcn_best, "--keep"))
    cands = [base] + ([host_lgcn] if host_lgcn != base else [])
    best = s.stage("host: IRLLRec default vs LightGCN's best", cands)
    best = s.stage("w_kd x tau_kd", [
        with_flag(with_flag(best, "--w-kd", w), "--tau-kd", t)
        for w, t in itertools.product(["1e-2", "1e-3", "3e-2", "1e-1"], ["0.2", "0.5"])])
    return s


def search_irllrec(runner, rlm_best):
    s = Search(runner, "irllrec")
    base = list(rlm_best) + [("--w-pair", "2e-2"), ("--tau-pair", "0.2"),
                             ("--w-tran", "5e-4"), ("--w-itm", "1e-4"), ("--intents", "128")]
    best = s.stage("start: RLMRec-Con's choice + paper defaults", [base])
    best = s.stage("w_pair x tau_pair", [
        with_flag(with_flag(best, "--w-pair", w), "--tau-pair", t)
        for w, t in itertools.product(["2e-2", "5e-3", "5e-2", "1e-1"], ["0.2", "0.5"])])
    best = s.stage("intents K", [with_flag(best, "--intents", k) for k in ["128", "32"]])
    best = s.stage("w_tran", [with_flag(best, "--w-tran", w) for w in ["5e-4", "5e-3", "0"]])
    best = s.stage("w_itm", [with_flag(best, "--w-itm", w) for w in ["1e-4", "1e-3", "0"]])
    best = s.stage("w_kd with intents on", [with_flag(best, "--w-kd", w) for w in
                                             [get_flag(best, "--w-kd"), "1e-2", "3e-2"]])
    return s


def dedup(cfgs):
    seen, out = set(), []
    for c in cfgs:
        k = json.dumps(c)
        if k not in seen:
            seen.add(k)
            out.append(c)
    return out


def summarise(results):
    out = {}
    for m in METRICS:
        xs = [r["test"][m] for r in results]
        out[m] = (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0,
                  min(xs), max(xs))
    out["val_recall@20"] = statistics.mean(r["val"]["recall@20"] for r in results)
    return out


def fmt_pm(t):
    return "%.4f ± %.4f" % (t[0], t[1])


def plot(finals, names, path_png, work):
    if shutil.which("gnuplot") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log("gnuplot missing: apt-get install -y gnuplot-nox")
            subprocess.run(["apt-get", "install", "-y", "gnuplot-nox"],
                           stdout=subprocess.DEVNULL)
        if shutil.which("gnuplot") is None:
            log("gnuplot not available: skipping the plot")
            return False
    os.makedirs(os.path.dirname(path_png), exist_ok=True)
    lines = []
    for v, _ in VARIANTS:
        if v not in finals:
            continue
        r = finals[v][SELECT_SEED]
        dat = os.path.join(work, "curve-%s.dat" % v)
        with open(dat, "w") as f:
            for e, x in r["curve"]:
                f.write("%d %.6f\n" % (e, x))
        lines.append("'%s' using 1:2 with lines lw 2 title '%s'" % (dat, names[v]))
    gp = os.path.join(work, "plot.gp")
    with open(gp, "w") as f:
        f.write("set terminal pngcairo noenhanced size 1100,700 font 'sans,11'\n")
        f.write("set output '%s'\n" % path_png)
        f.write("set title 'MovieLens-100K: validation Recall@20 vs epoch (seed %d; text = "
                "GloVe + SIF, not an LLM)'\n" % SELECT_SEED)
        f.write("set xlabel 'epoch'\nset ylabel 'validation Recall@20'\n")
        f.write("set key bottom right\nset grid\nset yrange [0.15:*]\n")
        f.write("plot " + ", \\\n     ".join(lines) + "\n")
    subprocess.run(["gnuplot", gp], check=True)
    return True


def git_rev():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def write_report(path, runner, protocol, searches, chosen, finals, plotted, started):
    names = dict(VARIANTS)
    base = summarise(finals["lightgcn"].values()) if "lightgcn" in finals else None
    summ = {v: summarise(finals[v].values()) for v in finals}
    L = []
    w = L.append
    w("# MovieLens-100K: IRLLRec with real text\n")
    w("**The text embeddings come from GloVe word vectors (pretrained GloVe 6B 100-d) "
      "averaged with SIF weighting (smooth inverse frequency, first principal component "
      "removed). They do NOT come from an LLM.** The texts are templates filled from "
      "MovieLens metadata, one-sentence Wikipedia summaries and each user's TRAIN "
      "interactions and low ratings (docs/text-embeddings.md). So these figures measure "
      "IRLLRec's machinery fed with cheap sentence vectors, not the paper's LLM setting.\n")
    w("Generated by `scripts/ml100k/run_experiments.py` on %s (git %s, trainer + data "
      "fingerprint %s). Every number on this page comes from that one command:\n" % (
          time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), git_rev(),
          runner.fingerprint[:12]))
    w("```sh\ncmake -S . -B build && cmake --build build -j2 && "
      "python3 scripts/ml100k/run_experiments.py\n```\n")
    w("It builds `out/ml100k` (texts + embeddings, `scripts/ml100k/make_embeddings.sh`) if "
      "missing, runs the validation grid, the three seeds of each chosen configuration, "
      "and writes this page and the plot. Runs are cached under `out/ml100k-runs/` keyed "
      "by the exact command line, the trainer binary and the data files (the trainer is "
      "bitwise deterministic for a seed, for any thread count); `--fresh` reruns all. "
      "This invocation trained %d new runs in %.0f s (wall %.0f s).\n" % (
          runner.n_new, runner.seconds_new, time.time() - started))

    # verdict
    if base and "irllrec" in summ:
        ir, rl = summ["irllrec"], summ.get("rlmrec-con")
        dr = ir["recall@20"][0] / base["recall@20"][0] - 1
        dn = ir["ndcg@20"][0] / base["ndcg@20"][0] - 1
        beats_rl = rl is not None and ir["recall@20"][0] > rl["recall@20"][0] and \
            ir["ndcg@20"][0] > rl["ndcg@20"][0]
        ok = dr >= 0.05 and dn >= 0.05 and beats_rl
        w("## Target (issue 5): %s\n" % ("MET" if ok else "NOT MET"))
        w("Target: LightGCN + IRLLRec beats plain LightGCN by >= 5%% relative on mean test "
          "Recall@20 and NDCG@20 over seeds %s, and beats RLMRec-Con.\n" %
          ", ".join(map(str, SEEDS)))
        w("- IRLLRec vs LightGCN: Recall@20 %+.1f%%, NDCG@20 %+.1f%% (need >= +5%% on both): %s." % (
            100 * dr, 100 * dn, "yes" if dr >= 0.05 and dn >= 0.05 else "NO"))
        if rl is not None:
            w("- IRLLRec vs RLMRec-Con: Recall@20 %.4f vs %.4f, NDCG@20 %.4f vs %.4f: %s.\n" % (
                ir["recall@20"][0], rl["recall@20"][0], ir["ndcg@20"][0], rl["ndcg@20"][0],
                "beats it on both" if beats_rl else "does NOT beat it on both"))
        if not ok:
            n_ir = sum(len(x.tried) for v, x in searches if v == "irllrec")
            w("The target is not met. What was tried: %d IRLLRec configurations on "
              "validation (w_pair x tau_pair, intents K, w_tran, w_itm, w_kd, on the host "
              "and profile settings chosen for RLMRec-Con), all listed below with their "
              "validation scores; the chosen one was then run with the three seeds. Test "
              "metrics were never used to choose anything." % n_ir)
        w("")

    w("## Test metrics (mean ± sample std over seeds %s; min-max below)\n" %
      ", ".join(map(str, SEEDS)))
    w("| variant | R@5 | R@10 | R@20 | N@5 | N@10 | N@20 | ΔR@20 vs LightGCN | ΔN@20 vs LightGCN |")
    w("|---|---|---|---|---|---|---|---|---|")
    for v, _ in VARIANTS:
        if v not in summ:
            continue
        s = summ[v]
        dr = dn = "-"
        if base and v != "lightgcn":
            dr = "%+.1f%%" % (100 * (s["recall@20"][0] / base["recall@20"][0] - 1))
            dn = "%+.1f%%" % (100 * (s["ndcg@20"][0] / base["ndcg@20"][0] - 1))
        w("| %s | %s | %s |" % (names[v], " | ".join(fmt_pm(s[m]) for m in METRICS),
                                " | ".join([dr, dn])))
    w("")
    w("Min-max over the seeds:\n")
    w("| variant | R@5 | R@10 | R@20 | N@5 | N@10 | N@20 | mean val R@20 |")
    w("|---|---|---|---|---|---|---|---|")
    for v, _ in VARIANTS:
        if v in summ:
            s = summ[v]
            w("| %s | %s | %.4f |" % (names[v], " | ".join(
                "%.4f-%.4f" % (s[m][2], s[m][3]) for m in METRICS), s["val_recall@20"]))
    w("")
    w("Per run (test at the parameters with the best validation Recall@20):\n")
    w("| variant | seed | best epoch | epochs run | wall s | val R@20 | test R@20 | test N@20 |")
    w("|---|---|---|---|---|---|---|---|")
    for v, _ in VARIANTS:
        for seed in SEEDS:
            if v in finals and seed in finals[v]:
                r = finals[v][seed]
                w("| %s | %d | %d | %d | %s | %.4f | %.4f | %.4f |" % (
                    v, seed, r["best_epoch"], r["epochs_run"], r["wall_seconds"],
                    r["val"]["recall@20"], r["test"]["recall@20"], r["test"]["ndcg@20"]))
    w("")
    if plotted:
        w("![validation Recall@20 against epoch](img/ml100k-val-recall.png)\n")
        w("Validation Recall@20 against epoch for each variant's chosen configuration, seed "
          "%d (`docs/img/ml100k-val-recall.png`).\n" % SELECT_SEED)
    else:
        w("(No plot: gnuplot was not available.)\n")

    w("## Settings\n")
    w("Data: `../shared/data/ml-100k` (943 users, 1682 items; 33,210 train, 11,076 val, "
      "11,076 test positives, ratings >= 4). Host: `build/examples/lightgcn/lightgcn_train` "
      "(docs/lightgcn.md), 2 threads, OPENBLAS_NUM_THREADS=1.\n")
    w("Common to every run: `%s`. Evaluation as DESIGN.md section 6: full ranking, train "
      "items masked, validation every 3 epochs from epoch 0, keep the parameters with the "
      "strictly best validation Recall@20, then TEST there.\n" % cfg_str(COMMON))
    w("**Eval step and patience.** The paper protocol is eval step 3, patience 5. On this "
      "split an epoch is only 9 batches (33,210 pairs / 4096) and validation Recall@20 "
      "still creeps up late in training, so patience 5 (15 epochs) can stop a run on a "
      "noise dip. LightGCN at the trainer defaults (reg 1e-6, keep 0.8), seed %d, "
      "validation only:\n" % SELECT_SEED)
    w("| eval step | patience | best epoch | epochs run | evaluations | best val R@20 |")
    w("|---|---|---|---|---|---|")
    for step, pat, r in protocol:
        w("| %s | %s | %d | %d | %d | %.4f |" % (step, pat, r["best_epoch"], r["epochs_run"],
                                               r["evaluations"], r["val"]["recall@20"]))
    w("\nA validation costs about 5 ms here, so every run uses eval step 3 (the paper's) "
      "with patience 20 (60 epochs without a new best): the protocol's shape, with less "
      "chance of stopping on noise. This was fixed after looking at these validation "
      "curves only, before any text variant ran, and is the same for every variant.\n")
    w("Chosen configurations (selected on seed %d validation Recall@20; the ablations are "
      "the chosen IRLLRec configuration with one weight set to 0, not re-tuned):\n" % SELECT_SEED)
    for v, _ in VARIANTS:
        if v in chosen:
            w("- **%s**: `%s`" % (names[v], cfg_str(chosen[v])))
    w("\nWith `--irllrec` the trainer's hook uses the paper preset (teacher starts equal "
      "to the student, L_tran counted once, reg over trainable parameters only; "
      "docs/hook.md), exact N x N translation, ITM alpha 0.6, momentum 0.999, hook Adam lr "
      "1e-3, hook reg 1e-7, unless a flag above says otherwise. RLMRec-Con runs on a "
      "folder holding only the split and the profile pair (`usr_prf.npy`, `itm_prf.npy`), "
      "so the trainer switches the intent terms off.\n")

    w("## Every configuration tried (validation only, seed %d)\n" % SELECT_SEED)
    w("Coordinate search: each stage varies one group of settings around the best so far, "
      "the first-listed (default) value wins ties; test metrics of these runs were never "
      "looked at for selection.\n")
    for v, s in searches:
        w("### %s\n" % names[v])
        w("| stage | configuration | val R@20 | val N@20 | best epoch | chosen |")
        w("|---|---|---|---|---|---|")
        seen = set()
        for stage, cfg, r in s.tried:
            k = json.dumps(cfg)
            dup = " (repeat)" if k in seen else ""
            seen.add(k)
            mark = "**yes**" if cfg == chosen[v] and not dup else ""
            w("| %s | `%s`%s | %.4f | %.4f | %d | %s |" % (
                stage, cfg_str(cfg), dup, r["val"]["recall@20"], r["val"]["ndcg@20"],
                r["best_epoch"], mark))
        w("")
    text = "\n".join(L) + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--data", default=os.path.join(REPO, "out", "ml100k"))
    ap.add_argument("--runs", default=os.path.join(REPO, "out", "ml100k-runs"))
    ap.add_argument("--docs", default=os.path.join(REPO, "docs"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="ignore cached runs")
    ap.add_argument("--variants", default=",".join(v for v, _ in VARIANTS),
                    help="comma-separated subset (default: all)")
    args = ap.parse_args()
    started = time.time()
    want = args.variants.split(",")
    r = Runner(args)
    r.setup()
    if not r.has_irllrec and want != ["lightgcn"]:
        sys.exit("run_experiments: %s has no --irllrec; run with --variants lightgcn "
                 "or build a trainer with the IRLLRec hook" % r.trainer)

    protocol = protocol_check(r)
    searches, chosen = [], {}
    s = search_lightgcn(r)
    searches.append(("lightgcn", s))
    chosen["lightgcn"] = s.best[0]
    if any(v != "lightgcn" for v in want):
        s = search_rlmrec(r, chosen["lightgcn"])
        searches.append(("rlmrec-con", s))
        chosen["rlmrec-con"] = s.best[0]
        s = search_irllrec(r, chosen["rlmrec-con"])
        searches.append(("irllrec", s))
        chosen["irllrec"] = s.best[0]
        for v, flag in ABLATIONS.items():
            chosen[v] = with_flag(chosen["irllrec"], flag, "0")

    finals = {}
    for v, _ in VARIANTS:
        if v in want:
            finals[v] = {seed: r.run(v, chosen[v], seed) for seed in SEEDS}
    names = dict(VARIANTS)
    work = os.path.join(args.runs, "plot")
    os.makedirs(work, exist_ok=True)
    png = os.path.join(args.docs, "img", "ml100k-val-recall.png")
    plotted = plot(finals, names, png, work)
    out = os.path.join(args.docs, "results-ml100k.md")
    write_report(out, r, protocol, searches,
                 chosen, finals, plotted, started)
    with open(os.path.join(args.runs, "summary.json"), "w") as f:
        json.dump({v: {"config": cfg_str(chosen[v]),
                       "test": summarise(finals[v].values())} for v in finals}, f, indent=1)
    log("wrote %s%s (%d new runs, %.0f s)" % (out, " and " + png if plotted else "",
                                              r.n_new, time.time() - started))


if __name__ == "__main__":
    main()
