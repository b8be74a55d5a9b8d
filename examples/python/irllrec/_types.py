"""ctypes mirrors of the C structs and the pinned enum values (include/irllrec/*.h)."""
import ctypes

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
                ("teacher_init", ctypes.c_int32), ("text_precision", ctypes.c_int32),
                ("seed", ctypes.c_uint64), ("reduce_rows", ctypes.c_int32),
                ("align_precision", ctypes.c_int32)]


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
                [("tran_mode", ctypes.c_int32), ("tran_samples", ctypes.c_int64),
                 ("text_precision", ctypes.c_int32),
                 ("shard", ctypes.c_void_p),  # a collective layer; None: not sharded
                 ("reduce_rows", ctypes.c_int32), ("align_precision", ctypes.c_int32)])


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


# Serving (include/irllrec/rank.h, serve.h). irllrec_cmat has irllrec_mat's layout.
class RankOpts(ctypes.Structure):
    """irllrec_rank_opts; struct_size from irllrec_rank_opts_init."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("seen", ctypes.POINTER(Csr)), ("allow", c_i32p), ("n_allow", ctypes.c_int64),
                ("deny", c_i32p), ("n_deny", ctypes.c_int64)]


class RecSpec(ctypes.Structure):
    """irllrec_rec_spec; struct_size from irllrec_rec_spec_init."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("reserved0", ctypes.c_int32),
                ("user_emb", Mat), ("item_emb", Mat), ("seen", ctypes.POINTER(Csr)),
                ("hook", ctypes.c_void_p), ("layers", ctypes.POINTER(Mat))]


class RecInfo(ctypes.Structure):
    """irllrec_rec_info."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("dim", ctypes.c_int32),
                ("n_users", ctypes.c_int64), ("n_items", ctypes.c_int64),
                ("n_intents", ctypes.c_int32), ("profile_dim", ctypes.c_int32),
                ("intent_dim", ctypes.c_int32), ("has_seen", ctypes.c_int32)]

    def as_dict(self):
        return {k: int(getattr(self, k)) for k, _ in self._fields_[1:]}


class Explanation(ctypes.Structure):
    """irllrec_explanation (the three arrays are the caller's)."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("n", ctypes.c_int32),
                ("score", ctypes.c_double), ("residual", ctypes.c_double),
                ("intents", c_i32p), ("shared", c_f64p), ("contribution", c_f64p)]


RANK_COSINE, RANK_INCLUDE_SEEN = 1, 2
RANK_MAX_K = 100000
SIDES = {"users": 0, "items": 1}
