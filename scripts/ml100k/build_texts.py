#!/usr/bin/env python3
"""Build profile and intent texts for MovieLens-100K (python3 standard library only).

Reads the shared ml-100k folder (train/val/test split, stats.json, raw/) and
writes into --out:

  item_profile.tsv   id<TAB>text: title, year, genres, Wikipedia summary when present
  item_intent.tsv    id<TAB>text: the item's genres as intent phrases
  user_profile.tsv   id<TAB>text: age band, gender, occupation, and up to
                     --max-titles titles (with genres) of the user's TRAIN positives
  user_intent.tsv    id<TAB>text: weighted top genres of TRAIN positives, likes
                     (TRAIN titles), dislikes (the user's ratings <= 2 in raw/u.data)
  user_sources.tsv   provenance: every (user, item) pair whose data went into a
                     user text, with its role; scripts/ml100k/check_no_leak.py
                     re-checks it against val/test independently
  texts-sample.md    the four texts of 3 users and 3 items, for people
  texts-stats.json   counts (wiki matches, users without train positives, ...)

Ids: user u is line u+1 of raw/u.user, item i is line i+1 of raw/u.item. Every
id 0..n-1 gets a line (possibly with little text). Nothing from val.txt or
test.txt is used: the builder refuses to write if any (user, item) pair it
used is a val/test pair.

No LLM is involved: these are templated texts from MovieLens metadata and
Wikipedia summaries (see docs/text-embeddings.md).
"""

import argparse
import csv
import json
import os
import re
import sys
from collections import defaultdict

GENRE_PHRASE = {
    "Action": "an action movie",
    "Adventure": "an adventure movie",
    "Animation": "an animated movie",
    "Children's": "a children's movie",
    "Comedy": "a comedy",
    "Crime": "a crime movie",
    "Documentary": "a documentary",
    "Drama": "a drama",
    "Fantasy": "a fantasy movie",
    "Film-Noir": "a film noir",
    "Horror": "a horror movie",
    "Musical": "a musical",
    "Mystery": "a mystery movie",
    "Romance": "a romance movie",
    "Sci-Fi": "a science fiction movie",
    "Thriller": "a thriller",
    "War": "a war movie",
    "Western": "a western",
}
GENRE_WORD = {"Film-Noir": "film noir", "Sci-Fi": "science fiction"}

OCCUPATION = {
    "none": "has no occupation",
    "other": "has an occupation not in the list",
    "homemaker": "is a homemaker",
    "retired": "is retired",
    "student": "is a student",
    "entertainment": "works in entertainment",
    "healthcare": "works in healthcare",
    "marketing": "works in marketing",
    "administrator": "works as an administrator",
    "artist": "works as an artist",
    "educator": "works as an educator",
    "engineer": "works as an engineer",
    "executive": "works as an executive",
}

ARTICLES = ("The", "A", "An", "La", "Le", "Les", "L'", "Il", "Das", "Der", "Die", "El")
# Template words are chosen among those the GloVe subset covers ("looking",
# "likes", "dislikes", "often", ...); words it lacks ("wants", "mostly",
# "viewer") would be skipped by the embedder.
RANK_WORDS = ("%s most of all", "often %s", "sometimes %s", "also %s")


class BuildError(Exception):
    pass


def clean(text):
    """One line of text: no tabs or newlines, single spaces."""
    return " ".join(text.split())


def age_band(age):
    """(band, word): the band for people, the word so that GloVe sees the age too
    (the vector subset has no numbers)."""
    for hi, band, word in ((17, "under 18", "teenage"), (24, "18 to 24", "young"),
                           (34, "25 to 34", "adult"), (44, "35 to 44", "adult"),
                           (49, "45 to 49", "middle aged"), (55, "50 to 55", "middle aged")):
        if age <= hi:
            return band, word
    return "56 or older", "senior"


def genre_word(g):
    return GENRE_WORD.get(g, g.lower())


def decode_item_field(raw):
    # u.item is documented as latin-1, but the lost accents are stored as the
    # UTF-8 bytes of U+FFFD; decode those as UTF-8 and anything else as latin-1.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def readable_title(title):
    """'Shawshank Redemption, The' -> 'The Shawshank Redemption'."""
    m = re.match(r"^(.*?), (%s)( \(.*\))?$" % "|".join(re.escape(a) for a in ARTICLES), title)
    if not m:
        return title
    art = m.group(2)
    sep = "" if art.endswith("'") else " "
    return art + sep + m.group(1) + (m.group(3) or "")


def read_split(path, n_users, n_items):
    pairs = set()
    by_user = defaultdict(list)
    with open(path, encoding="ascii") as f:
        for ln, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            u = int(parts[0])
            if not 0 <= u < n_users:
                raise BuildError("%s:%d: user %d out of range" % (path, ln, u))
            for tok in parts[1:]:
                i = int(tok)
                if not 0 <= i < n_items:
                    raise BuildError("%s:%d: item %d out of range" % (path, ln, i))
                pairs.add((u, i))
                by_user[u].append(i)
    return pairs, by_user


def read_items(raw_dir, n_items, genres):
    with open(os.path.join(raw_dir, "u.item"), "rb") as f:
        lines = [ln for ln in f.read().split(b"\n") if ln.strip()]
    if len(lines) != n_items:
        raise BuildError("u.item has %d lines, stats.json says %d items" % (len(lines), n_items))
    items = []
    for i, ln in enumerate(lines):
        fields = ln.rstrip(b"\r").split(b"|")
        if len(fields) != 5 + len(genres) or int(fields[0]) != i + 1:
            raise BuildError("u.item line %d: unexpected fields or id" % (i + 1))
        raw_title = decode_item_field(fields[1]).strip()
        flags = [int(x) for x in fields[5:]]
        items.append({
            "raw_title": raw_title,
            "date": fields[2].decode("latin-1"),
            "genres": [g for g, on in zip(genres, flags) if on and g != "unknown"],
        })
    return items


def attach_wiki(raw_dir, items):
    """Match movie_wiki.csv by title; a U+FFFD in u.item matches one non-ASCII letter."""
    wiki = {}
    with open(os.path.join(raw_dir, "movie_wiki.csv"), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            wiki.setdefault(row["movie_title"].strip(), clean(row["wiki_summary"]))
    fuzzy = [k for k in wiki if any(ord(c) > 127 for c in k)]
    matched = restored = 0
    for it in items:
        t = it["raw_title"]
        key = t if t in wiki else None
        if key is None and "\ufffd" in t:
            pat = re.compile("^" + "[^\\x00-\\x7f]".join(re.escape(p) for p in t.split("\ufffd")) + "$")
            hits = [k for k in fuzzy if pat.match(k)]
            if len(hits) == 1:
                key = hits[0]
                restored += 1
        if "\ufffd" in t and key is not None:
            t = key  # the Wikipedia list kept the accents MovieLens lost
        it["full_title"] = t
        it["summary"] = wiki.get(key, "") if key is not None else ""
        matched += key is not None
        m = re.match(r"^(.*) \((\d{4})\)$", t)
        if m:
            it["title"], it["year"] = readable_title(m.group(1)), m.group(2)
        else:
            it["title"] = readable_title(t)
            y = re.search(r"(\d{4})$", it["date"])
            it["year"] = y.group(1) if y else ""
        it["title"] = clean(it["title"])
    return matched, restored


def item_texts(it):
    g = [genre_word(x) for x in it["genres"]]
    prof = "Title: %s." % it["title"]
    if it["year"]:
        prof += " Released in %s." % it["year"]
    prof += " Genres: %s." % (", ".join(g) if g else "not listed")
    if it["summary"]:
        prof += " Summary: %s" % it["summary"]
    # Phrased as the want the item serves, so it reads like a user's intent.
    phrases = [GENRE_PHRASE[x] for x in it["genres"]] or ["a movie"]
    intent = "For someone looking for %s." % "; ".join(phrases)
    return clean(prof), clean(intent)


def first_distinct_titles(ids, items, k):
    """The first k ids whose titles differ (MovieLens lists a few movies twice)."""
    out, seen = [], set()
    for i in ids:
        if len(out) == k:
            break
        if items[i]["title"] not in seen:
            seen.add(items[i]["title"])
            out.append(i)
    return out


def title_with_genres(it):
    g = ", ".join(genre_word(x) for x in it["genres"])
    return "%s (%s)" % (it["title"], g) if g else it["title"]


def read_item_ids(path):
    """Item ids, one a line (an --exclude-items file); None for no file."""
    if path is None:
        return None
    with open(path, encoding="ascii") as f:
        return {int(x) for x in f.read().split()}


def build(data, out, max_titles, max_likes, max_dislikes, top_genres, exclude=None):
    """exclude: item ids no user text may draw on (cold-start items), or None."""
    exclude = exclude or set()
    raw = os.path.join(data, "raw")
    with open(os.path.join(data, "stats.json")) as f:
        stats = json.load(f)
    n_users, n_items = int(stats["n_users"]), int(stats["n_items"])

    with open(os.path.join(raw, "u.genre"), encoding="latin-1") as f:
        genres = [ln.split("|")[0] for ln in f if ln.strip()]
    items = read_items(raw, n_items, genres)
    wiki_matched, wiki_restored = attach_wiki(raw, items)

    users = []
    with open(os.path.join(raw, "u.user"), encoding="latin-1") as f:
        for ln, line in enumerate((x for x in f if x.strip()), 1):
            uid, age, gender, occ, _zip = line.rstrip("\r\n").split("|")
            if int(uid) != ln:
                raise BuildError("u.user line %d has id %s" % (ln, uid))
            users.append((int(age), gender, occ))
    if len(users) != n_users:
        raise BuildError("u.user has %d users, stats.json says %d" % (len(users), n_users))

    train, train_by_user = read_split(os.path.join(data, "train.txt"), n_users, n_items)
    val, _ = read_split(os.path.join(data, "val.txt"), n_users, n_items)
    test, _ = read_split(os.path.join(data, "test.txt"), n_users, n_items)
    heldout = val | test

    rating = {}
    when = {}
    low = defaultdict(list)  # user -> items rated <= 2
    with open(os.path.join(raw, "u.data"), encoding="ascii") as f:
        for line in f:
            p = line.split()
            if len(p) != 4:
                continue
            u, i = int(p[0]) - 1, int(p[1]) - 1
            rating[(u, i)] = int(p[2])
            when[(u, i)] = int(p[3])
            if int(p[2]) <= 2 and i not in exclude:
                low[u].append(i)

    sources = []  # (user, item, role)
    os.makedirs(out, exist_ok=True)

    user_prof, user_int = [], []
    no_train = 0
    for u, (age, gender, occ) in enumerate(users):
        pos = train_by_user.get(u, [])
        # Strongest and most recent first, so the bounded list keeps what matters.
        pos = sorted(pos, key=lambda i: (-rating.get((u, i), 0), -when.get((u, i), 0), i))
        person = "man" if gender == "M" else "woman" if gender == "F" else "person"
        job = OCCUPATION.get(occ, "works as a " + occ)
        band, word = age_band(age)
        if word == "teenage" and person != "person":
            person = "boy" if gender == "M" else "girl"
        art = "An" if word[0] in "aeiou" else "A"
        prof = "%s %s %s, aged %s, who %s." % (art, word, person, band, job)
        if pos:
            shown = first_distinct_titles(pos, items, max_titles)
            prof += " Movies this user liked: %s." % "; ".join(title_with_genres(items[i]) for i in shown)
            sources += [(u, i, "profile") for i in shown]
        else:
            no_train += 1
            # Users with fewer than 5 positives are outside the split: no train data.
            prof += " No liked movies on record."
        user_prof.append(clean(prof))

        # Genre weights: each positive spreads rating-3 (1 or 2) over its genres.
        weight = defaultdict(float)
        for i in pos:
            g = items[i]["genres"]
            r = rating.get((u, i), 4)
            for x in g:
                weight[x] += (r - 3) / len(g)
        ranked = sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:top_genres]
        parts = []
        if ranked:
            parts.append("Looking for %s." % "; ".join(
                RANK_WORDS[min(k, len(RANK_WORDS) - 1)] % GENRE_PHRASE[g]
                for k, (g, _w) in enumerate(ranked)))
            sources += [(u, i, "genres") for i in pos]
        likes = first_distinct_titles(pos, items, max_likes)
        if likes:
            parts.append("Likes movies such as %s." % "; ".join(items[i]["title"] for i in likes))
            sources += [(u, i, "like") for i in likes]
        bad = first_distinct_titles(
            sorted(low.get(u, []), key=lambda i: (rating[(u, i)], -when[(u, i)], i)), items,
            max_dislikes)
        if bad:
            parts.append("Dislikes movies such as %s." % "; ".join(items[i]["title"] for i in bad))
            sources += [(u, i, "dislike") for i in bad]
        user_int.append(clean(" ".join(parts)))

    # The guarantee this builder makes: nothing held out reaches a text.
    leaked = [(u, i, role) for (u, i, role) in sources if (u, i) in heldout]
    if leaked:
        raise BuildError("val/test pairs would be used: %r" % leaked[:5])
    barred = [(u, i, role) for (u, i, role) in sources if i in exclude]
    if barred:
        raise BuildError("excluded items would be used: %r" % barred[:5])
    for u, i, role in sources:
        if role in ("profile", "genres", "like") and (u, i) not in train:
            raise BuildError("(%d, %d) used as %s but not a train pair" % (u, i, role))
        if role == "dislike" and rating.get((u, i), 99) > 2:
            raise BuildError("(%d, %d) used as dislike with rating %s" % (u, i, rating.get((u, i))))

    item_prof, item_int = zip(*(item_texts(it) for it in items))

    def write_tsv(name, texts):
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as f:
            for k, t in enumerate(texts):
                if "\t" in t or "\n" in t:
                    raise BuildError("%s: text %d holds a tab or newline" % (name, k))
                f.write("%d\t%s\n" % (k, t))

    write_tsv("item_profile.tsv", item_prof)
    write_tsv("item_intent.tsv", item_int)
    write_tsv("user_profile.tsv", user_prof)
    write_tsv("user_intent.tsv", user_int)
    with open(os.path.join(out, "user_sources.tsv"), "w", encoding="ascii", newline="\n") as f:
        f.write("user\titem\trole\n")
        for u, i, role in sources:
            f.write("%d\t%d\t%s\n" % (u, i, role))

    sample_users = [u for u in range(n_users) if train_by_user.get(u)][:3]
    with open(os.path.join(out, "texts-sample.md"), "w", encoding="utf-8") as f:
        f.write("# MovieLens-100K texts: a sample\n\n")
        f.write("Built by scripts/ml100k/build_texts.py from MovieLens metadata, TRAIN positives, "
                "ratings <= 2 and Wikipedia summaries. Templated text, no LLM.\n\n")
        for u in sample_users:
            f.write("## User %d\n\n- **profile**: %s\n- **intent**: %s\n\n" % (u, user_prof[u], user_int[u]))
        for i in range(3):
            f.write("## Item %d\n\n- **profile**: %s\n- **intent**: %s\n\n" % (i, item_prof[i], item_int[i]))

    info = {
        "n_users": n_users,
        "n_items": n_items,
        "items_with_wiki_summary": wiki_matched,
        "items_with_accents_restored_from_wiki": wiki_restored,
        "items_without_genre": sum(1 for it in items if not it["genres"]),
        "users_without_train_positives": no_train,
        "users_with_dislikes": sum(1 for t in user_int if "Dislikes" in t),
        "user_item_pairs_used": len(sources),
        "heldout_pairs_used": 0,
        "excluded_items": len(exclude),
        "max_titles": max_titles, "max_likes": max_likes, "max_dislikes": max_dislikes,
        "top_genres": top_genres,
    }
    with open(os.path.join(out, "texts-stats.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    return info


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "ml-100k"),
                    help="the ml-100k folder (default: ../shared/data/ml-100k next to the repo)")
    ap.add_argument("--out", default=os.path.join(repo, "out", "ml100k", "texts"),
                    help="output folder (default: out/ml100k/texts)")
    ap.add_argument("--max-titles", type=int, default=10, help="titles in a user profile")
    ap.add_argument("--max-likes", type=int, default=10, help="titles in a user's likes")
    ap.add_argument("--max-dislikes", type=int, default=5, help="titles in a user's dislikes")
    ap.add_argument("--top-genres", type=int, default=3, help="genres in a user's intent")
    ap.add_argument("--exclude-items", metavar="FILE",
                    help="item ids (one a line) that no user text may use, not even as a "
                         "dislike: the cold items of scripts/coldstart/make_split.py")
    a = ap.parse_args(argv)
    try:
        info = build(a.data, a.out, a.max_titles, a.max_likes, a.max_dislikes, a.top_genres,
                     read_item_ids(a.exclude_items))
    except (BuildError, OSError, ValueError, KeyError) as e:
        print("build_texts.py: error: %s" % e, file=sys.stderr)
        return 1
    print("build_texts.py: wrote %s: %d users, %d items, %d with a wiki summary, "
          "%d users without train positives, %d (user, item) pairs used, none from val/test"
          % (a.out, info["n_users"], info["n_items"], info["items_with_wiki_summary"],
             info["users_without_train_positives"], info["user_item_pairs_used"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
