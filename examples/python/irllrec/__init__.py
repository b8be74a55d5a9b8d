"""ctypes binding of libirllrec (the IRLLRec hook) and of the LightGCN example host.

Standard library ctypes + NumPy only. Matrices cross the boundary as
irllrec_mat views of NumPy arrays (no copy): float32, rows contiguous
(strides[1] == 4), any row stride that is a whole number of floats >= cols,
which becomes the view's leading dimension. Every failing call raises
IrllrecError carrying irllrec_ctx_errmsg().

Libraries are found through (first match wins)
  IRLLREC_LIB       path of libirllrec.so
  IRLLREC_LGCN_LIB  path of liblgcn.so (the LightGCN example, target lgcn_shared)
  for libirllrec, the library this package was installed with (_libpath.py,
  written by `cmake --install`: no variable needed once installed),
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

Serving a trained model (Recommender, rank, recommend, similar,
export_embeddings) is in irllrec.serve, re-exported here.

Threading: as the C library: one context tree per thread at a time.

Modules: _types (struct mirrors, enums), _loader (finding the library,
prototypes, version), _args (checks, views, errors), _core (Context, Hook,
Evaluator), _lightgcn (the example host), serve (trained recommenders).
"""
from ._types import (
                     Mat, Csr, HOOK_PARAMS, HOOK_TEXT, PRESET_PAPER, PRESET_RELEASED,
                     LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LGCN_EVAL, LGCN_TRAIN,
                     LGCN_REPLAY)
from ._loader import (
                      BINDING_VERSION, IrllrecVersionError, lib, lgcn_lib,
                      _version_compatible)
from ._args import IrllrecError, mat, csr_from_pairs
from ._core import Context, Hook, Evaluator, synth_write, read_lightgcn_txt
from ._lightgcn import LightGCN, LightGCNIRL
from .serve import Recommender, rank, recommend, similar, export_embeddings, RANK_MAX_K

__all__ = ["IrllrecError", "IrllrecVersionError", "BINDING_VERSION", "Context",
           "Hook", "LightGCN", "LightGCNIRL", "Evaluator",
           "synth_write", "read_lightgcn_txt", "lib", "lgcn_lib", "mat", "csr_from_pairs",
           "LGCN_EVAL", "LGCN_TRAIN", "LGCN_REPLAY", "Mat", "Csr", "HOOK_PARAMS", "HOOK_TEXT",
           "PRESET_PAPER", "PRESET_RELEASED", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG",
           "_version_compatible", "Recommender", "rank", "recommend", "similar",
           "export_embeddings", "RANK_MAX_K", "library_path"]


def library_path():
    """The path of the libirllrec loaded (found as the module docstring says)."""
    return lib()._name
