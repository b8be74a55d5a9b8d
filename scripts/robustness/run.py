#!/usr/bin/env python3
"""Robustness experiment (issue 14): noisy copies of MovieLens-100K, every method at the
settings already chosen on validation for docs/results-ml100k.md (NOT re-tuned per noise
level), three seeds, through runlib's cached Runner; writes docs/results-robustness.md and
docs/img/robustness-*.png from whatever is cached.

    python3 scripts/robustness/run.py [--build DIR] [--data DIR] [--runs DIR] [--docs DIR]
        [--only interactions,text,mislead-users,mislead-items,sparsity] [--levels 0,0.1]
        [--methods lightgcn,irllrec,...] [--seeds 2023,...] [--max-runs N]
        [--dry-run] [--page-only] [--max-epochs N] [--jobs 2] [--threads 2]

Conditions: the clean split (every axis's 0 point) and, built with inject_noise.py
(noise seed --noise-seed, default 2025), interaction noise 5/10/20/25% fake train edges,
Gaussian text noise 0.25/0.5/1.0 of each row's norm, misleading text for 10/25/50% of the
users or of the items. Sparsity: test-user quartiles of clean train degree, read from the
clean runs (no extra runs). The LightGCN-host methods run on every condition; SGL and
SimGCL, plain and + IRLLRec, on the interaction-noise levels.

--only/--levels/--methods/--seeds/--max-runs select what is RUN; the page always covers
the whole grid and marks every cell whose runs are not cached as "not run". --dry-run
prints the number of runs and a CPU-time estimate from measured epoch costs and runs
nothing. Every bad argument is refused with one line on stderr, exit 2. Runs are cached
under RUNS/<condition>/<variant>/<key>-s<seed>/ (runlib.Runner), so an interrupted run
resumes. Python 3 standard library only (the plots use gnuplot when it is installed).
"""
import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ml100k"))
sys.path.insert(0, HERE)
import runlib  # noqa: E402
from runlib import DATA_FILES, REPO, SEEDS, TEXT_FILES, Runner, md5_file, with_flag  # noqa: E402
from backbones import BASE_SECONDS, HOST_FACTOR, TEXT_SECONDS, text_cfg  # noqa: E402

runlib.PROG = "robustness"
INJECT = os.path.join(HERE, "inject_noise.py")
NOISE_SEED = 2025

# (axis, title, unit, levels, inject_noise.py arguments before the level)
AXES = [
    ("interactions", "Interaction noise", "fake train edges / train edges",
     ["0.05", "0.1", "0.2", "0.25"], ["interactions", "--ratio"]),
    ("text", "Gaussian text noise", "noise norm / row norm",
     ["0.25", "0.5", "1.0"], ["text", "--scale"]),
    ("mislead-users", "Misleading user text", "share of users given another user's text",
     ["0.1", "0.25", "0.5"], ["mislead", "--side", "users", "--fraction"]),
    ("mislead-items", "Misleading item text", "share of items given another item's text",
     ["0.1", "0.25", "0.5"], ["mislead", "--side", "items", "--fraction"]),
]
AXIS_NAMES = [a for a, *_ in AXES] + ["sparsity"]

# The settings chosen on seed-2023 validation Recall@20 on the clean split:
# docs/results-ml100k.md (LightGCN host and hook) and docs/results-backbones.md (SGL,
# SimGCL hosts). Fixed here; no noise level re-tunes anything.
LGCN_HOST = [("--reg", "1e-5"), ("--keep", "0.8")]
SGL_HOST = [("--model", "sgl"), ("--reg", "1e-5"), ("--view-keep", "0.8"),
            ("--cl-weight", "1e-2"), ("--cl-tau", "0.5")]
SIMGCL_HOST = [("--model", "simgcl"), ("--reg", "1e-5"), ("--cl-weight", "1e-2"),
               ("--cl-tau", "0.2"), ("--eps", "0.9")]
IRL = text_cfg(LGCN_HOST, "irllrec")
# (variant = cache folder, label, configuration, LightGCN-host method?)
METHODS = [
    ("lightgcn", "LightGCN", list(LGCN_HOST), True),
    ("rlmrec-con", "LightGCN + RLMRec-Con", text_cfg(LGCN_HOST, "rlmrec-con"), True),
    ("irllrec", "LightGCN + IRLLRec", IRL, True),
    ("irllrec-no-tran", "IRLLRec without translation (w_tran 0)",
     with_flag(IRL, "--w-tran", "0"), True),
    ("irllrec-no-itm", "IRLLRec without ITM (w_itm 0)", with_flag(IRL, "--w-itm", "0"), True),
    ("sgl", "SGL", list(SGL_HOST), False),
    ("sgl-irllrec", "SGL + IRLLRec", text_cfg(SGL_HOST, "irllrec"), False),
    ("simgcl", "SimGCL", list(SIMGCL_HOST), False),
    ("simgcl-irllrec", "SimGCL + IRLLRec", text_cfg(SIMGCL_HOST, "irllrec"), False),
]
METHOD = {v: (label, cfg, lg) for v, label, cfg, lg in METHODS}
# cheapest first: an interrupted or --max-runs-limited run leaves whole cheap methods
COST_ORDER = ["lightgcn", "sgl", "simgcl", "rlmrec-con", "irllrec-no-tran", "irllrec",
              "irllrec-no-itm", "simgcl-irllrec", "sgl-irllrec"]


class Refusal(Exception):
    pass


def log(msg):
    print("robustness: " + msg, file=sys.stderr, flush=True)


def cond_name(axis, level):
    return "clean" if float(level) == 0 else "%s-%s" % (axis, level)


def conditions():
    """[(name, axis, level)] of the whole grid; the clean split first (axis None)."""
    out = [("clean", None, "0")]
    for axis, _, _, levels, _ in AXES:
        out += [(cond_name(axis, lv), axis, lv) for lv in levels]
    return out


def methods_for(axis):
    """The methods run on one axis's noisy conditions (the clean split: all of them)."""
    return [v for v, _, _, lg in METHODS if lg or axis in (None, "interactions")]


def grid():
    """Every planned run (condition, variant, seed) of the page, in priority order."""
    jobs = []
    conds = conditions()
    plain = [v for v in COST_ORDER if v in ("lightgcn", "sgl", "simgcl")]
    text = [v for v in COST_ORDER if v not in plain]
    for seed in SEEDS:
        # the plain hosts (seconds to a minute a run) first, then the text methods
        # condition by condition, so what finishes first are comparable pairs
        for v in plain:
            jobs += [(name, v, seed) for name, axis, _ in conds if v in methods_for(axis)]
        for name, axis, _ in conds:
            jobs += [(name, v, seed) for v in text if v in methods_for(axis)]
    return jobs


# ---- data folders ------------------------------------------------------------------

def source_stamp(data):
    return {f: md5_file(os.path.join(data, f)) for f in DATA_FILES + TEXT_FILES
            if os.path.exists(os.path.join(data, f))}


def build_condition(args, name, axis, level):
    """The noisy dataset folder of one condition, built with inject_noise.py unless the
    folder beside its stamp was built from the same clean files with the same command."""
    if axis is None:
        return os.path.abspath(args.data)
    spec = dict((a, x) for a, _, _, _, x in AXES)[axis]
    folder = os.path.join(args.runs, "data", name)
    cmd = [sys.executable, INJECT] + spec[:1] + [os.path.abspath(args.data), folder] + \
        spec[1:] + [level, "--seed", str(args.noise_seed)]
    stamp_path = folder + ".stamp.json"
    stamp = {"argv": cmd[2:], "source": source_stamp(args.data)}
    if os.path.isdir(folder) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if json.load(f) == stamp:
                return folder
    if os.path.lexists(folder):
        shutil.rmtree(folder)
    os.makedirs(os.path.dirname(folder), exist_ok=True)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise Refusal("inject_noise.py failed for %s: %s" % (name, p.stderr.strip()))
    with open(stamp_path, "w") as f:
        json.dump(stamp, f)
    log("built %s" % folder)
    return folder


def quartile_groups(args):
    """inject_noise.py quartiles of the clean split (test users by train degree)."""
    out = os.path.join(args.runs, "data", "quartiles.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    p = subprocess.run([sys.executable, INJECT, "quartiles", os.path.abspath(args.data), out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Refusal("inject_noise.py quartiles failed: %s" % p.stderr.strip())
    with open(out) as f:
        return json.load(f)["groups"]


class Grid:
    """One runlib.Runner per condition (each has its own data fingerprint and cache
    folder), and a lookup of the cached result of every planned run."""

    def __init__(self, args):
        self.args = args
        self.runners = {}
        self.folders = {}
        for name, axis, level in conditions():
            folder = build_condition(args, name, axis, level)
            sub = argparse.Namespace(**vars(args))
            sub.data = folder
            sub.runs = os.path.join(args.runs, name)
            os.makedirs(sub.runs, exist_ok=True)
            r = Runner(sub)
            r.setup()
            self.runners[name] = r
            self.folders[name] = folder
        self.trainer = self.runners["clean"].trainer
        if not self.runners["clean"].has_irllrec:
            raise Refusal("%s has no --irllrec: build the trainer with the IRLLRec hook"
                          % self.trainer)
        self.stats = self.runners["clean"].stats

    def cached(self, cond, variant, seed):
        r = self.runners[cond]
        hit = r.cached(variant, METHOD[variant][1], seed)
        if not hit:
            return None
        res = r.load(hit)
        res["variant"] = variant
        res["cond"] = cond
        return res

    def run(self, cond, variant, seed):
        res = self.runners[cond].run(variant, METHOD[variant][1], seed)
        if res is not None:
            res["variant"] = variant
            res["cond"] = cond
        return res

    def results(self):
        return {job: self.cached(*job) for job in grid()}

    # -- time estimate from measured epoch costs --------------------------------------
    def estimate(self, jobs, known):
        """Seconds of CPU (one thread) for jobs: per variant, the median s/epoch of its
        cached runs times the median epochs run, scaled by the condition's train edges;
        variants with no cached run use backbones.py's per-run guesses."""
        per = {}
        for r in known.values():
            if r is None or not r.get("epochs_run"):
                continue
            edges = self.runners[r["cond"]].stats.get("train") or 1
            s = (r.get("wall_seconds") or r["total_seconds"]) / r["epochs_run"] / edges
            per.setdefault(r["variant"], []).append((s, r["epochs_run"]))
        total, measured = 0.0, 0
        for cond, v, _ in jobs:
            edges = self.runners[cond].stats.get("train") or 1
            if v in per:
                measured += 1
                total += statistics.median(s for s, _ in per[v]) * edges * \
                    statistics.median(e for _, e in per[v])
            else:
                host = v.split("-")[0] if v.startswith(("sgl", "simgcl")) else "lightgcn"
                kind = "base" if v in ("lightgcn", "sgl", "simgcl") else (
                    "rlmrec-con" if v == "rlmrec-con" else "irllrec")
                total += BASE_SECONDS[host] if kind == "base" else \
                    TEXT_SECONDS[kind] * HOST_FACTOR[host]
        return total, measured


def parse_list(text, known, what):
    xs = [x for x in text.split(",") if x]
    bad = [x for x in xs if x not in known]
    if bad or not xs:
        raise Refusal("unknown %s %r (known: %s)" % (what, ",".join(bad) or text,
                                                     ",".join(map(str, known))))
    return xs


def selected(args, known):
    """The planned runs the options select to RUN (a subset of grid())."""
    only = parse_list(args.only, AXIS_NAMES, "--only axis") if args.only else AXIS_NAMES
    methods = parse_list(args.methods, [v for v, *_ in METHODS], "--methods method") \
        if args.methods else [v for v, *_ in METHODS]
    seeds = [int(s) for s in parse_list(args.seeds, [str(s) for s in SEEDS], "--seeds seed")] \
        if args.seeds else list(SEEDS)
    levels = None
    if args.levels:
        all_levels = sorted({"0"} | {lv for *_, lvs, _ in AXES for lv in lvs}, key=float)
        levels = [float(x) for x in parse_list(args.levels, all_levels, "--levels level")]
    axis_of = {name: axis for name, axis, _ in conditions()}
    level_of = {name: float(lv) for name, _, lv in conditions()}
    out = []
    for cond, v, seed in grid():
        axis = axis_of[cond]
        # the clean split is the 0 point of every axis and the whole sparsity study
        in_axis = axis in only if axis else True
        if not in_axis or v not in methods or seed not in seeds:
            continue
        if axis is None and not METHOD[v][2] and "interactions" not in only:
            continue   # SGL and SimGCL's clean runs serve the interaction axis only
        if levels is not None and level_of[cond] not in levels:
            continue
        out.append((cond, v, seed))
    return out


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line on stderr, exit 2 (argparse's default adds the usage text)."""
        print("robustness: error: %s (see --help)" % message, file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    ap = Parser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--data", default=os.path.join(REPO, "out", "ml100k"),
                    help="the clean dataset folder (built by make_embeddings.sh if missing)")
    ap.add_argument("--runs", default=os.path.join(REPO, "out", "robustness"),
                    help="run cache and noisy data folders (outside git: out/ is ignored)")
    ap.add_argument("--docs", default=os.path.join(REPO, "docs"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2, help="concurrent trainer runs")
    ap.add_argument("--max-epochs", type=int, default=3000)
    ap.add_argument("--noise-seed", type=int, default=NOISE_SEED)
    ap.add_argument("--only", help="axes to run: " + ",".join(AXIS_NAMES))
    ap.add_argument("--levels", help="noise levels to run, e.g. 0,0.1,0.25 (0: clean)")
    ap.add_argument("--methods", help="methods to run: " + ",".join(v for v, *_ in METHODS))
    ap.add_argument("--seeds", help="seeds to run: " + ",".join(map(str, SEEDS)))
    ap.add_argument("--max-runs", type=int, default=None, help="start at most N new runs")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the number of runs and a CPU-time estimate; run nothing")
    ap.add_argument("--page-only", action="store_true",
                    help="run nothing; write the page from the cache")
    ap.add_argument("--fresh", action="store_true", help="ignore cached runs")
    args = ap.parse_args(argv)
    try:
        return drive(args)
    except Refusal as e:
        print("robustness: error: %s" % e, file=sys.stderr)
        return 2


def drive(args):
    for flag in ("threads", "jobs", "max_epochs"):
        if getattr(args, flag) < 1:
            raise Refusal("--%s must be >= 1" % flag.replace("_", "-"))
    if args.max_runs is not None and args.max_runs < 0:
        raise Refusal("--max-runs must be >= 0")
    if args.jobs > args.threads:
        raise Refusal("--jobs %d needs --threads >= %d (one thread per run at least)"
                      % (args.jobs, args.jobs))
    if args.dry_run and args.page_only:
        raise Refusal("--dry-run and --page-only exclude each other")
    if not os.access(os.path.join(args.build, "examples", "lightgcn", "lightgcn_train"),
                     os.X_OK):
        raise Refusal("no trainer at %s/examples/lightgcn/lightgcn_train (cmake -S . -B "
                      "build && cmake --build build -j2)" % args.build)
    args.deadline = None
    args.runs = os.path.abspath(args.runs)
    want = selected(args, None)
    started = time.time()
    g = Grid(args)
    known = g.results()
    todo = [j for j in want if known[j] is None]
    if args.max_runs is not None:
        todo = todo[:args.max_runs]
    secs, measured = g.estimate(todo, known)
    log("grid %d runs, %d cached; selected %d, %d to run now; estimate %.1f CPU-hours "
        "(%.0f s; %d of %d from measured epoch costs), ~%.1f h wall at %d at a time" % (
            len(known), sum(x is not None for x in known.values()), len(want), len(todo),
            secs / 3600, secs, measured, len(todo), secs / 3600 / args.jobs, args.jobs))
    if args.dry_run:
        print("%d runs to run, estimate %.1f CPU-hours" % (len(todo), secs / 3600))
        return 0
    if not args.page_only and todo:
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            list(ex.map(lambda j: g.run(*j), todo))
    known = g.results()
    import page  # noqa: E402  (after the runs: a page bug costs no run)
    groups = quartile_groups(args)
    out = page.write(args, g, known, groups, started)
    log("wrote %s (%d new runs, %.0f s)" % (out, sum(r.n_new for r in g.runners.values()),
                                            time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
