/* Internal interface of the towers (MLP, interaction intent encoder, ITM
 * pair) for the hook, the optimizer, the EMA and the model file. */
#ifndef IRLLREC_TOWER_H
#define IRLLREC_TOWER_H

#include "../internal.h"
#include "../core/streams.h"
#include "irllrec/mlp.h"
#include "irllrec/intent.h"
#include "irllrec/itm.h"


/* Nonzero when the memory spans of two matrix views intersect. */
int irllrec__mats_overlap(irllrec_mat a, irllrec_mat b);
#define irllrec__cmats_overlap(a, b) irllrec__mats_overlap(irllrec__mat_of(a), irllrec__mat_of(b))

/* n values from U(-bound, bound), drawn in order from r. Xavier-uniform
 * (Glorot & Bengio) is bound = sqrt(6 / (fan_in + fan_out)). */
void irllrec__init_uniform(irllrec__rng *r, float *x, int64_t n, double bound);

/* ---- sizes before create (see lib/internal.h) --------------------------- */
int64_t irllrec__mlp_bytes(const irllrec_mlp_spec *spec, int with_grad);  /* -1: bad spec */
int64_t irllrec__mlp_param_count(const irllrec_mlp_spec *spec);           /* W1 b1 W2 b2 */
/* Floats of the gradient buffer (the blocks with their alignment padding). */
int64_t irllrec__mlp_grad_floats(const irllrec_mlp_spec *spec);
int64_t irllrec__itm_bytes(const irllrec_mlp_spec *student);
int64_t irllrec__intent_bytes(const irllrec_intent_spec *spec, int32_t n_threads, int64_t nnz);

/* ---- MLP ---------------------------------------------------------------- */

/* The MLP's parameter blocks W1, b1, W2, b2 (named "<prefix>.0.weight",
 * "<prefix>.0.bias", "<prefix>.2.weight", "<prefix>.2.bias", PyTorch's
 * Sequential indices). Borrowed: valid until irllrec_mlp_free. grad is NULL
 * for a handle created without gradients (the ITM teacher). */
void irllrec__mlp_params(irllrec_mlp *mlp, irllrec__param **blocks, int *n);
/* The gradient buffer, all four blocks (*n floats, padding included). */
float *irllrec__mlp_grad_buf(irllrec_mlp *mlp, int64_t *n);

/* Set the name prefix of the parameter blocks (default "mlp"); at most 36
 * bytes so the names fit irllrec__param.name. Returns E_INVALID_ARG if too long. */
irllrec_status irllrec__mlp_set_name(irllrec_mlp *mlp, const char *prefix);

/* The resolved spec (hidden_dim filled in). */
void irllrec__mlp_get_spec(const irllrec_mlp *mlp, irllrec_mlp_spec *spec);

/* As irllrec_mlp_create; with_grad == 0 allocates no gradients and no
 * backward workspace (backward then returns E_STATE). */
irllrec_status irllrec__mlp_create(irllrec_ctx *ctx, const irllrec_mlp_spec *spec, int with_grad,
                                   irllrec_mlp **out);

/* hsh folded with the signs (> 0 or not) of the first rows x hidden
 * entries of the activation cache, fp32 or bf16: LeakyReLU outputs of the
 * last forward, whose signs are those of the pre-activations (a bf16 value
 * keeps its sign; only one below bf16's smallest subnormal reads as 0). */
uint64_t irllrec__mlp_act_signs(const irllrec_mlp *mlp, int64_t rows, uint64_t hsh);
/* The fp32 activation cache (max_rows x hidden), NULL for a bf16 one. */
const float *irllrec__mlp_act(const irllrec_mlp *mlp);

/* The MLP's context. */
irllrec_ctx *irllrec__mlp_ctx(const irllrec_mlp *mlp);

/* ---- MLP, bf16 text path (mlp_bf16.c; docs/math-towers.md section 5) ----
 * The hook's opt-in: X is bf16 (rows x in_dim, ld ldx), A = X bf16(W1)^T
 * with fp32 accumulation, the rest as the fp32 MLP; backward skips dX and
 * forms dW1 += bf16(dA)^T X the same way. Shapes are checked (O(1)). */

/* Bytes the bf16 path adds to irllrec__mlp_bytes(spec, with_grad): with
 * grad, a student of irllrec__mlp_create_bf16 (negative when its bf16
 * activation cache saves more than the path adds); without, what
 * irllrec__mlp_enable_bf16 adds to a teacher. */
int64_t irllrec__mlp_bf16_bytes(const irllrec_mlp_spec *spec, int with_grad);
/* A trainable MLP for the bf16 path: activation cache in bf16, forward and
 * backward in MLP_BF16_BLOCK row blocks, the fp32 calls refused (E_STATE). */
irllrec_status irllrec__mlp_create_bf16(irllrec_ctx *ctx, const irllrec_mlp_spec *spec,
                                        irllrec_mlp **out);
/* Allocate the bf16 path's buffers of an fp32-cached MLP (the teacher, at
 * create time); E_NOMEM. */
irllrec_status irllrec__mlp_enable_bf16(irllrec_mlp *mlp);
irllrec_status irllrec__mlp_forward_bf16_at(irllrec_mlp *mlp, const uint16_t *x, int64_t ldx,
                                            int64_t rows, int64_t row0, irllrec_mat y);
irllrec_status irllrec__mlp_backward_bf16_at(irllrec_mlp *mlp, const uint16_t *x, int64_t ldx,
                                             int64_t rows, int64_t row0, irllrec_cmat dy);

/* ---- interaction intent encoder ------------------------------------------ */

/* Blocks C_u ("<prefix>.user_intent", d x K) and C_i ("<prefix>.item_intent"). */
void irllrec__intent_params(irllrec_intent *enc, irllrec__param **blocks, int *n);

/* ---- ITM ------------------------------------------------------------------ */

/* The CE of irllrec_itm_forward on raw rows: q (rows x d, ld d) holds the
 * teacher's logits and becomes softmax(q); p (rows x d, ld d) receives
 * softmax(x). Returns -(1/rows) sum_n sum_c q_nc log_softmax(x_n)_c. */
double irllrec__itm_ce_fwd(int64_t rows, int64_t d, const float *x, int64_t ldx, float *q,
                           float *p);

/* Its gradient: dx += scale / rows (p - q), from the p and q above. */
void irllrec__itm_ce_bwd(int64_t rows, int64_t d, const float *p, const float *q, double scale,
                         int64_t mean_rows, float *dx, int64_t lddx);

/* dx += scale / mean_rows (p - q): irllrec_itm_backward with the mean taken
 * over mean_rows rows (a shard's rows are a part of the N-row mean). */
irllrec_status irllrec__itm_backward_mean(irllrec_itm *itm, double scale, int64_t mean_rows,
                                          irllrec_mat dx);

/* The bf16 text path of the teacher (see the MLP's above): enable at
 * create (it also shrinks the teacher's activation cache to one block of
 * rows: irllrec__itm_bf16_extra_bytes is the change, negative for large N),
 * then the teacher forward over bf16 text. */
int64_t irllrec__itm_bf16_extra_bytes(const irllrec_mlp_spec *student);
irllrec_status irllrec__itm_enable_bf16(irllrec_itm *itm);
irllrec_status irllrec__itm_teacher_forward_bf16(irllrec_itm *itm, const uint16_t *x, int64_t ldx,
                                                 int64_t rows);

/* The teacher's blocks (grad == NULL), in the student's order. */
void irllrec__itm_teacher_params(irllrec_itm *itm, irllrec__param **blocks, int *n);

#endif /* IRLLREC_TOWER_H */
