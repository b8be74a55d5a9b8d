/* Validation of a ranking call. Everything is checked before the first
 * output byte is written, so a failed call leaves the caller's buffers as
 * they were (rank.h: "On failure nothing is written to the outputs"). */
#include <math.h>
#include <string.h>
#include "rank_impl.h"

#define KNOWN_FLAGS ((uint32_t)(IRLLREC_RANK_COSINE | IRLLREC_RANK_INCLUDE_SEEN))

static irllrec_status check_opts(irllrec_ctx *ctx, const char *f, const irllrec_rank_opts *opts,
                                 irllrec_rank_opts *o)
{
    if (opts == NULL) {
        irllrec_rank_opts_init(o, (uint32_t)sizeof *o);
        return IRLLREC_OK;
    }
    IRL_TRY(irllrec__copy_spec(ctx, f, o, sizeof *o, opts));
    IRL_CHECK_FN(ctx, f, (o->flags & ~KNOWN_FLAGS) == 0, IRLLREC_E_INVALID_ARG,
                 "opts->flags = 0x%x has unknown bits 0x%x", (unsigned)o->flags,
                 (unsigned)(o->flags & ~KNOWN_FLAGS));
    return IRLLREC_OK;
}

/* An id list of the options: NULL means "no list" only with a zero count. */
static irllrec_status check_list(irllrec_ctx *ctx, const char *f, const char *name,
                                 const int32_t *list, int64_t n, int64_t bound)
{
    IRL_CHECK_FN(ctx, f, n >= 0, IRLLREC_E_INVALID_ARG, "opts->n_%s = %lld < 0", name,
                 (long long)n);
    IRL_CHECK_FN(ctx, f, list != NULL || n == 0, IRLLREC_E_INVALID_ARG,
                 "opts->%s is NULL with opts->n_%s = %lld", name, name, (long long)n);
    if (list == NULL) return IRLLREC_OK;
    {
        char label[32];
        memcpy(label, "opts->", 6);
        memcpy(label + 6, name, strlen(name) + 1);
        return irllrec__check_ids(ctx, f, label, list, n, bound);
    }
}

static irllrec_status check_mats(irllrec_ctx *ctx, const irllrec__rank_call *call)
{
    const char *f = call->func;
    IRL_TRY(irllrec__check_cmat(ctx, f, call->q_name, call->q));
    IRL_TRY(irllrec__check_cmat(ctx, f, call->c_name, call->c));
    IRL_CHECK_FN(ctx, f, call->q.cols == call->c.cols, IRLLREC_E_SHAPE,
                 "%s.cols = %lld != %s.cols = %lld", call->q_name, (long long)call->q.cols,
                 call->c_name, (long long)call->c.cols);
    IRL_CHECK_FN(ctx, f, call->c.rows <= INT32_MAX, IRLLREC_E_SHAPE,
                 "%s has %lld rows: candidate ids are int32 (at most %d)", call->c_name,
                 (long long)call->c.rows, INT32_MAX);
    IRL_CHECK_FN(ctx, f, call->q.ld <= INT32_MAX && call->c.ld <= INT32_MAX, IRLLREC_E_SHAPE,
                 "embedding ld exceeds %d", INT32_MAX);
    return IRLLREC_OK;
}

/* The query rows the call reads (only those: a NaN in a user nobody asked
 * about does not fail a recommendation). */
static irllrec_status check_query_rows(irllrec_ctx *ctx, const irllrec__rank_call *call)
{
    const irllrec_cmat q = call->q;
    if (call->qids == NULL) return irllrec__check_finite_mat(ctx, call->func, call->q_name,
                                                             irllrec__mat_of(q));
    for (int64_t r = 0; r < call->n; r++) {
        const float *row = q.data + (size_t)call->qids[r] * (size_t)q.ld;
        if (irllrec__all_finite(row, q.cols)) continue;
        for (int64_t j = 0; j < q.cols; j++)
            IRL_CHECK_FN(ctx, call->func, isfinite(row[j]), IRLLREC_E_NUMERIC,
                         "%s[%lld][%lld] is not finite (%s[%lld])", call->q_name,
                         (long long)call->qids[r], (long long)j, call->ids_name, (long long)r);
    }
    return IRLLREC_OK;
}

/* Byte extent of a view: its first element to one past its last. */
static void extent(irllrec_cmat m, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)m.data;
    *hi = *lo + ((size_t)(m.rows - 1) * (size_t)m.ld + (size_t)m.cols) * sizeof(float);
}

static int overlaps(uintptr_t a, uintptr_t ae, uintptr_t b, uintptr_t be)
{
    return a < be && b < ae;
}

/* An output that overlaps an input would be read after the first block
 * wrote it; two outputs that overlap would lose one of them. */
static irllrec_status check_aliasing(irllrec_ctx *ctx, const irllrec__rank_call *call,
                                     const int32_t *ids, const float *scores,
                                     const int32_t *counts)
{
    const size_t nk = (size_t)call->n * (size_t)call->k;
    const char *names[3] = {"ids", "scores", "counts"};
    uintptr_t lo[3], hi[3], in_lo[2], in_hi[2];
    const void *p[3];
    p[0] = ids, p[1] = scores, p[2] = counts;
    lo[0] = (uintptr_t)ids, hi[0] = lo[0] + nk * sizeof(int32_t);
    lo[1] = (uintptr_t)scores, hi[1] = lo[1] + nk * sizeof(float);
    lo[2] = (uintptr_t)counts, hi[2] = lo[2] + (size_t)call->n * sizeof(int32_t);
    extent(call->q, &in_lo[0], &in_hi[0]);
    extent(call->c, &in_lo[1], &in_hi[1]);
    for (int a = 0; a < 3; a++) {
        if (p[a] == NULL) continue;
        for (int i = 0; i < 2; i++)
            IRL_CHECK_FN(ctx, call->func, !overlaps(lo[a], hi[a], in_lo[i], in_hi[i]),
                         IRLLREC_E_INVALID_ARG, "%s overlaps %s", names[a],
                         i == 0 ? call->q_name : call->c_name);
        for (int b = 0; b < a; b++)
            IRL_CHECK_FN(ctx, call->func, p[b] == NULL || !overlaps(lo[a], hi[a], lo[b], hi[b]),
                         IRLLREC_E_INVALID_ARG, "%s overlaps %s", names[a], names[b]);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__rank_check(irllrec_ctx *ctx, const irllrec__rank_call *call,
                                   const irllrec_rank_opts *opts, const int32_t *ids,
                                   const float *scores, const int32_t *counts,
                                   irllrec__rank_plan *plan)
{
    const char *f = call->func;
    irllrec_rank_opts o;
    IRL_CHECK_FN(ctx, f, ids != NULL, IRLLREC_E_INVALID_ARG, "ids is NULL");
    IRL_TRY(check_opts(ctx, f, opts, &o));
    IRL_TRY(check_mats(ctx, call));
    IRL_CHECK_FN(ctx, f, call->k >= 1 && call->k <= IRLLREC_RANK_MAX_K, IRLLREC_E_INVALID_ARG,
                 "k = %d is not in 1..%d", (int)call->k, IRLLREC_RANK_MAX_K);
    if (call->qids != NULL || call->n != call->q.rows)
        IRL_TRY(irllrec__check_ids(ctx, f, call->ids_name, call->qids, call->n, call->q.rows));
    IRL_CHECK_FN(ctx, f, (uint64_t)call->n <= SIZE_MAX / sizeof(float) / (uint64_t)call->k,
                 IRLLREC_E_SHAPE, "n * k = %lld * %d outputs overflow", (long long)call->n,
                 (int)call->k);
    plan->flags = o.flags | call->force_flags;
    plan->seen = (plan->flags & IRLLREC_RANK_INCLUDE_SEEN) ? NULL : o.seen;
    if (plan->seen != NULL)
        IRL_TRY(irllrec__check_csr_rows(ctx, f, "opts->seen", plan->seen, call->q.rows,
                                        call->c.rows, call->qids, call->n));
    IRL_TRY(check_list(ctx, f, "allow", o.allow, o.n_allow, call->c.rows));
    IRL_TRY(check_list(ctx, f, "deny", o.deny, o.n_deny, call->c.rows));
    plan->allow = o.allow, plan->n_allow = o.n_allow;
    plan->deny = o.deny, plan->n_deny = o.n_deny;
    IRL_TRY(check_aliasing(ctx, call, ids, scores, counts));
    IRL_TRY(irllrec__check_finite_mat(ctx, f, call->c_name, irllrec__mat_of(call->c)));
    if (call->q.data != call->c.data || call->q.ld != call->c.ld || call->q.rows != call->c.rows)
        IRL_TRY(check_query_rows(ctx, call));
    return IRLLREC_OK;
}
