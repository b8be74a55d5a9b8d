"""Writes docs/results-robustness.md and docs/img/robustness-*.png for run.py from the
cached runs: test Recall@20 / NDCG@20 per noise level, the relative drop from the clean
point (per seed, paired with the same seed's clean run), Recall@20 per sparsity quartile,
one verdict per claim and every planned run (cached ones with their numbers, the rest
"not run"). Verdicts are pure functions of the results (tested on hand-built ones)."""
import hashlib
import json
import operator
import os
import shutil
import statistics
import subprocess
import time

from run import AXES, METHOD, METHODS, SEEDS, conditions, grid, methods_for
from runlib import COMMON, REPO, cfg_str, fmt_count, git_rev, md5_file
from backbones_page import cpu_model, load_note
from inject_noise import read_npy

NOT_RUN = "not run"
CLAIMS = [("irllrec", "irllrec-no-tran", "translation alignment (w_tran)"),
          ("irllrec", "irllrec-no-itm", "ITM (w_itm)")]


def level_conds(axis):
    """[(level as float, condition name)] of an axis, the clean point first."""
    levels = dict((a, lv) for a, _, _, lv, _ in AXES)[axis]
    return [(0.0, "clean")] + [(float(lv), "%s-%s" % (axis, lv)) for lv in levels]


def r20(r):
    return r["test"]["recall@20"]


def mean_std(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)


def drops(known, axis, variant):
    """{level: {seed: relative drop of test Recall@20 from the same seed's clean run}}."""
    out = {}
    for lv, cond in level_conds(axis)[1:]:
        for s in SEEDS:
            clean, noisy = known.get(("clean", variant, s)), known.get((cond, variant, s))
            if clean is not None and noisy is not None and r20(clean) > 0:
                out.setdefault(lv, {})[s] = 1 - r20(noisy) / r20(clean)
    return out


def drop_verdict(known, axis, with_v, without_v):
    """(verdict, sentence): does the component (present in with_v, off in without_v)
    reduce the relative Recall@20 drop on this axis? Needs every level and seed of both
    and their clean runs; per seed, d = mean drop without - mean drop with; YES when d > 0
    for every seed, NO otherwise, NOT ESTABLISHED when a run is missing."""
    conds = [c for _, c in level_conds(axis)]
    missing = [(c, v, s) for c in conds for v in (with_v, without_v) for s in SEEDS
               if known.get((c, v, s)) is None]
    dw, dwo = drops(known, axis, with_v), drops(known, axis, without_v)
    if missing:
        part = []
        for s in SEEDS:
            lvs = [lv for lv in dw if s in dw[lv] and s in dwo.get(lv, {})]
            if lvs:
                part.append("seed %d at %s: mean drop %.1f%% with, %.1f%% without" % (
                    s, ", ".join("%g" % x for x in sorted(lvs)),
                    100 * statistics.mean(dw[lv][s] for lv in lvs),
                    100 * statistics.mean(dwo[lv][s] for lv in lvs)))
        return "NOT ESTABLISHED", "%d of its %d runs not run%s" % (
            len(missing), len(conds) * 2 * len(SEEDS),
            (" (what did run: %s)" % "; ".join(part)) if part else "")
    d = {s: statistics.mean(dwo[lv][s] for lv in dwo) - statistics.mean(dw[lv][s] for lv in dw)
         for s in SEEDS}
    text = "mean relative drop of test Recall@20 over the levels, with - without, per " \
        "seed: %s (negative: smaller drop with it)" % ", ".join(
            "%d %+.2f pt" % (s, -100 * d[s]) for s in SEEDS)
    if all(x > 0 for x in d.values()):
        return "YES", text
    if all(x <= 0 for x in d.values()):
        return "NO", text + "; the drop is not smaller with it for any seed"
    return "NO", text + "; the seeds disagree, so no consistent reduction"


def quartile_recall(run_dir, groups, train, test, k=20):
    """Recall@20 per quartile of one run from its user_emb.npy / item_emb.npy, ranked as
    docs/evaluation.md says (train items masked, ties to the lower item id), cached in
    RUN/quartiles.json under the groups' hash."""
    key = hashlib.md5(json.dumps(groups, sort_keys=True).encode()).hexdigest()
    path = os.path.join(run_dir, "quartiles.json")
    if os.path.exists(path):
        with open(path) as f:
            got = json.load(f)
        if got.get("key") == key:
            return got["recall@20"]
    nu, du, uv = read_npy(os.path.join(run_dir, "user_emb.npy"))
    ni, di, iv = read_npy(os.path.join(run_dir, "item_emb.npy"))
    items = [iv[i * di:(i + 1) * di] for i in range(ni)]
    out = []
    for g in groups:
        vals = []
        for u in g["users"]:
            e = uv[u * du:(u + 1) * du]
            seen = set(train.get(u, ()))
            scores = [(-sum(map(operator.mul, e, it)), i) for i, it in enumerate(items)
                      if i not in seen]
            top = {i for _, i in sorted(scores)[:k]}
            t = test[u]
            vals.append(sum(1 for i in t if i in top) / len(t))
        out.append(statistics.mean(vals) if vals else 0.0)
    with open(path + ".tmp", "w") as f:
        json.dump({"key": key, "recall@20": out}, f)
    os.replace(path + ".tmp", path)
    return out


def read_split(path):
    rows = {}
    with open(path) as f:
        for line in f:
            xs = [int(x) for x in line.split()]
            if xs:
                rows[xs[0]] = xs[1:]
    return rows


def sparsity_verdict(qres, with_v="irllrec", base_v="lightgcn"):
    """qres {(variant, seed): [R@20 of quartile 1..4]}: does IRLLRec's relative gain over
    LightGCN peak in the sparsest quartile (1)? YES when for every seed the gain in
    quartile 1 exceeds the gain in each other quartile; NOT ESTABLISHED when a run is
    missing; NO otherwise."""
    missing = [(v, s) for v in (with_v, base_v) for s in SEEDS if qres.get((v, s)) is None]
    if missing:
        return "NOT ESTABLISHED", "%d of its %d clean runs not run" % (
            len(missing), 2 * len(SEEDS))
    gains = {s: [(a / b - 1) if b > 0 else 0.0 for a, b in zip(qres[(with_v, s)],
                                                                qres[(base_v, s)])]
             for s in SEEDS}
    text = "relative gain in Recall@20 per quartile (sparsest first), per seed: %s" % "; ".join(
        "%d: %s" % (s, " / ".join("%+.1f%%" % (100 * x) for x in gains[s])) for s in SEEDS)
    if all(g[0] > max(g[1:]) for g in gains.values()):
        return "YES", text
    return "NO", text + "; the sparsest quartile's gain is not the largest for every seed"


# ---- plots -------------------------------------------------------------------------

def q(text):
    """A gnuplot single-quoted string."""
    return "'" + text.replace("'", "''") + "'"


def gnuplot_ok():
    return shutil.which("gnuplot") is not None


def series_file(path, points):
    """points: [(x, (mean, std) or None)]; a missing point breaks the line (blank line),
    so nothing is drawn between levels on either side of it."""
    with open(path, "w") as f:
        for x, ms in points:
            if ms is None:
                f.write("\n")
            else:
                f.write("%g %.6f %.6f\n" % (x, ms[0], ms[1]))


def plot_axis(png, work, title, unit, panels):
    """panels: [(ylabel, {label: points})]; one row of panels with seed-spread bars."""
    gp = [
        "set terminal pngcairo noenhanced size 1500,480 font 'sans,10'",
        "set output '%s'" % png,
        "set multiplot layout 1,%d title %s" % (len(panels), q(
            "%s (MovieLens-100K; text = GloVe + SIF, not an LLM; bars: std over seeds)" % title)),
        "set grid", "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05",
        "set key bottom left font ',8'", "set xlabel %s" % q(unit)]
    for n, (ylabel, series) in enumerate(panels):
        plots = []
        for k, (label, points) in enumerate(series.items()):
            dat = os.path.join(work, "%s-%d-%d.dat" % (os.path.basename(png), n, k))
            series_file(dat, points)
            plots.append("%s using 1:2:3 with yerrorlines lw 2 title %s" % (q(dat), q(label)))
        gp.append("set ylabel %s" % q(ylabel))
        gp.append("plot " + ", ".join(plots) if plots else "set title 'nothing run'; plot 0 notitle")
    gp.append("unset multiplot")
    script = os.path.join(work, os.path.basename(png) + ".gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    subprocess.run(["gnuplot", script], check=True)


def plot_quartiles(png, work, groups, series):
    gp = ["set terminal pngcairo noenhanced size 900,500 font 'sans,10'",
          "set output '%s'" % png,
          "set title 'Test Recall@20 per quartile of train degree (clean split; bars: std "
          "over seeds; text = GloVe + SIF, not an LLM)'",
          "set grid", "set key top right", "set offsets 0.3, 0.3, graph 0.05, graph 0.05",
          "set xlabel 'test-user quartile (1 = sparsest)'",
          "set ylabel 'test Recall@20'", "set xtics (%s)" % ", ".join(
              "'Q%d (deg %s-%s)' %d" % (g["quartile"], g["train_degree_min"],
                                        g["train_degree_max"], g["quartile"]) for g in groups)]
    plots = []
    for k, (label, points) in enumerate(series.items()):
        dat = os.path.join(work, "quartiles-%d.dat" % k)
        series_file(dat, points)
        plots.append("%s using 1:2:3 with yerrorlines lw 2 title %s" % (q(dat), q(label)))
    gp.append("plot " + ", ".join(plots) if plots else "plot 0 notitle")
    script = os.path.join(work, "quartiles.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    subprocess.run(["gnuplot", script], check=True)


# ---- the page ----------------------------------------------------------------------

def cell(rs, key="recall@20"):
    xs = [r["test"][key] for r in rs if r is not None]
    if not xs:
        return NOT_RUN
    m, s = mean_std(xs)
    return "%.4f ± %.4f (%d)" % (m, s, len(xs))


def write(args, g, known, groups, started):
    docs = args.docs
    img = os.path.join(docs, "img")
    os.makedirs(img, exist_ok=True)
    work = os.path.join(args.runs, "plot")
    os.makedirs(work, exist_ok=True)
    label = {v: METHOD[v][0] for v, *_ in METHODS}
    plotted = gnuplot_ok()
    L = []
    w = L.append
    done = [r for r in known.values() if r is not None]
    wall = sum(r.get("wall_seconds") or 0 for r in done)
    st = g.stats
    command = "python3 scripts/robustness/run.py"
    if args.max_epochs != 3000:
        command += " --max-epochs %d" % args.max_epochs

    w("# MovieLens-100K: robustness to noise and sparsity (issue 14)\n")
    w("**The text vectors are GloVe word vectors (pretrained GloVe 6B 100-d) averaged with "
      "SIF weighting, NOT an LLM's embeddings** (docs/text-embeddings.md). So this page "
      "tests IRLLRec's robustness claims with cheap sentence vectors in place of the "
      "paper's LLM texts.\n")
    w("Generated by `scripts/robustness/run.py` on %s, git %s, CPU %s (%d cores, shared "
      "with other work). Every number and plot on this page comes from one command, which "
      "reuses every cached run and runs the rest:\n" % (
          time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), git_rev(), cpu_model(),
          os.cpu_count() or 1))
    w("```sh\ncmake -S . -B build && cmake --build build -j2 && %s\n```\n" % command)
    trainer = next(iter(g.runners.values())).trainer
    w("Trainer: `%s`, md5 `%s`. Every cache key names the trainer's md5, so every run on "
      "this page ran that binary; a trainer built from other sources (another md5) finds "
      "none of them and reruns the grid.\n" % (
          os.path.relpath(trainer, REPO) if trainer.startswith(REPO + os.sep) else trainer,
          md5_file(trainer)))
    w("**Runs: %d of the %d planned have run; every other cell says \"%s\"** (nothing is "
      "interpolated). The runs on this page took %.0f s of wall time in all (%.1f h), "
      "one thread each, at nice 19, one or two runs at a time (sessions differed; the "
      "load at each run's start is in its cmd.json).%s The cache is `%s` (outside git), "
      "one folder per condition and method, keyed by the exact command, the trainer "
      "binary and the data files.\n" % (
          len(done), len(known), NOT_RUN, wall, wall / 3600, load_note(done), os.path.relpath(args.runs, REPO)
          if args.runs.startswith(REPO + os.sep) else args.runs))
    w("| method | runs done / planned | seeds done |")
    w("|---|---|---|")
    for m, name, *_ in METHODS:
        jobs = [j for j in grid() if j[1] == m]
        have = [j for j in jobs if known.get(j) is not None]
        w("| %s | %d / %d | %s |" % (name, len(have), len(jobs), ", ".join(
            str(s) for s in SEEDS if any(j[2] == s for j in have)) or "-"))
    w("")
    missing = [j for j in grid() if known.get(j) is None]
    if missing:
        secs, measured = g.estimate(missing, known)
        w("The %d runs not run would take about %.1f CPU-hours at one thread: per method, "
          "the median seconds per epoch (per train edge) of its cached runs, at the load "
          "they ran under, times their median epochs; %d of them belong to methods with no "
          "cached run yet and use the per-run guesses of scripts/ml100k/backbones.py.\n" % (
              len(missing), secs / 3600, len(missing) - measured))
    w("**No re-tuning per noise level**: every method runs the settings chosen on "
      "seed-2023 validation Recall@20 on the clean split (docs/results-ml100k.md for the "
      "LightGCN host and the hook, docs/results-backbones.md for SGL and SimGCL), listed "
      "under Settings.\n")

    # verdicts
    w("## Verdicts\n")
    w("A verdict needs every run it compares (all levels of the axis, the clean point, "
      "seeds %s); with any missing it says NOT ESTABLISHED and shows what did run. The "
      "drop is 1 - (test Recall@20 at the level) / (test Recall@20 of the same seed on the "
      "clean split), averaged over the axis's levels. A component \"reduces the drop\" "
      "(YES) only when the drop is smaller with it for every seed.\n" %
      ", ".join(map(str, SEEDS)))
    for with_v, without_v, what in CLAIMS:
        w("**Does %s reduce the drop?**\n" % what)
        for axis, title, *_ in AXES:
            v, text = drop_verdict(known, axis, with_v, without_v)
            w("- %s: **%s**: %s." % (title, v, text))
        w("")
    # sparsity
    train = read_split(os.path.join(g.folders["clean"], "train.txt"))
    test = read_split(os.path.join(g.folders["clean"], "test.txt"))
    lg_methods = [v for v in methods_for(None) if METHOD[v][2]]
    qres, qcheck = {}, []
    for v in lg_methods:
        for s in SEEDS:
            r = known.get(("clean", v, s))
            if r is not None and os.path.exists(os.path.join(r["dir"], "user_emb.npy")):
                qres[(v, s)] = quartile_recall(r["dir"], groups, train, test)
                n = [len(gr["users"]) for gr in groups]
                whole = sum(a * b for a, b in zip(qres[(v, s)], n)) / max(1, sum(n))
                qcheck.append(abs(whole - r20(r)))
    v, text = sparsity_verdict(qres)
    w("**Does IRLLRec help most for the sparsest users?** **%s**: %s.\n" % (v, text))

    # per axis
    for axis, title, unit, levels, _ in AXES:
        lc = level_conds(axis)
        ms = [m for m in methods_for(axis)]
        w("## %s\n" % title)
        w("Levels: %s (%s); 0 is the clean split. Test metrics at the parameters with the "
          "best validation Recall@20; mean ± sample std over the seeds that ran (their "
          "number in brackets).\n" % (", ".join(["0"] + levels), unit))
        for key, name in (("recall@20", "Recall@20"), ("ndcg@20", "NDCG@20")):
            w("Test %s:\n" % name)
            w("| method | " + " | ".join(["0"] + levels) + " |")
            w("|---|" + "---|" * len(lc))
            for m in ms:
                w("| %s | " % label[m] + " | ".join(
                    cell([known.get((c, m, s)) for s in SEEDS], key) for _, c in lc) + " |")
            w("")
        w("Relative drop of test Recall@20 from the same seed's clean run (mean ± std over "
          "seeds, in %; positive = worse than clean):\n")
        w("| method | " + " | ".join(levels) + " |")
        w("|---|" + "---|" * (len(lc) - 1))
        for m in ms:
            d = drops(known, axis, m)
            cells = []
            for lv, _ in lc[1:]:
                xs = list(d.get(lv, {}).values())
                if not xs:
                    cells.append(NOT_RUN)
                else:
                    mm, ss = mean_std(xs)
                    cells.append("%+.1f ± %.1f (%d)" % (100 * mm, 100 * ss, len(xs)))
            w("| %s | " % label[m] + " | ".join(cells) + " |")
        w("")
        if plotted:
            png = os.path.join(img, "robustness-%s.png" % axis)
            panels = []
            for key, name in (("recall@20", "test Recall@20"), ("ndcg@20", "test NDCG@20")):
                series = {}
                for m in ms:
                    pts = []
                    for lv, c in lc:
                        xs = [known[(c, m, s)]["test"][key] for s in SEEDS
                              if known.get((c, m, s)) is not None]
                        pts.append((lv, mean_std(xs) if xs else None))
                    if any(p for _, p in pts):
                        series[label[m]] = pts
                panels.append((name, series))
            series = {}
            for m in ms:
                d = drops(known, axis, m)
                pts = [(0.0, (0.0, 0.0))] if d else []
                for lv, _ in lc[1:]:
                    xs = list(d.get(lv, {}).values())
                    pts.append((lv, (100 * mean_std(xs)[0], 100 * mean_std(xs)[1])
                                if xs else None))
                if d:
                    series[label[m]] = pts
            panels.append(("relative drop of test Recall@20 (%)", series))
            plot_axis(png, work, title, unit, panels)
            w("![%s](img/robustness-%s.png)\n" % (title, axis))

    # sparsity
    w("## Sparsity: Recall@20 per quartile of train degree (clean split)\n")
    w("Test users (those with a test item) in four groups by clean train degree "
      "(`inject_noise.py quartiles`), sparsest first. Recall@20 per group is recomputed "
      "from each run's `user_emb.npy` / `item_emb.npy` (train items masked, ties to the "
      "lower id, docs/evaluation.md); %s\n" % (
          "the size-weighted mean over the groups reproduces the trainer's own test "
          "Recall@20 to within %.1e in every run." % max(qcheck) if qcheck else
          "no run has finished yet."))
    w("| method | " + " | ".join("Q%d (train degree %s-%s, %d users)" % (
        gr["quartile"], gr["train_degree_min"], gr["train_degree_max"], len(gr["users"]))
        for gr in groups) + " |")
    w("|---|" + "---|" * len(groups))
    qseries = {}
    for m in lg_methods:
        cells, pts = [], []
        for q in range(len(groups)):
            xs = [qres[(m, s)][q] for s in SEEDS if (m, s) in qres]
            cells.append("%.4f ± %.4f (%d)" % (mean_std(xs) + (len(xs),)) if xs else NOT_RUN)
            pts.append((q + 1, mean_std(xs) if xs else None))
        w("| %s | " % label[m] + " | ".join(cells) + " |")
        if any(p for _, p in pts):
            qseries[label[m]] = pts
    w("")
    if plotted:
        plot_quartiles(os.path.join(img, "robustness-sparsity.png"), work, groups, qseries)
        w("![Recall@20 per sparsity quartile](img/robustness-sparsity.png)\n")
    else:
        w("(No plots: gnuplot was not available.)\n")

    # per run
    w("## Every planned run\n")
    w("`run` is the folder under the cache holding the trainer's `result.json`, "
      "`log.jsonl` and the exact command (`cmd.json`).\n")
    w("| condition | method | seed | run | best epoch | epochs run | wall s | val R@20 | "
      "test R@20 | test N@20 |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for cond, m, s in sorted(grid(), key=lambda j: ([c for c, _, _ in conditions()].index(
            j[0]), [v for v, *_ in METHODS].index(j[1]), j[2])):
        r = known.get((cond, m, s))
        if r is None:
            w("| %s | %s | %d | %s | | | | | | |" % (cond, m, s, NOT_RUN))
            continue
        w("| %s | %s | %d | `%s` | %d | %d | %.1f | %.4f | %.4f | %.4f |" % (
            cond, m, s, os.path.relpath(r["dir"], args.runs), r["best_epoch"],
            r["epochs_run"], r.get("wall_seconds") or 0, r["val"]["recall@20"], r20(r),
            r["test"]["ndcg@20"]))
    w("")

    # settings
    w("## Settings\n")
    w("Clean data: %s users, %s items; %s train, %s val, %s test positives (`%s`). Noisy "
      "copies by `scripts/robustness/inject_noise.py` (docs/robustness.md), noise seed %d: "
      "interaction noise adds fake TRAIN pairs (val and test untouched); text noise and "
      "misleading text change the `.npy` text rows only, so LightGCN, SGL and SimGCL, "
      "which read no text, are run on the text axes only for LightGCN (as a check: its "
      "figures there must equal the clean ones).\n" % (
          st.get("n_users", "?"), st.get("n_items", "?"), fmt_count(st.get("train")),
          fmt_count(st.get("val")), fmt_count(st.get("test")),
          os.path.basename(os.path.abspath(args.data)), args.noise_seed))
    common = [(f, str(args.max_epochs) if f == "--epochs" else v) for f, v in COMMON]
    w("Common to every run: `%s --threads 1`; validation every 3 epochs, early stopping, "
      "test at the best-validation parameters (docs/evaluation.md). Methods:\n" %
      cfg_str(common))
    for m, name, cfg, _ in METHODS:
        w("- **%s** (`%s`): `%s`" % (name, m, cfg_str(cfg)))
    w("\nRLMRec-Con runs on a copy of the condition's folder holding only the split and the "
      "profile pair, so the trainer switches the intent terms off. SGL and SimGCL run "
      "plain and + IRLLRec on the interaction-noise levels only.\n")
    text = "\n".join(L) + "\n"
    out = os.path.join(docs, "results-robustness.md")
    with open(out + ".tmp", "w") as f:
        f.write(text)
    os.replace(out + ".tmp", out)
    return out
