/* Evaluator internals reachable by tests and benchmarks. Never installed. */
#ifndef IRLLREC_EVAL_EVALUATOR_H
#define IRLLREC_EVAL_EVALUATOR_H

#include "../internal.h"

/* Most cut-offs one evaluator takes (the per-call sums live on the stack). */
#define IRLLREC__EVAL_MAX_KS 64

/* Items per slice whose maximum is taken in the top-K prefilter. */
#ifndef IRLLREC__EVAL_CHUNK
#define IRLLREC__EVAL_CHUNK 64
#endif

/* ---- top-K selection (lib/eval/topk.c) ------------------------------- */

/* A heap of at most k entries (scores hs, item ids hi, m in use) whose root
 * is the worst kept entry. The caller owns the buffers. */
typedef struct irllrec__topk {
    float *hs;
    int32_t *hi;
    int32_t m, k;
} irllrec__topk;

/* Offer the n scores s (item id = index) to t (m = 0 on entry), skipping the
 * ascending item ids mk[0..n_mask). Writes -inf over the masked scores in s.
 * cmax and scratch hold ceil(n / IRLLREC__EVAL_CHUNK) floats each. */
void irllrec__topk_select(irllrec__topk *t, float *s, int64_t n, const int32_t *mk, int64_t n_mask,
                          float *cmax, float *scratch);

/* Sort the heap in place: afterwards entry 0 is the best. */
void irllrec__topk_sort(irllrec__topk *t);

/* ---- evaluator ------------------------------------------------------- */

/* Schedules (see lib/eval/evaluator.c). */
#define IRLLREC__EVAL_PER_WORKER 0 /* each worker: sgemm + selection of its blocks (default) */
#define IRLLREC__EVAL_SHARED 1     /* sgemm on the caller, selection split per block */

/* Override the number of users scored per sgemm block (0 restores the
 * default, derived from a cache budget). Reallocates the block workspaces.
 * @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM (the previous
 *         size is restored when possible; otherwise runs return E_STATE) */
irllrec_status irllrec__evaluator_set_block(irllrec_evaluator *ev, int64_t users);

/* Choose the schedule: IRLLREC__EVAL_PER_WORKER or IRLLREC__EVAL_SHARED.
 * Results are bit-identical either way. */
irllrec_status irllrec__evaluator_set_mode(irllrec_evaluator *ev, int32_t mode);

/* Users per block currently in use. */
int64_t irllrec__evaluator_block(const irllrec_evaluator *ev);

/* Seconds spent in packing + sgemm and in selection during the last
 * irllrec_evaluator_run, summed over workers. */
void irllrec__evaluator_timing(const irllrec_evaluator *ev, double *gemm_s, double *select_s);

#endif /* IRLLREC_EVAL_EVALUATOR_H */
