#!/usr/bin/env python3
"""The MovieLens-100K item cold-start experiment and the explanation check (issue 13).

    cmake -S . -B build && cmake --build build -j2 && python3 scripts/coldstart/run.py

One command: builds the cold split (make_split.py, 20% of the items, seed 2025) and its
texts and GloVe+SIF embeddings with the cold items kept out of every user text
(make_embeddings.sh --exclude-items), checks them (check_cold.py), trains LightGCN +
IRLLRec on it with the settings chosen on validation in docs/results-ml100k.md (no
re-tuning) for each seed, and once on the normal split (seed 2023) for the explanation
check, runs build/examples/coldstart/{coldstart_eval,explain_eval}, and writes
docs/results-coldstart.md (scripts/coldstart/page.py).

Each training run is done twice: to early stopping, then again with the same seed for
exactly best_epoch + 1 epochs with --save-every best_epoch + 1, so that the
checkpoint's hook state is the one at the best-validation epoch (the trainer is bitwise
deterministic for a seed; the second run must reproduce the first's best validation
Recall@20, which is checked). Runs are cached under out/coldstart/runs/, keyed by the
command line and the data files; --fresh reruns them. At most --jobs (2) at a time,
one thread each (OPENBLAS_NUM_THREADS=1).
"""

import argparse
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import page  # noqa: E402

ML100K = os.path.join(REPO, "..", "shared", "data", "ml-100k")
COMMON = ["--dim", "32", "--layers", "3", "--lr", "5e-3", "--batch", "4096", "--epochs",
          "3000", "--eval-step", "3", "--patience", "10"]
# LightGCN + IRLLRec as chosen on validation in docs/results-ml100k.md
IRLLREC = ["--irllrec", "--reg", "1e-5", "--keep", "0.8", "--w-kd", "3e-3", "--tau-kd", "0.2",
           "--w-pair", "3e-3", "--tau-pair", "0.2", "--w-tran", "5e-3", "--w-itm", "1e-3",
           "--intents", "64", "--hook-lr", "1e-3"]
DATA_FILES = ["train.txt", "val.txt", "test.txt", "stats.json", "usr_prf.npy", "itm_prf.npy",
              "usr_int.npy", "itm_int.npy"]


class NotRun(Exception):
    pass


def log(msg):
    print("coldstart/run.py: " + msg, file=sys.stderr, flush=True)


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(folder):
    h = hashlib.md5()
    for f in DATA_FILES:
        h.update(md5_file(os.path.join(folder, f)).encode())
    return h.hexdigest()[:12]


def build_data(a, out):
    """The cold split and both embedded datasets; returns their folders."""
    split, cold_emb = os.path.join(out, "data"), os.path.join(out, "emb")
    warm_emb = os.path.join(REPO, "out", "ml100k")
    tool = os.path.join(a.build, "examples", "textembed", "irllrec-textembed")
    vectors = os.path.join(a.data, "glove-6B-100d-subset.txt")
    mk = os.path.join(REPO, "scripts", "ml100k", "make_embeddings.sh")
    if a.fresh or not os.path.exists(os.path.join(split, "cold_val.txt")):
        subprocess.run([sys.executable, os.path.join(HERE, "make_split.py"), "--data", a.data,
                        "--out", split], check=True)
    if a.fresh or not all(os.path.exists(os.path.join(cold_emb, f)) for f in DATA_FILES):
        subprocess.run([mk, "--data", split, "--out", cold_emb, "--tool", tool, "--vectors",
                        vectors, "--exclude-items", os.path.join(split, "cold_items.txt")],
                       check=True)
    if not all(os.path.exists(os.path.join(warm_emb, f)) for f in DATA_FILES):
        subprocess.run([mk, "--data", a.data, "--out", warm_emb, "--tool", tool], check=True)
    subprocess.run([sys.executable, os.path.join(HERE, "check_cold.py"), "--orig", a.data,
                    "--split", split, "--texts", os.path.join(cold_emb, "texts")], check=True)
    return split, cold_emb, warm_emb


def write_popularity(data, split, path):
    """Metadata popularity of every item: the mean over its genres of the mean TRAIN
    degree of the WARM items of that genre (cold split train; nothing of a cold item's
    own interactions). Items without a genre get the mean over all warm items."""
    cold = set(int(x) for x in open(os.path.join(split, "cold_items.txt")).read().split())
    genres = page.item_genres(os.path.join(data, "raw", "u.item"))
    deg = [0] * len(genres)
    with open(os.path.join(split, "train.txt")) as f:
        for line in f:
            for i in line.split()[1:]:
                deg[int(i)] += 1
    tot, cnt = {}, {}
    for i, gs in enumerate(genres):
        if i in cold:
            continue
        for g in gs:
            tot[g] = tot.get(g, 0) + deg[i]
            cnt[g] = cnt.get(g, 0) + 1
    warm_mean = sum(deg[i] for i in range(len(genres)) if i not in cold) / \
        max(1, len(genres) - len(cold))
    with open(path, "w") as f:
        for gs in genres:
            vals = [tot[g] / cnt[g] for g in gs if g in cnt]
            f.write("%.6f\n" % (sum(vals) / len(vals) if vals else warm_mean))


class Runner:
    def __init__(self, a):
        self.a = a
        self.trainer = os.path.join(a.build, "examples", "lightgcn", "lightgcn_train")
        self.lock = threading.Lock()
        self.new_seconds = 0.0
        # the trainer links the library statically: its md5 names the arithmetic
        self.binary = md5_file(self.trainer)[:12] if os.path.exists(self.trainer) else ""

    def train(self, name, data, seed, extra=()):
        """One cached trainer run; returns (run dir, result dict)."""
        out = os.path.abspath(os.path.join(self.a.runs, name))
        argv = ["--data", os.path.abspath(data)] + COMMON + IRLLREC + list(extra) + [
            "--seed", str(seed), "--threads", "1", "--quiet", "--out", out]
        key = {"argv": argv, "data": data_fingerprint(data), "binary": self.binary}
        kpath, rpath = os.path.join(out, "key.json"), os.path.join(out, "result.json")
        if not self.a.fresh and os.path.exists(rpath) and os.path.exists(kpath):
            with open(kpath) as f:
                if json.load(f)["key"] == key:
                    with open(rpath) as g:
                        return out, json.load(g)
        if self.a.cached_only:
            raise NotRun("%s: not in the cache (--cached-only)" % name)
        if os.path.isdir(out):
            subprocess.run(["rm", "-rf", out], check=True)
        os.makedirs(out)
        log("training %s ..." % name)
        t0 = time.time()
        with open(os.path.join(out, "stdout.txt"), "w") as so, \
                open(os.path.join(out, "stderr.txt"), "w") as se:
            subprocess.run([self.trainer] + argv, stdout=so, stderr=se, check=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        dt = time.time() - t0
        with open(kpath, "w") as f:
            json.dump({"key": key, "trainer_md5": md5_file(self.trainer), "wall_s": dt}, f)
        with self.lock:
            self.new_seconds += dt
        log("%s done in %.0f s" % (name, dt))
        with open(rpath) as g:
            return out, json.load(g)

    def chain(self, kind, data, seed):
        """Full run, then the rerun to the best epoch whose checkpoint is used."""
        name = "%s-s%d" % (kind, seed)
        full, r = self.train(name, data, seed)
        b = int(r["best_epoch"]) + 1
        best, rb = self.train(name + "-best", data, seed, ["--epochs", str(b), "--save-every",
                                                           str(b)])
        same = rb["val"]["recall@20"] == r["val"]["recall@20"] and \
            md5_file(os.path.join(full, "user_emb.npy")) == \
            md5_file(os.path.join(best, "user_emb.npy"))
        return {"kind": kind, "seed": seed, "full": full, "best": best, "result": r,
                "rerun_result": rb, "rerun_identical": same}

    def all_chains(self, jobs):
        """jobs: [(kind, data, seed)], run --jobs at a time; results in order."""
        q, res, errors = queue.Queue(), [None] * len(jobs), []
        for k, j in enumerate(jobs):
            q.put((k, j))

        def worker():
            while True:
                try:
                    k, j = q.get_nowait()
                except queue.Empty:
                    return
                try:
                    res[k] = self.chain(*j)
                except (subprocess.CalledProcessError, OSError, KeyError, NotRun) as e:
                    errors.append("%s seed %d: %s" % (j[0], j[2], e))
        ts = [threading.Thread(target=worker) for _ in range(self.a.jobs)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return res, errors


def evaluate(a, chains, split, cold_emb, warm_emb, pop):
    """Run the two evaluation programs; returns ({seed: cold json}, explain json)."""
    bind = os.path.join(a.build, "examples", "coldstart")
    cold, expl = {}, None
    for c in chains:
        if c is None:
            continue
        ck = os.path.join(c["best"], "checkpoint.irlm")
        out = os.path.join(c["best"], "%s-eval.json" % c["kind"])
        if c["kind"] == "cold":
            cmd = [os.path.join(bind, "coldstart_eval"), "--data", cold_emb, "--run", c["best"],
                   "--ckpt", ck, "--cold", split, "--pop", pop, "--out", out]
        else:
            cmd = [os.path.join(bind, "explain_eval"), "--data", warm_emb, "--run", c["best"],
                   "--ckpt", ck, "--out", out]
        t0 = time.time()
        subprocess.run(cmd, check=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        with open(out) as f:
            j = json.load(f)
        j["eval_seconds"] = time.time() - t0
        if c["kind"] == "cold":
            cold[c["seed"]] = j
        else:
            expl = j
    return cold, expl


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--data", default=ML100K, help="the shared ml-100k folder")
    ap.add_argument("--runs", default=os.path.join(REPO, "out", "coldstart", "runs"))
    ap.add_argument("--seeds", default="2023,2024,2025")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="rebuild the data and rerun all")
    ap.add_argument("--cached-only", action="store_true",
                    help="train nothing: use the cached runs, list the others as not run")
    ap.add_argument("--page", default=os.path.join(REPO, "docs", "results-coldstart.md"))
    a = ap.parse_args(argv)
    t0 = time.time()
    out = os.path.join(REPO, "out", "coldstart")
    os.makedirs(a.runs, exist_ok=True)
    split, cold_emb, warm_emb = build_data(a, out)
    pop = os.path.join(out, "popularity.txt")
    write_popularity(a.data, split, pop)
    seeds = [int(s) for s in a.seeds.split(",")]
    jobs = [("cold", cold_emb, seeds[0]), ("warm", warm_emb, 2023)] + \
        [("cold", cold_emb, s) for s in seeds[1:]]
    r = Runner(a)
    chains, errors = r.all_chains(jobs)
    cold, expl = evaluate(a, chains, split, cold_emb, warm_emb, pop)
    page.write(a.page, {"chains": chains, "errors": errors, "cold": cold, "explain": expl,
                        "split": split, "cold_emb": cold_emb, "warm_emb": warm_emb,
                        "data": a.data, "seeds": seeds, "wall": time.time() - t0,
                        "new_seconds": r.new_seconds, "repo": REPO})
    log("wrote %s (%.0f s)" % (a.page, time.time() - t0))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
