"""Serving a trained model from NumPy: top-K ranking (rank.h) and the trained
recommender irllrec_rec (serve.h) as Recommender.

Results are NumPy arrays: recommend and similar return (ids, scores, counts),
ids an (n, k) int32 array (-1 past a row's count), scores (n, k) float32,
counts (n,) int32. Every argument is checked before any C call (integers that
fit int32 and lie in range, k in [1, RANK_MAX_K], sides, 2-D float32 arrays with
contiguous rows); the message starts with the Python call and names the
argument. What only the library can tell (a model without intents, a file that
is not a serving model) comes back as IrllrecError with the context's message.
"""
import ctypes
import os

import numpy as np

from ._types import (Mat, RankOpts, RecSpec, RecInfo, Explanation, RANK_COSINE,
                     RANK_INCLUDE_SEEN, RANK_MAX_K, SIDES, c_f32p, c_i32p, c_i64p, c_f64p)
from ._loader import lib, _proto, _P, _S
from ._args import _int, _int_array, mat, _csr_arg
from ._core import _Child, Context, Hook

__all__ = ["Recommender", "rank", "recommend", "similar", "export_embeddings", "RANK_MAX_K"]

_CP = ctypes.POINTER(Mat)  # const irllrec_cmat * (same layout)


def _bind_serve(dll):
    _proto(dll, "irllrec_rank_opts_init", None, ctypes.POINTER(RankOpts), ctypes.c_uint32)
    out = (c_i32p, c_f32p, c_i32p)
    _proto(dll, "irllrec_rank", _S, _P, Mat, Mat, ctypes.c_int32, ctypes.POINTER(RankOpts),
           *out)
    _proto(dll, "irllrec_recommend", _S, _P, Mat, Mat, c_i32p, ctypes.c_int64, ctypes.c_int32,
           ctypes.POINTER(RankOpts), *out)
    _proto(dll, "irllrec_similar", _S, _P, Mat, c_i32p, ctypes.c_int64, ctypes.c_int32,
           ctypes.POINTER(RankOpts), *out)
    _proto(dll, "irllrec_export_embeddings", _S, _P, ctypes.c_char_p, ctypes.c_char_p, Mat,
           c_i64p)
    _proto(dll, "irllrec_rec_spec_init", None, ctypes.POINTER(RecSpec), ctypes.c_uint32)
    _proto(dll, "irllrec_rec_create", _S, _P, ctypes.POINTER(RecSpec), ctypes.POINTER(_P))
    _proto(dll, "irllrec_rec_free", None, _P)
    _proto(dll, "irllrec_rec_get_info", _S, _P, ctypes.POINTER(RecInfo))
    _proto(dll, "irllrec_rec_embeddings", _S, _P, ctypes.c_int32, _CP)
    _proto(dll, "irllrec_rec_save", _S, _P, ctypes.c_char_p)
    _proto(dll, "irllrec_rec_load", _S, _P, ctypes.c_char_p, ctypes.POINTER(_P))
    _proto(dll, "irllrec_rec_recommend", _S, _P, c_i32p, ctypes.c_int64, ctypes.c_int32,
           ctypes.POINTER(RankOpts), *out)
    _proto(dll, "irllrec_rec_similar", _S, _P, ctypes.c_int32, c_i32p, ctypes.c_int64,
           ctypes.c_int32, ctypes.POINTER(RankOpts), *out)
    _proto(dll, "irllrec_rec_intents", _S, _P, ctypes.c_int32, c_i32p, ctypes.c_int64, c_f32p)
    _proto(dll, "irllrec_rec_explain", _S, _P, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
           ctypes.POINTER(Explanation))
    _proto(dll, "irllrec_rec_intent_exemplars", _S, _P, ctypes.c_int32, ctypes.c_int32, c_i32p,
           c_f32p)
    _proto(dll, "irllrec_rec_embed_text", _S, _P, ctypes.c_int32, Mat, Mat, Mat)
    _proto(dll, "irllrec_rec_add_from_text", _S, _P, ctypes.c_int32, Mat, Mat, c_i32p)
    _proto(dll, "irllrec_rec_fold_in", _S, _P, c_i32p, ctypes.c_int64, c_f32p)
    _proto(dll, "irllrec_rec_add_user", _S, _P, c_i32p, ctypes.c_int64, c_i32p)
    dll._irllrec_serve_bound = True


def _lib():
    """lib() with the serving prototypes, bound on first use."""
    dll = lib()
    if not getattr(dll, "_irllrec_serve_bound", False):
        _bind_serve(dll)
    return dll


# ---- argument checks -------------------------------------------------------------


def _k(k, where):
    k = _int(k, ctypes.c_int32, where, "k")
    if not 1 <= k <= RANK_MAX_K:
        raise ValueError("%s: k = %d not in [1, %d]" % (where, k, RANK_MAX_K))
    return k


def _side(side, where):
    if isinstance(side, str):
        if side not in SIDES:
            raise ValueError("%s: side = %r is not 'users' or 'items'" % (where, side))
        return SIDES[side]
    s = _int(side, ctypes.c_int32, where, "side")
    if s not in (0, 1):
        raise ValueError("%s: side = %d is not 0 (users) or 1 (items)" % (where, s))
    return s


def _ids_in(a, name, bound, bname, where):
    """Ids as int32, each in [0, bound), naming the first that is not."""
    ids = _int_array(a, np.int32, where, name)
    bad = np.flatnonzero((ids < 0) | (ids >= bound))
    if bad.size:
        j = int(bad[0])
        raise ValueError("%s: %s[%d] = %d not in [0, %s = %d)"
                         % (where, name, j, int(ids[j]), bname, bound))
    return ids


def _id_in(v, name, bound, bname, where):
    i = _int(v, ctypes.c_int32, where, name)
    if not 0 <= i < bound:
        raise ValueError("%s: %s = %d not in [0, %s = %d)" % (where, name, i, bname, bound))
    return i


class _Opts:
    """irllrec_rank_opts for one call, holding the arrays it points into."""

    def __init__(self, where, n_cand, cosine=False, include_seen=False, seen=None,
                 seen_rows=(0, ""), allow=None, deny=None):
        o = RankOpts()
        _lib().irllrec_rank_opts_init(ctypes.byref(o), ctypes.sizeof(o))
        o.flags = (RANK_COSINE if cosine else 0) | (RANK_INCLUDE_SEEN if include_seen else 0)
        self.keep = []
        if seen is not None:
            c, keep = _csr_arg(where, "seen", seen_rows[0], n_cand, seen, seen_rows[1])
            self.keep += [c, keep]
            o.seen = ctypes.pointer(c)
        for name, arr in (("allow", allow), ("deny", deny)):
            if arr is None:
                continue
            ids = _ids_in(arr, name, n_cand, "candidates", where)
            # A non-NULL pointer even for an empty allow list: "nothing is allowed".
            buf = ids if ids.size else np.zeros(1, np.int32)
            self.keep.append(buf)
            setattr(o, name, buf.ctypes.data_as(c_i32p))
            setattr(o, "n_" + name, ids.size)
        self.opts = o

    def ref(self):
        return ctypes.byref(self.opts)


def _outputs(n, k):
    return (np.full((n, k), -1, np.int32), np.zeros((n, k), np.float32),
            np.zeros(max(n, 1), np.int32))


def _ptrs(ids, scores, counts):
    return ids.ctypes.data_as(c_i32p), scores.ctypes.data_as(c_f32p), \
        counts.ctypes.data_as(c_i32p)


def _call_ctx(ctx, where, fn, *args):
    ch = ctx.handle
    ctx.clear_error()
    ctx.check(fn(ch, *args), "%s failed" % where)


def _same_dim(a, b, names, where):
    if a.cols != b.cols:
        raise ValueError("%s: %s has %d columns, %s %d" % (where, names[0], a.cols, names[1],
                                                            b.cols))


# ---- stateless ranking (rank.h) ------------------------------------------------------


def rank(ctx, queries, candidates, k, cosine=False, seen=None, allow=None, deny=None):
    """Top-k candidate rows (ids) for each query row (irllrec_rank). seen:
    (indptr, indices) per query row of candidate ids to exclude."""
    W = "rank"
    q, c = mat(queries, name="queries", where=W), mat(candidates, name="candidates", where=W)
    _same_dim(q, c, ("queries", "candidates"), W)
    k = _k(k, W)
    o = _Opts(W, c.rows, cosine, False, seen, (q.rows, "queries rows"), allow, deny)
    out = _outputs(q.rows, k)
    _call_ctx(ctx, W, _lib().irllrec_rank, q, c, k, o.ref(), *_ptrs(*out))
    return out[0], out[1], out[2][:q.rows]


def recommend(ctx, user_emb, item_emb, users, k, cosine=False, seen=None, allow=None,
              deny=None):
    """Top-k items for users given by id (irllrec_recommend); seen: the TRAIN
    CSR (indptr of user_emb rows + 1 offsets) of items to exclude."""
    W = "recommend"
    ue, ie = mat(user_emb, name="user_emb", where=W), mat(item_emb, name="item_emb", where=W)
    _same_dim(ue, ie, ("user_emb", "item_emb"), W)
    u = _ids_in(users, "users", ue.rows, "user_emb rows", W)
    k = _k(k, W)
    o = _Opts(W, ie.rows, cosine, False, seen, (ue.rows, "user_emb rows"), allow, deny)
    out = _outputs(len(u), k)
    _call_ctx(ctx, W, _lib().irllrec_recommend, ue, ie, u.ctypes.data_as(c_i32p), len(u), k,
              o.ref(), *_ptrs(*out))
    return out[0], out[1], out[2][:len(u)]


def similar(ctx, emb, rows, k, seen=None, allow=None, deny=None):
    """Nearest rows of emb (cosine) to its rows `rows`, each itself excluded."""
    W = "similar"
    e = mat(emb, name="emb", where=W)
    r = _ids_in(rows, "rows", e.rows, "emb rows", W)
    k = _k(k, W)
    o = _Opts(W, e.rows, True, False, seen, (e.rows, "emb rows"), allow, deny)
    out = _outputs(len(r), k)
    _call_ctx(ctx, W, _lib().irllrec_similar, e, r.ctypes.data_as(c_i32p), len(r), k, o.ref(),
              *_ptrs(*out))
    return out[0], out[1], out[2][:len(r)]


def export_embeddings(ctx, directory, name, emb, ids=None):
    """DIRECTORY/NAME.npy and DIRECTORY/NAME.ids.tsv (irllrec_export_embeddings);
    ids: one int64 external id per row, or None for the row numbers."""
    W = "export_embeddings"
    e = mat(emb, name="emb", where=W)
    if not isinstance(name, str):
        raise TypeError("%s: name = %r is not a string" % (W, name))
    p = None
    if ids is not None:
        ids = _int_array(ids, np.int64, W, "ids")
        if len(ids) != e.rows:
            raise ValueError("%s: ids has %d entries, emb has %d rows" % (W, len(ids), e.rows))
        p = ids.ctypes.data_as(c_i64p)
    _call_ctx(ctx, W, _lib().irllrec_export_embeddings, os.fsencode(directory), name.encode(),
              e, p)


# ---- the trained recommender (serve.h) -----------------------------------------------


class Recommender(_Child):
    """irllrec_rec: make one with Recommender.load(path) or
    Recommender.from_embeddings(ctx, ...). Keeps its Context alive; errors
    carry that context's message."""

    def __init__(self, *args, **kwargs):
        raise TypeError("Recommender: use Recommender.load(path, ctx=None) or "
                        "Recommender.from_embeddings(ctx, user_emb, item_emb, ...)")

    @classmethod
    def _wrap(cls, ctx, where, fn, *args):
        h = _P()
        _call_ctx(ctx, where, fn, *args, ctypes.byref(h))
        self = cls.__new__(cls)
        self.ctx, self._h, self._free_fn = ctx, h, _lib().irllrec_rec_free
        self._attach(ctx)
        self._info = None
        return self

    @classmethod
    def load(cls, path, ctx=None):
        """irllrec_rec_load (checksums and shapes verified). ctx: the Context
        that receives its errors, or None for a new one."""
        ctx = Context() if ctx is None else ctx
        return cls._wrap(ctx, "Recommender.load", _lib().irllrec_rec_load, os.fsencode(path))

    @classmethod
    def from_embeddings(cls, ctx, user_emb, item_emb, seen=None, hook=None, layers=None):
        """irllrec_rec_create: copies user_emb (U x d), item_emb (I x d), seen
        ((indptr, indices) of each user's TRAIN items, excluded by default),
        what it needs of `hook` (a Hook of the same U, I, d: intents,
        explanations, cold start) and `layers` (with a graph hook that has
        intent text: the L per-layer N x d views E(0..L-1), users first, that
        its steps received; None: intents from the final embeddings)."""
        W = "Recommender.from_embeddings"
        spec = RecSpec()
        _lib().irllrec_rec_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
        spec.user_emb = mat(user_emb, name="user_emb", where=W)
        spec.item_emb = mat(item_emb, name="item_emb", where=W)
        _same_dim(spec.user_emb, spec.item_emb, ("user_emb", "item_emb"), W)
        U, I = spec.user_emb.rows, spec.item_emb.rows
        keep = [user_emb, item_emb]
        if seen is not None:
            c, arrays = _csr_arg(W, "seen", U, I, seen, "user_emb rows")
            keep += [c, arrays]
            spec.seen = ctypes.pointer(c)
        if hook is not None:
            if not isinstance(hook, Hook):
                raise TypeError("%s: hook must be an irllrec.Hook, got %s"
                                % (W, type(hook).__name__))
            spec.hook = hook._handle(W)
        if layers is not None:
            if hook is None:
                raise ValueError("%s: layers given without a hook" % W)
            views = [mat(a, name="layers[%d]" % j, where=W) for j, a in enumerate(layers)]
            if hook._n_layers == 0:
                raise ValueError("%s: layers given with a graph-free hook (n_layers = 0)" % W)
            if len(views) != hook._n_layers:
                raise ValueError("%s: layers has %d matrices, need the hook's n_layers = %d"
                                 % (W, len(views), hook._n_layers))
            keep.append(layers)
            spec.layers = (Mat * len(views))(*views)
        rec = cls._wrap(ctx, W, _lib().irllrec_rec_create, ctypes.byref(spec))
        del keep
        return rec

    # -- helpers --

    def _handle(self, where):
        h = getattr(self, "_h", None)
        if h is None:
            raise ValueError("%s: the recommender is closed" % where)
        return h

    def _call(self, where, fn, *args):
        h = self._handle(where)
        self.ctx.clear_error()
        self.ctx.check(fn(h, *args), "%s failed" % where)

    def info(self):
        """irllrec_rec_get_info as a dict: dim, n_users, n_items, n_intents,
        profile_dim, intent_dim, has_seen."""
        if self._info is None:
            out = RecInfo()
            out.struct_size = ctypes.sizeof(out)
            self._call("Recommender.info", _lib().irllrec_rec_get_info, ctypes.byref(out))
            self._info = out.as_dict()
        return dict(self._info)

    def _bound(self, side):
        i = self.info()
        return (i["n_users"], "n_users") if side == 0 else (i["n_items"], "n_items")

    # -- persistence and views --

    def save(self, path):
        """irllrec_rec_save (written atomically)."""
        self._call("Recommender.save", _lib().irllrec_rec_save, os.fsencode(path))

    def embeddings(self, side):
        """A copy of one side's stored embeddings (n x d float32)."""
        W = "Recommender.embeddings"
        s = _side(side, W)
        m = Mat()
        self._call(W, _lib().irllrec_rec_embeddings, s, ctypes.byref(m))
        if m.rows == 0:
            return np.zeros((0, m.cols), np.float32)
        flat = np.ctypeslib.as_array(m.data, shape=((m.rows - 1) * m.ld + m.cols,))
        return np.lib.stride_tricks.as_strided(flat, (m.rows, m.cols), (4 * m.ld, 4)).copy()

    # -- ranking --

    def recommend(self, users, k, include_seen=False, allow=None, deny=None):
        """Top-k items for each user id, their seen items excluded unless
        include_seen; allow / deny: item ids. Returns (ids, scores, counts)."""
        W = "Recommender.recommend"
        U, I = self._bound(0)[0], self._bound(1)[0]
        u = _ids_in(users, "users", U, "n_users", W)
        k = _k(k, W)
        o = _Opts(W, I, False, bool(include_seen), None, (0, ""), allow, deny)
        out = _outputs(len(u), k)
        self._call(W, _lib().irllrec_rec_recommend, u.ctypes.data_as(c_i32p), len(u), k,
                   o.ref(), *_ptrs(*out))
        return out[0], out[1], out[2][:len(u)]

    def similar(self, side, ids, k, allow=None, deny=None):
        """Nearest nodes of one side by cosine. Returns (ids, scores, counts)."""
        W = "Recommender.similar"
        s = _side(side, W)
        bound, bname = self._bound(s)
        q = _ids_in(ids, "ids", bound, bname, W)
        k = _k(k, W)
        o = _Opts(W, bound, False, False, None, (0, ""), allow, deny)
        out = _outputs(len(q), k)
        self._call(W, _lib().irllrec_rec_similar, s, q.ctypes.data_as(c_i32p), len(q), k,
                   o.ref(), *_ptrs(*out))
        return out[0], out[1], out[2][:len(q)]

    # -- intents --

    def intents(self, side, ids):
        """Intent distributions: an (n, K) float32 array, rows summing to 1."""
        W = "Recommender.intents"
        s = _side(side, W)
        bound, bname = self._bound(s)
        q = _ids_in(ids, "ids", bound, bname, W)
        K = self.info()["n_intents"]
        out = np.zeros((len(q), max(K, 1)), np.float32)
        self._call(W, _lib().irllrec_rec_intents, s, q.ctypes.data_as(c_i32p), len(q),
                   out.ctypes.data_as(c_f32p))
        return out[:, :K]

    def explain(self, user, item, top=3):
        """Why `item` scores as it does for `user`: a dict with score,
        residual, and the `top` shared intents (intents, shared, contribution:
        lists, best first)."""
        W = "Recommender.explain"
        u = _id_in(user, "user", *self._bound(0), W)
        i = _id_in(item, "item", *self._bound(1), W)
        K = self.info()["n_intents"]
        top = _int(top, ctypes.c_int32, W, "top")
        if K > 0 and not 1 <= top <= K:
            raise ValueError("%s: top = %d not in [1, n_intents = %d]" % (W, top, K))
        n = max(min(top, max(K, 1)), 1)  # K = 0: the library refuses (no intents)
        ids, shared, contrib = np.zeros(n, np.int32), np.zeros(n), np.zeros(n)
        x = Explanation()
        x.struct_size = ctypes.sizeof(x)
        x.intents = ids.ctypes.data_as(c_i32p)
        x.shared, x.contribution = shared.ctypes.data_as(c_f64p), contrib.ctypes.data_as(c_f64p)
        self._call(W, _lib().irllrec_rec_explain, u, i, top, ctypes.byref(x))
        m = x.n
        return {"score": x.score, "residual": x.residual, "intents": ids[:m].tolist(),
                "shared": shared[:m].tolist(), "contribution": contrib[:m].tolist()}

    def intent_exemplars(self, side, top):
        """For each prototype of `side`, its `top` nearest nodes through the
        text tower: (ids (K, top) int32, scores (K, top) float32)."""
        W = "Recommender.intent_exemplars"
        s = _side(side, W)
        top = _int(top, ctypes.c_int32, W, "top")
        if top < 1:
            raise ValueError("%s: top = %d is not >= 1" % (W, top))
        K = max(self.info()["n_intents"], 1)
        ids, scores = np.full((K, top), -1, np.int32), np.zeros((K, top), np.float32)
        self._call(W, _lib().irllrec_rec_intent_exemplars, s, top, ids.ctypes.data_as(c_i32p),
                   scores.ctypes.data_as(c_f32p))
        return ids, scores

    # -- cold start and fold-in --

    def _texts(self, W, profile, intent):
        """The (profile, intent) views of embed_text / add_from_text; absent =
        rows 0. Returns (profile view, intent view, n)."""
        if profile is None and intent is None:
            raise ValueError("%s: give profile, intent or both" % W)
        info = self.info()
        views = []
        for name, a, dim in (("profile", profile, info["profile_dim"]),
                             ("intent", intent, info["intent_dim"])):
            if a is None:
                views.append(Mat(None, 0, 0, 0))
                continue
            v = mat(a, name=name, where=W)
            if dim > 0 and v.cols != dim:
                raise ValueError("%s: %s has %d columns, the model's %s_dim is %d"
                                 % (W, name, v.cols, name, dim))
            views.append(v)
        p, t = views
        if profile is not None and intent is not None and p.rows != t.rows:
            raise ValueError("%s: profile has %d rows, intent %d" % (W, p.rows, t.rows))
        n = max(p.rows, t.rows)
        if n < 1:
            raise ValueError("%s: no rows of text" % W)
        return p, t, n

    def embed_text(self, side, profile=None, intent=None):
        """Cold-start embeddings (n x d) of text-only nodes, not added."""
        W = "Recommender.embed_text"
        s = _side(side, W)
        p, t, n = self._texts(W, profile, intent)
        out = np.zeros((n, self.info()["dim"]), np.float32)
        self._call(W, _lib().irllrec_rec_embed_text, s, p, t, mat(out, True, "out", W))
        return out

    def add_from_text(self, side, profile=None, intent=None):
        """Add text-only nodes; returns the first new id (the others follow)."""
        W = "Recommender.add_from_text"
        s = _side(side, W)
        p, t, _n = self._texts(W, profile, intent)
        first = ctypes.c_int32(-1)
        self._info = None
        self._call(W, _lib().irllrec_rec_add_from_text, s, p, t, ctypes.byref(first))
        return first.value

    def _items(self, items, W):
        it = _ids_in(items, "items", *self._bound(1), W)
        if len(it) < 1:
            raise ValueError("%s: items is empty (need at least one item)" % W)
        return it

    def fold_in(self, items):
        """A user embedding (d floats) from a few item ids, not added."""
        W = "Recommender.fold_in"
        it = self._items(items, W)
        out = np.zeros(self.info()["dim"], np.float32)
        self._call(W, _lib().irllrec_rec_fold_in, it.ctypes.data_as(c_i32p), len(it),
                   out.ctypes.data_as(c_f32p))
        return out

    def add_user(self, items):
        """Add a user from item ids (fold-in; they become its seen items); returns its id."""
        W = "Recommender.add_user"
        it = self._items(items, W)
        new = ctypes.c_int32(-1)
        self._info = None
        self._call(W, _lib().irllrec_rec_add_user, it.ctypes.data_as(c_i32p), len(it),
                   ctypes.byref(new))
        return new.value

    # -- lifetime --

    def close(self):
        h = getattr(self, "_h", None)
        self._h = None
        if h is not None:
            self._free_fn(h)
        self._detach()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
