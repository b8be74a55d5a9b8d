/* libirllrec: interaction-text matching with a momentum teacher (ITM).
 *
 * The pair holds a teacher MLP with the student's shape. The teacher gets no
 * gradients; it follows the student by an exponential moving average
 *   theta_m <- m theta_m + (1 - m) theta          (m = 0.999 by default)
 * called once per step BEFORE the teacher's forward. With the student's
 * output X = student(T) and the teacher's Xm = teacher(T) on the same text T
 * (rows x D):
 *   CE = -(1/rows) sum_n sum_c softmax(Xm_n)_c log_softmax(X_n)_c
 *   dCE/dX_n = (softmax(X_n) - softmax(Xm_n)) / rows
 * IRLLRec weights it as L_itm = w_itm (0.4 w_tran L_tran + alpha CE), alpha =
 * 0.6: the pair exposes alpha; composing L_tran is the caller's business.
 * The student MLP is borrowed and must outlive the pair. */
#ifndef IRLLREC_ITM_H
#define IRLLREC_ITM_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"
#include "mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque ITM pair handle. */
typedef struct irllrec_itm irllrec_itm;

/** Creation parameters. Initialise with irllrec_itm_spec_init(); fields are only appended. */
typedef struct irllrec_itm_spec {
    uint32_t struct_size; /**< sizeof(irllrec_itm_spec) as the caller compiled it */
    int32_t init_equal;   /**< 1 (default): the teacher starts as a copy of the student (paper,
                               ALBEF). 0: the released code's behaviour, the teacher is
                               re-initialised (Xavier, from @p seed) after the copy. */
    double momentum;      /**< EMA momentum m in [0, 1] (default 0.999) */
    double alpha;         /**< CE share in L_itm, in [0, 1] (default 0.6); informational */
    uint64_t seed;        /**< teacher seed when init_equal == 0 (default 0; mixed with a
                               component id, so it differs from a student with the same seed) */
} irllrec_itm_spec;

/** Fill @p spec with defaults and set its struct_size. NULL does nothing. */
IRLLREC_API void irllrec_itm_spec_init(irllrec_itm_spec *spec, uint32_t struct_size);

/** Create the pair for @p student (borrowed; same ctx; must outlive the pair).
 *  Allocates the teacher (no gradients) and 2 x max_rows x out_dim floats.
 *  @param[out] out  new handle or NULL; free with irllrec_itm_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_VERSION, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_itm_create(irllrec_ctx *ctx, const irllrec_itm_spec *spec,
                                              irllrec_mlp *student, irllrec_itm **out);

/** Free the pair and its teacher (not the student); NULL is allowed. */
IRLLREC_API void irllrec_itm_free(irllrec_itm *itm);

/** EMA step theta_m <- m theta_m + (1 - m) theta over every parameter block.
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG. Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_update_teacher(irllrec_itm *itm);

/** Teacher forward on @p text_in and the CE against @p student_out.
 *  @param text_in      rows x in_dim, the text the student was run on (1 <= rows <= max_rows)
 *  @param student_out  rows x out_dim: the student's output on @p text_in
 *  @param[out] ce      the CE, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC
 *          (non-finite CE: backward then returns E_STATE)
 *  @note Caches softmax(X) and softmax(Xm). Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_forward(irllrec_itm *itm, irllrec_mat text_in,
                                               irllrec_mat student_out, double *ce);

/** dx += scale * dCE/dX = scale * (softmax(X) - softmax(Xm)) / rows, for the last forward.
 *  @param dx  rows x out_dim, accumulated (feed it to irllrec_mlp_backward of the student)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (also non-finite scale), IRLLREC_E_SHAPE,
 *          IRLLREC_E_STATE (no successful forward) */
IRLLREC_API irllrec_status irllrec_itm_backward(irllrec_itm *itm, double scale, irllrec_mat dx);

/** The teacher (borrowed, owned by the pair): read or load its parameters
 *  with irllrec_mlp_get_param / irllrec_mlp_set_param. Do not free it and do
 *  not call irllrec_mlp_backward on it (it has no gradients: E_STATE).
 *  @return NULL for a NULL pair */
IRLLREC_API irllrec_mlp *irllrec_itm_teacher(irllrec_itm *itm);

/** Change the EMA momentum. @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL, not in [0, 1]) */
IRLLREC_API irllrec_status irllrec_itm_set_momentum(irllrec_itm *itm, double momentum);

/** Current momentum, or -1 for NULL. */
IRLLREC_API double irllrec_itm_momentum(const irllrec_itm *itm);

/** The CE share alpha, or -1 for NULL. */
IRLLREC_API double irllrec_itm_alpha(const irllrec_itm *itm);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_ITM_H */
