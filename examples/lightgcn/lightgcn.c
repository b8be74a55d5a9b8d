/* The LightGCN model: spec, graph, parameters and accessors. Propagation is
 * lightgcn_prop.c, losses lightgcn_loss.c; the math is lightgcn.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <math.h>
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
        s->n_layers > LGCN_MAX_LAYERS || !(s->keep_rate > 0.0 && s->keep_rate <= 1.0) || !(s->reg >= 0.0) ||
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
