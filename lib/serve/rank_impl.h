/* Internals of the ranking functions (rank.h). Never installed. */
#ifndef IRLLREC_SERVE_RANK_IMPL_H
#define IRLLREC_SERVE_RANK_IMPL_H

#include "../internal.h"

/* One ranking call, as each public function (irllrec_rank, _recommend,
 * _similar) describes it: n queries, each a row of q, against every row of
 * c. The three differ only in how they fill this. */
typedef struct irllrec__rank_call {
    const char *func;          /* the public function, for messages */
    const char *q_name;        /* argument names in messages */
    const char *c_name;
    const char *ids_name;      /* name of qids ("users", "rows") */
    irllrec_cmat q;            /* query source rows */
    irllrec_cmat c;            /* candidates; candidate id = row */
    const int32_t *qids;       /* n rows of q, or NULL: query r is row r (n == q.rows) */
    int64_t n;
    int32_t k;
    uint32_t force_flags;      /* flags the function implies (similar: cosine) */
    int exclude_self;          /* a query never returns its own row id (similar) */
} irllrec__rank_call;

/* The validated options and what the run needs from them. */
typedef struct irllrec__rank_plan {
    uint32_t flags;
    const irllrec_csr *seen;   /* NULL when absent or IRLLREC_RANK_INCLUDE_SEEN */
    const int32_t *allow, *deny;
    int64_t n_allow, n_deny;
} irllrec__rank_plan;

/* Every check of the call (lib/serve/rank_check.c), before anything is
 * written: NULL ids, the options' struct_size and flags, both matrices, d,
 * k, the query ids, n x k overflow, seen's shape and form, allow and deny
 * ids, outputs overlapping inputs, finite queries and candidates. */
irllrec_status irllrec__rank_check(irllrec_ctx *ctx, const irllrec__rank_call *call,
                                   const irllrec_rank_opts *opts, const int32_t *ids,
                                   const float *scores, const int32_t *counts,
                                   irllrec__rank_plan *plan);

/* Validate, then rank with `block` queries per block (0: the default,
 * irllrec__score_block_rows). Tests pass small blocks so that a small
 * problem spans several blocks and threads. */
irllrec_status irllrec__rank_exec(irllrec_ctx *ctx, const irllrec__rank_call *call,
                                  const irllrec_rank_opts *opts, int64_t block, int32_t *ids,
                                  float *scores, int32_t *counts);

#endif /* IRLLREC_SERVE_RANK_IMPL_H */
