/** @file
 * libirllrec: alignment losses between two sets of embeddings.
 *
 * Two losses over cosine similarities, cos(a, b) = <n(a), n(b)> with
 * n(v) = v / sqrt(1e-8 + |v|^2):
 *
 * - Pairwise InfoNCE (IRLLRec's L_pair and L_kd terms): anchors X (B x d),
 *   candidates Y (M x d), one positive column pos[b] per anchor,
 *     L = s * sum_b [ -cos(x_b, y_pos[b]) / tau + log sum_{j<M} exp(cos(x_b, y_j) / tau) ]
 *   (the positive sits in its own denominator).
 * - Translation alignment (IRLLRec's L_tran): X, Y both N x d, multiplicative
 *   Gaussian noise X~ = X + X*eps1, Y~ = Y + Y*eps2, c_nm = cos(X~_n, Y~_m),
 *     L = -(1/N) sum_n log( exp(c_nn) / (sum_m exp(c_nm) + 1e-8) + 1e-8 ).
 *   The exact form never materialises the N x N matrix; a sampled form
 *   (an approximation) restricts it to a subset of nodes.
 *
 * Every call computes the loss and its gradients in one pass, ADDS (+=) the
 * gradients into caller buffers, and returns the loss as a double. All
 * memory is allocated by irllrec_align_create(), sized by the spec's maximum
 * shapes; the loss calls never allocate. The derivations are in
 * docs/math-align.md. */
#ifndef IRLLREC_ALIGN_H
#define IRLLREC_ALIGN_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque alignment-loss handle: workspace plus the noise generator. Not
 *  thread-safe: one thread at a time per handle (and per context tree); the
 *  loss calls run on the context's own worker threads. */
typedef struct irllrec_align irllrec_align;

/** Smallest temperature the InfoNCE call accepts. */
#define IRLLREC_ALIGN_TAU_MIN 1e-6

/** Creation parameters. Initialise with irllrec_align_spec_init(); fields are only appended. */
typedef struct irllrec_align_spec {
    uint32_t struct_size; /**< sizeof(irllrec_align_spec) as the caller compiled it */
    int32_t dim;          /**< embedding width d (> 0; default 32) */
    int64_t max_rows;     /**< most anchors per call: B for InfoNCE, N for translation (> 0) */
    int64_t max_cols;     /**< most candidates per call: M for InfoNCE, N for translation (> 0) */
    int32_t block_rows;   /**< rows per block (0: 32) */
    int32_t block_cols;   /**< columns per block (0: all columns if block_rows x max_cols floats
                               fit in 4 MiB, else as many as fit) */
    int32_t n_slices;     /**< row slices, each with its own gradient partial for Y
                               (0: the smallest multiple of the context's thread count
                               that is >= 4); fixes the summation order, so
                               results do not depend on the thread count for a given value */
    int32_t precision;    /**< enum irllrec_align_precision (default 0 = FP32); this
                               was reserved0, so older callers' zeros mean fp32 */
    uint64_t seed;        /**< seed of the translation noise generator */
} irllrec_align_spec;

/** Precision of the logits inside the softmax sums (pinned values). The
 *  spec asks; the handle decides at create, on this CPU:
 *  irllrec_align_get_precision() says what it took. */
typedef enum irllrec_align_precision {
    IRLLREC_ALIGN_FP32 = 0,        /**< every product in fp32 (the reference; default) */
    IRLLREC_ALIGN_BF16_LOGITS = 1, /**< the logits of the log-sum-exp sums from rows and
                                        columns rounded to bf16 (products exact, sums fp32,
                                        VDPBF16PS: twice the fp32 rate per instruction);
                                        the positive's logit, the backward products and
                                        every output stay fp32 */
    IRLLREC_ALIGN_BF16 = 2         /**< BF16_LOGITS and the backward's products too:
                                        dX = G Y and dY = G^T X with G, X, Y rounded to
                                        bf16, sums fp32 (the mixed precision of bf16
                                        training); outputs fp32 */
} irllrec_align_precision;
/* Either bf16 level is granted only where the fused AVX-512 kernels run and
 * the CPU has AVX512-BF16, else the handle is fp32 (docs/math-align.md, §2c). */

/** Noise modes of the translation loss (pinned values). */
enum irllrec_align_noise {
    IRLLREC_ALIGN_NOISE_GAUSSIAN = 0, /**< eps ~ N(0,1) elementwise, fresh each call (default) */
    IRLLREC_ALIGN_NOISE_OFF = 1       /**< eps = 0: X~ = X, Y~ = Y */
};

/** Write defaults (dim 32, max_rows = max_cols = 4096, automatic blocking, seed 0)
 *  into the first @p struct_size bytes and set struct_size to @p struct_size
 *  (kept, not capped: bytes past this library's struct are zeroed).
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_align_spec) as the caller sees it; below 4, nothing is written
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_align_spec_init(irllrec_align_spec *spec, uint32_t struct_size);

/** Create a handle and its whole workspace.
 *  @param ctx       owning context; the handle uses its allocator and thread count
 *  @param spec      must not be NULL; a shorter spec is zero-extended, a longer
 *                   one must have an all-zero tail
 *  @param[out] out  new handle, or NULL on failure; free with irllrec_align_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_VERSION,
 *          IRLLREC_E_NOMEM
 *  @note About (3 max_rows + (2 + n_slices) max_cols) d floats plus
 *        threads x block_rows x block_cols floats; see irllrec_align_workspace_bytes().
 *        The loss calls run on the context's threads and call sgemm from each of
 *        them, on tiles small enough (rows x cols x d <= 2^18) that OpenBLAS runs
 *        them on the calling thread; the library never changes the BLAS thread
 *        count. Give the threads to the context. */
IRLLREC_API irllrec_status irllrec_align_create(irllrec_ctx *ctx, const irllrec_align_spec *spec,
                                                irllrec_align **out);

/** Free a handle and its workspace.
 *  @param h  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_align_free(irllrec_align *h);

/** Bytes this handle holds from the context's allocator (the whole workspace).
 *  @param h  the handle; may be NULL
 *  @return the byte count, or 0 for NULL */
IRLLREC_API int64_t irllrec_align_workspace_bytes(const irllrec_align *h);

/** Choose the translation noise for the following calls.
 *  @param h     the handle
 *  @param mode  an irllrec_align_noise value
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL handle, unknown mode; nothing changes)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_set_noise(irllrec_align *h, int32_t mode);

/** Fills the translation noise of one call: eps_x and eps_y, n_rows x dim
 *  each, row-major (row i belongs to node ids[i], or to node i when ids is NULL). */
typedef void (*irllrec_noise_fn)(void *ud, int64_t n_rows, int32_t dim, const int32_t *ids,
                                 float *eps_x, float *eps_y);

/** Take the translation noise of the following calls from @p fn (to
 *  reproduce another implementation's noise), or go back to the handle's
 *  mode with NULL. While fn is set the generator does not advance for noise
 *  and the noise mode is ignored.
 *  @param h   the handle
 *  @param fn  the callback, or NULL
 *  @param ud  passed to fn
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL handle)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_set_noise_fn(irllrec_align *h, irllrec_noise_fn fn,
                                                      void *ud);

/** Draw @p n distinct node ids of [0, n_all) from the handle's generator:
 *  the draw irllrec_align_translation_sampled() makes when given no ids, so a
 *  caller that needs to know the sample draws it here and passes it in.
 *  @param h      the handle
 *  @param n_all  nodes to draw from, 1 <= n_all <= max_rows
 *  @param n      sample size, 1 <= n <= n_all
 *  @param[out] ids  n caller-owned entries
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL), IRLLREC_E_SHAPE
 *  @note Does not allocate; advances the generator. */
IRLLREC_API irllrec_status irllrec_align_sample_ids(irllrec_align *h, int64_t n_all, int64_t n,
                                                    int32_t *ids);

/** Copy out the 256-bit state of the noise generator (for checkpoints).
 *  @param h           the handle
 *  @param[out] state  four caller-owned words
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument) */
IRLLREC_API irllrec_status irllrec_align_get_rng_state(const irllrec_align *h, uint64_t state[4]);

/** Restore a state from irllrec_align_get_rng_state(); the noise stream
 *  continues exactly where it was saved.
 *  @param h      the handle
 *  @param state  four words, read during this call only
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument, all-zero state;
 *          nothing changes) */
IRLLREC_API irllrec_status irllrec_align_set_rng_state(irllrec_align *h, const uint64_t state[4]);

/** Pairwise InfoNCE, forward and backward.
 *  @param h      handle; not to be used concurrently
 *  @param x      anchors, B x dim, 1 <= B <= max_rows; read only, borrowed for this call
 *  @param y      candidates, M x dim, 1 <= M <= max_cols; read only
 *  @param pos    B positive column ids in [0, M), or NULL for pos[b] = b (needs B <= M)
 *  @param tau    temperature, finite, >= IRLLREC_ALIGN_TAU_MIN
 *  @param scale  s, finite (IRLLRec passes 1/B)
 *  @param dx     B x dim, receives += dL/dX; dx.data == NULL skips it
 *  @param dy     M x dim, receives += dL/dY; dy.data == NULL skips it (both NULL:
 *                loss only, the backward sweep is skipped).
 *                dx and dy may overlap each other or the inputs: inputs are
 *                copied before any output is written, dx is added before dy.
 *  @param[out] loss  L, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL handle or data, bad pos, bad tau or
 *          scale), IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (non-finite input, loss or
 *          gradient). On failure nothing is written.
 *  @note Does not allocate. Failure details: irllrec_ctx_errmsg(). */
IRLLREC_API irllrec_status irllrec_align_infonce(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                                 const int32_t *pos, double tau, double scale,
                                                 irllrec_mat dx, irllrec_mat dy, double *loss);

/** Pairwise InfoNCE with a weight per anchor row, forward and backward:
 *    L = s * sum_b w_b [ -cos(x_b, y_pos[b]) / tau + log sum_{j<M} exp(cos(x_b, y_j) / tau) ].
 *  A batch whose anchors repeat (the same row of an embedding table drawn
 *  several times) gives the same loss and gradients as one anchor per
 *  distinct row with w = its count, at the cost of the distinct rows only.
 *  With every w_b = 1 it is irllrec_align_infonce() (the same bits).
 *  @param h       handle; not to be used concurrently
 *  @param x       anchors, B x dim, 1 <= B <= max_rows; read only
 *  @param y       candidates, M x dim, 1 <= M <= max_cols; read only
 *  @param pos     B positive column ids in [0, M), or NULL for pos[b] = b (needs B <= M)
 *  @param weight  B weights, finite and >= 0 (0 drops the row), or NULL for all 1
 *  @param tau     temperature, finite, >= IRLLREC_ALIGN_TAU_MIN
 *  @param scale   s, finite
 *  @param dx      B x dim, receives += dL/dX; dx.data == NULL skips it
 *  @param dy      M x dim, receives += dL/dY; dy.data == NULL skips it (as irllrec_align_infonce())
 *  @param[out] loss  L, or NULL
 *  @return as irllrec_align_infonce(), and IRLLREC_E_INVALID_ARG for a bad weight
 *          (named with its index). On failure nothing is written.
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_infonce_weighted(irllrec_align *h, irllrec_mat x,
                                                          irllrec_mat y, const int32_t *pos,
                                                          const float *weight, double tau,
                                                          double scale, irllrec_mat dx,
                                                          irllrec_mat dy, double *loss);

/** Pairwise InfoNCE with a weight per anchor row and a multiplicity per
 *  candidate column, forward and backward:
 *    L = s * sum_b w_b [ -cos(x_b, y_pos[b]) / tau + log sum_{j<M} c_j exp(cos(x_b, y_j) / tau) ].
 *  In-batch negatives drawn with repeats (B anchors against the same B rows,
 *  duplicates included, as IRLLRec's item terms are) give the same loss and
 *  gradients as the distinct rows with w = c = their counts and pos = each
 *  row's own index, at the cost of (distinct rows)^2 logits instead of B^2.
 *  With col_count NULL it is irllrec_align_infonce_weighted() (the same bits).
 *  @param h          handle; not to be used concurrently
 *  @param x          anchors, B x dim, 1 <= B <= max_rows; read only
 *  @param y          candidates, M x dim, 1 <= M <= max_cols; read only
 *  @param pos        B positive column ids in [0, M), or NULL for pos[b] = b (needs B <= M)
 *  @param weight     B row weights, finite and >= 0, or NULL for all 1
 *  @param col_count  M column multiplicities, finite and > 0, or NULL for all 1
 *  @param tau        temperature, finite, >= IRLLREC_ALIGN_TAU_MIN
 *  @param scale      s, finite
 *  @param dx         B x dim, receives += dL/dX; dx.data == NULL skips it
 *  @param dy         M x dim, receives += dL/dY; dy.data == NULL skips it
 *  @param[out] loss  L, or NULL
 *  @return as irllrec_align_infonce_weighted(), and IRLLREC_E_INVALID_ARG for a bad
 *          col_count (named with its index). On failure nothing is written.
 *  @note Does not allocate. The fused kernels (IRLLREC_XENT) do not take column
 *        multiplicities; this call always runs the reference engine. */
IRLLREC_API irllrec_status irllrec_align_infonce_counts(irllrec_align *h, irllrec_mat x,
                                                        irllrec_mat y, const int32_t *pos,
                                                        const float *weight,
                                                        const float *col_count, double tau,
                                                        double scale, irllrec_mat dx,
                                                        irllrec_mat dy, double *loss);

/** Exact translation alignment with the handle's noise mode (fresh noise each call).
 *  @param h      handle; not to be used concurrently
 *  @param x      N x dim, N <= max_rows and N <= max_cols; read only, borrowed for this call
 *  @param y      N x dim; read only
 *  @param dx     N x dim, receives += dL/dX (data == NULL skips); may overlap the others
 *  @param dy     N x dim, receives += dL/dY (data == NULL skips); may overlap the others
 *  @param[out] loss  L, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC.
 *          On failure nothing is written and the generator does not advance.
 *  @note Does not allocate. Memory is O(threads x block), never N x N. */
IRLLREC_API irllrec_status irllrec_align_translation(irllrec_align *h, irllrec_mat x,
                                                     irllrec_mat y, irllrec_mat dx,
                                                     irllrec_mat dy, double *loss);

/** Exact translation alignment with caller-given noise (tests, golden comparisons).
 *  The generator is not used and the noise mode is ignored.
 *  @param h      handle; not to be used concurrently
 *  @param x      N x dim; read only
 *  @param y      N x dim; read only
 *  @param eps_x  N x dim noise for X; read only
 *  @param eps_y  N x dim noise for Y; read only
 *  @param dx     N x dim, receives += dL/dX (data == NULL skips)
 *  @param dy     N x dim, receives += dL/dY (data == NULL skips)
 *  @param[out] loss  L, or NULL
 *  @return as irllrec_align_translation()
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_translation_noise(irllrec_align *h, irllrec_mat x,
                                                           irllrec_mat y, irllrec_mat eps_x,
                                                           irllrec_mat eps_y, irllrec_mat dx,
                                                           irllrec_mat dy, double *loss);

/** One row block of the exact translation loss, for a caller that holds
 *  only some rows of X (a rank of a node-sharded run, docs/distributed.md):
 *    L_rows = -(1/N) sum_{n = row0}^{row0+rows-1} log( exp(c_nn) / (sum_m exp(c_nm) + 1e-8) + 1e-8 ),
 *  the sum over m running over all N rows of Y. The noise of all N rows is
 *  drawn exactly as irllrec_align_translation() draws it (same generator
 *  advance), so blocks that partition [0, N), each computed from the same
 *  generator state, give losses and dY that add up to the exact call's (up
 *  to the order of the sums) and dX blocks equal to its rows.
 *  @param h      handle; N <= max_rows and N <= max_cols; not to be used concurrently
 *  @param x      rows x dim: rows row0 .. row0+rows-1 of X; read only
 *  @param row0   the first row's index in [0, N - rows]
 *  @param y      N x dim, all of Y; read only
 *  @param dx     rows x dim, receives += dL_rows/dX for those rows (data == NULL skips)
 *  @param dy     N x dim, receives += dL_rows/dY (data == NULL skips)
 *  @param[out] loss  L_rows, or NULL
 *  @return as irllrec_align_translation()
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_translation_rows(irllrec_align *h, irllrec_mat x,
                                                          int64_t row0, irllrec_mat y,
                                                          irllrec_mat dx, irllrec_mat dy,
                                                          double *loss);

/** Sampled translation alignment: an APPROXIMATION of the exact loss. The sum
 *  runs over a subset S of nodes, as rows and as columns (so every row's
 *  positive is in its denominator):
 *    L_S = -(1/|S|) sum_{n in S} log( exp(c_nn) / (sum_{m in S} exp(c_nm) + 1e-8) + 1e-8 ).
 *  With S = all nodes this is the exact loss.
 *  @param h      handle; not to be used concurrently
 *  @param x      N x dim; read only
 *  @param y      N x dim; read only
 *  @param ids    n_ids node ids in [0, N) (e.g. the batch nodes; repeats allowed),
 *                or NULL to draw n_ids distinct nodes from the handle's generator
 *  @param n_ids  |S|, 1 <= n_ids <= N
 *  @param dx     N x dim, receives += dL/dX in the rows named in S only (data == NULL skips)
 *  @param dy     N x dim, receives += dL/dY in the rows named in S only (data == NULL skips)
 *  @param[out] loss  L_S, or NULL
 *  Noise as irllrec_align_translation().
 *  @return as irllrec_align_translation()
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_align_translation_sampled(irllrec_align *h, irllrec_mat x,
                                                             irllrec_mat y, const int32_t *ids,
                                                             int64_t n_ids, irllrec_mat dx,
                                                             irllrec_mat dy, double *loss);

/** Name of the kernels the exact alignment losses run with now.
 *  @return "fused-avx512", "fused-avx2" or "fused-c" (logits formed and
 *          exponentiated in registers, capped at what the running CPU has), or
 *          "reference" (sgemm blocks of logits). With the environment variable
 *          IRLLREC_XENT unset, the fused kernels where the CPU has AVX2 or
 *          AVX-512 and the library was built with BLAS, else the reference;
 *          "reference" asks for the reference, "fused", "avx512", "avx2" or
 *          "c" for those kernels; a static string that must not be freed.
 *          Losses with tau < 0.025 always run the reference kernels
 *          (docs/math-align.md).
 *  @note Thread-safe unless the environment changes concurrently; never fails,
 *        does not allocate. */
IRLLREC_API const char *irllrec_align_kernel(void);

/** The precision this handle took at create (spec.precision asks; BF16 is
 *  granted where irllrec_align_kernel() named "fused-avx512" at create and
 *  the CPU has AVX512-BF16). A later IRLLREC_XENT that selects another
 *  path runs that path in fp32.
 *  @param h    alignment handle (not NULL)
 *  @param[out] precision  enum irllrec_align_precision
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG for NULL. */
IRLLREC_API irllrec_status irllrec_align_get_precision(const irllrec_align *h,
                                                       int32_t *precision);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_ALIGN_H */
