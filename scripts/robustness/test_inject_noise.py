#!/usr/bin/env python3
"""Tests of inject_noise.py on fixtures written here (standard library only)."""
import hashlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "inject_noise.py")
sys.path.insert(0, HERE)
import inject_noise as inj  # noqa: E402

N_USERS, N_ITEMS, DIM = 30, 50, 6


def make_fixture(folder, seed=7):
    """30 users x 50 items, disjoint per-user splits, four text matrices; user 3's
    profile row is all zero (noise must leave it zero)."""
    rng = random.Random(seed)
    os.makedirs(folder)
    splits = {s: {} for s in inj.SPLITS}
    for u in range(N_USERS):
        items = rng.sample(range(N_ITEMS), 4 + u % 5)
        splits["train"][u] = sorted(items[:-2])
        splits["val"][u] = [items[-2]]
        splits["test"][u] = [items[-1]] if u % 7 else []
    for s, rows in splits.items():
        inj.write_split(os.path.join(folder, s + ".txt"), rows)
    with open(os.path.join(folder, "stats.json"), "w") as f:
        json.dump({"n_users": N_USERS, "n_items": N_ITEMS,
                   "train": sum(len(v) for v in splits["train"].values())}, f)
    for name, side in inj.TEXTS.items():
        n = N_USERS if side == "users" else N_ITEMS
        vals = [rng.uniform(-1, 1) for _ in range(n * DIM)]
        if name == "usr_prf":
            vals[3 * DIM:4 * DIM] = [0.0] * DIM
        inj.write_npy(os.path.join(folder, name + ".npy"), n, DIM, vals)
    return splits


def run(*args):
    return subprocess.run([sys.executable, TOOL] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def pairs(split):
    return {(u, i) for u, items in split.items() for i in items}


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "data")
        self.splits = make_fixture(self.src)
        self.n_train = sum(len(v) for v in self.splits["train"].values())

    def tearDown(self):
        self.tmp.cleanup()

    def out(self, name):
        return os.path.join(self.tmp.name, name)

    def ok(self, *args):
        r = run(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def refused(self, out, *args, says):
        r = run(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(says, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertFalse(os.path.exists(out), "a refused run left its output behind")
        left = [n for n in os.listdir(self.tmp.name) if n.startswith(".noise-")]
        self.assertEqual(left, [], "a refused run left its temporary folder behind")


class Interactions(Base):
    def test_exact_count_new_pairs_and_untouched_splits(self):
        for ratio in (0.0, 0.05, 0.1, 0.2, 0.25):
            out = self.out(f"r{ratio}")
            self.ok("interactions", self.src, out, "--ratio", ratio, "--seed", 1)
            got = inj.load(out)
            want = round(ratio * self.n_train)
            self.assertEqual(sum(len(v) for v in got["splits"]["train"].values()),
                             self.n_train + want)
            added = pairs(got["splits"]["train"]) - pairs(self.splits["train"])
            self.assertEqual(len(added), want)
            every = set().union(*(pairs(self.splits[s]) for s in inj.SPLITS))
            self.assertFalse(added & every, "a fake pair exists in some split")
            self.assertTrue(pairs(self.splits["train"]) <= pairs(got["splits"]["train"]))
            for s in ("val", "test"):
                self.assertEqual(digest(os.path.join(out, s + ".txt")),
                                 digest(os.path.join(self.src, s + ".txt")))
            with open(os.path.join(out, "added_train_pairs.txt")) as f:
                listed = {tuple(map(int, line.split())) for line in f}
            self.assertEqual(listed, added)
            with open(os.path.join(out, "manifest.json")) as f:
                m = json.load(f)
            self.assertEqual((m["kind"], m["added"], m["ratio"]), ("interactions", want, ratio))
            self.assertEqual(m["files"]["train.txt"], digest(os.path.join(out, "train.txt")))
            with open(os.path.join(out, "stats.json")) as f:
                self.assertEqual(json.load(f)["train"], self.n_train + want)

    def test_reproducible_by_seed(self):
        a, b, c = self.out("a"), self.out("b"), self.out("c")
        self.ok("interactions", self.src, a, "--ratio", 0.25, "--seed", 5)
        self.ok("interactions", self.src, b, "--ratio", 0.25, "--seed", 5)
        self.ok("interactions", self.src, c, "--ratio", 0.25, "--seed", 6)
        self.assertEqual(digest(os.path.join(a, "train.txt")), digest(os.path.join(b, "train.txt")))
        self.assertNotEqual(digest(os.path.join(a, "train.txt")),
                            digest(os.path.join(c, "train.txt")))

    def test_ratios_outside_unit_interval_refused(self):
        for bad in ("-0.1", "1.5", "nan", "inf"):
            out = self.out("bad")
            self.refused(out, "interactions", self.src, out, "--ratio", bad, says="--ratio")

    def test_more_pairs_than_free_refused(self):
        # 2 users x 3 items: user 0 has every item somewhere, user 1 has 2 free;
        # ratio 1.0 of 3 train pairs asks for 3.
        data = {"stats": {"n_users": 2, "n_items": 3},
                "splits": {"train": {0: [0, 1], 1: [0]}, "val": {0: [2]}, "test": {}}}
        with self.assertRaisesRegex(inj.DataError, "3 fake pairs asked for, only 2"):
            inj.add_interactions(data, 1.0, random.Random(1))
        data["splits"]["train"] = {0: [0, 1], 1: [0]}
        self.assertEqual(len(inj.add_interactions(data, 2 / 3, random.Random(1))), 2)
        self.assertEqual(data["splits"]["train"][1], [0, 1, 2])

    def test_existing_output_refused(self):
        out = self.out("taken")
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("mine\n")
        r = run("interactions", self.src, out, "--ratio", 0.1)
        self.assertEqual(r.returncode, 2)
        self.assertIn("refusing to overwrite", r.stderr)
        self.assertEqual(os.listdir(out), ["keep.txt"])


class Shapes(Base):
    def test_item_outside_stats_refused(self):
        with open(os.path.join(self.src, "stats.json"), "w") as f:
            json.dump({"n_users": N_USERS, "n_items": 10}, f)
        out = self.out("o")
        self.refused(out, "interactions", self.src, out, "--ratio", 0.1,
                     says="unknown dataset shape")

    def test_text_rows_disagreeing_with_stats_refused(self):
        inj.write_npy(os.path.join(self.src, "itm_int.npy"), N_ITEMS - 1, DIM,
                      [0.5] * ((N_ITEMS - 1) * DIM))
        out = self.out("o")
        self.refused(out, "text", self.src, out, "--scale", 0.5, says="itm_int.npy")

    def test_missing_stats_and_garbage_refused(self):
        os.remove(os.path.join(self.src, "stats.json"))
        out = self.out("o")
        self.refused(out, "interactions", self.src, out, "--ratio", 0.1, says="stats.json")
        with open(os.path.join(self.src, "stats.json"), "w") as f:
            json.dump({"n_users": -4, "n_items": N_ITEMS}, f)
        self.refused(out, "interactions", self.src, out, "--ratio", 0.1, says="n_users")


class Text(Base):
    def test_relative_gaussian_noise_has_the_stated_norm(self):
        for scale in (0.0, 0.25, 0.5, 1.0):
            out = self.out(f"s{scale}")
            self.ok("text", self.src, out, "--scale", scale, "--seed", 3)
            for name in inj.TEXTS:
                r0, c0, before = inj.read_npy(os.path.join(self.src, name + ".npy"))
                r1, c1, after = inj.read_npy(os.path.join(out, name + ".npy"))
                self.assertEqual((r0, c0), (r1, c1))
                for r in range(r0):
                    x, y = before[r * c0:(r + 1) * c0], after[r * c0:(r + 1) * c0]
                    norm = math.sqrt(sum(v * v for v in x))
                    moved = math.sqrt(sum((a - b) ** 2 for a, b in zip(x, y)))
                    self.assertAlmostEqual(moved, scale * norm, delta=1e-5 + 1e-5 * norm)
            r, c, row3 = inj.read_npy(os.path.join(out, "usr_prf.npy"))
            self.assertEqual(row3[3 * c:4 * c], [0.0] * c, "a zero row must stay zero")
            for s in inj.SPLITS:
                self.assertEqual(digest(os.path.join(out, s + ".txt")),
                                 digest(os.path.join(self.src, s + ".txt")))

    def test_bad_scale_and_unknown_file_refused(self):
        out = self.out("o")
        self.refused(out, "text", self.src, out, "--scale", -0.5, says="--scale")
        self.refused(out, "text", self.src, out, "--scale", 0.5, "--files", "usr_xyz",
                     says="usr_xyz.npy")


class Mislead(Base):
    def test_swapped_rows_come_from_another_node(self):
        for side, n, names in (("users", N_USERS, ("usr_prf", "usr_int")),
                               ("items", N_ITEMS, ("itm_prf", "itm_int"))):
            for fraction in (0.0, 0.1, 0.25, 0.5):
                out = self.out(f"{side}{fraction}")
                self.ok("mislead", self.src, out, "--side", side, "--fraction", fraction)
                with open(os.path.join(out, "swapped_text_rows.txt")) as f:
                    swaps = [tuple(map(int, line.split())) for line in f]
                self.assertEqual(len(swaps), round(fraction * n))
                self.assertEqual(len({a for a, _ in swaps}), len(swaps))
                swapped = dict(swaps)
                for name in names:
                    _, c, before = inj.read_npy(os.path.join(self.src, name + ".npy"))
                    _, _, after = inj.read_npy(os.path.join(out, name + ".npy"))
                    for node in range(n):
                        src = swapped.get(node, node)
                        self.assertNotEqual(swapped.get(node, -1), node)
                        self.assertEqual(after[node * c:(node + 1) * c],
                                         before[src * c:(src + 1) * c])
                other = [m for m, s in inj.TEXTS.items() if s != side]
                for name in other:
                    self.assertEqual(digest(os.path.join(out, name + ".npy")),
                                     digest(os.path.join(self.src, name + ".npy")))

    def test_bad_fraction_refused(self):
        out = self.out("o")
        self.refused(out, "mislead", self.src, out, "--side", "users", "--fraction", 1.01,
                     says="--fraction")


class Quartiles(Base):
    def test_groups_cover_test_users_by_degree(self):
        out = self.out("q.json")
        self.ok("quartiles", self.src, out)
        with open(out) as f:
            groups = json.load(f)["groups"]
        users = [u for g in groups for u in g["users"]]
        want = sorted(u for u, items in self.splits["test"].items() if items)
        self.assertEqual(sorted(users), want)
        sizes = [len(g["users"]) for g in groups]
        self.assertLessEqual(max(sizes) - min(sizes), 1)
        degree = {u: len(self.splits["train"][u]) for u in want}
        flat = [degree[u] for u in users]
        self.assertEqual(flat, sorted(flat), "groups must ascend in train degree")
        for g in groups:
            self.assertEqual(g["train_degree_min"], min(degree[u] for u in g["users"]))


if __name__ == "__main__":
    unittest.main()
