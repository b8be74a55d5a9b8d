/* Internal kernels: hand-computed forward values and every _bwd against
 * finite differences (tests/helpers/gradcheck). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "ops/ops.h"
#include "helpers/gradcheck.h"

static void fill_uniform(irllrec__rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)irllrec__rng_uniform(r);
}

static double weighted_sum(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                           const float *w)
{
    double s = 0.0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) s += (double)w[r * cols + j] * (double)y[r * ldy + j];
    return s;
}

/* ---- linear ---------------------------------------------------------- */

START_TEST(linear_fwd_hand)
{
    /* X = [[1,2,3],[-1,0,2]] (ld 4), W = [[1,0,-1],[2,1,0]], b = [0.5,-1] */
    const float x[] = {1, 2, 3, 99, -1, 0, 2, 99};
    const float w[] = {1, 0, -1, 2, 1, 0};
    const float b[] = {0.5f, -1.0f};
    float y[2 * 3];
    memset(y, 0x7f, sizeof y);
    irllrec__linear_fwd(2, 3, 2, x, 4, w, 3, b, y, 3);
    ck_assert_float_eq(y[0], 1 - 3 + 0.5f);
    ck_assert_float_eq(y[1], 2 + 2 - 1.0f);
    ck_assert_float_eq(y[3], -1 - 2 + 0.5f);
    ck_assert_float_eq(y[4], -2 + 0 - 1.0f);
    irllrec__linear_fwd(2, 3, 2, x, 4, w, 3, NULL, y, 3);
    ck_assert_float_eq(y[0], -2.0f);
}
END_TEST

START_TEST(colsum_accumulates_in_row_order)
{
    enum { R = 5, C = 70 };  /* C > one 64-column block */
    float x[R * (C + 1)], acc[C];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < C + 1; j++) x[r * (C + 1) + j] = (float)(r + 1) * (float)j;
    for (int j = 0; j < C; j++) acc[j] = 1.0f;
    irllrec__colsum_acc(R, C, x, C + 1, acc);
    for (int j = 0; j < C; j++) ck_assert_float_eq(acc[j], 1.0f + 15.0f * (float)j);
}
END_TEST

typedef struct lin_case {
    int64_t rows, in, out, ldx;
    float *x, *w, *b, *y, *wout;
} lin_case;

static double lin_loss(void *ud)
{
    lin_case *c = (lin_case *)ud;
    irllrec__linear_fwd(c->rows, c->in, c->out, c->x, c->ldx, c->w, c->in, c->b, c->y, c->out);
    return weighted_sum(c->rows, c->out, c->y, c->out, c->wout);
}

START_TEST(linear_bwd_gradcheck)
{
    enum { R = 6, IN = 7, OUT = 5, LDX = 9 };
    irllrec__rng rng;
    float x[R * LDX], w[OUT * IN], b[OUT], y[R * OUT], wout[R * OUT];
    float dx[R * LDX], dw[OUT * IN], db[OUT];
    lin_case c = {R, IN, OUT, LDX, x, w, b, y, wout};
    gc_block blocks[3];
    gc_result res;
    float dw_ref[OUT * IN];
    irllrec__rng_seed(&rng, 11, 0);
    fill_uniform(&rng, x, R * LDX, -1, 1);
    fill_uniform(&rng, w, OUT * IN, -1, 1);
    fill_uniform(&rng, b, OUT, -1, 1);
    fill_uniform(&rng, wout, R * OUT, -1, 1);
    /* accumulation: start from non-zero and subtract afterwards */
    for (int i = 0; i < R * LDX; i++) dx[i] = 0.25f;
    for (int i = 0; i < OUT * IN; i++) dw[i] = 0.5f;
    for (int i = 0; i < OUT; i++) db[i] = -1.0f;
    irllrec__linear_bwd(R, IN, OUT, x, LDX, w, IN, wout, OUT, dx, LDX, dw, IN, db);
    for (int i = 0; i < R * LDX; i++) dx[i] -= 0.25f;
    for (int i = 0; i < OUT * IN; i++) dw[i] -= 0.5f;
    for (int i = 0; i < OUT; i++) db[i] += 1.0f;
    /* the padding columns of dX must be untouched */
    for (int r = 0; r < R; r++)
        for (int j = IN; j < LDX; j++) ck_assert_float_eq(dx[r * LDX + j], 0.0f);
    /* gradcheck over the whole padded x: padding has zero gradient either way */
    blocks[0] = (gc_block){"X", x, dx, R * LDX};
    blocks[1] = (gc_block){"W", w, dw, OUT * IN};
    blocks[2] = (gc_block){"b", b, db, OUT};
    ck_assert_msg(gc_check(lin_loss, &c, blocks, 3, NULL, &res), "%s", res.msg);
    ck_assert_int_eq(res.n_checked, R * LDX + OUT * IN + OUT);
    /* dx == NULL and db == NULL skip those outputs */
    memcpy(dw_ref, dw, sizeof dw);
    memset(dw, 0, sizeof dw);
    irllrec__linear_bwd(R, IN, OUT, x, LDX, w, IN, wout, OUT, NULL, 0, dw, IN, NULL);
    for (int i = 0; i < OUT * IN; i++) ck_assert_float_eq_tol(dw[i], dw_ref[i], 1e-6f);
}
END_TEST

/* ---- LeakyReLU -------------------------------------------------------- */

START_TEST(leaky_relu_fwd_hand)
{
    float x[] = {-2.0f, 0.0f, 3.0f, -0.5f};
    float y[4];
    irllrec__leaky_relu_fwd(1, 4, x, 4, 0.01f, y, 4);
    ck_assert_float_eq(y[0], -0.02f);
    ck_assert_float_eq(y[1], 0.0f);
    ck_assert_float_eq(y[2], 3.0f);
    ck_assert_float_eq(y[3], 0.01f * -0.5f);
    irllrec__leaky_relu_fwd(1, 4, x, 4, 0.2f, x, 4);  /* in place */
    ck_assert_float_eq(x[0], 0.2f * -2.0f);
    float g[] = {1, 1, 1, 1};
    irllrec__leaky_relu_bwd(1, 4, x, 4, 0.2f, g, 4);
    ck_assert_float_eq(g[0], 0.2f);
    ck_assert_float_eq(g[1], 0.2f);  /* the kink takes the slope branch */
    ck_assert_float_eq(g[2], 1.0f);
}
END_TEST

typedef struct ew_case {
    int64_t rows, cols;
    float *x, *y, *wout;
    float slope;
} ew_case;

static double leaky_loss(void *ud)
{
    ew_case *c = (ew_case *)ud;
    irllrec__leaky_relu_fwd(c->rows, c->cols, c->x, c->cols, c->slope, c->y, c->cols);
    return weighted_sum(c->rows, c->cols, c->y, c->cols, c->wout);
}

static int leaky_skip(void *ud, int block, int64_t j)
{
    ew_case *c = (ew_case *)ud;
    (void)block;
    return fabsf(c->x[j]) < 2e-3f * fmaxf(1.0f, fabsf(c->x[j]));
}

START_TEST(leaky_relu_bwd_gradcheck)
{
    enum { R = 8, C = 9 };
    irllrec__rng rng;
    float x[R * C], y[R * C], wout[R * C], g[R * C];
    ew_case c = {R, C, x, y, wout, 0.1f};
    gc_block bl;
    gc_opts o;
    gc_result res;
    irllrec__rng_seed(&rng, 12, 0);
    fill_uniform(&rng, x, R * C, -1, 1);
    x[5] = 1e-4f;  /* on the kink: must be skipped */
    fill_uniform(&rng, wout, R * C, -1, 1);
    memcpy(g, wout, sizeof g);
    irllrec__leaky_relu_bwd(R, C, x, C, c.slope, g, C);
    bl = (gc_block){"X", x, g, R * C};
    gc_opts_default(&o);
    o.skip = leaky_skip;
    o.skip_ud = &c;
    ck_assert_msg(gc_check(leaky_loss, &c, &bl, 1, &o, &res), "%s", res.msg);
    ck_assert_int_ge(res.n_skipped, 1);
    /* Without the skip the kink coordinate is a genuine mismatch. */
    ck_assert(!gc_check(leaky_loss, &c, &bl, 1, NULL, &res));
    ck_assert_int_eq(res.worst_index, 5);
}
END_TEST

/* ---- softmax ---------------------------------------------------------- */

START_TEST(softmax_rows_fwd_hand)
{
    float x[] = {0.0f, logf(2.0f), logf(3.0f), 1000.0f, 1000.0f, -1000.0f};
    float y[6], ls[6];
    irllrec__softmax_rows_fwd(2, 3, x, 3, y, 3);
    ck_assert_float_eq_tol(y[0], 1.0f / 6, 1e-7f);
    ck_assert_float_eq_tol(y[1], 2.0f / 6, 1e-7f);
    ck_assert_float_eq_tol(y[2], 3.0f / 6, 1e-7f);
    /* max subtraction: no overflow at 1000 */
    ck_assert_float_eq_tol(y[3], 0.5f, 1e-7f);
    ck_assert_float_eq_tol(y[4], 0.5f, 1e-7f);
    ck_assert_float_eq(y[5], 0.0f);
    irllrec__log_softmax_rows_fwd(2, 3, x, 3, ls, 3);
    ck_assert_float_eq_tol(ls[0], -logf(6.0f), 1e-6f);
    ck_assert_float_eq_tol(ls[2], logf(0.5f), 1e-6f);
    ck_assert_float_eq_tol(ls[3], -logf(2.0f), 1e-6f);
    ck_assert_float_eq_tol(ls[5], -2000.0f - logf(2.0f), 1e-3f);
}
END_TEST

static double softmax_loss(void *ud)
{
    ew_case *c = (ew_case *)ud;
    irllrec__softmax_rows_fwd(c->rows, c->cols, c->x, c->cols, c->y, c->cols);
    return weighted_sum(c->rows, c->cols, c->y, c->cols, c->wout);
}

START_TEST(softmax_rows_bwd_gradcheck)
{
    enum { R = 5, C = 7 };
    irllrec__rng rng;
    float x[R * C], y[R * C], wout[R * C], dx[R * C];
    ew_case c = {R, C, x, y, wout, 0};
    gc_block bl;
    gc_result res;
    irllrec__rng_seed(&rng, 13, 0);
    fill_uniform(&rng, x, R * C, -3, 3);
    fill_uniform(&rng, wout, R * C, -1, 1);
    irllrec__softmax_rows_fwd(R, C, x, C, y, C);
    for (int i = 0; i < R * C; i++) dx[i] = 2.0f;
    irllrec__softmax_rows_bwd(R, C, y, C, wout, C, dx, C);
    for (int i = 0; i < R * C; i++) dx[i] -= 2.0f;
    bl = (gc_block){"X", x, dx, R * C};
    ck_assert_msg(gc_check(softmax_loss, &c, &bl, 1, NULL, &res), "%s", res.msg);
}
END_TEST

START_TEST(softmax_rows_bwd_inplace_matches)
{
    enum { R = 4, C = 6 };
    irllrec__rng rng;
    float x[R * C], y[R * C], g[R * C], dx[R * C];
    irllrec__rng_seed(&rng, 16, 0);
    fill_uniform(&rng, x, R * C, -3, 3);
    fill_uniform(&rng, g, R * C, -1, 1);
    irllrec__softmax_rows_fwd(R, C, x, C, y, C);
    memset(dx, 0, sizeof dx);
    irllrec__softmax_rows_bwd(R, C, y, C, g, C, dx, C);
    irllrec__softmax_rows_bwd_inplace(R, C, y, C, g, C);
    for (int i = 0; i < R * C; i++) ck_assert_float_eq(g[i], dx[i]);
}
END_TEST

/* ---- L2 normalisation --------------------------------------------------- */

START_TEST(l2norm_fwd_hand)
{
    float x[] = {3.0f, 4.0f, 0.0f, 0.0f};
    float y[4];
    double nrm[2];
    irllrec__l2norm_fwd(2, 2, x, 2, y, 2, nrm);
    ck_assert_float_eq_tol(y[0], 0.6f, 1e-7f);
    ck_assert_float_eq_tol(y[1], 0.8f, 1e-7f);
    ck_assert_double_eq_tol(nrm[0], sqrt(25.0 + 1e-8), 1e-15);
    /* the 1e-8 keeps a zero row finite */
    ck_assert_float_eq(y[2], 0.0f);
    ck_assert_double_eq_tol(nrm[1], 1e-4, 1e-12);
    irllrec__l2norm_fwd(2, 2, x, 2, x, 2, NULL);  /* in place */
    ck_assert_float_eq_tol(x[1], 0.8f, 1e-7f);
}
END_TEST

static double l2_loss(void *ud)
{
    ew_case *c = (ew_case *)ud;
    irllrec__l2norm_fwd(c->rows, c->cols, c->x, c->cols, c->y, c->cols, NULL);
    return weighted_sum(c->rows, c->cols, c->y, c->cols, c->wout);
}

START_TEST(l2norm_bwd_gradcheck)
{
    enum { R = 6, C = 8 };
    irllrec__rng rng;
    float x[R * C], y[R * C], wout[R * C], dx[R * C];
    ew_case c = {R, C, x, y, wout, 0};
    gc_block bl;
    gc_result res;
    irllrec__rng_seed(&rng, 14, 0);
    fill_uniform(&rng, x, R * C, -2, 2);
    for (int j = 0; j < C; j++) x[C + j] *= 1e-2f;  /* a short row */
    fill_uniform(&rng, wout, R * C, -1, 1);
    for (int i = 0; i < R * C; i++) dx[i] = -0.5f;
    irllrec__l2norm_bwd(R, C, x, C, wout, C, dx, C);
    for (int i = 0; i < R * C; i++) dx[i] += 0.5f;
    bl = (gc_block){"X", x, dx, R * C};
    ck_assert_msg(gc_check(l2_loss, &c, &bl, 1, NULL, &res), "%s", res.msg);
    /* the in-place form from the output and the saved norms agrees */
    {
        float g[R * C];
        double nrm[R];
        irllrec__l2norm_fwd(R, C, x, C, y, C, nrm);
        memcpy(g, wout, sizeof g);
        irllrec__l2norm_bwd_inplace(R, C, y, C, nrm, g, C);
        for (int i = 0; i < R * C; i++) ck_assert_float_eq_tol(g[i], dx[i], 1e-6f * (1 + fabsf(dx[i])));
    }
}
END_TEST

/* ---- the checker itself ----------------------------------------------------- */

START_TEST(gradcheck_detects_wrong_gradient)
{
    enum { R = 4, C = 5 };
    irllrec__rng rng;
    float x[R * C], y[R * C], wout[R * C], dx[R * C];
    ew_case c = {R, C, x, y, wout, 0};
    gc_block bl;
    gc_opts o;
    gc_result res;
    irllrec__rng_seed(&rng, 15, 0);
    fill_uniform(&rng, x, R * C, -2, 2);
    fill_uniform(&rng, wout, R * C, -1, 1);
    memset(dx, 0, sizeof dx);
    irllrec__softmax_rows_bwd(R, C, (irllrec__softmax_rows_fwd(R, C, x, C, y, C), y), C, wout, C,
                              dx, C);
    bl = (gc_block){"X", x, dx, R * C};
    ck_assert(gc_check(softmax_loss, &c, &bl, 1, NULL, &res));
    dx[7] *= 1.05f;  /* a 5% error must be caught */
    ck_assert(!gc_check(softmax_loss, &c, &bl, 1, NULL, &res));
    ck_assert_int_eq(res.worst_index, 7);
    ck_assert_int_eq(res.n_failed, 1);
    /* sampling: at most max_coords, reproducible */
    dx[7] /= 1.05f;
    gc_opts_default(&o);
    o.max_coords = 6;
    ck_assert(gc_check(softmax_loss, &c, &bl, 1, &o, &res));
    ck_assert_int_eq(res.n_checked, 6);
}
END_TEST

Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");
    tcase_add_test(tc, linear_fwd_hand);
    tcase_add_test(tc, colsum_accumulates_in_row_order);
    tcase_add_test(tc, linear_bwd_gradcheck);
    tcase_add_test(tc, leaky_relu_fwd_hand);
    tcase_add_test(tc, leaky_relu_bwd_gradcheck);
    tcase_add_test(tc, softmax_rows_fwd_hand);
    tcase_add_test(tc, softmax_rows_bwd_gradcheck);
    tcase_add_test(tc, softmax_rows_bwd_inplace_matches);
    tcase_add_test(tc, l2norm_fwd_hand);
    tcase_add_test(tc, l2norm_bwd_gradcheck);
    tcase_add_test(tc, gradcheck_detects_wrong_gradient);
    suite_add_tcase(s, tc);
    return s;
}
