/* LightGCN's losses on E_final: the BPR term and the L2 reg of E(0), both
 * with sums that do not depend on the thread count. See lightgcn.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <math.h>
#include <stdlib.h>

static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

typedef struct bpr_job {
    lgcn *m;
    const int32_t *u, *p, *q;
    int64_t b;
    float *df;
} bpr_job;

/* Phase 1, split by triple: the score difference x, softplus(x) and the
 * common factor sigmoid(x) / b of every gradient term. */
static void bpr_coef_task(void *ud, int32_t t, int32_t nt)
{
    bpr_job *j = (bpr_job *)ud;
    lgcn *m = j->m;
    int64_t d = m->d, U = m->U, chunk = j->b / nt, rem = j->b % nt;
    int64_t k0 = t * chunk + (t < rem ? t : rem), k1 = k0 + chunk + (t < rem ? 1 : 0);
    for (int64_t k = k0; k < k1; k++) {
        const float *eu = m->final + j->u[k] * d;
        const float *ei = m->final + (U + j->p[k]) * d;
        const float *ej = m->final + (U + j->q[k]) * d;
        double sp = 0.0, sn = 0.0, x;
        for (int64_t c = 0; c < d; c++) {
            sp += (double)eu[c] * (double)ei[c];
            sn += (double)eu[c] * (double)ej[c];
        }
        x = sn - sp;
        m->bpr_loss[k] = softplus(x);
        /* d softplus(x)/dx = sigmoid(x); the loss is a mean over the batch. */
        m->bpr_g[k] = (float)(1.0 / (1.0 + exp(-x)) / (double)j->b);
    }
}

/* Phase 2, split by destination row: every thread walks the whole batch in
 * order and applies only the updates that land in its rows, so each row sees
 * the same sequence of additions as a serial loop, whatever the split. */
static void bpr_scatter_task(void *ud, int32_t t, int32_t nt)
{
    bpr_job *j = (bpr_job *)ud;
    lgcn *m = j->m;
    int64_t d = m->d, U = m->U, lo, hi;
    (void)nt;
    lgcn_row_share(m, t, &lo, &hi);
    for (int64_t k = 0; k < j->b; k++) {
        int64_t ru = j->u[k], ri = U + j->p[k], rj = U + j->q[k];
        const float *eu = m->final + ru * d, *ei = m->final + ri * d, *ej = m->final + rj * d;
        float g = m->bpr_g[k];
        if (ru >= lo && ru < hi) {
            float *gu = j->df + ru * d;
            for (int64_t c = 0; c < d; c++) gu[c] += g * (ej[c] - ei[c]);
        }
        if (ri >= lo && ri < hi) {
            float *gi = j->df + ri * d;
            for (int64_t c = 0; c < d; c++) gi[c] -= g * eu[c];
        }
        if (rj >= lo && rj < hi) {
            float *gj = j->df + rj * d;
            for (int64_t c = 0; c < d; c++) gj[c] += g * eu[c];
        }
    }
}

/* Both phases in one job: the scatter reads every triple's coefficient. */
static void bpr_task(void *ud, int32_t t, int32_t nt)
{
    bpr_coef_task(ud, t, nt);
    lg_barrier(((bpr_job *)ud)->m);
    bpr_scatter_task(ud, t, nt);
}

double lgcn_bpr(lgcn *m, const int32_t *users, const int32_t *pos, const int32_t *neg, int64_t b,
                float *dfinal)
{
    bpr_job j = {m, users, pos, neg, b, dfinal};
    double total = 0.0;
    if (b <= 0) return 0.0;
    if (b > m->bpr_cap) {
        double *l = (double *)realloc(m->bpr_loss, (size_t)b * sizeof(double));
        float *g;
        if (l == NULL) return NAN;
        m->bpr_loss = l;
        g = (float *)realloc(m->bpr_g, (size_t)b * sizeof(float));
        if (g == NULL) return NAN;
        m->bpr_g = g;
        m->bpr_cap = b;
    }
    lgcn_run(m, bpr_task, &j);
    for (int64_t k = 0; k < b; k++) total += m->bpr_loss[k];
    return total / (double)b;
}

typedef struct reg_job {
    lgcn *m;
} reg_job;

static void reg_task(void *ud, int32_t t, int32_t nt)
{
    lgcn *m = ((reg_job *)ud)->m;
    int64_t chunk = m->n_chunks / nt, rem = m->n_chunks % nt;
    int64_t c0 = t * chunk + (t < rem ? t : rem), c1 = c0 + chunk + (t < rem ? 1 : 0);
    float two_l = (float)(2.0 * m->reg);
    for (int64_t c = c0; c < c1; c++) {
        int64_t lo = c * LG_CHUNK * m->d, hi = (c + 1) * LG_CHUNK;
        double s = 0.0;
        if (hi > m->N) hi = m->N;
        hi *= m->d;
        for (int64_t k = lo; k < hi; k++) {
            float w = m->params[k];
            s += (double)w * (double)w;
            m->grad[k] += two_l * w;
        }
        m->chunk_sum[c] = s;
    }
}

double lgcn_reg(lgcn *m)
{
    reg_job j = {m};
    double s = 0.0;
    lgcn_run(m, reg_task, &j);
    for (int64_t c = 0; c < m->n_chunks; c++) s += m->chunk_sum[c];
    return m->reg * s;
}
