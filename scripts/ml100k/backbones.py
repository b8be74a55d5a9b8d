"""The backbone table (issue 12): MF, LightGCN, SGL and SimGCL on MovieLens-100K, each
plain, with RLMRec-Con (profile alignment only) and with IRLLRec, 3 seeds.

Called by run_experiments.py (--page backbones); the page itself is written by
backbones_page.py. Settings are chosen on seed-2023 VALIDATION Recall@20 only:

1. Each host's own settings on a small grid of its key knobs (plain host, no text).
2. Both text variants keep their host's chosen settings and take the hook settings the
   LightGCN page chose on validation (docs/results-ml100k.md): RLMREC_HOOK, IRLLREC_HOOK.
3. Only where seed-2023 validation says a text variant trails (IRLLRec below the plain
   host or below RLMRec-Con, or RLMRec-Con below the plain host), both text variants of
   that host get the same ALTERNATIVES (one per --alternatives step); the validation-best
   configuration of each variant then runs the other seeds.

Work is ordered so the three seeds of the step-2 configurations finish first; a
--deadline cuts the rest and the page lists it as not run.
"""
import time

from runlib import SEEDS, SELECT_SEED, Search, cfg_str, dedup, get_flag, log

BACKBONES = [("mf", "MF"), ("lightgcn", "LightGCN"), ("sgl", "SGL"), ("simgcl", "SimGCL")]
KINDS = [("base", ""), ("rlmrec-con", " + RLMRec-Con"), ("irllrec", " + IRLLRec")]
# cheapest first, so a deadline leaves whole backbones rather than scattered seeds
COST_ORDER = ["mf", "lightgcn", "simgcl", "sgl"]

# Chosen on the LightGCN page (seed-2023 validation, docs/results-ml100k.md); reused
# unchanged on every host. The LightGCN rows below therefore repeat that page's runs.
RLMREC_HOOK = [("--w-kd", "3e-3"), ("--tau-kd", "0.2")]
IRLLREC_HOOK = RLMREC_HOOK + [("--w-pair", "3e-3"), ("--tau-pair", "0.2"),
                              ("--w-tran", "5e-3"), ("--w-itm", "1e-3"),
                              ("--intents", "64"), ("--hook-lr", "1e-3")]
# (label, changes to RLMRec-Con's hook flags, changes to IRLLRec's), tried in this order
ALTERNATIVES = [
    ("weaker text alignment (w_kd, w_pair 1e-3)",
     [("--w-kd", "1e-3")], [("--w-kd", "1e-3"), ("--w-pair", "1e-3")]),
    ("stronger text alignment (w_kd, w_pair 1e-2)",
     [("--w-kd", "1e-2")], [("--w-kd", "1e-2"), ("--w-pair", "1e-2")]),
]

# Host grids (plain host, seed 2023). The graph hosts take LightGCN's chosen reg, so the
# grid spends its runs on the contrastive term: its weight with SGL's temperature, or with
# SimGCL's noise size (0.9 and 0.1 are the authors' values for their three datasets; the
# trainer's --dataset-config). SGL's views keep 0.8 of the edges (the authors'); --keep is
# LightGCN's own and the trainer refuses it elsewhere. MF has no graph (--layers 0).
MF_REG = ["1e-6", "1e-5", "1e-4"]
SGL_GRID = [("1e-1", "0.2"), ("1e-2", "0.2"), ("1e-1", "0.5"), ("1e-2", "0.5")]   # cl w, tau
SIMGCL_GRID = [("1e-1", "0.9"), ("1e-2", "0.9"), ("1e-1", "0.1"), ("1e-2", "0.1")]  # cl w, eps
SIMGCL_TAU = "0.2"
SGL_VIEW_KEEP = "0.8"

# seconds per run at one thread on this machine when nothing is cached yet (estimates
# only; measured runs replace them): plain host, then the hook's cost times a host factor
BASE_SECONDS = {"mf": 5, "lightgcn": 3, "sgl": 60, "simgcl": 40}
TEXT_SECONDS = {"rlmrec-con": 120, "irllrec": 320}
HOST_FACTOR = {"mf": 0.9, "lightgcn": 1.0, "sgl": 1.6, "simgcl": 1.3}


def variant_of(backbone, kind):
    """Cache folder name; LightGCN's are the LightGCN page's, so the two share runs."""
    if backbone == "lightgcn":
        return "lightgcn" if kind == "base" else kind
    return backbone if kind == "base" else "%s-%s" % (backbone, kind)


def host_stages(backbone, lgcn_host):
    """[(stage name, [cfg])] of the plain host's grid."""
    reg = get_flag(lgcn_host, "--reg")
    if backbone == "mf":
        return [("reg", [[("--model", "mf"), ("--layers", "0"), ("--reg", r)] for r in MF_REG])]
    if backbone == "sgl":
        return [("cl weight x cl tau (reg %s from LightGCN, view keep %s)" % (
            reg, SGL_VIEW_KEEP),
                 [[("--model", "sgl"), ("--reg", reg), ("--view-keep", SGL_VIEW_KEEP),
                   ("--cl-weight", w), ("--cl-tau", t)] for w, t in SGL_GRID])]
    if backbone == "simgcl":
        return [("cl weight x eps (cl tau %s, reg %s from LightGCN)" % (SIMGCL_TAU, reg),
                 [[("--model", "simgcl"), ("--reg", reg), ("--cl-weight", w),
                   ("--cl-tau", SIMGCL_TAU), ("--eps", e)] for w, e in SIMGCL_GRID])]
    raise ValueError(backbone)


def text_cfg(host, kind, changes=()):
    """--irllrec, the host's chosen settings, then the hook's (in the LightGCN page's
    order, so LightGCN's argv is that page's)."""
    hook = dict(RLMREC_HOOK if kind == "rlmrec-con" else IRLLREC_HOOK)
    hook.update(dict(changes))
    order = RLMREC_HOOK if kind == "rlmrec-con" else IRLLREC_HOOK
    return [("--irllrec", None)] + list(host) + [(f, hook[f]) for f, _ in order]


class Plan:
    """What the backbone page ran: searches per (backbone, kind), finals, what was not."""

    def __init__(self, runner, backbones, n_alt):
        self.runner = runner
        self.backbones = [b for b in COST_ORDER if b in backbones]
        self.n_alt = n_alt
        self.searches = {}           # (b, kind) -> Search
        self.finals = {}             # (b, kind) -> {seed: result}
        self.unavailable = {}        # b -> reason it could not run at all
        self.alt_tried = {}          # b -> [labels of alternatives that ran]
        self.alt_skipped = {}        # b -> [labels of alternatives due but not run]
        self.alt_reason = {}         # b -> why alternatives were (not) tried
        self.t0 = time.time()
        runner.cheap |= {variant_of(b, "base") for b, _ in BACKBONES}

    # -- time ----------------------------------------------------------------------
    def seconds(self, variant, cfg):
        b = get_flag(cfg, "--model") or "lightgcn"
        kind = "base" if "--irllrec" not in dict(cfg) else (
            "rlmrec-con" if variant.endswith("rlmrec-con") else "irllrec")
        done = [r["wall_seconds"] for r in self.runner.used.values()
                if r.get("new") and r.get("wall_seconds") and r.get("variant") == variant]
        if done:
            return sum(done) / len(done)
        if kind == "base":
            return BASE_SECONDS.get(b, 30)
        return TEXT_SECONDS[kind] * HOST_FACTOR.get(b, 1.5)

    def estimate(self, what, jobs):
        todo = [j for j in jobs if not self.runner.cached(*j)]
        lane = sum(self.seconds(v, c) for v, c, _ in todo)
        wall = lane / max(1, self.runner.args.jobs)
        log("%s: %d runs, %d cached; estimate %.0f s of runs, ~%.0f min wall at %d at a "
            "time, done ~%s UTC" % (what, len(jobs), len(jobs) - len(todo), lane, wall / 60,
                                    self.runner.args.jobs,
                                    time.strftime("%H:%M", time.gmtime(time.time() + wall))))

    def run(self, jobs, what):
        self.estimate(what, jobs)
        res = self.runner.run_many(jobs)
        for (v, _, _), r in zip(jobs, res):
            if r is not None:
                r["variant"] = v
        return res

    # -- stages --------------------------------------------------------------------
    def hosts(self, lgcn_search):
        """Step 1: plain hosts. LightGCN's grid is the LightGCN page's (already run)."""
        for b in self.backbones:
            if b != "lightgcn" and not self.runner.has_model:
                self.unavailable[b] = "the trainer has no --model (it hosts LightGCN only)"
        lgcn = lgcn_search.chosen()
        self.searches[("lightgcn", "base")] = lgcn_search
        batch = []
        for b in self.backbones:
            if b == "lightgcn" or b in self.unavailable:
                continue
            s = Search(self.runner, variant_of(b, "base"))
            self.searches[(b, "base")] = s
            for name, cfgs in host_stages(b, lgcn):
                batch.append((s, name, dedup(cfgs)))
        jobs = [(s.variant, c, SELECT_SEED) for s, _, cfgs in batch for c in cfgs]
        res = iter(self.run(jobs, "host grids (validation, seed %d)" % SELECT_SEED))
        for s, name, cfgs in batch:
            s.record(name, cfgs, [next(res) for _ in cfgs])

    def live(self):
        return [b for b in self.backbones if b not in self.unavailable and
                (b, "base") in self.searches]

    def primaries(self):
        """Step 2: the text variants at the LightGCN page's hook settings, and every
        chosen configuration's three seeds, backbone by backbone (cheapest first)."""
        if not self.runner.has_irllrec:
            return
        jobs, entries = [], []
        for b in self.live():
            host = self.searches[(b, "base")].chosen()
            jobs += [(variant_of(b, "base"), host, sd) for sd in SEEDS]
            for kind in ("rlmrec-con", "irllrec"):
                s = Search(self.runner, variant_of(b, kind))
                self.searches[(b, kind)] = s
                cfg = text_cfg(host, kind)
                entries.append((s, cfg, len(jobs)))
                jobs += [(s.variant, cfg, sd) for sd in SEEDS]
        res = self.run(jobs, "chosen settings, seeds %s" % ", ".join(map(str, SEEDS)))
        for s, cfg, at in entries:
            s.record("hook settings of the LightGCN page", [cfg], [res[at]])

    def val(self, b, kind):
        best = self.searches.get((b, kind))
        return best.best[1]["val"]["recall@20"] if best and best.best else None

    def trailing(self, b):
        """Why b's text variants need alternatives (validation, seed 2023), or None."""
        base, rl, ir = (self.val(b, k) for k in ("base", "rlmrec-con", "irllrec"))
        if None in (base, rl, ir):
            return None
        why = []
        if ir < base:
            why.append("IRLLRec %.4f < plain %.4f" % (ir, base))
        if ir < rl:
            why.append("IRLLRec %.4f < RLMRec-Con %.4f" % (ir, rl))
        if rl < base:
            why.append("RLMRec-Con %.4f < plain %.4f" % (rl, base))
        return "; ".join(why) or None

    def alternatives(self):
        """Step 3, only where validation says a text variant trails; both text variants
        get the same alternatives, so neither is tuned more than the other."""
        if not self.runner.has_irllrec:
            return
        for step in range(self.n_alt):
            label, rl_change, ir_change = ALTERNATIVES[step]
            jobs, entries = [], []
            for b in self.live():
                why = self.trailing(b)
                if step == 0:
                    self.alt_reason[b] = why
                if not why:
                    continue
                host = self.searches[(b, "base")].chosen()
                for kind, ch in (("rlmrec-con", rl_change), ("irllrec", ir_change)):
                    cfg = text_cfg(host, kind, ch)
                    entries.append((self.searches[(b, kind)], cfg, len(jobs), b, label))
                    jobs.append((variant_of(b, kind), cfg, SELECT_SEED))
            if not jobs:
                break
            res = self.run(jobs, "alternative %d (%s), seed %d" % (step + 1, label, SELECT_SEED))
            for s, cfg, at, b, label in entries:
                s.record("alternative: " + label, [cfg], [res[at]])
                book = self.alt_tried if res[at] is not None else self.alt_skipped
                if label not in book.setdefault(b, []):
                    book[b].append(label)
            # a new validation winner runs the other seeds at once
            more = [(s.variant, s.chosen(), sd) for s, _, _, _, _ in entries
                    for sd in SEEDS[1:] if s.chosen() is not None]
            self.run(dedup_jobs(more), "other seeds of new validation winners")
        for b in self.live():
            self.alt_reason.setdefault(b, self.trailing(b))

    def collect(self):
        """The chosen configuration's seeds (all cached by now unless cut by --deadline)."""
        for b in self.live():
            for kind, _ in KINDS:
                s = self.searches.get((b, kind))
                if s is None or s.chosen() is None:
                    continue
                res = self.runner.run_many([(s.variant, s.chosen(), sd) for sd in SEEDS])
                got = {sd: r for sd, r in zip(SEEDS, res) if r is not None}
                for r in got.values():
                    r["variant"] = s.variant
                self.finals[(b, kind)] = got


def dedup_jobs(jobs):
    seen, out = set(), []
    for j in jobs:
        k = repr(j)
        if k not in seen:
            seen.add(k)
            out.append(j)
    return out


def run_backbones(runner, lgcn_search, backbones, n_alt):
    plan = Plan(runner, backbones, n_alt)
    plan.hosts(lgcn_search)
    plan.primaries()
    plan.alternatives()
    plan.collect()
    for b in plan.live():
        log("backbone %-8s chosen host: %s" % (b, cfg_str(plan.searches[(b, "base")].chosen())))
    return plan
