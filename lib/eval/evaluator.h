/* Evaluator internals reachable by tests and benchmarks. Never installed. */
#ifndef IRLLREC_EVAL_EVALUATOR_H
#define IRLLREC_EVAL_EVALUATOR_H

#include "../internal.h"

/* Override the number of users scored per sgemm block (0 restores the
 * default, derived from a cache budget). Reallocates the block workspaces.
 * @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM (handle unchanged) */
irllrec_status irllrec__evaluator_set_block(irllrec_evaluator *ev, int64_t users);

/* Users per block currently in use. */
int64_t irllrec__evaluator_block(const irllrec_evaluator *ev);

/* Seconds spent in sgemm (including packing) and in selection during the
 * last irllrec_evaluator_run. */
void irllrec__evaluator_timing(const irllrec_evaluator *ev, double *gemm_s, double *select_s);

#endif /* IRLLREC_EVAL_EVALUATOR_H */
