#!/usr/bin/env python3
"""MovieLens-100K real-text experiment: LightGCN, RLMRec-Con, IRLLRec and three ablations.

    python3 scripts/ml100k/run_experiments.py [--build DIR | --trainer PATH] [--data DIR]
                                              [--runs DIR] [--same-trainer LOG]
                                              [--threads 2] [--fresh] [--variants a,b,...]

Builds out/ml100k with make_embeddings.sh when it is missing, picks every variant's
hyperparameters on VALIDATION Recall@20 (seed 2023, small documented grid), trains the
chosen configuration with seeds 2023, 2024, 2025, and writes docs/results-ml100k.md and
docs/img/ml100k-val-recall.png. Test metrics are read only for the final report.

Every run is cached in RUNS/<variant>/<key>/ with the exact command it ran (cmd.json);
the key hashes that command, the trainer binary and the data files, so a rebuilt trainer
or new embeddings rerun everything. --fresh ignores the cache. A cache copied with its
data to another checkout is still found (the key names the data folders by role). To
reuse a cache under a rebuilt trainer, run with --trainer set to the binary the cache was
built with, and give --same-trainer the output of check_same_trainer.py comparing that
binary with the new one: the backbone page quotes it and says which rows it covers.
Python 3 standard library only.
"""
import argparse
import calendar
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runlib import (REPO, SEEDS, SELECT_SEED, Runner, Search, cfg_str,  # noqa: E402
                    get_flag, log, search_lightgcn, summarise, with_flag)
from backbones import ALTERNATIVES, BACKBONES, run_backbones  # noqa: E402
from backbones_page import write_page  # noqa: E402
from ml100k_grid import (ABLATIONS, HOOK_LR_GRID, INTENTS_GRID, PROTOCOLS,  # noqa: E402
                         TAU_GRID, TRAN_ITM_GRID, VARIANTS, W_KD_GRID, W_PAIR_GRID)
from ml100k_report import plot, write_report  # noqa: E402

DEFAULT_BACKBONES = ",".join(b for b, _ in BACKBONES)
DEFAULT_ALTERNATIVES = 2




def protocol_check(runner):
    """LightGCN at the trainer's defaults (reg 1e-6, keep 0.8) under several lr / eval-step /
    patience settings, validation only: the basis for COMMON."""
    jobs = [("lightgcn", [("--reg", "1e-6"), ("--keep", "0.8"), ("--epochs", "3000"), ("--lr", lr),
                          ("--eval-step", st), ("--patience", pa)], SELECT_SEED)
            for lr, st, pa in PROTOCOLS]
    return list(zip(PROTOCOLS, runner.run_many(jobs)))


# Text variants keep LightGCN's chosen host (reg, keep), so the text terms are the only
# difference. The paper's weights (w_kd 1e-2, w_pair 2e-2) froze BPR at its initial 0.690
# at lr 1e-3 in short pilot runs, and at this page's lr 5e-3 they peaked early and below
# LightGCN (diagnostics below), so the grids centre on weaker alignment.


def search_rlmrec(runner, lgcn_best):
    s = Search(runner, "rlmrec-con")
    base = [("--irllrec", None), ("--reg", get_flag(lgcn_best, "--reg")),
            ("--keep", get_flag(lgcn_best, "--keep")), ("--w-kd", W_KD_GRID[0]),
            ("--tau-kd", TAU_GRID[0])]
    best = s.stage("w_kd (tau_kd 0.2)", [with_flag(base, "--w-kd", w) for w in W_KD_GRID])
    s.stage("tau_kd", [with_flag(best, "--tau-kd", t) for t in TAU_GRID])
    return s


def search_irllrec(runner, rlm_best):
    """Coordinate search; each later stage pairs two one-setting changes so both lanes work."""
    s = Search(runner, "irllrec")
    base = list(rlm_best) + [("--w-pair", W_PAIR_GRID[0]), ("--tau-pair", TAU_GRID[0]),
                             ("--w-tran", TRAN_ITM_GRID[0][0]), ("--w-itm", TRAN_ITM_GRID[0][1]),
                             ("--intents", INTENTS_GRID[0]), ("--hook-lr", HOOK_LR_GRID[0])]
    best = s.stage("w_pair (w_kd, tau_kd from RLMRec-Con)",
                   [with_flag(base, "--w-pair", w) for w in W_PAIR_GRID])
    best = s.stage("tau_pair or hook lr",
                   [best] + [with_flag(best, "--tau-pair", t) for t in TAU_GRID[1:]] +
                   [with_flag(best, "--hook-lr", x) for x in HOOK_LR_GRID[1:]])
    best = s.stage("w_tran, w_itm or K",
                   [best] + [with_flag(with_flag(best, "--w-tran", a), "--w-itm", b)
                             for a, b in TRAN_ITM_GRID[1:]] +
                   [with_flag(best, "--intents", k) for k in INTENTS_GRID[1:]])
    # K again around the new best (a repeat, hence free, when K itself won above)
    s.stage("K", [best] + [with_flag(best, "--intents", k) for k in INTENTS_GRID[1:]])
    return s


# The paper's weights (the hook's paper preset, docs/hook.md: w_kd 1e-2, w_pair 2e-2,
# w_tran 5e-4, w_itm 1e-4), once
# with the trainer's --irllrec defaults (lr 1e-3, reg 1e-7, keep 1.0) for 30 epochs and once
# on this page's host to early stopping. Diagnostics only, never selected.
DIAGNOSTICS = [
    ("paper weights, trainer defaults (lr 1e-3, reg 1e-7, keep 1.0), 30 epochs",
     [("--irllrec", None), ("--lr", "1e-3"), ("--reg", "1e-7"), ("--keep", "1.0"),
      ("--w-kd", "1e-2"), ("--tau-kd", "0.2"), ("--w-pair", "2e-2"), ("--tau-pair", "0.2"),
      ("--w-tran", "5e-4"), ("--w-itm", "1e-4"), ("--intents", "128"), ("--epochs", "30")]),
    ("paper weights, this page's host (lr 5e-3, LightGCN's reg and keep), to early stopping",
     None),
]


def diagnostics(runner, lgcn_best):
    jobs, labels = [], []
    for label, cfg in DIAGNOSTICS:
        if cfg is None:
            cfg = with_flag(with_flag(DIAGNOSTICS[0][1], "--lr", "5e-3"),
                            "--reg", get_flag(lgcn_best, "--reg"))
            cfg = with_flag(with_flag(cfg, "--keep", get_flag(lgcn_best, "--keep")),
                            "--epochs", str(runner.args.max_epochs))
        jobs.append(("diagnostic", cfg, SELECT_SEED))
        labels.append(label)
    return list(zip(labels, [j[1] for j in jobs], runner.run_many(jobs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--trainer", default=None,
                    help="the lightgcn_train binary (default: BUILD/examples/lightgcn/"
                         "lightgcn_train); cached runs are keyed by its md5")
    ap.add_argument("--same-trainer", action="append", default=[], metavar="LOG",
                    help="backbone page: the output of check_same_trainer.py comparing "
                         "--trainer with another binary; the page quotes it (repeatable)")
    ap.add_argument("--data", default=os.path.join(REPO, "out", "ml100k"))
    ap.add_argument("--runs", default=os.path.join(REPO, "out", "ml100k-runs"))
    ap.add_argument("--docs", default=os.path.join(REPO, "docs"))
    ap.add_argument("--threads", type=int, default=2,
                    help="threads in all; each of --jobs concurrent runs gets threads/jobs")
    ap.add_argument("--jobs", type=int, default=2, help="concurrent trainer runs")
    ap.add_argument("--deadline", default=None,
                    help="HH:MM UTC today: start no new text-variant run after it (LightGCN "
                         "runs take seconds); the page lists what was not run")
    ap.add_argument("--max-epochs", type=int, default=3000,
                    help="epoch cap for every run (3000: the protocol's; early stopping "
                         "normally ends runs far sooner)")
    ap.add_argument("--fresh", action="store_true", help="ignore cached runs")
    ap.add_argument("--variants", default=",".join(v for v, _ in VARIANTS),
                    help="LightGCN page: comma-separated subset (default: all)")
    ap.add_argument("--page", choices=("all", "ml100k", "backbones"), default="all",
                    help="ml100k: the LightGCN page (docs/results-ml100k.md); backbones: "
                         "the backbone table (docs/results-backbones.md); all: both")
    ap.add_argument("--backbones", default=DEFAULT_BACKBONES,
                    help="backbone page: comma-separated subset of %s" % DEFAULT_BACKBONES)
    ap.add_argument("--alternatives", type=int, default=DEFAULT_ALTERNATIVES,
                    choices=range(len(ALTERNATIVES) + 1),
                    help="backbone page: how many alternative hook settings to try where "
                         "validation shows a text variant trailing (default %d)"
                         % DEFAULT_ALTERNATIVES)
    ap.add_argument("--page-only", action="store_true",
                    help="start no run: write the page(s) from cached runs, listing the "
                         "rest as not run")
    args = ap.parse_args()
    for path in args.same_trainer:
        if not os.path.exists(path):
            sys.exit("run_experiments: no --same-trainer log at %s" % path)
    started = time.time()
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        t = time.gmtime()
        args.deadline = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, hh, mm, 0))
        args.deadline_str = "%02d:%02d UTC" % (hh, mm)
    want = args.variants.split(",")
    r = Runner(args)
    r.setup()
    pages = ("ml100k", "backbones") if args.page == "all" else (args.page,)
    if "ml100k" in pages:
        ml100k_page(r, args, want, started)
    if "backbones" in pages:
        backbones_page(r, args, started)


def rel(path):
    """A path as the page names it: relative to the repository when inside it."""
    p = os.path.relpath(os.path.abspath(path), REPO)
    return path if p.startswith("..") else p


def backbones_page(r, args, started):
    want = [b for b in args.backbones.split(",") if b]
    bad = [b for b in want if b not in dict(BACKBONES)]
    if bad:
        sys.exit("run_experiments: unknown backbone(s) %s (known: %s)" % (
            ",".join(bad), ",".join(b for b, _ in BACKBONES)))
    if not r.has_irllrec:
        sys.exit("run_experiments: %s has no --irllrec: the backbone page needs the hook"
                 % r.trainer)
    plan = run_backbones(r, search_lightgcn(r), want, args.alternatives)
    command = "python3 scripts/ml100k/run_experiments.py --page backbones"
    if args.backbones != DEFAULT_BACKBONES:
        command += " --backbones " + args.backbones
    if args.alternatives != DEFAULT_ALTERNATIVES:
        command += " --alternatives %d" % args.alternatives
    if args.max_epochs != 3000:
        command += " --max-epochs %d" % args.max_epochs
    if args.trainer:
        command += " --trainer " + rel(args.trainer)
    for path in args.same_trainer:
        command += " --same-trainer " + rel(path)
    out = os.path.join(args.docs, "results-backbones.md")
    write_page(out, plan, r, command, started)
    log("wrote %s (%d new runs, %.0f s)" % (out, r.n_new, time.time() - started))


def ml100k_page(r, args, want, started):
    if not r.has_irllrec and want != ["lightgcn"]:
        sys.exit("run_experiments: %s has no --irllrec; run with --variants lightgcn "
                 "or build a trainer with the IRLLRec hook" % r.trainer)

    protocol = protocol_check(r)
    searches, chosen = [], {}
    s = search_lightgcn(r)
    searches.append(("lightgcn", s))
    chosen["lightgcn"] = s.chosen()
    if any(v != "lightgcn" for v in want):
        s = search_rlmrec(r, chosen["lightgcn"])
        searches.append(("rlmrec-con", s))
        chosen["rlmrec-con"] = s.chosen()
        s = search_irllrec(r, chosen["rlmrec-con"])
        searches.append(("irllrec", s))
        chosen["irllrec"] = s.chosen()
        for v, flag in ABLATIONS.items():
            chosen[v] = with_flag(chosen["irllrec"], flag, "0")

    # priority order, so a --deadline cuts the least important runs: the three seeds of
    # LightGCN, RLMRec-Con and IRLLRec (the target), then the ablations' seed 2023, then
    # the ablations' other seeds
    order = [(v, sd) for v in ("lightgcn", "rlmrec-con", "irllrec") for sd in SEEDS] + \
        [(v, SELECT_SEED) for v in ABLATIONS] + \
        [(v, sd) for v in ABLATIONS for sd in SEEDS[1:]]
    order = [(v, sd) for v, sd in order if v in want]
    res = r.run_many([(v, chosen[v], sd) for v, sd in order])
    finals = {}
    for (v, sd), x in zip(order, res):
        if x is not None:
            finals.setdefault(v, {})[sd] = x
    diags = diagnostics(r, chosen["lightgcn"]) if "irllrec" in want else []
    # what the epoch cap costs the baseline: the chosen LightGCN without it
    uncapped = None
    if args.max_epochs != 3000 and "lightgcn" in want:
        cfg = list(chosen["lightgcn"]) + [("--epochs", "3000")]
        uncapped = (cfg, [x for x in r.run_many([("lightgcn", cfg, sd) for sd in SEEDS]) if x])
    names = dict(VARIANTS)
    work = os.path.join(args.runs, "plot")
    os.makedirs(work, exist_ok=True)
    png = os.path.join(args.docs, "img", "ml100k-val-recall.png")
    plotted = plot(finals, names, png, work)
    out = os.path.join(args.docs, "results-ml100k.md")
    write_report(out, r, protocol, searches,
                 chosen, finals, plotted, started, uncapped, diags)
    with open(os.path.join(args.runs, "summary.json"), "w") as f:
        json.dump({v: {"config": cfg_str(chosen[v]), "seeds": sorted(finals[v]),
                       "test": summarise(finals[v].values())} for v in finals}, f, indent=1)
    log("wrote %s%s (%d new runs, %.0f s)" % (out, " and " + png if plotted else "",
                                              r.n_new, time.time() - started))


if __name__ == "__main__":
    main()
