/* The normalised user-item bipartite graph (include/irllrec/graph.h). */
#include <math.h>
#include <string.h>
#include "../internal.h"
#include "irllrec/graph.h"

struct irllrec_graph {
    irllrec_ctx *ctx;
    int64_t U, I, N, nnz; /* nnz counts both directions */
    int64_t *indptr;      /* N + 1 */
    int32_t *col;         /* nnz */
    float *val;           /* nnz */
    int32_t *rev;         /* nnz */
};

static irllrec_status check_input(irllrec_ctx *ctx, const irllrec_csr *r)
{
    static const char fn[] = "irllrec_graph_create";
    IRL_CHECK_FN(ctx, fn, r != NULL, IRLLREC_E_INVALID_ARG, "user_items is NULL");
    IRL_CHECK_FN(ctx, fn, r->n_rows > 0 && r->n_cols > 0 && r->n_rows + r->n_cols <= INT32_MAX &&
                              r->nnz >= 0 && r->nnz <= INT32_MAX / 2,
                 IRLLREC_E_SHAPE, "user_items is %lld x %lld with nnz %lld: need U, I > 0, "
                 "U + I < 2^31 and 2 nnz < 2^31", (long long)r->n_rows, (long long)r->n_cols,
                 (long long)r->nnz);
    /* sorted, unique rows keep every item row of the result sorted */
    return irllrec__check_csr_sorted(ctx, fn, "user_items", r, r->n_rows, r->n_cols);
}

void irllrec_graph_free(irllrec_graph *g)
{
    if (g == NULL) return;
    irllrec_ctx *ctx = g->ctx;
    irllrec__free(ctx, g->indptr, (size_t)(g->N + 1) * sizeof(int64_t));
    irllrec__free(ctx, g->col, (size_t)g->nnz * sizeof(int32_t));
    irllrec__free(ctx, g->val, (size_t)g->nnz * sizeof(float));
    irllrec__free(ctx, g->rev, (size_t)g->nnz * sizeof(int32_t));
    irllrec__free(ctx, g, sizeof *g);
}

/* Offsets: user rows mirror the input, item rows count their users. */
static void build_offsets(irllrec_graph *g, const irllrec_csr *r, int64_t *fill)
{
    const int64_t U = g->U, I = g->I;
    memset(fill, 0, (size_t)I * sizeof *fill);
    for (int64_t k = 0; k < r->nnz; k++) fill[r->indices[k]]++;
    g->indptr[0] = 0;
    for (int64_t u = 0; u < U; u++) g->indptr[u + 1] = r->indptr[u + 1];
    for (int64_t i = 0; i < I; i++) g->indptr[U + i + 1] = g->indptr[U + i] + fill[i];
}

/* Edges and values; users in increasing order keep every item row sorted.
 * dinv in double, the product rounded once. */
static void build_edges(irllrec_graph *g, const irllrec_csr *r, int64_t *fill, double *dinv)
{
    const int64_t U = g->U;
    for (int64_t n = 0; n < g->N; n++) {
        const int64_t deg = g->indptr[n + 1] - g->indptr[n];
        dinv[n] = deg > 0 ? 1.0 / sqrt((double)deg) : 0.0;
    }
    memset(fill, 0, (size_t)g->I * sizeof *fill);
    for (int64_t u = 0; u < U; u++)
        for (int64_t e = r->indptr[u]; e < r->indptr[u + 1]; e++) {
            const int32_t i = r->indices[e];
            const int64_t q = g->indptr[U + i] + fill[i]++;
            const float v = (float)(dinv[u] * dinv[U + i]);
            g->col[e] = (int32_t)(U + i);
            g->val[e] = v;
            g->col[q] = (int32_t)u;
            g->val[q] = v;
            g->rev[e] = (int32_t)q;
            g->rev[q] = (int32_t)e;
        }
}

irllrec_status irllrec_graph_create(irllrec_ctx *ctx, const irllrec_csr *user_items,
                                    irllrec_graph **out)
{
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_input(ctx, user_items));
    irllrec_graph *g =
        (irllrec_graph *)irllrec__calloc_fn(ctx, "irllrec_graph_create", 1, sizeof *g);
    if (g == NULL) return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__, "out of memory");
    g->ctx = ctx;
    g->U = user_items->n_rows;
    g->I = user_items->n_cols;
    g->N = g->U + g->I;
    g->nnz = 2 * user_items->nnz;
    const size_t ne = (size_t)(g->nnz > 0 ? g->nnz : 0);
    g->indptr = (int64_t *)irllrec__alloc_fn(ctx, "irllrec_graph_create",
                                             (size_t)(g->N + 1) * sizeof(int64_t));
    g->col = (int32_t *)irllrec__alloc_fn(ctx, "irllrec_graph_create", ne * sizeof(int32_t));
    g->val = (float *)irllrec__alloc_fn(ctx, "irllrec_graph_create", ne * sizeof(float));
    g->rev = (int32_t *)irllrec__alloc_fn(ctx, "irllrec_graph_create", ne * sizeof(int32_t));
    int64_t *fill =
        (int64_t *)irllrec__alloc_fn(ctx, "irllrec_graph_create", (size_t)g->I * sizeof(int64_t));
    double *dinv =
        (double *)irllrec__alloc_fn(ctx, "irllrec_graph_create", (size_t)g->N * sizeof(double));
    const int ok = g->indptr && fill && dinv && (ne == 0 || (g->col && g->val && g->rev));
    if (ok) {
        build_offsets(g, user_items, fill);
        build_edges(g, user_items, fill, dinv);
    }
    irllrec__free(ctx, fill, (size_t)g->I * sizeof(int64_t));
    irllrec__free(ctx, dinv, (size_t)g->N * sizeof(double));
    if (!ok) {
        irllrec_graph_free(g);
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__,
                             "out of memory for a graph of %lld nodes and %lld edges",
                             (long long)(user_items->n_rows + user_items->n_cols),
                             (long long)(2 * user_items->nnz));
    }
    *out = g;
    return IRLLREC_OK;
}

irllrec_status irllrec_graph_adjacency(const irllrec_graph *g, irllrec_csr *adj)
{
    if (g == NULL || adj == NULL) return IRLLREC_E_INVALID_ARG;
    adj->n_rows = g->N;
    adj->n_cols = g->N;
    adj->nnz = g->nnz;
    adj->indptr = g->indptr;
    adj->indices = g->col;
    return IRLLREC_OK;
}

const float *irllrec_graph_values(const irllrec_graph *g)
{
    return g == NULL ? NULL : g->val;
}

const int32_t *irllrec_graph_reverse(const irllrec_graph *g)
{
    return g == NULL ? NULL : g->rev;
}
