/* Alignment losses: InfoNCE vs the naive double implementation of
 * helpers/align_ref.c, finite differences, weights and leading dimensions;
 * the handles' contract: the exp kernel's accuracy, allocation counting and
 * transactional failure. Translation: test_align_tran.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "align/engine.h"
#include "helpers/align_ref.h"
#include "helpers/testutil.h"

typedef struct nce_case {
    int nb, m, d;
    double tau;
    int32_t brows, bcols;
    int use_pos;
} nce_case;

static void run_infonce_vs_naive(const nce_case *tc)
{
    const int nb = tc->nb, m = tc->m, d = tc->d;
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, d, nb, m, tc->brows, tc->bcols);
    float *x = ar_fmat(nb * d), *y = ar_fmat(m * d), *dx = ar_fmat(nb * d), *dy = ar_fmat(m * d);
    double *xd = ar_dmat(nb * d), *yd = ar_dmat(m * d), *gx = ar_dmat(nb * d), *gy = ar_dmat(m * d);
    int32_t *pos = calloc((size_t)nb, sizeof *pos);
    double loss = 0, want;
    ar_nce_ud u;
    ar_tr_seed(11u + (uint64_t)m);
    ar_fill(x, nb * d, -1, 1);
    ar_fill(y, m * d, -1, 1);
    for (int b = 0; b < nb; b++) pos[b] = (int32_t)(ar_tr_unif() * m);
    ar_to_double(x, xd, nb * d);
    ar_to_double(y, yd, m * d);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, nb, d), irllrec_mat_dense(y, m, d),
                                           tc->use_pos ? pos : NULL, tc->tau, 1.0 / nb,
                                           irllrec_mat_dense(dx, nb, d), irllrec_mat_dense(dy, m, d),
                                           &loss),
                     IRLLREC_OK);
    u.x = xd;
    u.y = yd;
    u.nb = nb;
    u.m = m;
    u.d = d;
    u.pos = tc->use_pos ? pos : NULL;
    u.tau = tc->tau;
    u.s = 1.0 / nb;
    want = ar_nce_fn(&u);
    ck_assert_msg(fabs(loss - want) <= 1e-5 * fabs(want), "loss %.12g want %.12g", loss, want);
    ar_naive_grad(ar_nce_fn, &u, xd, nb * d, gx);
    ar_naive_grad(ar_nce_fn, &u, yd, m * d, gy);
    ar_expect_close(dx, gx, nb * d, 1e-3, 1e-4, "dx");
    ar_expect_close(dy, gy, m * d, 1e-3, 1e-4, "dy");
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    free(x); free(y); free(dx); free(dy); free(xd); free(yd); free(gx); free(gy); free(pos);
}

/* Blocks smaller than M (3 rows x 8 columns, M = 37): several column blocks,
 * so sweep 2 recomputes; tau = 0.2 uses the fixed shift. */
START_TEST(infonce_matches_naive_blocked)
{
    const nce_case tc = {7, 37, 5, 0.2, 3, 8, 1};
    run_infonce_vs_naive(&tc);
}
END_TEST

/* One column block per row block: the exponentials of sweep 1 are reused. */
START_TEST(infonce_matches_naive_single_block)
{
    const nce_case tc = {9, 23, 6, 0.5, 4, 0, 1};
    run_infonce_vs_naive(&tc);
}
END_TEST

/* tau = 0.01 (range 200 > 80): streaming row max with rescaling across blocks. */
START_TEST(infonce_matches_naive_small_tau_streaming_max)
{
    const nce_case tc = {6, 41, 4, 0.01, 4, 7, 1};
    const nce_case one = {6, 41, 4, 0.01, 4, 0, 1}; /* one block: max, then reuse */
    run_infonce_vs_naive(&tc);
    run_infonce_vs_naive(&one);
}
END_TEST

/* pos = NULL means pos[b] = b (the in-batch item terms). */
START_TEST(infonce_matches_naive_diagonal_pos)
{
    const nce_case tc = {8, 8, 5, 0.2, 3, 5, 0};
    run_infonce_vs_naive(&tc);
}
END_TEST

/* A hand-computed case: d = 1 rows are +-1 after normalisation. x = [1],
 * y = [1, -1], pos 0, tau 1: L = -1 + log(e + 1/e). */
START_TEST(infonce_hand_value)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, 1, 1, 2, 0, 0);
    float x[1] = {2.0f}, y[2] = {3.0f, -0.5f};
    int32_t pos[1] = {0};
    double loss = 0;
    const double e = exp(1.0), want = -1.0 + log(e + 1.0 / e);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, 1, 1), irllrec_mat_dense(y, 2, 1),
                                           pos, 1.0, 1.0, ar_nomat(), ar_nomat(), &loss),
                     IRLLREC_OK);
    ck_assert_double_eq_tol(loss, want, 1e-6);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct api_nce {
    irllrec_align *h;
    float *x, *y;
    int nb, m, d;
    const int32_t *pos;
    double tau;
} api_nce;
static double api_nce_loss(void *ud)
{
    api_nce *a = (api_nce *)ud;
    double l = NAN;
    ck_assert_int_eq(irllrec_align_infonce(a->h, irllrec_mat_dense(a->x, a->nb, a->d),
                                           irllrec_mat_dense(a->y, a->m, a->d), a->pos, a->tau,
                                           1.0 / a->nb, ar_nomat(), ar_nomat(), &l),
                     IRLLREC_OK);
    return l;
}

START_TEST(infonce_gradcheck)
{
    enum { NB = 8, M = 19, D = 16 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, NB, M, 3, 8);
    float *x = ar_fmat(NB * D), *y = ar_fmat(M * D), *dx = ar_fmat(NB * D), *dy = ar_fmat(M * D);
    int32_t pos[NB];
    api_nce a = {h, x, y, NB, M, D, pos, 0.2};
    ar_tr_seed(5);
    /* Small rows: dL/dx scales as 1/|x| while the float32 loss resolution
     * does not, so FD with h = 1e-3 resolves more coordinates. */
    ar_fill(x, NB * D, -0.1, 0.1);
    ar_fill(y, M * D, -0.1, 0.1);
    for (int b = 0; b < NB; b++) pos[b] = (int32_t)((b * 7) % M);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, NB, D), irllrec_mat_dense(y, M, D),
                                           pos, 0.2, 1.0 / NB, irllrec_mat_dense(dx, NB, D),
                                           irllrec_mat_dense(dy, M, D), NULL),
                     IRLLREC_OK);
    ar_gradcheck_f(api_nce_loss, &a, x, dx, NB * D, 2000);
    ar_gradcheck_f(api_nce_loss, &a, y, dy, M * D, 2000);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    free(x); free(y); free(dx); free(dy);
}
END_TEST

/* A weight per anchor: w = counts gives the sums of the batch in which each
 * anchor is repeated that often (w = 0 drops it, with a zero gradient); all
 * ones gives irllrec_align_infonce's bits; a bad weight is refused by index. */
START_TEST(infonce_weighted_equals_repeated_rows)
{
    enum { K = 5, R = 7, M = 9, D = 6 };
    const float w[K] = {2, 1, 0, 3, 1}, ones[K] = {1, 1, 1, 1, 1};
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, R, M, 2, 4);
    float x[K * D], y[M * D], xr[R * D], dxw[K * D] = {0}, dyw[M * D] = {0};
    float dxr[R * D] = {0}, dyr[M * D] = {0}, dx1[K * D] = {0}, dy1[M * D] = {0};
    float dxu[K * D] = {0}, dyu[M * D] = {0}, sum[K * D] = {0};
    int32_t pos[K] = {3, 0, 8, 3, 5}, posr[R], src[R];
    double lw = 0, lr = 0, l1 = 0, lu = 0, hand = 0;
    int r = 0;
    ar_tr_seed(17);
    ar_fill(x, K * D, -1, 1);
    ar_fill(y, M * D, -1, 1);
    for (int k = 0; k < K; k++)
        for (int c = 0; c < (int)w[k]; c++, r++) {
            memcpy(xr + r * D, x + k * D, sizeof(float) * D);
            posr[r] = pos[k];
            src[r] = k;
        }
    ck_assert_int_eq(r, R);
    ck_assert_int_eq(irllrec_align_infonce_weighted(h, irllrec_mat_dense(x, K, D),
                         irllrec_mat_dense(y, M, D), pos, w, 0.3, 0.25, irllrec_mat_dense(dxw, K, D),
                         irllrec_mat_dense(dyw, M, D), &lw), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(xr, R, D), irllrec_mat_dense(y, M, D),
                         posr, 0.3, 0.25, irllrec_mat_dense(dxr, R, D), irllrec_mat_dense(dyr, M, D),
                         &lr), IRLLREC_OK);
    ck_assert_double_eq_tol(lw, lr, 1e-6 * fabs(lr));
    for (r = 0; r < R; r++)
        for (int c = 0; c < D; c++) sum[src[r] * D + c] += dxr[r * D + c];
    for (int k = 0; k < K * D; k++) ck_assert_float_eq_tol(dxw[k], sum[k], 1e-6f);
    for (int k = 0; k < M * D; k++) ck_assert_float_eq_tol(dyw[k], dyr[k], 1e-6f);
    for (int c = 0; c < D; c++) ck_assert(dxw[2 * D + c] == 0.0f);
    ck_assert_int_eq(irllrec_align_infonce_weighted(h, irllrec_mat_dense(x, K, D),
                         irllrec_mat_dense(y, M, D), pos, ones, 0.3, 0.25,
                         irllrec_mat_dense(dx1, K, D), irllrec_mat_dense(dy1, M, D), &l1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, K, D), irllrec_mat_dense(y, M, D),
                         pos, 0.3, 0.25, irllrec_mat_dense(dxu, K, D), irllrec_mat_dense(dyu, M, D),
                         &lu), IRLLREC_OK);
    ck_assert(l1 == lu && memcmp(dx1, dxu, sizeof dx1) == 0 && memcmp(dy1, dyu, sizeof dy1) == 0);
    {
        /* infonce_hand_value's row, weighted 2.5 */
        float hx[1] = {2.0f}, hy[2] = {3.0f, -0.5f}, hw[1] = {2.5f};
        int32_t hp[1] = {0};
        irllrec_align *h1 = tu_align(ctx, 1, 1, 2, 0, 0);
        const double e = exp(1.0);
        ck_assert_int_eq(irllrec_align_infonce_weighted(h1, irllrec_mat_dense(hx, 1, 1),
                             irllrec_mat_dense(hy, 2, 1), hp, hw, 1.0, 1.0, ar_nomat(), ar_nomat(),
                             &hand), IRLLREC_OK);
        ck_assert_double_eq_tol(hand, 2.5 * (-1.0 + log(e + 1.0 / e)), 1e-6);
        irllrec_align_free(h1);
    }
    {
        float bad[K] = {1, -1, 1, 1, 1};
        float keep = dxw[0];
        double lb = 123.0;
        ck_assert_int_eq(irllrec_align_infonce_weighted(h, irllrec_mat_dense(x, K, D),
                             irllrec_mat_dense(y, M, D), pos, bad, 0.3, 0.25,
                             irllrec_mat_dense(dxw, K, D), ar_nomat(), &lb), IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "weight[1]"));
        bad[1] = NAN;
        ck_assert_int_eq(irllrec_align_infonce_weighted(h, irllrec_mat_dense(x, K, D),
                             irllrec_mat_dense(y, M, D), pos, bad, 0.3, 0.25,
                             irllrec_mat_dense(dxw, K, D), ar_nomat(), &lb), IRLLREC_E_INVALID_ARG);
        ck_assert(lb == 123.0 && dxw[0] == keep);
    }
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* += semantics: two calls into the same buffers give twice one call, and a
 * strided (ld > cols) layout gives the same numbers. */
START_TEST(infonce_accumulates_and_respects_ld)
{
    enum { NB = 5, M = 9, D = 3, LD = 7 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, NB, M, 2, 4);
    float x[NB * D], y[M * D], xs[NB * LD], dx1[NB * D] = {0}, dy1[M * D] = {0};
    float dx2[NB * LD], dy2[M * D] = {0};
    double l1, l2;
    ar_tr_seed(3);
    ar_fill(x, NB * D, -1, 1);
    ar_fill(y, M * D, -1, 1);
    ar_fill(xs, NB * LD, -1, 1);
    ar_fill(dx2, NB * LD, 5, 6); /* padding and pre-existing values */
    float keep[NB * LD];
    memcpy(keep, dx2, sizeof keep);
    for (int b = 0; b < NB; b++) memcpy(xs + b * LD, x + b * D, D * sizeof(float));
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, NB, D), irllrec_mat_dense(y, M, D),
                                           NULL, 0.3, 0.5, irllrec_mat_dense(dx1, NB, D),
                                           irllrec_mat_dense(dy1, M, D), &l1), IRLLREC_OK);
    irllrec_mat xv = {xs, NB, D, LD}, dxv = {dx2, NB, D, LD};
    for (int rep = 0; rep < 2; rep++)
        ck_assert_int_eq(irllrec_align_infonce(h, xv, irllrec_mat_dense(y, M, D), NULL, 0.3, 0.5, dxv,
                                               irllrec_mat_dense(dy2, M, D), &l2), IRLLREC_OK);
    ck_assert_double_eq_tol(l1, l2, 1e-12);
    {
        /* Loss only (both gradients NULL) runs the same forward. */
        double l3 = 0;
        ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, NB, D), irllrec_mat_dense(y, M, D),
                                               NULL, 0.3, 0.5, ar_nomat(), ar_nomat(), &l3), IRLLREC_OK);
        ck_assert(l3 == l1);
    }
    for (int b = 0; b < NB; b++)
        for (int k = 0; k < LD; k++) {
            const float got = dx2[b * LD + k], base = keep[b * LD + k];
            if (k < D) ck_assert_float_eq_tol(got - base, 2 * dx1[b * D + k], 1e-5f);
            else ck_assert_float_eq(got, base);
        }
    for (int i = 0; i < M * D; i++) ck_assert_float_eq_tol(dy2[i], 2 * dy1[i], 1e-6f);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- translation ------------------------------------------------------- */

START_TEST(exp_kernel_accuracy)
{
    enum { N = 4001 };
    static float v[N];
    double sum = 0, got;
    for (int i = 0; i < N; i++) v[i] = -90.0f * (float)i / (N - 1);
    for (int i = 0; i < N; i++) sum += (double)expf(v[i]);
    {
        static float w[N];
        memcpy(w, v, sizeof w);
        got = irllrec__xent_exp_sum(w, N, 0.0f);
        for (int i = 0; i < N; i++) {
            const double e = exp((double)v[i]);
            if (v[i] >= -87.0f)
                ck_assert_msg(fabs(w[i] - e) <= 3e-7 * e, "exp(%g): %.9g vs %.9g", (double)v[i],
                              (double)w[i], e);
            else
                ck_assert(w[i] >= 0.0f && w[i] < 1e-37f);
        }
    }
    ck_assert_double_eq_tol(got, sum, 1e-6 * sum);
}
END_TEST

/* ---- allocation, validation, transactional failure ----------------------- */

START_TEST(calls_do_not_allocate)
{
    enum { N = 40, D = 6 };
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_align *h;
    float x[N * D], y[N * D], e[N * D], dx[N * D] = {0}, dy[N * D] = {0};
    int64_t before;
    double l;
    memset(&st, 0, sizeof st);
    ctx = tu_ctx_counting(&st);
    ck_assert_ptr_nonnull(ctx);
    h = tu_align(ctx, D, N, N, 8, 16);
    ck_assert(irllrec_align_workspace_bytes(h) > 0);
    ar_tr_seed(53);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    ar_fill(e, N * D, -0.5, 0.5);
    irllrec_mat xm = irllrec_mat_dense(x, N, D), ym = irllrec_mat_dense(y, N, D);
    irllrec_mat em = irllrec_mat_dense(e, N, D);
    irllrec_mat dxm = irllrec_mat_dense(dx, N, D), dym = irllrec_mat_dense(dy, N, D);
    before = st.n_alloc;
    ck_assert_int_eq(irllrec_align_infonce(h, xm, ym, NULL, 0.2, 1.0 / N, dxm, dym, &l), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h, xm, ym, dxm, dym, &l), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation_noise(h, xm, ym, em, em, dxm, dym, &l), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation_sampled(h, xm, ym, NULL, 13, dxm, dym, &l), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce(h, xm, ym, NULL, -1.0, 1.0, dxm, dym, &l),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(st.n_alloc, before);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

START_TEST(create_validates_and_fails_cleanly)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align_spec s;
    irllrec_align *h = (irllrec_align *)&s;
    irllrec_align_spec_init(&s, sizeof s);
    ck_assert_int_eq(irllrec_align_create(ctx, NULL, &h), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(irllrec_align_create(ctx, &s, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_align_create(NULL, &s, &h), IRLLREC_E_INVALID_ARG);
    s.dim = 0;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &h), IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_align_create: dim") != NULL);
    irllrec_align_spec_init(&s, sizeof s);
    s.max_cols = 0;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &h), IRLLREC_E_SHAPE);
    irllrec_align_spec_init(&s, sizeof s);
    s.n_slices = -1;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &h), IRLLREC_E_INVALID_ARG);
    irllrec_align_spec_init(&s, sizeof s);
    s.max_rows = (int64_t)1 << 40;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &h), IRLLREC_E_SHAPE);
    ck_assert_ptr_null(h);
    irllrec_ctx_free(ctx);

    /* Fail each allocation in turn until creation succeeds. */
    for (int64_t k = 1;; k++) {
        tu_alloc_state st;
        irllrec_ctx *c2;
        irllrec_status rc;
        memset(&st, 0, sizeof st);
        c2 = tu_ctx_counting(&st);
        ck_assert_ptr_nonnull(c2);
        st.fail_at = st.n_alloc + k;
        irllrec_align_spec_init(&s, sizeof s);
        h = NULL;
        rc = irllrec_align_create(c2, &s, &h);
        if (rc == IRLLREC_OK) {
            irllrec_align_free(h);
            irllrec_ctx_free(c2);
            ck_assert_int_eq(st.live_bytes, 0);
            ck_assert_int_ge(k, 2);
            break;
        }
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(h);
        irllrec_ctx_free(c2);
        ck_assert_int_eq(st.live_bytes, 0);
    }
}
END_TEST

/* Every bad call returns the right code and leaves outputs, loss and the
 * generator exactly as they were. */
START_TEST(bad_inputs_change_nothing)
{
    enum { N = 6, D = 3 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, N, N, 0, 0);
    float x[N * D], y[N * D], e[N * D], xbad[N * D], dx[N * D], dy[N * D], kx[N * D], ky[N * D];
    int32_t pos[N] = {0, 1, 2, 3, 4, 5}, badpos[N] = {0, 1, 2, 3, 4, 6}, negpos[N] = {0, -1, 2, 3, 4, 5};
    uint64_t st0[4], st1[4];
    double l = 42.0;
    ar_tr_seed(59);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    ar_fill(e, N * D, -1, 1);
    ar_fill(dx, N * D, -1, 1);
    ar_fill(dy, N * D, -1, 1);
    memcpy(kx, dx, sizeof kx);
    memcpy(ky, dy, sizeof ky);
    memcpy(xbad, x, sizeof xbad);
    xbad[7] = NAN;
    irllrec_mat xm = irllrec_mat_dense(x, N, D), ym = irllrec_mat_dense(y, N, D);
    irllrec_mat em = irllrec_mat_dense(e, N, D), xb = irllrec_mat_dense(xbad, N, D);
    irllrec_mat dxm = irllrec_mat_dense(dx, N, D), dym = irllrec_mat_dense(dy, N, D);
    irllrec_mat nul = xm, ldbad = xm, wide = irllrec_mat_dense(x, 3, 6), tall = irllrec_mat_dense(x, N + 1, D);
    irllrec_mat dxshort = irllrec_mat_dense(dx, N - 1, D);
    irllrec_mat y5 = irllrec_mat_dense(y, 5, D);
    nul.data = NULL;
    ldbad.ld = D - 1;
    ck_assert_int_eq(irllrec_align_get_rng_state(h, st0), IRLLREC_OK);

#define EXPECT(call, code)                                                       \
    do {                                                                         \
        ck_assert_int_eq((call), (code));                                        \
        ck_assert(memcmp(dx, kx, sizeof dx) == 0 && memcmp(dy, ky, sizeof dy) == 0); \
        ck_assert(l == 42.0);                                                    \
        ck_assert_int_eq(irllrec_align_get_rng_state(h, st1), IRLLREC_OK);       \
        ck_assert(memcmp(st0, st1, sizeof st0) == 0);                            \
    } while (0)

    EXPECT(irllrec_align_infonce(NULL, xm, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, nul, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, ldbad, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_infonce(h, wide, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_infonce(h, tall, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, 0.2, 1, dxshort, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_infonce(h, xm, ym, badpos, 0.2, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, ym, negpos, 0.2, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, y5, NULL, 0.2, 1, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, 0.0, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, -0.2, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, NAN, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, INFINITY, 1, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xm, ym, pos, 0.2, INFINITY, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_infonce(h, xb, ym, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_NUMERIC);
    EXPECT(irllrec_align_infonce(h, xm, xb, pos, 0.2, 1, dxm, dym, &l), IRLLREC_E_NUMERIC);

    EXPECT(irllrec_align_translation(NULL, xm, ym, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_translation(h, xm, y5, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation(h, tall, tall, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation(h, xm, ym, dxm, dxshort, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation(h, xb, ym, dxm, dym, &l), IRLLREC_E_NUMERIC);
    EXPECT(irllrec_align_translation_noise(h, xm, ym, em, xb, dxm, dym, &l), IRLLREC_E_NUMERIC);
    EXPECT(irllrec_align_translation_noise(h, xm, ym, em, nul, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_translation_noise(h, xm, ym, em, y5, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation_sampled(h, xm, ym, NULL, 0, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation_sampled(h, xm, ym, NULL, N + 1, dxm, dym, &l), IRLLREC_E_SHAPE);
    EXPECT(irllrec_align_translation_sampled(h, xm, ym, badpos, N, dxm, dym, &l), IRLLREC_E_INVALID_ARG);
    EXPECT(irllrec_align_set_noise(h, 7), IRLLREC_E_INVALID_ARG);

    /* Finite inputs whose noisy copy overflows: the failure is found after
     * the noise was drawn; the generator is rolled back. */
    for (int i = 0; i < N * D; i++) x[i] = 3e38f;
    EXPECT(irllrec_align_translation(h, xm, ym, dxm, dym, &l), IRLLREC_E_NUMERIC);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_align_translation: non-finite") != NULL);
#undef EXPECT
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *align_suite(void)
{
    Suite *s = suite_create("align");
    TCase *tc = tcase_create("infonce");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, infonce_matches_naive_blocked);
    tcase_add_test(tc, infonce_matches_naive_single_block);
    tcase_add_test(tc, infonce_matches_naive_small_tau_streaming_max);
    tcase_add_test(tc, infonce_matches_naive_diagonal_pos);
    tcase_add_test(tc, infonce_hand_value);
    tcase_add_test(tc, infonce_gradcheck);
    tcase_add_test(tc, infonce_accumulates_and_respects_ld);
    tcase_add_test(tc, infonce_weighted_equals_repeated_rows);
    suite_add_tcase(s, tc);

    tc = tcase_create("contract");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, exp_kernel_accuracy);
    tcase_add_test(tc, calls_do_not_allocate);
    tcase_add_test(tc, create_validates_and_fails_cleanly);
    tcase_add_test(tc, bad_inputs_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
