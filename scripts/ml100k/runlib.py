"""Shared machinery of the MovieLens-100K runners: the cached trainer runner, config
helpers, the coordinate search on validation Recall@20 and summary statistics.

Used by run_experiments.py (the LightGCN page, docs/results-ml100k.md), backbones.py
(the backbone table, docs/results-backbones.md) and scripts/robustness/run.py (one Runner
per noisy dataset, docs/results-robustness.md). Python 3 standard library only."""
import hashlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SEEDS = (2023, 2024, 2025)
SELECT_SEED = 2023
KS = (5, 10, 20)
METRICS = ["recall@%d" % k for k in KS] + ["ndcg@%d" % k for k in KS]
DATA_FILES = ("train.txt", "val.txt", "test.txt", "stats.json")
TEXT_FILES = ("usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy")

# Shared by every run. lr 5e-3 (the paper: 1e-3) because an IRLLRec epoch costs seconds
# here against hundredths for LightGCN, and lr 1e-3 needs 200-400 epochs on this split;
# at 5e-3 LightGCN reaches the same validation Recall@20 in far fewer epochs (checked
# below, validation only). eval-step 3 is the paper's; patience 10 (30 epochs) instead of
# 5, so a noise dip does not end a run (also checked below).
COMMON = [("--dim", "32"), ("--layers", "3"), ("--lr", "5e-3"), ("--batch", "4096"),
          ("--epochs", "3000"), ("--eval-step", "3"), ("--patience", "10")]

# the name on every line this module prints; a runner that reuses it sets its own
PROG = "run_experiments"


def log(msg):
    print(PROG + ": " + msg, file=sys.stderr, flush=True)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Runner:
    def __init__(self, args):
        self.args = args
        # --trainer names a binary outside the build tree, e.g. the one a run cache was
        # built with (its md5 is in every cache key)
        self.trainer = getattr(args, "trainer", None) or os.path.join(
            args.build, "examples", "lightgcn", "lightgcn_train")
        self.fingerprint = None
        self.n_new = 0
        self.seconds_new = 0.0
        self.skipped = []
        self.used = {}
        self.lock = threading.Lock()
        self.run_threads = max(1, args.threads // args.jobs)
        # variants cheap enough (seconds) to run even past --deadline
        self.cheap = {"lightgcn"}

    def setup(self):
        a = self.args
        if not all(os.path.exists(os.path.join(a.data, f)) for f in DATA_FILES + TEXT_FILES):
            log("%s incomplete: building it with make_embeddings.sh" % a.data)
            tool = os.path.join(a.build, "examples", "textembed", "irllrec-textembed")
            subprocess.run([os.path.join(HERE, "make_embeddings.sh"), "--out", a.data,
                            "--tool", tool], check=True)
        if not os.access(self.trainer, os.X_OK):
            sys.exit("%s: no trainer at %s (cmake -S . -B build && "
                     "cmake --build build -j2)" % (PROG, self.trainer))
        helptext = subprocess.run([self.trainer, "--help"], capture_output=True,
                                  text=True).stdout + subprocess.run(
            [self.trainer, "--help"], capture_output=True, text=True).stderr
        self.has_irllrec = "--irllrec" in helptext
        self.has_model = "--model" in helptext
        self.helptext = helptext
        h = hashlib.md5(md5_file(self.trainer).encode())
        for f in DATA_FILES + TEXT_FILES:
            h.update(md5_file(os.path.join(a.data, f)).encode())
        self.fingerprint = h.hexdigest()
        with open(os.path.join(a.data, "stats.json")) as f:
            self.stats = json.load(f)
        default = os.path.join(REPO, "out", "ml100k")
        self.data_label = ("`out/ml100k`, built from `../shared/data/ml-100k`"
                           if os.path.abspath(a.data) == default else "`%s`" % a.data)
        # RLMRec-Con: the trainer switches a text pair off when its files are absent, so
        # this folder holds the split and the profile pair only.
        self.data_prf = os.path.join(a.runs, "data-profile-only")
        os.makedirs(self.data_prf, exist_ok=True)
        for f in DATA_FILES + TEXT_FILES[:2]:
            dst = os.path.join(self.data_prf, f)
            src = os.path.abspath(os.path.join(a.data, f))
            if os.path.islink(dst) and os.readlink(dst) == src:
                continue
            if os.path.lexists(dst):
                os.remove(dst)
            os.symlink(src, dst)

    def data_for(self, variant):
        """RLMRec-Con variants ('rlmrec-con', 'sgl-rlmrec-con', ...) see the profile pair only."""
        return self.data_prf if variant.endswith("rlmrec-con") else self.args.data

    def portable(self, argv):
        """argv with the data folders named by role, not path: the data's content is in the
        fingerprint, so a cache copied to another checkout is still found."""
        names = {os.path.abspath(self.args.data): "DATA",
                 os.path.abspath(self.data_prf): "DATA-PROFILE-ONLY"}
        return [names.get(x, x) for x in argv]

    def locate(self, variant, cfg, seed):
        """The trainer argv of a run and its cache folder."""
        argv = ["--data", os.path.abspath(self.data_for(variant))]
        # a cfg flag that is also in COMMON replaces it in place: one argv per setting
        over = dict(cfg)
        over.setdefault("--epochs", str(self.args.max_epochs))
        merged = [(f, over.get(f, v)) for f, v in COMMON] + \
            [(f, v) for f, v in cfg if f not in dict(COMMON)]
        for flag, val in merged:
            argv += [flag] if val is None else [flag, val]
        argv += ["--seed", str(seed), "--threads", str(self.run_threads), "--quiet"]
        key = hashlib.md5(json.dumps([self.fingerprint, self.portable(argv)]).encode()
                          ).hexdigest()[:12]
        return argv, os.path.join(self.args.runs, variant, "%s-s%d" % (key, seed))

    def cached(self, variant, cfg, seed):
        """The cache folder of a finished run of exactly this command, or None."""
        argv, out = self.locate(variant, cfg, seed)
        if self.args.fresh or not os.path.exists(os.path.join(out, "result.json")) or \
                not os.path.exists(os.path.join(out, "cmd.json")):
            return None
        with open(os.path.join(out, "cmd.json")) as f:
            stored = json.load(f).get("argv", [])
        same = self.by_role(stored, variant) == self.portable(argv)
        return out if same else None

    def by_role(self, argv, variant):
        """A stored argv with its --data folder named by the role the variant gives it,
        whatever path it had when it ran: a cache copied with its data to another
        checkout records the old paths in cmd.json, while the folder's key (fingerprint
        of the data's content, portable argv) already matches."""
        out = list(self.portable(argv))
        role = "DATA-PROFILE-ONLY" if self.data_for(variant) == self.data_prf else "DATA"
        for i in range(len(out) - 1):
            if out[i] == "--data":
                out[i + 1] = role
        return out

    def run(self, variant, cfg, seed):
        """cfg: list of (flag, value-or-None). Returns the result dict plus the log, or
        None for a run not started (past --deadline, or --page-only)."""
        hit = self.cached(variant, cfg, seed)
        if hit:
            r = self.load(hit)
            r["new"] = False
            return r
        argv, out = self.locate(variant, cfg, seed)
        if getattr(self.args, "page_only", False) or (
                self.args.deadline and time.time() > self.args.deadline and
                variant not in self.cheap):
            with self.lock:
                self.skipped.append((variant, cfg, seed))
            log("%-16s seed %d %s: NOT RUN (%s)" % (variant, seed, cfg_str(cfg), "--page-only"
                                                    if getattr(self.args, "page_only", False)
                                                    else "past --deadline"))
            return None
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
            sys.exit("%s: trainer failed (rc %d): %s\n%s" % (PROG, rc, " ".join(cmd), tail))
        with open(os.path.join(out, "cmd.json"), "w") as f:
            json.dump({"argv": argv, "wall_seconds": round(dt, 2),
                       "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                       "load": os.getloadavg()[0]}, f)
        with self.lock:
            self.n_new += 1
            self.seconds_new += dt
        r = self.load(out)
        r["new"] = True
        log("%-16s seed %d %-60s val R@20 %.4f  (%.1f s)" % (
            variant, seed, cfg_str(cfg), r["val"]["recall@20"], dt))
        return r

    def remember(self, r):
        if r is not None:
            with self.lock:
                self.used[r["dir"]] = r
        return r

    def run_many(self, jobs):
        """jobs: [(variant, cfg, seed)]; results in order (None: skipped at the deadline)."""
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            return list(ex.map(lambda j: self.remember(self.run(*j)), jobs))

    @staticmethod
    def load(out):
        with open(os.path.join(out, "result.json")) as f:
            r = json.load(f)
        curve, bpr = [], []
        with open(os.path.join(out, "log.jsonl")) as f:
            for line in f:
                d = json.loads(line)
                if d.get("split") == "val":
                    curve.append((d["epoch"], d["recall@20"]))
                    bpr.append((d["epoch"], d.get("bpr", d.get("loss"))))
        with open(os.path.join(out, "cmd.json")) as f:
            cmd = json.load(f)
        r["curve"] = curve
        r["bpr_curve"] = bpr
        r["dir"] = out
        r["wall_seconds"] = cmd.get("wall_seconds")
        r["when"] = cmd.get("when")
        r["load"] = cmd.get("load")
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
        self.first = None

    def stage(self, name, cfgs):
        cfgs = dedup(cfgs)
        return self.record(name, cfgs, self.runner.run_many(
            [(self.variant, c, SELECT_SEED) for c in cfgs]))

    def record(self, name, cfgs, results):
        """Enter seed-2023 results of one stage (run elsewhere, e.g. several variants'
        stages in one batch); returns the best configuration so far."""
        for cfg, r in zip(cfgs, results):
            self.tried.append((name, cfg, r))
            if r is None:
                continue
            if self.best is None or r["val"]["recall@20"] > self.best[1]["val"]["recall@20"]:
                self.best = (cfg, r)
        if self.best is None:
            # nothing of this variant ran before the deadline: carry the first-listed
            # configuration on, so later stages can list what they would have run
            self.first = self.first or cfgs[0]
            return self.first
        return self.best[0]

    def chosen(self):
        return self.best[0] if self.best else self.first


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
    out["n"] = len(xs)
    return out

def flag_name(flag):
    """'--w-kd' -> 'w_kd', the name the page uses for a setting."""
    return flag[2:].replace("-", "_")


def fmt_count(x):
    return "{:,}".format(x) if isinstance(x, int) else "?"


def span(xs):
    return "?" if not xs else ("%d" % xs[0] if min(xs) == max(xs) else
                               "%d-%d" % (min(xs), max(xs)))


def fmt_pm(t):
    return "%.4f ± %.4f" % (t[0], t[1])


def git_rev():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


# LightGCN's host grid, shared by both pages (so their runs share the cache)
LGCN_REG = ["1e-6", "1e-7", "1e-5", "1e-4"]
LGCN_KEEP = ["0.8", "1.0"]


def search_lightgcn(runner):
    s = Search(runner, "lightgcn")
    s.stage("host reg x keep",
            [[("--reg", r), ("--keep", k)] for r, k in
             itertools.product(LGCN_REG, LGCN_KEEP)])
    return s
