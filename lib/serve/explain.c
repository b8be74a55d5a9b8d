/* Intents of a trained recommender: each node's distribution over the K
 * prototypes of its side, the split of a (user, item) score over them, and
 * the nodes whose text lies nearest to each prototype (docs/serving.md). */
#include <math.h>
#include <string.h>
#include "rec_impl.h"
#include "../ops/ops.h"
#include "../rank/kernel.h"

#define SOFTMAX_ROWS 256

irllrec_status irllrec__rec_softmax_rows(irllrec_rec *r, const char *func, const float *x,
                                         int64_t ldx, int64_t n, const float *c, float *probs,
                                         int add, float scale)
{
    const int64_t K = r->K, d = r->d;
    const int64_t blk = n < SOFTMAX_ROWS ? n : SOFTMAX_ROWS;
    if (n == 0) return IRLLREC_OK;
    float *buf = (float *)irllrec__alloc_fn(r->ctx, func, (size_t)(blk * K) * sizeof(float));
    if (buf == NULL) return IRLLREC_E_NOMEM;
    for (int64_t r0 = 0; r0 < n; r0 += blk) {
        const int64_t nr = n - r0 < blk ? n - r0 : blk;
        /* the tower's own two steps: logits E C, then the max-subtracted softmax */
        irllrec__sgemm(0, 0, nr, K, d, 1.0f, x + r0 * ldx, ldx, c, K, 0.0f, buf, K);
        irllrec__softmax_rows_fwd(nr, K, buf, K, buf, K);
        float *p = probs + r0 * K;
        if (!add && scale == 1.0f)
            memcpy(p, buf, (size_t)(nr * K) * sizeof(float));
        else if (!add)
            for (int64_t q = 0; q < nr * K; q++) p[q] = scale * buf[q];
        else
            for (int64_t q = 0; q < nr * K; q++) p[q] += scale * buf[q];
    }
    irllrec__free(r->ctx, buf, (size_t)(blk * K) * sizeof(float));
    return IRLLREC_OK;
}

static irllrec_status need_intents(const irllrec_rec *r, const char *func)
{
    IRL_CHECK_FN(r->ctx, func, r->K > 0, IRLLREC_E_STATE,
                 "no intents: the recommender was built without a hook that has intent text "
                 "(intent_dim > 0)");
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_intents(const irllrec_rec *r, int32_t side, const int32_t *ids,
                                   int64_t n, float *probs)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(need_intents(r, __func__));
    IRL_TRY(irllrec__rec_check_side(r, __func__, side));
    IRL_TRY(irllrec__check_ids(r->ctx, __func__, "ids", ids, n, r->side[side].n));
    IRL_CHECK(r->ctx, n == 0 || probs != NULL, IRLLREC_E_INVALID_ARG, "probs is NULL");
    const float *src = r->side[side].probs;
    for (int64_t q = 0; q < n; q++)
        memcpy(probs + q * r->K, src + (int64_t)ids[q] * r->K, (size_t)r->K * sizeof(float));
    return IRLLREC_OK;
}

/* ---- pair explanation ----------------------------------------------------- */

/* <column k of C (d x K), e> in double. */
static double col_dot(const float *c, int64_t K, int64_t k, const float *e, int64_t d)
{
    double s = 0.0;
    for (int64_t j = 0; j < d; j++) s += (double)c[j * K + k] * (double)e[j];
    return s;
}

typedef struct pair {
    const float *eu, *ei, *p, *q, *cu, *ci;
    int64_t d, K;
} pair;

static double contribution(const pair *x, int64_t k)
{
    return 0.5 * ((double)x->p[k] * col_dot(x->cu, x->K, k, x->ei, x->d) +
                  (double)x->q[k] * col_dot(x->ci, x->K, k, x->eu, x->d));
}

/* 1 when (va, a) ranks before (vb, b): larger value, ties by the lower id. */
static int before(double va, int64_t a, double vb, int64_t b)
{
    return va > vb || (va == vb && a < b);
}

/* The t-th shared intent is the best one ranking after the (t-1)-th: top
 * passes over K, no scratch. */
static void list_shared(const pair *x, int32_t top, irllrec_explanation *out)
{
    double pv = INFINITY;
    int64_t pk = -1;
    for (int32_t t = 0; t < top; t++) {
        double bv = -INFINITY;
        int64_t bk = -1;
        for (int64_t k = 0; k < x->K; k++) {
            const double v = (double)x->p[k] * (double)x->q[k];
            if ((pk < 0 || before(pv, pk, v, k)) && (bk < 0 || before(v, k, bv, bk))) {
                bv = v;
                bk = k;
            }
        }
        out->intents[t] = (int32_t)bk;
        if (out->shared != NULL) out->shared[t] = bv;
        if (out->contribution != NULL) out->contribution[t] = contribution(x, bk);
        pv = bv;
        pk = bk;
    }
}

static irllrec_status check_explain(const irllrec_rec *r, int32_t user, int32_t item,
                                    int32_t top, const irllrec_explanation *out)
{
    static const char f[] = "irllrec_rec_explain";
    IRL_TRY(need_intents(r, f));
    IRL_CHECK_FN(r->ctx, f, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    IRL_CHECK_FN(r->ctx, f, out->struct_size >= sizeof *out, IRLLREC_E_VERSION,
                 "out->struct_size = %u, expected sizeof(irllrec_explanation) = %zu",
                 out->struct_size, sizeof *out);
    IRL_CHECK_FN(r->ctx, f, user >= 0 && user < r->side[0].n, IRLLREC_E_INVALID_ARG,
                 "user = %d not in [0, %lld)", (int)user, (long long)r->side[0].n);
    IRL_CHECK_FN(r->ctx, f, item >= 0 && item < r->side[1].n, IRLLREC_E_INVALID_ARG,
                 "item = %d not in [0, %lld)", (int)item, (long long)r->side[1].n);
    IRL_CHECK_FN(r->ctx, f, top >= 1 && top <= r->K, IRLLREC_E_INVALID_ARG,
                 "top = %d not in [1, K = %lld]", (int)top, (long long)r->K);
    IRL_CHECK_FN(r->ctx, f, out->intents != NULL, IRLLREC_E_INVALID_ARG, "out->intents is NULL");
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_explain(const irllrec_rec *r, int32_t user, int32_t item, int32_t top,
                                   irllrec_explanation *out)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_explain(r, user, item, top, out));
    const int64_t d = r->d, K = r->K;
    pair x = {r->side[0].emb + (int64_t)user * d, r->side[1].emb + (int64_t)item * d,
              r->side[0].probs + (int64_t)user * K, r->side[1].probs + (int64_t)item * K,
              r->proto[0], r->proto[1], d, K};
    double score = 0.0, sum = 0.0;
    for (int64_t j = 0; j < d; j++) score += (double)x.eu[j] * (double)x.ei[j];
    for (int64_t k = 0; k < K; k++) sum += contribution(&x, k);
    list_shared(&x, top, out);
    out->n = top;
    out->score = score;
    out->residual = score - sum;
    return IRLLREC_OK;
}

/* ---- exemplars ------------------------------------------------------------ */

typedef struct exw {
    float *zn, *s, *c;
    uint64_t *heap;
    int32_t *mask;
    size_t bytes[5];
    void *p[5];
} exw;

static void exw_free(irllrec_ctx *ctx, exw *w)
{
    for (int i = 0; i < 5; i++) irllrec__free(ctx, w->p[i], w->bytes[i]);
}

static irllrec_status exw_alloc(irllrec_ctx *ctx, const char *f, exw *w, int64_t n, int64_t d,
                                int32_t top)
{
    const int32_t cap = irllrec__sel_cap(top < n ? top : (int32_t)n, n);
    const size_t sz[5] = {(size_t)(n * d) * 4, (size_t)n * 4, (size_t)d * 4, (size_t)cap * 8,
                          (size_t)n * 4};
    memset(w, 0, sizeof *w);
    for (int i = 0; i < 5; i++) {
        w->bytes[i] = sz[i];
        w->p[i] = irllrec__alloc_fn(ctx, f, sz[i]);
        if (w->p[i] == NULL) {
            exw_free(ctx, w);
            return IRLLREC_E_NOMEM;
        }
    }
    w->zn = w->p[0], w->s = w->p[1], w->c = w->p[2];
    w->heap = w->p[3], w->mask = w->p[4];
    return IRLLREC_OK;
}

/* The exemplars of prototype k: cosines of every z with c_k, then top-K
 * through the ranking kernel's selection. */
static void exemplars_of(const irllrec_rec *r, int32_t side, exw *w, int64_t n_mask, int64_t k,
                         int32_t top, int32_t *ids, float *scores)
{
    const int64_t n = r->side[side].n, d = r->d, K = r->K;
    const float *c = r->proto[side];
    double q = 0.0;
    irllrec__sel t;
    for (int64_t j = 0; j < d; j++) q += (double)c[j * K + k] * (double)c[j * K + k];
    const double inv = 1.0 / sqrt(IRLLREC__L2_EPS + q);
    for (int64_t j = 0; j < d; j++) w->c[j] = (float)((double)c[j * K + k] * inv);
    irllrec__sgemm(0, 0, n, 1, d, 1.0f, w->zn, d, w->c, 1, 0.0f, w->s, 1);
    irllrec__sel_init(&t, w->heap, top < n ? top : (int32_t)n, w->mask, n_mask);
    irllrec__rank_row(&t, w->s, n, NULL, irllrec__rank_isa(r->ctx));
    irllrec__sel_finish(&t);
    for (int32_t j = 0; j < top; j++) {
        ids[k * top + j] = j < t.n ? irllrec__sel_id(&t, j) : -1;
        if (scores != NULL) scores[k * top + j] = j < t.n ? irllrec__sel_score(&t, j) : 0.0f;
    }
}

irllrec_status irllrec_rec_intent_exemplars(const irllrec_rec *r, int32_t side, int32_t top,
                                            int32_t *ids, float *scores)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(need_intents(r, __func__));
    IRL_CHECK(r->ctx, r->has_z, IRLLREC_E_STATE,
              "no intent-tower outputs: the hook given to irllrec_rec_create had no intent text "
              "set (irllrec_hook_set_text, both sides)");
    IRL_TRY(irllrec__rec_check_side(r, __func__, side));
    IRL_CHECK(r->ctx, top >= 1 && top <= IRLLREC_RANK_MAX_K, IRLLREC_E_INVALID_ARG,
              "top = %d not in [1, %d]", (int)top, IRLLREC_RANK_MAX_K);
    IRL_CHECK(r->ctx, ids != NULL, IRLLREC_E_INVALID_ARG, "ids is NULL");
    const irllrec__rec_side *sd = &r->side[side];
    const int64_t n = sd->n, d = r->d;
    exw w;
    IRL_TRY(exw_alloc(r->ctx, __func__, &w, n, d, top));
    int64_t n_mask = 0;
    /* a zero row is a node without intent text (folded in, profile only) */
    for (int64_t i = 0; i < n; i++)
        if (irllrec__vsumsq(sd->z + i * d, d) == 0.0) w.mask[n_mask++] = (int32_t)i;
    irllrec__l2norm_fwd(n, d, sd->z, d, w.zn, d, NULL);
    for (int64_t k = 0; k < r->K; k++) exemplars_of(r, side, &w, n_mask, k, top, ids, scores);
    exw_free(r->ctx, &w);
    return IRLLREC_OK;
}
