/* LightGCN (He et al., SIGIR 2020) as the host model of the libirllrec
 * examples, with the arithmetic of the reference code (docs/lightgcn.md):
 *
 *   A  = [[0, R], [R^T, 0]] over N = U + I nodes, Â = D^-1/2 A D^-1/2
 *   E(0) = [E_u; E_i]      (the only parameters; Xavier-uniform per block)
 *   E(l+1) = Â' E(l)       (Â' = Â with each DIRECTED edge kept with
 *                           probability keep_rate during training; kept
 *                           values are not rescaled)
 *   E_final = sum_{l=0..L} E(l)
 *   BPR = mean_b softplus(<u, i-> - <u, i+>) over rows of E_final
 *   reg = lambda * |E(0)|_F^2
 *
 * Forward and backward are written by hand. Every row of every product is
 * computed by exactly one thread in a fixed order and the edge mask is a
 * counter-based hash of (seed, step, edge), so results are bitwise the same
 * for any thread count. This is host code, not part of the library: it uses
 * malloc and its own small thread pool. */
#ifndef LGCN_LIGHTGCN_H
#define LGCN_LIGHTGCN_H

#include <stddef.h>
#include <stdint.h>
#include "irllrec/irllrec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lgcn lgcn;

/** Model and optimiser settings. Fill with lgcn_spec_init(), then edit. */
typedef struct lgcn_spec {
    int64_t n_users;     /**< U (> 0) */
    int64_t n_items;     /**< I (> 0) */
    int32_t dim;         /**< embedding size d (default 32) */
    int32_t n_layers;    /**< L >= 0 (default 3) */
    double keep_rate;    /**< edge keep probability in (0, 1] during training (default 0.8) */
    double reg;          /**< lambda of lambda * |E(0)|^2 (default 1e-6) */
    uint64_t seed;       /**< initialisation and edge-dropout seed (default 2023) */
    int32_t n_threads;   /**< worker threads including the caller (default 1) */
} lgcn_spec;

/** The authors' LightGCN baseline configuration. */
void lgcn_spec_init(lgcn_spec *s);

/** Build the normalised graph from the TRAIN user->items CSR and initialise
 *  E(0).
 *  @param err  optional buffer for a failure message
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_SHAPE, IRLLREC_E_NOMEM */
irllrec_status lgcn_create(const lgcn_spec *s, const irllrec_csr *train, lgcn **out, char *err,
                           size_t errcap);
void lgcn_free(lgcn *m);

int64_t lgcn_n_users(const lgcn *m);
int64_t lgcn_n_nodes(const lgcn *m);
int32_t lgcn_dim(const lgcn *m);
int32_t lgcn_n_layers(const lgcn *m);
/** Directed edges of the full graph (2 x train interactions). */
int64_t lgcn_n_edges(const lgcn *m);

/** E(0), N x d row-major: users first, then items. Writable (e.g. to load a checkpoint). */
float *lgcn_params(lgcn *m);
/** dLoss/dE(0), N x d, filled by lgcn_backward(). */
float *lgcn_grad(lgcn *m);
/** E(l) for l = 0..L from the last forward (E(0) is the parameter block). */
const float *lgcn_layer(const lgcn *m, int32_t l);
/** E_final from the last forward. */
const float *lgcn_final(const lgcn *m);
/* The N x N train graph's pattern (both directions, users first), as
 * irllrec_graph_create built it; borrowed, valid until lgcn_free. */
void lgcn_adjacency(const lgcn *m, irllrec_csr *adj);
/** A zeroed N x d scratch buffer the caller may use as dLoss/dE_final
 *  (lgcn_train_step does). Valid until lgcn_free(). */
float *lgcn_dfinal_buffer(lgcn *m);

/** Forward modes. */
enum lgcn_mode {
    LGCN_EVAL = 0,   /**< full graph, no dropout (evaluation) */
    LGCN_TRAIN = 1,  /**< a training step: advance the step counter and draw a
                          fresh edge mask (when keep_rate < 1) */
    LGCN_REPLAY = 2  /**< the last training step's mask again (gradient checks,
                          or a host that must recompute E); as TRAIN before any */
};

/** Propagate E(0) -> E(1..L) and E_final with the given lgcn_mode. */
void lgcn_forward(lgcn *m, int32_t mode);

/** Directed edges used by the last forward (all of them unless dropped). */
int64_t lgcn_edges_used(const lgcn *m);

/** Back-propagate through the last forward's graph:
 *  grad = dE(0) of a loss whose gradient w.r.t. E_final is @p dfinal and,
 *  optionally, w.r.t. each E(l) is dlayer[l] (dlayer NULL or any entry NULL
 *  means zero). grad is OVERWRITTEN. All arrays are N x d. */
void lgcn_backward(lgcn *m, const float *dfinal, const float *const *dlayer);

/** lgcn_backward() followed by lgcn_reg(), with the reg gradient fused into
 *  the last layer's pass (same bits as the two calls). Returns the reg loss. */
double lgcn_backward_reg(lgcn *m, const float *dfinal, const float *const *dlayer);

/** Mean BPR loss over @p b triples on E_final; ADDS its gradient w.r.t.
 *  E_final into @p dfinal (N x d). Ids: users in [0,U), items in [0,I).
 *  Returns NaN if its per-batch scratch cannot grow (out of memory). */
double lgcn_bpr(lgcn *m, const int32_t *users, const int32_t *pos, const int32_t *neg, int64_t b,
                float *dfinal);

/** reg * |E(0)|^2, and ADDS 2 * reg * E(0) into grad. */
double lgcn_reg(lgcn *m);

/** Run fn(ud, t, nt) on the model's threads (t = 0 on the caller) and wait. */
void lgcn_run(lgcn *m, void (*fn)(void *ud, int32_t t, int32_t nt), void *ud);
/** Equal contiguous share [*lo, *hi) of the N node rows for thread t. */
void lgcn_row_share(const lgcn *m, int32_t t, int64_t *lo, int64_t *hi);
int32_t lgcn_n_threads(const lgcn *m);

/** Forward states ("views"): a host that needs several forwards of one step
 *  at once (contrastive views, each with its own edge mask or perturbation)
 *  keeps them in the model. View 0 is the model's own; lgcn_views_alloc(m, n)
 *  makes views 1..n-1 (E(1..L), E_final and an edge mask each; E(0) is
 *  shared). lgcn_view_select(m, v) makes view v current: lgcn_forward,
 *  lgcn_backward(_reg), lgcn_bpr, lgcn_layer and lgcn_final then act on it
 *  (lgcn_grad and lgcn_dfinal_buffer are shared). An out-of-range v is
 *  ignored. @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (n > 16), IRLLREC_E_NOMEM */
irllrec_status lgcn_views_alloc(lgcn *m, int32_t n);
void lgcn_view_select(lgcn *m, int32_t v);
/** Free views 1.. (view 0, the model's own, stays current): for a host whose
 *  views are no longer needed, e.g. after training. */
void lgcn_views_release(lgcn *m);
int32_t lgcn_view_current(const lgcn *m);

/** Called on the model's threads after each propagated layer of a forward,
 *  with Y = E(layer) (layer = 1..L) and F = E_final so far (including Y), to
 *  change the layer in place before the next layer propagates it (SimGCL's
 *  perturbation). Work on rows lgcn_row_share(m, t, ...) only. */
typedef void (*lgcn_layer_fn)(void *ud, int32_t layer, float *Y, float *F, int32_t t,
                              int32_t nt);
/** Install @p fn (NULL: none) for the following forwards. */
void lgcn_set_layer_fn(lgcn *m, lgcn_layer_fn fn, void *ud);

/** Adam over E(0) through irllrec_adam: one handle (and one ctx) per thread
 *  share, which is exact because Adam is elementwise. */
typedef struct lgcn_opt lgcn_opt;
/** @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM */
irllrec_status lgcn_opt_create(lgcn *m, double lr, lgcn_opt **out, char *err, size_t errcap);
void lgcn_opt_free(lgcn_opt *o);
/** One Adam step of E(0) with the model's current grad. */
irllrec_status lgcn_opt_step(lgcn_opt *o);

/** A whole training step on one batch: forward(train), BPR into a zeroed
 *  dE_final, backward, reg, Adam. Writes the two loss terms (may be NULL).
 *  @return IRLLREC_OK, IRLLREC_E_NUMERIC (non-finite loss: no update made) */
irllrec_status lgcn_train_step(lgcn *m, lgcn_opt *o, const int32_t *users, const int32_t *pos,
                               const int32_t *neg, int64_t b, double *bpr_out, double *reg_out);

/** Training steps taken (drives the edge-mask stream). */
int64_t lgcn_steps(const lgcn *m);
/** Restore the step counter (a checkpoint): the next LGCN_TRAIN forward
 *  draws the edge mask of step @p steps + 1, as the saved run would have. */
void lgcn_set_steps(lgcn *m, int64_t steps);

/** Adam state of E(0), independent of the thread shares: @p mom and @p vel
 *  are N x d (first and second moments of each element), @p t the step count.
 *  @return IRLLREC_OK or the library's error */
irllrec_status lgcn_opt_get_state(const lgcn_opt *o, int64_t *t, float *mom, float *vel);
/** Restore it (validated by irllrec_adam_set_state per share; on failure the
 *  shares before the failing one are already replaced). */
irllrec_status lgcn_opt_set_state(lgcn_opt *o, int64_t t, const float *mom, const float *vel);

#ifdef __cplusplus
}
#endif
#endif /* LGCN_LIGHTGCN_H */
