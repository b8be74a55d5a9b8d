/* LightGCN host model: the normalised graph by hand, edge dropout, BPR by
 * hand, thread-count independence, and a short synthetic training run. The
 * gradient checks are in test_lightgcn_grad.c, the helpers in lt_shared.c. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lightgcn.h"
#include "helpers/testutil.h"
#include "lt_shared.h"

/* ---- the graph by hand ---------------------------------------------------- */

START_TEST(normalised_graph_by_hand)
{
    /* u0: i0 i1; u1: i1 i2. Degrees u0 2, u1 2, i0 1, i1 2, i2 1. */
    int64_t indptr[] = {0, 2, 4};
    int32_t indices[] = {0, 1, 1, 2};
    lt_graph g = {2, 3, NULL, NULL, {2, 3, 4, indptr, indices}};
    const int32_t d = 3, L = 2, N = 5;
    double A[5][5] = {{0}};
    double r2 = 1.0 / sqrt(2.0);
    lgcn *m = lt_make_model(&g, d, L, 1.0, 0.0, 1, 7);
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
    lt_graph g = {2, 3, NULL, NULL, {2, 3, 3, indptr, unsorted}};
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
    lt_graph g = lt_random_graph(300, 200, 0.05, 11);
    lgcn *m = lt_make_model(&g, 4, 1, 0.8, 0.0, 2, 3);
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
    lt_graph_free(&g);
}
END_TEST

START_TEST(bpr_value_by_hand)
{
    /* L = 0, so E_final = E(0) and the loss is checkable by hand. */
    int64_t indptr[] = {0, 1};
    int32_t indices[] = {0};
    lt_graph g = {1, 2, NULL, NULL, {1, 2, 1, indptr, indices}};
    lgcn *m = lt_make_model(&g, 2, 0, 1.0, 0.0, 1, 1);
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
    lt_graph g = lt_random_graph(150, 120, 0.05, 31);
    int32_t users[64], pos[64], neg[64];
    float *ref_final = NULL, *ref_grad = NULL;
    int64_t n = 0;
    lt_rng = 5;
    for (int k = 0; k < 64; k++) {
        users[k] = (int32_t)(lt_uniform() * 150);
        pos[k] = (int32_t)(lt_uniform() * 120);
        neg[k] = (int32_t)(lt_uniform() * 120);
    }
    for (int32_t nt = 1; nt <= 3; nt++) {
        lgcn *m = lt_make_model(&g, 32, 3, 0.8, 1e-3, nt, 2024);
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
    lt_graph_free(&g);
}
END_TEST

/* The fused backward + reg gives the same gradient bits as the two calls. */
static void check_fused_reg(int32_t d)
{
    lt_graph g = lt_random_graph(40, 30, 0.1, 3);
    lgcn *m = lt_make_model(&g, d, 3, 0.8, 0.01, 2, 6);
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
    lt_graph_free(&g);
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
    lt_graph g = lt_random_graph(120, 90, 0.06, 41);
    int32_t users[100], pos[100], neg[100];
    float *ref = NULL;
    int64_t n = 0;
    lt_rng = 8;
    for (int k = 0; k < 100; k++) {
        users[k] = (int32_t)(lt_uniform() * 120);
        pos[k] = (int32_t)(lt_uniform() * 90);
        neg[k] = (int32_t)(lt_uniform() * 90);
    }
    for (int32_t nt = 1; nt <= 3; nt += 2) {
        lgcn *m = lt_make_model(&g, 32, 3, 0.8, 1e-4, nt, 2025);
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
    lt_graph_free(&g);
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
    tcase_add_test(tc, normalised_graph_by_hand);
    tcase_add_test(tc, create_rejects_bad_input);
    tcase_add_test(tc, edge_dropout_keeps_the_rate_and_does_not_rescale);
    tcase_add_test(tc, bpr_value_by_hand);
    tcase_add_test(tc, results_do_not_depend_on_thread_count);
    tcase_add_test(tc, fused_reg_matches_separate_calls);
    tcase_add_test(tc, training_steps_do_not_depend_on_thread_count);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, synthetic_run_learns);
    suite_add_tcase(s, tc);
    return s;
}

Suite *lightgcn_grad_suite(void); /* test_lightgcn_grad.c */
Suite *lightgcn_irl_suite(void); /* test_lightgcn_irl.c */
Suite *hosts_suite(void);        /* test_hosts.c */

int main(void)
{
    SRunner *sr = srunner_create(lightgcn_suite());
    srunner_add_suite(sr, lightgcn_grad_suite());
    srunner_add_suite(sr, lightgcn_irl_suite());
    srunner_add_suite(sr, hosts_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
