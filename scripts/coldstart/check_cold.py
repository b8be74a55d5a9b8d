#!/usr/bin/env python3
"""Check a cold-start split and its user texts (python3 standard library only).

  1. No cold item (cold_items.txt) has a pair in the split's train.txt or val.txt.
  2. Every train and val pair of the original split is either kept or a cold
     item's pair listed in cold_removed.txt; the item count is unchanged.
  3. No user text (user_profile.tsv, user_intent.tsv) names a cold item's title,
     unless that title also belongs to a warm item the text may use (a train
     positive of the cold split or a warm rating <= 2: MovieLens lists a few
     movies under two ids).
  4. No user_sources.tsv pair involves a cold item.
Exit status 0 when clean, 1 with the problems otherwise.
"""

import argparse
import json
import os
import re
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts", "ml100k"))
from check_no_leak import read_pairs, read_tsv  # noqa: E402  (one reader of each format)


def check_split(orig, split):
    problems = []
    with open(os.path.join(split, "cold_items.txt"), encoding="ascii") as f:
        cold = {int(x) for x in f.read().split()}
    removed = set()
    with open(os.path.join(split, "cold_removed.txt"), encoding="ascii") as f:
        for line in f:
            s, u, i = line.split()
            removed.add((s, int(u), int(i)))
    for s in ("train", "val"):
        kept = read_pairs(os.path.join(split, s + ".txt"))
        problems += ["%s.txt: cold item %d has a pair with user %d" % (s, i, u)
                     for (u, i) in sorted(kept) if i in cold]
        for (u, i) in sorted(read_pairs(os.path.join(orig, s + ".txt"))):
            if (u, i) not in kept and (s, u, i) not in removed:
                problems.append("%s pair (%d, %d) vanished without a record" % (s, u, i))
            if (s, u, i) in removed and i not in cold:
                problems.append("%s pair (%d, %d) removed but item %d is warm" % (s, u, i, i))
    n = []
    for d in (orig, split):
        with open(os.path.join(d, "stats.json")) as f:
            n.append(json.load(f)["n_items"])
    if n[0] != n[1]:
        problems.append("n_items changed: %d -> %d" % tuple(n))
    return problems, cold


def item_titles(texts):
    titles = {}
    for i, text in read_tsv(os.path.join(texts, "item_profile.tsv")).items():
        m = re.match(r"Title: (.*?)\.(?: Released in| Genres:)", text)
        if m:
            titles[i] = m.group(1)
    return titles


def allowed_titles(split, titles, cold):
    allowed = defaultdict(set)
    for (u, i) in read_pairs(os.path.join(split, "train.txt")):
        allowed[u].add(titles.get(i))
    with open(os.path.join(split, "raw", "u.data"), encoding="ascii") as f:
        for line in f:
            p = line.split()
            if len(p) == 4 and int(p[2]) <= 2 and int(p[1]) - 1 not in cold:
                allowed[int(p[0]) - 1].add(titles.get(int(p[1]) - 1))
    return allowed


def names_title(text, t, titles):
    """True when text lists title t as a whole entry, not as the start of a longer
    title ("M" in "M. Butterfly")."""
    longer = [x for x in set(titles.values()) if x != t and x.startswith(t)]
    # Titles follow "liked: ", "such as " or "; " and end at " (", ";" or ".".
    pat = r"(?:liked: |such as |; )(%s)(?: \(|;|\.(?: |$))" % re.escape(t)
    for m in re.finditer(pat, text):
        rest = text[m.start(1):]
        if not any(rest.startswith(x) for x in longer):
            return True
    return False


def check_texts(split, texts, cold):
    problems = []
    titles = item_titles(texts)
    cold_titles = sorted({titles[i] for i in cold if titles.get(i)})
    allowed = allowed_titles(split, titles, cold)
    for name in ("user_profile.tsv", "user_intent.tsv"):
        for u, text in read_tsv(os.path.join(texts, name)).items():
            for t in cold_titles:
                if t in text and t not in allowed[u] and names_title(text, t, titles):
                    problems.append("%s: user %d names cold title %r" % (name, u, t))
    with open(os.path.join(texts, "user_sources.tsv"), encoding="ascii") as f:
        next(f)
        for line in f:
            u, i, role = line.rstrip("\n").split("\t")
            if int(i) in cold:
                problems.append("user_sources.tsv: user %s draws on cold item %s (%s)"
                                % (u, i, role))
    return problems


def check(orig, split, texts):
    problems, cold = check_split(orig, split)
    return problems + check_texts(split, texts, cold), len(cold)


def main(argv=None):
    ap = argparse.ArgumentParser(description="check a cold-start split and its user texts")
    ap.add_argument("--orig", default=os.path.join(REPO, "..", "shared", "data", "ml-100k"))
    ap.add_argument("--split", default=os.path.join(REPO, "out", "coldstart", "data"))
    ap.add_argument("--texts", default=os.path.join(REPO, "out", "coldstart", "emb", "texts"))
    a = ap.parse_args(argv)
    problems, n_cold = check(a.orig, a.split, a.texts)
    for p in problems[:20]:
        print("check_cold.py: " + p, file=sys.stderr)
    if problems:
        print("check_cold.py: FAILED: %d problems" % len(problems), file=sys.stderr)
        return 1
    print("check_cold.py: ok: %d cold items, none in train/val, none named in a user text"
          % n_cold, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
