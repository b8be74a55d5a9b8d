/** @file
 * libirllrec: the interaction intent encoder (IRLLRec's interaction tower).
 *
 * For each graph layer l = 0..L-1, given the host's layer embeddings
 * E(l) = [E_u(l); E_i(l)] (N = U + I rows, users first, d columns) and two
 * trainable prototype matrices C_u, C_i (d x K):
 *
 *   Z_u(l) = softmax_K(E_u(l) C_u) C_u^T,  Z_i(l) likewise,  Z(l) = [Z_u; Z_i]
 *   alpha_ht = (cos(Z_h(l), Z_t(l)) + 1) / 2      for every directed edge (h, t)
 *   G_ht = alpha_ht / sum_t' alpha_ht'             (row-normalised; empty row -> 0)
 *   H(l) = G E(l),    r = (1/L) sum_l H(l)
 *
 * cos uses n(v) = v / sqrt(1e-8 + |v|^2). The graph is a CSR pattern over all
 * N nodes holding both directions of every interaction; the encoder COPIES
 * it. Without a graph (graph-free mode, for hosts that have none) the output
 * is the prototype attention itself: r = (1/L) sum_l Z(l).
 *
 * backward() accumulates gradients into C_u, C_i (held by the handle) and,
 * through both G (alpha, cos, Z, softmax) and the product G E(l), into the
 * caller's dE(l). Edge loops run on the ctx's threads with static row
 * shares; results do not depend on the thread count (no atomics: the
 * transposed direction is accumulated over a transposed copy of the graph).
 *
 * Memory (allocated at create / set_graph): 2 N K + (2 L + 2) N d + L N
 * floats of workspace and caches, (L + 2) nnz floats of edge values, the
 * graph copy and its transpose (2 (N + 1) + nnz int64, 2 nnz int32) and
 * n_threads x 2d doubles. forward/backward never allocate. */
#ifndef IRLLREC_INTENT_H
#define IRLLREC_INTENT_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque encoder handle. Not thread-safe: one thread at a time per handle (and
 *  per context tree); it runs its own edge loops on the context's threads. */
typedef struct irllrec_intent irllrec_intent;

/** Parameter ids (pinned). */
enum irllrec_intent_param_id {
    IRLLREC_INTENT_C_USER = 0,   /**< C_u, d x K */
    IRLLREC_INTENT_C_ITEM = 1,   /**< C_i, d x K */
    IRLLREC_INTENT_N_PARAMS = 2  /**< number of parameter blocks */
};

/** Creation parameters. Initialise with irllrec_intent_spec_init(); fields are only appended. */
typedef struct irllrec_intent_spec {
    uint32_t struct_size; /**< sizeof(irllrec_intent_spec) as the caller compiled it */
    int32_t dim;          /**< embedding size d (> 0; no default) */
    int32_t n_intents;    /**< prototypes K (> 0; default 128) */
    int32_t n_layers;     /**< layers L (> 0; default 3) */
    int64_t n_users;      /**< U (>= 0; no default) */
    int64_t n_items;      /**< I (>= 0; U + I > 0 and <= INT32_MAX) */
    uint64_t seed;        /**< prototype-initialisation seed (Xavier-uniform; default 0) */
} irllrec_intent_spec;

/** Fill @p spec with defaults (K = 128, L = 3, seed 0; dim, n_users and n_items
 *  left 0 to be set) and set its struct_size to @p struct_size (kept, not capped:
 *  bytes past this library's struct are zeroed, and create refuses a field it
 *  does not know).
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_intent_spec) as the caller sees it; exactly
 *                      this many bytes are written (none below 4)
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_intent_spec_init(irllrec_intent_spec *spec, uint32_t struct_size);

/** Create an encoder with Xavier-uniform prototypes and zero gradients.
 *  @param ctx    context (allocator, threads, errors); must not be NULL and must
 *                outlive the handle
 *  @param spec   must not be NULL; read during this call only. A shorter (older)
 *                spec is zero-extended, a longer one must have an all-zero tail.
 *  @param graph  N x N CSR (N = U + I) holding both directions of every
 *                edge, or NULL for graph-free mode. Copied; indices must be
 *                in [0, N) (sorting and symmetry are not required).
 *  @param[out] out  new handle or NULL; free with irllrec_intent_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (also a malformed CSR: bad
 *          offsets or ids), IRLLREC_E_SHAPE, IRLLREC_E_VERSION, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_intent_create(irllrec_ctx *ctx, const irllrec_intent_spec *spec,
                                                 const irllrec_csr *graph, irllrec_intent **out);

/** Free the encoder, its prototypes, caches and graph copy.
 *  @param enc  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_intent_free(irllrec_intent *enc);

/** Replace the graph (copied), or switch to graph-free mode with NULL.
 *  Allocates the new edge buffers first: on failure the old graph stays.
 *  Invalidates the last forward (backward then returns E_STATE).
 *  @param enc    the encoder
 *  @param graph  N x N CSR as for irllrec_intent_create(), copied; or NULL
 *  @return as irllrec_intent_create() (without IRLLREC_E_VERSION)
 *  @note Allocates the new graph copy and edge buffers and frees the old ones. */
IRLLREC_API irllrec_status irllrec_intent_set_graph(irllrec_intent *enc, const irllrec_csr *graph);

/** Whether a graph is set.
 *  @param enc  the encoder; may be NULL
 *  @return 1 when a graph is set, 0 in graph-free mode, -1 for NULL */
IRLLREC_API int32_t irllrec_intent_has_graph(const irllrec_intent *enc);

/** Forward pass: r = (1/L) sum_l G(l) E(l) (graph) or (1/L) sum_l Z(l) (graph-free).
 *  Caches Z, n(Z), the edge weights and row sums of every layer for backward.
 *  @param enc    the encoder
 *  @param emb    array of @p n_layers N x d matrices E(0..L-1); borrowed for this call
 *  @param n_layers  must equal spec.n_layers
 *  @param r      N x d, written; must not overlap any emb
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE. Nothing changes on failure.
 *  @note Does not allocate (threads are started with the ctx's n_threads). */
IRLLREC_API irllrec_status irllrec_intent_forward(irllrec_intent *enc, const irllrec_mat *emb,
                                                  int32_t n_layers, irllrec_mat r);

/** Backward pass of the last forward: dC_u, dC_i += ..., demb[l] += dL/dE(l).
 *  @param enc   the encoder
 *  @param emb   the same matrices as in the last forward (the library keeps no host pointer)
 *  @param dr    dL/dr, N x d
 *  @param demb  array of n_layers N x d matrices, ACCUMULATED; an entry with
 *               data == NULL is skipped; demb itself may be NULL (prototype
 *               gradients only). Must not overlap emb or dr.
 *  @param n_layers  must equal spec.n_layers
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_STATE (no forward)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_intent_backward(irllrec_intent *enc, const irllrec_mat *emb,
                                                   int32_t n_layers, irllrec_mat dr,
                                                   const irllrec_mat *demb);

/** The forward for a list of anchor nodes only (repeats allowed): row s of
 *  @p r receives the tower's output for node nodes[s]. The prototype
 *  attention still covers every node (the edge weights need the neighbours'
 *  intents); the edge pass runs over the anchors' rows only, on the calling
 *  thread. What the hook uses for the batch's 3B anchors.
 *  @param enc      the encoder
 *  @param emb      n_layers matrices E(l), N x dim each; read only
 *  @param n_layers must equal the spec's n_layers
 *  @param nodes    n_nodes node ids in [0, N)
 *  @param n_nodes  >= 1
 *  @param r        n_nodes x dim, written; must not overlap emb
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE
 *  @note Does not allocate. Leaves no forward for irllrec_intent_backward(). */
IRLLREC_API irllrec_status irllrec_intent_forward_nodes(irllrec_intent *enc, const irllrec_mat *emb,
                                                        int32_t n_layers, const int64_t *nodes,
                                                        int64_t n_nodes, irllrec_mat r);

/** Backward of irllrec_intent_forward_nodes(), right after it with the same
 *  emb and nodes: prototype gradients +=, demb[l] += where demb (and
 *  demb[l].data) is not NULL.
 *  @param enc      the encoder
 *  @param emb      as in the forward
 *  @param n_layers as in the forward
 *  @param nodes    as in the forward
 *  @param n_nodes  as in the forward
 *  @param dr       n_nodes x dim, dL/dr
 *  @param demb     NULL, or n_layers N x dim matrices (data NULL skips one)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_STATE
 *          (no node forward with n_nodes nodes just before)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_intent_backward_nodes(irllrec_intent *enc,
                                                         const irllrec_mat *emb, int32_t n_layers,
                                                         const int64_t *nodes, int64_t n_nodes,
                                                         irllrec_cmat dr, const irllrec_mat *demb);

/** Zero the prototype gradients (backward accumulates).
 *  @param enc  the encoder; NULL does nothing
 *  @note Does not allocate. */
IRLLREC_API void irllrec_intent_zero_grad(irllrec_intent *enc);

/** Copy prototype block @p id into @p dst.
 *  @param enc  the encoder
 *  @param id   an irllrec_intent_param_id value
 *  @param dst  caller-owned d x K matrix (any ld >= K); written
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id), IRLLREC_E_SHAPE
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_intent_get_param(const irllrec_intent *enc, int32_t id,
                                                    irllrec_mat dst);

/** Copy @p src into prototype block @p id (e.g. loading weights).
 *  @param enc  the encoder
 *  @param id   an irllrec_intent_param_id value
 *  @param src  d x K, read during this call only
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id),
 *          IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (a non-finite value: nothing copied)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_intent_set_param(irllrec_intent *enc, int32_t id,
                                                    irllrec_mat src);

/** Copy the accumulated gradient of block @p id into @p dst.
 *  @param enc  the encoder
 *  @param id   an irllrec_intent_param_id value
 *  @param dst  caller-owned d x K matrix; written
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id), IRLLREC_E_SHAPE
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_intent_get_grad(const irllrec_intent *enc, int32_t id,
                                                   irllrec_mat dst);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_INTENT_H */
