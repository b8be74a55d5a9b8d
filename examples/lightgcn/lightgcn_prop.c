/* LightGCN propagation: the forward over L layers (with this step's edge
 * dropout) and the backward through them, scheduled on the model's pool.
 * The row kernels are lightgcn_kern.c; the math is lightgcn.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <string.h>

/* ---- forward ------------------------------------------------------------- */

typedef struct fwd_job {
    lgcn *m;
    lg_view v;
    int32_t layer;     /* computing E(layer+1) from E(layer) */
    int32_t build_mask; /* first layer of a training step: build the dropped views */
    uint64_t step_key;
    uint64_t thresh;   /* keep iff 32-bit hash < thresh */
} fwd_job;

/* keep[e] for the edges of rows [lo, hi): one 64-bit hash of (step, e/2)
 * serves two edges. A counter-based hash, not a sequential RNG, so any
 * thread can draw any edge and the mask does not depend on the split. */
static void draw_mask_rows(lgcn *m, int64_t lo, int64_t hi, uint64_t key, uint64_t thresh)
{
    int64_t e0 = m->indptr[lo], e1 = m->indptr[hi];
    uint8_t *keep = m->keepbit;
    for (int64_t pr = e0 >> 1; 2 * pr < e1; pr++) {
        uint64_t h = lgcn__mix64(key + (uint64_t)pr * 0x9e3779b97f4a7c15ULL);
        int64_t e = 2 * pr;
        if (e >= e0) keep[e] = (h & 0xffffffffULL) < thresh;
        if (e + 1 < e1) keep[e + 1] = (h >> 32) < thresh;
    }
}

/* Each thread compacts its own rows (kept edges first in each row's slot,
 * branch-free). The transposed view keeps edge (r, c) iff the directed edge
 * (c, r) was kept, so the two views describe one dropped matrix and its
 * transpose. */
static void build_dropped_rows(lgcn *m, int64_t lo, int64_t hi)
{
    const uint8_t *keep = m->keepbit;
    for (int64_t r = lo; r < hi; r++) {
        int64_t p = m->indptr[r], q = m->indptr[r];
        for (int64_t e = m->indptr[r]; e < m->indptr[r + 1]; e++) {
            int32_t c = m->col[e];
            float a = m->val[e];
            m->fcol[p] = c;
            m->fval[p] = a;
            p += keep[e];
            m->tcol[q] = c;
            m->tval[q] = a;
            q += keep[m->rev[e]];
        }
        m->fend[r] = p;
        m->tend[r] = q;
    }
}

static void mask_task(void *ud, int32_t t, int32_t nt)
{
    fwd_job *j = (fwd_job *)ud;
    (void)nt;
    draw_mask_rows(j->m, j->m->esplit[t], j->m->esplit[t + 1], j->step_key, j->thresh);
}

static void fwd_task(void *ud, int32_t t, int32_t nt)
{
    fwd_job *j = (fwd_job *)ud;
    lgcn *m = j->m;
    int64_t lo = m->esplit[t], hi = m->esplit[t + 1];
    size_t nd = (size_t)m->N * (size_t)m->d;
    const float *X = j->layer == 0 ? m->params : m->E + (size_t)(j->layer - 1) * nd;
    float *Y = m->E + (size_t)j->layer * nd;
    (void)nt;
    if (j->build_mask) build_dropped_rows(m, lo, hi);
    lg_fwd_rows(lo, hi, j->v, X, Y, m->final, j->layer == 0, m->d);
}

/* The host's per-layer function on E(layer + 1) and E_final, after the
 * propagation of that layer and before the next one reads it. */
static void layer_task(void *ud, int32_t t, int32_t nt)
{
    fwd_job *j = (fwd_job *)ud;
    lgcn *m = j->m;
    size_t nd = (size_t)m->N * (size_t)m->d;
    m->layer_fn(m->layer_ud, j->layer + 1, m->E + (size_t)j->layer * nd, m->final, t, nt);
}

static lg_view full_view(const lgcn *m)
{
    lg_view v = {m->indptr, m->indptr + 1, m->col, m->val};
    return v;
}

void lgcn_forward(lgcn *m, int32_t mode)
{
    fwd_job j;
    int32_t train = mode != LGCN_EVAL;
    int32_t fresh = mode == LGCN_TRAIN || (mode == LGCN_REPLAY && m->steps == 0);
    int32_t dropping = train && m->keep < 1.0;
    int32_t rebuild = dropping && fresh; /* a replay reuses the views as built */
    memset(&j, 0, sizeof j);
    j.m = m;
    j.v = full_view(m);
    if (fresh) m->steps++;
    if (dropping) {
        j.step_key = lgcn__mix64(m->key + (uint64_t)m->steps * 0xd1b54a32d192ed03ULL);
        j.thresh = (uint64_t)(m->keep * 4294967296.0);
        j.v.beg = m->indptr;
        j.v.end = m->fend;
        j.v.col = m->fcol;
        j.v.val = m->fval;
    }
    m->last_dropped = dropping;
    if (m->L == 0) {
        memcpy(m->final, m->params, (size_t)m->N * (size_t)m->d * sizeof(float));
        if (rebuild) {
            lgcn_run(m, mask_task, &j);
            build_dropped_rows(m, 0, m->N);
        }
        return;
    }
    if (rebuild) lgcn_run(m, mask_task, &j);
    for (int32_t l = 0; l < m->L; l++) {
        j.layer = l;
        j.build_mask = rebuild && l == 0;
        lgcn_run(m, fwd_task, &j);
        if (m->layer_fn != NULL) lgcn_run(m, layer_task, &j);
    }
}

/* ---- backward ------------------------------------------------------------ */

typedef struct bwd_job {
    lgcn *m;
    lg_view v;
    const float *G;  /* gradient w.r.t. E(l+1) */
    const float *B;  /* dfinal */
    const float *B2; /* dlayer[l] or NULL */
    float *Y;        /* gradient w.r.t. E(l) */
    const float *W;  /* E(0) when the reg gradient is fused into this layer */
    float two_l;
} bwd_job;

static void bwd_task(void *ud, int32_t t, int32_t nt)
{
    bwd_job *j = (bwd_job *)ud;
    lgcn *m = j->m;
    int64_t lo = m->esplit[t], hi = m->esplit[t + 1];
    (void)nt;
    lg_bwd_rows(lo, hi, j->v, j->G, j->B, j->B2, j->Y, j->W, j->two_l, m->rowsq, m->d);
}

typedef struct add_job {
    lgcn *m;
    const float *a, *b;
    float *out;
} add_job;

static void add_task(void *ud, int32_t t, int32_t nt)
{
    add_job *j = (add_job *)ud;
    int64_t lo, hi, d = j->m->d;
    (void)nt;
    lgcn_row_share(j->m, t, &lo, &hi);
    for (int64_t k = lo * d; k < hi * d; k++) j->out[k] = j->a[k] + (j->b ? j->b[k] : 0.0f);
}

static double backward(lgcn *m, const float *dfinal, const float *const *dlayer, int32_t with_reg)
{
    bwd_job j;
    const float *G;
    int32_t L = m->L;
    double sq = 0.0;
    /* dE(L) = dfinal + dlayer[L]; then dE(l) = dfinal + dlayer[l] + Â'^T dE(l+1).
     * With dropout Â' is not symmetric, so the transposed view is used. */
    const float *extraL = dlayer ? dlayer[L] : NULL;
    memset(&j, 0, sizeof j);
    j.m = m;
    j.v = full_view(m);
    if (m->last_dropped) {
        j.v.end = m->tend;
        j.v.col = m->tcol;
        j.v.val = m->tval;
    }
    if (L == 0 || extraL != NULL) {
        add_job a = {m, dfinal, extraL, L == 0 ? m->grad : m->g[0]};
        lgcn_run(m, add_task, &a);
        if (L == 0) return with_reg ? lgcn_reg(m) : 0.0;
        G = m->g[0];
    } else {
        G = dfinal;
    }
    for (int32_t l = L - 1; l >= 0; l--) {
        j.G = G;
        j.B = dfinal;
        j.B2 = dlayer ? dlayer[l] : NULL;
        j.Y = l == 0 ? m->grad : (G == m->g[0] ? m->g[1] : m->g[0]);
        if (l == 0 && with_reg) {
            j.W = m->params;
            j.two_l = (float)(2.0 * m->reg);
        }
        lgcn_run(m, bwd_task, &j);
        G = j.Y;
    }
    if (!with_reg) return 0.0;
    for (int64_t r = 0; r < m->N; r++) sq += m->rowsq[r];
    return m->reg * sq;
}

void lgcn_backward(lgcn *m, const float *dfinal, const float *const *dlayer)
{
    (void)backward(m, dfinal, dlayer, 0);
}

double lgcn_backward_reg(lgcn *m, const float *dfinal, const float *const *dlayer)
{
    return backward(m, dfinal, dlayer, 1);
}

