"""Finding and loading libirllrec.so (and the LightGCN example's liblgcn.so),
the version check, and the ctypes prototypes."""
import ctypes
import ctypes.util
import glob
import os

from ._types import (Mat, Csr, HookBatch, HookInputs, HookGrads, LOG_FN, CtxSpec, HookSpec,
                     HookLosses, SynthSpec, LgcnSpec, LgcnIrlCfg, LgcnIrlLosses,
                     c_f32p, c_i32p, c_i64p, c_f64p)

# The libirllrec version this package is written for (its structs and prototypes).
# While 0.x every minor may break the ABI: only a library of this major AND
# minor is accepted. From 1.0: the same major and this minor or a newer one.
BINDING_VERSION = (0, 2)

_HERE = os.path.dirname(os.path.abspath(__file__))
# The source tree's top level (examples/python/irllrec/ -> ../../..), whose
# build*/ directories are searched when the package runs from the tree.
_TOP = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))

# ---- loading -------------------------------------------------------------------


def _installed_library():
    """The libirllrec this package was installed with: _libpath.py, installed
    by `cmake --install` (cmake/python.cmake), holds its path relative to the
    package directory (so a moved or DESTDIR-staged prefix still works). None
    in a source tree, which has no _libpath.py."""
    try:
        from . import _libpath
    except ImportError:
        return None
    path = os.path.normpath(os.path.join(_HERE, _libpath.LIBIRLLREC))
    return path if os.path.exists(path) else None


def _find(env, patterns, system_name=None, installed=None):
    path = os.environ.get(env) or installed
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
    _proto(dll, "lgcn_irl_cfg_size", ctypes.c_size_t)
    # the struct is mirrored here: a field added in C and not here would let
    # lgcn_irl_cfg_init write past it
    if dll.lgcn_irl_cfg_size() != ctypes.sizeof(LgcnIrlCfg):
        raise OSError("liblgcn's lgcn_irl_cfg is %d bytes, this binding's LgcnIrlCfg %d: "
                      "update examples/python/irllrec/_types.py"
                      % (dll.lgcn_irl_cfg_size(), ctypes.sizeof(LgcnIrlCfg)))
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
            "use the irllrec package of that library's source tree, or point IRLLREC_LIB at a "
            "%d.%d build" % (path, _version_text(number), major, minor, rule, major, minor))


_lib = None
_lgcn = None


def lib():
    """The loaded libirllrec (ctypes.CDLL with prototypes). Raises
    IrllrecVersionError, before binding anything else, for a library of
    another ABI (see BINDING_VERSION)."""
    global _lib
    if _lib is None:
        path = _find("IRLLREC_LIB", ["build/libirllrec.so", "build*/libirllrec.so"], "irllrec",
                     _installed_library())
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
