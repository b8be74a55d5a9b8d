/* The interaction intent encoder's handle: create, free, the graph it
 * propagates over (and its transpose), and the prototype parameters. The
 * passes are in intent.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "intent_impl.h"

static void graph_free(irllrec_ctx *ctx, graph_buf *g, int64_t n, int64_t nl)
{
    irllrec__free(ctx, g->indptr, (size_t)(n + 1) * sizeof(int64_t));
    irllrec__free(ctx, g->indices, (size_t)g->nnz * sizeof(int32_t));
    irllrec__free(ctx, g->tptr, (size_t)(n + 1) * sizeof(int64_t));
    irllrec__free(ctx, g->tedge, (size_t)g->nnz * sizeof(int64_t));
    irllrec__free(ctx, g->thead, (size_t)g->nnz * sizeof(int32_t));
    irllrec__free(ctx, g->alpha, irllrec__fbytes(nl, g->nnz, 1));
    irllrec__free(ctx, g->ebuf, irllrec__fbytes(2, g->nnz, 1));
    memset(g, 0, sizeof *g);
}

static irllrec_status check_graph(irllrec_ctx *ctx, const char *f, const irllrec_csr *gr, int64_t n,
                                  int64_t nl)
{
    IRL_TRY(irllrec__check_csr(ctx, f, "graph", gr, n, n));
    /* the largest edge buffer is L x nnz floats; int64 + int32 per edge for the transpose */
    IRL_CHECK_FN(ctx, f, (uint64_t)gr->nnz <= SIZE_MAX / ((size_t)nl * sizeof(float) + 16),
                 IRLLREC_E_SHAPE, "graph: nnz = %lld is too large", (long long)gr->nnz);
    return IRLLREC_OK;
}

/* Transposed pattern by counting sort: edges of each tail node appear in
 * increasing head order, which fixes the summation order of the backward. */
static void build_transpose(graph_buf *g, int64_t n)
{
    memset(g->tptr, 0, (size_t)(n + 1) * sizeof(int64_t));
    for (int64_t e = 0; e < g->nnz; e++) g->tptr[g->indices[e] + 1]++;
    for (int64_t i = 0; i < n; i++) g->tptr[i + 1] += g->tptr[i];
    for (int64_t h = 0; h < n; h++)
        for (int64_t e = g->indptr[h]; e < g->indptr[h + 1]; e++) {
            const int64_t pos = g->tptr[g->indices[e]]++;
            g->tedge[pos] = e;
            g->thead[pos] = (int32_t)h;
        }
    for (int64_t i = n; i > 0; i--) g->tptr[i] = g->tptr[i - 1];
    g->tptr[0] = 0;
}

static irllrec_status graph_make(irllrec_intent *enc, const char *fn, const irllrec_csr *gr,
                                 graph_buf *g)
{
    irllrec_ctx *ctx = enc->ctx;
    const int64_t n = enc->n, nnz = gr->nnz;
    memset(g, 0, sizeof *g);
    g->nnz = nnz;
    g->indptr = (int64_t *)irllrec__alloc_fn(ctx, fn, (size_t)(n + 1) * sizeof(int64_t));
    g->tptr = (int64_t *)irllrec__alloc_fn(ctx, fn, (size_t)(n + 1) * sizeof(int64_t));
    if (nnz > 0) {
        g->indices = (int32_t *)irllrec__alloc_fn(ctx, fn, (size_t)nnz * sizeof(int32_t));
        g->tedge = (int64_t *)irllrec__alloc_fn(ctx, fn, (size_t)nnz * sizeof(int64_t));
        g->thead = (int32_t *)irllrec__alloc_fn(ctx, fn, (size_t)nnz * sizeof(int32_t));
        g->alpha = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(enc->nl, nnz, 1));
        g->ebuf = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(2, nnz, 1));
    }
    if (g->indptr == NULL || g->tptr == NULL ||
        (nnz > 0 && (g->indices == NULL || g->tedge == NULL || g->thead == NULL ||
                     g->alpha == NULL || g->ebuf == NULL))) {
        graph_free(ctx, g, n, enc->nl);
        return IRLLREC_E_NOMEM;
    }
    memcpy(g->indptr, gr->indptr, (size_t)(n + 1) * sizeof(int64_t));
    if (nnz > 0) memcpy(g->indices, gr->indices, (size_t)nnz * sizeof(int32_t));
    build_transpose(g, n);
    return IRLLREC_OK;
}

void irllrec_intent_spec_init(irllrec_intent_spec *spec, uint32_t struct_size)
{
    static const irllrec_intent_spec d = {
        .n_intents = 128,
        .n_layers = 3};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static irllrec_status check_spec(irllrec_ctx *ctx, const irllrec_intent_spec *s)
{
    const char *f = "irllrec_intent_create";
    if (s->dim <= 0 || s->n_intents <= 0 || s->n_layers <= 0)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f,
                             "dim = %d, n_intents = %d, n_layers = %d: all must be > 0",
                             (int)s->dim, (int)s->n_intents, (int)s->n_layers);
    if (s->n_users < 0 || s->n_items < 0 || s->n_users + s->n_items <= 0 ||
        s->n_users > INT32_MAX || s->n_items > INT32_MAX || s->n_users + s->n_items > INT32_MAX)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f,
                             "n_users = %lld, n_items = %lld: need >= 0, sum in [1, 2^31)",
                             (long long)s->n_users, (long long)s->n_items);
    /* the largest buffers are N x K and L x N x d floats; N < 2^31 and the
     * dims are int32, so a 64-bit size_t cannot overflow */
    if (sizeof(size_t) < 8 &&
        ((double)(s->n_users + s->n_items) * (double)s->n_layers * (double)s->dim > 2e8 ||
         (double)(s->n_users + s->n_items) * (double)s->n_intents > 2e8))
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f,
                             "workspace too large for a 32-bit address space");
    return IRLLREC_OK;
}

static void init_protos(irllrec_intent *enc)
{
    irllrec__rng r;
    const double bound = sqrt(6.0 / (double)(enc->d + enc->k));  /* Xavier-uniform */
    irllrec__rng_seed(&r, enc->spec.seed, IRLLREC__STREAM_INTENT);
    irllrec__init_uniform(&r, enc->c, 2 * enc->d * enc->k, bound);
}

void irllrec_intent_free(irllrec_intent *enc)
{
    irllrec_ctx *ctx;
    int64_t n, d, k, nl;
    if (enc == NULL) return;
    ctx = enc->ctx;
    n = enc->n;
    d = enc->d;
    k = enc->k;
    nl = enc->nl;
    irllrec__free(ctx, enc->c, irllrec__fbytes(2, d, k));
    irllrec__free(ctx, enc->dc, irllrec__fbytes(2, d, k));
    irllrec__free(ctx, enc->a, irllrec__fbytes(n, k, 1));
    irllrec__free(ctx, enc->da, irllrec__fbytes(n, k, 1));
    irllrec__free(ctx, enc->z, irllrec__fbytes(nl, n, d));
    irllrec__free(ctx, enc->zn, irllrec__fbytes(nl, n, d));
    irllrec__free(ctx, enc->dz, irllrec__fbytes(n, d, 1));
    irllrec__free(ctx, enc->dzn, irllrec__fbytes(n, d, 1));
    irllrec__free(ctx, enc->invs, irllrec__fbytes(nl, n, 1));
    irllrec__free(ctx, enc->acc, (size_t)enc->nt * 2 * (size_t)d * sizeof(double));
    graph_free(ctx, &enc->g, n, nl);
    irllrec__free(ctx, enc, sizeof *enc);
}

int64_t irllrec__intent_bytes(const irllrec_intent_spec *s, int32_t n_threads, int64_t nnz)
{
    const int64_t n = s->n_users + s->n_items, d = s->dim, k = s->n_intents, nl = s->n_layers;
    const int64_t nt = n_threads > n ? n : n_threads;
    int64_t b = (int64_t)sizeof(irllrec_intent);
    b += 2 * (int64_t)irllrec__fbytes(2, d, k) + 2 * (int64_t)irllrec__fbytes(n, k, 1);
    b += 2 * (int64_t)irllrec__fbytes(nl, n, d) + 2 * (int64_t)irllrec__fbytes(n, d, 1);
    b += (int64_t)irllrec__fbytes(nl, n, 1) + nt * 2 * d * (int64_t)sizeof(double);
    /* the graph set later: offsets and transpose offsets, edges, transpose, weights */
    if (nnz > 0)
        b += 2 * (n + 1) * 8 + nnz * (4 + 8 + 4) + (int64_t)irllrec__fbytes(nl, nnz, 1) +
             (int64_t)irllrec__fbytes(2, nnz, 1);
    return b;
}

irllrec_status irllrec_intent_create(irllrec_ctx *ctx, const irllrec_intent_spec *spec,
                                     const irllrec_csr *graph, irllrec_intent **out)
{
    const char *fn = __func__;
    irllrec_intent_spec s;
    irllrec_intent *enc;
    int64_t n, d, k, nl;
    if (out != NULL) *out = NULL;
    IRL_TRY(irllrec__begin_create(ctx, __func__, out == NULL, spec, &s, sizeof s));
    IRL_TRY(check_spec(ctx, &s));
    n = s.n_users + s.n_items;
    if (graph != NULL) IRL_TRY(check_graph(ctx, __func__, graph, n, s.n_layers));
    enc = (irllrec_intent *)irllrec__calloc_fn(ctx, fn, 1, sizeof *enc);
    if (enc == NULL) return IRLLREC_E_NOMEM;
    enc->ctx = ctx;
    enc->spec = s;
    enc->n = n;
    enc->nu = s.n_users;
    enc->d = d = s.dim;
    enc->k = k = s.n_intents;
    enc->nl = nl = s.n_layers;
    enc->nt = irllrec_ctx_n_threads(ctx);
    if (enc->nt > n) enc->nt = (int32_t)n;
    enc->c = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(2, d, k));
    enc->dc = (float *)irllrec__calloc_fn(ctx, fn, 1, irllrec__fbytes(2, d, k));
    enc->a = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(n, k, 1));
    enc->da = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(n, k, 1));
    enc->z = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(nl, n, d));
    enc->zn = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(nl, n, d));
    enc->dz = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(n, d, 1));
    enc->dzn = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(n, d, 1));
    enc->invs = (float *)irllrec__alloc_fn(ctx, fn, irllrec__fbytes(nl, n, 1));
    enc->acc =
        (double *)irllrec__alloc_fn(ctx, fn, (size_t)enc->nt * 2 * (size_t)d * sizeof(double));
    if (enc->c == NULL || enc->dc == NULL || enc->a == NULL || enc->da == NULL || enc->z == NULL ||
        enc->zn == NULL || enc->dz == NULL || enc->dzn == NULL || enc->invs == NULL ||
        enc->acc == NULL ||
        (graph != NULL && graph_make(enc, __func__, graph, &enc->g) != IRLLREC_OK)) {
        irllrec_intent_free(enc);
        return IRLLREC_E_NOMEM;
    }
    enc->has_graph = graph != NULL;
    for (int i = 0; i < IRLLREC_INTENT_N_PARAMS; i++) {
        enc->blocks[i].data = enc->c + i * d * k;
        enc->blocks[i].grad = enc->dc + i * d * k;
        enc->blocks[i].rows = d;
        enc->blocks[i].cols = k;
    }
    snprintf(enc->blocks[0].name, sizeof enc->blocks[0].name, "intent.user_intent");
    snprintf(enc->blocks[1].name, sizeof enc->blocks[1].name, "intent.item_intent");
    init_protos(enc);
    *out = enc;
    return IRLLREC_OK;
}

irllrec_status irllrec_intent_set_graph(irllrec_intent *enc, const irllrec_csr *graph)
{
    graph_buf g;
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    if (graph != NULL) {
        IRL_TRY(check_graph(enc->ctx, __func__, graph, enc->n, enc->nl));
        IRL_TRY(graph_make(enc, __func__, graph, &g));
    } else {
        memset(&g, 0, sizeof g);
    }
    graph_free(enc->ctx, &enc->g, enc->n, enc->nl);
    enc->g = g;
    enc->has_graph = graph != NULL;
    enc->fwd_done = 0;
    enc->nodes_fwd = 0;
    return IRLLREC_OK;
}

int32_t irllrec_intent_has_graph(const irllrec_intent *enc)
{
    return enc == NULL ? -1 : enc->has_graph;
}

void irllrec_intent_zero_grad(irllrec_intent *enc)
{
    if (enc == NULL) return;
    memset(enc->dc, 0, irllrec__fbytes(2, enc->d, enc->k));
}

/* ---- parameters ----------------------------------------------------------------- */

static irllrec_status check_view(const irllrec_intent *enc, int32_t id, irllrec_mat m,
                                 const char *f)
{
    if (enc == NULL) return IRLLREC_E_INVALID_ARG;
    if (id < 0 || id >= IRLLREC_INTENT_N_PARAMS)
        return irllrec__fail(enc->ctx, IRLLREC_E_INVALID_ARG, f, "parameter id %d is not 0..1",
                             (int)id);
    IRL_TRY(irllrec__check_mat(enc->ctx, f, "matrix", m));
    if (m.rows != enc->d || m.cols != enc->k)
        return irllrec__fail(
            enc->ctx, IRLLREC_E_SHAPE, f, "matrix is %lld x %lld, expected d x K = %lld x %lld",
            (long long)m.rows, (long long)m.cols, (long long)enc->d, (long long)enc->k);
    return IRLLREC_OK;
}

static void copy_block(const float *src, irllrec_mat dst)
{
    for (int64_t r = 0; r < dst.rows; r++)
        memcpy(dst.data + r * dst.ld, src + r * dst.cols, (size_t)dst.cols * sizeof(float));
}

irllrec_status irllrec_intent_get_param(const irllrec_intent *enc, int32_t id, irllrec_mat dst)
{
    IRL_TRY(check_view(enc, id, dst, __func__));
    copy_block(enc->blocks[id].data, dst);
    return IRLLREC_OK;
}

irllrec_status irllrec_intent_get_grad(const irllrec_intent *enc, int32_t id, irllrec_mat dst)
{
    IRL_TRY(check_view(enc, id, dst, __func__));
    copy_block(enc->blocks[id].grad, dst);
    return IRLLREC_OK;
}

irllrec_status irllrec_intent_set_param(irllrec_intent *enc, int32_t id, irllrec_mat src)
{
    IRL_TRY(check_view(enc, id, src, __func__));
    IRL_TRY(irllrec__check_finite_mat(enc->ctx, __func__, "src", src));
    for (int64_t r = 0; r < src.rows; r++)
        memcpy(enc->blocks[id].data + r * src.cols, src.data + r * src.ld,
               (size_t)src.cols * sizeof(float));
    return IRLLREC_OK;
}

void irllrec__intent_params(irllrec_intent *enc, irllrec__param **blocks, int *n)
{
    *blocks = enc->blocks;
    *n = IRLLREC_INTENT_N_PARAMS;
}
