#!/usr/bin/env python3
"""Tests of make_split.py, build_texts.py --exclude-items and check_cold.py.

On the tiny MovieLens-shaped fixture of scripts/ml100k/test_ml100k_texts.py
(always), and on the shared MovieLens-100K folder when it is present (skipped
otherwise): the cold items have no train or val pair and no user text names
their titles; the checker fails when either is broken on purpose.

Run: python3 scripts/coldstart/test_coldstart_split.py
"""

import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "scripts", "ml100k"))
import build_texts  # noqa: E402
import check_cold  # noqa: E402
import make_split  # noqa: E402
import page  # noqa: E402
import test_ml100k_texts as fx  # noqa: E402

ML100K = os.environ.get("ML100K_DATA", os.path.join(REPO, "..", "shared", "data", "ml-100k"))


def build(orig, root, exclude=True):
    """Split orig into root/split, texts into root/texts; returns (split, texts)."""
    split, texts = os.path.join(root, "split"), os.path.join(root, "texts")
    make_split.make(orig, split, 0.2, 2025)
    cold = build_texts.read_item_ids(os.path.join(split, "cold_items.txt"))
    build_texts.build(split, texts, 10, 10, 5, 3, cold if exclude else None)
    return split, texts


def append_pair(path, u, i):
    with open(path, "a", encoding="ascii") as f:
        f.write("%d %d\n" % (u, i))


class Fixture(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.orig = os.path.join(self.tmp, "orig")
        os.makedirs(self.orig)
        fx.write_fixture(self.orig)
        # 20% of 6 items is 1; the fixture's users rate it so that leaks can happen
        self.split, self.texts = build(self.orig, self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def cold(self):
        return build_texts.read_item_ids(os.path.join(self.split, "cold_items.txt"))

    def test_clean(self):
        problems, n = check_cold.check(self.orig, self.split, self.texts)
        self.assertEqual(problems, [])
        self.assertEqual(n, 1)

    def test_same_item_count_and_records(self):
        a = make_split.make(self.orig, os.path.join(self.tmp, "again"), 0.2, 2025)
        self.assertEqual(a["n_items"], len(fx.ITEMS))
        self.assertEqual(a["cold_items"], 1)

    def test_cold_train_pair_fails(self):
        (c,) = self.cold()
        append_pair(os.path.join(self.split, "train.txt"), 3, c)
        problems, _ = check_cold.check(self.orig, self.split, self.texts)
        self.assertTrue(any("train.txt: cold item" in p for p in problems), problems)

    def test_cold_val_pair_fails(self):
        (c,) = self.cold()
        append_pair(os.path.join(self.split, "val.txt"), 3, c)
        problems, _ = check_cold.check(self.orig, self.split, self.texts)
        self.assertTrue(any("val.txt: cold item" in p for p in problems), problems)

    def test_unrecorded_removal_fails(self):
        path = os.path.join(self.split, "cold_removed.txt")
        with open(path) as f:
            lines = f.readlines()
        if not lines:
            self.skipTest("the drawn item has no train/val pair in the fixture")
        with open(path, "w") as f:
            f.writelines(lines[1:])
        problems, _ = check_cold.check(self.orig, self.split, self.texts)
        self.assertTrue(any("vanished" in p for p in problems), problems)

    def test_injected_title_fails(self):
        (c,) = self.cold()
        title = check_cold.item_titles(self.texts)[c]
        path = os.path.join(self.texts, "user_intent.tsv")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        lines[3] = "3\tLikes movies such as %s." % title
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        problems, _ = check_cold.check(self.orig, self.split, self.texts)
        self.assertTrue(any("names cold title" in p for p in problems), problems)

    def test_prefix_of_longer_title_is_not_a_hit(self):
        titles = {0: "M", 1: "M. Butterfly"}
        self.assertFalse(check_cold.names_title("Likes movies such as M. Butterfly.", "M",
                                                titles))
        self.assertTrue(check_cold.names_title("Likes movies such as M; Heat.", "M", titles))


class RuleChoice(unittest.TestCase):
    """page.primary picks the rule by VALIDATION Recall@20 only."""

    @staticmethod
    def cold(values):
        """Two seeds; values: rule -> (val R@20, test R@20), the same for both seeds."""
        def one():
            return {"methods": {m: {"val": {"recall@20": v}, "test": {"recall@20": t}}
                                for m, (v, t) in values.items()}}
        return {2023: one(), 2024: one()}

    def test_val_best_wins_over_test_best(self):
        c = self.cold({page.RULES[0]: (0.10, 0.30), page.RULES[4]: (0.20, 0.10),
                       page.DIAGNOSTIC: (0.90, 0.90)})
        self.assertEqual(page.primary(c), page.RULES[4])

    def test_mean_over_seeds(self):
        c = self.cold({page.RULES[0]: (0.15, 0.0), page.RULES[1]: (0.14, 0.0)})
        c[2024]["methods"][page.RULES[0]]["val"]["recall@20"] = 0.10
        self.assertEqual(page.primary(c), page.RULES[1])


@unittest.skipUnless(os.path.isfile(os.path.join(ML100K, "train.txt")),
                     "MovieLens-100K not at %s" % ML100K)
class RealData(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_no_cold_leak(self):
        split, texts = build(ML100K, self.tmp)
        problems, n = check_cold.check(ML100K, split, texts)
        self.assertEqual(problems, [])
        self.assertEqual(n, 336)

    def test_without_exclusion_the_check_fails(self):
        # the warm builder puts cold titles in dislikes (and the original train in likes)
        split, texts = build(ML100K, self.tmp, exclude=False)
        problems, _ = check_cold.check(ML100K, split, texts)
        self.assertTrue(any("names cold title" in p for p in problems))


if __name__ == "__main__":
    unittest.main()
