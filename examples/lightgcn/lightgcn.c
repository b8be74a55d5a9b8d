/* LightGCN forward/backward by hand. See lightgcn.h for the math. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lgcn_spec_init(lgcn_spec *s)
{
    memset(s, 0, sizeof *s);
    s->dim = 32;
    s->n_layers = 3;
    s->keep_rate = 0.8;
    s->reg = 1e-6;
    s->seed = 2023;
    s->n_threads = 1;
}

#define fail(err, cap, st, ...) lgcn__fail(err, cap, "lgcn_create", st, __VA_ARGS__)

/* Xavier-uniform for a (rows x d) block, as torch computes fan_in = d,
 * fan_out = rows. */
static void xavier(float *w, int64_t rows, int32_t d, irllrec_x_rng *rng)
{
    double bound = sqrt(6.0 / (double)(rows + d));
    for (int64_t k = 0; k < rows * d; k++)
        w[k] = (float)((2.0 * irllrec_x_rng_uniform(rng) - 1.0) * bound);
}

void lgcn_free(lgcn *m)
{
    if (m == NULL) return;
    lg_views_free(m);
    lg_pool_stop(m);
    free(m->pool.th);
    free(m->workers);
    free(m->indptr);
    free(m->col);
    free(m->val);
    free(m->rev);
    free(m->keepbit);
    free(m->fend);
    free(m->tend);
    free(m->fcol);
    free(m->tcol);
    free(m->fval);
    free(m->tval);
    free(m->params); /* view 0's E(0..L) block; m->E points into it */
    free(m->final);
    free(m->grad);
    free(m->dfinal);
    free(m->g[0]);
    free(m->g[1]);
    free(m->esplit);
    free(m->chunk_sum);
    free(m->bpr_loss);
    free(m->rowsq);
    free(m->bpr_g);
    free(m);
}

static float *alloc_mat(int64_t n, int32_t d)
{
    return (float *)calloc((size_t)n * (size_t)d, sizeof(float));
}

/* Split rows so each thread gets about the same edges + rows. */
static void split_rows(lgcn *m)
{
    int64_t total = m->nnz + 2 * m->N, r = 0;
    m->esplit[0] = 0;
    for (int32_t t = 1; t < m->nt; t++) {
        int64_t target = total * t / m->nt;
        while (r < m->N && m->indptr[r] + 2 * r < target) r++;
        m->esplit[t] = r;
    }
    m->esplit[m->nt] = m->N;
}

/* The library builds the normalised bipartite graph (irllrec_graph); the
 * model keeps its own copy, laid out for its propagation. check_train has
 * already validated R, so a failure here is out of memory. */
static irllrec_status build_graph(lgcn *m, const irllrec_csr *R, char *err, size_t cap)
{
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_graph *g = NULL;
    irllrec_csr adj;
    const int64_t N = m->N, nnz = 2 * R->nnz;
    const size_t ne = (size_t)(nnz > 0 ? nnz : 1);
    irllrec_ctx_spec_init(&cs, sizeof cs);
    irllrec_status st = irllrec_ctx_create(&cs, &ctx);
    if (st == IRLLREC_OK) st = irllrec_graph_create(ctx, R, &g);
    if (st == IRLLREC_OK) st = irllrec_graph_adjacency(g, &adj);
    m->nnz = nnz;
    m->indptr = (int64_t *)malloc((size_t)(N + 1) * sizeof(int64_t));
    m->col = (int32_t *)malloc(ne * sizeof(int32_t));
    m->val = (float *)malloc(ne * sizeof(float));
    m->rev = (int32_t *)malloc(ne * sizeof(int32_t));
    if (st == IRLLREC_OK && m->indptr && m->col && m->val && m->rev) {
        memcpy(m->indptr, adj.indptr, (size_t)(N + 1) * sizeof(int64_t));
        memcpy(m->col, adj.indices, (size_t)nnz * sizeof(int32_t));
        memcpy(m->val, irllrec_graph_values(g), (size_t)nnz * sizeof(float));
        memcpy(m->rev, irllrec_graph_reverse(g), (size_t)nnz * sizeof(int32_t));
    } else if (st == IRLLREC_OK) {
        st = IRLLREC_E_NOMEM;
    }
    if (st != IRLLREC_OK)
        fail(err, cap, st, "building the graph: %s", ctx ? irllrec_ctx_errmsg(ctx) : "no context");
    irllrec_graph_free(g);
    irllrec_ctx_free(ctx);
    return st;
}

static irllrec_status check_train(const lgcn_spec *s, const irllrec_csr *R, char *err, size_t cap)
{
    if (R == NULL || R->indptr == NULL || (R->nnz > 0 && R->indices == NULL))
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "train CSR is NULL");
    if (R->n_rows != s->n_users || R->n_cols != s->n_items)
        return fail(err, cap, IRLLREC_E_SHAPE, "train CSR is %lld x %lld, spec says %lld x %lld",
                    (long long)R->n_rows, (long long)R->n_cols, (long long)s->n_users,
                    (long long)s->n_items);
    if (R->indptr[0] != 0 || R->indptr[R->n_rows] != R->nnz || 2 * R->nnz > INT32_MAX ||
        s->n_users + s->n_items > INT32_MAX)
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "bad CSR offsets or graph too large");
    for (int64_t u = 0; u < R->n_rows; u++) {
        if (R->indptr[u + 1] < R->indptr[u])
            return fail(err, cap, IRLLREC_E_INVALID_ARG, "indptr decreases at row %lld", (long long)u);
        for (int64_t k = R->indptr[u]; k < R->indptr[u + 1]; k++) {
            int32_t i = R->indices[k];
            if (i < 0 || i >= R->n_cols || (k > R->indptr[u] && i <= R->indices[k - 1]))
                return fail(err, cap, IRLLREC_E_INVALID_ARG,
                            "row %lld: item ids must be in range, sorted and unique", (long long)u);
        }
    }
    return IRLLREC_OK;
}

irllrec_status lgcn_create(const lgcn_spec *s, const irllrec_csr *train, lgcn **out, char *err,
                           size_t errcap)
{
    lgcn *m;
    irllrec_status st;
    irllrec_ctx *ctx = NULL;
    irllrec_x_rng *rng = NULL;
    int64_t N;
    if (out == NULL) return fail(err, errcap, IRLLREC_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (s == NULL || s->n_users <= 0 || s->n_items <= 0 || s->dim <= 0 || s->dim > 256 || s->n_layers < 0 ||
        s->n_layers > 64 || !(s->keep_rate > 0.0 && s->keep_rate <= 1.0) || !(s->reg >= 0.0) ||
        s->n_threads < 1 || s->n_threads > 256)
        return fail(err, errcap, IRLLREC_E_INVALID_ARG, "bad spec");
    st = check_train(s, train, err, errcap);
    if (st != IRLLREC_OK) return st;
    m = (lgcn *)calloc(1, sizeof *m);
    if (m == NULL) return fail(err, errcap, IRLLREC_E_NOMEM, "out of memory");
    N = s->n_users + s->n_items;
    m->U = s->n_users;
    m->I = s->n_items;
    m->N = N;
    m->d = s->dim;
    m->L = s->n_layers;
    m->nt = s->n_threads;
    m->keep = s->keep_rate;
    m->reg = s->reg;
    m->seed = s->seed;
    m->key = lgcn__mix64(s->seed ^ 0x6c67636e2d64726fULL); /* stream apart from the init RNG */
    st = build_graph(m, train, err, errcap);
    if (st != IRLLREC_OK) goto fail_out;
    m->keepbit = (uint8_t *)malloc((size_t)(m->nnz > 0 ? m->nnz : 1));
    m->fend = (int64_t *)malloc((size_t)N * sizeof(int64_t));
    m->tend = (int64_t *)malloc((size_t)N * sizeof(int64_t));
    m->fcol = (int32_t *)malloc((size_t)(m->nnz > 0 ? m->nnz : 1) * sizeof(int32_t));
    m->tcol = (int32_t *)malloc((size_t)(m->nnz > 0 ? m->nnz : 1) * sizeof(int32_t));
    m->fval = (float *)malloc((size_t)(m->nnz > 0 ? m->nnz : 1) * sizeof(float));
    m->tval = (float *)malloc((size_t)(m->nnz > 0 ? m->nnz : 1) * sizeof(float));
    m->params = (float *)calloc((size_t)(m->L + 1) * (size_t)N * (size_t)m->d, sizeof(float));
    m->E = m->params != NULL ? m->params + (size_t)N * (size_t)m->d : NULL;
    m->final = alloc_mat(N, m->d);
    m->grad = alloc_mat(N, m->d);
    m->dfinal = alloc_mat(N, m->d);
    m->g[0] = alloc_mat(N, m->d);
    m->g[1] = alloc_mat(N, m->d);
    m->esplit = (int64_t *)calloc((size_t)m->nt + 1, sizeof(int64_t));
    m->n_chunks = (N + LG_CHUNK - 1) / LG_CHUNK;
    m->chunk_sum = (double *)calloc((size_t)m->n_chunks, sizeof(double));
    m->rowsq = (double *)calloc((size_t)N, sizeof(double));
    if (!m->keepbit || !m->fend || !m->tend || !m->fcol || !m->tcol || !m->fval || !m->tval || !m->params ||
        !m->final || !m->grad || !m->dfinal || !m->g[0] || !m->g[1] || !m->esplit ||
        !m->chunk_sum || !m->rowsq) {
        st = fail(err, errcap, IRLLREC_E_NOMEM, "out of memory for embeddings");
        goto fail_out;
    }
    /* Users, then items, from one seeded stream (the reference draws the two
     * parameters in that order too, though from torch's generator). */
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK || irllrec_x_rng_create(ctx, s->seed, &rng) != IRLLREC_OK) {
        st = fail(err, errcap, IRLLREC_E_NOMEM, "cannot create the init RNG");
        goto fail_out;
    }
    xavier(m->params, m->U, m->d, rng);
    xavier(m->params + m->U * m->d, m->I, m->d, rng);
    irllrec_x_rng_free(rng);
    irllrec_ctx_free(ctx);
    rng = NULL;
    ctx = NULL;
    if (lg_pool_start(m) != 0) {
        st = fail(err, errcap, IRLLREC_E_NOMEM, "cannot start threads");
        goto fail_out;
    }
    split_rows(m);
    *out = m;
    return IRLLREC_OK;
fail_out:
    irllrec_x_rng_free(rng);
    irllrec_ctx_free(ctx);
    lgcn_free(m);
    return st;
}

int64_t lgcn_n_users(const lgcn *m) { return m->U; }
int64_t lgcn_n_nodes(const lgcn *m) { return m->N; }
int32_t lgcn_dim(const lgcn *m) { return m->d; }
int32_t lgcn_n_layers(const lgcn *m) { return m->L; }
int64_t lgcn_n_edges(const lgcn *m) { return m->nnz; }
int32_t lgcn_n_threads(const lgcn *m) { return m->nt; }
int64_t lgcn_steps(const lgcn *m) { return m->steps; }
void lgcn_set_steps(lgcn *m, int64_t steps) { m->steps = steps; }
float *lgcn_params(lgcn *m) { return m->params; }
float *lgcn_grad(lgcn *m) { return m->grad; }
const float *lgcn_final(const lgcn *m) { return m->final; }

void lgcn_adjacency(const lgcn *m, irllrec_csr *adj)
{
    adj->n_rows = m->N;
    adj->n_cols = m->N;
    adj->nnz = m->nnz;
    adj->indptr = m->indptr;
    adj->indices = m->col;
}
float *lgcn_dfinal_buffer(lgcn *m) { return m->dfinal; }

int64_t lgcn_edges_used(const lgcn *m)
{
    int64_t n = 0;
    if (!m->last_dropped) return m->nnz;
    for (int64_t r = 0; r < m->N; r++) n += m->fend[r] - m->indptr[r];
    return n;
}

const float *lgcn_layer(const lgcn *m, int32_t l)
{
    if (l < 0 || l > m->L) return NULL;
    if (l == 0) return m->params;
    return m->E + (size_t)(l - 1) * (size_t)m->N * (size_t)m->d;
}

/* ---- kernels ------------------------------------------------------------- */

/* y = sum_e val[e] * X[col[e]]; then Y[r] = y, and F[r] = (first ? X[r] : F[r]) + y.
 * The body is a macro so the d = 32 copy sees a constant width and a
 * fixed-size accumulator, which keeps y in two (AVX-512) or four (AVX2)
 * registers; target_clones picks the widest ISA at load time. */
#define LG_FWD_BODY(D, YCAP)                                                   \
    for (int64_t r = lo; r < hi; r++) {                                        \
        float y[YCAP];                                                         \
        const float *xr = X + r * (D);                                         \
        float *fr = F + r * (D);                                               \
        float *yr = Y + r * (D);                                               \
        for (int32_t c = 0; c < (D); c++) y[c] = 0.0f;                         \
        for (int64_t e = v.beg[r]; e < v.end[r]; e++) {                        \
            const float *xc = X + (int64_t)v.col[e] * (D);                     \
            const float a = v.val[e];                                          \
            for (int32_t c = 0; c < (D); c++) y[c] += a * xc[c];               \
        }                                                                      \
        for (int32_t c = 0; c < (D); c++) yr[c] = y[c];                        \
        if (first)                                                             \
            for (int32_t c = 0; c < (D); c++) fr[c] = xr[c] + y[c];            \
        else                                                                   \
            for (int32_t c = 0; c < (D); c++) fr[c] += y[c];                   \
    }

/* Y[r] = B[r] (+ B2[r]) + sum_e val[e] * G[col[e]] (+ two_l * W[r], with
 * rowsq[r] = |W[r]|^2, when the reg term is fused into the last layer). */
#define LG_BWD_BODY(D, YCAP)                                                   \
    for (int64_t r = lo; r < hi; r++) {                                        \
        float y[YCAP];                                                         \
        float *yr = Y + r * (D);                                               \
        for (int32_t c = 0; c < (D); c++) y[c] = B[r * (D) + c];               \
        if (B2 != NULL)                                                        \
            for (int32_t c = 0; c < (D); c++) y[c] += B2[r * (D) + c];         \
        for (int64_t e = v.beg[r]; e < v.end[r]; e++) {                        \
            const float *gc = G + (int64_t)v.col[e] * (D);                     \
            const float a = v.val[e];                                          \
            for (int32_t c = 0; c < (D); c++) y[c] += a * gc[c];               \
        }                                                                      \
        if (W != NULL) {                                                       \
            const float *w = W + r * (D);                                      \
            double sq = 0.0;                                                   \
            for (int32_t c = 0; c < (D); c++) {                                \
                y[c] += two_l * w[c];                                          \
                sq += (double)w[c] * (double)w[c];                             \
            }                                                                  \
            rowsq[r] = sq;                                                     \
        }                                                                      \
        for (int32_t c = 0; c < (D); c++) yr[c] = y[c];                        \
    }

/* ifunc-based clones need GNU ELF on x86-64, and their resolvers run before
 * ThreadSanitizer's runtime is up (an instrumented resolver crashes at load),
 * so TSan builds and other platforms get one baseline copy. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && \
    !defined(__SANITIZE_THREAD__) && !defined(LGCN_NO_CLONES)
#define LG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LG_CLONES
#endif

/* d = 32: the row accumulator lives in four 8-float vectors (GCC/Clang
 * vector extensions, not intrinsics), so it stays in registers; the
 * auto-vectorised form above spilled it and took a scalar path. */
typedef float lg_v8 __attribute__((vector_size(32)));

/* Unaligned 8-float load/store; macros, because passing vectors by value
 * across functions compiled for different ISAs changes the ABI. */
#define LD8(dst, p) memcpy(&(dst), (p), sizeof(lg_v8))
#define ST8(p, src) memcpy((p), &(src), sizeof(lg_v8))
/* y_k += a * x[8k .. 8k+8) for k = 0..3 */
#define AXPY32(a, x)                                                           \
    do {                                                                       \
        lg_v8 x0_, x1_, x2_, x3_;                                              \
        LD8(x0_, (x));                                                         \
        LD8(x1_, (x) + 8);                                                     \
        LD8(x2_, (x) + 16);                                                    \
        LD8(x3_, (x) + 24);                                                    \
        y0 += (a) * x0_;                                                       \
        y1 += (a) * x1_;                                                       \
        y2 += (a) * x2_;                                                       \
        y3 += (a) * x3_;                                                       \
    } while (0)
#define STORE32(p)                                                             \
    do {                                                                       \
        ST8((p), y0);                                                          \
        ST8((p) + 8, y1);                                                      \
        ST8((p) + 16, y2);                                                     \
        ST8((p) + 24, y3);                                                     \
    } while (0)

LG_CLONES static void fwd32(int64_t lo, int64_t hi, lg_view v, const float *restrict X,
                            float *restrict Y, float *restrict F, int32_t first)
{
    for (int64_t r = lo; r < hi; r++) {
        lg_v8 y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0};
        float *yr = Y + r * 32, *fr = F + r * 32;
        const float one = 1.0f;
        for (int64_t e = v.beg[r]; e < v.end[r]; e++)
            AXPY32(v.val[e], X + (int64_t)v.col[e] * 32);
        STORE32(yr);
        /* F[r] = base + y, base = X[r] on the first layer, else F[r] */
        AXPY32(one, first ? X + r * 32 : fr);
        STORE32(fr);
    }
}
LG_CLONES static void fwdn(int64_t lo, int64_t hi, lg_view v, const float *restrict X,
                           float *restrict Y, float *restrict F, int32_t first, int32_t d)
{
    LG_FWD_BODY(d, 256)
}
LG_CLONES static void bwd32(int64_t lo, int64_t hi, lg_view v, const float *restrict G,
                            const float *restrict B, const float *restrict B2, float *restrict Y,
                            const float *restrict W, float two_l, double *restrict rowsq)
{
    for (int64_t r = lo; r < hi; r++) {
        lg_v8 y0, y1, y2, y3;
        const float one = 1.0f;
        LD8(y0, B + r * 32);
        LD8(y1, B + r * 32 + 8);
        LD8(y2, B + r * 32 + 16);
        LD8(y3, B + r * 32 + 24);
        if (B2 != NULL) AXPY32(one, B2 + r * 32);
        for (int64_t e = v.beg[r]; e < v.end[r]; e++)
            AXPY32(v.val[e], G + (int64_t)v.col[e] * 32);
        if (W != NULL) {
            const float *w = W + r * 32;
            double sq = 0.0;
            AXPY32(two_l, w);
            for (int32_t c = 0; c < 32; c++) sq += (double)w[c] * (double)w[c];
            rowsq[r] = sq;
        }
        STORE32(Y + r * 32);
    }
}
LG_CLONES static void bwdn(int64_t lo, int64_t hi, lg_view v, const float *restrict G,
                           const float *restrict B, const float *restrict B2, float *restrict Y,
                           const float *restrict W, float two_l, double *restrict rowsq, int32_t d)
{
    LG_BWD_BODY(d, 256)
}

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
    if (m->d == 32)
        fwd32(lo, hi, j->v, X, Y, m->final, j->layer == 0);
    else
        fwdn(lo, hi, j->v, X, Y, m->final, j->layer == 0, m->d);
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
    if (m->d == 32)
        bwd32(lo, hi, j->v, j->G, j->B, j->B2, j->Y, j->W, j->two_l, m->rowsq);
    else
        bwdn(lo, hi, j->v, j->G, j->B, j->B2, j->Y, j->W, j->two_l, m->rowsq, m->d);
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

/* ---- losses -------------------------------------------------------------- */

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
    lgcn_run(m, bpr_coef_task, &j);
    lgcn_run(m, bpr_scatter_task, &j);
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
