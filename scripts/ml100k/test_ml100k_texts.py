#!/usr/bin/env python3
"""Tests of build_texts.py, check_no_leak.py and make_embeddings.sh on a tiny
MovieLens-shaped fixture that the tests write themselves (no shared data).

Run: python3 scripts/ml100k/test_ml100k_texts.py
Set TE_TOOL to an irllrec-textembed binary to also run the driver end to end
(ctest does)."""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_texts  # noqa: E402
import check_no_leak  # noqa: E402

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
          "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def flags(*names):
    return "|".join("1" if g in names else "0" for g in GENRES)


# (raw title bytes, genres); item i is line i+1.
ITEMS = [
    (b"Mis\xef\xbf\xbdrables, Les (1995)", ("Drama",)),         # lost accent (U+FFFD as UTF-8)
    (b"Caf\xe9 Express (1980)", ("Comedy",)),                      # a latin-1 byte
    (b"Shawshank Redemption, The (1994)", ("Drama",)),
    (b"unknown", ()),
    (b"Toy Story (1995)", ("Animation", "Children's", "Comedy")),
    (b"Toy Story (1995)", ("Animation", "Children's", "Comedy")),  # listed twice, as in MovieLens
]
USERS = ["1|24|M|technician|00000", "2|53|F|other|00000", "3|15|F|student|00000",
         "4|60|M|retired|00000"]
# user: (train, val, test); user 3 has no positives at all.
SPLIT = {0: ([0, 1], [2], [3]), 1: ([2], [0], [4]), 2: ([4, 0], [1], [2])}
# Extra ratings: dislikes of user 0 (items 4, 5: one title) and user 1 (item 3), a 3 for user 2.
LOW = [(0, 4, 1), (0, 5, 1), (1, 3, 2), (2, 3, 3)]
VECTORS = ("drama 1 0 0\ncomedy 0 1 0\nmovie 0 0 1\ntitle 1 1 0\nstory 0 1 1\ntoy 1 0 1\n"
           "likes 0.5 0.5 0\nlooking 0 0.5 0.5\nyoung 1 0.2 0\n")


def write_fixture(root, split=SPLIT, low=LOW):
    raw = os.path.join(root, "raw")
    os.makedirs(raw)
    with open(os.path.join(root, "stats.json"), "w") as f:
        json.dump({"n_users": len(USERS), "n_items": len(ITEMS)}, f)
    with open(os.path.join(raw, "u.item"), "wb") as f:
        for i, (title, g) in enumerate(ITEMS):
            date = b"" if title == b"unknown" else b"01-Jan-1995"
            f.write(b"%d|%s|%s||http://x|%s\n" % (i + 1, title, date, flags(*g).encode()))
    with open(os.path.join(raw, "u.user"), "w") as f:
        f.write("\n".join(USERS) + "\n")
    with open(os.path.join(raw, "u.genre"), "w") as f:
        f.write("".join("%s|%d\n" % (g, k) for k, g in enumerate(GENRES)))
    with open(os.path.join(raw, "movie_wiki.csv"), "w", encoding="utf-8") as f:
        f.write('movie_title,wiki_summary\n'
                '"Misérables, Les (1995)","Les Misérables is a 1995 drama\nfilm."\n'
                'Toy Story (1995),Toy Story is an animated story about a toy.\n')
    names = ("train.txt", "val.txt", "test.txt")
    for k, name in enumerate(names):
        with open(os.path.join(root, name), "w") as f:
            for u in sorted(split):
                if split[u][k]:
                    f.write("%d %s\n" % (u, " ".join(map(str, split[u][k]))))
    with open(os.path.join(raw, "u.data"), "w") as f:
        t = 880000000
        for u in sorted(split):
            for part in split[u]:
                for i in part:
                    t += 1
                    f.write("%d\t%d\t%d\t%d\n" % (u + 1, i + 1, 4 + (i % 2), t))
        for u, i, r in low:
            t += 1
            f.write("%d\t%d\t%d\t%d\n" % (u + 1, i + 1, r, t))


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t", 1) for line in f]


def npy_shape(path):
    with open(path, "rb") as f:
        head = f.read(10)
        assert head[:8] == b"\x93NUMPY\x01\x00", head
        hl = struct.unpack("<H", head[8:10])[0]
        d = f.read(hl).decode("latin-1")
        size = os.path.getsize(path)
    shape = d[d.index("(") + 1:d.index(")")].split(",")
    rows, cols = int(shape[0]), int(shape[1])
    assert "'<f4'" in d and size == 10 + hl + 4 * rows * cols, (d, size)
    return rows, cols


class TextsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ml100k-texts-")
        self.data = os.path.join(self.tmp, "data")
        self.out = os.path.join(self.tmp, "texts")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def build(self, **kw):
        return build_texts.build(self.data, self.out, max_titles=kw.get("max_titles", 10),
                                 max_likes=10, max_dislikes=5, top_genres=3)

    def test_texts_content(self):
        write_fixture(self.data)
        info = self.build()
        ip = read_tsv(os.path.join(self.out, "item_profile.tsv"))
        ii = read_tsv(os.path.join(self.out, "item_intent.tsv"))
        up = read_tsv(os.path.join(self.out, "user_profile.tsv"))
        ui = read_tsv(os.path.join(self.out, "user_intent.tsv"))
        self.assertEqual([r[0] for r in ip], ["0", "1", "2", "3", "4", "5"])
        self.assertEqual([r[0] for r in up], ["0", "1", "2", "3"])
        # Accent restored from the Wikipedia title, article moved, newline collapsed.
        self.assertEqual(ip[0][1], "Title: Les Misérables. Released in 1995. Genres: drama. "
                                   "Summary: Les Misérables is a 1995 drama film.")
        self.assertTrue(ip[1][1].startswith("Title: Caf\u00e9 Express. Released in 1980."))
        self.assertTrue(ip[2][1].startswith("Title: The Shawshank Redemption."))
        self.assertEqual(ip[3][1], "Title: unknown. Genres: not listed.")
        self.assertEqual(ii[3][1], "For someone looking for a movie.")
        self.assertEqual(ii[4][1], "For someone looking for an animated movie; "
                                   "a children's movie; a comedy.")
        # User 0: train items 0 and 1 only; item 2 (val) and 3 (test) never named.
        self.assertIn("A young man, aged 18 to 24, who works as a technician.", up[0][1])
        self.assertIn("Les Misérables (drama)", up[0][1])
        self.assertIn("Café Express (comedy)", up[0][1])
        self.assertNotIn("Shawshank", up[0][1] + ui[0][1])
        self.assertNotIn("unknown", up[0][1] + ui[0][1])
        self.assertIn("Dislikes movies such as Toy Story.", ui[0][1])  # once, not twice
        # Weighted genres: item 1 (comedy) is rated 5 -> weight 2; item 0 (drama) 4 -> 1.
        self.assertTrue(ui[0][1].startswith("Looking for a comedy most of all; often a drama."),
                        ui[0][1])
        # User 1: train item 2; its rating-2 item 3 is a dislike; val item 0 never named.
        self.assertIn("The Shawshank Redemption", up[1][1])
        self.assertIn("Dislikes movies such as unknown.", ui[1][1])
        self.assertNotIn("Misérables", up[1][1] + ui[1][1])
        self.assertNotIn("Toy Story", up[1][1] + ui[1][1])
        # User 2: a teenage girl; rating 3 is neither like nor dislike.
        self.assertIn("A teenage girl, aged under 18, who is a student.", up[2][1])
        self.assertNotIn("Dislikes", ui[2][1])
        # User 3: no train positives, no ratings: an empty intent line is still written.
        self.assertEqual(up[3][1], "A senior man, aged 56 or older, who is retired. No liked movies on record.")
        self.assertEqual(ui[3], ["3", ""])
        self.assertEqual(info["users_without_train_positives"], 1)
        self.assertEqual(info["items_with_wiki_summary"], 3)
        self.assertEqual(info["items_with_accents_restored_from_wiki"], 1)
        with open(os.path.join(self.out, "texts-sample.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("## User 2", md)
        self.assertIn("## Item 2", md)

    def test_bounded_title_list(self):
        write_fixture(self.data)
        self.build(max_titles=1)
        up = read_tsv(os.path.join(self.out, "user_profile.tsv"))
        # Item 1 (rating 5) outranks item 0 (rating 4).
        self.assertIn("liked: Café Express (comedy).", up[0][1])
        self.assertNotIn("Misérables", up[0][1])

    def test_leak_check_passes_then_catches_leaks(self):
        write_fixture(self.data)
        self.build()
        problems, n = check_no_leak.check(self.data, self.out)
        self.assertEqual(problems, [])
        self.assertGreater(n, 0)
        # A val pair in the provenance file.
        with open(os.path.join(self.out, "user_sources.tsv"), "a") as f:
            f.write("0\t2\tlike\n")
        problems, _ = check_no_leak.check(self.data, self.out)
        self.assertTrue(any("val/test pair" in p for p in problems), problems)
        # A held-out title named in a user text.
        self.build()
        path = os.path.join(self.out, "user_intent.tsv")
        rows = read_tsv(path)
        self.assertIn("Likes movies such as ", rows[0][1])
        rows[0][1] = rows[0][1].replace("Likes movies such as ",
                                        "Likes movies such as The Shawshank Redemption; ")
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join("%s\t%s\n" % tuple(r) for r in rows))
        problems, _ = check_no_leak.check(self.data, self.out)
        self.assertTrue(any("names held-out item 2" in p for p in problems), problems)

    def test_builder_refuses_heldout_pairs(self):
        # A split where a val pair is also in train: the builder must refuse.
        split = dict(SPLIT)
        split[0] = ([0, 1, 2], [2], [3])
        write_fixture(self.data, split=split)
        with self.assertRaises(build_texts.BuildError):
            self.build()
        # A held-out positive that u.data also lists with a low rating (inconsistent data).
        shutil.rmtree(self.data)
        write_fixture(self.data, low=[(0, 3, 1)])
        with self.assertRaises(build_texts.BuildError):
            self.build()

    @unittest.skipUnless(os.environ.get("TE_TOOL"), "TE_TOOL not set")
    def test_make_embeddings_end_to_end(self):
        write_fixture(self.data)
        vec = os.path.join(self.tmp, "vectors.txt")
        with open(vec, "w") as f:
            f.write(VECTORS)
        out = os.path.join(self.tmp, "ds")
        r = subprocess.run(["bash", os.path.join(HERE, "make_embeddings.sh"), "--data", self.data,
                            "--out", out, "--tool", os.environ["TE_TOOL"], "--vectors", vec],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(npy_shape(os.path.join(out, "usr_prf.npy")), (4, 3))
        self.assertEqual(npy_shape(os.path.join(out, "usr_int.npy")), (4, 3))
        self.assertEqual(npy_shape(os.path.join(out, "itm_prf.npy")), (6, 3))
        self.assertEqual(npy_shape(os.path.join(out, "itm_int.npy")), (6, 3))
        for name in ("train.txt", "val.txt", "test.txt", "stats.json"):
            with open(os.path.join(out, name)) as a, open(os.path.join(self.data, name)) as b:
                self.assertEqual(a.read(), b.read())
        self.assertIn("texts had no known word", r.stderr)  # user 3's empty intent
        # A second run over the same folder works (copies are overwritable).
        r = subprocess.run(["bash", os.path.join(HERE, "make_embeddings.sh"), "--data", self.data,
                            "--out", out, "--tool", os.environ["TE_TOOL"], "--vectors", vec],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
