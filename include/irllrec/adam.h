/** @file
 * libirllrec: Adam / AdamW over a fixed list of parameter blocks.
 *
 * The optimizer owns the first and second moments; the parameters and their
 * gradients stay with their owner (the host or another handle) and are passed
 * to each step. Bias corrections follow Kingma & Ba; weight decay, when set,
 * is decoupled (AdamW, Loshchilov & Hutter). */
#ifndef IRLLREC_ADAM_H
#define IRLLREC_ADAM_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque optimizer handle. Not thread-safe: one thread at a time per handle
 *  (and per context tree). */
typedef struct irllrec_adam irllrec_adam;

/** Hyperparameters. Initialise with irllrec_adam_spec_init(); fields are only appended. */
typedef struct irllrec_adam_spec {
    uint32_t struct_size;  /**< sizeof(irllrec_adam_spec) as the caller compiled it */
    int32_t reserved0;     /**< must be zero */
    double lr;             /**< learning rate (> 0; default 1e-3) */
    double beta1;          /**< first-moment decay in [0, 1) (default 0.9) */
    double beta2;          /**< second-moment decay in [0, 1) (default 0.999) */
    double eps;            /**< denominator guard (> 0; default 1e-8) */
    double weight_decay;   /**< decoupled weight decay (>= 0; default 0) */
} irllrec_adam_spec;

/** Write defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay) into the first
 *  @p struct_size bytes of @p spec and set its struct_size to @p struct_size.
 *  Bytes past this library's struct are zeroed and the size is kept, not
 *  capped, so create refuses a field this library does not know (IRLLREC_E_VERSION).
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_adam_spec) as the caller sees it; below 4, nothing is written
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_adam_spec_init(irllrec_adam_spec *spec, uint32_t struct_size);

/** Create an optimizer for @p n_blocks parameter blocks of the given sizes,
 *  with zero moments and a step count of 0.
 *  @param ctx      context (allocator, errors); must not be NULL and must outlive the handle
 *  @param spec     NULL for the defaults; otherwise read during this call only.
 *                  A shorter (older) spec is zero-extended, a longer one must
 *                  have an all-zero tail.
 *  @param sizes    @p n_blocks element counts, each > 0; copied
 *  @param n_blocks number of parameter blocks (> 0)
 *  @param[out] out must not be NULL; receives the new handle, owned by the
 *                  caller, or NULL on failure; free with irllrec_adam_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers, bad hyperparameters,
 *          n_blocks <= 0, a size <= 0), IRLLREC_E_SHAPE (sizes overflow),
 *          IRLLREC_E_VERSION (struct_size), IRLLREC_E_NOMEM
 *  @note Allocates 2 x (sum of sizes) floats of moments through the context. */
IRLLREC_API irllrec_status irllrec_adam_create(irllrec_ctx *ctx, const irllrec_adam_spec *spec,
                                               const int64_t *sizes, int32_t n_blocks,
                                               irllrec_adam **out);

/** Free the optimizer (not the parameters it was stepping).
 *  @param adam  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_adam_free(irllrec_adam *adam);

/** One update of every block: params[b][j] -= lr * mhat / (sqrt(vhat) + eps)
 *  (with weight decay: params[b][j] *= 1 - lr * weight_decay first).
 *  @param adam    the optimizer
 *  @param params  n_blocks pointers to caller-owned parameters (updated in place),
 *                 each holding sizes[b] floats; borrowed for this call only
 *  @param grads   n_blocks pointers to their gradients (read only, not zeroed)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers; nothing changes),
 *          IRLLREC_E_STATE (step counter overflow)
 *  @note Does not allocate. Does not check gradients for finiteness. */
IRLLREC_API irllrec_status irllrec_adam_step(irllrec_adam *adam, float *const *params,
                                             const float *const *grads);

/** Change the learning rate for the following steps (e.g. a schedule).
 *  @param adam  the optimizer
 *  @param lr    new learning rate, finite and > 0
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL handle, lr <= 0 or not finite;
 *          nothing changes)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_set_lr(irllrec_adam *adam, double lr);

/** Change every hyperparameter (lr, betas, eps, weight decay) for the
 *  following steps; the moments and the step count are kept.
 *  @param adam  the optimizer
 *  @param spec  new values, as for irllrec_adam_create() (read during this call only)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, a value out of range;
 *          nothing changes), IRLLREC_E_VERSION
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_set_hparams(irllrec_adam *adam,
                                                    const irllrec_adam_spec *spec);

/** Number of steps taken so far.
 *  @param adam  the optimizer; may be NULL
 *  @return the step count (0 after create), or -1 for NULL */
IRLLREC_API int64_t irllrec_adam_steps(const irllrec_adam *adam);

/** Size of the optimizer state for checkpoints: 2 * (sum of the block sizes) floats.
 *  @param adam           the optimizer
 *  @param[out] n_floats  receives the size
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL pointers)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_state_size(const irllrec_adam *adam, int64_t *n_floats);

/** Copy the step count and the moments to caller buffers.
 *  Layout of @p state: the first moments m of block 0, 1, ..., n_blocks-1
 *  (sizes[b] floats each, in block order), then the second moments v in the
 *  same order. Restoring it with irllrec_adam_set_state() continues the run
 *  bit for bit.
 *  @param adam        the optimizer
 *  @param[out] t      receives irllrec_adam_steps()
 *  @param[out] state  @p n_floats floats, caller-owned
 *  @param n_floats    must equal irllrec_adam_state_size()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers), IRLLREC_E_SHAPE (wrong size)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_get_state(const irllrec_adam *adam, int64_t *t,
                                                  float *state, int64_t n_floats);

/** Replace the step count and the moments (layout as irllrec_adam_get_state()).
 *  The state is validated first and the handle is unchanged on failure.
 *  @param adam   the optimizer
 *  @param t      steps already taken (>= 0)
 *  @param state  @p n_floats floats, borrowed for this call only
 *  @param n_floats  must equal irllrec_adam_state_size()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers, t < 0), IRLLREC_E_SHAPE
 *          (wrong size), IRLLREC_E_NUMERIC (a non-finite moment or a negative second moment)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_set_state(irllrec_adam *adam, int64_t t,
                                                  const float *state, int64_t n_floats);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_ADAM_H */
