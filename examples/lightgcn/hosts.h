/* The backbones of lightgcn_train beside LightGCN, on the same model code
 * (lightgcn.h: graph, propagation, BPR, reg, Adam, thread pool), as the
 * IRLLRec authors' code computes them (docs/hosts.md):
 *
 *   LightGCN  E_final = sum of layers, BPR + reg (lgcn_train_step)
 *   MF        the same with L = 0: E_final = E(0), no propagation
 *   SGL       BPR on the undropped forward; two views, each with its own
 *             edge dropout; cl = InfoNCE(v1[u], v2 all users)
 *             + InfoNCE(v1[i+], v2 all items) + InfoNCE(v1[i-], v2 all items)
 *   SimGCL    BPR on the unperturbed forward; two views that add
 *             eps * sign(E_l) * unit-norm U(0,1) noise after every layer;
 *             cl = the user and positive-item terms
 *
 * InfoNCE(a, b, all, tau) = sum_rows [-cos(a_r, b_r)/tau
 *                           + log sum_j exp(cos(a_r, all_j)/tau)],
 * computed by the library's irllrec_align_infonce; the host adds
 * cl_weight / B times it. With IRLLRec the hook (lgcn_irl) reads E_final of
 * the undropped / unperturbed forward and, for its interaction tower, the
 * layers of view 1 (SGL) or of the unperturbed forward (SimGCL, LightGCN);
 * MF runs the hook graph-free (n_layers 0).
 *
 * Masks and noise are counter-based hashes of (seed, step, view, layer, row),
 * so every result is bitwise the same for any thread count. Host code:
 * malloc, public library API only. */
#ifndef LGCN_HOSTS_H
#define LGCN_HOSTS_H

#include "lightgcn_irl.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Backbones (the values are stored in checkpoints: never renumber). */
enum lgcn_model {
    LGCN_MODEL_LIGHTGCN = 0,
    LGCN_MODEL_SGL = 1,
    LGCN_MODEL_SIMGCL = 2,
    LGCN_MODEL_MF = 3
};
#define LGCN_N_MODELS 4

/** "lightgcn", "sgl", "simgcl", "mf"; NULL for another value. */
const char *lgcn_model_name(int32_t model);
/** The enum value of @p name, or -1. */
int32_t lgcn_model_parse(const char *name);

typedef struct lgcn_host_cfg {
    int32_t model;     /**< enum lgcn_model */
    double cl_weight;  /**< weight of the contrastive loss (SGL, SimGCL) */
    double cl_tau;     /**< its temperature, >= IRLLREC_ALIGN_TAU_MIN */
    double eps;        /**< SimGCL: noise magnitude, >= 0 */
    int32_t max_batch; /**< largest batch */
    uint64_t seed;     /**< noise seed (SimGCL) */
    int32_t cl_precision; /**< products of the contrastive loss: enum
                               irllrec_align_precision (0 fp32; bf16 where granted) */
} lgcn_host_cfg;

typedef struct lgcn_host lgcn_host;

/** Loss terms of one step: total = bpr + reg + cl + hook.total (cl weighted,
 *  the hook's terms as irllrec_hook_losses reports them). */
typedef struct lgcn_host_losses {
    double total, bpr, reg, cl;
    irllrec_hook_losses hook;
} lgcn_host_losses;

/** Make the host for model @p m (whose spec must fit the backbone: L = 0 for
 *  MF; keep_rate = the view keep rate for SGL; 1 for SimGCL). @p ctx gives
 *  the contrastive loss its threads and receives error messages.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (a bad setting, named in
 *          @p err), IRLLREC_E_NOMEM, or the library's error */
irllrec_status lgcn_host_create(irllrec_ctx *ctx, lgcn *m, const lgcn_host_cfg *c,
                                lgcn_host **out, char *err, size_t errcap);
void lgcn_host_free(lgcn_host *h);

/** The precision the contrastive loss took (irllrec_align_get_precision of
 *  its handle): IRLLREC_ALIGN_FP32 for hosts without one. */
int32_t lgcn_host_cl_precision(const lgcn_host *h);

/** One step's gradient: forwards (@p mode LGCN_TRAIN draws new masks and
 *  noise, LGCN_REPLAY repeats the last step's), the host's losses, the hook
 *  step when @p irl is not NULL, one backward per distinct graph, reg:
 *  lgcn_grad(m) holds dTotal/dE(0) afterwards, view 0 is current.
 *  @return IRLLREC_OK, IRLLREC_E_NUMERIC (a non-finite loss), or the
 *          library's error (message in the ctx); no update is due then */
irllrec_status lgcn_host_grad(lgcn_host *h, lgcn_irl *irl, int32_t mode, const int32_t *users,
                              const int32_t *pos, const int32_t *neg, int64_t b,
                              lgcn_host_losses *out);

/** lgcn_host_grad(LGCN_TRAIN) followed by Adam on E(0). */
irllrec_status lgcn_host_train_step(lgcn_host *h, lgcn_irl *irl, lgcn_opt *o,
                                    const int32_t *users, const int32_t *pos,
                                    const int32_t *neg, int64_t b, lgcn_host_losses *out);

/** lgcn_host_train_step for one of several ranks that train one model
 *  together (data-parallel; docs/distributed.md): lgcn_host_grad(LGCN_TRAIN)
 *  on this rank's slice of the global batch, then lgcn_grad(m) -- dTotal/dE(0),
 *  everything the host gathered for the step: BPR, reg, SGL's / SimGCL's
 *  contrastive terms and what the hook handed back through dE_final and
 *  dE(l) -- summed over the ranks in rank order through @p c
 *  (irllrec_collective_allreduce_f32) and divided by the rank count, then
 *  Adam on E(0): every rank takes the same step. The hook, when on, must
 *  have the same layer attached (irllrec_hook_set_collective), which averages
 *  the hook's own gradients. @p c NULL: lgcn_host_train_step. With one rank
 *  the bits are those of lgcn_host_train_step.
 *  @return as lgcn_host_train_step, or the reduction's error (IRLLREC_E_COMM,
 *          message in the host's ctx); no update is made on failure */
irllrec_status lgcn_host_train_step_coll(lgcn_host *h, lgcn_irl *irl, lgcn_opt *o,
                                         const irllrec_collective *c, const int32_t *users,
                                         const int32_t *pos, const int32_t *neg, int64_t b,
                                         lgcn_host_losses *out);

#ifdef __cplusplus
}
#endif
#endif /* LGCN_HOSTS_H */
