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
    int32_t rebuild;   /* a training step: draw the mask and build the dropped views */
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

/* The whole forward as one job: the threads meet at a barrier after the
 * mask (the transposed view reads other rows' bits), after each layer (the
 * next one gathers any row) and around the host's layer function (it works
 * on its own row shares), instead of one wake-up per phase. */
static void forward_task(void *ud, int32_t t, int32_t nt)
{
    fwd_job *j = (fwd_job *)ud;
    lgcn *m = j->m;
    int64_t lo = m->esplit[t], hi = m->esplit[t + 1];
    size_t nd = (size_t)m->N * (size_t)m->d;
    if (j->rebuild) {
        draw_mask_rows(m, lo, hi, j->step_key, j->thresh);
        lg_barrier(m);
        build_dropped_rows(m, lo, hi);
    }
    for (int32_t l = 0; l < m->L; l++) {
        const float *X = l == 0 ? m->params : m->E + (size_t)(l - 1) * nd;
        float *Y = m->E + (size_t)l * nd;
        lg_fwd_rows(lo, hi, j->v, X, Y, m->final, l == 0, m->d);
        if (m->layer_fn == NULL) {
            if (l + 1 < m->L) lg_barrier(m);
            continue;
        }
        lg_barrier(m);
        m->layer_fn(m->layer_ud, l + 1, Y, m->final, t, nt);
        if (l + 1 < m->L) lg_barrier(m);
    }
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
    j.rebuild = rebuild;
    if (m->L == 0) memcpy(m->final, m->params, (size_t)m->N * (size_t)m->d * sizeof(float));
    if (m->L > 0 || rebuild) lgcn_run(m, forward_task, &j);
}

/* ---- backward ------------------------------------------------------------ */

/* Layer l's step reads G[l] (the gradient w.r.t. E(l+1)) and writes Y[l]
 * (w.r.t. E(l)); add, when set, first forms out = dfinal + dlayer[L]. */
typedef struct bwd_job {
    lgcn *m;
    lg_view v;
    const float *B; /* dfinal */
    const float *const *dlayer;
    const float *G[LGCN_MAX_LAYERS];
    float *Y[LGCN_MAX_LAYERS];
    const float *add_b;
    float *add_out;
    int32_t with_reg;
} bwd_job;

/* The whole backward as one job, with a barrier between layers (each
 * gathers any row of the one before) instead of a wake-up per layer. */
static void backward_task(void *ud, int32_t t, int32_t nt)
{
    bwd_job *j = (bwd_job *)ud;
    lgcn *m = j->m;
    int64_t lo = m->esplit[t], hi = m->esplit[t + 1];
    float two_l = (float)(2.0 * m->reg);
    (void)nt;
    if (j->add_out != NULL) {
        int64_t r0, r1, d = m->d;
        lgcn_row_share(m, t, &r0, &r1);
        for (int64_t k = r0 * d; k < r1 * d; k++)
            j->add_out[k] = j->B[k] + (j->add_b ? j->add_b[k] : 0.0f);
        if (m->L == 0) return;
        lg_barrier(m);
    }
    for (int32_t l = m->L - 1; l >= 0; l--) {
        const float *W = l == 0 && j->with_reg ? m->params : NULL;
        lg_bwd_rows(lo, hi, j->v, j->G[l], j->B, j->dlayer ? j->dlayer[l] : NULL, j->Y[l], W,
                    W ? two_l : 0.0f, m->rowsq, m->d);
        if (l > 0) lg_barrier(m);
    }
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
    j.B = dfinal;
    j.dlayer = dlayer;
    j.with_reg = with_reg;
    if (m->last_dropped) {
        j.v.end = m->tend;
        j.v.col = m->tcol;
        j.v.val = m->tval;
    }
    G = dfinal;
    if (L == 0 || extraL != NULL) {
        j.add_b = extraL;
        j.add_out = L == 0 ? m->grad : m->g[0];
        G = j.add_out;
    }
    for (int32_t l = L - 1; l >= 0; l--) {
        j.G[l] = G;
        j.Y[l] = l == 0 ? m->grad : (G == m->g[0] ? m->g[1] : m->g[0]);
        G = j.Y[l];
    }
    lgcn_run(m, backward_task, &j);
    if (L == 0) return with_reg ? lgcn_reg(m) : 0.0;
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

