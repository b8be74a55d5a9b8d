/* Helpers shared by the LightGCN example's test files (lt_shared.h): small
 * random graphs, models over them, a seeded uniform stream, and the
 * recall-against-random check of a trained model. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lt_shared.h"

uint64_t lt_rng;
double lt_uniform(void)
{
    uint64_t z = (lt_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

lt_graph lt_random_graph(int64_t U, int64_t I, double p, uint64_t seed)
{
    lt_graph g;
    int64_t nnz = 0;
    lt_rng = seed;
    g.U = U;
    g.I = I;
    g.indptr = (int64_t *)calloc((size_t)U + 1, sizeof(int64_t));
    g.indices = (int32_t *)malloc((size_t)(U * I) * sizeof(int32_t));
    ck_assert_ptr_nonnull(g.indptr);
    ck_assert_ptr_nonnull(g.indices);
    for (int64_t u = 0; u < U; u++) {
        int64_t forced = (int64_t)(lt_uniform() * (double)I);
        for (int64_t i = 0; i < I; i++)
            if (i == forced || lt_uniform() < p) g.indices[nnz++] = (int32_t)i;
        g.indptr[u + 1] = nnz;
    }
    g.csr.n_rows = U;
    g.csr.n_cols = I;
    g.csr.nnz = nnz;
    g.csr.indptr = g.indptr;
    g.csr.indices = g.indices;
    return g;
}

void lt_graph_free(lt_graph *g)
{
    free(g->indptr);
    free(g->indices);
}

lgcn *lt_make_model(const lt_graph *g, int32_t d, int32_t L, double keep, double reg,
                        int32_t nt, uint64_t seed)
{
    lgcn_spec s;
    lgcn *m = NULL;
    char err[256] = "";
    lgcn_spec_init(&s);
    s.n_users = g->U;
    s.n_items = g->I;
    s.dim = d;
    s.n_layers = L;
    s.keep_rate = keep;
    s.reg = reg;
    s.n_threads = nt;
    s.seed = seed;
    ck_assert_msg(lgcn_create(&s, &g->csr, &m, err, sizeof err) == IRLLREC_OK, "%s", err);
    return m;
}

void lt_fill_uniform(float *x, int64_t n, double lo, double hi)
{
    for (int64_t k = 0; k < n; k++) x[k] = (float)(lo + (hi - lo) * lt_uniform());
}

double lt_dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t k = 0; k < n; k++) s += (double)a[k] * (double)b[k];
    return s;
}

void lt_recall20_vs_random(lgcn *m, irllrec_evaluator *ev, const irllrec_csr *train,
                           const irllrec_csr *heldout, double *rec, double *random_rec)
{
    const int64_t U = train->n_rows, I = train->n_cols;
    double ndcg, r = 0.0;
    int64_t n_eval = 0;
    float *fin;
    lgcn_forward(m, LGCN_EVAL);
    fin = (float *)lgcn_final(m);
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(fin, U, 32),
                                           irllrec_mat_dense(fin + U * 32, I, 32), train,
                                           heldout, rec, &ndcg, &n_eval),
                     IRLLREC_OK);
    for (int64_t x = 0; x < U; x++) {
        int64_t nt = train->indptr[x + 1] - train->indptr[x];
        if (heldout->indptr[x + 1] > heldout->indptr[x]) r += 20.0 / (double)(I - nt);
    }
    *random_rec = r / (double)n_eval;
}
