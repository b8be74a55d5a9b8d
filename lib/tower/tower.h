/* Internal interface of the towers (MLP, interaction intent encoder, ITM
 * pair) for the hook, the optimizer, the EMA and the model file. */
#ifndef IRLLREC_TOWER_H
#define IRLLREC_TOWER_H

#include "../internal.h"
#include "irllrec/mlp.h"
#include "irllrec/intent.h"
#include "irllrec/itm.h"

/* Component ids mixed into RNG seeds so components never share a stream. */
#define IRLLREC__STREAM_MLP 0x4d4c5001u
#define IRLLREC__STREAM_INTENT 0x494e5401u
#define IRLLREC__STREAM_ITM 0x49544d01u

/* Nonzero when the memory spans of two matrix views intersect. */
int irllrec__mats_overlap(irllrec_mat a, irllrec_mat b);

/* ---- MLP ---------------------------------------------------------------- */

/* The MLP's parameter blocks W1, b1, W2, b2 (named "<prefix>.0.weight",
 * "<prefix>.0.bias", "<prefix>.2.weight", "<prefix>.2.bias", PyTorch's
 * Sequential indices). Borrowed: valid until irllrec_mlp_free. grad is NULL
 * for a handle created without gradients (the ITM teacher). */
void irllrec__mlp_params(irllrec_mlp *mlp, irllrec__param **blocks, int *n);

/* Set the name prefix of the parameter blocks (default "mlp"); at most 36
 * bytes so the names fit irllrec__param.name. Returns E_INVALID_ARG if too long. */
irllrec_status irllrec__mlp_set_name(irllrec_mlp *mlp, const char *prefix);

/* The resolved spec (hidden_dim filled in). */
void irllrec__mlp_get_spec(const irllrec_mlp *mlp, irllrec_mlp_spec *spec);

/* As irllrec_mlp_create; with_grad == 0 allocates no gradients and no
 * backward workspace (backward then returns E_STATE). */
irllrec_status irllrec__mlp_create(irllrec_ctx *ctx, const irllrec_mlp_spec *spec, int with_grad,
                                   irllrec_mlp **out);

/* The MLP's context. */
irllrec_ctx *irllrec__mlp_ctx(const irllrec_mlp *mlp);

/* ---- interaction intent encoder ------------------------------------------ */

/* Blocks C_u ("<prefix>.user_intent", d x K) and C_i ("<prefix>.item_intent"). */
void irllrec__intent_params(irllrec_intent *enc, irllrec__param **blocks, int *n);

/* ---- ITM ------------------------------------------------------------------ */

/* The teacher's blocks (grad == NULL), in the student's order. */
void irllrec__itm_teacher_params(irllrec_itm *itm, irllrec__param **blocks, int *n);

#endif /* IRLLREC_TOWER_H */
