"""Test of the ctypes binding (ctest entry `python_binding`).

1. LightGCN + IRLLRec trained from Python on SYNTHETIC data (irllrec_x_synth_write):
   the epoch-mean loss falls.
2. The hook driven from Python (irllrec_hook_step on NumPy views) gives the same
   bits as the C host (lgcn_irl_grad) on identical models, step after step,
   with contiguous arrays and with padded ones (ld > cols).
3. Errors raise IrllrecError carrying irllrec_ctx_errmsg; the log callback sees them.
Exit 0 on success, 1 on failure.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import irllrec as irl  # noqa: E402

DIM, LAYERS, K, BATCH = 16, 2, 16, 256


def load_synth(ctx, tmp):
    irl.synth_write(ctx, tmp, n_users=300, n_items=200, n_intents=6, profile_dim=32,
                    intent_dim=48, mean_degree=20.0, seed=7)
    u, i = irl.read_lightgcn_txt(os.path.join(tmp, "train.txt"))
    vu, vi = irl.read_lightgcn_txt(os.path.join(tmp, "val.txt"))
    texts = {name: np.load(os.path.join(tmp, f)) for name, f in
             (("user_profile", "usr_prf.npy"), ("item_profile", "itm_prf.npy"),
              ("user_intent", "usr_int.npy"), ("item_intent", "itm_int.npy"))}
    return 300, 200, (u, i), (vu, vi), texts


def epoch_triples(rng, u, i, n_items, keys):
    """One negative per train pair, redrawn while it is a train item; shuffled."""
    neg = rng.integers(0, n_items, len(u)).astype(np.int32)
    while True:
        bad = np.isin(u.astype(np.int64) * n_items + neg, keys)
        if not bad.any():
            break
        neg[bad] = rng.integers(0, n_items, int(bad.sum()))
    perm = rng.permutation(len(u))
    return u[perm], i[perm], neg[perm]


def build(ctx, U, I, train, texts, seed=11):
    m = irl.LightGCN(U, I, *train, dim=DIM, n_layers=LAYERS, keep_rate=0.9, reg=1e-6,
                     seed=seed, lr=5e-3)
    x = irl.LightGCNIRL(ctx, m, texts, n_intents=K, max_batch=BATCH, seed=seed)
    return m, x


def test_training_loss_falls(ctx, U, I, train, val, texts):
    m, x = build(ctx, U, I, train, texts)
    u, i = train
    keys = u.astype(np.int64) * I + i
    rng = np.random.default_rng(3)
    ev = irl.Evaluator(ctx, I, ks=(20,))
    vind = irl.csr_from_pairs(U, I, *val)
    means = []
    for epoch in range(6):
        tu, tp, tn = epoch_triples(rng, u, i, I, keys)
        tot, bpr, n = 0.0, 0.0, 0
        for s in range(0, len(tu), BATCH):
            loss = x.train_step(tu[s:s + BATCH], tp[s:s + BATCH], tn[s:s + BATCH])
            tot, bpr, n = tot + loss["total"], bpr + loss["bpr"], n + 1
        means.append((tot / n, bpr / n))
        m.forward(irl.LGCN_EVAL)
        f = m.final()
        rec, ndcg, nu = ev.run(f[:U], f[U:], (m.indptr, m.indices), vind)
        print("epoch %d  loss %.5f  bpr %.5f  val R@20 %.4f N@20 %.4f (%d users)"
              % (epoch, tot / n, bpr / n, rec[20], ndcg[20], nu))
    assert x.hook.steps() == 6 * ((len(u) + BATCH - 1) // BATCH)
    assert means[-1][0] < 0.9 * means[0][0], means
    assert means[-1][1] < 0.9 * means[0][1], means
    assert all(np.isfinite(m.params()).ravel())
    ev.close()
    x.close()
    m.close()


def graph_nn(m):
    """The N x N pattern the C host builds (both directions, users first)."""
    U, I = m.n_users, m.n_items
    deg_u = np.diff(m.indptr)
    uu = np.repeat(np.arange(U, dtype=np.int64), deg_u)
    ii = m.indices.astype(np.int64)
    rows = np.concatenate([uu, U + ii])
    cols = np.concatenate([U + ii, uu])
    return irl.csr_from_pairs(U + I, U + I, rows, cols)


def padded(a, extra):
    """A copy of 2-D a inside a wider array: same values, row stride cols + extra."""
    big = np.full((a.shape[0], a.shape[1] + extra), np.nan, dtype=np.float32)
    big[:, :a.shape[1]] = a
    return big[:, :a.shape[1]]


def python_grad(m, hook, tu, tp, tn, pad):
    """lgcn_irl_grad written in Python: the hook is called from here."""
    U, N, L = m.n_users, m.n_nodes, m.n_layers
    m.forward(irl.LGCN_TRAIN)
    df = m.dfinal_buffer()
    bpr = m.bpr(tu, tp, tn, df)
    fin = m.final()
    lay = [m.layer(l) for l in range(L)]
    dlay = [np.zeros((N, m.dim), dtype=np.float32) for _ in range(L)]
    if pad:
        fin, lay = padded(fin, 5), [padded(a, 3) for a in lay]
        dfp, dlp = padded(df, 7), [padded(a, 1) for a in dlay]
        assert irl.mat(fin).ld == m.dim + 5 and irl.mat(dfp).ld == m.dim + 7
        hl = hook.step(tu, tp, tn, fin[:U], fin[U:], dfp[:U], dfp[U:], lay, dlp)
        df[:] = dfp
        for a, b in zip(dlay, dlp):
            a[:] = b
    else:
        hl = hook.step(tu, tp, tn, fin[:U], fin[U:], df[:U], df[U:], lay, dlay)
    assert any(np.abs(a).max() > 0 for a in dlay), "the tower gave no layer gradient"
    reg = m.backward_reg(df, dlay)
    df[:] = 0.0
    return bpr, reg, hl


def test_gradients_match_c(ctx, U, I, train, texts):
    seed = 21
    u, i = train
    rng = np.random.default_rng(5)
    tu, tp, tn = epoch_triples(rng, u, i, I, u.astype(np.int64) * I + i)
    for pad in (False, True):
        m = irl.LightGCN(U, I, *train, dim=DIM, n_layers=LAYERS, keep_rate=0.9, reg=1e-6,
                         seed=seed, lr=5e-3)
        hook = irl.Hook(ctx, n_users=U, n_items=I, dim=DIM, n_intents=K, n_layers=LAYERS,
                        max_batch=BATCH, profile_dim=texts["user_profile"].shape[1],
                        intent_dim=texts["user_intent"].shape[1], seed=seed)
        for name, a in texts.items():
            hook.set_text(name, a)
        hook.set_graph(m.n_nodes, *graph_nn(m))
        ref_m, ref_x = build(ctx, U, I, train, texts, seed)
        for step in range(3):
            b = slice(step * BATCH, (step + 1) * BATCH)
            ref = ref_x.grad(tu[b], tp[b], tn[b])
            bpr, reg, hl = python_grad(m, hook, tu[b], tp[b], tn[b], pad)
            g_c, g_py = ref_m.grad(), m.grad()
            diff = float(np.abs(g_c - g_py).max())
            print("pad %d step %d: max |dE(0) C - Python| = %g, hook total C %.9g Python %.9g"
                  % (pad, step, diff, ref["hook_total"], hl["total"]))
            assert np.array_equal(g_c, g_py), diff
            assert ref["bpr"] == bpr and ref["reg"] == reg
            for k in ("total", "kd", "pair", "tran", "itm", "reg"):
                assert ref["hook_" + k] == hl[k], (k, ref["hook_" + k], hl[k])
            assert hl["kd"] > 0 and hl["pair"] > 0 and hl["tran"] != 0
            ref_m.opt_step()
            m.opt_step()
        assert np.array_equal(ref_m.params(), m.params())
        hook.close()
        m.close()
        ref_x.close()
        ref_m.close()


def test_errors(U, I):
    seen = []
    ctx = irl.Context(log=lambda lvl, msg: seen.append((lvl, msg)))
    hook = irl.Hook(ctx, n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4)
    E_u = np.zeros((U, 8), np.float32)
    E_i = np.zeros((I, 8), np.float32)
    try:
        hook.step([0], [0], [I], E_u, E_i, E_u.copy(), E_i.copy())
    except irl.IrllrecError as e:
        assert e.status == -1 and "irllrec_hook_compute: batch->neg[0]" in str(e), str(e)
        assert e.message == ctx.errmsg()
        print("raised as expected:", e)
    else:
        raise AssertionError("bad item id accepted")
    assert seen and seen[-1][0] == irl.LOG_ERROR and seen[-1][1] == ctx.errmsg(), seen
    try:
        hook.set_param("tau_kd", 0.0)
    except irl.IrllrecError as e:
        assert "set_param" in e.message, e.message
    else:
        raise AssertionError("tau_kd 0 accepted")
    assert irl.Hook.param_bounds("itm_alpha") == (0.0, 1.0)
    hook.set_param("w_kd", 0.5)
    assert hook.get_param("w_kd") == 0.5
    try:
        irl.Hook(ctx, n_users=U, n_items=I, dim=0)
    except irl.IrllrecError as e:
        assert "irllrec_hook_create" in e.message, e.message
    else:
        raise AssertionError("dim 0 accepted")
    try:
        hook.step([0], [0], [0], np.asfortranarray(np.zeros((U, 8), np.float32)), E_i,
                  E_u.copy(), E_i.copy())
    except ValueError:
        pass
    else:
        raise AssertionError("column-major array accepted")
    hook.close()
    ctx.close()


def main():
    print("libirllrec", irl.lib().irllrec_version_string().decode(), "via", irl.lib()._name)
    ctx = irl.Context()
    with tempfile.TemporaryDirectory() as tmp:
        U, I, train, val, texts = load_synth(ctx, tmp)
    test_errors(U, I)
    test_gradients_match_c(ctx, U, I, train, texts)
    test_training_loss_falls(ctx, U, I, train, val, texts)
    ctx.close()
    print("python binding: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
