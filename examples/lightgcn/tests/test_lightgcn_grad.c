/* LightGCN host model: gradient checks of propagation + BPR + reg against
 * finite differences (STYLE.md section 6), under edge dropout and threads. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lightgcn.h"
#include "helpers/gradcheck.h"
#include "lt_shared.h"

/* ---- finite differences (STYLE.md section 6) ------------------------------ */

/* Central differences of f against g_ana over up to 2,000 coordinates of x
 * (tests/helpers/gradcheck.h): a loss of size O(1) evaluated in float32
 * carries ~1e-7 round-off, which a 2h = 2e-3 step turns into ~1e-4 of
 * gradient noise, so a coordinate passes within 1e-2 relative OR 2e-4
 * absolute. Typical gradients here are O(0.1..1). */
static void fd_check(float *x, const float *g_ana, int64_t n, gc_loss_fn f, void *ud)
{
    gc_block blk = {"E(0)", x, g_ana, n};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 2e-4;
    gc_check(f, ud, &blk, 1, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 0);
}

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
    s = lt_dot(lgcn_final(u->m), u->wf, n);
    for (int32_t l = 0; l <= lgcn_n_layers(u->m); l++)
        if (u->wl[l]) s += lt_dot(lgcn_layer(u->m, l), u->wl[l], n);
    return s;
}

/* Loss = <Wf, E_final> + sum_l <W_l, E(l)> under edge dropout: checks the
 * transposed backward and the per-layer extra gradients. */
static void check_propagation(int32_t d, int32_t nt)
{
    lt_graph g = lt_random_graph(12, 9, 0.3, 5);
    lgcn *m = lt_make_model(&g, d, 3, 0.7, 0.0, nt, 9);
    int64_t n = lgcn_n_nodes(m) * d;
    float *wf = (float *)malloc((size_t)n * sizeof(float));
    float *w[4], *ga = (float *)malloc((size_t)n * sizeof(float));
    const float *wl[4];
    lin_ud ud;
    lt_rng = 77;
    lt_fill_uniform(wf, n, -1, 1);
    for (int l = 0; l < 4; l++) {
        w[l] = (float *)malloc((size_t)n * sizeof(float));
        lt_fill_uniform(w[l], n, -1, 1);
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
    fd_check(lgcn_params(m), ga, n, lin_loss, &ud);
    for (int l = 0; l < 4; l++) free(w[l]);
    free(wf);
    free(ga);
    lgcn_free(m);
    lt_graph_free(&g);
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
    return lgcn_bpr(u->m, u->u, u->p, u->q, u->b, u->scratch) + u->reg * lt_dot(E0, E0, n);
}

/* BPR on E_final + lambda |E(0)|^2 through L layers of dropped propagation. */
static void check_bpr_reg(int32_t d, int32_t L, double keep)
{
    lt_graph g = lt_random_graph(10, 8, 0.3, 21);
    const double reg = 0.05;
    lgcn *m = lt_make_model(&g, d, L, keep, reg, 2, 4);
    int64_t n = lgcn_n_nodes(m) * d;
    int32_t users[] = {0, 3, 3, 7, 9, 1};
    int32_t pos[] = {1, 2, 5, 0, 7, 7};
    int32_t neg[] = {4, 6, 1, 2, 3, 0};
    float *df = (float *)calloc((size_t)n, sizeof(float));
    float *ga = (float *)malloc((size_t)n * sizeof(float));
    bpr_ud ud = {m, users, pos, neg, 6, reg, NULL};
    double loss;
    /* Larger embeddings than Xavier's give BPR gradients well above round-off. */
    lt_rng = 99;
    lt_fill_uniform(lgcn_params(m), n, -1, 1);
    lgcn_forward(m, LGCN_TRAIN);
    loss = lgcn_bpr(m, users, pos, neg, 6, df);
    ck_assert(isfinite(loss) && loss > 0);
    lgcn_backward(m, df, NULL);
    {
        const float *E0 = lgcn_params(m);
        double r = lgcn_reg(m);
        ck_assert_double_eq_tol(r, reg * lt_dot(E0, E0, n), 1e-9 * (1 + r));
    }
    memcpy(ga, lgcn_grad(m), (size_t)n * sizeof(float));
    ud.scratch = df;
    fd_check(lgcn_params(m), ga, n, bpr_reg_loss, &ud);
    free(df);
    free(ga);
    lgcn_free(m);
    lt_graph_free(&g);
}

START_TEST(gradcheck_bpr_reg_no_layers) { check_bpr_reg(8, 0, 1.0); }
END_TEST
START_TEST(gradcheck_bpr_reg_3_layers_dropout_d32) { check_bpr_reg(32, 3, 0.8); }
END_TEST
START_TEST(gradcheck_bpr_reg_2_layers_d5) { check_bpr_reg(5, 2, 0.6); }
END_TEST

Suite *lightgcn_grad_suite(void)
{
    Suite *s = suite_create("lightgcn_grad");
    TCase *tg = tcase_create("gradcheck");
    tcase_set_timeout(tg, 60);
    tcase_add_test(tg, gradcheck_propagation_d8);
    tcase_add_test(tg, gradcheck_propagation_d32_threads3);
    tcase_add_test(tg, gradcheck_bpr_reg_no_layers);
    tcase_add_test(tg, gradcheck_bpr_reg_3_layers_dropout_d32);
    tcase_add_test(tg, gradcheck_bpr_reg_2_layers_d5);
    suite_add_tcase(s, tg);
    return s;
}
