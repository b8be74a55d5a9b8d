#!/usr/bin/env python3
"""Check that MovieLens-100K user texts use nothing from val or test.

Independent of build_texts.py's own guard: re-reads the split and u.data and
checks the texts folder it wrote.
  1. user_sources.tsv (every (user, item) pair a user text drew on): no pair is
     in val.txt or test.txt; 'profile', 'genres' and 'like' pairs are in
     train.txt; 'dislike' pairs have rating <= 2 in raw/u.data.
  2. The texts themselves: no user text names the title of one of the user's
     val/test items, unless that title also belongs to an item the user may
     legitimately be described by (a train positive or a rating <= 2; MovieLens
     lists a few movies under two ids).
Exit status 0 when clean, 1 with the offending pairs otherwise.
"""

import argparse
import os
import re
import sys
from collections import defaultdict


def read_pairs(path):
    pairs = set()
    with open(path, encoding="ascii") as f:
        for line in f:
            p = line.split()
            pairs.update((int(p[0]), int(i)) for i in p[1:])
    return pairs


def read_tsv(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            k, _, text = line.rstrip("\n").partition("\t")
            out[int(k)] = text
    return out


def check(data, texts):
    problems = []
    train = read_pairs(os.path.join(data, "train.txt"))
    heldout = read_pairs(os.path.join(data, "val.txt")) | read_pairs(os.path.join(data, "test.txt"))
    rating = {}
    with open(os.path.join(data, "raw", "u.data"), encoding="ascii") as f:
        for line in f:
            p = line.split()
            if len(p) == 4:
                rating[(int(p[0]) - 1, int(p[1]) - 1)] = int(p[2])

    n_sources = 0
    with open(os.path.join(texts, "user_sources.tsv"), encoding="ascii") as f:
        next(f)
        for ln, line in enumerate(f, 2):
            u, i, role = line.rstrip("\n").split("\t")
            pair = (int(u), int(i))
            n_sources += 1
            if pair in heldout:
                problems.append("user_sources.tsv:%d: %s pair %s is a val/test pair" % (ln, role, pair))
            if role in ("profile", "genres", "like") and pair not in train:
                problems.append("user_sources.tsv:%d: %s pair %s is not a train pair" % (ln, role, pair))
            if role == "dislike" and rating.get(pair, 99) > 2:
                problems.append("user_sources.tsv:%d: dislike %s has rating %s" % (ln, pair, rating.get(pair)))

    titles = {}
    for i, text in read_tsv(os.path.join(texts, "item_profile.tsv")).items():
        m = re.match(r"Title: (.*?)\.(?: Released in| Genres:)", text)
        if m:
            titles[i] = m.group(1)
    allowed = defaultdict(set)
    for (u, i) in train:
        allowed[u].add(titles.get(i))
    for (u, i), r in rating.items():
        if r <= 2:
            allowed[u].add(titles.get(i))
    held_by_user = defaultdict(list)
    for (u, i) in heldout:
        held_by_user[u].append(i)
    for name in ("user_profile.tsv", "user_intent.tsv"):
        for u, text in read_tsv(os.path.join(texts, name)).items():
            for i in held_by_user.get(u, []):
                t = titles.get(i)
                if not t or t in allowed[u]:
                    continue
                # Titles follow "liked: ", "such as " or "; " and end at " (", ";" or ".".
                if re.search(r"(?:liked: |such as |; )%s(?: \(|;|\.(?: |$))" % re.escape(t), text):
                    problems.append("%s: user %d names held-out item %d (%s)" % (name, u, i, t))
    return problems, n_sources


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description="check MovieLens-100K texts for val/test leakage")
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "ml-100k"))
    ap.add_argument("--texts", default=os.path.join(repo, "out", "ml100k", "texts"))
    a = ap.parse_args(argv)
    problems, n = check(a.data, a.texts)
    for p in problems[:20]:
        print("check_no_leak.py: " + p, file=sys.stderr)
    if problems:
        print("check_no_leak.py: FAILED: %d problems" % len(problems), file=sys.stderr)
        return 1
    print("check_no_leak.py: ok: %d (user, item) sources, none from val/test; no held-out title "
          "named in a user text" % n, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
