#!/usr/bin/env python3
"""Make the MovieLens-100K item cold-start split (python3 standard library only).

From the shared ml-100k split (train/val/test, stats.json, raw/) it draws
--fraction of ALL item ids with random.Random(--seed) and removes every
interaction of those items from train and val. It writes into --out a
complete dataset folder for the trainer and the text builder:

  train.txt, val.txt   the original splits without the cold items
  test.txt             the original test split without the cold items (the warm
                       test the trainer reports; the cold evaluation does not use it)
  stats.json           same n_users / n_items (cold items keep their ids and rows,
                       with no train edge), new pair counts, the rule
  raw                  a symlink to the original raw/ (metadata, ratings)
  cold_items.txt       the cold item ids, ascending, one a line
  cold_test.txt        user -> cold items in that user's TEST positives (the cold test set)
  cold_val.txt         user -> cold items in that user's VAL positives (removed from
                       val.txt: where a cold-start rule is chosen, never on test)
  cold_all.txt         user -> cold items among all of the user's positives (train, val
                       and test: the secondary protocol)
  cold_removed.txt     the removed train and val pairs: "split user item" lines

Users keep their ids; a user whose train positives were all cold has an
empty train row (a line with only the id).
"""

import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def read_split(path):
    """user -> list of items, in file order."""
    rows = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            p = line.split()
            if p:
                rows.setdefault(int(p[0]), []).extend(int(i) for i in p[1:])
    return rows


def write_split(path, rows, users):
    with open(path, "w", encoding="ascii", newline="\n") as f:
        for u in users:
            f.write(" ".join(str(x) for x in [u] + rows.get(u, [])) + "\n")


def draw_cold(n_items, fraction, seed):
    n_cold = int(round(fraction * n_items))
    return sorted(random.Random(seed).sample(range(n_items), n_cold))


def drop(rows, cold):
    kept, removed = {}, []
    for u, items in rows.items():
        kept[u] = [i for i in items if i not in cold]
        removed += [(u, i) for i in items if i in cold]
    return kept, removed


def cold_rows(split_rows, cold):
    out = {}
    for rows in split_rows:
        for u, items in rows.items():
            hit = [i for i in items if i in cold]
            if hit:
                out.setdefault(u, set()).update(hit)
    return {u: sorted(v) for u, v in out.items()}


def make(data, out, fraction, seed):
    with open(os.path.join(data, "stats.json")) as f:
        stats = json.load(f)
    n_items = int(stats["n_items"])
    split = {s: read_split(os.path.join(data, s + ".txt")) for s in ("train", "val", "test")}
    cold_list = draw_cold(n_items, fraction, seed)
    cold = set(cold_list)
    os.makedirs(out, exist_ok=True)
    counts, removed = {}, []
    for s in ("train", "val", "test"):
        kept, gone = drop(split[s], cold)
        users = sorted(split[s])
        write_split(os.path.join(out, s + ".txt"), kept, users)
        counts[s] = sum(len(v) for v in kept.values())
        if s != "test":
            removed += [(s, u, i) for u, i in gone]
    with open(os.path.join(out, "cold_items.txt"), "w", encoding="ascii") as f:
        f.writelines("%d\n" % i for i in cold_list)
    with open(os.path.join(out, "cold_removed.txt"), "w", encoding="ascii") as f:
        f.writelines("%s %d %d\n" % r for r in removed)
    test_rows = cold_rows([split["test"]], cold)
    all_rows = cold_rows([split["train"], split["val"], split["test"]], cold)
    val_rows = cold_rows([split["val"]], cold)
    write_split(os.path.join(out, "cold_test.txt"), test_rows, sorted(test_rows))
    write_split(os.path.join(out, "cold_val.txt"), val_rows, sorted(val_rows))
    write_split(os.path.join(out, "cold_all.txt"), all_rows, sorted(all_rows))
    link = os.path.join(out, "raw")
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(os.path.join(data, "raw")), link)
    info = {
        "n_users": stats["n_users"], "n_items": n_items,
        "train": counts["train"], "val": counts["val"], "test": counts["test"],
        "cold_items": len(cold_list), "cold_fraction": fraction, "cold_seed": seed,
        "removed_train": sum(1 for r in removed if r[0] == "train"),
        "removed_val": sum(1 for r in removed if r[0] == "val"),
        "cold_test_pairs": sum(len(v) for v in test_rows.values()),
        "cold_test_users": len(test_rows),
        "cold_all_pairs": sum(len(v) for v in all_rows.values()),
        "cold_all_users": len(all_rows),
        "rule": "item cold start: %.0f%% of all item ids drawn with random.Random(%d).sample; "
                "their train and val pairs removed; the original split otherwise: %s"
                % (100 * fraction, seed, stats.get("rule", "")),
    }
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "ml-100k"))
    ap.add_argument("--out", default=os.path.join(REPO, "out", "coldstart", "data"))
    ap.add_argument("--fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=2025)
    a = ap.parse_args(argv)
    if not 0.0 < a.fraction < 1.0:
        ap.error("--fraction must be in (0, 1)")
    info = make(a.data, a.out, a.fraction, a.seed)
    print("make_split.py: %d cold items; train %d, val %d pairs kept (%d, %d removed); "
          "cold test: %d pairs of %d users" % (
              info["cold_items"], info["train"], info["val"], info["removed_train"],
              info["removed_val"], info["cold_test_pairs"], info["cold_test_users"]),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
