"""Context, Hook and Evaluator, and the parent/child lifetime rules they share."""
import ctypes
import os

import numpy as np

from ._types import (CtxSpec, HookSpec, HookLosses, HookBatch, HookInputs, HookGrads, SynthSpec,
                     Mat, LOG_FN, HOOK_PARAMS, HOOK_TEXT, LOG_WARN, c_i32p)
from ._loader import lib, _P
from ._args import (IrllrecError, _int, _real, _set_fields, _int_array, mat, _ids, _csr_arg)

class _Owner:
    """The parent side of a C handle's lifetime: close() marks the object
    closed at once (no new children, its own methods refuse), but the C handle
    is freed (_free) only when the last child has been closed or collected."""
    _closed = False
    _n_children = 0

    @property
    def closed(self):
        return self._closed

    def _adopt(self):
        self._n_children += 1

    def _release(self):
        self._n_children -= 1
        if self._closed and self._n_children == 0:
            self._free()

    def close(self):
        """Closed at once; the C handle is freed now, or when its last child goes."""
        self._closed = True
        if self._n_children == 0:
            self._free()

    def _free(self):
        raise NotImplementedError

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _Child:
    """The child side: holds its parents (strong references) and releases each
    once, after freeing its own handle."""
    _parents = ()

    def _attach(self, *parents):
        for p in parents:
            p._adopt()
        self._parents = parents

    def _detach(self):
        parents, self._parents = self._parents, ()
        for p in parents:
            p._release()


# ---- context -------------------------------------------------------------------


class Context(_Owner):
    """irllrec_ctx. log: optional callable(level:int, message:str), called
    synchronously for library messages up to log_level (errors are also
    raised as IrllrecError).

    close() (or the end of a with-block) closes the context for new children
    at once; the C context is freed when its last Hook, Evaluator or
    LightGCNIRL is closed or collected, which keep using it until then."""

    def __init__(self, n_threads=1, log=None, log_level=LOG_WARN):
        L = lib()
        spec = CtxSpec()
        L.irllrec_ctx_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
        spec.n_threads = _int(n_threads, ctypes.c_int32, "Context", "n_threads")
        h = _P()
        st = L.irllrec_ctx_create(ctypes.byref(spec), ctypes.byref(h))
        if st != 0:
            raise IrllrecError(st, "irllrec_ctx_create failed (n_threads = %d)" % n_threads)
        self._free_fn = L.irllrec_ctx_free  # held: usable at interpreter exit
        self._h = h
        self._log = None
        if log is not None:
            self.set_log(log, log_level)

    @property
    def handle(self):
        """The C context, for making children: refused once closed."""
        if self._closed or getattr(self, "_h", None) is None:
            raise ValueError("Context: closed (close() or the end of its with-block); "
                             "make a new Context")
        return self._h

    def set_log(self, fn, level=LOG_WARN):
        """Install (fn callable) or remove (fn None) the log callback."""
        level = _int(level, ctypes.c_int32, "Context.set_log", "level")
        if fn is None:
            cb = LOG_FN()
        else:
            def tramp(_ud, lvl, msg, fn=fn):
                try:
                    fn(int(lvl), msg.decode(errors="replace"))
                except Exception:  # an exception must not unwind through C
                    pass
            cb = LOG_FN(tramp)
        self.check(lib().irllrec_ctx_set_log(self.handle, cb, None, level if fn else 0))
        self._log = cb  # keep the trampoline alive while the ctx may call it

    def errmsg(self):
        return lib().irllrec_ctx_errmsg(self._h).decode(errors="replace")

    def check(self, st, fallback=""):
        """Raise IrllrecError for a failing status, with the ctx's message."""
        if st != 0:
            msg = self.errmsg() if lib().irllrec_ctx_errcode(self._h) != 0 else ""
            raise IrllrecError(st, msg or fallback)

    def clear_error(self):
        """Forget the last error (children call it before each C call; works while
        the C context lives, closed or not)."""
        if getattr(self, "_h", None) is not None:
            lib().irllrec_ctx_clear_error(self._h)

    def _free(self):
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            self._free_fn(h)
        self._log = None  # the C context can no longer call the trampoline

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- hook ----------------------------------------------------------------------


def _checked_text(which, where):
    if isinstance(which, str):
        if which not in HOOK_TEXT:
            raise ValueError("%s: unknown text %r (one of %s)"
                             % (where, which, ", ".join(HOOK_TEXT)))
        return HOOK_TEXT[which]
    return _int(which, ctypes.c_int32, where, "which")


class Hook(_Child):
    """irllrec_hook. Spec fields (n_users, n_items, dim, n_intents, n_layers,
    max_batch, profile_dim, intent_dim, preset, teacher_init, seed) as keyword
    arguments; the others keep irllrec_hook_spec_init's defaults. Keeps its
    Context alive (the C context is freed after the hook)."""

    def __init__(self, ctx, _borrow=None, _owner=None, _n_layers=0, **spec_fields):
        self.ctx = ctx
        self._owned = _borrow is None
        if _borrow is not None:
            # Borrowed from a LightGCNIRL, which frees it: held alive through _owner.
            self._h, self._owner, self._n_layers = _borrow, _owner, _n_layers
            return
        spec = HookSpec()
        lib().irllrec_hook_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
        _set_fields(spec, spec_fields, "Hook", "spec field")
        h = _P()
        ch = ctx.handle
        ctx.clear_error()
        ctx.check(lib().irllrec_hook_create(ch, ctypes.byref(spec), ctypes.byref(h)))
        self._free_fn = lib().irllrec_hook_free
        self._h = h
        self._attach(ctx)
        self.spec = spec
        self._n_layers = spec.n_layers

    def _handle(self, where):
        h = getattr(self, "_h", None)
        if h is None:
            raise ValueError("%s: the hook is closed" % where)
        return h

    @staticmethod
    def _param(p, where):
        if isinstance(p, str):
            return p
        return _int(p, ctypes.c_int32, where, "p")

    def set_param(self, p, v):
        """p: the parameter's stable name ("w_kd", "lr", "beta1", ...) or its id."""
        p, v = self._param(p, "Hook.set_param"), _real(v, "Hook.set_param", "v")
        h = self._handle("Hook.set_param")
        self.ctx.clear_error()
        if isinstance(p, str):
            self.ctx.check(lib().irllrec_hook_set_param_by_name(h, p.encode(), v))
        else:
            self.ctx.check(lib().irllrec_hook_set_param(h, p, v))

    def get_param(self, p):
        p = self._param(p, "Hook.get_param")
        h = self._handle("Hook.get_param")
        v = ctypes.c_double()
        self.ctx.clear_error()
        if isinstance(p, str):
            st = lib().irllrec_hook_get_param_by_name(h, p.encode(), ctypes.byref(v))
        else:
            st = lib().irllrec_hook_get_param(h, p, ctypes.byref(v))
        self.ctx.check(st)
        return v.value

    @staticmethod
    def param_bounds(p):
        if isinstance(p, str):
            if p not in HOOK_PARAMS:
                raise IrllrecError(-1, "Hook.param_bounds: unknown parameter %r" % (p,))
            p = HOOK_PARAMS[p]
        q = _int(p, ctypes.c_int32, "Hook.param_bounds", "p")
        lo, hi = ctypes.c_double(), ctypes.c_double()
        st = lib().irllrec_hook_param_bounds(q, ctypes.byref(lo), ctypes.byref(hi))
        if st != 0:
            raise IrllrecError(st, "irllrec_hook_param_bounds: unknown parameter %r" % (p,))
        return lo.value, hi.value

    def set_text(self, which, a):
        """which: "user_profile", "item_profile", "user_intent", "item_intent" (copied)."""
        w = _checked_text(which, "Hook.set_text")
        m = mat(a, name=str(which), where="Hook.set_text")
        h = self._handle("Hook.set_text")
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_hook_set_text(h, w, m))

    def set_graph(self, n_nodes, indptr, indices):
        """N x N interaction pattern, both directions, users first (copied)."""
        n = _int(n_nodes, ctypes.c_int64, "Hook.set_graph", "n_nodes")
        if n < 0:
            raise ValueError("Hook.set_graph: n_nodes = %d is negative" % n)
        g, _keep = _csr_arg("Hook.set_graph", "", n, n, (indptr, indices), "n_nodes")
        h = self._handle("Hook.set_graph")
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_hook_set_graph(h, ctypes.byref(g)))

    def _layer_views(self, arrays, name, writable):
        """The n_layers views of layers / layer_grads, exactly n_layers of them."""
        if arrays is None:
            return None
        arrays = list(arrays)
        if len(arrays) != self._n_layers:
            raise ValueError("Hook.step: %s has %d matrices, need n_layers = %d"
                             % (name, len(arrays), self._n_layers))
        if not arrays:
            return None
        return (Mat * len(arrays))(*[mat(a, writable, "%s[%d]" % (name, k), "Hook.step")
                                     for k, a in enumerate(arrays)])

    def step(self, users, pos, neg, user_final, item_final, user_grad, item_grad,
             layers=None, layer_grads=None):
        """One hook step; ADDS gradients into user_grad, item_grad (and each of
        layer_grads). Returns irllrec_hook_losses as a dict."""
        W = "Hook.step"
        u, p, n = _ids(users, "users", W), _ids(pos, "pos", W), _ids(neg, "neg", W)
        if not (len(u) == len(p) == len(n)):
            raise ValueError("Hook.step: users, pos, neg differ in length (%d, %d, %d)"
                             % (len(u), len(p), len(n)))
        lay = self._layer_views(layers, "layers", False)
        dlay = self._layer_views(layer_grads, "layer_grads", True)
        out = HookLosses()
        out.struct_size = ctypes.sizeof(out)
        batch = HookBatch(len(u), u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                          n.ctypes.data_as(c_i32p))
        inputs = HookInputs(mat(user_final, name="user_final", where=W),
                            mat(item_final, name="item_final", where=W), lay)
        grads = HookGrads(ctypes.sizeof(HookGrads), 0, mat(user_grad, True, "user_grad", W),
                          mat(item_grad, True, "item_grad", W), dlay)
        h = self._handle(W)
        self.ctx.clear_error()
        st = lib().irllrec_hook_step(h, ctypes.byref(batch), ctypes.byref(inputs),
                                     ctypes.byref(grads), ctypes.byref(out))
        self.ctx.check(st)
        return out.as_dict()

    def steps(self):
        return int(lib().irllrec_hook_steps(self._handle("Hook.steps")))

    def close(self):
        h = getattr(self, "_h", None)
        self._h = None
        if h is not None and self._owned:
            self._free_fn(h)
        self._detach()  # after the free: the hook may log through its context

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# ---- data helpers -----------------------------------------------------------------


def synth_write(ctx, directory, **fields):
    """irllrec_x_synth_write into an existing folder (SYNTHETIC data: train/val/
    test.txt, stats.json, usr/itm_prf.npy, usr/itm_int.npy)."""
    spec = SynthSpec()
    lib().irllrec_x_synth_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
    _set_fields(spec, fields, "synth_write", "synth spec field")
    ch = ctx.handle
    ctx.clear_error()
    ctx.check(lib().irllrec_x_synth_write(ch, ctypes.byref(spec), os.fsencode(directory)))


def read_lightgcn_txt(path):
    """(users, items) int32 arrays of a LightGCN-format file ("u i i ..." lines)."""
    us, its = [], []
    with open(path) as f:
        for line in f:
            ids = line.split()
            if len(ids) > 1:
                us.extend([int(ids[0])] * (len(ids) - 1))
                its.extend(int(x) for x in ids[1:])
    return np.array(us, dtype=np.int32), np.array(its, dtype=np.int32)


class Evaluator(_Child):
    """irllrec_evaluator: full ranking, Recall@k and NDCG@k, train items masked.
    Keeps its Context alive."""

    def __init__(self, ctx, n_items, ks=(20,)):
        self.ctx = ctx
        n_items = _int(n_items, ctypes.c_int64, "Evaluator", "n_items")
        self.ks = _int_array(ks, np.int32, "Evaluator", "ks")
        h = _P()
        ch = ctx.handle
        ctx.clear_error()
        ctx.check(lib().irllrec_evaluator_create(ch, n_items, self.ks.ctypes.data_as(c_i32p),
                                                 len(self.ks), ctypes.byref(h)))
        self._free_fn = lib().irllrec_evaluator_free
        self._h = h
        self._attach(ctx)

    def run(self, user_emb, item_emb, mask_csr, truth_csr):
        """mask_csr, truth_csr: (indptr, indices) user->items, indptr of
        user_emb.shape[0] + 1 offsets; returns ({k: recall}, {k: ndcg},
        n_users_evaluated)."""
        W = "Evaluator.run"
        ue, ie = mat(user_emb, name="user_emb", where=W), mat(item_emb, name="item_emb", where=W)
        U, I = ue.rows, ie.rows
        m = keep_m = None
        if mask_csr is not None:
            m, keep_m = _csr_arg(W, "mask_csr", U, I, mask_csr, "user_emb rows")
        t, keep_t = _csr_arg(W, "truth_csr", U, I, truth_csr, "user_emb rows")
        rec = (ctypes.c_double * len(self.ks))()
        ndcg = (ctypes.c_double * len(self.ks))()
        n = ctypes.c_int64()
        h = getattr(self, "_h", None)
        if h is None:
            raise ValueError("Evaluator.run: the evaluator is closed")
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_evaluator_run(
            h, ue, ie, ctypes.byref(m) if m is not None else None, ctypes.byref(t), rec, ndcg,
            ctypes.byref(n)))
        del keep_m, keep_t
        return ({int(k): rec[j] for j, k in enumerate(self.ks)},
                {int(k): ndcg[j] for j, k in enumerate(self.ks)}, n.value)

    def close(self):
        h = getattr(self, "_h", None)
        self._h = None
        if h is not None:
            self._free_fn(h)
        self._detach()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
