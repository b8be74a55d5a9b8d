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
collection). A child (Hook, Evaluator, LightGCNIRL) keeps its Context alive,
and a LightGCNIRL its LightGCN: closing the parent (close(), the end of its
with-block) refuses new children at once but frees the C handle only when the
last child is closed or collected. Arrays returned by
LightGCN.params()/grad()/final()/layer() are views of the model's memory,
valid until the model is freed.

Checks before any C call: every id, size and enum value must be an integer
that fits its C type (no silent wrap or truncation), CSR arrays and layer
lists must be as long as the C side reads, and the library must be the
version this binding is written for (BINDING_VERSION; IrllrecVersionError).

Threading: as the C library: one context tree per thread at a time.
"""
import ctypes
import ctypes.util
import glob
import numbers
import operator
import os
import weakref

import numpy as np

__all__ = ["IrllrecError", "IrllrecVersionError", "BINDING_VERSION", "Context",
           "Hook", "LightGCN", "LightGCNIRL", "Evaluator",
           "synth_write", "read_lightgcn_txt", "lib", "lgcn_lib",
           "LGCN_EVAL", "LGCN_TRAIN", "LGCN_REPLAY"]

# The libirllrec version this file is written for (its structs and prototypes).
# While 0.x every minor may break the ABI: only a library of this major AND
# minor is accepted. From 1.0: the same major and this minor or a newer one.
BINDING_VERSION = (0, 2)

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
    _proto(dll, "irllrec_version_number", ctypes.c_int32)
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
    _proto(dll, "lgcn_irl_create", _S, _P, _P, ctypes.POINTER(LgcnIrlCfg), Mat, Mat, Mat, Mat,
           ctypes.POINTER(_P))
    _proto(dll, "lgcn_irl_free", None, _P)
    _proto(dll, "lgcn_irl_hook", _P, _P)
    _proto(dll, "lgcn_irl_grad", _S, _P, ctypes.c_int32, c_i32p, c_i32p, c_i32p, ctypes.c_int64,
           ctypes.POINTER(LgcnIrlLosses))
    _proto(dll, "lgcn_irl_train_step", _S, _P, _P, c_i32p, c_i32p, c_i32p, ctypes.c_int64,
           ctypes.POINTER(LgcnIrlLosses))
    return dll


class IrllrecVersionError(OSError):
    """The library found is not a version this binding can drive (BINDING_VERSION)."""


def _version_compatible(number, binding=BINDING_VERSION):
    """Whether a library reporting irllrec_version_number() == number has the
    ABI of the (major, minor) binding: 0.x the same major and minor (each 0.x
    minor has its own ABI and soname); from 1.0 the same major and a minor at
    least the binding's (minors only add)."""
    major, minor = number // 10000, number // 100 % 100
    if major != binding[0]:
        return False
    return minor == binding[1] if major == 0 else minor >= binding[1]


def _version_text(number):
    return "%d.%d.%d" % (number // 10000, number // 100 % 100, number % 100)


def _check_version(dll, path):
    number = int(_proto(dll, "irllrec_version_number", ctypes.c_int32)())
    if not _version_compatible(number):
        major, minor = BINDING_VERSION
        rule = ("while 0.x every minor has its own ABI, so it needs a %d.%d.x library"
                % (major, minor) if major == 0 else
                "it needs a %d.x library of minor %d or newer" % (major, minor))
        raise IrllrecVersionError(
            "irllrec.lib: %s is libirllrec %s, but this binding is written for %d.%d (%s); "
            "use the irllrec.py of that library's source tree, or point IRLLREC_LIB at a "
            "%d.%d build" % (path, _version_text(number), major, minor, rule, major, minor))


_lib = None
_lgcn = None


def lib():
    """The loaded libirllrec (ctypes.CDLL with prototypes). Raises
    IrllrecVersionError, before binding anything else, for a library of
    another ABI (see BINDING_VERSION)."""
    global _lib
    if _lib is None:
        path = _find("IRLLREC_LIB", ["build/libirllrec.so", "build*/libirllrec.so"], "irllrec")
        dll = ctypes.CDLL(path)
        _check_version(dll, path)
        _lib = _bind_irllrec(dll)
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


# C integer types of the structs and prototypes, with their ranges.
_INT_TYPES = {ctypes.c_int32: ("int32_t", -2 ** 31, 2 ** 31 - 1),
              ctypes.c_int64: ("int64_t", -2 ** 63, 2 ** 63 - 1),
              ctypes.c_uint32: ("uint32_t", 0, 2 ** 32 - 1),
              ctypes.c_uint64: ("uint64_t", 0, 2 ** 64 - 1)}


def _int(v, ctype, where, name):
    """v as a Python int that fits ctype; TypeError for a non-integer (1.9, "4",
    a float 8.0), ValueError out of range: never wrapped or truncated."""
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError("%s: %s = %r is not an integer" % (where, name, v)) from None
    cname, lo, hi = _INT_TYPES[ctype]
    if not lo <= i <= hi:
        raise ValueError("%s: %s = %d does not fit %s [%d, %d]" % (where, name, i, cname, lo, hi))
    return i


def _real(v, where, name):
    if not isinstance(v, numbers.Real):
        raise TypeError("%s: %s = %r is not a number" % (where, name, v))
    return float(v)


def _set_fields(struct, fields, where, what="field", skip=("struct_size", "reserved0")):
    """Set struct fields from keyword arguments, each checked against its C type."""
    types = dict(struct._fields_)
    for k, v in fields.items():
        if k not in types or k in skip:
            raise TypeError("%s: unknown %s %r" % (where, what, k))
        t = types[k]
        if t in _INT_TYPES:
            v = _int(v, t, where, k)
        elif t is ctypes.c_double:
            v = _real(v, where, k)
        setattr(struct, k, v)


def _int_array(a, dtype, where, name):
    """A 1-D array of integers as a contiguous array of dtype (np.int32 ids,
    np.int64 offsets). TypeError for non-integers (floats such as 1.9, bools),
    ValueError for a value outside dtype's range, naming the first one."""
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError("%s: %s: need a 1-D array, got %d dimensions" % (where, name, arr.ndim))
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    info = np.iinfo(dtype)
    if arr.dtype == object:  # Python ints beyond int64, or mixed objects
        vals = arr.tolist()
        for k, x in enumerate(vals):
            if not isinstance(x, numbers.Integral):
                raise TypeError("%s: %s[%d] = %r is not an integer" % (where, name, k, x))
    elif arr.dtype.kind in "iu":
        if np.can_cast(arr.dtype, dtype, "safe") or (
                int(arr.min()) >= info.min and int(arr.max()) <= info.max):
            return np.ascontiguousarray(arr, dtype=dtype)
        vals = arr.tolist()
    else:
        raise TypeError("%s: %s: need integers (an integer array or a list of ints), got %s"
                        % (where, name, arr.dtype))
    for k, x in enumerate(vals):
        if not info.min <= x <= info.max:
            raise ValueError("%s: %s[%d] = %d does not fit %s [%d, %d]"
                             % (where, name, k, x, info.dtype.name + "_t", info.min, info.max))
    return np.array(vals, dtype=dtype)


def mat(a, writable=False, name="array", where=None):
    """irllrec_mat view of a 2-D float32 NumPy array (no copy). ld is the row
    stride in floats, so slices like a[:, :d] of a wider array work."""
    if where:
        name = "%s: %s" % (where, name)
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


def _ids(a, name, where):
    return _int_array(a, np.int32, where, name)


def _view(ptr, shape):
    return np.ctypeslib.as_array(ptr, shape=shape)


def csr_from_pairs(n_rows, n_cols, rows, cols, where="csr_from_pairs", names=("rows", "cols"),
                   bounds=("n_rows", "n_cols")):
    """Sorted, duplicate-free CSR (indptr int64, indices int32) of (row, col) pairs."""
    n_rows = _int(n_rows, ctypes.c_int64, where, bounds[0])
    n_cols = _int(n_cols, ctypes.c_int64, where, bounds[1])
    for n, bname in ((n_rows, bounds[0]), (n_cols, bounds[1])):
        if not 0 <= n <= 2 ** 31:  # ids are int32
            raise ValueError("%s: %s = %d not in [0, 2^31]" % (where, bname, n))
    rows = _int_array(rows, np.int64, where, names[0])
    cols = _int_array(cols, np.int64, where, names[1])
    if rows.shape != cols.shape:
        raise ValueError("%s: %s and %s differ in length (%d, %d)"
                         % (where, names[0], names[1], len(rows), len(cols)))
    for arr, nm, bound, bname in ((rows, names[0], n_rows, bounds[0]),
                                  (cols, names[1], n_cols, bounds[1])):
        bad = np.flatnonzero((arr < 0) | (arr >= bound))
        if bad.size:
            k = int(bad[0])
            raise ValueError("%s: %s[%d] = %d not in [0, %s = %d)"
                             % (where, nm, k, int(arr[k]), bname, bound))
    key = np.unique(rows * n_cols + cols)
    r, c = key // n_cols, key % n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
    return indptr, c.astype(np.int32)


def _csr(n_rows, n_cols, indptr, indices):
    return Csr(n_rows, n_cols, int(indptr[-1]), indptr.ctypes.data_as(c_i64p),
               indices.ctypes.data_as(c_i32p))


def _csr_arg(where, name, n_rows, n_cols, csr, rows_are):
    """(indptr, indices) checked against what the C side reads: indptr exactly
    n_rows + 1 offsets, indices at least indptr[-1] ids. Returns (Csr, keep),
    keep holding the arrays for the duration of the call."""
    if not isinstance(csr, (tuple, list)) or len(csr) != 2:
        raise TypeError("%s: %s: need an (indptr, indices) pair" % (where, name))
    pre = "%s: %s" % (where, name + " " if name else "")
    indptr = _int_array(csr[0], np.int64, where, (name + " " if name else "") + "indptr")
    if len(indptr) != n_rows + 1:
        raise ValueError("%sindptr has %d entries, need %s + 1 = %d"
                         % (pre, len(indptr), rows_are, n_rows + 1))
    indices = _int_array(csr[1], np.int32, where, (name + " " if name else "") + "indices")
    nnz = int(indptr[-1])
    if len(indices) < nnz:
        raise ValueError("%sindices has %d entries, fewer than indptr[-1] = %d"
                         % (pre, len(indices), nnz))
    return _csr(n_rows, n_cols, indptr, indices), (indptr, indices)


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
