/** @file
 * libirllrec: the text tower, a two-layer perceptron.
 *
 *   Y = LeakyReLU(X W1^T + b1) W2^T + b2
 *
 * X holds frozen LLM text embeddings (rows x in_dim), Y the intent/profile
 * vectors in the recommender's space (rows x out_dim). W1 is hidden x in and
 * W2 out x hidden (PyTorch nn.Linear layout, so weights can be exchanged with
 * a PyTorch model as they are). Weights are Xavier-uniform from the handle's
 * own seeded generator. IRLLRec's text tower uses one MLP for profiles
 * and one for intents, each shared by users and items (docs/math-towers.md,
 * section 2, derives forward and backward).
 *
 * Lifecycle: create (allocates parameters, gradients and a workspace for
 * max_rows rows) -> forward -> backward -> (optimizer) -> zero_grad -> ...
 * forward and backward never allocate. One handle must not be used by two
 * threads at once (forward caches activations). */
#ifndef IRLLREC_MLP_H
#define IRLLREC_MLP_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque MLP handle. Not thread-safe: one thread at a time per handle (and per
 *  context tree); it may move between threads between calls. */
typedef struct irllrec_mlp irllrec_mlp;

/** How biases are initialised (pinned values). */
enum irllrec_mlp_bias_init {
    IRLLREC_MLP_BIAS_ZERO  = 0, /**< zeros (default) */
    IRLLREC_MLP_BIAS_TORCH = 1  /**< U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's nn.Linear
                                     default, which the released IRLLRec code keeps */
};

/** Parameter ids (pinned values), in the order of the parameter list. */
enum irllrec_mlp_param_id {
    IRLLREC_MLP_W1 = 0,      /**< hidden x in */
    IRLLREC_MLP_B1 = 1,      /**< 1 x hidden */
    IRLLREC_MLP_W2 = 2,      /**< out x hidden */
    IRLLREC_MLP_B2 = 3,      /**< 1 x out */
    IRLLREC_MLP_N_PARAMS = 4 /**< number of parameter blocks */
};

/** Creation parameters. Initialise with irllrec_mlp_spec_init(); fields are only appended. */
typedef struct irllrec_mlp_spec {
    uint32_t struct_size; /**< sizeof(irllrec_mlp_spec) as the caller compiled it */
    int32_t in_dim;       /**< input width D (> 0; no default) */
    int32_t hidden_dim;   /**< hidden width; 0 (default) = (in_dim + out_dim) / 2, as the reference */
    int32_t out_dim;      /**< output width d (> 0; no default) */
    float leaky_slope;    /**< LeakyReLU negative slope, finite and >= 0 (default 0.01) */
    int32_t bias_init;    /**< an irllrec_mlp_bias_init value (default IRLLREC_MLP_BIAS_ZERO) */
    int64_t max_rows;     /**< largest forward batch (> 0; no default): sizes the workspace */
    uint64_t seed;        /**< weight-initialisation seed (default 0) */
} irllrec_mlp_spec;

/** Fill @p spec with defaults and set its struct_size. in_dim, out_dim and
 *  max_rows are left 0 and must be set before create.
 *  @param spec  caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_mlp_spec) as the caller sees it; exactly
 *               this many bytes are written (none below 4). The size is kept,
 *               not capped: bytes past this library's struct are zeroed, and
 *               create refuses a field it does not know (IRLLREC_E_VERSION)
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_mlp_spec_init(irllrec_mlp_spec *spec, uint32_t struct_size);

/** Create an MLP with freshly initialised weights and zero gradients.
 *  Memory: parameters and gradients (2 x (hidden*(in+1) + out*(hidden+1)) floats)
 *  plus max_rows x hidden floats of cached activations and a backward block
 *  of min(max_rows, 4096) x hidden floats.
 *  @param ctx   context (allocator, errors); must outlive the handle
 *  @param spec  not NULL; copied
 *  @param[out] out  the new handle, or NULL on failure; free with irllrec_mlp_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE (bad dims),
 *          IRLLREC_E_VERSION (struct_size), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_mlp_create(irllrec_ctx *ctx, const irllrec_mlp_spec *spec,
                                              irllrec_mlp **out);

/** Free the handle, its parameters, gradients and workspace.
 *  @param mlp  may be NULL (nothing happens); invalid after the call. An
 *              irllrec_itm pair made from it must be freed first. */
IRLLREC_API void irllrec_mlp_free(irllrec_mlp *mlp);

/** Forward pass Y = MLP(X). Caches the hidden activations for backward.
 *  @param mlp  the handle
 *  @param x  rows x in_dim, 1 <= rows <= max_rows; borrowed for this call only
 *  @param y  rows x out_dim, written (not accumulated); must not overlap @p x
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, overlap),
 *          IRLLREC_E_SHAPE (dims, ld < cols, rows > max_rows). On failure
 *          nothing changes (the previous forward's cache stays valid).
 *  @note Does not allocate. Not thread-safe on one handle. */
IRLLREC_API irllrec_status irllrec_mlp_forward(irllrec_mlp *mlp, irllrec_mat x, irllrec_mat y);

/** Forward for rows [row0, row0 + x.rows) of the activation cache: a
 *  forward assembled from row ranges with different inputs (the hook runs
 *  every user from the text table, then the batch's items gathered into a
 *  small buffer). Each range then goes back through irllrec_mlp_backward_at()
 *  with the same x and row0. irllrec_mlp_forward() is this with row0 = 0.
 *  @param mlp   the handle
 *  @param x     rows x in_dim; read only, borrowed for this call
 *  @param row0  first cache row, 0 <= row0 and row0 + x.rows <= max_rows
 *  @param y     x.rows x out_dim, written; must not overlap @p x
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE; nothing changes on failure
 *  @note Does not allocate. The cache then covers rows 0 .. row0 + x.rows. */
IRLLREC_API irllrec_status irllrec_mlp_forward_at(irllrec_mlp *mlp, irllrec_cmat x, int64_t row0,
                                                  irllrec_mat y);

/** Backward of one range of a forward made with irllrec_mlp_forward_at():
 *  parameter gradients +=, dx += when dx.data != NULL.
 *  @param mlp   the handle (with gradients)
 *  @param x     the range's input, as given to the forward
 *  @param row0  the range's first cache row; row0 + x.rows <= the rows the cache covers
 *  @param dy    dL/dY of the range, x.rows x out_dim
 *  @param dx    x.rows x in_dim, accumulated, or {0} to skip
 *  @return as irllrec_mlp_backward()
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_mlp_backward_at(irllrec_mlp *mlp, irllrec_cmat x, int64_t row0,
                                                   irllrec_cmat dy, irllrec_mat dx);

/** Backward pass of the last forward. ACCUMULATES parameter gradients
 *  (dW += ..., db += ...) and, when dx.data != NULL, dx += dL/dX.
 *  The library keeps no host pointer between calls, so @p x must be passed
 *  again: the same matrix (contents) as in the last forward, else the
 *  gradients are those of a different input.
 *  @param mlp the handle (not a teacher from irllrec_itm_teacher(): E_STATE)
 *  @param x   as in the last forward (same rows and cols)
 *  @param dy  dL/dY, rows x out_dim
 *  @param dx  rows x in_dim, accumulated; dx.data == NULL skips the input
 *             gradient (frozen text embeddings). Must not overlap x or dy.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE,
 *          IRLLREC_E_STATE (no forward since create). On failure nothing changes.
 *  @note Does not allocate. Several backwards after one forward accumulate. */
IRLLREC_API irllrec_status irllrec_mlp_backward(irllrec_mlp *mlp, irllrec_mat x, irllrec_mat dy,
                                                irllrec_mat dx);

/** Set every parameter gradient to zero (call after each optimizer step: backward accumulates).
 *  @param mlp  the handle; NULL (or a teacher, which has no gradients) does nothing
 *  @note Does not allocate. */
IRLLREC_API void irllrec_mlp_zero_grad(irllrec_mlp *mlp);

/** Dimensions of the MLP.
 *  @param mlp              the handle
 *  @param[out] in_dim      receives D; may be NULL
 *  @param[out] hidden_dim  receives the hidden width; may be NULL
 *  @param[out] out_dim     receives d; may be NULL
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL handle) */
IRLLREC_API irllrec_status irllrec_mlp_dims(const irllrec_mlp *mlp, int32_t *in_dim,
                                            int32_t *hidden_dim, int32_t *out_dim);

/** Shape of parameter block @p id; biases are 1 x n.
 *  @param mlp         the handle
 *  @param id          an irllrec_mlp_param_id value (not IRLLREC_MLP_N_PARAMS)
 *  @param[out] rows   receives the number of rows
 *  @param[out] cols   receives the number of columns
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument, unknown id) */
IRLLREC_API irllrec_status irllrec_mlp_param_shape(const irllrec_mlp *mlp, int32_t id,
                                                   int64_t *rows, int64_t *cols);

/** Copy parameter block @p id into @p dst.
 *  @param mlp  the handle
 *  @param id   an irllrec_mlp_param_id value
 *  @param dst  caller-owned, exactly the block's shape (any ld >= cols); written
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id), IRLLREC_E_SHAPE
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_mlp_get_param(const irllrec_mlp *mlp, int32_t id,
                                                 irllrec_mat dst);

/** Copy @p src into parameter block @p id (e.g. loading weights).
 *  @param mlp  the handle
 *  @param id   an irllrec_mlp_param_id value
 *  @param src  exactly the block's shape; read during this call only
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id),
 *          IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (a non-finite value: nothing is copied)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_mlp_set_param(irllrec_mlp *mlp, int32_t id, irllrec_mat src);

/** Copy the accumulated gradient of block @p id into @p dst.
 *  @param mlp  the handle
 *  @param id   an irllrec_mlp_param_id value
 *  @param dst  caller-owned, exactly the block's shape; written
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, unknown id),
 *          IRLLREC_E_SHAPE, IRLLREC_E_STATE (a teacher: no gradients)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_mlp_get_grad(const irllrec_mlp *mlp, int32_t id,
                                                irllrec_mat dst);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_MLP_H */
