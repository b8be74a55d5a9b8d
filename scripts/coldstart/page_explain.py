"""The explanation check and the intent labels of docs/results-coldstart.md
(explain_eval's JSON plus the warm texts); used by page.py."""

import os
from collections import Counter

import page

ROWS = [
    ("drop_top", "score drop when the top shared intent is removed (its contribution)"),
    ("drop_random", "score drop when a uniformly drawn other intent is removed (one draw "
                    "per pair)"),
    ("drop_random_expected", "the same, exact expectation over the K - 1 other intents"),
    ("drop_max", "largest single-intent contribution (reference: the best one could do)"),
    ("frac_top_gt_random", "fraction of pairs where the top intent's drop > the drawn one's"),
    ("frac_top_gt_random_expected", "the same against every other intent (expectation)"),
    ("frac_leaves_top20_top", "fraction of pairs whose item leaves the top 20 when the top "
                              "intent is removed (new score < the 21st item's)"),
    ("frac_leaves_top20_random", "the same for the drawn intent"),
    ("frac_leaves_top20_random_expected", "the same, expectation over the other intents"),
    ("contribution_rank_of_top", "rank of the top shared intent among the K contributions "
                                 "(1 = largest)"),
    ("score", "score <e_u, e_i>"),
    ("residual", "residual (score - sum of all K contributions)"),
    ("rel_drop_top", "top intent's drop / |score|"),
    ("rel_drop_random", "drawn intent's drop / |score|"),
]


def section(w, r):
    e = r["explain"]
    w("## The explanation check (normal split, seed 2023)\n")
    if e is None:
        w("NOT RUN: the warm IRLLRec run or explain_eval did not finish.\n")
        return
    m = e["per_user_means"]
    w("Model: LightGCN + IRLLRec on the normal MovieLens-100K split, the same settings, seed "
      "2023, with its hook at the best-validation epoch (checkpoint epoch %d, best epoch %d). "
      "For each of the %d users with TEST items, the top 20 recommendations (train items "
      "excluded: %d pairs). serve.h splits a score as score = sum_k contribution_k + residual, "
      "contribution_k = 0.5 (p_uk <c_uk, e_i> + q_ik <c_ik, e_u>), and lists the shared "
      "intents by p_uk q_ik. It does not define removing an intent, so here **removing "
      "intent k lowers the score by contribution_k** (the score without that term). The top "
      "shared intent is `irllrec_rec_explain`'s first; the random one is drawn uniformly from "
      "the other K - 1 = %d. Means over pairs per user, then over users:\n" % (
          e["checkpoint_epoch"], e["best_epoch"], e["n_users"], e["n_pairs"], e["K"] - 1))
    w("| quantity | mean over users |")
    w("|---|---|")
    for key, label in ROWS:
        w("| %s | %s |" % (label, page.fmt(m[key])))
    w("")
    verdict(w, dict(m, K=e["K"]))
    pk = e["peakedness"]
    w("Intent distributions (`irllrec_rec_intents`): mean largest probability %s for users, "
      "%s for items; mean entropy %s and %s nats against %s for a uniform one over K = %d.\n"
      % (page.fmt(pk["users"]["mean_max_prob"]), page.fmt(pk["items"]["mean_max_prob"]),
         page.fmt(pk["users"]["mean_entropy"], 3), page.fmt(pk["items"]["mean_entropy"], 3),
         page.fmt(pk["users"]["uniform_entropy"], 3), e["K"]))
    labels(w, r, e)


def e_k(m):
    return m.get("K", 64)


def verdict(w, m):
    higher = m["drop_top"] > m["drop_random"]
    w("**Result**: removing the top shared intent lowers the score by %s on average, a random "
      "other intent by %s (expectation %s): the top one %s. It is larger in %.0f%% of the "
      "pairs.\n" % (page.fmt(m["drop_top"]), page.fmt(m["drop_random"]),
                    page.fmt(m["drop_random_expected"]),
                    "lowers it more" if higher else "does NOT lower it more",
                    100 * m["frac_top_gt_random"]))
    small = abs(m["rel_drop_top"]) < 0.05
    w("How much of the score that is: the top intent's contribution is %.1f%% of the score "
      "on average (largest single intent: %s of a mean score of %s), and removing it takes "
      "the item out of the top 20 in %.1f%% of the pairs (a random intent: %.1f%%). Ranked by "
      "contribution, the listed intent is on average number %.1f of %d. The residual, the "
      "part no intent accounts for, averages %s: the %d contributions together add %s. The "
      "intent distributions are close to uniform (the peakedness line below), so p_uk q_ik "
      "is small for every k.\n" % (
          100 * m["rel_drop_top"], page.fmt(m["drop_max"]), page.fmt(m["score"], 3),
          100 * m["frac_leaves_top20_top"], 100 * m["frac_leaves_top20_random"],
          m["contribution_rank_of_top"], m["K"], page.fmt(m["residual"], 3), m["K"],
          page.fmt(m["score"] - m["residual"], 3)))
    w("What this does and does not show: the drop is the intent's own term of the score, so "
      "the check is partly by construction. Not entirely: the explanation ranks intents by "
      "p_uk q_ik (how much both sides hold the intent), not by contribution, and a shared "
      "intent can contribute little or negatively when its prototypes point away from the "
      "other side's embedding. It shows that the listed intent contributes more than a random "
      "one in most pairs. %s It does not show that an intent is the reason a person would "
      "give, nor what retraining without it would do.\n" % (
          "It also shows that, in this model, the intents carry a negligible part of the score: "
          "the explanation is not random, but the score it explains comes almost entirely "
          "from the residual." if small else
          "The listed intent carries %.1f%% of the score on average." % (
              100 * m["rel_drop_top"])))


def item_line(ids, titles, genres, n=5):
    shown = ["%s (%s)" % (titles[i], ", ".join(genres[i]) or "no genre") for i in ids[:n]]
    top = Counter(g for i in ids for g in genres[i]).most_common(3)
    return "; ".join(shown), ", ".join("%s %d" % kv for kv in top)


def user_line(ids, intents):
    first, allg, liked, disliked = Counter(), Counter(), Counter(), Counter()
    for u in ids:
        g, lk, dk = page.parse_user_intent(intents.get(u, ""))
        if g:
            first[g[0]] += 1
        allg.update(g)
        liked.update(lk)
        disliked.update(dk)

    def top(c, n=3):
        return ", ".join("%s %d" % kv for kv in c.most_common(n)) or "-"
    return top(first), top(allg), top(liked), top(disliked)


def labels(w, r, e):
    texts = os.path.join(r["warm_emb"], "texts")
    prof = page.read_tsv(os.path.join(texts, "item_profile.tsv"))
    titles = {i: page.title_of(t) for i, t in prof.items()}
    genres = page.item_genres(os.path.join(r["data"], "raw", "u.item"))
    intents = page.read_tsv(os.path.join(texts, "user_intent.tsv"))
    T = len(e["labels"][0]["items"]) if e["labels"] else 0
    w("## Intent labels\n")
    w("For the %d intents most often listed first in the pairs above, the %d items and %d "
      "users whose intent-tower outputs are nearest to the prototype "
      "(`irllrec_rec_intent_exemplars`, cosine), and what their texts say: item titles and "
      "genres; for the users, the genre phrase their intent text puts first, all the genre "
      "phrases it lists, and the most frequent liked and disliked titles (counts among the "
      "%d users). Intents that no pair lists first are not shown.\n" % (
          len(e["labels"]), T, T, T))
    w("| intent | listed first | nearest items (5 of %d) | item genres (count) | users: first "
      "genre | users: genres listed | users: liked | users: disliked |" % T)
    w("|---|---|---|---|---|---|---|---|")
    for lab in [x for x in e["labels"] if x["first_in_pairs"] > 0]:
        items = [x[0] for x in lab["items"]]
        users = [x[0] for x in lab["users"]]
        shown, gtop = item_line(items, titles, genres)
        f, a, lk, dk = user_line(users, intents)
        w("| %d | %d | %s | %s | %s | %s | %s | %s |" % (
            lab["intent"], lab["first_in_pairs"], esc(shown), gtop, f, a, esc(lk), esc(dk)))
    w("")
    if e["labels"]:
        top = e["labels"][0]
        w("Intent %d is listed first in %.0f%% of the %d pairs. Drama and comedy are the "
          "commonest genres of MovieLens users, so they lead most user columns; the item "
          "columns differ more between intents. These labels are what the exemplars' texts "
          "say; nobody checked them against what the users meant.\n" % (
              top["intent"], 100.0 * top["first_in_pairs"] / max(1, e["n_pairs"]),
              e["n_pairs"]))
    examples(w, e, titles, genres)


def esc(s):
    return s.replace("|", "\\|")


def examples(w, e, titles, genres):
    w("Example explanations (the first three evaluated users, their first recommendation; "
      "intent: p q shared, contribution):\n")
    for x in e["examples"]:
        parts = ["intent %d: %s, %s" % (k, page.fmt(s, 3), page.fmt(c, 3))
                 for k, s, c in x["top"]]
        w("- user %d, %s (%s): score %s, residual %s; %s." % (
            x["user"], esc(titles[x["item"]]), ", ".join(genres[x["item"]]),
            page.fmt(x["score"], 3), page.fmt(x["residual"], 3), "; ".join(parts)))
    w("")
