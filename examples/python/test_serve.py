"""Test of the serving calls of the binding (ctest entry `python_serve`):
irllrec.rank / recommend / similar / export_embeddings and irllrec.Recommender.

Expectations come from NumPy (an independent top-k: np.lexsort on exact
integer-valued scores, ties by the lower id) or by hand from the definitions in
include/irllrec/serve.h (fold-in, cold start, the explanation's sum). Hostile
input must be refused before any C call, with a message naming the Python
call and the argument. Exit 0 on success. `test_serve.py NAME...` runs only
the named tests.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import irllrec as irl  # noqa: E402

# 3 users and 5 items in d = 2 (the C++ wrapper test uses the same).
USERS = np.array([[1, 0], [0, 1], [1, 1]], np.float32)
ITEMS = np.array([[1, 0], [0, 2], [3, 1], [-1, 0], [0.5, 0.5]], np.float32)
SEEN = (np.array([0, 1, 1, 3]), np.array([2, 0, 2]))  # user 0: {2}, user 2: {0, 2}


def expect(exc, fn, *parts):
    """fn() raises exc, whose message contains every part."""
    try:
        fn()
    except exc as e:
        for p in parts:
            assert p in str(e), (p, str(e))
        return e
    raise AssertionError("no %s raised (expected %s)" % (exc.__name__, parts))


def ref_topk(scores, k, excluded=()):
    """Best k columns per row: score descending, ties by the lower id."""
    out = []
    for r, row in enumerate(scores):
        ids = [j for j in range(len(row)) if (r, j) not in excluded]
        ids.sort(key=lambda j: (-row[j], j))
        out.append(ids[:k])
    return out


def rows_of(ids, counts):
    return [list(ids[r, :counts[r]]) for r in range(len(counts))]


def test_rank_matches_numpy(ctx):
    rng = np.random.default_rng(3)
    # Small integers: every score is exact in float32, so ties are real ties.
    q = rng.integers(-3, 4, (20, 6)).astype(np.float32)
    c = rng.integers(-3, 4, (40, 6)).astype(np.float32)
    ids, scores, counts = irl.rank(ctx, q, c, 7)
    assert ids.shape == (20, 7) and ids.dtype == np.int32 and scores.dtype == np.float32
    assert rows_of(ids, counts) == ref_topk(q @ c.T, 7)
    assert np.array_equal(scores, np.take_along_axis(q @ c.T, ids, 1))
    # A column slice of a wider array (ld > cols) gives the same.
    wide = np.full((40, 9), np.nan, np.float32)
    wide[:, :6] = c
    assert np.array_equal(irl.rank(ctx, q, wide[:, :6], 7)[0], ids)
    # recommend() over user ids, with a TRAIN CSR excluded.
    u, i = irl.csr_from_pairs(20, 40, rng.integers(0, 20, 60), rng.integers(0, 40, 60))
    seen = {(r, int(j)) for r in range(20) for j in i[u[r]:u[r + 1]]}
    users = np.array([5, 0, 5, 19])
    ids, _, counts = irl.recommend(ctx, q, c, users, 4, seen=(u, i))
    want = ref_topk(q @ c.T, 4, seen)
    assert rows_of(ids, counts) == [want[x] for x in users]


def test_hand_results(ctx):
    # User 1 scores the items (0, 2, 1, 0, 0.5): 1, 2, 4, then the tie 0, 3.
    ids, scores, counts = irl.recommend(ctx, USERS, ITEMS, [1], 5)
    assert ids.tolist() == [[1, 2, 4, 0, 3]] and counts.tolist() == [5]
    assert scores.tolist() == [[2, 1, 0.5, 0, 0]]
    ids, _, counts = irl.recommend(ctx, USERS, ITEMS, [1], 3, allow=[0, 3, 4], deny=[4])
    assert ids.tolist() == [[0, 3, -1]] and counts.tolist() == [2]
    ids, _, counts = irl.recommend(ctx, USERS, ITEMS, [0, 1], 2, allow=[])
    assert counts.tolist() == [0, 0] and (ids == -1).all()
    # Cosine: item 4 = (0.5, 0.5) is nearest to item 2 = (3, 1), itself excluded.
    ids, scores, _ = irl.similar(ctx, ITEMS, [4], 2)
    assert ids[0, 0] == 2 and abs(scores[0, 0] - 4 / np.sqrt(20)) < 1e-5
    assert 4 not in ids[0]


def test_export(ctx):
    with tempfile.TemporaryDirectory() as tmp:
        irl.export_embeddings(ctx, tmp, "items", ITEMS, ids=[10, 11, 12, 13, 99])
        assert np.array_equal(np.load(os.path.join(tmp, "items.npy")), ITEMS)
        with open(os.path.join(tmp, "items.ids.tsv")) as f:
            lines = f.read().split("\n")
        assert lines[0] == "row\tid" and lines[5] == "4\t99", lines
        e = expect(irl.IrllrecError, lambda: irl.export_embeddings(ctx, tmp, ".hidden", ITEMS),
                   "irllrec_export_embeddings")
        assert e.status == -1
        expect(ValueError, lambda: irl.export_embeddings(ctx, tmp, "x", ITEMS, ids=[1, 2]),
               "export_embeddings: ids has 2 entries, emb has 5 rows")


def test_recommender(ctx):
    rec = irl.Recommender.from_embeddings(ctx, USERS, ITEMS, seen=SEEN)
    info = rec.info()
    assert (info["dim"], info["n_users"], info["n_items"], info["n_intents"],
            info["has_seen"]) == (2, 3, 5, 0, 1), info
    ids, _, _ = rec.recommend([0, 2], 3)
    # User 0 (1, 0): 2 is seen -> 0, 4, 1. User 2 (1, 1): 0 and 2 seen -> 1, 4, 3.
    assert ids.tolist() == [[0, 4, 1], [1, 4, 3]]
    assert rec.recommend([0], 1, include_seen=True)[0].tolist() == [[2]]
    assert rec.similar("items", [4], 1)[0].tolist() == [[2]]
    assert np.array_equal(rec.embeddings("users"), USERS)
    # Fold-in: directions (1, 0) and (0, 1) -> (1, 1) / sqrt 2 at the users'
    # mean norm (1 + 1 + sqrt 2) / 3.
    f = rec.fold_in([0, 1])
    s = (2 + np.sqrt(2)) / 3 / np.sqrt(2)
    assert f.shape == (2,) and np.allclose(f, [s, s], atol=1e-5), f
    assert rec.add_user([0, 1]) == 3 and rec.info()["n_users"] == 4
    assert rec.recommend([3], 2)[0].tolist() == [[2, 4]]  # 0 and 1 are its own
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rec.irlm")
        rec.save(path)
        back = irl.Recommender.load(path)  # its own Context
        assert back.info() == rec.info()
        assert np.array_equal(back.embeddings("users"), rec.embeddings("users"))
        assert np.array_equal(back.recommend([0, 1, 2, 3], 4)[0],
                              rec.recommend([0, 1, 2, 3], 4)[0])
        e = expect(irl.IrllrecError, lambda: rec.intents("users", [0]), "irllrec_rec_intents")
        assert e.status == -4  # IRLLREC_E_STATE: no hook, no intents
        with open(os.path.join(tmp, "junk.irlm"), "wb") as f:
            f.write(b"not a model at all" * 10)
        e = expect(irl.IrllrecError, lambda: irl.Recommender.load(f.name, ctx), "junk.irlm")
        assert e.status in (-7, -8), e.status
        e = expect(irl.IrllrecError,
                   lambda: irl.Recommender.load(os.path.join(tmp, "none.irlm"), ctx), "none.irlm")
        assert e.status == -6
    rec.close()
    expect(ValueError, lambda: rec.recommend([0], 1), "Recommender.recommend", "closed")
    expect(TypeError, lambda: irl.Recommender(), "Recommender.load")


def make_hook(ctx, D=6, K=4):
    hook = irl.Hook(ctx, n_users=3, n_items=5, dim=2, n_intents=K, n_layers=0, max_batch=4,
                    profile_dim=D, intent_dim=D)
    rng = np.random.default_rng(5)
    t_u, t_i = rng.normal(size=(3, D)).astype(np.float32), rng.normal(size=(5, D)).astype(
        np.float32)
    for name, a in (("user_profile", t_u), ("item_profile", t_i), ("user_intent", t_u),
                    ("item_intent", t_i)):
        hook.set_text(name, a)
    return hook


def test_with_hook(ctx):
    D, K = 6, 4
    rec = irl.Recommender.from_embeddings(ctx, USERS, ITEMS, hook=make_hook(ctx, D, K))
    info = rec.info()
    assert (info["n_intents"], info["profile_dim"], info["intent_dim"]) == (K, D, D), info
    p = rec.intents("items", [0, 4, 4])
    assert p.shape == (3, K) and np.allclose(p.sum(1), 1, atol=1e-5) and (p >= 0).all()
    assert np.array_equal(p[1], p[2])
    x = rec.explain(2, 2, top=K)
    assert abs(x["score"] - USERS[2] @ ITEMS[2]) < 1e-6, x
    assert abs(sum(x["contribution"]) + x["residual"] - x["score"]) < 1e-5, x
    assert sorted(x["intents"]) == list(range(K))
    assert x["shared"] == sorted(x["shared"], reverse=True)
    pu, pi = rec.intents("users", [2])[0], rec.intents("items", [2])[0]
    assert np.allclose(x["shared"], [pu[k] * pi[k] for k in x["intents"]], atol=1e-6)
    assert len(rec.explain(0, 1, top=2)["intents"]) == 2
    ids, scores = rec.intent_exemplars("items", 7)  # 5 items have intent text
    assert ids.shape == (K, 7) and ((ids[:, :5] >= 0) & (ids[:, :5] < 5)).all()
    assert (ids[:, 5:] == -1).all() and (np.diff(scores[:, :5], axis=1) <= 0).all()
    assert all(sorted(row) == list(range(5)) for row in ids[:, :5].tolist())
    # Cold start: a profile-only item lands at the items' mean norm.
    prf = np.full((1, D), 0.25, np.float32)
    e = rec.embed_text("items", profile=prf)
    mean = np.linalg.norm(ITEMS, axis=1).mean()
    assert e.shape == (1, 2) and abs(np.linalg.norm(e) - mean) < 1e-4, (e, mean)
    e2 = rec.embed_text("items", intent=prf)
    assert abs(np.linalg.norm(e2) - mean) < 1e-4
    first = rec.add_from_text("items", profile=np.vstack([prf, -prf]))
    assert first == 5 and rec.info()["n_items"] == 7
    got = rec.embeddings("items")
    assert np.array_equal(got[5], e[0]) and abs(np.linalg.norm(got[6]) - mean) < 1e-4
    ids, _, _ = rec.recommend([0], 7)
    assert 5 in ids[0] and 6 in ids[0]  # new items are ranked at once
    return rec


def test_graph_hook(ctx):
    """A LightGCN + IRLLRec hook (n_layers = 2) after two steps: the layer
    views change the intents, and L copies of the final embeddings give what
    no views give (the mean of L equal softmaxes is that softmax)."""
    U, I, L, rng = 30, 20, 2, np.random.default_rng(9)
    u, i = rng.integers(0, U, 150), rng.integers(0, I, 150)
    texts = {"user_profile": rng.normal(size=(U, 12)), "item_profile": rng.normal(size=(I, 12)),
             "user_intent": rng.normal(size=(U, 10)), "item_intent": rng.normal(size=(I, 10))}
    texts = {k: v.astype(np.float32) for k, v in texts.items()}
    m = irl.LightGCN(U, I, u, i, dim=8, n_layers=L, keep_rate=1.0, seed=4)
    x = irl.LightGCNIRL(ctx, m, texts, n_intents=4, max_batch=64, seed=4)
    for _ in range(2):
        x.train_step(u[:64], i[:64], rng.integers(0, I, 64))
    m.forward(irl.LGCN_EVAL)
    E = m.final().copy()
    layers = [m.layer(l).copy() for l in range(L)]
    seen = (m.indptr, m.indices)
    R = irl.Recommender.from_embeddings
    with_views = R(ctx, E[:U], E[U:], seen=seen, hook=x.hook, layers=layers)
    without = R(ctx, E[:U], E[U:], seen=seen, hook=x.hook)
    same = R(ctx, E[:U], E[U:], seen=seen, hook=x.hook, layers=[E, E])
    for side, n in (("users", U), ("items", I)):
        a, b = with_views.intents(side, range(n)), without.intents(side, range(n))
        assert np.allclose(a.sum(1), 1, atol=1e-5) and not np.allclose(a, b, atol=1e-4)
        assert np.allclose(same.intents(side, range(n)), b, atol=1e-6)
    ex = with_views.explain(3, 7, top=4)
    assert abs(ex["score"] - float(E[3] @ E[U + 7])) < 1e-5
    assert abs(sum(ex["contribution"]) + ex["residual"] - ex["score"]) < 1e-5
    F = "Recommender.from_embeddings"
    expect(ValueError, lambda: R(ctx, E[:U], E[U:], hook=x.hook, layers=[E, E, E]), F,
           "layers has 3 matrices, need the hook's n_layers = 2")
    expect(ValueError, lambda: R(ctx, E[:U], E[U:], layers=[E, E]), F, "without a hook")
    e = expect(irl.IrllrecError, lambda: R(ctx, E[:U], E[U:], hook=x.hook,
                                           layers=[E, E[:-1]]), "irllrec_rec_create")
    assert e.status == -3, e.status


def test_hostile(ctx):
    rec = irl.Recommender.from_embeddings(ctx, USERS, ITEMS, hook=make_hook(ctx))
    R = "Recommender.recommend"
    expect(ValueError, lambda: rec.recommend([0], 0), R, "k = 0 not in [1, 100000]")
    expect(ValueError, lambda: rec.recommend([0], 2 ** 31), R, "k = 2147483648 does not fit")
    expect(TypeError, lambda: rec.recommend([0], 1.5), R, "k = 1.5 is not an integer")
    expect(ValueError, lambda: rec.recommend([0, 3], 1), R, "users[1] = 3 not in [0, n_users = 3)")
    expect(ValueError, lambda: rec.recommend([-1], 1), R, "users[0] = -1")
    expect(TypeError, lambda: rec.recommend([0.0], 1), R, "users")
    expect(ValueError, lambda: rec.recommend([0], 1, deny=[5]), R, "deny[0] = 5")
    expect(ValueError, lambda: rec.similar("things", [0], 1), "Recommender.similar",
           "side = 'things'")
    expect(ValueError, lambda: rec.similar(2, [0], 1), "Recommender.similar", "side = 2")
    expect(ValueError, lambda: rec.similar("users", [3], 1), "ids[0] = 3 not in [0, n_users")
    expect(ValueError, lambda: rec.intents("items", [5]), "Recommender.intents", "ids[0] = 5")
    X = "Recommender.explain"
    expect(ValueError, lambda: rec.explain(0, 5, 1), X, "item = 5 not in [0, n_items = 5)")
    expect(ValueError, lambda: rec.explain(3, 0, 1), X, "user = 3")
    expect(ValueError, lambda: rec.explain(0, 0, 0), X, "top = 0 not in [1, n_intents = 4]")
    T = "Recommender.embed_text"
    expect(ValueError, lambda: rec.embed_text("items"), T, "give profile, intent or both")
    expect(ValueError, lambda: rec.embed_text("items", np.zeros((1, 5), np.float32)), T,
           "profile has 5 columns, the model's profile_dim is 6")
    expect(ValueError, lambda: rec.embed_text("items", np.zeros((2, 6), np.float32),
                                              np.zeros((1, 6), np.float32)), T,
           "profile has 2 rows, intent 1")
    expect(TypeError, lambda: rec.embed_text("items", np.zeros((1, 6))), T, "float32")
    expect(ValueError, lambda: rec.embed_text("items", np.zeros((6, 2), np.float32).T), T,
           "contiguous")
    e = expect(irl.IrllrecError, lambda: rec.embed_text(
        "items", np.full((1, 6), np.nan, np.float32)), "irllrec_rec_embed_text")
    assert e.status == -5
    expect(ValueError, lambda: rec.fold_in([]), "Recommender.fold_in", "items is empty")
    expect(ValueError, lambda: rec.add_user([7]), "Recommender.add_user", "items[0] = 7")
    assert rec.info()["n_users"] == 3  # nothing was added by the refused calls
    F = "Recommender.from_embeddings"
    expect(ValueError, lambda: irl.Recommender.from_embeddings(ctx, USERS, ITEMS[:, :1]), F,
           "user_emb has 2 columns, item_emb 1")
    expect(ValueError, lambda: irl.Recommender.from_embeddings(ctx, USERS, ITEMS,
                                                               seen=(SEEN[0][:2], SEEN[1])),
           F, "seen indptr has 2 entries, need user_emb rows + 1 = 4")
    expect(TypeError, lambda: irl.Recommender.from_embeddings(ctx, USERS, ITEMS, hook=3), F,
           "irllrec.Hook")
    e = expect(irl.IrllrecError, lambda: irl.Recommender.from_embeddings(
        ctx, USERS[:2], ITEMS, hook=make_hook(ctx)), "irllrec_rec_create")
    assert e.status == -3  # the hook's U = 3, not 2
    expect(ValueError, lambda: irl.rank(ctx, USERS, ITEMS[:, :1], 1), "rank: queries has 2")
    expect(ValueError, lambda: irl.recommend(ctx, USERS, ITEMS, [0], 1, seen=([0, 1], [0])),
           "recommend: seen indptr has 2 entries, need user_emb rows + 1 = 4")


def main():
    print("libirllrec", irl.lib().irllrec_version_string().decode(), "via", irl.library_path())
    only = {a if a.startswith("test_") else "test_" + a for a in sys.argv[1:]}
    ctx = irl.Context()
    tests = [(n, f) for n, f in sorted(globals().items()) if n.startswith("test_")]
    unknown = only - {n for n, _ in tests}
    if unknown:
        print("no such test:", ", ".join(sorted(unknown)))
        return 2
    for name, fn in tests:
        if not only or name in only:
            print("==", name)
            fn(ctx)
    ctx.close()
    print("python serve: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
