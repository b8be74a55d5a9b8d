/* The data-parallel fixture shared by tests/test_dist.c (ranks as threads)
 * and tests/mpi/mpi_hook.c (ranks as MPI processes): a tiny world with a
 * graph and all four texts, each rank's micro-batch of each step, what a
 * run leaves (losses, parameters, gradients), and the one-process
 * reference: the P micro-batches of a step run in one process, their
 * gradients averaged in rank order, one irllrec_adam step. No Check calls:
 * failures come back as statuses. */
#ifndef IRLLREC_DIST_FIXTURE_H
#define IRLLREC_DIST_FIXTURE_H

#include <stdint.h>
#include "irllrec/irllrec.h"

enum { DF_U = 12, DF_I = 10, DF_N = DF_U + DF_I, DF_D = 4, DF_L = 2, DF_DP = 5, DF_DT = 6,
       DF_B = 4, DF_STEPS = 20, DF_MAXBLK = 32 };

typedef struct df_world {
    float ef[DF_N * DF_D], lay[DF_L * DF_N * DF_D];
    float txt[4][DF_U * DF_DT];
    int64_t ip[DF_N + 1];
    int32_t ix[DF_N * DF_N];
} df_world;

/* What a run leaves: the losses per step (total, kd, pair, tran, itm, reg),
 * every block of the hook and the gradients of the trainable ones at the
 * last step (Adam hides the scale of a gradient: only these show a wrong
 * mean). */
typedef struct df_trace {
    double loss[DF_STEPS][6];
    float *blk[DF_MAXBLK], *grd[DF_MAXBLK];
    int64_t n[DF_MAXBLK];
    int nb;
} df_trace;

void df_make_world(df_world *w);
/* Rank r's micro-batch of step s. */
void df_micro_batch(int s, int r, int32_t *u, int32_t *p, int32_t *n);
/* A hook over w with strong weights; NULL on failure (message in ctx). */
/* The text precision df_spec asks for (a test may set it; default FP32). */
extern int32_t df_text_precision;
/* Its reduction chunk: 3 rows (users 4 chunks, items 4), so that 1..4 ranks
 * hold whole chunks and a block can straddle users and items. */
enum { DF_REDUCE_ROWS = 3 };
extern int32_t df_reduce_rows;
/* The fixture's hook spec (its shapes, the given seed). */
void df_spec(irllrec_hook_spec *s, uint64_t seed);
irllrec_hook *df_make_hook(irllrec_ctx *ctx, const df_world *w, uint64_t seed);
/* The same hook node-sharded over c (irllrec_hook_create_sharded; c NULL:
 * not sharded); collective. */
irllrec_hook *df_make_hook_sharded(irllrec_ctx *ctx, const df_world *w, uint64_t seed,
                                   const irllrec_collective *c);
/* The graph, the four texts and the fixture's strong weights on h. */
irllrec_status df_setup(irllrec_hook *h, const df_world *w);
/* Compute on rank r's micro-batch of step s, then apply. */
irllrec_status df_step(irllrec_hook *h, const df_world *w, int s, int r, float *gf,
                       irllrec_hook_losses *lv);
void df_take_losses(df_trace *t, int s, const irllrec_hook_losses *lv);
/* Copy h's blocks (and trainable gradients) into t; -1 when out of memory. */
int df_take_blocks(df_trace *t, irllrec_hook *h);
void df_trace_free(df_trace *t);
int df_same_bits(const df_trace *a, const df_trace *b);
int df_same_params(const df_trace *a, const df_trace *b);
/* Every block and every last gradient bit for bit (the losses aside). */
int df_same_params_grads(const df_trace *a, const df_trace *b);
/* max |a - b| / max |b| over every block, gradient and step's losses. */
double df_rel_diff(const df_trace *a, const df_trace *b);
/* One process on the global batches of node sharding: step s's batch is
 * df_micro_batch(s, 0) on every rank; gf (N x d, zeroed) accumulates the
 * host's gradients of the 20 steps. */
irllrec_status df_reference_global(const df_world *w, df_trace *t, float *gf);
/* One process, p >= 1 micro-batches per step (see the top of this file). */
irllrec_status df_reference(const df_world *w, int32_t p, df_trace *t);

#endif
