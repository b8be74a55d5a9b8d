/** @file
 * libirllrec: the IRLLRec hook across processes. A node-sharded hook holds
 * a row block of the text matrices per rank; a data-parallel hook sums its
 * blocks' gradients over the ranks. Both run through an irllrec_collective
 * layer (collective.h; libirllrec-mpi fills one over MPI). Included by
 * hook.h, so either header gives all of it. See docs/distributed.md. */
#ifndef IRLLREC_HOOK_DIST_H
#define IRLLREC_HOOK_DIST_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "collective.h"
#include "hook.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Create a node-sharded hook: rank r of the P ranks of @p c holds only
 *  rows [row0, row0 + rows) of the N = U + I node rows (users first; rows =
 *  floor(N (r+1) / P) - floor(N r / P), see irllrec_hook_shard_rows()) of
 *  the text matrices, runs the text towers and the ITM teacher on them, and
 *  computes its row block of L_tran (exact mode) and of ITM's CE. Every rank
 *  is given the same GLOBAL batch and the same (replicated) host inputs;
 *  the batch terms run alike on every rank on the gathered tower outputs,
 *  so in-batch negatives are those of one process. compute then reports on
 *  every rank the one-process losses and host gradients of that batch (up
 *  to the order of the sums; the host must NOT average its gradients over
 *  the ranks: they are already whole), and apply takes the one-process
 *  Adam step everywhere. Sums run in rank order, so a run repeats bit for
 *  bit for a given P. Collective: every rank calls it with the same spec
 *  (the ranks' parameters are checked against rank 0's) and then makes the
 *  same sequence of compute and apply calls. The layer stays attached for
 *  the hook's life (irllrec_hook_set_collective() refuses a sharded hook).
 *  Give text with irllrec_hook_set_text() (whole matrices: the held rows
 *  are copied) or irllrec_hook_set_text_rows(). See docs/distributed.md.
 *  @param ctx   context
 *  @param spec  as for irllrec_hook_create(); N >= P
 *  @param c     the collective layer (copied; its user pointer must outlive the hook)
 *  @param[out] out  the hook, or NULL on failure
 *  @return as irllrec_hook_create(), and IRLLREC_E_SHAPE (N < P),
 *          IRLLREC_E_STATE (a rank's parameters differ from rank 0's),
 *          IRLLREC_E_COMM (the layer failed) */
IRLLREC_API irllrec_status irllrec_hook_create_sharded(irllrec_ctx *ctx,
                                                       const irllrec_hook_spec *spec,
                                                       const irllrec_collective *c,
                                                       irllrec_hook **out);

/** The node rows this hook holds: [*row0, *row0 + *rows) of N (all N, from
 *  0, for a hook that is not sharded).
 *  @param h          hook
 *  @param[out] row0  the first row held
 *  @param[out] rows  how many rows are held
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL) */
IRLLREC_API irllrec_status irllrec_hook_shard_rows(const irllrec_hook *h, int64_t *row0,
                                                   int64_t *rows);

/** irllrec_hook_memory_estimate() for rank @p rank of @p n_ranks shards
 *  (what irllrec_hook_create_sharded() takes on that rank).
 *  @param spec       as for irllrec_hook_create()
 *  @param n_threads  the context's thread count (>= 1)
 *  @param graph_nnz  edges of the pattern given to set_graph (>= 0)
 *  @param n_ranks    P >= 1
 *  @param rank       this rank, in [0, P)
 *  @param[out] bytes the estimate
 *  @return as irllrec_hook_memory_estimate(); IRLLREC_E_INVALID_ARG also
 *          for n_ranks < 1, rank outside [0, n_ranks) or N < n_ranks */
IRLLREC_API irllrec_status irllrec_hook_memory_estimate_sharded(const irllrec_hook_spec *spec,
                                                                int32_t n_threads,
                                                                int64_t graph_nnz,
                                                                int32_t n_ranks, int32_t rank,
                                                                int64_t *bytes);

/** Train this hook together with the hooks of other ranks (data-parallel):
 *  from now on each irllrec_hook_compute() sums, through @p c and in rank
 *  order, the loss terms and the gradients of the hook's trainable blocks,
 *  and divides them by the rank count. Every rank then holds the mean over
 *  the ranks' batches, takes the same Adam step and teacher EMA, and reports
 *  the same (mean) losses. The host's own gradients (what the hook adds into
 *  irllrec_hook_grads) are not reduced: the host reduces them with its own
 *  and divides by the rank count too (irllrec_collective_allreduce_f32()).
 *  Collective: every rank calls it, then every rank calls compute, apply and
 *  this function in the same order. A compute that fails on one rank fails
 *  on every rank (IRLLREC_E_COMM on the others); a failing layer gives
 *  IRLLREC_E_COMM, after which the group is unusable. See docs/distributed.md.
 *  @param h  hook (not NULL) with no compute awaiting apply
 *  @param c  the layer (copied; its user pointer must outlive the
 *            attachment), or NULL to go back to one process (not collective)
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (as irllrec_collective_check());
 *          IRLLREC_E_VERSION; IRLLREC_E_STATE (a compute awaits apply; the
 *          ranks' hooks differ in parameters, runtime parameters, shapes or
 *          step count: every rank gets this status); IRLLREC_E_COMM.
 *          On failure the hook keeps its previous layer.
 *  @note Allocates a small scratch buffer (24 bytes per rank) for the check. */
IRLLREC_API irllrec_status irllrec_hook_set_collective(irllrec_hook *h,
                                                       const irllrec_collective *c);

/** The rank and rank count of the attached layer (0 and 1 without one).
 *  @param h  hook (not NULL)
 *  @param[out] rank  this rank
 *  @param[out] size  the rank count
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL) */
IRLLREC_API irllrec_status irllrec_hook_collective_info(const irllrec_hook *h, int32_t *rank,
                                                        int32_t *size);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_HOOK_DIST_H */
