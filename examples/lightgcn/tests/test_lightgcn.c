/* LightGCN host model: the normalised graph by hand, edge dropout, gradient
 * checks of propagation + BPR + reg against finite differences, thread-count
 * independence, and a short synthetic training run. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lightgcn.h"
#include "helpers/testutil.h"
#include "lt_shared.h"

/* ---- small graphs ---------------------------------------------------------- */

typedef struct graph {
    int64_t U, I;
    int64_t *indptr;
    int32_t *indices;
    irllrec_csr csr;
} graph;

static uint64_t tg_state;
static double tg_uniform(void)
{
    uint64_t z = (tg_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Every user gets at least one item; otherwise each pair is present with probability p. */
static graph random_graph(int64_t U, int64_t I, double p, uint64_t seed)
{
    graph g;
    int64_t nnz = 0;
    tg_state = seed;
    g.U = U;
    g.I = I;
    g.indptr = (int64_t *)calloc((size_t)U + 1, sizeof(int64_t));
    g.indices = (int32_t *)malloc((size_t)(U * I) * sizeof(int32_t));
    ck_assert_ptr_nonnull(g.indptr);
    ck_assert_ptr_nonnull(g.indices);
    for (int64_t u = 0; u < U; u++) {
        int64_t forced = (int64_t)(tg_uniform() * (double)I);
        for (int64_t i = 0; i < I; i++)
            if (i == forced || tg_uniform() < p) g.indices[nnz++] = (int32_t)i;
        g.indptr[u + 1] = nnz;
    }
    g.csr.n_rows = U;
    g.csr.n_cols = I;
    g.csr.nnz = nnz;
    g.csr.indptr = g.indptr;
    g.csr.indices = g.indices;
    return g;
}

static void graph_free(graph *g)
{
    free(g->indptr);
    free(g->indices);
}

static lgcn *make_model(const graph *g, int32_t d, int32_t L, double keep, double reg,
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

/* ---- finite differences (STYLE.md section 6) ------------------------------ */

typedef double (*loss_fn)(void *ud);

/* Compare g_ana with central differences of f over at most max_coords
 * coordinates of x (spread evenly). Returns the worst relative error among
 * coordinates above the float32 noise floor: a loss of size O(1) evaluated
 * in float32 carries ~1e-7 round-off, which a 2h = 2e-3 step turns into
 * ~1e-4 of gradient noise, so a coordinate passes when it is within 1e-2
 * relative OR within 2e-4 absolute (ggml's grad_expect idea: skip what the
 * method cannot resolve). Typical gradients here are O(0.1..1). */
static double gradcheck(float *x, const float *g_ana, int64_t n, loss_fn f, void *ud,
                        int64_t max_coords)
{
    double worst = 0.0;
    int64_t stride = n > max_coords ? n / max_coords : 1;
    for (int64_t k = 0; k < n; k += stride) {
        float x0 = x[k];
        double h = 1e-3 * fmax(1.0, fabs((double)x0));
        float xp = (float)((double)x0 + h), xm = (float)((double)x0 - h);
        double fp, fm, num, rel;
        x[k] = xp;
        fp = f(ud);
        x[k] = xm;
        fm = f(ud);
        x[k] = x0;
        num = (fp - fm) / ((double)xp - (double)xm);
        rel = fabs(num - (double)g_ana[k]) / fmax(1e-6, fabs(num) + fabs((double)g_ana[k]));
        ck_assert_msg(rel < 1e-2 || fabs(num - (double)g_ana[k]) < 2e-4,
                      "coord %lld: numeric %.8g analytic %.8g (rel %.3g)", (long long)k, num,
                      (double)g_ana[k], rel);
        if (fabs(num - (double)g_ana[k]) >= 2e-4 && rel > worst) worst = rel;
    }
    return worst;
}

static void fill_uniform(float *x, int64_t n, double lo, double hi)
{
    for (int64_t k = 0; k < n; k++) x[k] = (float)(lo + (hi - lo) * tg_uniform());
}

static double dot(const float *a, const float *b, int64_t n)
{
    double s = 0.0;
    for (int64_t k = 0; k < n; k++) s += (double)a[k] * (double)b[k];
    return s;
}

/* ---- the graph by hand ---------------------------------------------------- */

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

START_TEST(normalised_graph_by_hand)
{
    /* u0: i0 i1; u1: i1 i2. Degrees u0 2, u1 2, i0 1, i1 2, i2 1. */
    int64_t indptr[] = {0, 2, 4};
    int32_t indices[] = {0, 1, 1, 2};
    graph g = {2, 3, NULL, NULL, {2, 3, 4, indptr, indices}};
    const int32_t d = 3, L = 2, N = 5;
    double A[5][5] = {{0}};
    double r2 = 1.0 / sqrt(2.0);
    lgcn *m = make_model(&g, d, L, 1.0, 0.0, 1, 7);
    const float *E0 = lgcn_layer(m, 0), *E1, *E2, *F;
    A[0][2] = A[2][0] = r2;   /* u0-i0: 1/sqrt(2*1) */
    A[0][3] = A[3][0] = 0.5;  /* u0-i1: 1/sqrt(2*2) */
    A[1][3] = A[3][1] = 0.5;  /* u1-i1 */
    A[1][4] = A[4][1] = r2;   /* u1-i2 */
    ck_assert_int_eq(lgcn_n_edges(m), 8);
    /* Xavier bound per block: sqrt(6 / (rows + d)). */
    for (int k = 0; k < 2 * d; k++) ck_assert(fabsf(E0[k]) <= sqrtf(6.0f / 5.0f));
    for (int k = 2 * d; k < N * d; k++) ck_assert(fabsf(E0[k]) <= sqrtf(6.0f / 6.0f));
    lgcn_forward(m, LGCN_EVAL);
    E1 = lgcn_layer(m, 1);
    E2 = lgcn_layer(m, 2);
    F = lgcn_final(m);
    for (int r = 0; r < N; r++)
        for (int c = 0; c < d; c++) {
            double e1 = 0.0, e2 = 0.0;
            for (int s = 0; s < N; s++) e1 += A[r][s] * E0[s * d + c];
            ck_assert_double_eq_tol(E1[r * d + c], e1, 1e-6);
            for (int s = 0; s < N; s++) e2 += A[r][s] * E1[s * d + c];
            ck_assert_double_eq_tol(E2[r * d + c], e2, 1e-6);
            /* E_final is the SUM of the layers, not the mean. */
            ck_assert_double_eq_tol(F[r * d + c], E0[r * d + c] + e1 + e2, 1e-6);
        }
    /* keep_rate 1: a training forward is the evaluation forward. */
    lgcn_forward(m, LGCN_TRAIN);
    ck_assert_int_eq(lgcn_edges_used(m), 8);
    for (int k = 0; k < N * d; k++) ck_assert_float_eq(lgcn_final(m)[k], F[k]);
    lgcn_free(m);
}
END_TEST

START_TEST(create_rejects_bad_input)
{
    int64_t indptr[] = {0, 2, 3};
    int32_t unsorted[] = {1, 0, 2};
    int32_t out_of_range[] = {0, 1, 3};
    graph g = {2, 3, NULL, NULL, {2, 3, 3, indptr, unsorted}};
    lgcn_spec s;
    lgcn *m = (lgcn *)&s;
    char err[256] = "";
    lgcn_spec_init(&s);
    s.n_users = 2;
    s.n_items = 3;
    ck_assert_int_eq(lgcn_create(&s, &g.csr, &m, err, sizeof err), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert(strstr(err, "sorted") != NULL);
    g.csr.indices = out_of_range;
    ck_assert_int_eq(lgcn_create(&s, &g.csr, &m, err, sizeof err), IRLLREC_E_INVALID_ARG);
    s.n_items = 4;
    ck_assert_int_eq(lgcn_create(&s, &g.csr, &m, err, sizeof err), IRLLREC_E_SHAPE);
    s.n_items = 3;
    s.keep_rate = 0.0;
    ck_assert_int_eq(lgcn_create(&s, &g.csr, &m, err, sizeof err), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(lgcn_create(&s, NULL, &m, err, sizeof err), IRLLREC_E_INVALID_ARG);
    lgcn_free(NULL);
}
END_TEST

START_TEST(edge_dropout_keeps_the_rate_and_does_not_rescale)
{
    graph g = random_graph(300, 200, 0.05, 11);
    lgcn *m = make_model(&g, 4, 1, 0.8, 0.0, 2, 3);
    int64_t nnz = lgcn_n_edges(m), N = lgcn_n_nodes(m);
    double sum_eval = 0.0, sum_train = 0.0, frac;
    float *E0 = lgcn_params(m);
    /* With E(0) = 1 everywhere, E(1)[r] = sum of the row's kept Â values:
     * unscaled dropout shrinks the total by the keep rate. */
    for (int64_t k = 0; k < N * 4; k++) E0[k] = 1.0f;
    lgcn_forward(m, LGCN_EVAL);
    for (int64_t r = 0; r < N; r++) sum_eval += lgcn_layer(m, 1)[r * 4];
    lgcn_forward(m, LGCN_TRAIN);
    frac = (double)lgcn_edges_used(m) / (double)nnz;
    for (int64_t r = 0; r < N; r++) sum_train += lgcn_layer(m, 1)[r * 4];
    ck_assert_msg(fabs(frac - 0.8) < 0.02, "kept %.4f of %lld edges", frac, (long long)nnz);
    ck_assert_msg(fabs(sum_train / sum_eval - frac) < 0.03, "ratio %.4f vs kept %.4f",
                  sum_train / sum_eval, frac);
    /* A new step draws a new mask; a replay does not. */
    {
        int64_t used1 = lgcn_edges_used(m);
        float v = lgcn_layer(m, 1)[0];
        lgcn_forward(m, LGCN_REPLAY);
        ck_assert_int_eq(lgcn_edges_used(m), used1);
        ck_assert_float_eq(lgcn_layer(m, 1)[0], v);
        lgcn_forward(m, LGCN_TRAIN);
        ck_assert_int_ne(lgcn_edges_used(m), used1);
    }
    lgcn_free(m);
    graph_free(&g);
}
END_TEST

/* ---- gradient checks ------------------------------------------------------ */

typedef struct lin_ud {
    lgcn *m;
    const float *wf;
    const float *const *wl;
} lin_ud;

static double lin_loss(void *p)
{
    lin_ud *u = (lin_ud *)p;
    int64_t n = lgcn_n_nodes(u->m) * lgcn_dim(u->m);
    double s;
    lgcn_forward(u->m, LGCN_REPLAY);
    s = dot(lgcn_final(u->m), u->wf, n);
    for (int32_t l = 0; l <= lgcn_n_layers(u->m); l++)
        if (u->wl[l]) s += dot(lgcn_layer(u->m, l), u->wl[l], n);
    return s;
}

/* Loss = <Wf, E_final> + sum_l <W_l, E(l)> under edge dropout: checks the
 * transposed backward and the per-layer extra gradients. */
static void check_propagation(int32_t d, int32_t nt)
{
    graph g = random_graph(12, 9, 0.3, 5);
    lgcn *m = make_model(&g, d, 3, 0.7, 0.0, nt, 9);
    int64_t n = lgcn_n_nodes(m) * d;
    float *wf = (float *)malloc((size_t)n * sizeof(float));
    float *w[4], *ga = (float *)malloc((size_t)n * sizeof(float));
    const float *wl[4];
    lin_ud ud;
    double worst;
    tg_state = 77;
    fill_uniform(wf, n, -1, 1);
    for (int l = 0; l < 4; l++) {
        w[l] = (float *)malloc((size_t)n * sizeof(float));
        fill_uniform(w[l], n, -1, 1);
        wl[l] = w[l];
    }
    wl[2] = NULL; /* an absent extra gradient is zero */
    lgcn_forward(m, LGCN_TRAIN);
    ck_assert(lgcn_edges_used(m) < lgcn_n_edges(m));
    lgcn_backward(m, wf, wl);
    memcpy(ga, lgcn_grad(m), (size_t)n * sizeof(float));
    ud.m = m;
    ud.wf = wf;
    ud.wl = wl;
    worst = gradcheck(lgcn_params(m), ga, n, lin_loss, &ud, 2000);
    ck_assert(worst < 1e-2);
    for (int l = 0; l < 4; l++) free(w[l]);
    free(wf);
    free(ga);
    lgcn_free(m);
    graph_free(&g);
}

START_TEST(gradcheck_propagation_d8) { check_propagation(8, 1); }
END_TEST
START_TEST(gradcheck_propagation_d32_threads3) { check_propagation(32, 3); }
END_TEST

typedef struct bpr_ud {
    lgcn *m;
    const int32_t *u, *p, *q;
    int64_t b;
    double reg;
    float *scratch;
} bpr_ud;

static double bpr_reg_loss(void *p)
{
    bpr_ud *u = (bpr_ud *)p;
    int64_t n = lgcn_n_nodes(u->m) * lgcn_dim(u->m);
    const float *E0 = lgcn_params(u->m);
    lgcn_forward(u->m, LGCN_REPLAY);
    return lgcn_bpr(u->m, u->u, u->p, u->q, u->b, u->scratch) + u->reg * dot(E0, E0, n);
}

/* BPR on E_final + lambda |E(0)|^2 through L layers of dropped propagation. */
static void check_bpr_reg(int32_t d, int32_t L, double keep)
{
    graph g = random_graph(10, 8, 0.3, 21);
    const double reg = 0.05;
    lgcn *m = make_model(&g, d, L, keep, reg, 2, 4);
    int64_t n = lgcn_n_nodes(m) * d;
    int32_t users[] = {0, 3, 3, 7, 9, 1};
    int32_t pos[] = {1, 2, 5, 0, 7, 7};
    int32_t neg[] = {4, 6, 1, 2, 3, 0};
    float *df = (float *)calloc((size_t)n, sizeof(float));
    float *ga = (float *)malloc((size_t)n * sizeof(float));
    bpr_ud ud = {m, users, pos, neg, 6, reg, NULL};
    double loss, worst;
    /* Larger embeddings than Xavier's give BPR gradients well above round-off. */
    tg_state = 99;
    fill_uniform(lgcn_params(m), n, -1, 1);
    lgcn_forward(m, LGCN_TRAIN);
    loss = lgcn_bpr(m, users, pos, neg, 6, df);
    ck_assert(isfinite(loss) && loss > 0);
    lgcn_backward(m, df, NULL);
    {
        const float *E0 = lgcn_params(m);
        double r = lgcn_reg(m);
        ck_assert_double_eq_tol(r, reg * dot(E0, E0, n), 1e-9 * (1 + r));
    }
    memcpy(ga, lgcn_grad(m), (size_t)n * sizeof(float));
    ud.scratch = df;
    worst = gradcheck(lgcn_params(m), ga, n, bpr_reg_loss, &ud, 2000);
    ck_assert(worst < 1e-2);
    free(df);
    free(ga);
    lgcn_free(m);
    graph_free(&g);
}

START_TEST(gradcheck_bpr_reg_no_layers) { check_bpr_reg(8, 0, 1.0); }
END_TEST
START_TEST(gradcheck_bpr_reg_3_layers_dropout_d32) { check_bpr_reg(32, 3, 0.8); }
END_TEST
START_TEST(gradcheck_bpr_reg_2_layers_d5) { check_bpr_reg(5, 2, 0.6); }
END_TEST

START_TEST(bpr_value_by_hand)
{
    /* L = 0, so E_final = E(0) and the loss is checkable by hand. */
    int64_t indptr[] = {0, 1};
    int32_t indices[] = {0};
    graph g = {1, 2, NULL, NULL, {1, 2, 1, indptr, indices}};
    lgcn *m = make_model(&g, 2, 0, 1.0, 0.0, 1, 1);
    float *E = lgcn_params(m);
    float df[6] = {0};
    int32_t u = 0, p = 0, q = 1;
    double loss, x, sig;
    E[0] = 1.0f; E[1] = 2.0f;   /* user */
    E[2] = 0.5f; E[3] = -1.0f;  /* item 0: score -1.5 */
    E[4] = 1.0f; E[5] = 0.25f;  /* item 1: score 1.5 */
    lgcn_forward(m, LGCN_EVAL);
    loss = lgcn_bpr(m, &u, &p, &q, 1, df);
    x = 1.5 - (-1.5);
    sig = 1.0 / (1.0 + exp(-x));
    ck_assert_double_eq_tol(loss, log1p(exp(x)), 1e-12);
    ck_assert_double_eq_tol(df[0], sig * (1.0 - 0.5), 1e-6);
    ck_assert_double_eq_tol(df[1], sig * (0.25 + 1.0), 1e-6);
    ck_assert_double_eq_tol(df[2], -sig * 1.0, 1e-6);
    ck_assert_double_eq_tol(df[5], sig * 2.0, 1e-6);
    lgcn_free(m);
}
END_TEST

/* ---- determinism ---------------------------------------------------------- */

START_TEST(results_do_not_depend_on_thread_count)
{
    graph g = random_graph(150, 120, 0.05, 31);
    int32_t users[64], pos[64], neg[64];
    float *ref_final = NULL, *ref_grad = NULL;
    int64_t n = 0;
    tg_state = 5;
    for (int k = 0; k < 64; k++) {
        users[k] = (int32_t)(tg_uniform() * 150);
        pos[k] = (int32_t)(tg_uniform() * 120);
        neg[k] = (int32_t)(tg_uniform() * 120);
    }
    for (int32_t nt = 1; nt <= 3; nt++) {
        lgcn *m = make_model(&g, 32, 3, 0.8, 1e-3, nt, 2024);
        n = lgcn_n_nodes(m) * 32;
        for (int step = 0; step < 3; step++) {
            float *df = lgcn_dfinal_buffer(m);
            lgcn_forward(m, LGCN_TRAIN);
            memset(df, 0, (size_t)n * sizeof(float));
            lgcn_bpr(m, users, pos, neg, 64, df);
            lgcn_backward(m, df, NULL);
            lgcn_reg(m);
        }
        if (nt == 1) {
            ref_final = (float *)malloc((size_t)n * sizeof(float));
            ref_grad = (float *)malloc((size_t)n * sizeof(float));
            memcpy(ref_final, lgcn_final(m), (size_t)n * sizeof(float));
            memcpy(ref_grad, lgcn_grad(m), (size_t)n * sizeof(float));
        } else {
            ck_assert(memcmp(ref_final, lgcn_final(m), (size_t)n * sizeof(float)) == 0);
            ck_assert(memcmp(ref_grad, lgcn_grad(m), (size_t)n * sizeof(float)) == 0);
        }
        lgcn_free(m);
    }
    free(ref_final);
    free(ref_grad);
    graph_free(&g);
}
END_TEST

/* The fused backward + reg gives the same gradient bits as the two calls. */
static void check_fused_reg(int32_t d)
{
    graph g = random_graph(40, 30, 0.1, 3);
    lgcn *m = make_model(&g, d, 3, 0.8, 0.01, 2, 6);
    int64_t n = lgcn_n_nodes(m) * d;
    float *df = (float *)calloc((size_t)n, sizeof(float));
    float *g1 = (float *)malloc((size_t)n * sizeof(float));
    int32_t u[] = {1, 5, 9}, p[] = {2, 3, 4}, q[] = {7, 8, 0};
    double r1, r2;
    lgcn_forward(m, LGCN_TRAIN);
    lgcn_bpr(m, u, p, q, 3, df);
    lgcn_backward(m, df, NULL);
    r1 = lgcn_reg(m);
    memcpy(g1, lgcn_grad(m), (size_t)n * sizeof(float));
    r2 = lgcn_backward_reg(m, df, NULL);
    ck_assert(memcmp(g1, lgcn_grad(m), (size_t)n * sizeof(float)) == 0);
    ck_assert_double_eq_tol(r1, r2, 1e-12 * r1);
    free(df);
    free(g1);
    lgcn_free(m);
    graph_free(&g);
}

START_TEST(fused_reg_matches_separate_calls)
{
    check_fused_reg(32);
    check_fused_reg(7);
}
END_TEST

/* Whole training steps (Adam included) give the same bits on 1 and 3 threads. */
START_TEST(training_steps_do_not_depend_on_thread_count)
{
    graph g = random_graph(120, 90, 0.06, 41);
    int32_t users[100], pos[100], neg[100];
    float *ref = NULL;
    int64_t n = 0;
    tg_state = 8;
    for (int k = 0; k < 100; k++) {
        users[k] = (int32_t)(tg_uniform() * 120);
        pos[k] = (int32_t)(tg_uniform() * 90);
        neg[k] = (int32_t)(tg_uniform() * 90);
    }
    for (int32_t nt = 1; nt <= 3; nt += 2) {
        lgcn *m = make_model(&g, 32, 3, 0.8, 1e-4, nt, 2025);
        lgcn_opt *o = NULL;
        double bpr, reg;
        ck_assert_int_eq(lgcn_opt_create(m, 1e-2, &o, NULL, 0), IRLLREC_OK);
        n = lgcn_n_nodes(m) * 32;
        for (int step = 0; step < 4; step++)
            ck_assert_int_eq(lgcn_train_step(m, o, users + 25 * step, pos + 25 * step,
                                             neg + 25 * step, 25, &bpr, &reg), IRLLREC_OK);
        ck_assert(bpr > 0 && reg > 0);
        /* The dE_final scratch is left zeroed for the next step. */
        for (int64_t k = 0; k < n; k++) ck_assert(lgcn_dfinal_buffer(m)[k] == 0.0f);
        if (ref == NULL) {
            ref = (float *)malloc((size_t)n * sizeof(float));
            memcpy(ref, lgcn_params(m), (size_t)n * sizeof(float));
        } else {
            ck_assert(memcmp(ref, lgcn_params(m), (size_t)n * sizeof(float)) == 0);
        }
        lgcn_opt_free(o);
        lgcn_free(m);
    }
    free(ref);
    graph_free(&g);
}
END_TEST

/* A short run on the library's SYNTHETIC data: the training loss falls and
 * validation Recall@20 ends far above what a random ranking gets. */
START_TEST(synthetic_run_learns)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir();
    irllrec_x_synth_spec ss;
    irllrec_x_dataset *ds = NULL;
    irllrec_x_sampler *sp = NULL;
    irllrec_evaluator *ev = NULL;
    irllrec_csr train, val;
    lgcn_spec ls;
    lgcn *m = NULL;
    lgcn_opt *o = NULL;
    int32_t *u, *p, *q;
    const int32_t ks[1] = {20};
    int64_t n, U, I;
    double first_loss = 0.0, last_loss = 0.0, rec, random_rec;
    char err[256] = "";
    irllrec_x_synth_spec_init(&ss, sizeof ss);
    ss.n_users = 400;
    ss.n_items = 300;
    ck_assert_int_eq(irllrec_x_synth_write(ctx, &ss, dir), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_dataset_load(ctx, dir, &ds), IRLLREC_OK);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_VAL, &val);
    U = irllrec_x_dataset_n_users(ds);
    I = irllrec_x_dataset_n_items(ds);
    lgcn_spec_init(&ls);
    ls.n_users = U;
    ls.n_items = I;
    ls.n_threads = 2;
    ck_assert_msg(lgcn_create(&ls, &train, &m, err, sizeof err) == IRLLREC_OK, "%s", err);
    ck_assert_int_eq(lgcn_opt_create(m, 1e-2, &o, err, sizeof err), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_sampler_create(ctx, ds, 1, &sp), IRLLREC_OK);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, I, ks, 1, &ev), IRLLREC_OK);
    n = irllrec_x_sampler_epoch_size(sp);
    u = (int32_t *)malloc((size_t)n * sizeof *u);
    p = (int32_t *)malloc((size_t)n * sizeof *p);
    q = (int32_t *)malloc((size_t)n * sizeof *q);
    for (int epoch = 0; epoch < 12; epoch++) {
        double sum = 0.0;
        int nb = 0;
        ck_assert_int_eq(irllrec_x_sampler_epoch(sp, u, p, q, n), IRLLREC_OK);
        for (int64_t s = 0; s < n; s += 512, nb++) {
            double bpr, reg;
            int64_t b = n - s < 512 ? n - s : 512;
            ck_assert_int_eq(lgcn_train_step(m, o, u + s, p + s, q + s, b, &bpr, &reg), IRLLREC_OK);
            sum += bpr + reg;
        }
        if (epoch == 0) first_loss = sum / nb;
        last_loss = sum / nb;
    }
    lt_recall20_vs_random(m, ev, &train, &val, &rec, &random_rec);
    ck_assert_msg(last_loss < 0.7 * first_loss, "loss %.4f -> %.4f", first_loss, last_loss);
    ck_assert_msg(rec > 3.0 * random_rec, "Recall@20 %.4f vs random %.4f", rec, random_rec);
    free(u);
    free(p);
    free(q);
    irllrec_evaluator_free(ev);
    irllrec_x_sampler_free(sp);
    lgcn_opt_free(o);
    lgcn_free(m);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

static Suite *lightgcn_suite(void)
{
    Suite *s = suite_create("lightgcn");
    TCase *tc = tcase_create("model");
    TCase *tg = tcase_create("gradcheck");
    tcase_add_test(tc, normalised_graph_by_hand);
    tcase_add_test(tc, create_rejects_bad_input);
    tcase_add_test(tc, edge_dropout_keeps_the_rate_and_does_not_rescale);
    tcase_add_test(tc, bpr_value_by_hand);
    tcase_add_test(tc, results_do_not_depend_on_thread_count);
    tcase_add_test(tc, fused_reg_matches_separate_calls);
    tcase_add_test(tc, training_steps_do_not_depend_on_thread_count);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, synthetic_run_learns);
    tcase_set_timeout(tg, 60);
    tcase_add_test(tg, gradcheck_propagation_d8);
    tcase_add_test(tg, gradcheck_propagation_d32_threads3);
    tcase_add_test(tg, gradcheck_bpr_reg_no_layers);
    tcase_add_test(tg, gradcheck_bpr_reg_3_layers_dropout_d32);
    tcase_add_test(tg, gradcheck_bpr_reg_2_layers_d5);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tg);
    return s;
}

Suite *lightgcn_irl_suite(void); /* test_lightgcn_irl.c */
Suite *hosts_suite(void);        /* test_hosts.c */

int main(void)
{
    SRunner *sr = srunner_create(lightgcn_suite());
    srunner_add_suite(sr, lightgcn_irl_suite());
    srunner_add_suite(sr, hosts_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
