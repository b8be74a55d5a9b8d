/* Evaluator internals reachable by tests and benchmarks. Never installed. */
#ifndef IRLLREC_EVAL_EVALUATOR_H
#define IRLLREC_EVAL_EVALUATOR_H

#include "../internal.h"
#include "../rank/kernel.h"

/* Most cut-offs one evaluator takes (the per-call sums live on the stack). */
#define IRLLREC__EVAL_MAX_KS 64

/* ---- evaluator ------------------------------------------------------- */

/* Schedules (see lib/eval/evaluator.c). */
#define IRLLREC__EVAL_PER_WORKER 0 /* each worker: the pass + metrics of its blocks (default) */
#define IRLLREC__EVAL_SHARED 1     /* the pass on the caller, metrics split per block */

/* Override the number of users scored per block (0 restores the default,
 * irllrec__score_block_rows). Reallocates the block workspaces.
 * @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM (the previous
 *         size is restored when possible; otherwise runs return E_STATE) */
irllrec_status irllrec__evaluator_set_block(irllrec_evaluator *ev, int64_t users);

/* Choose the schedule: IRLLREC__EVAL_PER_WORKER or IRLLREC__EVAL_SHARED.
 * Results are bit-identical either way. */
irllrec_status irllrec__evaluator_set_mode(irllrec_evaluator *ev, int32_t mode);

/* Users per block currently in use. */
int64_t irllrec__evaluator_block(const irllrec_evaluator *ev);

/* Seconds spent in the fused pass (gather, scoring and selection) and in
 * sorting the lists and computing the metrics during the last
 * irllrec_evaluator_run, summed over workers. */
void irllrec__evaluator_timing(const irllrec_evaluator *ev, double *gemm_s, double *select_s);

#endif /* IRLLREC_EVAL_EVALUATOR_H */
