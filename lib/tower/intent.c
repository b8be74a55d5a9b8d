/* The interaction intent encoder: prototype attention per layer, an
 * adaptive edge mask from the cosine of the intents at both ends of every
 * edge, and a row-normalised propagation of the layer embeddings. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "intent_impl.h"
#include "../ops/ops.h"

/* ---- validation ------------------------------------------------------------ */

static irllrec_status check_layers(irllrec_intent *enc, const char *f, const irllrec_mat *emb,
                                   int32_t n_layers)
{
    irllrec_ctx *ctx = enc->ctx;
    if (emb == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f, "emb is NULL");
    if (n_layers != enc->nl)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "n_layers = %d, the encoder has %lld",
                             (int)n_layers, (long long)enc->nl);
    for (int32_t l = 0; l < n_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "emb[%d]", (int)l);
        IRL_TRY(irllrec__check_mat(ctx, f, name, emb[l]));
        if (emb[l].rows != enc->n || emb[l].cols != enc->d)
            return irllrec__fail(ctx, IRLLREC_E_SHAPE, f,
                                 "%s is %lld x %lld, expected N x d = %lld x %lld", name,
                                 (long long)emb[l].rows, (long long)emb[l].cols, (long long)enc->n,
                                 (long long)enc->d);
    }
    return IRLLREC_OK;
}

static irllrec_status check_nd(irllrec_intent *enc, const char *f, const char *name, irllrec_mat m,
                               const irllrec_mat *emb)
{
    IRL_TRY(irllrec__check_mat(enc->ctx, f, name, m));
    if (m.rows != enc->n || m.cols != enc->d)
        return irllrec__fail(enc->ctx, IRLLREC_E_SHAPE, f,
                             "%s is %lld x %lld, expected %lld x %lld", name, (long long)m.rows,
                             (long long)m.cols, (long long)enc->n, (long long)enc->d);
    for (int64_t l = 0; l < enc->nl; l++)
        if (irllrec__mats_overlap(m, emb[l]))
            return irllrec__fail(enc->ctx, IRLLREC_E_INVALID_ARG, f, "%s overlaps emb[%lld]", name,
                                 (long long)l);
    return IRLLREC_OK;
}

/* ---- parallel edge passes ------------------------------------------------------ */

typedef struct edge_job {
    irllrec_intent *enc;
    int64_t l;
    float inv_l;
    irllrec_mat e;     /* E(l) */
    irllrec_mat r;     /* forward output */
    irllrec_mat dr;    /* backward input */
    irllrec_mat de;    /* dE(l), data may be NULL */
} edge_job;

/* Dot product in double with 8 fixed lanes: the order of the additions is
 * fixed (results do not depend on threads or alignment) yet explicit enough
 * for the compiler to vectorise, unlike one serial double accumulator. */
static double dotd(int64_t n, const float *restrict a, const float *restrict b)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0.0;
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) s[q] += (double)a[j + q] * (double)b[j + q];
    for (; j < n; j++) t += (double)a[j] * (double)b[j];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static void axpy_d(int64_t n, double a, const float *restrict x, double *restrict acc)
{
    for (int64_t j = 0; j < n; j++) acc[j] += a * (double)x[j];
}

/* The per-edge rows below are most of an IRLLRec epoch on small data (a
 * quarter of the samples on MovieLens-100K): besides the x86-64 baseline
 * (SSE2, two doubles per instruction) they get AVX2 and AVX-512 copies with
 * the same bits (dotd's eight fixed lanes; IRLLREC__CLONES, lib/internal.h). */
#define EDGE_CLONES IRLLREC__CLONES("avx512f", "avx2", "default")

/* Edge loops read rows of random nodes: memory latency, not arithmetic,
 * bounds them, so request the rows a few edges ahead. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif
#define PF_AHEAD 8

static void prefetch_row(const float *row, int64_t d)
{
    for (int64_t j = 0; j < d; j += 16) PREFETCH(row + j);  /* one 64-byte line per 16 floats */
}

/* Row h of layer l: alpha of its edges, 1/S_h, and out = (add ? out + : )
 * inv_l H_h with H_h = sum_e (alpha_e / S_h) E_t. acc: d doubles. */
EDGE_CLONES static void fwd_row(irllrec_intent *enc, int64_t l, float inv_l, irllrec_mat e, int64_t h,
                    float *out, int add, double *acc)
{
    const graph_buf *g = &enc->g;
    const int64_t d = enc->d;
    const float *zn = enc->zn + l * enc->n * d;
    float *alpha = g->alpha + l * g->nnz, *invs = enc->invs + l * enc->n;
    const float *zh = zn + h * d;
    double s = 0.0;
    float inv;
    const int64_t e0 = g->indptr[h], e1 = g->indptr[h + 1];
    for (int64_t k = e0; k < e1; k++) {
        if (k + PF_AHEAD < e1) prefetch_row(zn + (int64_t)g->indices[k + PF_AHEAD] * d, d);
        alpha[k] = (float)((dotd(d, zh, zn + (int64_t)g->indices[k] * d) + 1.0) * 0.5);
        s += (double)alpha[k];
    }
    /* an empty row (or all alpha == 0, cos = -1 everywhere) propagates nothing */
    inv = s > 0.0 ? (float)(1.0 / s) : 0.0f;
    invs[h] = inv;
    for (int64_t j = 0; j < d; j++) acc[j] = 0.0;
    for (int64_t k = e0; k < e1; k++) {
        if (k + PF_AHEAD < e1)
            prefetch_row(e.data + (int64_t)g->indices[k + PF_AHEAD] * e.ld, d);
        axpy_d(d, (double)alpha[k], e.data + (int64_t)g->indices[k] * e.ld, acc);
    }
    /* the row scale in double: rounding 1/S_h to float showed in
     * finite-difference checks of the prototypes */
    const double sc = s > 0.0 ? (double)inv_l / s : 0.0;
    if (!add)
        for (int64_t j = 0; j < d; j++) out[j] = (float)(acc[j] * sc);
    else
        for (int64_t j = 0; j < d; j++) out[j] += (float)(acc[j] * sc);
}

/* Rows h of one thread: r_h (= for layer 0, += after). */
/* Thread t's rows [*lo, *hi) of a parallel pass, and its accumulator. */
static double *thread_rows(irllrec_intent *enc, int32_t t, int32_t nt, int64_t *lo, int64_t *hi)
{
    irllrec__share(enc->n, t, nt, lo, hi);
    return enc->acc + (size_t)t * 2 * (size_t)enc->d;
}

static void fwd_edges(void *ud, int32_t t, int32_t nt)
{
    const edge_job *jb = (const edge_job *)ud;
    irllrec_intent *enc = jb->enc;
    int64_t lo, hi;
    double *acc = thread_rows(enc, t, nt, &lo, &hi);
    for (int64_t h = lo; h < hi; h++)
        fwd_row(enc, jb->l, jb->inv_l, jb->e, h, jb->r.data + h * jb->r.ld, jb->l != 0, acc);
}

/* Backward, head side, row h with dr_h = drh. With g_e = alpha_e / S_h and
 * H_h = sum_e g_e E_t:
 *   dg_e     = dH_h . E_t                         (dH = dr / L)
 *   dalpha_e = (dg_e - sum_e' g_e' dg_e') / S_h   (quotient rule on alpha_e / sum alpha)
 *   dc_e     = dalpha_e / 2                       (alpha = (c + 1) / 2)
 *   dn(Z)_h += sum_e dc_e n(Z)_t                  (c = n(Z_h) . n(Z_t), head side)
 * dc_e and g_e / L are kept in ebuf for the tail side. */
EDGE_CLONES static void bwd_row_head(irllrec_intent *enc, int64_t l, float inv_l, irllrec_mat e, int64_t h,
                         const float *drh, double *acc)
{
    const graph_buf *g = &enc->g;
    const int64_t d = enc->d;
    const float *zn = enc->zn + l * enc->n * d;
    const float *alpha = g->alpha + l * g->nnz;
    const double inv = (double)enc->invs[l * enc->n + h];
    float *dznh = enc->dzn + h * d;
    double sdg = 0.0;
    const int64_t e0 = g->indptr[h], e1 = g->indptr[h + 1];
    for (int64_t k = e0; k < e1; k++) {
        if (k + PF_AHEAD < e1)
            prefetch_row(e.data + (int64_t)g->indices[k + PF_AHEAD] * e.ld, d);
        const double dg = (double)inv_l * dotd(d, drh, e.data + (int64_t)g->indices[k] * e.ld);
        g->ebuf[2 * k] = (float)dg;
        sdg += (double)alpha[k] * inv * dg;
    }
    for (int64_t j = 0; j < d; j++) acc[j] = 0.0;
    for (int64_t k = e0; k < e1; k++) {
        const double dc = 0.5 * inv * ((double)g->ebuf[2 * k] - sdg);
        if (k + PF_AHEAD < e1) prefetch_row(zn + (int64_t)g->indices[k + PF_AHEAD] * d, d);
        g->ebuf[2 * k] = (float)dc;
        g->ebuf[2 * k + 1] = (float)((double)alpha[k] * inv * (double)inv_l);
        axpy_d(d, dc, zn + (int64_t)g->indices[k] * d, acc);
    }
    for (int64_t j = 0; j < d; j++) dznh[j] += (float)acc[j];
}

/* Backward, head side, rows h of one thread (dzn is zero on entry). */
static void bwd_edges_head(void *ud, int32_t t, int32_t nt)
{
    const edge_job *jb = (const edge_job *)ud;
    irllrec_intent *enc = jb->enc;
    int64_t lo, hi;
    double *acc = thread_rows(enc, t, nt, &lo, &hi);
    for (int64_t h = lo; h < hi; h++)
        bwd_row_head(enc, jb->l, jb->inv_l, jb->e, h, jb->dr.data + h * jb->dr.ld, acc);
}

/* Backward, tail side (rows t of one thread, over the transposed pattern):
 *   dn(Z)_t += sum_{e=(h,t)} dc_e n(Z)_h          (c = n(Z_h) . n(Z_t), tail side)
 *   dE_t    += sum_{e=(h,t)} g_e dH_h             (H = G E)
 * Each thread writes only its own rows t: no atomics, thread-count independent. */
EDGE_CLONES static void bwd_edges_tail(void *ud, int32_t t, int32_t nt)
{
    const edge_job *jb = (const edge_job *)ud;
    irllrec_intent *enc = jb->enc;
    const graph_buf *g = &enc->g;
    const int64_t d = enc->d;
    const float *zn = enc->zn + jb->l * enc->n * d;
    double *acc = enc->acc + (size_t)t * 2 * (size_t)d, *acc2 = acc + d;
    const int want_de = jb->de.data != NULL;
    int64_t lo, hi;
    (void)thread_rows(enc, t, nt, &lo, &hi);
    for (int64_t v = lo; v < hi; v++) {
        float *dznv = enc->dzn + v * d;
        for (int64_t j = 0; j < d; j++) acc[j] = acc2[j] = 0.0;
        const int64_t p0 = g->tptr[v], p1 = g->tptr[v + 1];
        for (int64_t p = p0; p < p1; p++) {
            const int64_t e = g->tedge[p], h = g->thead[p];
            if (p + PF_AHEAD < p1) {
                PREFETCH(g->ebuf + 2 * g->tedge[p + PF_AHEAD]);
                prefetch_row(zn + (int64_t)g->thead[p + PF_AHEAD] * d, d);
                if (want_de)
                    prefetch_row(jb->dr.data + (int64_t)g->thead[p + PF_AHEAD] * jb->dr.ld, d);
            }
            axpy_d(d, (double)g->ebuf[2 * e], zn + h * d, acc);
            if (want_de) axpy_d(d, (double)g->ebuf[2 * e + 1], jb->dr.data + h * jb->dr.ld, acc2);
        }
        for (int64_t j = 0; j < d; j++) dznv[j] += (float)acc[j];
        if (want_de) {
            float *dev = jb->de.data + v * jb->de.ld;
            for (int64_t j = 0; j < d; j++) dev[j] += (float)acc2[j];
        }
    }
}

/* ---- prototype attention ------------------------------------------------------- */

/* Z = softmax(E C) C^T for rows [r0, r0 + nr) with prototypes c (d x K). */
static void proto_fwd(irllrec_intent *enc, const float *c, irllrec_mat e, int64_t r0, int64_t nr,
                      float *z)
{
    const int64_t d = enc->d, k = enc->k;
    if (nr == 0) return;
    irllrec__sgemm(0, 0, nr, k, d, 1.0f, e.data + r0 * e.ld, e.ld, c, k, 0.0f, enc->a + r0 * k, k);
    irllrec__softmax_rows_fwd(nr, k, enc->a + r0 * k, k, enc->a + r0 * k, k);
    irllrec__sgemm(0, 1, nr, d, k, 1.0f, enc->a + r0 * k, k, c, k, 0.0f, z + r0 * d, d);
}

/* With Lg = E C, A = softmax_rows(Lg), Z = A C^T and dZ given:
 *   dA = dZ C,  dC += dZ^T A             (from Z = A C^T)
 *   dLg = A (.) (dA - rowsum(A (.) dA))  (softmax)
 *   dC += E^T dLg,  dE += dLg C^T        (from Lg = E C)
 * The attention A is recomputed from E (cheaper to redo than to keep L x N x K). */
static void proto_bwd(irllrec_intent *enc, const float *c, float *dc, irllrec_mat e,
                      irllrec_mat de, int64_t r0, int64_t nr)
{
    const int64_t d = enc->d, k = enc->k;
    float *a = enc->a + r0 * k, *da = enc->da + r0 * k;
    const float *dz = enc->dz + r0 * d;
    if (nr == 0) return;
    irllrec__sgemm(0, 0, nr, k, d, 1.0f, e.data + r0 * e.ld, e.ld, c, k, 0.0f, a, k);
    irllrec__softmax_rows_fwd(nr, k, a, k, a, k);
    irllrec__sgemm(0, 0, nr, k, d, 1.0f, dz, d, c, k, 0.0f, da, k);
    irllrec__sgemm(1, 0, d, k, nr, 1.0f, dz, d, a, k, 1.0f, dc, k);
    irllrec__softmax_rows_bwd_inplace(nr, k, a, k, da, k);
    irllrec__sgemm(1, 0, d, k, nr, 1.0f, e.data + r0 * e.ld, e.ld, da, k, 1.0f, dc, k);
    if (de.data != NULL)
        irllrec__sgemm(0, 1, nr, d, k, 1.0f, da, k, c, k, 1.0f, de.data + r0 * de.ld, de.ld);
}

/* Z(l) = attention over both sides for every node, and n(Z(l)) when there
 * is a graph (the edge weights). Returns Z(l). */
static const float *layer_fwd(irllrec_intent *enc, irllrec_mat e, int64_t l)
{
    const int64_t n = enc->n, d = enc->d, nu = enc->nu;
    float *z = enc->z + l * n * d;
    proto_fwd(enc, enc->blocks[0].data, e, 0, nu, z);
    proto_fwd(enc, enc->blocks[1].data, e, nu, n - nu, z);
    if (enc->has_graph) irllrec__l2norm_fwd(n, d, z, d, enc->zn + l * n * d, d, NULL);
    return z;
}

/* Graph-free r = mean_l Z(l): out = (add ? out + : ) inv_l z_h. */
static void mean_row(float *out, const float *zh, int64_t d, float inv_l, int add)
{
    if (!add)
        for (int64_t j = 0; j < d; j++) out[j] = zh[j] * inv_l;
    else
        for (int64_t j = 0; j < d; j++) out[j] += zh[j] * inv_l;
}

/* ---- forward / backward --------------------------------------------------------- */

irllrec_status irllrec_intent_forward(irllrec_intent *enc, const irllrec_mat *emb, int32_t n_layers,
                                      irllrec_mat r)
{
    const char *f = __func__;
    int64_t n, d;
    float inv_l;
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_layers(enc, f, emb, n_layers));
    IRL_TRY(check_nd(enc, f, "r", r, emb));
    n = enc->n;
    d = enc->d;
    inv_l = (float)(1.0 / (double)enc->nl);
    for (int64_t l = 0; l < enc->nl; l++) {
        const float *z = layer_fwd(enc, emb[l], l);
        if (!enc->has_graph) {
            for (int64_t h = 0; h < n; h++)
                mean_row(r.data + h * r.ld, z + h * d, d, inv_l, l != 0);
            continue;
        }
        {
            edge_job jb = {enc, l, inv_l, emb[l], r, {0}, {0}};
            irllrec__parallel(enc->ctx, enc->nt, fwd_edges, &jb);
        }
    }
    enc->fwd_done = 1;
    enc->nodes_fwd = 0;
    return IRLLREC_OK;
}

static irllrec_status check_backward(irllrec_intent *enc, const irllrec_mat *emb, int32_t n_layers,
                                     irllrec_mat dr, const irllrec_mat *demb)
{
    const char *f = "irllrec_intent_backward";
    if (!enc->fwd_done)
        return irllrec__fail(enc->ctx, IRLLREC_E_STATE, f, "no forward since create or set_graph");
    IRL_TRY(check_layers(enc, f, emb, n_layers));
    IRL_TRY(irllrec__check_mat(enc->ctx, f, "dr", dr));
    if (dr.rows != enc->n || dr.cols != enc->d)
        return irllrec__fail(enc->ctx, IRLLREC_E_SHAPE, f,
                             "dr is %lld x %lld, expected %lld x %lld", (long long)dr.rows,
                             (long long)dr.cols, (long long)enc->n, (long long)enc->d);
    if (demb == NULL) return IRLLREC_OK;
    for (int64_t l = 0; l < enc->nl; l++) {
        char name[32];
        if (demb[l].data == NULL) continue;
        snprintf(name, sizeof name, "demb[%d]", (int)l);
        IRL_TRY(check_nd(enc, f, name, demb[l], emb));
        if (irllrec__mats_overlap(demb[l], dr))
            return irllrec__fail(enc->ctx, IRLLREC_E_INVALID_ARG, f, "%s overlaps dr", name);
        for (int64_t m = 0; m < l; m++)
            if (irllrec__mats_overlap(demb[l], demb[m]))
                return irllrec__fail(enc->ctx, IRLLREC_E_INVALID_ARG, f, "%s overlaps demb[%lld]",
                                     name, (long long)m);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_intent_backward(irllrec_intent *enc, const irllrec_mat *emb,
                                       int32_t n_layers, irllrec_mat dr, const irllrec_mat *demb)
{
    int64_t n, d, nu;
    float inv_l;
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_backward(enc, emb, n_layers, dr, demb));
    n = enc->n;
    d = enc->d;
    nu = enc->nu;
    inv_l = (float)(1.0 / (double)enc->nl);
    for (int64_t l = 0; l < enc->nl; l++) {
        irllrec_mat de = demb != NULL ? demb[l] : (irllrec_mat){NULL, 0, 0, 0};
        if (enc->has_graph) {
            edge_job jb = {enc, l, inv_l, emb[l], {0}, dr, de};
            memset(enc->dzn, 0, irllrec__fbytes(n, d, 1));
            irllrec__parallel(enc->ctx, enc->nt, bwd_edges_head, &jb);
            irllrec__parallel(enc->ctx, enc->nt, bwd_edges_tail, &jb);
            memset(enc->dz, 0, irllrec__fbytes(n, d, 1));
            irllrec__l2norm_bwd(n, d, enc->z + l * n * d, d, enc->dzn, d, enc->dz, d);
        } else {
            /* graph-free: r = mean_l Z(l), so dZ(l) = dr / L */
            for (int64_t h = 0; h < n; h++)
                for (int64_t j = 0; j < d; j++) enc->dz[h * d + j] = dr.data[h * dr.ld + j] * inv_l;
        }
        proto_bwd(enc, enc->blocks[0].data, enc->blocks[0].grad, emb[l], de, 0, nu);
        proto_bwd(enc, enc->blocks[1].data, enc->blocks[1].grad, emb[l], de, nu, n - nu);
    }
    return IRLLREC_OK;
}

/* ---- anchor rows only (the hook) -------------------------------------------- */

static irllrec_status check_nodes(irllrec_intent *enc, const char *f, const irllrec_mat *emb,
                                  int32_t n_layers, const int64_t *nodes, int64_t n_nodes,
                                  irllrec_mat r)
{
    IRL_TRY(check_layers(enc, f, emb, n_layers));
    IRL_CHECK_FN(enc->ctx, f, nodes != NULL && n_nodes > 0, IRLLREC_E_INVALID_ARG,
                 "nodes is NULL or n_nodes = %lld < 1", (long long)n_nodes);
    for (int64_t s = 0; s < n_nodes; s++)
        IRL_CHECK_FN(enc->ctx, f, nodes[s] >= 0 && nodes[s] < enc->n, IRLLREC_E_INVALID_ARG,
                     "nodes[%lld] = %lld not in [0, N = %lld)", (long long)s,
                     (long long)nodes[s], (long long)enc->n);
    IRL_TRY(irllrec__check_mat(enc->ctx, f, "r", r));
    IRL_CHECK_FN(enc->ctx, f, r.rows == n_nodes && r.cols == enc->d, IRLLREC_E_SHAPE,
                 "r is %lld x %lld, expected n_nodes x d = %lld x %lld", (long long)r.rows,
                 (long long)r.cols, (long long)n_nodes, (long long)enc->d);
    for (int64_t l = 0; l < enc->nl; l++)
        IRL_CHECK_FN(enc->ctx, f, !irllrec__mats_overlap(r, emb[l]), IRLLREC_E_INVALID_ARG,
                     "r overlaps emb[%lld]", (long long)l);
    return IRLLREC_OK;
}

irllrec_status irllrec_intent_forward_nodes(irllrec_intent *enc, const irllrec_mat *emb,
                                            int32_t n_layers, const int64_t *nodes,
                                            int64_t n_nodes, irllrec_mat rv)
{
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_nodes(enc, __func__, emb, n_layers, nodes, n_nodes, rv));
    const int64_t d = enc->d;
    float *r = rv.data;
    const float inv_l = (float)(1.0 / (double)enc->nl);
    for (int64_t l = 0; l < enc->nl; l++) {
        const float *z = layer_fwd(enc, emb[l], l);
        if (!enc->has_graph) {
            for (int64_t s = 0; s < n_nodes; s++)
                mean_row(r + s * rv.ld, z + nodes[s] * d, d, inv_l, l != 0);
            continue;
        }
        for (int64_t s = 0; s < n_nodes; s++)
            fwd_row(enc, l, inv_l, emb[l], nodes[s], r + s * rv.ld, l != 0, enc->acc);
    }
    enc->fwd_done = 0;  /* edge weights exist for these rows only: no whole-graph backward */
    enc->nodes_fwd = n_nodes;
    return IRLLREC_OK;
}

/* The tail side of bwd_edges_tail for the edges of one head h, as a scatter:
 * dn(Z)_t += dc_e n(Z)_h and dE_t += (g_e / L) dr_h for e = (h, t). */
EDGE_CLONES static void bwd_row_tail_scatter(irllrec_intent *enc, int64_t l, int64_t h, const float *drh,
                                 irllrec_mat de)
{
    const graph_buf *g = &enc->g;
    const int64_t d = enc->d;
    const float *zh = enc->zn + l * enc->n * d + h * d;
    for (int64_t k = g->indptr[h]; k < g->indptr[h + 1]; k++) {
        const int64_t t = g->indices[k];
        const float dc = g->ebuf[2 * k], gw = g->ebuf[2 * k + 1];
        float *dznt = enc->dzn + t * d;
        for (int64_t j = 0; j < d; j++) dznt[j] += dc * zh[j];
        if (de.data != NULL) {
            float *det = de.data + t * de.ld;
            for (int64_t j = 0; j < d; j++) det[j] += gw * drh[j];
        }
    }
}

irllrec_status irllrec_intent_backward_nodes(irllrec_intent *enc, const irllrec_mat *emb,
                                             int32_t n_layers, const int64_t *nodes,
                                             int64_t n_nodes, irllrec_cmat drv,
                                             const irllrec_mat *demb)
{
    static const char f[] = "irllrec_intent_backward_nodes";
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(enc->ctx, enc->nodes_fwd == n_nodes && n_nodes > 0, IRLLREC_E_STATE,
              "the last irllrec_intent_forward_nodes had %lld nodes, not %lld",
              (long long)enc->nodes_fwd, (long long)n_nodes);
    IRL_TRY(check_nodes(enc, f, emb, n_layers, nodes, n_nodes, irllrec__mat_of(drv)));
    if (demb != NULL)
        for (int64_t l = 0; l < enc->nl; l++)
            if (demb[l].data != NULL) {
                char name[32];
                snprintf(name, sizeof name, "demb[%d]", (int)l);
                IRL_TRY(check_nd(enc, f, name, demb[l], emb));
            }
    const int64_t n = enc->n, d = enc->d, nu = enc->nu;
    const float *dr = drv.data;
    const int64_t ldr = drv.ld;
    const float inv_l = (float)(1.0 / (double)enc->nl);
    for (int64_t l = 0; l < enc->nl; l++) {
        irllrec_mat de = demb != NULL ? demb[l] : (irllrec_mat){NULL, 0, 0, 0};
        memset(enc->dz, 0, irllrec__fbytes(n, d, 1));
        if (enc->has_graph) {
            /* one anchor at a time, so a node listed twice adds up */
            memset(enc->dzn, 0, irllrec__fbytes(n, d, 1));
            for (int64_t s = 0; s < n_nodes; s++) {
                bwd_row_head(enc, l, inv_l, emb[l], nodes[s], dr + s * ldr, enc->acc);
                bwd_row_tail_scatter(enc, l, nodes[s], dr + s * ldr, de);
            }
            irllrec__l2norm_bwd(n, d, enc->z + l * n * d, d, enc->dzn, d, enc->dz, d);
        } else {
            for (int64_t s = 0; s < n_nodes; s++) {
                float *dzh = enc->dz + nodes[s] * d;
                for (int64_t j = 0; j < d; j++) dzh[j] += dr[s * ldr + j] * inv_l;
            }
        }
        proto_bwd(enc, enc->blocks[0].data, enc->blocks[0].grad, emb[l], de, 0, nu);
        proto_bwd(enc, enc->blocks[1].data, enc->blocks[1].grad, emb[l], de, nu, n - nu);
    }
    return IRLLREC_OK;
}
