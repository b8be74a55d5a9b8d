/** @file
 * libirllrec: interaction-text matching with a momentum teacher (ITM).
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

/** Opaque ITM pair handle. Not thread-safe: one thread at a time for the pair
 *  and its student (and their context tree). */
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

/** Fill @p spec with defaults (init_equal 1, momentum 0.999, alpha 0.6, seed 0)
 *  and set its struct_size to @p struct_size (kept, not capped: bytes past this
 *  library's struct are zeroed, and create refuses a field it does not know).
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_itm_spec) as the caller sees it; exactly
 *                      this many bytes are written (none below 4)
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_itm_spec_init(irllrec_itm_spec *spec, uint32_t struct_size);

/** Create the pair for @p student.
 *  Allocates the teacher (no gradients) and 2 x max_rows x out_dim floats.
 *  @param ctx      context (allocator, errors); must not be NULL, the student's
 *                  context, and outlive the pair
 *  @param spec     must not be NULL; read during this call only. A shorter (older)
 *                  spec is zero-extended, a longer one must have an all-zero tail.
 *  @param student  the student MLP; borrowed for the pair's whole life (must outlive it)
 *  @param[out] out must not be NULL; receives the new pair, owned by the caller,
 *                  or NULL on failure; free with irllrec_itm_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument, momentum or alpha
 *          outside [0, 1], init_equal not 0 or 1), IRLLREC_E_VERSION, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_itm_create(irllrec_ctx *ctx, const irllrec_itm_spec *spec,
                                              irllrec_mlp *student, irllrec_itm **out);

/** Free the pair and its teacher (not the student).
 *  @param itm  may be NULL (nothing happens); invalid after the call, as is its teacher */
IRLLREC_API void irllrec_itm_free(irllrec_itm *itm);

/** EMA step theta_m <- m theta_m + (1 - m) theta over every parameter block.
 *  @param itm  the pair
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL handle)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_update_teacher(irllrec_itm *itm);

/** Teacher forward on @p text_in and the CE against @p student_out.
 *  @param itm          the pair
 *  @param text_in      rows x in_dim, the text the student was run on (1 <= rows <= max_rows)
 *  @param student_out  rows x out_dim: the student's output on @p text_in
 *  @param[out] ce      the CE, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC
 *          (non-finite CE: backward then returns E_STATE)
 *  @note Caches softmax(X) and softmax(Xm). Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_forward(irllrec_itm *itm, irllrec_mat text_in,
                                               irllrec_mat student_out, double *ce);

/** The first half of irllrec_itm_forward(): the teacher on @p text_in. The
 *  teacher depends on the text only, so a caller can run it before (or
 *  apart from) the student.
 *  @param itm      the pair
 *  @param text_in  rows x in_dim, 1 <= rows <= max_rows; read only
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_teacher_forward(irllrec_itm *itm, irllrec_cmat text_in);

/** The second half: the CE of @p student_out against the last teacher
 *  forward (same rows), cached for irllrec_itm_backward().
 *  @param itm          the pair
 *  @param student_out  rows x out_dim; read only
 *  @param[out] ce      the CE, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_STATE
 *          (no teacher forward since the last loss), IRLLREC_E_NUMERIC
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_loss(irllrec_itm *itm, irllrec_cmat student_out, double *ce);

/** dx += scale * dCE/dX = scale * (softmax(X) - softmax(Xm)) / rows, for the last forward.
 *  @param itm    the pair
 *  @param scale  finite weight of the CE term (e.g. w_itm * alpha)
 *  @param dx  rows x out_dim, accumulated (feed it to irllrec_mlp_backward of the student)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (also non-finite scale), IRLLREC_E_SHAPE,
 *          IRLLREC_E_STATE (no successful forward)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_itm_backward(irllrec_itm *itm, double scale, irllrec_mat dx);

/** The teacher (borrowed, owned by the pair): read or load its parameters
 *  with irllrec_mlp_get_param / irllrec_mlp_set_param. Do not free it and do
 *  not call irllrec_mlp_backward on it (it has no gradients: E_STATE).
 *  @param itm  the pair; may be NULL
 *  @return the teacher, valid until irllrec_itm_free(); NULL for a NULL pair */
IRLLREC_API irllrec_mlp *irllrec_itm_teacher(irllrec_itm *itm);

/** Change the EMA momentum for the following updates.
 *  @param itm       the pair
 *  @param momentum  new m in [0, 1]
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL, not in [0, 1]; nothing changes) */
IRLLREC_API irllrec_status irllrec_itm_set_momentum(irllrec_itm *itm, double momentum);

/** Current EMA momentum.
 *  @param itm  the pair; may be NULL
 *  @return m, or -1 for NULL */
IRLLREC_API double irllrec_itm_momentum(const irllrec_itm *itm);

/** The CE share alpha from the spec (informational: the library does not apply it).
 *  @param itm  the pair; may be NULL
 *  @return alpha, or -1 for NULL */
IRLLREC_API double irllrec_itm_alpha(const irllrec_itm *itm);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_ITM_H */
