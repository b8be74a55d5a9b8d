"""The LightGCN example host (examples/lightgcn) and LightGCN + IRLLRec."""
import ctypes
import weakref

import numpy as np

from ._types import LgcnSpec, LgcnIrlCfg, LgcnIrlLosses, Mat, c_f32p, c_i32p, LGCN_EVAL, \
    LGCN_TRAIN, LGCN_REPLAY
from ._loader import lgcn_lib, _P
from ._args import (IrllrecError, _int, _real, _set_fields, mat, _ids, _view, csr_from_pairs,
                    _csr, _status_str)
from ._core import _Owner, _Child, Hook

# ---- LightGCN example host ----------------------------------------------------------


class LightGCN(_Owner):
    """The LightGCN host of examples/lightgcn, built from TRAIN (user, item)
    pairs given as NumPy arrays, with its Adam (lr) on E(0). close() while a
    LightGCNIRL made from it lives frees the model after that LightGCNIRL."""

    def __init__(self, n_users, n_items, train_users, train_items, dim=32, n_layers=3,
                 keep_rate=0.8, reg=1e-6, seed=2023, n_threads=1, lr=1e-3):
        G = lgcn_lib()
        spec = LgcnSpec()
        G.lgcn_spec_init(ctypes.byref(spec))
        _set_fields(spec, dict(n_users=n_users, n_items=n_items, dim=dim, n_layers=n_layers,
                               keep_rate=keep_rate, reg=reg, seed=seed, n_threads=n_threads),
                    "LightGCN")
        lr = _real(lr, "LightGCN", "lr")
        self.n_users, self.n_items = spec.n_users, spec.n_items
        self.n_nodes = self.n_users + self.n_items
        self.dim, self.n_layers = spec.dim, spec.n_layers
        self.indptr, self.indices = csr_from_pairs(
            n_users, n_items, train_users, train_items, "LightGCN",
            ("train_users", "train_items"), ("n_users", "n_items"))
        self.train_csr = _csr(self.n_users, self.n_items, self.indptr, self.indices)
        err = ctypes.create_string_buffer(512)
        h, o = _P(), _P()
        st = G.lgcn_create(ctypes.byref(spec), ctypes.byref(self.train_csr), ctypes.byref(h),
                           err, len(err))
        if st != 0:
            raise IrllrecError(st, err.value.decode(errors="replace") or "lgcn_create failed")
        self._G = G  # held: its free functions are usable at interpreter exit
        self._h, self._opt = h, None
        st = G.lgcn_opt_create(h, lr, ctypes.byref(o), err, len(err))
        if st != 0:
            self.close()
            raise IrllrecError(st, err.value.decode(errors="replace") or "lgcn_opt_create failed")
        self._opt = o

    @property
    def handle(self):
        if self._closed or getattr(self, "_h", None) is None:
            raise ValueError("LightGCN: the model is closed")
        return self._h

    def _nd(self, ptr):
        return _view(ptr, (self.n_nodes, self.dim))

    def params(self):
        """E(0), N x d (users first): a writable view."""
        return self._nd(lgcn_lib().lgcn_params(self.handle))

    def grad(self):
        """dLoss/dE(0) of the last backward: a view."""
        return self._nd(lgcn_lib().lgcn_grad(self.handle))

    def final(self):
        """E_final of the last forward: a view (read it, do not write)."""
        return self._nd(lgcn_lib().lgcn_final(self.handle))

    def layer(self, l):
        """E(l), l = 0..L, of the last forward: a view."""
        l = _int(l, ctypes.c_int32, "LightGCN.layer", "l")
        if not 0 <= l <= self.n_layers:
            raise IndexError("layer %d of %d" % (l, self.n_layers))
        return self._nd(lgcn_lib().lgcn_layer(self.handle, l))

    def dfinal_buffer(self):
        """The model's zeroed N x d scratch for dLoss/dE_final: a view; leave it zeroed."""
        return self._nd(lgcn_lib().lgcn_dfinal_buffer(self.handle))

    def forward(self, mode=LGCN_EVAL):
        mode = _int(mode, ctypes.c_int32, "LightGCN.forward", "mode")
        if mode not in (LGCN_EVAL, LGCN_TRAIN, LGCN_REPLAY):
            raise ValueError("LightGCN.forward: mode = %d is not LGCN_EVAL, LGCN_TRAIN or "
                             "LGCN_REPLAY" % mode)
        lgcn_lib().lgcn_forward(self.handle, mode)

    def bpr(self, users, pos, neg, dfinal):
        """Mean BPR on E_final; ADDS its gradient into dfinal (N x d, C-contiguous float32)."""
        W = "LightGCN.bpr"
        u, p, n = _ids(users, "users", W), _ids(pos, "pos", W), _ids(neg, "neg", W)
        self._check_nd(dfinal, "dfinal")
        self._check_ids(u, p, n, W)
        return lgcn_lib().lgcn_bpr(self.handle, u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                                   n.ctypes.data_as(c_i32p), len(u), dfinal.ctypes.data_as(c_f32p))

    def backward_reg(self, dfinal, dlayers=None):
        """dE(0) (into grad()) from dE_final and optional per-layer gradients; returns reg."""
        self._check_nd(dfinal, "dfinal")
        arr = None
        if dlayers is not None:
            if len(dlayers) > self.n_layers:
                raise ValueError("LightGCN.backward_reg: dlayers has %d arrays, at most "
                                 "n_layers = %d" % (len(dlayers), self.n_layers))
            for k, a in enumerate(dlayers):
                self._check_nd(a, "dlayers[%d]" % k)
            arr = (c_f32p * (self.n_layers + 1))(*[a.ctypes.data_as(c_f32p) for a in dlayers])
        return lgcn_lib().lgcn_backward_reg(self.handle, dfinal.ctypes.data_as(c_f32p), arr)

    def opt_step(self):
        st = lgcn_lib().lgcn_opt_step(self._opt)
        if st != 0:
            raise IrllrecError(st, "lgcn_opt_step failed")

    def train_step(self, users, pos, neg):
        """Plain LightGCN step (forward, BPR, backward, reg, Adam); returns (bpr, reg)."""
        W = "LightGCN.train_step"
        u, p, n = _ids(users, "users", W), _ids(pos, "pos", W), _ids(neg, "neg", W)
        self._check_ids(u, p, n, W)
        bpr, reg = ctypes.c_double(), ctypes.c_double()
        st = lgcn_lib().lgcn_train_step(self.handle, self._opt, u.ctypes.data_as(c_i32p),
                                        p.ctypes.data_as(c_i32p), n.ctypes.data_as(c_i32p),
                                        len(u), ctypes.byref(bpr), ctypes.byref(reg))
        if st != 0:
            raise IrllrecError(st, "lgcn_train_step: non-finite loss, no update made")
        return bpr.value, reg.value

    def _check_nd(self, a, name):
        if (not isinstance(a, np.ndarray) or a.dtype != np.float32 or
                a.shape != (self.n_nodes, self.dim) or not a.flags.c_contiguous or
                not a.flags.writeable):
            raise ValueError("%s: need a writable C-contiguous float32 array of shape (%d, %d)"
                             % (name, self.n_nodes, self.dim))

    def _check_ids(self, u, p, n, where):
        # The example host trusts its ids; check here so Python cannot crash it.
        if not (len(u) == len(p) == len(n)) or len(u) == 0:
            raise ValueError("%s: users, pos, neg must be non-empty and of equal length "
                             "(%d, %d, %d)" % (where, len(u), len(p), len(n)))
        for arr, name, bound, bname in ((u, "users", self.n_users, "n_users"),
                                        (p, "pos", self.n_items, "n_items"),
                                        (n, "neg", self.n_items, "n_items")):
            bad = np.flatnonzero((arr < 0) | (arr >= bound))
            if bad.size:
                k = int(bad[0])
                raise ValueError("%s: %s[%d] = %d not in [0, %s = %d)"
                                 % (where, name, k, int(arr[k]), bname, bound))

    def _free(self):
        G = getattr(self, "_G", None)
        opt, h = getattr(self, "_opt", None), getattr(self, "_h", None)
        self._opt = self._h = None
        if opt is not None:
            G.lgcn_opt_free(opt)
        if h is not None:
            G.lgcn_free(h)


class LightGCNIRL(_Child):
    """LightGCN + the IRLLRec hook (examples/lightgcn/lightgcn_irl.h).
    texts: dict with any of user_profile/item_profile/user_intent/item_intent
    (2-D float32 arrays; pairs present together). cfg: preset, n_intents,
    max_batch, seed, w_kd, tau_kd, w_pair, tau_pair, w_tran, w_itm, itm_alpha,
    momentum, lr, reg, tran_mode, tran_samples (unset = the hook's default).
    Keeps its Context and its model alive; .hook (borrowed) keeps it alive."""

    def __init__(self, ctx, model, texts=None, **cfg):
        G = lgcn_lib()
        self.ctx, self.model = ctx, model
        c = LgcnIrlCfg()
        G.lgcn_irl_cfg_init(ctypes.byref(c))
        _set_fields(c, cfg, "LightGCNIRL", "LightGCN+IRLLRec setting", skip=())
        texts = dict(texts or {})
        names = ("user_profile", "item_profile", "user_intent", "item_intent")
        for k in texts:
            if k not in names:
                raise TypeError("LightGCNIRL: unknown text %r" % k)
        if ("user_profile" in texts) != ("item_profile" in texts) or \
                ("user_intent" in texts) != ("item_intent" in texts):
            raise ValueError("LightGCNIRL: profile and intent texts come in user/item pairs")
        # The hook copies the texts: the arrays need to live only for the call.
        mats = [mat(texts[k], name=k, where="LightGCNIRL") if k in texts else Mat(None, 0, 0, 0)
                for k in names]
        h = _P()
        ch, mh = ctx.handle, model.handle
        ctx.clear_error()
        st = G.lgcn_irl_create(ch, mh, ctypes.byref(c), *mats,
                               ctypes.byref(h))
        ctx.check(st, "lgcn_irl_create failed")
        self._G = G
        self._h = h
        self._attach(ctx, model)
        self._hook = None  # weak reference to the borrowed Hook, made on first use

    @property
    def hook(self):
        """The hook inside (borrowed: it keeps this LightGCNIRL alive, and is
        closed with it)."""
        hk = self._hook() if self._hook is not None else None
        if hk is None:
            h = getattr(self, "_h", None)
            if h is None:
                raise ValueError("LightGCNIRL: closed")
            hk = Hook(self.ctx, _borrow=self._G.lgcn_irl_hook(h), _owner=self,
                      _n_layers=self.model.n_layers)
            self._hook = weakref.ref(hk)
        return hk

    def grad(self, users, pos, neg, mode=LGCN_TRAIN):
        """Forward, BPR, hook step, backward + reg: model.grad() = dTotal/dE(0).
        The hook steps its own parameters. Returns the losses as a dict."""
        mode = _int(mode, ctypes.c_int32, "LightGCNIRL.grad", "mode")
        return self._call(self._G.lgcn_irl_grad, "LightGCNIRL.grad", mode, users, pos, neg)

    def train_step(self, users, pos, neg):
        """grad(TRAIN) followed by the model's Adam on E(0)."""
        return self._call(self._G.lgcn_irl_train_step, "LightGCNIRL.train_step",
                          self.model._opt, users, pos, neg)

    def _call(self, fn, where, first, users, pos, neg):
        u, p, n = _ids(users, "users", where), _ids(pos, "pos", where), _ids(neg, "neg", where)
        self.model._check_ids(u, p, n, where)
        h = getattr(self, "_h", None)
        if h is None:
            raise ValueError("%s: closed" % where)
        out = LgcnIrlLosses()
        self.ctx.clear_error()
        st = fn(h, first, u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                n.ctypes.data_as(c_i32p), len(u), ctypes.byref(out))
        self.ctx.check(st, "%s: %s" % (fn.__name__, _status_str(st)))
        return out.as_dict()

    def close(self):
        hk = self._hook() if getattr(self, "_hook", None) is not None else None
        if hk is not None:
            hk._h = None
        h = getattr(self, "_h", None)
        self._h = None
        if h is not None:
            self._G.lgcn_irl_free(h)
        self._detach()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
