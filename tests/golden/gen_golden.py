#!/usr/bin/python3
"""Golden fixtures for libirllrec: an independent PyTorch autograd reference.

Written from the formulas (docs/math.md, docs/math-towers.md, docs/math-align.md),
not from the authors' code.
Every value is computed in float64 with torch autograd; the C side
(tests/test_golden.c, tests/test_golden_hook.c) recomputes them with the
library's float32 kernels and compares at relative error <= 1e-4 (max-norm:
max|c - ref| / max|ref| per array).

Rerun (needs Debian's python3-torch and numpy; CI does not):
    /usr/bin/python3 tests/golden/gen_golden.py            # writes tests/golden/*.bin
The inputs come from a fixed torch seed and are first rounded to float32, so
the C side (float32 storage) sees exactly the inputs the reference used.
Regenerating therefore reproduces the committed files bit for bit on the same
torch version; commit them again if a formula changes.

File layout (little-endian throughout):
    magic     8 bytes  b"IRLGOLD1"
    n_arrays  u32
    n_arrays times:
        name_len u32, name (ASCII, no NUL)
        ndim     u32 (1 or 2), dims u32[ndim]
        data     float64[prod(dims)], row-major
Integer arrays (ids, CSR offsets) are stored as float64 too (exact).
Scalars are 1-element arrays. Gradient arrays are named "d<input>".

Files and what they hold (see each gen_* function):
    mlp.bin       text tower: Linear -> LeakyReLU(0.01) -> Linear
    tower.bin     interaction tower over a CSR graph, L = 2 layers, mean
    tower0.bin    graph-free tower (prototype attention on E_final)
    infonce.bin   pairwise InfoNCE, all-rows and in-batch forms
    tran.bin      translation alignment with given noise
    itm.bin       ITM cross-entropy (teacher softmax vs student log_softmax)
    hook.bin      the full hook loss (both presets) for U=5, I=6, d=4, K=3,
                  L=2, D_p=7, D_t=9, B=3, with given noise
"""
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
EPS_NORM = 1e-8


def f32(*shape, scale=1.0, gen=None):
    """Random normal values rounded to float32, held as float64 leaves."""
    x = torch.randn(*shape, generator=gen) * scale
    return x.float().double().requires_grad_(True)


def write(name, arrays):
    path = os.path.join(HERE, name)
    with open(path, "wb") as fh:
        fh.write(b"IRLGOLD1")
        fh.write(struct.pack("<I", len(arrays)))
        for key, val in arrays:
            if isinstance(val, torch.Tensor):
                val = val.detach().cpu().numpy()
            a = np.asarray(val, dtype="<f8")
            if a.ndim == 0:
                a = a.reshape(1)
            assert a.ndim in (1, 2)
            kb = key.encode("ascii")
            fh.write(struct.pack("<I", len(kb)))
            fh.write(kb)
            fh.write(struct.pack("<I", a.ndim))
            fh.write(struct.pack("<%dI" % a.ndim, *a.shape))
            fh.write(np.ascontiguousarray(a).tobytes())
    print("wrote", path, os.path.getsize(path), "bytes")


# ---- formulas (docs/math-towers.md, docs/math-align.md) -----------------

def nrm(v):
    return v / torch.sqrt(EPS_NORM + (v * v).sum(-1, keepdim=True))


def mlp(x, w1, b1, w2, b2):
    return F.leaky_relu(x @ w1.T + b1, 0.01) @ w2.T + b2


def infonce(x, y, yall, tau):
    xn = nrm(x)
    pos = (xn * nrm(y)).sum(-1) / tau
    s = xn @ nrm(yall).T / tau
    return (-pos + torch.logsumexp(s, dim=1)).sum()


def proto(e, c):
    return torch.softmax(e @ c, dim=1) @ c.T


def tower(layers, cu, ci, n_users, indptr, indices):
    """r = mean_l G(l) E(l), G row-normalised (cos(Z_h,Z_t)+1)/2 over edges."""
    n = layers[0].shape[0]
    heads = []
    for h in range(n):
        heads += [h] * int(indptr[h + 1] - indptr[h])
    heads = torch.tensor(heads, dtype=torch.long)
    tails = torch.tensor([int(t) for t in indices], dtype=torch.long)
    out = 0
    for e in layers:
        z = torch.cat([proto(e[:n_users], cu), proto(e[n_users:], ci)], 0)
        zn = nrm(z)
        alpha = ((zn[heads] * zn[tails]).sum(-1) + 1) / 2
        rowsum = torch.zeros(n).index_add(0, heads, alpha)
        g = alpha / rowsum[heads]
        hmat = torch.zeros(n, e.shape[1]).index_add(0, heads, g[:, None] * e[tails])
        out = out + hmat
    return out / len(layers)


def tran_loss(x, y, e1, e2):
    xt = x + x * e1
    yt = y + y * e2
    c = nrm(xt) @ nrm(yt).T
    ec = torch.exp(c)
    q = torch.diagonal(ec) / (ec.sum(1) + 1e-8)
    return -torch.log(q + 1e-8).mean()


def itm_ce(x, xm):
    return -(torch.softmax(xm, 1) * torch.log_softmax(x, 1)).sum(1).mean()


def mlp_params(din, d, gen):
    h = (din + d) // 2
    return [f32(h, din, scale=0.4, gen=gen), f32(h, scale=0.1, gen=gen),
            f32(d, h, scale=0.4, gen=gen), f32(d, scale=0.1, gen=gen)]


def graph(n_users, n_items, gen):
    """Random bipartite pattern, both directions, sorted; user 0 has no edge
    (empty row) so the zero-row path is covered."""
    r = (torch.rand(n_users, n_items, generator=gen) < 0.45)
    r[0, :] = False
    r[1, 0] = True
    n = n_users + n_items
    rows = [[] for _ in range(n)]
    for u in range(n_users):
        for i in range(n_items):
            if r[u, i]:
                rows[u].append(n_users + i)
                rows[n_users + i].append(u)
    indptr = [0]
    indices = []
    for row in rows:
        indices += sorted(row)
        indptr.append(len(indices))
    return indptr, indices


def grads(loss, named):
    g = torch.autograd.grad(loss, [t for _, t in named], retain_graph=True)
    return [("d" + k, v) for (k, _), v in zip(named, g)]


# ---- fixtures --------------------------------------------------------------

def gen_mlp(gen):
    n, din, d = 5, 7, 4
    x = f32(n, din, gen=gen)
    w1, b1, w2, b2 = mlp_params(din, d, gen)
    wts = torch.randn(n, d, generator=gen).float().double()
    named = [("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)]
    out = mlp(x, w1, b1, w2, b2)
    loss = (wts * out).sum()
    write("mlp.bin", named + [("wts", wts), ("out", out), ("loss", loss)] + grads(loss, named))


def gen_tower(gen):
    nu, ni, d, k = 5, 6, 4, 3
    indptr, indices = graph(nu, ni, gen)
    e0 = f32(nu + ni, d, gen=gen)
    e1 = f32(nu + ni, d, gen=gen)
    cu = f32(d, k, gen=gen)
    ci = f32(d, k, gen=gen)
    wts = torch.randn(nu + ni, d, generator=gen).float().double()
    named = [("e0", e0), ("e1", e1), ("cu", cu), ("ci", ci)]
    r = tower([e0, e1], cu, ci, nu, indptr, indices)
    loss = (wts * r).sum()
    meta = [("n_users", nu), ("indptr", indptr), ("indices", indices), ("wts", wts), ("r", r),
            ("loss", loss)]
    write("tower.bin", named + meta + grads(loss, named))

    ef = f32(nu + ni, d, gen=gen)
    named = [("ef", ef), ("cu", cu), ("ci", ci)]
    r0 = torch.cat([proto(ef[:nu], cu), proto(ef[nu:], ci)], 0)
    loss = (wts * r0).sum()
    write("tower0.bin", named + [("n_users", nu), ("wts", wts), ("r", r0), ("loss", loss)]
          + grads(loss, named))


def gen_infonce(gen):
    b, m, d, tau = 4, 6, 5, 0.2
    x = f32(b, d, gen=gen)
    yall = f32(m, d, gen=gen)
    pos = torch.tensor([2, 0, 5, 2])
    named = [("x", x), ("yall", yall)]
    loss = infonce(x, yall[pos], yall, tau)
    write("infonce.bin", named + [("pos", pos.double()), ("tau", tau), ("loss", loss)]
          + grads(loss, named))


def gen_tran(gen):
    n, d = 7, 4
    x = f32(n, d, gen=gen)
    y = f32(n, d, gen=gen)
    e1 = torch.randn(n, d, generator=gen).float().double()
    e2 = torch.randn(n, d, generator=gen).float().double()
    named = [("x", x), ("y", y)]
    loss = tran_loss(x, y, e1, e2)
    write("tran.bin", named + [("eps1", e1), ("eps2", e2), ("loss", loss)] + grads(loss, named))


def gen_itm(gen):
    n, d = 6, 4
    x = f32(n, d, gen=gen)
    xm = torch.randn(n, d, generator=gen).float().double()
    named = [("x", x)]
    loss = itm_ce(x, xm)
    write("itm.bin", named + [("xm", xm), ("loss", loss)] + grads(loss, named))


def gen_hook(gen):
    """Full hook loss. Weights are set large (not the defaults) so that every
    term moves the total visibly; the C test sets the same values."""
    nu, ni, d, k, nl, dp, dt = 5, 6, 4, 3, 2, 7, 9
    n = nu + ni
    w = dict(w_kd=0.5, tau_kd=0.2, w_pair=0.7, tau_pair=0.3, w_tran=0.9, w_itm=0.8,
             alpha=0.6, momentum=0.9, reg=1e-2)
    users = torch.tensor([1, 3, 1])
    pos = torch.tensor([0, 4, 2])
    neg = torch.tensor([5, 4, 2])  # items 4 and 2 also positives: duplicates
    bsz = len(users)
    indptr, indices = graph(nu, ni, gen)
    layers = [f32(n, d, gen=gen), f32(n, d, gen=gen)]
    ef = f32(n, d, gen=gen)
    cu = f32(d, k, gen=gen)
    ci = f32(d, k, gen=gen)
    su = torch.randn(nu, dp, generator=gen).float().double()
    si = torch.randn(ni, dp, generator=gen).float().double()
    tu = torch.randn(nu, dt, generator=gen).float().double()
    ti = torch.randn(ni, dt, generator=gen).float().double()
    prf = mlp_params(dp, d, gen)
    intp = mlp_params(dt, d, gen)
    teacher = [t.detach().clone() for t in mlp_params(dt, d, gen)]
    e1 = torch.randn(n, d, generator=gen).float().double()
    e2 = torch.randn(n, d, generator=gen).float().double()

    # (e) EMA before the teacher forward, from the student's pre-step values.
    m = w["momentum"]
    teacher_new = [m * tm + (1 - m) * t.detach() for tm, t in zip(teacher, intp)]

    p_u = mlp(su, *prf)
    p_i = mlp(si, *prf)
    z_u = mlp(tu, *intp)
    z_i = mlp(ti, *intp)
    zm = torch.cat([mlp(tu, *teacher_new), mlp(ti, *teacher_new)], 0)
    r = tower(layers, cu, ci, nu, indptr, indices)
    ef_u, ef_i = ef[:nu], ef[nu:]
    r_u, r_i = r[:nu], r[nu:]

    kd = (infonce(ef_u[users], p_u[users], p_u, w["tau_kd"])
          + infonce(ef_i[pos], p_i[pos], p_i[pos], w["tau_kd"])
          + infonce(ef_i[neg], p_i[neg], p_i[neg], w["tau_kd"])) / bsz
    pair = (infonce(r_u[users], z_u[users], z_u, w["tau_pair"])
            + infonce(r_i[pos], z_i[pos], z_i[pos], w["tau_pair"])
            + infonce(r_i[neg], z_i[neg], z_i[neg], w["tau_pair"])) / bsz
    z = torch.cat([z_u, z_i], 0)
    tran = tran_loss(z, ef, e1, e2)
    ce = itm_ce(z, zm)
    student = prf + intp + [cu, ci]
    sq = sum((t * t).sum() for t in student)
    sq_teacher = sum((t * t).sum() for t in teacher_new)
    base = w["w_kd"] * kd + w["w_pair"] * pair + w["w_tran"] * tran
    # paper preset: L_tran once; reg over trainable parameters only.
    total_paper = base + w["w_itm"] * w["alpha"] * ce + w["reg"] * sq
    # released preset: L_tran also inside L_itm; reg also over the teacher.
    total_rel = (base + w["w_itm"] * ((1 - w["alpha"]) * w["w_tran"] * tran + w["alpha"] * ce)
                 + w["reg"] * (sq + sq_teacher))

    named = ([("ef", ef), ("layer0", layers[0]), ("layer1", layers[1])]
             + [("prf_w1", prf[0]), ("prf_b1", prf[1]), ("prf_w2", prf[2]), ("prf_b2", prf[3])]
             + [("int_w1", intp[0]), ("int_b1", intp[1]), ("int_w2", intp[2]),
                ("int_b2", intp[3])]
             + [("cu", cu), ("ci", ci)])
    out = []
    for key, val in w.items():
        out.append((key, val))
    out += [("n_users", nu), ("n_items", ni), ("users", users.double()), ("pos", pos.double()),
            ("neg", neg.double()), ("indptr", indptr), ("indices", indices),
            ("su", su), ("si", si), ("tu", tu), ("ti", ti), ("eps1", e1), ("eps2", e2),
            ("tm_w1", teacher[0]), ("tm_b1", teacher[1]), ("tm_w2", teacher[2]),
            ("tm_b2", teacher[3]),
            ("tmn_w1", teacher_new[0]), ("tmn_b1", teacher_new[1]), ("tmn_w2", teacher_new[2]),
            ("tmn_b2", teacher_new[3]),
            ("kd", kd), ("pair", pair), ("tran", tran), ("ce", ce), ("sq", sq),
            ("sq_teacher", sq_teacher), ("total_paper", total_paper),
            ("total_released", total_rel)]
    out += named
    out += grads(total_paper, named)
    gr = grads(total_rel, named)
    out += [("rel_" + key, v) for key, v in gr]
    write("hook.bin", out)


def main():
    gen = torch.Generator().manual_seed(20250203)
    gen_mlp(gen)
    gen_tower(gen)
    gen_infonce(gen)
    gen_tran(gen)
    gen_itm(gen)
    gen_hook(gen)


if __name__ == "__main__":
    main()
