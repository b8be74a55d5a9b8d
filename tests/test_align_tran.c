/* Translation alignment vs the naive double implementation of
 * helpers/align_ref.c (noise off and given), finite differences,
 * thread-count independence, seeded noise, the sampled mode, and tiles
 * spread over several blocks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "align/engine.h"
#include "align/align_impl.h"
#include "helpers/align_ref.h"
#include "helpers/testutil.h"

static void run_tran_vs_naive(int with_noise, int32_t brows, int32_t bcols)
{
    enum { N = 29, D = 6 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, N, N, brows, bcols);
    float *x = ar_fmat(N * D), *y = ar_fmat(N * D), *ex = ar_fmat(N * D), *ey = ar_fmat(N * D);
    float *dx = ar_fmat(N * D), *dy = ar_fmat(N * D);
    double *xd = ar_dmat(N * D), *yd = ar_dmat(N * D), *exd = ar_dmat(N * D), *eyd = ar_dmat(N * D);
    double *gx = ar_dmat(N * D), *gy = ar_dmat(N * D), loss = 0, want;
    ar_tran_ud u;
    ar_tr_seed(17);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    ar_fill(ex, N * D, -0.9, 0.9);
    ar_fill(ey, N * D, -0.9, 0.9);
    ar_to_double(x, xd, N * D);
    ar_to_double(y, yd, N * D);
    ar_to_double(ex, exd, N * D);
    ar_to_double(ey, eyd, N * D);
    if (with_noise) {
        ck_assert_int_eq(irllrec_align_translation_noise(
                             h, irllrec_mat_dense(x, N, D), irllrec_mat_dense(y, N, D),
                             irllrec_mat_dense(ex, N, D), irllrec_mat_dense(ey, N, D),
                             irllrec_mat_dense(dx, N, D), irllrec_mat_dense(dy, N, D), &loss),
                         IRLLREC_OK);
    } else {
        ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
        ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, N, D),
                                                   irllrec_mat_dense(y, N, D),
                                                   irllrec_mat_dense(dx, N, D),
                                                   irllrec_mat_dense(dy, N, D), &loss),
                         IRLLREC_OK);
    }
    u.x = xd;
    u.y = yd;
    u.ex = with_noise ? exd : NULL;
    u.ey = with_noise ? eyd : NULL;
    u.n = N;
    u.d = D;
    want = ar_tran_fn(&u);
    ck_assert_msg(fabs(loss - want) <= 1e-5 * fabs(want), "loss %.12g want %.12g", loss, want);
    ar_naive_grad(ar_tran_fn, &u, xd, N * D, gx);
    ar_naive_grad(ar_tran_fn, &u, yd, N * D, gy);
    ar_expect_close(dx, gx, N * D, 1e-3, 1e-4, "dx");
    ar_expect_close(dy, gy, N * D, 1e-3, 1e-4, "dy");
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    free(x); free(y); free(ex); free(ey); free(dx); free(dy);
    free(xd); free(yd); free(exd); free(eyd); free(gx); free(gy);
}

START_TEST(translation_matches_naive_noise_off)
{
    run_tran_vs_naive(0, 4, 8); /* blocks smaller than N: recompute path */
    run_tran_vs_naive(0, 5, 0); /* one column block: reuse path */
}
END_TEST

START_TEST(translation_matches_naive_given_noise)
{
    run_tran_vs_naive(1, 4, 8);
    run_tran_vs_naive(1, 29, 29);
}
END_TEST

/* A hand-computed case: N = 2, d = 1, x = [1, -1], y = [1, -1], no noise:
 * c = [[1, -1], [-1, 1]], each row gives log(e / (e + 1/e + 1e-8) + 1e-8). */
START_TEST(translation_hand_value)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, 1, 2, 2, 0, 0);
    float x[2] = {1.0f, -1.0f}, y[2] = {4.0f, -0.25f};
    double loss = 0;
    const double e = exp(1.0), want = -log(e / (e + 1.0 / e + 1e-8) + 1e-8);
    ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, 2, 1), irllrec_mat_dense(y, 2, 1),
                                               ar_nomat(), ar_nomat(), &loss),
                     IRLLREC_OK);
    ck_assert_double_eq_tol(loss, want, 1e-6);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct api_tran {
    irllrec_align *h;
    float *x, *y, *ex, *ey;
    int n, d;
} api_tran;
static double api_tran_loss(void *ud)
{
    api_tran *a = (api_tran *)ud;
    double l = NAN;
    ck_assert_int_eq(irllrec_align_translation_noise(
                         a->h, irllrec_mat_dense(a->x, a->n, a->d), irllrec_mat_dense(a->y, a->n, a->d),
                         irllrec_mat_dense(a->ex, a->n, a->d), irllrec_mat_dense(a->ey, a->n, a->d),
                         ar_nomat(), ar_nomat(), &l),
                     IRLLREC_OK);
    return l;
}

START_TEST(translation_gradcheck)
{
    enum { N = 24, D = 16 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, N, N, 5, 7);
    float *x = ar_fmat(N * D), *y = ar_fmat(N * D), *ex = ar_fmat(N * D), *ey = ar_fmat(N * D);
    float *dx = ar_fmat(N * D), *dy = ar_fmat(N * D);
    api_tran a = {h, x, y, ex, ey, N, D};
    ar_tr_seed(23);
    ar_fill(x, N * D, -0.1, 0.1);
    ar_fill(y, N * D, -0.1, 0.1);
    ar_fill(ex, N * D, -0.5, 0.5);
    ar_fill(ey, N * D, -0.5, 0.5);
    ck_assert_int_eq(irllrec_align_translation_noise(
                         h, irllrec_mat_dense(x, N, D), irllrec_mat_dense(y, N, D),
                         irllrec_mat_dense(ex, N, D), irllrec_mat_dense(ey, N, D),
                         irllrec_mat_dense(dx, N, D), irllrec_mat_dense(dy, N, D), NULL),
                     IRLLREC_OK);
    ar_gradcheck_f(api_tran_loss, &a, x, dx, N * D, 2000);
    ar_gradcheck_f(api_tran_loss, &a, y, dy, N * D, 2000);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    free(x); free(y); free(ex); free(ey); free(dx); free(dy);
}
END_TEST

/* Same spec and seed on 1 and 3 threads: with the reference GEMM the bits
 * agree; with BLAS only BLAS's own blocking may differ. */
START_TEST(translation_thread_count_independent)
{
    enum { N = 203, D = 8 };
    const int bitwise = strcmp(irllrec_gemm_backend(), "reference") == 0;
    float *x = ar_fmat(N * D), *y = ar_fmat(N * D), *dx[2], *dy[2];
    double loss[2], nl[2];
    ar_tr_seed(31);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    for (int r = 0; r < 2; r++) {
        irllrec_ctx *ctx = tu_ctx_threads(r == 0 ? 1 : 3);
        irllrec_align *h = tu_align(ctx, D, N, N, 16, 48);
        float *nx = ar_fmat(N * D), *ny = ar_fmat(N * D);
        dx[r] = ar_fmat(N * D);
        dy[r] = ar_fmat(N * D);
        ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, N, D),
                                                   irllrec_mat_dense(y, N, D),
                                                   irllrec_mat_dense(dx[r], N, D),
                                                   irllrec_mat_dense(dy[r], N, D), &loss[r]),
                         IRLLREC_OK);
        /* InfoNCE through the same slices. */
        ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, N, D), irllrec_mat_dense(y, N, D),
                                               NULL, 0.2, 1.0 / N, irllrec_mat_dense(nx, N, D),
                                               irllrec_mat_dense(ny, N, D), &nl[r]),
                         IRLLREC_OK);
        for (int i = 0; i < N * D; i++) {
            dx[r][i] += nx[i];
            dy[r][i] += ny[i];
        }
        free(nx);
        free(ny);
        irllrec_align_free(h);
        irllrec_ctx_free(ctx);
    }
    if (bitwise) {
        ck_assert(loss[0] == loss[1] && nl[0] == nl[1]);
        ck_assert(memcmp(dx[0], dx[1], N * D * sizeof(float)) == 0);
        ck_assert(memcmp(dy[0], dy[1], N * D * sizeof(float)) == 0);
    } else {
        ck_assert_double_eq_tol(loss[0], loss[1], 1e-9 * fabs(loss[0]));
        ck_assert_double_eq_tol(nl[0], nl[1], 1e-9 * fabs(nl[0]));
        for (int i = 0; i < N * D; i++) {
            ck_assert_float_eq_tol(dx[0][i], dx[1][i], 1e-6f * (1 + fabsf(dx[0][i])));
            ck_assert_float_eq_tol(dy[0][i], dy[1][i], 1e-6f * (1 + fabsf(dy[0][i])));
        }
    }
    for (int r = 0; r < 2; r++) {
        free(dx[r]);
        free(dy[r]);
    }
    free(x);
    free(y);
}
END_TEST

/* The same seed gives the same noise; the noise actually changes the loss. */
START_TEST(translation_noise_is_seeded)
{
    enum { N = 17, D = 4 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h1 = tu_align(ctx, D, N, N, 0, 0), *h2 = tu_align(ctx, D, N, N, 0, 0);
    float x[N * D], y[N * D];
    double a, b, c, off;
    uint64_t st[4];
    ar_tr_seed(41);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    irllrec_mat xm = irllrec_mat_dense(x, N, D), ym = irllrec_mat_dense(y, N, D);
    ck_assert_int_eq(irllrec_align_get_rng_state(h1, st), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h1, xm, ym, ar_nomat(), ar_nomat(), &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h2, xm, ym, ar_nomat(), ar_nomat(), &b), IRLLREC_OK);
    ck_assert(a == b);
    ck_assert_int_eq(irllrec_align_translation(h1, xm, ym, ar_nomat(), ar_nomat(), &c), IRLLREC_OK);
    ck_assert(c != a); /* fresh noise per call */
    ck_assert_int_eq(irllrec_align_set_rng_state(h1, st), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h1, xm, ym, ar_nomat(), ar_nomat(), &c), IRLLREC_OK);
    ck_assert(c == a); /* restored state replays the noise */
    ck_assert_int_eq(irllrec_align_set_noise(h1, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h1, xm, ym, ar_nomat(), ar_nomat(), &off), IRLLREC_OK);
    ck_assert(off != a);
    irllrec_align_free(h1);
    irllrec_align_free(h2);
    irllrec_ctx_free(ctx);
}
END_TEST

/* The noise is irllrec__rng_normal's sequence, all of eps_x then all of
 * eps_y, bit for bit, whatever the thread count: its uniforms are drawn in
 * order, then transformed by every thread, ALIGN_NOISE_CHUNK at a time
 * (N d = 36,000: a whole chunk on 3 threads, then a short one inline). */
START_TEST(translation_noise_is_the_serial_normal_sequence)
{
    enum { N = 1125, D = 32 };
    float *x = ar_fmat(N * D), *y = ar_fmat(N * D), *want = ar_fmat(2 * N * D);
    ar_tr_seed(43);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    ck_assert_int_gt(N * D, ALIGN_NOISE_CHUNK);
    for (int32_t nt = 1; nt <= 3; nt += 2) {
        irllrec_ctx *ctx = tu_ctx_threads(nt);
        irllrec_align *h = tu_align(ctx, D, N, N, 0, 0);
        irllrec__rng r;
        uint64_t after[4];
        double loss;
        ck_assert_int_eq(irllrec_align_get_rng_state(h, r.s), IRLLREC_OK);
        for (int64_t k = 0; k < 2 * N * D; k++) want[k] = (float)irllrec__rng_normal(&r);
        ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, N, D),
                                                   irllrec_mat_dense(y, N, D), ar_nomat(),
                                                   ar_nomat(), &loss),
                         IRLLREC_OK);
        ck_assert_msg(memcmp(h->ex, want, sizeof(float) * N * D) == 0, "eps_x, %d threads", nt);
        ck_assert_msg(memcmp(h->ey, want + N * D, sizeof(float) * N * D) == 0, "eps_y, %d threads",
                      nt);
        ck_assert_int_eq(irllrec_align_get_rng_state(h, after), IRLLREC_OK);
        ck_assert(memcmp(after, r.s, sizeof after) == 0); /* the stream ends where it should */
        irllrec_align_free(h);
        irllrec_ctx_free(ctx);
    }
    free(x);
    free(y);
    free(want);
}
END_TEST

/* A sample that covers every node (in any order) is the exact loss. */
START_TEST(translation_sampled_full_cover_equals_exact)
{
    enum { N = 37, D = 5 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, N, N, 4, 8);
    float x[N * D], y[N * D], dxe[N * D] = {0}, dye[N * D] = {0}, dxs[N * D], dys[N * D];
    int32_t perm[N];
    double le, ls;
    ar_tr_seed(43);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    for (int i = 0; i < N; i++) perm[i] = (int32_t)((i * 11 + 3) % N);
    irllrec_mat xm = irllrec_mat_dense(x, N, D), ym = irllrec_mat_dense(y, N, D);
    ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation(h, xm, ym, irllrec_mat_dense(dxe, N, D),
                                               irllrec_mat_dense(dye, N, D), &le), IRLLREC_OK);
    for (int mode = 0; mode < 2; mode++) {
        memset(dxs, 0, sizeof dxs);
        memset(dys, 0, sizeof dys);
        ck_assert_int_eq(irllrec_align_translation_sampled(h, xm, ym, mode ? NULL : perm, N,
                                                           irllrec_mat_dense(dxs, N, D),
                                                           irllrec_mat_dense(dys, N, D), &ls),
                         IRLLREC_OK);
        ck_assert_double_eq_tol(ls, le, 1e-6 * fabs(le));
        for (int i = 0; i < N * D; i++) {
            ck_assert_float_eq_tol(dxs[i], dxe[i], 1e-5f * (1e-3f + fabsf(dxe[i])) + 1e-8f);
            ck_assert_float_eq_tol(dys[i], dye[i], 1e-5f * (1e-3f + fabsf(dye[i])) + 1e-8f);
        }
    }
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* A strict subset: the naive loss of the gathered rows; rows outside the
 * subset get no gradient; random draws are distinct nodes. */
START_TEST(translation_sampled_subset_matches_naive)
{
    enum { N = 31, D = 4, S = 9 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, N, N, 3, 4);
    float x[N * D], y[N * D], dx[N * D] = {0}, dy[N * D] = {0};
    const int32_t ids[S] = {30, 2, 17, 5, 11, 0, 23, 8, 14};
    double xs[S * D], ys[S * D], l, want;
    int in_s[N] = {0};
    ar_tr_seed(47);
    ar_fill(x, N * D, -1, 1);
    ar_fill(y, N * D, -1, 1);
    for (int i = 0; i < S; i++) {
        in_s[ids[i]] = 1;
        for (int k = 0; k < D; k++) {
            xs[i * D + k] = x[ids[i] * D + k];
            ys[i * D + k] = y[ids[i] * D + k];
        }
    }
    irllrec_mat xm = irllrec_mat_dense(x, N, D), ym = irllrec_mat_dense(y, N, D);
    ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_translation_sampled(h, xm, ym, ids, S, irllrec_mat_dense(dx, N, D),
                                                       irllrec_mat_dense(dy, N, D), &l),
                     IRLLREC_OK);
    want = ar_naive_tran(xs, ys, NULL, NULL, S, D);
    ck_assert_double_eq_tol(l, want, 1e-6 * fabs(want));
    for (int n = 0; n < N; n++) {
        double mag = 0;
        for (int k = 0; k < D; k++) mag += fabs(dx[n * D + k]) + fabs(dy[n * D + k]);
        if (in_s[n]) ck_assert(mag > 0);
        else ck_assert(mag == 0);
    }
    /* Random subset: S distinct nodes get gradient. */
    memset(dx, 0, sizeof dx);
    ck_assert_int_eq(irllrec_align_translation_sampled(h, xm, ym, NULL, S, irllrec_mat_dense(dx, N, D),
                                                       ar_nomat(), &l),
                     IRLLREC_OK);
    {
        int touched = 0;
        for (int n = 0; n < N; n++) {
            int any = 0;
            for (int k = 0; k < D; k++) any |= dx[n * D + k] != 0.0f;
            touched += any;
        }
        ck_assert_int_eq(touched, S);
    }
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- several GEMM tiles per block ----------------------------------------
 * block_rows 64 x d 64 gives 64-column tiles (rows * width * d <= 2^18), so
 * these shapes split every block into several tiles, in one block (reuse)
 * and in several blocks (recompute). Gradients are checked against double
 * central differences of the naive loss on a spread of coordinates. */

static void check_some_coords(ar_naive_fn f, void *ud, double *p, const float *g, int64_t n)
{
    double gmax = 0;
    for (int64_t i = 0; i < n; i++) gmax = fmax(gmax, fabs((double)g[i]));
    for (int64_t i = 0; i < n; i += n / 13 + 1) {
        double ref;
        ar_naive_grad(f, ud, p + i, 1, &ref);
        ck_assert_msg(fabs((double)g[i] - ref) <= 1e-3 * fabs(ref) + 1e-4 * gmax,
                      "coord %lld: got %.9g want %.9g", (long long)i, (double)g[i], ref);
    }
}

START_TEST(multi_tile_matches_naive)
{
    enum { NB = 70, M = 203, D = 64 };
    const int32_t bcols[2] = {0, 150};
    float *x = ar_fmat(M * D), *y = ar_fmat(M * D), *dx = ar_fmat(M * D), *dy = ar_fmat(M * D);
    double *xd = ar_dmat(M * D), *yd = ar_dmat(M * D);
    int32_t pos[NB];
    ar_tr_seed(61);
    ar_fill(x, M * D, -1, 1);
    ar_fill(y, M * D, -1, 1);
    ar_to_double(x, xd, M * D);
    ar_to_double(y, yd, M * D);
    for (int b = 0; b < NB; b++) pos[b] = (int32_t)((b * 13) % M);
    for (int k = 0; k < 2; k++) {
        irllrec_ctx *ctx = tu_ctx();
        irllrec_align *h = tu_align(ctx, D, M, M, 64, bcols[k]);
        double l, want;
        ar_nce_ud u = {xd, yd, NB, M, D, pos, 0.2, 1.0 / NB};
        ar_tran_ud tu = {xd, yd, NULL, NULL, 150, D};
        memset(dx, 0, M * D * sizeof(float));
        memset(dy, 0, M * D * sizeof(float));
        ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(x, NB, D), irllrec_mat_dense(y, M, D),
                                               pos, 0.2, 1.0 / NB, irllrec_mat_dense(dx, NB, D),
                                               irllrec_mat_dense(dy, M, D), &l),
                         IRLLREC_OK);
        want = ar_nce_fn(&u);
        ck_assert_msg(fabs(l - want) <= 1e-5 * fabs(want), "infonce %.12g want %.12g", l, want);
        check_some_coords(ar_nce_fn, &u, xd, dx, NB * D);
        check_some_coords(ar_nce_fn, &u, yd, dy, M * D);

        memset(dx, 0, M * D * sizeof(float));
        memset(dy, 0, M * D * sizeof(float));
        ck_assert_int_eq(irllrec_align_set_noise(h, IRLLREC_ALIGN_NOISE_OFF), IRLLREC_OK);
        ck_assert_int_eq(irllrec_align_translation(h, irllrec_mat_dense(x, 150, D),
                                                   irllrec_mat_dense(y, 150, D),
                                                   irllrec_mat_dense(dx, 150, D),
                                                   irllrec_mat_dense(dy, 150, D), &l),
                         IRLLREC_OK);
        want = ar_tran_fn(&tu);
        ck_assert_msg(fabs(l - want) <= 1e-5 * fabs(want), "translation %.12g want %.12g", l, want);
        check_some_coords(ar_tran_fn, &tu, xd, dx, 150 * D);
        check_some_coords(ar_tran_fn, &tu, yd, dy, 150 * D);
        irllrec_align_free(h);
        irllrec_ctx_free(ctx);
    }
    free(x); free(y); free(dx); free(dy); free(xd); free(yd);
}
END_TEST

/* ---- engine pieces -------------------------------------------------------- */

Suite *align_tran_suite(void)
{
    Suite *s = suite_create("align_tran");
    TCase *tc = tcase_create("translation");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, translation_matches_naive_noise_off);
    tcase_add_test(tc, translation_matches_naive_given_noise);
    tcase_add_test(tc, translation_hand_value);
    tcase_add_test(tc, translation_gradcheck);
    tcase_add_test(tc, translation_thread_count_independent);
    tcase_add_test(tc, translation_noise_is_seeded);
    tcase_add_test(tc, translation_noise_is_the_serial_normal_sequence);
    tcase_add_test(tc, translation_sampled_full_cover_equals_exact);
    tcase_add_test(tc, translation_sampled_subset_matches_naive);
    tcase_add_test(tc, multi_tile_matches_naive);
    suite_add_tcase(s, tc);
    return s;
}
