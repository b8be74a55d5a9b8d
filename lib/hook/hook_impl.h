/* The hook's handle and the internal interface between its files:
 *   hook.c       create, free, text, graph, parameter blocks
 *   params.c     the runtime-parameter table (ids, names, bounds, presets)
 *   workspace.c  the buffer table that create allocates and the memory
 *                estimate sums, so the two can never disagree
 *   validate.c   the public boundary: every argument of compute, checked once
 *   batch.c      gathers of the batch and the touched-row gradient store
 *   terms.c      one function per paper term (L_kd, L_pair, L_tran, ITM, reg)
 *   txn.c        the transaction: snapshot, finiteness, commit or roll back
 *   step.c       compute / apply / step: the pipeline over the stages
 *   checkpoint.c export / import
 *   dist.c       several ranks: the collective layer, reduced losses and gradients
 *   shard.c      node sharding: a rank that holds a block of the text rows
 *   reduce.c     reduction chunks: sums over rows whose bits do not depend on
 *                the rank count (one process runs them too)
 *   text.c       the frozen text: set_text, set_text_rows
 * Never installed. */
#ifndef IRLLREC_HOOK_IMPL_H
#define IRLLREC_HOOK_IMPL_H

#include "../internal.h"
#include "irllrec/hook.h"
#include "irllrec/adam.h"
#include "irllrec/align.h"
#include "irllrec/collective.h"
#include "../tower/tower.h"

#define IRLLREC__HOOK_MAX_BLOCKS 16
#define IRLLREC__HOOK_MAX_BUFS 64
#define IRLLREC__HOOK_MAX_LAYERS 64

/* Rows of one reduction chunk in a text tower (reduce.c). */
typedef struct irllrec__hook_seg {
    int64_t out_row;    /* first row in the tower's output layout */
    int64_t rows;
    int64_t cache_row;  /* first row in the MLP's activation cache */
    int64_t x_row;      /* first text row: of the held text, or of the gather buffer */
    int gathered;       /* x_row is in the gather buffer */
} irllrec__hook_seg;

/* The alignment handle's row slices (its dY partials), so also the most
 * threads the chunked translation runs on. */
#define IRLLREC__HOOK_SLICES 4

/* Default spec.reduce_rows. */
#define IRLLREC__HOOK_REDUCE_ROWS 512

typedef struct irllrec__hbuf {
    void *p;
    size_t n;
} irllrec__hbuf;

struct irllrec_hook {
    irllrec_ctx *ctx;
    irllrec_hook_spec spec;
    int64_t U, I, N, d, K, L, B, Dp, Dt, nl;
    int has_prf, has_int;
    /* runtime parameters (params.c reads and writes them by table) */
    double w_kd, tau_kd, w_pair, tau_pair, w_tran, w_itm, alpha, momentum, lr, reg;
    double beta1, beta2, eps, weight_decay;
    int64_t tran_mode, tran_samples, tran_in_itm, reg_teacher, need_graph;
    /* modules */
    irllrec_mlp *prf, *intm;  /* student text towers (profile, intent) */
    irllrec_itm *itm;         /* momentum teacher of intm */
    irllrec_intent *tower;    /* prototypes + adaptive edge mask */
    irllrec_adam *adam;       /* over blocks [0, n_train) */
    irllrec_align *align;     /* every InfoNCE term and translation, and the noise */
    irllrec__param blocks[IRLLREC__HOOK_MAX_BLOCKS];
    int n_blocks, n_train;    /* blocks [0, n_train) have gradients; then the teacher */
    float *teacher_prev;      /* the teacher before a compute's EMA */
    float *teacher_next;      /* the teacher after it: what apply commits */
    /* frozen text: users then items; fp32, or bf16 when bf16 is set (then
     * the txt_/ *_gather floats are NULL and the txh_/gh_ halves hold it) */
    int bf16;                 /* the text precision create took (hook.c) */
    float *txt_p, *txt_t;
    uint16_t *txh_p, *txh_t, *gh_p, *gh_t;
    int text_set[4];
    int64_t text_cnt[4];      /* held rows of each text set so far (text_have) */
    uint8_t *text_have;       /* 4 x sh_n: which held rows each text has */
    /* node sharding (shard.c): the text matrices, the text towers' inputs and
     * ITM hold rows [sh_lo, sh_lo + sh_n) of the N nodes only; sh_on 0: all N */
    int sh_on;
    int64_t sh_lo, sh_n;
    int32_t sh_p;             /* the rank count create took (1 unsharded) */
    int64_t sh_c0, sh_c1;     /* the reduction chunks [sh_c0, sh_c1) it holds */
    int64_t *sh_cnt;          /* 2 sh_p: a gather's byte counts, then offsets */
    float *sh_send;           /* sh_n x d: this rank's block of a gather */
    int graph_set;
    /* reduction chunks (reduce.c): C rows each, users and items apart */
    int64_t C, n_chunks;
    irllrec__hook_seg *segs;  /* n_chunks: the held chunks as tower rows */
    int64_t *cuts;            /* n_chunks + 1: held chunk bounds, relative to sh_lo */
    int64_t n_cuts;
    double *acc[2];           /* the text towers' gradients (profile, intent) in double;
                                 NULL for bf16 towers (8 bytes a weight is more than the
                                 bf16 memory budget affords: fp32 sums, P-dependent) */
    double *tdyd;             /* T x N x d: translation's dY in double (exact mode) */
    int32_t T;                /* min(threads, the alignment's 4 slices) */
    int acc_live[2];          /* the tower's backward ran in this compute */
    /* text towers: rows = users, then items (all, or the batch's distinct ones) */
    float *p_out, *p_dout, *p_gather;
    float *z_out, *z_dout, *z_gather;
    int64_t p_rows, z_rows;   /* rows of the last compute (0 = not run) */
    /* E_final as one N x d matrix (graph-free tower, translation) */
    float *e_all;
    /* The batch's 3B anchors (users, pos, neg) as distinct nodes: the towers
     * and the InfoNCE terms run once per distinct node, repeats enter as
     * counts (batch.c, irllrec__hook_batch_nodes) */
    int64_t *anchors;         /* 3B: the distinct anchor nodes: users first-seen, then
                                 items ascending (reduce.c) */
    int64_t n_anchors;
    int32_t *anchor_of;       /* 3B: anchor s*B+b -> its index in anchors */
    int32_t *role_at;         /* 3B: role s's k-th distinct node first drawn at b = [s*B+k] */
    float *role_cnt;          /* 3B: how often role s drew it */
    int64_t role_n[3];
    int32_t *node_slot;       /* N entries, -1 outside batch_nodes */
    int32_t *role_pos;        /* B: targets of the user term */
    float *xa, *dxa;          /* B x d: one role's distinct anchors and their gradient */
    /* interaction tower over the distinct anchors */
    float *r, *dr;
    /* L_kd anchors (E_final rows of the distinct anchors) and their gradient */
    float *kd_ax, *kd_dax;
    /* InfoNCE against the batch's items: gathered rows and their gradient */
    float *ya, *dya;
    /* the batch's distinct items (the last n_uniq anchors): text towers run
     * once per item */
    int64_t *item_rows;       /* 2B: rows of the batch's items in the text-tower output */
    int64_t n_uniq;
    /* translation: gradient scratch (zero between uses) and the sample */
    float *dxh, *dyh;
    int32_t *sel;
    /* the host's gradients before commit: dense N x d rows, only the touched
     * ones non-zero (batch.c), and the per-layer ones */
    float *g_final, *g_layers;
    uint8_t *touched;         /* N */
    int32_t *touch_list;      /* N: touched nodes in first-touch order */
    int64_t n_touch;
    int touch_all;
    /* ROWS-mode output */
    int32_t *out_uid, *out_iid;
    float *out_ug, *out_ig;
    int64_t out_nu, out_ni;
    int rows_valid;
    /* the transaction (txn.c) */
    int pending;              /* a gradient compute awaits apply */
    uint64_t align_rng_before[4], align_rng_after[4];
    int64_t steps;
    /* the collective layer (dist.c); coll_on 0: one process */
    irllrec_collective coll;
    int32_t coll_rank, coll_size;
    int coll_on;
    irllrec_hook_timings tm;
    irllrec__hbuf bufs[IRLLREC__HOOK_MAX_BUFS];
    int n_bufs;
};

/* ---- hook.c ---- */
/* Copy the spec's shapes into h (create and the memory estimate). */
void irllrec__hook_shapes(irllrec_hook *h, const irllrec_hook_spec *s);
/* The specs of the text towers (profile 1: the profile tower, 0: the intent
 * tower) and of the interaction tower, for h's shapes. */
void irllrec__hook_mlp_spec(const irllrec_hook *h, int profile, irllrec_mlp_spec *ms);
void irllrec__hook_intent_spec(const irllrec_hook *h, irllrec_intent_spec *ts);
/* The threads translation's chunked engine runs on: min(n_threads, IRLLREC__HOOK_SLICES). */
int32_t irllrec__hook_threads(int32_t n_threads);
/* The alignment handle's spec for h's shapes. */
void irllrec__hook_align_spec(const irllrec_hook *h, irllrec_align_spec *as);

/* create for rank r of p node shards (p 0: not sharded); fn names the caller. */
irllrec_status irllrec__hook_create_at(irllrec_ctx *ctx, const char *fn,
                                       const irllrec_hook_spec *spec, int32_t p, int32_t r,
                                       irllrec_hook **out);

/* ---- text.c ---- */
/* After create: no text set; a side the hook holds no row of is complete. */
void irllrec__hook_text_init(irllrec_hook *h);

/* ---- params.c ---- */
void irllrec__hook_param_defaults(irllrec_hook *h);
/* Push lr, betas, eps and weight decay into the hook's Adam. */
void irllrec__hook_sync_adam(irllrec_hook *h);

/* ---- workspace.c ---- */
/* Allocate every buffer of the table (zeroed) or record E_NOMEM. */
irllrec_status irllrec__hook_alloc(irllrec_hook *h);
/* Bytes the table asks for, for the given shapes. */
int64_t irllrec__hook_table_bytes(irllrec_hook *h);

/* ---- validate.c ---- */
irllrec_status irllrec__hook_validate(irllrec_hook *h, const irllrec_hook_batch *b,
                                      const irllrec_hook_inputs *in,
                                      const irllrec_hook_grads *g, uint32_t flags,
                                      const irllrec_hook_losses *out);
irllrec_status irllrec__hook_check_spec(irllrec_ctx *ctx, const irllrec_hook_spec *s);

/* ---- batch.c ---- */
/* item_rows: rows of the batch's items in the text-tower output, with every
 * item (full) or the batch's distinct ones after the users. */
void irllrec__hook_item_rows(irllrec_hook *h, const irllrec_hook_batch *b, int full);
/* anchors, anchor_of, role_at/role_cnt/role_n of the batch, and its distinct
 * items (n_uniq) (prepare, step.c). */
void irllrec__hook_batch_nodes(irllrec_hook *h, const irllrec_hook_batch *b);
/* The batch's distinct items as nodes (U + item), ascending. */
static inline const int64_t *irllrec__hook_uniq_nodes(const irllrec_hook *h)
{
    return h->anchors + (h->n_anchors - h->n_uniq);
}
/* E_final row of node n (users first). */
const float *irllrec__hook_final_row(const irllrec_hook_inputs *in, int64_t U, int64_t n);
/* e_all = [user_final; item_final] */
void irllrec__hook_gather_final(irllrec_hook *h, const irllrec_hook_inputs *in);
/* The touched-row store: clear the rows the last compute touched, mark
 * rows as touched, mark all. */
void irllrec__hook_rows_reset(irllrec_hook *h);
void irllrec__hook_touch(irllrec_hook *h, int64_t node);
void irllrec__hook_touch_all(irllrec_hook *h);
/* 1 when every touched row of g_final (and g_layers) is finite. */
int irllrec__hook_grads_finite(const irllrec_hook *h);
/* Deliver the touched rows: += into dense buffers, or copy out for ROWS. */
void irllrec__hook_deliver(irllrec_hook *h, const irllrec_hook_grads *g);

/* ---- terms.c: one per paper term; each reports its unweighted value ---- */
typedef struct irllrec__hook_run {
    const irllrec_hook_batch *b;
    const irllrec_hook_inputs *in;
    int kd_on, pair_on, tran_on, itm_on, full_z;
    double c_tran, c_itm;
    int e_ready;            /* e_all holds this compute's E_final */
    irllrec_hook_losses lv;
} irllrec__hook_run;

irllrec_status irllrec__hook_profile_fwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_profile_gather(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_term_kd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_profile_bwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_intent_fwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_intent_gather(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_tower_fwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_term_pair(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_tower_bwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_term_tran(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_tran_finish(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_teacher_fwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_term_itm(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_intent_bwd(irllrec_hook *h, irllrec__hook_run *r);
irllrec_status irllrec__hook_term_reg(irllrec_hook *h, irllrec__hook_run *r);

/* Translation runs on a sample (drawn from the generator every rank
 * replicates, so every rank computes it alike) only when the sample is
 * smaller than N; otherwise it is exact, and sharded a row block. terms.c
 * and the shard reduction must agree on this, hence one definition. */
static inline int irllrec__hook_tran_sampled(const irllrec_hook *h)
{
    return h->tran_mode == 1 && h->tran_samples < h->N;
}

/* ---- txn.c ---- */
/* Snapshot what a compute may move (teacher, noise generator), EMA the teacher. */
void irllrec__hook_txn_begin(irllrec_hook *h);
/* Put the snapshot back; keep the post-compute teacher and generator for apply
 * when keep is set. */
void irllrec__hook_txn_end(irllrec_hook *h, int keep);
/* apply's commit. */
void irllrec__hook_txn_commit(irllrec_hook *h, int run_adam);

/* ---- dist.c ---- */
/* Sum the loss terms over the ranks, with this rank's failure flag (ok 0);
 * the terms become the ranks' mean; *others_failed: how many other ranks
 * failed. E_COMM when the layer fails. */
irllrec_status irllrec__hook_dist_losses(irllrec_hook *h, irllrec_hook_losses *lv, int ok,
                                         int *others_failed);
/* Check that every rank holds rank 0's state, then attach c (rank r of p). */
irllrec_status irllrec__hook_attach(irllrec_hook *h, const irllrec_collective *c, int32_t r,
                                    int32_t p, const char *fn);
/* Every trainable block's gradient becomes the ranks' mean, in place. */
irllrec_status irllrec__hook_dist_grads(irllrec_hook *h);

/* ---- shard.c ---- */
/* Set the held block for rank r of p shards (p 0: every row, unsharded). */
void irllrec__hook_set_shard(irllrec_hook *h, int32_t p, int32_t r);
/* Rows [*lo, *lo + *n) of N that rank r of p holds: whole reduction chunks. */
void irllrec__hook_shard_bounds(const irllrec_hook *h, int32_t p, int32_t r, int64_t *lo,
                                int64_t *n);
/* Every rank's held rows of buf (a tower's output, full or gathered) on
 * every rank. */
irllrec_status irllrec__hook_shard_gather(irllrec_hook *h, float *buf, int full);
/* buf (n doubles) summed over the ranks in rank order, in place. */
irllrec_status irllrec__hook_shard_sum_f64(irllrec_hook *h, double *buf, int64_t n);
/* How many other ranks failed (ok 0: this one did too), in one sum. */
irllrec_status irllrec__hook_shard_verdict(irllrec_hook *h, int ok, int *others_failed);
/* Sharded: the loss terms and gradients every rank computed alike count once
 * (rank 0's), the row-block ones are summed; see shard.c. */
irllrec_status irllrec__hook_shard_reduce(irllrec_hook *h, irllrec_hook_losses *lv, int ok,
                                          int *others_failed, int grads);

/* ---- reduce.c ---- */
/* Chunks of U users and I items cut every C rows; chunk k's first row. */
int64_t irllrec__hook_n_chunks(int64_t U, int64_t I, int64_t C);
int64_t irllrec__hook_chunk_lo(int64_t U, int64_t I, int64_t C, int64_t k);
/* Rank r's held rows [*lo, *hi) in a tower's layout (full: node order;
 * gathered: users, then the batch's distinct items ascending). */
void irllrec__hook_held_out(const irllrec_hook *h, int full, int32_t r, int64_t *lo,
                            int64_t *hi);
/* h->segs := this rank's non-empty chunks in a tower's layout; returns how many. */
int64_t irllrec__hook_segments(irllrec_hook *h, int full);
/* h->cuts := the held chunks' bounds relative to sh_lo (translation's rows);
 * shapes only, so create sets it once. */
void irllrec__hook_cuts(irllrec_hook *h);
/* acc += g in double, then g = 0 (the next chunk's partial starts there). */
void irllrec__hook_acc_add(double *acc, float *g, int64_t n);
/* A text tower's block ("prf." or "int."): its gradient is summed in double. */
int irllrec__hook_is_text_block(const irllrec__param *p);
/* reg's gradient 2 reg p into the text towers' blocks. */
void irllrec__hook_reg_towers(irllrec_hook *h);

/* ---- for tests and checkpoints (not on the step's path) ---- */

/* A hash of the sign bits of every LeakyReLU pre-activation of the last
 * compute (student text towers): when it differs between the x+h and x-h
 * evaluations of a finite-difference test, a kink lies in between. */
uint64_t irllrec__hook_preact_signs(const irllrec_hook *h);

/* Everything a checkpoint reads or restores; the pointers are the hook's own. */
typedef struct irllrec__hook_view {
    irllrec_ctx *ctx;
    irllrec_hook_spec spec;
    irllrec__param *blocks;  /* n_train trainable blocks, then the teacher's */
    int n_blocks, n_train;
    irllrec_adam *adam;      /* over blocks [0, n_train); one dummy block when n_train == 0 */
    irllrec_align *align;
    int64_t *steps;
} irllrec__hook_view;

void irllrec__hook_get_view(irllrec_hook *h, irllrec__hook_view *v);

#endif
