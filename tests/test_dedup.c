/* Repeated rows as counts: irllrec_align_infonce_counts against the B x B
 * InfoNCE it replaces (rows and columns written out once per draw), its
 * hand value, finite differences and argument checks; and the hook, whose
 * in-batch terms and interaction tower now run once per distinct node:
 * a batch written twice adds exactly log 2 to each item term's rows and
 * leaves everything else alone, and its gradients pass finite differences
 * on a batch with repeats inside every role. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"
#include "helpers/gradcheck.h"
#include "helpers/dist_fixture.h"

static irllrec_mat nomat(void) { return (irllrec_mat){NULL, 0, 0, 0}; }

static void fill(irllrec__rng *r, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)irllrec__rng_normal(r);
}

enum { K = 4, R = 9, D = 5 };
static const float CNT[K] = {2, 1, 4, 2};  /* sums to R */

/* The distinct rows against themselves with counts, and the same written out
 * R times: row r (a draw of k) targets column r, every draw a column. */
START_TEST(counts_equal_rows_and_columns_written_out)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, R, R, 2, 4);
    irllrec__rng rng;
    irllrec__rng_seed(&rng, 5, 1);
    float x[K * D], y[K * D], xr[R * D], yr[R * D];
    float dx[K * D] = {0}, dy[K * D] = {0}, dxr[R * D] = {0}, dyr[R * D] = {0};
    float sx[K * D] = {0}, sy[K * D] = {0};
    int src[R], r = 0;
    double lc = 0.0, lr = 0.0;
    fill(&rng, x, K * D);
    fill(&rng, y, K * D);
    for (int k = 0; k < K; k++)
        for (int c = 0; c < (int)CNT[k]; c++, r++) {
            memcpy(xr + r * D, x + k * D, sizeof(float) * D);
            memcpy(yr + r * D, y + k * D, sizeof(float) * D);
            src[r] = k;
        }
    ck_assert_int_eq(r, R);
    ck_assert_int_eq(irllrec_align_infonce_counts(h, irllrec_mat_dense(x, K, D),
                         irllrec_mat_dense(y, K, D), NULL, CNT, CNT, 0.2, 0.125,
                         irllrec_mat_dense(dx, K, D), irllrec_mat_dense(dy, K, D), &lc),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce(h, irllrec_mat_dense(xr, R, D),
                         irllrec_mat_dense(yr, R, D), NULL, 0.2, 0.125,
                         irllrec_mat_dense(dxr, R, D), irllrec_mat_dense(dyr, R, D), &lr),
                     IRLLREC_OK);
    ck_assert_double_eq_tol(lc, lr, 1e-6 * fabs(lr));
    for (r = 0; r < R; r++)
        for (int c = 0; c < D; c++) {
            sx[src[r] * D + c] += dxr[r * D + c];
            sy[src[r] * D + c] += dyr[r * D + c];
        }
    double mx = 0.0;
    for (int i = 0; i < K * D; i++) mx = fmax(mx, fmax(fabs(sx[i]), fabs(sy[i])));
    ck_assert(mx > 1e-2);  /* not vacuous */
    for (int i = 0; i < K * D; i++) {
        ck_assert_float_eq_tol(dx[i], sx[i], 1e-6 * mx);
        ck_assert_float_eq_tol(dy[i], sy[i], 1e-6 * mx);
    }
    /* col_count NULL is the row-weighted call, bit for bit */
    float dx1[K * D] = {0}, dx2[K * D] = {0};
    double l1 = 0.0, l2 = 0.0;
    ck_assert_int_eq(irllrec_align_infonce_counts(h, irllrec_mat_dense(x, K, D),
                         irllrec_mat_dense(y, K, D), NULL, CNT, NULL, 0.2, 0.125,
                         irllrec_mat_dense(dx1, K, D), nomat(), &l1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_infonce_weighted(h, irllrec_mat_dense(x, K, D),
                         irllrec_mat_dense(y, K, D), NULL, CNT, 0.2, 0.125,
                         irllrec_mat_dense(dx2, K, D), nomat(), &l2), IRLLREC_OK);
    ck_assert(l1 == l2 && memcmp(dx1, dx2, sizeof dx1) == 0);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* One 1-d row x = 2 against y = (3, -0.5) with counts (1, 2), tau 1: the
 * cosines are +1 and -1, so L = -1 + log(e + 2/e). */
START_TEST(counts_hand_value)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, 1, 1, 2, 2, 4);
    float hx[1] = {2.0f}, hy[2] = {3.0f, -0.5f}, c[2] = {1.0f, 2.0f};
    int32_t pos[1] = {0};
    double l = 0.0;
    const double e = exp(1.0);
    ck_assert_int_eq(irllrec_align_infonce_counts(h, irllrec_mat_dense(hx, 1, 1),
                         irllrec_mat_dense(hy, 2, 1), pos, NULL, c, 1.0, 1.0, nomat(), nomat(),
                         &l), IRLLREC_OK);
    ck_assert_double_eq_tol(l, -1.0 + log(e + 2.0 / e), 1e-6);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct fdc {
    irllrec_align *h;
    float x[K * D], y[K * D];
} fdc;

static double fdc_loss(void *ud)
{
    fdc *f = (fdc *)ud;
    double l = 0.0;
    ck_assert_int_eq(irllrec_align_infonce_counts(f->h, irllrec_mat_dense(f->x, K, D),
                         irllrec_mat_dense(f->y, K, D), NULL, CNT, CNT, 0.5, 1.0, nomat(),
                         nomat(), &l), IRLLREC_OK);
    return l;
}

START_TEST(counts_finite_differences)
{
    irllrec_ctx *ctx = tu_ctx();
    fdc f;
    irllrec__rng rng;
    irllrec__rng_seed(&rng, 9, 1);
    f.h = tu_align(ctx, D, K, K, 2, 4);
    fill(&rng, f.x, K * D);
    fill(&rng, f.y, K * D);
    float dx[K * D] = {0}, dy[K * D] = {0};
    ck_assert_int_eq(irllrec_align_infonce_counts(f.h, irllrec_mat_dense(f.x, K, D),
                         irllrec_mat_dense(f.y, K, D), NULL, CNT, CNT, 0.5, 1.0,
                         irllrec_mat_dense(dx, K, D), irllrec_mat_dense(dy, K, D), NULL),
                     IRLLREC_OK);
    gc_block blocks[2] = {{"x", f.x, dx, K * D}, {"y", f.y, dy, K * D}};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.rel_step = 3e-3;
    gc_check(fdc_loss, &f, blocks, 2, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_eq(res.n_checked, 2 * K * D);
    irllrec_align_free(f.h);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(counts_bad_multiplicities_are_named)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_align *h = tu_align(ctx, D, K, K, 2, 4);
    float x[K * D], y[K * D], dx[K * D] = {0};
    irllrec__rng rng;
    irllrec__rng_seed(&rng, 3, 1);
    fill(&rng, x, K * D);
    fill(&rng, y, K * D);
    const float bad[3] = {0.0f, -1.0f, NAN};
    for (int i = 0; i < 3; i++) {
        float c[K] = {1, 1, 1, 1};
        double l = 123.0;
        c[2] = bad[i];
        ck_assert_int_eq(irllrec_align_infonce_counts(h, irllrec_mat_dense(x, K, D),
                             irllrec_mat_dense(y, K, D), NULL, NULL, c, 0.2, 1.0,
                             irllrec_mat_dense(dx, K, D), nomat(), &l), IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "irllrec_align_infonce_counts"));
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "col_count[2]"));
        ck_assert(l == 123.0);
        for (int k = 0; k < K * D; k++) ck_assert(dx[k] == 0.0f);
    }
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- the hook ------------------------------------------------------------ */

enum { HB = 4 };
/* repeats inside every role: user 1, positive 0 and negative 3 twice;
 * item 2 is a positive and a negative (one tower row for both) */
static const int32_t BU[HB] = {1, 3, 1, 5}, BP[HB] = {0, 2, 0, 7}, BN[HB] = {3, 2, 3, 1};

static irllrec_hook *dd_hook(irllrec_ctx *ctx, const df_world *w)
{
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    df_spec(&s, 11);
    s.max_batch = 2 * HB;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    ck_assert_int_eq(df_setup(h, w), IRLLREC_OK);
    return h;
}

static irllrec_status dd_compute(irllrec_hook *h, const df_world *w, int copies, float *gf,
                                 irllrec_hook_losses *lv)
{
    int32_t u[2 * HB], p[2 * HB], n[2 * HB];
    for (int c = 0; c < copies; c++) {
        memcpy(u + c * HB, BU, sizeof BU);
        memcpy(p + c * HB, BP, sizeof BP);
        memcpy(n + c * HB, BN, sizeof BN);
    }
    tu_hookio io;
    tu_hookio_init(&io, DF_U, DF_I, DF_D, w->ef, gf, DF_L, w->lay, NULL);
    const irllrec_hook_batch b = {copies * HB, u, p, n};
    lv->struct_size = sizeof *lv;
    return irllrec_hook_compute(h, &b, &io.in, gf ? &io.grads : NULL,
                                gf ? 0 : IRLLREC_HOOK_LOSS_ONLY, lv);
}

/* Written twice, every item column appears twice as often: each of a
 * row's item-term sums doubles (+log 2 for the pos and the neg term), the
 * user term (against all users) and the means do not change. */
START_TEST(hook_batch_written_twice)
{
    static df_world w;
    df_make_world(&w);
    irllrec_ctx *ctx = tu_ctx();
    irllrec_hook *h1 = dd_hook(ctx, &w), *h2 = dd_hook(ctx, &w);
    float *g1 = calloc(DF_N * DF_D, sizeof(float)), *g2 = calloc(DF_N * DF_D, sizeof(float));
    irllrec_hook_losses a, b;
    ck_assert_int_eq(dd_compute(h1, &w, 1, g1, &a), IRLLREC_OK);
    ck_assert_int_eq(dd_compute(h2, &w, 2, g2, &b), IRLLREC_OK);
    ck_assert(a.kd > 0.0 && a.pair > 0.0);
    ck_assert_double_eq_tol(b.kd, a.kd + 2.0 * log(2.0), 1e-5);
    ck_assert_double_eq_tol(b.pair, a.pair + 2.0 * log(2.0), 1e-5);
    ck_assert_double_eq_tol(b.tran, a.tran, 1e-6 * fabs(a.tran));
    ck_assert_double_eq_tol(b.itm, a.itm, 1e-6 * fabs(a.itm) + 1e-9);
    double mx = 0.0;
    for (int i = 0; i < DF_N * DF_D; i++) mx = fmax(mx, fabs(g1[i]));
    ck_assert(mx > 1e-3);
    for (int i = 0; i < DF_N * DF_D; i++) ck_assert_float_eq_tol(g2[i], g1[i], 1e-5 * mx);
    for (int i = 0; i < irllrec_hook_block_count(h1); i++) {
        irllrec_hook_block x = {.struct_size = sizeof x}, y = {.struct_size = sizeof y};
        ck_assert_int_eq(irllrec_hook_get_block(h1, i, &x), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_block(h2, i, &y), IRLLREC_OK);
        if (x.grad == NULL) continue;
        double bm = 0.0;
        for (int64_t j = 0; j < x.rows * x.cols; j++) bm = fmax(bm, fabs(x.grad[j]));
        for (int64_t j = 0; j < x.rows * x.cols; j++)
            ck_assert_msg(fabs(x.grad[j] - y.grad[j]) <= 1e-5 * bm + 1e-9, "block %s [%lld]",
                          x.name, (long long)j);
    }
    free(g1);
    free(g2);
    irllrec_hook_free(h1);
    irllrec_hook_free(h2);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct fdh {
    irllrec_hook *h;
    df_world *w;
    uint64_t sign_prev, sign_last;
} fdh;

static double fdh_loss(void *ud)
{
    fdh *f = (fdh *)ud;
    irllrec_hook_losses lv;
    ck_assert_int_eq(dd_compute(f->h, f->w, 1, NULL, &lv), IRLLREC_OK);
    f->sign_prev = f->sign_last;
    f->sign_last = irllrec__hook_preact_signs(f->h);
    return lv.total;
}

/* a LeakyReLU kink inside the central difference: skip the coordinate */
static int fdh_kink(void *ud, int block, int64_t index)
{
    fdh *f = (fdh *)ud;
    (void)block;
    (void)index;
    return f->sign_prev != f->sign_last;
}

START_TEST(hook_repeats_finite_differences)
{
    static df_world w;
    df_make_world(&w);
    irllrec_ctx *ctx = tu_ctx();
    fdh f = {dd_hook(ctx, &w), &w, 0, 0};
    float *g = calloc(DF_N * DF_D, sizeof(float));
    irllrec_hook_losses lv;
    ck_assert_int_eq(dd_compute(f.h, &w, 1, g, &lv), IRLLREC_OK);
    gc_block blocks[1] = {{"E_final", w.ef, g, DF_N * DF_D}};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 1e-4;
    o.skip = fdh_kink;
    o.skip_ud = &f;
    gc_check(fdh_loss, &f, blocks, 1, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 40);
    free(g);
    irllrec_hook_free(f.h);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *dedup_suite(void)
{
    Suite *s = suite_create("dedup");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, counts_equal_rows_and_columns_written_out);
    tcase_add_test(tc, counts_hand_value);
    tcase_add_test(tc, counts_finite_differences);
    tcase_add_test(tc, counts_bad_multiplicities_are_named);
    tcase_add_test(tc, hook_batch_written_twice);
    tcase_add_test(tc, hook_repeats_finite_differences);
    suite_add_tcase(s, tc);
    return s;
}
