/* LightGCN + IRLLRec: the example host wired to the library's hook
 * (include/irllrec/hook.h, docs/hook.md).
 *
 * One training step:
 *   forward(train) -> E(0..L), E_final
 *   BPR on E_final            += dE_final
 *   hook step on (E_final, E(0..L-1))  += dE_final, += dE(l) for l < L
 *   one backward through the graph (dE(l) enters at its layer), + host reg
 *   Adam on E(0); the hook has already stepped its own parameters.
 * total loss = BPR + host reg + hook total (docs/hook.md, "What one step computes").
 *
 * The interaction tower runs over layers l = 0..L-1 (docs/math-towers.md
 * section 3), so the
 * hook is created with n_layers = L and reads E(0..L-1); with L = 0 it runs
 * graph-free on E_final. Its graph is the full train pattern (both
 * directions): the tower learns its own edge weights and ignores the host's
 * edge dropout. Host code: malloc, no library-internal headers. */
#ifndef LGCN_LIGHTGCN_IRL_H
#define LGCN_LIGHTGCN_IRL_H

#include "lightgcn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Hook settings. Fill with lgcn_irl_cfg_init(); a NAN double / negative
 *  integer keeps the hook's (preset's) default. */
typedef struct lgcn_irl_cfg {
    int32_t preset;        /**< enum irllrec_hook_preset (PAPER) */
    int32_t n_intents;     /**< K (128) */
    int32_t max_batch;     /**< largest batch (4096) */
    uint64_t seed;         /**< hook seed (2023) */
    double w_kd, tau_kd, w_pair, tau_pair, w_tran, w_itm, itm_alpha, momentum, lr, reg;
    int32_t tran_mode;     /**< 0 exact, 1 sampled, -1 default (exact) */
    int64_t tran_samples;  /**< sampled mode nodes, <= 0 default */
    int32_t text_precision; /**< irllrec_hook_spec.text_precision (0 = fp32) */
    const irllrec_collective *shard; /**< non-NULL: a node-sharded hook over this layer
                                          (irllrec_hook_create_sharded; collective) */
    int32_t reduce_rows;   /**< irllrec_hook_spec.reduce_rows (0 = the hook's 512) */
    int32_t align_precision; /**< irllrec_hook_spec.align_precision (0 = fp32) */
} lgcn_irl_cfg;

void lgcn_irl_cfg_init(lgcn_irl_cfg *c);
/** sizeof(lgcn_irl_cfg): what a binding that mirrors the struct checks first. */
size_t lgcn_irl_cfg_size(void);

typedef struct lgcn_irl lgcn_irl;

/** Loss terms of one step (hook terms unweighted as irllrec_hook_losses). */
typedef struct lgcn_irl_losses {
    double total;  /**< bpr + reg + hook.total */
    double bpr, reg;
    irllrec_hook_losses hook;
} lgcn_irl_losses;

/** Wall-clock seconds of the host phases of the last step. */
typedef struct lgcn_irl_times {
    double forward, bpr, hook, backward, adam, clear;
} lgcn_irl_times;

/** Create the hook for model @p m. A text matrix with cols == 0 is absent
 *  (a profile or intent pair must be both present or both absent); one with
 *  cols > 0 but data == NULL is announced and must be set later through
 *  irllrec_hook_set_text(lgcn_irl_hook(x), ...) (saves a host copy). The
 *  matrices are copied. With layers, the hook gets the model's own train
 *  graph (lgcn_adjacency). Errors go to @p ctx's message.
 *  @return as irllrec_hook_create / set_text / set_graph, or IRLLREC_E_NOMEM */
irllrec_status lgcn_irl_create(irllrec_ctx *ctx, lgcn *m, const lgcn_irl_cfg *c,
                                irllrec_mat usr_prf, irllrec_mat itm_prf,
                               irllrec_mat usr_int, irllrec_mat itm_int, lgcn_irl **out);
void lgcn_irl_free(lgcn_irl *x);
irllrec_hook *lgcn_irl_hook(lgcn_irl *x);

/** Forward in @p mode, BPR, hook step, backward + reg: lgcn_grad(m) holds
 *  dTotal/dE(0) afterwards. The hook steps its own parameters (it cannot be
 *  asked for gradients alone through the public API). No Adam on E(0).
 *  @return IRLLREC_OK, or the hook's error (E_NUMERIC for a non-finite BPR);
 *          on failure lgcn_grad is unspecified and no update is due */
irllrec_status lgcn_irl_grad(lgcn_irl *x, int32_t mode, const int32_t *users, const int32_t *pos,
                             const int32_t *neg, int64_t b, lgcn_irl_losses *out);

/** The hook's step alone, for hosts that run their own forwards (hosts.c:
 *  the hook may read E_final of one forward and the layers of another).
 *  @p final: E_final, N x d (users first); @p layers: E(0..L-1), N x d each
 *  (unused when the hook is graph-free). ADDS dL/dE_final into @p df (N x d)
 *  and dL/dE(l) into lgcn_irl_layer_grads(x), which the caller clears after
 *  its backward (lgcn_irl_clear_layer_grads). The hook steps its own
 *  parameters. @return as irllrec_hook_step */
irllrec_status lgcn_irl_hook_step(lgcn_irl *x, const float *final, const float *const *layers,
                                  const int32_t *users, const int32_t *pos, const int32_t *neg,
                                  int64_t b, float *df, irllrec_hook_losses *hl);
/** L + 1 entries (the last NULL) for lgcn_backward's dlayer, or NULL (L = 0). */
const float *const *lgcn_irl_layer_grads(const lgcn_irl *x);
void lgcn_irl_clear_layer_grads(lgcn_irl *x);

/** lgcn_irl_grad(LGCN_TRAIN) followed by Adam on E(0). */
irllrec_status lgcn_irl_train_step(lgcn_irl *x, lgcn_opt *o, const int32_t *users,
                                   const int32_t *pos, const int32_t *neg, int64_t b,
                                   lgcn_irl_losses *out);

/** Phase timings of the last lgcn_irl_grad / train_step. */
void lgcn_irl_last_times(const lgcn_irl *x, lgcn_irl_times *out);

/** "fp32", "bf16-logits", "bf16": an irllrec_align_precision as the trainer's
 *  --cl-precision and --align-precision and the benchmarks name it (any other
 *  value: "fp32"); lgcn_precision_parse is the inverse (-1 for another string). */
const char *lgcn_precision_name(int32_t p);
int32_t lgcn_precision_parse(const char *s);

/** Apply every non-default field of @p c to hook @p h (used by create). */
irllrec_status lgcn_irl_apply_params(irllrec_hook *h, const lgcn_irl_cfg *c);

#ifdef __cplusplus
}
#endif
#endif /* LGCN_LIGHTGCN_IRL_H */
