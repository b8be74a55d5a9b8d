"""ctypes binding of libirllrec (the IRLLRec hook) and of the LightGCN example host.

Standard library ctypes + NumPy only. Matrices cross the boundary as
irllrec_mat views of NumPy arrays (no copy): float32, rows contiguous
(strides[1] == 4), any row stride that is a whole number of floats >= cols,
which becomes the view's leading dimension. Every failing call raises
IrllrecError carrying irllrec_ctx_errmsg().

Libraries are found through (first match wins)
  IRLLREC_LIB       path of libirllrec.so
  IRLLREC_LGCN_LIB  path of liblgcn.so (the LightGCN example, target lgcn_shared)
  the build trees build*/ next to this repository's top level,
  and for libirllrec, the system's search path (ctypes.util.find_library).
liblgcn.so links libirllrec.so, so the process holds one copy of the library:
a Context made here can be handed to the LightGCN+IRLLRec pieces.

Lifetimes: objects own their C handle and free it in close() (or on garbage
collection); a Hook or LightGCN keeps its Context alive. Arrays returned by
LightGCN.params()/grad()/final()/layer() are views of the model's memory,
valid until the model is closed.

Threading: as the C library: one context tree per thread at a time.
"""
import ctypes
import ctypes.util
import glob
import os

import numpy as np

__all__ = ["IrllrecError", "Context", "Hook", "LightGCN", "LightGCNIRL", "Evaluator",
           "synth_write", "read_lightgcn_txt", "lib", "lgcn_lib",
           "LGCN_EVAL", "LGCN_TRAIN", "LGCN_REPLAY"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_TOP = os.path.dirname(os.path.dirname(_HERE))

# ---- C types ---------------------------------------------------------------

c_f32p = ctypes.POINTER(ctypes.c_float)
c_i32p = ctypes.POINTER(ctypes.c_int32)
c_i64p = ctypes.POINTER(ctypes.c_int64)
c_f64p = ctypes.POINTER(ctypes.c_double)


class Mat(ctypes.Structure):
    """irllrec_mat: element (r, c) is data[r * ld + c] (frozen layout)."""
    _fields_ = [("data", c_f32p), ("rows", ctypes.c_int64), ("cols", ctypes.c_int64),
                ("ld", ctypes.c_int64)]


class Csr(ctypes.Structure):
    """irllrec_csr (frozen layout)."""
    _fields_ = [("n_rows", ctypes.c_int64), ("n_cols", ctypes.c_int64), ("nnz", ctypes.c_int64),
                ("indptr", c_i64p), ("indices", c_i32p)]


class HookBatch(ctypes.Structure):
    """irllrec_hook_batch (frozen layout)."""
    _fields_ = [("count", ctypes.c_int64), ("users", c_i32p), ("pos", c_i32p), ("neg", c_i32p)]


class HookInputs(ctypes.Structure):
    """irllrec_hook_inputs (frozen layout; irllrec_cmat has irllrec_mat's layout)."""
    _fields_ = [("user_final", Mat), ("item_final", Mat), ("layers", ctypes.POINTER(Mat))]


class HookGrads(ctypes.Structure):
    """irllrec_hook_grads (mode 0 = dense)."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("mode", ctypes.c_int32),
                ("user_grad", Mat), ("item_grad", Mat), ("layer_grads", ctypes.POINTER(Mat))]


LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p)


class CtxSpec(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", ctypes.c_int32),
                ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p),
                ("alloc_ud", ctypes.c_void_p), ("log", LOG_FN), ("log_ud", ctypes.c_void_p),
                ("log_level", ctypes.c_int32), ("reserved0", ctypes.c_int32)]


class HookSpec(ctypes.Structure):
    """irllrec_hook_spec. struct_size is set by irllrec_hook_spec_init, so a
    library with a longer struct zero-extends this one."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("preset", ctypes.c_int32),
                ("n_users", ctypes.c_int64), ("n_items", ctypes.c_int64),
                ("dim", ctypes.c_int32), ("n_intents", ctypes.c_int32),
                ("n_layers", ctypes.c_int32), ("max_batch", ctypes.c_int32),
                ("profile_dim", ctypes.c_int32), ("intent_dim", ctypes.c_int32),
                ("teacher_init", ctypes.c_int32), ("reserved0", ctypes.c_int32),
                ("seed", ctypes.c_uint64)]


class HookLosses(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved0", ctypes.c_int32),
                ("total", ctypes.c_double), ("kd", ctypes.c_double), ("pair", ctypes.c_double),
                ("tran", ctypes.c_double), ("itm", ctypes.c_double), ("reg", ctypes.c_double)]

    def as_dict(self):
        return {k: getattr(self, k) for k in ("total", "kd", "pair", "tran", "itm", "reg")}


class SynthSpec(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_users", ctypes.c_int32),
                ("n_items", ctypes.c_int32), ("n_intents", ctypes.c_int32),
                ("profile_dim", ctypes.c_int32), ("intent_dim", ctypes.c_int32),
                ("mean_degree", ctypes.c_double), ("popularity_skew", ctypes.c_double),
                ("text_noise", ctypes.c_double), ("misleading_frac", ctypes.c_double),
                ("val_frac", ctypes.c_double), ("test_frac", ctypes.c_double),
                ("seed", ctypes.c_uint64), ("min_degree", ctypes.c_int32),
                ("max_dominant", ctypes.c_int32)]


# LightGCN example structs (examples/lightgcn/*.h). Example code, not a stable
# ABI: these mirror the headers of the same tree.
class LgcnSpec(ctypes.Structure):
    _fields_ = [("n_users", ctypes.c_int64), ("n_items", ctypes.c_int64),
                ("dim", ctypes.c_int32), ("n_layers", ctypes.c_int32),
                ("keep_rate", ctypes.c_double), ("reg", ctypes.c_double),
                ("seed", ctypes.c_uint64), ("n_threads", ctypes.c_int32)]


_IRL_DOUBLES = ("w_kd", "tau_kd", "w_pair", "tau_pair", "w_tran", "w_itm", "itm_alpha",
                "momentum", "lr", "reg")


class LgcnIrlCfg(ctypes.Structure):
    _fields_ = ([("preset", ctypes.c_int32), ("n_intents", ctypes.c_int32),
                 ("max_batch", ctypes.c_int32), ("seed", ctypes.c_uint64)] +
                [(k, ctypes.c_double) for k in _IRL_DOUBLES] +
                [("tran_mode", ctypes.c_int32), ("tran_samples", ctypes.c_int64)])


class LgcnIrlLosses(ctypes.Structure):
    _fields_ = [("total", ctypes.c_double), ("bpr", ctypes.c_double), ("reg", ctypes.c_double),
                ("hook", HookLosses)]

    def as_dict(self):
        d = {"total": self.total, "bpr": self.bpr, "reg": self.reg}
        d.update({"hook_" + k: v for k, v in self.hook.as_dict().items()})
        return d


# Pinned enums (include/irllrec/hook.h).
HOOK_PARAMS = {"w_kd": 300, "tau_kd": 301, "w_pair": 302, "tau_pair": 303, "w_tran": 304,
               "w_itm": 305, "itm_alpha": 306, "momentum": 307, "lr": 308, "reg": 309,
               "tran_mode": 310, "tran_samples": 311, "tran_in_itm": 312, "reg_teacher": 313,
               "tran_itm_need_graph": 314, "beta1": 315, "beta2": 316, "eps": 317,
               "weight_decay": 318}
HOOK_TEXT = {"user_profile": 0, "item_profile": 1, "user_intent": 2, "item_intent": 3}
PRESET_PAPER, PRESET_RELEASED = 0, 1
LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = 1, 2, 3, 4
LGCN_EVAL, LGCN_TRAIN, LGCN_REPLAY = 0, 1, 2

# ---- loading -------------------------------------------------------------------


def _find(env, patterns, system_name=None):
    path = os.environ.get(env)
    if path:
        return path
    for pat in patterns:
        hits = sorted(glob.glob(os.path.join(_TOP, pat)), key=os.path.getmtime, reverse=True)
        if hits:
            return hits[0]
    if system_name:
        found = ctypes.util.find_library(system_name)
        if found:
            return found
    raise OSError("cannot find %s: set %s" % (patterns[0], env))


def _proto(dll, name, res, *args):
    f = getattr(dll, name)
    f.restype = res
    f.argtypes = list(args)
    return f


_P = ctypes.c_void_p
_S = ctypes.c_int32  # irllrec_status


def _bind_irllrec(dll):
    _proto(dll, "irllrec_version_string", ctypes.c_char_p)
    _proto(dll, "irllrec_status_str", ctypes.c_char_p, _S)
    _proto(dll, "irllrec_ctx_spec_init", None, ctypes.POINTER(CtxSpec), ctypes.c_uint32)
    _proto(dll, "irllrec_ctx_create", _S, ctypes.POINTER(CtxSpec), ctypes.POINTER(_P))
    _proto(dll, "irllrec_ctx_free", None, _P)
    _proto(dll, "irllrec_ctx_errmsg", ctypes.c_char_p, _P)
    _proto(dll, "irllrec_ctx_errcode", _S, _P)
    _proto(dll, "irllrec_ctx_clear_error", None, _P)
    _proto(dll, "irllrec_ctx_set_log", _S, _P, LOG_FN, _P, ctypes.c_int32)
    _proto(dll, "irllrec_hook_spec_init", None, ctypes.POINTER(HookSpec), ctypes.c_uint32)
    _proto(dll, "irllrec_hook_create", _S, _P, ctypes.POINTER(HookSpec), ctypes.POINTER(_P))
    _proto(dll, "irllrec_hook_free", None, _P)
    _proto(dll, "irllrec_hook_set_param", _S, _P, ctypes.c_int32, ctypes.c_double)
    _proto(dll, "irllrec_hook_get_param", _S, _P, ctypes.c_int32, c_f64p)
    _proto(dll, "irllrec_hook_param_bounds", _S, ctypes.c_int32, c_f64p, c_f64p)
    _proto(dll, "irllrec_hook_set_param_by_name", _S, _P, ctypes.c_char_p, ctypes.c_double)
    _proto(dll, "irllrec_hook_get_param_by_name", _S, _P, ctypes.c_char_p, c_f64p)
    _proto(dll, "irllrec_hook_set_text", _S, _P, ctypes.c_int32, Mat)
    _proto(dll, "irllrec_hook_set_graph", _S, _P, ctypes.POINTER(Csr))
    _proto(dll, "irllrec_hook_step", _S, _P, ctypes.POINTER(HookBatch), ctypes.POINTER(HookInputs),
           ctypes.POINTER(HookGrads), ctypes.POINTER(HookLosses))
    _proto(dll, "irllrec_hook_steps", ctypes.c_int64, _P)
    _proto(dll, "irllrec_x_synth_spec_init", None, ctypes.POINTER(SynthSpec), ctypes.c_uint32)
    _proto(dll, "irllrec_x_synth_write", _S, _P, ctypes.POINTER(SynthSpec), ctypes.c_char_p)
    _proto(dll, "irllrec_evaluator_create", _S, _P, ctypes.c_int64, c_i32p, ctypes.c_int32,
           ctypes.POINTER(_P))
    _proto(dll, "irllrec_evaluator_free", None, _P)
    _proto(dll, "irllrec_evaluator_run", _S, _P, Mat, Mat, ctypes.POINTER(Csr),
           ctypes.POINTER(Csr), c_f64p, c_f64p, c_i64p)
    return dll


def _bind_lgcn(dll):
    _proto(dll, "lgcn_spec_init", None, ctypes.POINTER(LgcnSpec))
    _proto(dll, "lgcn_create", _S, ctypes.POINTER(LgcnSpec), ctypes.POINTER(Csr),
           ctypes.POINTER(_P), ctypes.c_char_p, ctypes.c_size_t)
    _proto(dll, "lgcn_free", None, _P)
    for name in ("lgcn_params", "lgcn_grad", "lgcn_dfinal_buffer"):
        _proto(dll, name, c_f32p, _P)
    _proto(dll, "lgcn_final", c_f32p, _P)
    _proto(dll, "lgcn_layer", c_f32p, _P, ctypes.c_int32)
    _proto(dll, "lgcn_forward", None, _P, ctypes.c_int32)
    _proto(dll, "lgcn_bpr", ctypes.c_double, _P, c_i32p, c_i32p, c_i32p, ctypes.c_int64, c_f32p)
    _proto(dll, "lgcn_backward_reg", ctypes.c_double, _P, c_f32p, ctypes.POINTER(c_f32p))
    _proto(dll, "lgcn_steps", ctypes.c_int64, _P)
    _proto(dll, "lgcn_opt_create", _S, _P, ctypes.c_double, ctypes.POINTER(_P), ctypes.c_char_p,
           ctypes.c_size_t)
    _proto(dll, "lgcn_opt_free", None, _P)
    _proto(dll, "lgcn_opt_step", _S, _P)
    _proto(dll, "lgcn_train_step", _S, _P, _P, c_i32p, c_i32p, c_i32p, ctypes.c_int64, c_f64p,
           c_f64p)
    _proto(dll, "lgcn_irl_cfg_init", None, ctypes.POINTER(LgcnIrlCfg))
    _proto(dll, "lgcn_irl_create", _S, _P, _P, ctypes.POINTER(Csr), ctypes.POINTER(LgcnIrlCfg),
           Mat, Mat, Mat, Mat, ctypes.POINTER(_P))
    _proto(dll, "lgcn_irl_free", None, _P)
    _proto(dll, "lgcn_irl_hook", _P, _P)
    _proto(dll, "lgcn_irl_grad", _S, _P, ctypes.c_int32, c_i32p, c_i32p, c_i32p, ctypes.c_int64,
           ctypes.POINTER(LgcnIrlLosses))
    _proto(dll, "lgcn_irl_train_step", _S, _P, _P, c_i32p, c_i32p, c_i32p, ctypes.c_int64,
           ctypes.POINTER(LgcnIrlLosses))
    return dll


_lib = None
_lgcn = None


def lib():
    """The loaded libirllrec (ctypes.CDLL with prototypes)."""
    global _lib
    if _lib is None:
        path = _find("IRLLREC_LIB", ["build/libirllrec.so", "build*/libirllrec.so"], "irllrec")
        _lib = _bind_irllrec(ctypes.CDLL(path))
    return _lib


def lgcn_lib():
    """The loaded LightGCN example library (liblgcn.so)."""
    global _lgcn
    if _lgcn is None:
        lib()  # load libirllrec first (by path), so liblgcn.so resolves to the same copy
        path = _find("IRLLREC_LGCN_LIB", ["build/examples/lightgcn/liblgcn.so",
                                          "build*/examples/lightgcn/liblgcn.so"])
        _lgcn = _bind_lgcn(ctypes.CDLL(path))
    return _lgcn


# ---- errors and array views ----------------------------------------------------


class IrllrecError(RuntimeError):
    """A libirllrec call failed: .status (int), .name (e.g. "IRLLREC_E_SHAPE"
    text from irllrec_status_str) and the context's message."""

    def __init__(self, status, message):
        self.status = int(status)
        self.name = lib().irllrec_status_str(self.status).decode()
        self.message = message
        super().__init__("%s (%s)" % (message, self.name) if message else self.name)


def _status_str(st):
    return lib().irllrec_status_str(st).decode()


def mat(a, writable=False, name="array"):
    """irllrec_mat view of a 2-D float32 NumPy array (no copy). ld is the row
    stride in floats, so slices like a[:, :d] of a wider array work."""
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2:
        raise TypeError("%s: need a 2-D float32 numpy array" % name)
    if not a.flags.aligned:
        raise ValueError("%s: data is not float-aligned; use np.ascontiguousarray" % name)
    if writable and not a.flags.writeable:
        raise ValueError("%s: must be writable" % name)
    rows, cols = a.shape
    s0, s1 = a.strides
    if (cols > 1 and s1 != 4) or s0 % 4 != 0 or (rows > 1 and s0 // 4 < cols) or s0 < 0:
        raise ValueError("%s: rows must be contiguous float32 with a row stride >= cols "
                         "(strides %s); use np.ascontiguousarray" % (name, a.strides))
    ld = s0 // 4 if rows > 1 else cols
    return Mat(a.ctypes.data_as(c_f32p), rows, cols, max(ld, cols))


def _ids(a, name):
    a = np.ascontiguousarray(a, dtype=np.int32)
    if a.ndim != 1:
        raise ValueError("%s: need a 1-D id array" % name)
    return a


def _view(ptr, shape):
    return np.ctypeslib.as_array(ptr, shape=shape)


def csr_from_pairs(n_rows, n_cols, rows, cols):
    """Sorted, duplicate-free CSR (indptr int64, indices int32) of (row, col) pairs."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.shape != cols.shape:
        raise ValueError("pair arrays differ in length")
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows or cols.min() < 0 or
                      cols.max() >= n_cols):
        raise ValueError("id out of range")
    key = np.unique(rows * n_cols + cols)
    r, c = key // n_cols, key % n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return indptr, c.astype(np.int32)


def _csr(n_rows, n_cols, indptr, indices):
    return Csr(n_rows, n_cols, int(indptr[-1]), indptr.ctypes.data_as(c_i64p),
               indices.ctypes.data_as(c_i32p))


# ---- context -------------------------------------------------------------------


class Context:
    """irllrec_ctx. log: optional callable(level:int, message:str), called
    synchronously for library messages up to log_level (errors are also
    raised as IrllrecError)."""

    def __init__(self, n_threads=1, log=None, log_level=LOG_WARN):
        L = lib()
        spec = CtxSpec()
        L.irllrec_ctx_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
        spec.n_threads = n_threads
        h = _P()
        st = L.irllrec_ctx_create(ctypes.byref(spec), ctypes.byref(h))
        if st != 0:
            raise IrllrecError(st, "irllrec_ctx_create failed")
        self._h = h
        self._log = None
        if log is not None:
            self.set_log(log, log_level)

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("context is closed")
        return self._h

    def set_log(self, fn, level=LOG_WARN):
        """Install (fn callable) or remove (fn None) the log callback."""
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
        lib().irllrec_ctx_clear_error(self.handle)

    def close(self):
        if self._h is not None:
            lib().irllrec_ctx_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- hook ----------------------------------------------------------------------


class Hook:
    """irllrec_hook. Spec fields (n_users, n_items, dim, n_intents, n_layers,
    max_batch, profile_dim, intent_dim, preset, teacher_init, seed) as keyword
    arguments; the others keep irllrec_hook_spec_init's defaults."""

    def __init__(self, ctx, _borrow=None, **spec_fields):
        self.ctx = ctx
        self._owned = _borrow is None
        if _borrow is not None:
            self._h = _borrow
            return
        spec = HookSpec()
        lib().irllrec_hook_spec_init(ctypes.byref(spec), ctypes.sizeof(spec))
        for k, v in spec_fields.items():
            if k not in dict(HookSpec._fields_) or k in ("struct_size", "reserved0"):
                raise TypeError("unknown hook spec field %r" % k)
            setattr(spec, k, v)
        h = _P()
        ctx.clear_error()
        ctx.check(lib().irllrec_hook_create(ctx.handle, ctypes.byref(spec), ctypes.byref(h)))
        self._h = h
        self.spec = spec

    @staticmethod
    def _param(p):
        return HOOK_PARAMS[p] if isinstance(p, str) else int(p)

    def set_param(self, p, v):
        """p: the parameter's stable name ("w_kd", "lr", "beta1", ...) or its id."""
        self.ctx.clear_error()
        if isinstance(p, str):
            self.ctx.check(lib().irllrec_hook_set_param_by_name(self._h, p.encode(), float(v)))
        else:
            self.ctx.check(lib().irllrec_hook_set_param(self._h, int(p), float(v)))

    def get_param(self, p):
        v = ctypes.c_double()
        self.ctx.clear_error()
        if isinstance(p, str):
            st = lib().irllrec_hook_get_param_by_name(self._h, p.encode(), ctypes.byref(v))
        else:
            st = lib().irllrec_hook_get_param(self._h, int(p), ctypes.byref(v))
        self.ctx.check(st)
        return v.value

    @staticmethod
    def param_bounds(p):
        lo, hi = ctypes.c_double(), ctypes.c_double()
        st = lib().irllrec_hook_param_bounds(Hook._param(p), ctypes.byref(lo), ctypes.byref(hi))
        if st != 0:
            raise IrllrecError(st, "irllrec_hook_param_bounds: unknown parameter %r" % (p,))
        return lo.value, hi.value

    def set_text(self, which, a):
        """which: "user_profile", "item_profile", "user_intent", "item_intent" (copied)."""
        w = HOOK_TEXT[which] if isinstance(which, str) else int(which)
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_hook_set_text(self._h, w, mat(a, name=str(which))))

    def set_graph(self, n_nodes, indptr, indices):
        """N x N interaction pattern, both directions, users first (copied)."""
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        indices = np.ascontiguousarray(indices, dtype=np.int32)
        g = _csr(n_nodes, n_nodes, indptr, indices)
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_hook_set_graph(self._h, ctypes.byref(g)))

    def step(self, users, pos, neg, user_final, item_final, user_grad, item_grad,
             layers=None, layer_grads=None):
        """One hook step; ADDS gradients into user_grad, item_grad (and each of
        layer_grads). Returns irllrec_hook_losses as a dict."""
        u, p, n = _ids(users, "users"), _ids(pos, "pos"), _ids(neg, "neg")
        if not (len(u) == len(p) == len(n)):
            raise ValueError("users, pos, neg differ in length")
        lay = dlay = None
        if layers is not None:
            lay = (Mat * len(layers))(*[mat(a, name="layers[%d]" % k)
                                        for k, a in enumerate(layers)])
        if layer_grads is not None:
            dlay = (Mat * len(layer_grads))(*[mat(a, True, "layer_grads[%d]" % k)
                                              for k, a in enumerate(layer_grads)])
        out = HookLosses()
        out.struct_size = ctypes.sizeof(out)
        batch = HookBatch(len(u), u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                          n.ctypes.data_as(c_i32p))
        inputs = HookInputs(mat(user_final, name="user_final"), mat(item_final, name="item_final"),
                            lay)
        grads = HookGrads(ctypes.sizeof(HookGrads), 0, mat(user_grad, True, "user_grad"),
                          mat(item_grad, True, "item_grad"), dlay)
        self.ctx.clear_error()
        st = lib().irllrec_hook_step(self._h, ctypes.byref(batch), ctypes.byref(inputs),
                                     ctypes.byref(grads), ctypes.byref(out))
        self.ctx.check(st)
        return out.as_dict()

    def steps(self):
        return int(lib().irllrec_hook_steps(self._h))

    def close(self):
        if self._h is not None and self._owned:
            lib().irllrec_hook_free(self._h)
        self._h = None

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
    for k, v in fields.items():
        if k not in dict(SynthSpec._fields_) or k == "struct_size":
            raise TypeError("unknown synth spec field %r" % k)
        setattr(spec, k, v)
    ctx.clear_error()
    ctx.check(lib().irllrec_x_synth_write(ctx.handle, ctypes.byref(spec),
                                        os.fsencode(directory)))


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


class Evaluator:
    """irllrec_evaluator: full ranking, Recall@k and NDCG@k, train items masked."""

    def __init__(self, ctx, n_items, ks=(20,)):
        self.ctx, self.ks = ctx, np.ascontiguousarray(ks, dtype=np.int32)
        h = _P()
        ctx.clear_error()
        ctx.check(lib().irllrec_evaluator_create(ctx.handle, n_items,
                                                 self.ks.ctypes.data_as(c_i32p), len(self.ks),
                                                 ctypes.byref(h)))
        self._h = h

    def run(self, user_emb, item_emb, mask_csr, truth_csr):
        """mask_csr, truth_csr: (indptr, indices) user->items; returns
        ({k: recall}, {k: ndcg}, n_users_evaluated)."""
        U, I = user_emb.shape[0], item_emb.shape[0]
        m = _csr(U, I, *mask_csr) if mask_csr is not None else None
        t = _csr(U, I, *truth_csr)
        rec = (ctypes.c_double * len(self.ks))()
        ndcg = (ctypes.c_double * len(self.ks))()
        n = ctypes.c_int64()
        self.ctx.clear_error()
        self.ctx.check(lib().irllrec_evaluator_run(
            self._h, mat(user_emb, name="user_emb"), mat(item_emb, name="item_emb"),
            ctypes.byref(m) if m is not None else None, ctypes.byref(t), rec, ndcg,
            ctypes.byref(n)))
        return ({int(k): rec[j] for j, k in enumerate(self.ks)},
                {int(k): ndcg[j] for j, k in enumerate(self.ks)}, n.value)

    def close(self):
        if self._h is not None:
            lib().irllrec_evaluator_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


# ---- LightGCN example host ----------------------------------------------------------


class LightGCN:
    """The LightGCN host of examples/lightgcn, built from TRAIN (user, item)
    pairs given as NumPy arrays, with its Adam (lr) on E(0)."""

    def __init__(self, n_users, n_items, train_users, train_items, dim=32, n_layers=3,
                 keep_rate=0.8, reg=1e-6, seed=2023, n_threads=1, lr=1e-3):
        G = lgcn_lib()
        self.n_users, self.n_items = int(n_users), int(n_items)
        self.n_nodes = self.n_users + self.n_items
        self.dim, self.n_layers = int(dim), int(n_layers)
        self.indptr, self.indices = csr_from_pairs(n_users, n_items, train_users, train_items)
        self.train_csr = _csr(self.n_users, self.n_items, self.indptr, self.indices)
        spec = LgcnSpec()
        G.lgcn_spec_init(ctypes.byref(spec))
        spec.n_users, spec.n_items, spec.dim, spec.n_layers = n_users, n_items, dim, n_layers
        spec.keep_rate, spec.reg, spec.seed, spec.n_threads = keep_rate, reg, seed, n_threads
        err = ctypes.create_string_buffer(512)
        h, o = _P(), _P()
        st = G.lgcn_create(ctypes.byref(spec), ctypes.byref(self.train_csr), ctypes.byref(h),
                           err, len(err))
        if st != 0:
            raise IrllrecError(st, err.value.decode(errors="replace") or "lgcn_create failed")
        self._h, self._opt = h, None
        st = G.lgcn_opt_create(h, lr, ctypes.byref(o), err, len(err))
        if st != 0:
            self.close()
            raise IrllrecError(st, err.value.decode(errors="replace") or "lgcn_opt_create failed")
        self._opt = o

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("model is closed")
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
        if not 0 <= l <= self.n_layers:
            raise IndexError("layer %d of %d" % (l, self.n_layers))
        return self._nd(lgcn_lib().lgcn_layer(self.handle, l))

    def dfinal_buffer(self):
        """The model's zeroed N x d scratch for dLoss/dE_final: a view; leave it zeroed."""
        return self._nd(lgcn_lib().lgcn_dfinal_buffer(self.handle))

    def forward(self, mode=LGCN_EVAL):
        lgcn_lib().lgcn_forward(self.handle, mode)

    def bpr(self, users, pos, neg, dfinal):
        """Mean BPR on E_final; ADDS its gradient into dfinal (N x d, C-contiguous float32)."""
        u, p, n = _ids(users, "users"), _ids(pos, "pos"), _ids(neg, "neg")
        self._check_nd(dfinal, "dfinal")
        self._check_ids(u, p, n)
        return lgcn_lib().lgcn_bpr(self.handle, u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                                   n.ctypes.data_as(c_i32p), len(u), dfinal.ctypes.data_as(c_f32p))

    def backward_reg(self, dfinal, dlayers=None):
        """dE(0) (into grad()) from dE_final and optional per-layer gradients; returns reg."""
        self._check_nd(dfinal, "dfinal")
        arr = None
        if dlayers is not None:
            if len(dlayers) > self.n_layers:
                raise ValueError("at most %d layer gradients" % self.n_layers)
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
        u, p, n = _ids(users, "users"), _ids(pos, "pos"), _ids(neg, "neg")
        self._check_ids(u, p, n)
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

    def _check_ids(self, u, p, n):
        # The example host trusts its ids; check here so Python cannot crash it.
        if not (len(u) == len(p) == len(n)) or len(u) == 0:
            raise ValueError("users, pos, neg must be non-empty and of equal length")
        if u.min() < 0 or u.max() >= self.n_users or min(p.min(), n.min()) < 0 or \
                max(p.max(), n.max()) >= self.n_items:
            raise ValueError("id out of range")

    def close(self):
        G = lgcn_lib()
        if getattr(self, "_opt", None) is not None:
            G.lgcn_opt_free(self._opt)
            self._opt = None
        if getattr(self, "_h", None) is not None:
            G.lgcn_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class LightGCNIRL:
    """LightGCN + the IRLLRec hook (examples/lightgcn/lightgcn_irl.h).
    texts: dict with any of user_profile/item_profile/user_intent/item_intent
    (2-D float32 arrays; pairs present together). cfg: preset, n_intents,
    max_batch, seed, w_kd, tau_kd, w_pair, tau_pair, w_tran, w_itm, itm_alpha,
    momentum, lr, reg, tran_mode, tran_samples (unset = the hook's default)."""

    def __init__(self, ctx, model, texts=None, **cfg):
        G = lgcn_lib()
        self.ctx, self.model = ctx, model
        c = LgcnIrlCfg()
        G.lgcn_irl_cfg_init(ctypes.byref(c))
        for k, v in cfg.items():
            if k not in dict(LgcnIrlCfg._fields_):
                raise TypeError("unknown LightGCN+IRLLRec setting %r" % k)
            setattr(c, k, v)
        texts = dict(texts or {})
        self._texts = texts  # the hook copies them; held only for the call
        names = ("user_profile", "item_profile", "user_intent", "item_intent")
        for k in texts:
            if k not in names:
                raise TypeError("unknown text %r" % k)
        if ("user_profile" in texts) != ("item_profile" in texts) or \
                ("user_intent" in texts) != ("item_intent" in texts):
            raise ValueError("profile and intent texts come in user/item pairs")
        mats = [mat(texts[k], name=k) if k in texts else Mat(None, 0, 0, 0) for k in names]
        h = _P()
        ctx.clear_error()
        st = G.lgcn_irl_create(ctx.handle, model.handle, ctypes.byref(model.train_csr),
                               ctypes.byref(c), *mats, ctypes.byref(h))
        ctx.check(st, "lgcn_irl_create failed")
        self._h = h
        self.hook = Hook(ctx, _borrow=G.lgcn_irl_hook(h))

    def grad(self, users, pos, neg, mode=LGCN_TRAIN):
        """Forward, BPR, hook step, backward + reg: model.grad() = dTotal/dE(0).
        The hook steps its own parameters. Returns the losses as a dict."""
        return self._call(lgcn_lib().lgcn_irl_grad, mode, users, pos, neg)

    def train_step(self, users, pos, neg):
        """grad(TRAIN) followed by the model's Adam on E(0)."""
        return self._call(lgcn_lib().lgcn_irl_train_step, self.model._opt, users, pos, neg)

    def _call(self, fn, first, users, pos, neg):
        u, p, n = _ids(users, "users"), _ids(pos, "pos"), _ids(neg, "neg")
        self.model._check_ids(u, p, n)
        out = LgcnIrlLosses()
        self.ctx.clear_error()
        st = fn(self._h, first, u.ctypes.data_as(c_i32p), p.ctypes.data_as(c_i32p),
                n.ctypes.data_as(c_i32p), len(u), ctypes.byref(out))
        self.ctx.check(st, "%s: %s" % (fn.__name__, _status_str(st)))
        return out.as_dict()

    def close(self):
        if getattr(self, "_h", None) is not None:
            self.hook._h = None
            lgcn_lib().lgcn_irl_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
