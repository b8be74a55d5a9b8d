/* Ranking for a trained recommender: irllrec_recommend / irllrec_similar
 * (rank.h) over the stored embeddings, with the stored seen items as the
 * default exclusion. No ranking of its own: one path, so a recommender and
 * a host calling rank.h directly get the same lists. */
#include <stdio.h>
#include <string.h>
#include "rec_impl.h"

/* A rank.h failure reported under our name, keeping the callee's detail. */
static irllrec_status renamed(irllrec_ctx *ctx, irllrec_status st, const char *fn)
{
    char detail[IRLLREC__ERRMSG_CAP];
    if (st == IRLLREC_OK) return IRLLREC_OK;
    snprintf(detail, sizeof detail, "%s", irllrec_ctx_errmsg(ctx));
    const char *d = detail;
    if (strncmp(d, "irllrec_", 8) == 0 && strstr(d, ": ") != NULL) d = strstr(d, ": ") + 2;
    return irllrec__fail(ctx, st, fn, "%s", d[0] != '\0' ? d : irllrec_status_str(st));
}

static irllrec_status check_k(const irllrec_rec *r, const char *fn, int32_t k)
{
    IRL_CHECK_FN(r->ctx, fn, k >= 1 && k <= IRLLREC_RANK_MAX_K, IRLLREC_E_INVALID_ARG,
                 "k = %d is not in 1..%d", (int)k, IRLLREC_RANK_MAX_K);
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_recommend(const irllrec_rec *r, const int32_t *users, int64_t n,
                                     int32_t k, const irllrec_rank_opts *opts, int32_t *ids,
                                     float *scores, int32_t *counts)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__check_ids(r->ctx, __func__, "users", users, n, r->side[0].n));
    IRL_TRY(check_k(r, __func__, k));
    irllrec_rank_opts o;
    const irllrec_csr seen = irllrec__rec_seen(r);
    const irllrec_rank_opts *use = opts;
    if (opts == NULL || opts->seen == NULL) {
        /* the caller's options with the stored seen items filled in */
        if (opts == NULL)
            irllrec_rank_opts_init(&o, (uint32_t)sizeof o);
        else
            IRL_TRY(irllrec__copy_spec(r->ctx, __func__, &o, sizeof o, opts));
        if (r->has_seen) o.seen = &seen;
        use = &o;
    }
    const irllrec__rec_side *u = &r->side[0], *it = &r->side[1];
    return renamed(r->ctx,
                   irllrec_recommend(r->ctx, irllrec_cmat_dense(u->emb, u->n, r->d),
                                     irllrec_cmat_dense(it->emb, it->n, r->d), users, n, k, use,
                                     ids, scores, counts),
                   __func__);
}

irllrec_status irllrec_rec_similar(const irllrec_rec *r, int32_t side, const int32_t *ids,
                                   int64_t n, int32_t k, const irllrec_rank_opts *opts,
                                   int32_t *out_ids, float *scores, int32_t *counts)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__rec_check_side(r, __func__, side));
    IRL_TRY(irllrec__check_ids(r->ctx, __func__, "ids", ids, n, r->side[side].n));
    IRL_TRY(check_k(r, __func__, k));
    const irllrec__rec_side *sd = &r->side[side];
    return renamed(r->ctx,
                   irllrec_similar(r->ctx, irllrec_cmat_dense(sd->emb, sd->n, r->d), ids, n, k,
                                   opts, out_ids, scores, counts),
                   __func__);
}
