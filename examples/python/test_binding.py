"""Test of the ctypes binding (ctest entry `python_binding`).

1. LightGCN + IRLLRec trained from Python on SYNTHETIC data (irllrec_x_synth_write):
   the epoch-mean loss falls.
2. The hook driven from Python (irllrec_hook_step on NumPy views) gives the same
   bits as the C host (lgcn_irl_grad) on identical models, step after step,
   with contiguous arrays and with padded ones (ld > cols).
3. Errors raise IrllrecError carrying irllrec_ctx_errmsg; the log callback sees them.
4. Careless and hostile use (issue 17): a closed Context outlived by its children,
   arrays shorter than the C side reads, ids and sizes that do not fit their C
   type, a library of another 0.x minor.
Exit 0 on success, 1 on failure. `test_binding.py NAME...` runs only the named
tests (test_ prefix optional), e.g. to check one of them against an old binding.
"""
import gc
import os
import subprocess
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


# ---- careless and hostile use (issue 17) ---------------------------------------------


def expect(exc, fn, *words):
    """fn() must raise exc whose text holds every one of words."""
    try:
        fn()
    except exc as e:
        for w in words:
            assert w in str(e), "%r not in %r" % (w, str(e))
        print("refused as expected:", str(e))
        return e
    except Exception as e:  # noqa: BLE001 (report what was raised instead)
        raise AssertionError("expected %s(%s), got %s: %s" % (exc.__name__, words,
                                                              type(e).__name__, e))
    raise AssertionError("expected %s(%s), nothing raised" % (exc.__name__, words))


def run_python(code, **env):
    """code in a fresh interpreter (this one's sys.executable and environment)."""
    e = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)), **env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                          timeout=120)


def small_batch(train, I, n):
    u, i = train
    return u[:n], i[:n], ((i[:n].astype(np.int64) + 1) % I).astype(np.int32)


def test_children_keep_context(U, I, train, texts):
    """A Context closed while a Hook, an Evaluator and a LightGCNIRL made from
    it live (the with-block, close()) keeps the C context until the last of
    them is closed or collected; a LightGCN closed under its LightGCNIRL too."""
    with irl.Context() as ctx:
        hook = irl.Hook(ctx, n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4)
        ev = irl.Evaluator(ctx, I, ks=(5,))
        m = irl.LightGCN(U, I, *train, dim=8, n_layers=1, seed=3)
        x = irl.LightGCNIRL(ctx, m, texts, n_intents=4, max_batch=64, seed=3)
    assert ctx.closed
    expect(ValueError, lambda: irl.Hook(ctx, n_users=U, n_items=I, dim=8), "closed")
    # The children still work and still report through the context.
    hook.set_param("w_kd", 0.25)
    assert hook.get_param("w_kd") == 0.25
    e = expect(irl.IrllrecError, lambda: hook.set_param("tau_kd", 0.0), "set_param")
    assert e.message == ctx.errmsg(), (e.message, ctx.errmsg())
    m.forward(irl.LGCN_EVAL)
    f = m.final()
    rec, _, n_eval = ev.run(f[:U], f[U:], None, (m.indptr, m.indices))
    assert n_eval > 0 and 0 < rec[5] <= 1, (rec, n_eval)
    bu, bp, bn = small_batch(train, I, 64)
    assert np.isfinite(x.train_step(bu, bp, bn)["total"])
    hook.close()
    ev.close()
    m.close()  # x still uses the model: freed with x
    assert m.closed
    assert np.isfinite(x.train_step(bu, bp, bn)["total"])
    hk = x.hook
    del x
    gc.collect()
    hk.set_param("w_kd", 0.5)  # the borrowed hook keeps its LightGCNIRL
    del hk
    gc.collect()
    # A child collected in a reference cycle after its context was closed.
    ctx2 = irl.Context()
    h2 = irl.Hook(ctx2, n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4)
    h2.me = h2
    ctx2.close()
    del h2, ctx2
    gc.collect()
    # In a fresh interpreter: a child collected after the with-block closed its
    # context (plain CPython used to segfault here), the others left for the
    # interpreter's exit. The ASan build preloads its runtime into this child too.
    code = ("import gc\nimport irllrec as irl\n"
            "with irl.Context() as ctx:\n"
            "    hs = [irl.Hook(ctx, n_users=500, n_items=400, dim=16, n_intents=8, max_batch=64)\n"
            "          for _ in range(3)]\n"
            "    ev = irl.Evaluator(ctx, 400, ks=(2,))\n"
            "del hs[1]\n"
            "gc.collect()\n"
            "hs[0].set_param('w_kd', 0.75)\n"
            "print('ok', hs[0].get_param('w_kd'))\n")
    r = run_python(code)
    assert r.returncode == 0 and "ok 0.75" in r.stdout, (r.returncode, r.stdout, r.stderr)


def test_lengths_checked(ctx, U, I):
    """CSR and layer lists shorter than the C side reads are refused before any C call."""
    N, d, L = U + I, 8, 2
    rng = np.random.default_rng(1)
    rows = rng.integers(0, U, 400)
    cols = U + rng.integers(0, I, 400)
    indptr, indices = irl.csr_from_pairs(N, N, np.concatenate([rows, cols]),
                                         np.concatenate([cols, rows]))
    hook = irl.Hook(ctx, n_users=U, n_items=I, dim=d, n_intents=4, n_layers=L, max_batch=4)
    expect(ValueError, lambda: hook.set_graph(N, indptr[:N], indices), "Hook.set_graph",
           "indptr", "%d" % (N + 1))
    expect(ValueError, lambda: hook.set_graph(N, indptr[:N // 2], indices[:indptr[N // 2 - 1]]),
           "indptr")
    expect(ValueError, lambda: hook.set_graph(N, indptr, indices[:-3]), "Hook.set_graph",
           "indices", "%d" % len(indices))
    expect(ValueError, lambda: hook.set_graph(N, indptr[:0], indices), "indptr")
    hook.set_graph(N, indptr, indices)
    E_u, E_i = np.zeros((U, d), np.float32), np.zeros((I, d), np.float32)
    lay = [np.zeros((N, d), np.float32) for _ in range(L)]
    dlay = [np.zeros((N, d), np.float32) for _ in range(L)]
    args = ([0], [1], [2], E_u, E_i, E_u.copy(), E_i.copy())
    expect(ValueError, lambda: hook.step(*args, layers=lay[:1], layer_grads=dlay), "Hook.step",
           "layers", "n_layers = 2")
    expect(ValueError, lambda: hook.step(*args, layers=lay, layer_grads=dlay[:1]), "Hook.step",
           "layer_grads", "n_layers = 2")
    expect(ValueError, lambda: hook.step(*args, layers=lay + lay[:1]), "layers")
    hook.step(*args, layers=lay, layer_grads=dlay)
    hook.close()
    # Evaluator.run: U users, I items; the CSRs are user -> items.
    ip, ix = irl.csr_from_pairs(U, I, rows, cols - U)
    ev = irl.Evaluator(ctx, I, ks=(5,))
    Eu = rng.standard_normal((U, d)).astype(np.float32)
    Ei = rng.standard_normal((I, d)).astype(np.float32)
    expect(ValueError, lambda: ev.run(Eu, Ei, (ip[:U], ix), (ip, ix)), "Evaluator.run", "mask_csr",
           "indptr", "%d" % (U + 1))
    expect(ValueError, lambda: ev.run(Eu, Ei, None, (ip[:-2], ix)), "truth_csr", "indptr")
    expect(ValueError, lambda: ev.run(Eu, Ei, None, (ip, ix[:-1])), "truth_csr", "indices")
    expect(ValueError, lambda: ev.run(Eu, Ei, (ip, ix[:5]), (ip, ix)), "mask_csr", "indices")
    ev.run(Eu, Ei, None, (ip, ix))
    ev.close()


def test_ints_checked(ctx, U, I, train, texts):
    """Ids and sizes that do not fit their C type (or are not integers) are refused,
    not wrapped or truncated."""
    big = 2 ** 32
    hook = irl.Hook(ctx, n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4)
    E_u, E_i = np.zeros((U, 8), np.float32), np.zeros((I, 8), np.float32)
    g = (E_u, E_i, E_u.copy(), E_i.copy())
    expect(ValueError, lambda: hook.step([big + 3], [0], [1], *g), "Hook.step", "users[0]",
           str(big + 3), "int32")
    expect(ValueError, lambda: hook.step(np.array([0, 1], np.int64), [0, big + 1], [1, 2], *g),
           "pos[1]", "int32")
    expect(ValueError, lambda: hook.step([0], [0], [-big], *g), "neg[0]", "int32")
    expect(ValueError, lambda: hook.step([0], [0], [2 ** 70], *g), "neg[0]")
    expect(TypeError, lambda: hook.step([1.9], [0], [1], *g), "Hook.step", "users", "integer")
    expect(TypeError, lambda: hook.step([0], np.array([1.0]), [1], *g), "pos", "integer")
    hook.step([0], [0], [1], *g)
    expect(ValueError, lambda: hook.set_param(big + 300, 0.5), "Hook.set_param", str(big + 300))
    assert hook.get_param("w_kd") != 0.5
    expect(ValueError, lambda: hook.set_text(big, E_u), "Hook.set_text")
    hook.close()
    for field, value, exc in (("dim", big + 8, ValueError), ("n_users", 2 ** 64 + U, ValueError),
                              ("max_batch", -big, ValueError), ("seed", -1, ValueError),
                              ("seed", 2 ** 64, ValueError), ("dim", 8.5, TypeError),
                              ("n_intents", "4", TypeError)):
        spec = dict(n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4)
        spec[field] = value
        expect(exc, lambda: irl.Hook(ctx, **spec), "Hook", field)
    irl.Hook(ctx, n_users=U, n_items=I, dim=8, n_intents=4, max_batch=4,
             seed=2 ** 64 - 1).close()
    expect(ValueError, lambda: irl.Context(n_threads=big + 1), "Context", "n_threads")
    expect(ValueError, lambda: irl.Evaluator(ctx, big * big * 4 + I), "Evaluator", "n_items")
    expect(ValueError, lambda: irl.Evaluator(ctx, I, ks=(big + 20,)), "Evaluator", "ks[0]")
    expect(TypeError, lambda: irl.Evaluator(ctx, I, ks=(2.5,)), "Evaluator", "ks")
    expect(ValueError, lambda: irl.LightGCN(U, I, *train, dim=big + 8), "LightGCN", "dim")
    expect(ValueError, lambda: irl.LightGCN(U, I, *train, seed=-1), "LightGCN", "seed")
    expect(TypeError, lambda: irl.LightGCN(U, I, train[0].astype(np.float64), train[1]),
           "LightGCN", "train_users", "integer")
    expect(ValueError, lambda: irl.LightGCN(U, I, train[0], train[1] + np.int64(big)),
           "LightGCN", "train_items")
    m = irl.LightGCN(U, I, *train, dim=8, n_layers=1, seed=3)
    expect(ValueError, lambda: irl.LightGCNIRL(ctx, m, texts, max_batch=big + 64),
           "LightGCNIRL", "max_batch")
    expect(ValueError, lambda: irl.LightGCNIRL(ctx, m, texts, tran_samples=2 ** 63), "tran_samples")
    expect(ValueError, lambda: m.forward(big + irl.LGCN_TRAIN), "LightGCN.forward", "mode")
    expect(ValueError, lambda: m.train_step([big], [0], [1]), "LightGCN.train_step", "users[0]")
    m.close()
    with tempfile.TemporaryDirectory() as tmp:
        expect(ValueError, lambda: irl.synth_write(ctx, tmp, n_users=big + 300), "synth_write",
               "n_users")
        expect(ValueError, lambda: irl.synth_write(ctx, tmp, seed=-5), "synth_write", "seed")
        assert not os.listdir(tmp)


def test_version_checked():
    """The binding refuses a library of another 0.x minor (each has its own ABI),
    of another major, or (from 1.0) of an older minor; a patch differs freely."""
    ok = irl._version_compatible
    for lib_v, binding, want in ((200, (0, 2), True), (205, (0, 2), True), (300, (0, 2), False),
                                 (100, (0, 2), False), (10200, (0, 2), False),
                                 (10200, (1, 2), True), (10311, (1, 2), True),
                                 (10100, (1, 2), False), (20200, (1, 2), False)):
        assert ok(lib_v, binding) == want, (lib_v, binding, want)
    v = irl.lib().irllrec_version_number()
    assert ok(v, irl.BINDING_VERSION), (v, irl.BINDING_VERSION)
    stub = os.environ.get("IRLLREC_VSTUB_LIB")
    if not stub:
        print("version stub: IRLLREC_VSTUB_LIB not set (ctest sets it): end-to-end part skipped")
        return
    major, minor = irl.BINDING_VERSION
    for other in ((major, minor + 1, 0), (major, minor - 1, 3), (major + 1, minor, 0)):
        if min(other) < 0:
            continue
        number = other[0] * 10000 + other[1] * 100 + other[2]
        r = run_python("import irllrec\nirllrec.lib()\n", IRLLREC_LIB=stub,
                       IRLLREC_VSTUB_NUMBER=str(number))
        want = "%d.%d.%d" % other
        assert r.returncode != 0 and "IrllrecVersionError" in r.stderr and want in r.stderr \
            and "%d.%d" % (major, minor) in r.stderr, (number, r.returncode, r.stderr)
        print("refused as expected:", r.stderr.strip().splitlines()[-1])


def main():
    print("libirllrec", irl.lib().irllrec_version_string().decode(), "via", irl.lib()._name)
    only = {a if a.startswith("test_") else "test_" + a for a in sys.argv[1:]}
    ctx = irl.Context()
    with tempfile.TemporaryDirectory() as tmp:
        U, I, train, val, texts = load_synth(ctx, tmp)
    tests = [("test_errors", lambda: test_errors(U, I)),
             ("test_gradients_match_c", lambda: test_gradients_match_c(ctx, U, I, train, texts)),
             ("test_training_loss_falls",
              lambda: test_training_loss_falls(ctx, U, I, train, val, texts)),
             ("test_children_keep_context", lambda: test_children_keep_context(U, I, train, texts)),
             ("test_lengths_checked", lambda: test_lengths_checked(ctx, U, I)),
             ("test_ints_checked", lambda: test_ints_checked(ctx, U, I, train, texts)),
             ("test_version_checked", test_version_checked)]
    unknown = only - {name for name, _ in tests}
    if unknown:
        print("no such test:", ", ".join(sorted(unknown)))
        return 2
    for name, fn in tests:
        if not only or name in only:
            print("==", name)
            fn()
    ctx.close()
    print("python binding: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
