/* libirllrec: Adam / AdamW over a fixed list of parameter blocks.
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

/** Opaque optimizer handle. */
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

/** Write defaults (lr 1e-3, betas 0.9/0.999, eps 1e-8, no decay). */
IRLLREC_API void irllrec_adam_spec_init(irllrec_adam_spec *spec, uint32_t struct_size);

/** Create an optimizer for @p n_blocks parameter blocks of the given sizes.
 *  @param sizes    n_blocks element counts, each > 0; copied
 *  @param[out] out new handle or NULL; free with irllrec_adam_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_adam_create(irllrec_ctx *ctx, const irllrec_adam_spec *spec,
                                               const int64_t *sizes, int32_t n_blocks,
                                               irllrec_adam **out);

/** Free; NULL is allowed. */
IRLLREC_API void irllrec_adam_free(irllrec_adam *adam);

/** One update of every block: params[b][j] -= lr * mhat / (sqrt(vhat) + eps).
 *  @param params  n_blocks pointers to caller-owned parameters (updated in place)
 *  @param grads   n_blocks pointers to their gradients (read only)
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL pointers)
 *  @note Does not allocate. Does not check gradients for finiteness. */
IRLLREC_API irllrec_status irllrec_adam_step(irllrec_adam *adam, float *const *params,
                                             const float *const *grads);

/** Change the learning rate. @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (lr <= 0 or not finite) */
IRLLREC_API irllrec_status irllrec_adam_set_lr(irllrec_adam *adam, double lr);

/** Number of steps taken so far (0 after create), or -1 for NULL. */
IRLLREC_API int64_t irllrec_adam_steps(const irllrec_adam *adam);

/** Size of the optimizer state for checkpoints: 2 * (sum of the block sizes) floats.
 *  @param[out] n_floats  receives the size
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL pointers)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_state_size(const irllrec_adam *adam, int64_t *n_floats);

/** Copy the step count and the moments to caller buffers.
 *  Layout of @p state: the first moments m of block 0, 1, ..., n_blocks-1
 *  (sizes[b] floats each, in block order), then the second moments v in the
 *  same order. Restoring it with irllrec_adam_set_state() continues the run
 *  bit for bit.
 *  @param[out] t      receives irllrec_adam_steps()
 *  @param[out] state  @p n_floats floats, caller-owned
 *  @param n_floats    must equal irllrec_adam_state_size()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers), IRLLREC_E_SHAPE (wrong size)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_get_state(const irllrec_adam *adam, int64_t *t,
                                                  float *state, int64_t n_floats);

/** Replace the step count and the moments (layout as irllrec_adam_get_state()).
 *  The state is validated first and the handle is unchanged on failure.
 *  @param t  steps already taken (>= 0)
 *  @param state  @p n_floats floats, borrowed for this call only
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers, t < 0), IRLLREC_E_SHAPE
 *          (wrong size), IRLLREC_E_NUMERIC (a non-finite moment or a negative second moment)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_adam_set_state(irllrec_adam *adam, int64_t t,
                                                  const float *state, int64_t n_floats);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_ADAM_H */
