/* The opt-in bf16 text path (docs/math-towers.md section 5): rounding, the
 * bf16 product against a reference, the MLP's forward and backward against
 * the fp32 reference within bounds derived from bf16's 8-bit significand,
 * a finite-difference check of the bf16 backward, and the ITM teacher's
 * blocked forward. The hook's side is in test_bf16_hook.c.
 *
 * Notation: u = 2^-8, the unit roundoff of bf16 (8 significand bits,
 * round to nearest), so |bf16(x) - x| <= u |x|; u32 = 2^-24 for fp32. A
 * product of two bf16 values is exact in fp32 (16 <= 24 bits), so a bf16
 * dot product of length k differs from the exact sum of the same bf16
 * values by at most k u32 sum |a b| (fp32 accumulation, any order). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "ops/ops.h"
#include "tower/tower.h"
#include "helpers/testutil.h"
#include "helpers/gradcheck.h"

#define U_BF16 (1.0 / 256.0)
#define U_F32 (1.0 / 16777216.0)

static uint16_t bits16(float f)
{
    uint16_t h;
    irllrec__f32_to_bf16(&f, &h, 1);
    return h;
}

static float widen(uint16_t h)
{
    float f;
    irllrec__bf16_to_f32(&h, &f, 1);
    return f;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

START_TEST(bf16_rounding_hand)
{
    ck_assert_uint_eq(bits16(1.0f), 0x3f80);
    ck_assert_uint_eq(bits16(-2.0f), 0xc000);
    ck_assert_uint_eq(bits16(-0.0f), 0x8000);
    /* ties go to the even significand: 1 + 2^-8 down, 1 + 3 * 2^-8 up */
    ck_assert_uint_eq(bits16(from_bits(0x3f808000u)), 0x3f80);
    ck_assert_uint_eq(bits16(from_bits(0x3f818000u)), 0x3f82);
    ck_assert_uint_eq(bits16(from_bits(0x3f808001u)), 0x3f81);  /* above the tie */
    ck_assert_uint_eq(bits16(from_bits(0x3f807fffu)), 0x3f80);  /* below it */
    ck_assert_uint_eq(bits16(INFINITY), 0x7f80);
    ck_assert_uint_eq(bits16(-INFINITY), 0xff80);
    ck_assert_uint_eq(bits16(from_bits(0x7f7fffffu)), 0x7f80);  /* FLT_MAX overflows */
    const uint16_t n = bits16(NAN), sn = bits16(from_bits(0x7f800001u));
    ck_assert(isnan(widen(n)));
    ck_assert(isnan(widen(sn)));  /* a signalling NaN with low payload stays NaN */
    ck_assert_uint_eq(bits16(from_bits(0x00010000u)), 0x0001);  /* subnormals keep */
    /* |bf16(x) - x| <= u |x| over many magnitudes; bf16 values round-trip */
    uint64_t st = 17;
    for (int i = 0; i < 20000; i++) {
        const float x = tu_rnd(&st) * ldexpf(1.0f, (i % 60) - 30);
        const float y = widen(bits16(x));
        ck_assert_msg(fabs((double)y - x) <= U_BF16 * fabs((double)x), "x %a -> %a", x, y);
        ck_assert_uint_eq(bits16(y), bits16(x));
    }
}
END_TEST

START_TEST(bf16_transposed_conversion_matches)
{
    enum { R = 45, C = 70, LDX = 73, LDY = 50 };
    float x[R * LDX];
    uint16_t t[C * LDY], p[C];
    uint64_t st = 3;
    tu_fill(&st, x, R * LDX, 4.0f);
    memset(t, 0xab, sizeof t);
    irllrec__f32_to_bf16_t(R, C, x, LDX, t, LDY);
    for (int r = 0; r < R; r++) {
        irllrec__f32_to_bf16(x + r * LDX, p, C);
        for (int c = 0; c < C; c++) ck_assert_uint_eq(t[c * LDY + r], p[c]);
    }
    for (int c = 0; c < C; c++)
        for (int r = R; r < LDY; r++) ck_assert_uint_eq(t[c * LDY + r], 0xabab);  /* padding */
}
END_TEST

/* op(A) op(B) of bf16 matrices in double, and sum |a b| per entry. */
static void sb_ref(int ta, int tb, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                   int64_t lda, const uint16_t *b, int64_t ldb, double *c, double *abs_sum)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0, sa = 0.0;
            for (int64_t p = 0; p < k; p++) {
                const double v = (double)widen(ta ? a[p * lda + i] : a[i * lda + p]) *
                                 (double)widen(tb ? b[j * ldb + p] : b[p * ldb + j]);
                s += v;
                sa += fabs(v);
            }
            c[i * n + j] = s;
            abs_sum[i * n + j] = sa;
        }
}

/* The bf16 product (oneDNN where usable, else the reference loop) against
 * the exact sum of the same bf16 values: |c - ref| <= (k + 2) u32 sum|ab|
 * (fp32 accumulation in any order, plus the final add of accumulate). */
static void sbgemm_case(int ta, int tb, int accumulate)
{
    enum { M = 37, N = 29, K = 300, PAD = 5 };
    const int64_t lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
    uint16_t *a = malloc(sizeof(uint16_t) * (size_t)(lda * (ta ? K : M)));
    uint16_t *b = malloc(sizeof(uint16_t) * (size_t)(ldb * (tb ? N : K)));
    float *c = malloc(sizeof(float) * (size_t)(ldc * M)), *f = malloc(sizeof(float) * 4 * K * K);
    double *ref = malloc(sizeof(double) * M * N), *sa = malloc(sizeof(double) * M * N);
    uint64_t st = 11 + (uint64_t)(ta * 4 + tb * 2 + accumulate);
    tu_fill(&st, f, lda * (ta ? K : M), 2.0f);
    irllrec__f32_to_bf16(f, a, lda * (ta ? K : M));
    tu_fill(&st, f, ldb * (tb ? N : K), 2.0f);
    irllrec__f32_to_bf16(f, b, ldb * (tb ? N : K));
    tu_fill(&st, c, ldc * M, 1.0f);
    float c0[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) c0[i * N + j] = c[i * ldc + j];
    const float pad = c[ldc - 1];
    sb_ref(ta, tb, M, N, K, a, lda, b, ldb, ref, sa);
    ck_assert_int_eq(irllrec__sbgemm(ta, tb, M, N, K, a, lda, b, ldb, accumulate, c, ldc), 0);
    double worst = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const double want = ref[i * N + j] + (accumulate ? c0[i * N + j] : 0.0);
            const double tol = (K + 2) * U_F32 * (sa[i * N + j] + fabs(c0[i * N + j]));
            const double err = fabs(c[i * ldc + j] - want);
            ck_assert_msg(err <= tol, "ta %d tb %d acc %d (%d,%d): %.9g vs %.9g (tol %.3g)", ta,
                          tb, accumulate, i, j, c[i * ldc + j], want, tol);
            if (err / tol > worst) worst = err / tol;
        }
    ck_assert(c[ldc - 1] == pad);  /* the padding of C is never written */
    free(a); free(b); free(c); free(f); free(ref); free(sa);
}

START_TEST(sbgemm_matches_exact_sum_of_bf16_products)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int acc = 0; acc < 2; acc++) sbgemm_case(ta, tb, acc);
}
END_TEST

/* ---- the MLP's bf16 path ----------------------------------------------------- */

enum { R = 9, IN = 300, HID = 40, OUT = 6 };

/* mode 0: the fp32 MLP; 1: fp32 cache with the bf16 path enabled (the
 * teacher's way); 2: a bf16 student (bf16 cache, irllrec__mlp_create_bf16),
 * which refuses the fp32 calls, so fp32_loss runs a twin with its weights. */
typedef struct bfx {
    irllrec_ctx *ctx;
    irllrec_mlp *m, *twin;
    uint16_t xh[R * IN];
    float x[R * IN];   /* the same text widened: exactly bf16 values */
    float w[R * OUT];  /* dL/dy: the loss is sum w (.) y */
    uint64_t signs[2];
    int which;
} bfx;

static void bfx_init(bfx *f, int mode)
{
    irllrec_mlp_spec s;
    uint64_t st = 99;
    f->ctx = tu_ctx();
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = IN;
    s.hidden_dim = HID;
    s.out_dim = OUT;
    s.max_rows = R;
    s.leaky_slope = 0.1f;
    s.bias_init = IRLLREC_MLP_BIAS_TORCH;
    s.seed = 5;
    if (mode == 2)
        ck_assert_int_eq(irllrec__mlp_create_bf16(f->ctx, &s, &f->m), IRLLREC_OK);
    else
        ck_assert_int_eq(irllrec_mlp_create(f->ctx, &s, &f->m), IRLLREC_OK);
    if (mode == 1) ck_assert_int_eq(irllrec__mlp_enable_bf16(f->m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_create(f->ctx, &s, &f->twin), IRLLREC_OK);
    tu_fill(&st, f->x, R * IN, 2.0f);
    irllrec__f32_to_bf16(f->x, f->xh, R * IN);
    irllrec__bf16_to_f32(f->xh, f->x, R * IN);
    tu_fill(&st, f->w, R * OUT, 2.0f);
    f->which = 0;
}

static void bfx_free(bfx *f)
{
    irllrec_mlp_free(f->m);
    irllrec_mlp_free(f->twin);
    irllrec_ctx_free(f->ctx);
}

static void grads(irllrec_mlp *m, float *g[4])
{
    irllrec__param *p;
    int n;
    irllrec__mlp_params(m, &p, &n);
    for (int i = 0; i < 4; i++) {
        g[i] = malloc(sizeof(float) * (size_t)(p[i].rows * p[i].cols));
        memcpy(g[i], p[i].grad, sizeof(float) * (size_t)(p[i].rows * p[i].cols));
    }
}

/* Forward: the bf16 path rounds W1 once more than fp32 does (the text is
 * bf16 on both), so |dA_j| <= u sum_k |x_k W1_jk|; LeakyReLU is
 * 1-Lipschitz, so |dy_o| <= sum_j |W2_oj| |dA_j|, plus fp32 noise. */
START_TEST(mlp_bf16_forward_within_bound)
{
    bfx a, b;
    float ya[R * OUT], yb[R * OUT];
    bfx_init(&a, _i);
    bfx_init(&b, 0);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN, R, 0,
                                                  irllrec_mat_dense(ya, R, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward(b.m, irllrec_mat_dense(b.x, R, IN),
                                         irllrec_mat_dense(yb, R, OUT)), IRLLREC_OK);
    irllrec__param *p;
    int n;
    irllrec__mlp_params(b.m, &p, &n);
    double worst = 0.0, differs = 0.0;
    for (int r = 0; r < R; r++)
        for (int o = 0; o < OUT; o++) {
            double bound = 0.0, scale = fabs(p[3].data[o]);
            for (int j = 0; j < HID; j++) {
                double s = 0.0;
                for (int k = 0; k < IN; k++) s += fabs((double)b.x[r * IN + k] * p[0].data[j * IN + k]);
                bound += fabs((double)p[2].data[o * HID + j]) * (U_BF16 + 2 * IN * U_F32) * s;
                scale += fabs((double)p[2].data[o * HID + j]) * s;
            }
            bound += 4 * HID * U_F32 * scale;
            const double err = fabs((double)ya[r * OUT + o] - yb[r * OUT + o]);
            ck_assert_msg(err <= bound, "y[%d,%d]: bf16 %.9g fp32 %.9g, |diff| %.3g > bound %.3g",
                          r, o, ya[r * OUT + o], yb[r * OUT + o], err, bound);
            if (err / bound > worst) worst = err / bound;
            differs += err;
        }
    ck_assert_msg(differs > 0.0, "the bf16 forward gave fp32's bits: W1 was not rounded");
    bfx_free(&a);
    bfx_free(&b);
}
END_TEST

/* Backward: dy is fixed, and dA = (dy W2) (.) f'(A) depends on A only
 * through its signs, so where no sign flips the bf16 path changes
 *   dW1_jk by at most (u + R u32) sum_r |dA_rj x_rk|  (dA rounded to bf16),
 *   dW2_oj by at most sum_r |dy_ro| |dH_rj|, |dH_rj| <= u sum_k |x_rk W1_jk|,
 *   db1, db2 by fp32 noise only. */
START_TEST(mlp_bf16_backward_within_bound)
{
    bfx a, b;
    float y[R * OUT], *ga[4], *gb[4];
    double da[R * HID];
    bfx_init(&a, _i);
    bfx_init(&b, 0);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN, R, 0,
                                                  irllrec_mat_dense(y, R, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_backward_bf16_at(a.m, a.xh, IN, R, 0,
                                                   irllrec_cmat_dense(a.w, R, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward(b.m, irllrec_mat_dense(b.x, R, IN),
                                         irllrec_mat_dense(y, R, OUT)), IRLLREC_OK);
    const irllrec_mat none = {NULL, 0, 0, 0};
    ck_assert_int_eq(irllrec_mlp_backward(b.m, irllrec_mat_dense(b.x, R, IN),
                                          irllrec_mat_dense(b.w, R, OUT), none), IRLLREC_OK);
    /* the sign patterns must agree for the bound (else pick another seed) */
    const float *hb = irllrec__mlp_act(b.m);
    ck_assert(irllrec__mlp_act_signs(a.m, R, 1) == irllrec__mlp_act_signs(b.m, R, 1));
    ck_assert(_i == 2 ? irllrec__mlp_act(a.m) == NULL : irllrec__mlp_act(a.m) != NULL);
    grads(a.m, ga);
    grads(b.m, gb);
    irllrec__param *p;
    int n;
    irllrec__mlp_params(b.m, &p, &n);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < HID; j++) {
            double s = 0.0;
            for (int o = 0; o < OUT; o++) s += (double)a.w[r * OUT + o] * p[2].data[o * HID + j];
            da[r * HID + j] = hb[r * HID + j] > 0 ? s : 0.1 * s;
        }
    for (int j = 0; j < HID; j++)
        for (int k = 0; k < IN; k++) {
            double bound = 0.0;
            for (int r = 0; r < R; r++) bound += fabs(da[r * HID + j] * b.x[r * IN + k]);
            bound = (U_BF16 + 4 * R * U_F32) * bound + 1e-7;
            const double err = fabs((double)ga[0][j * IN + k] - gb[0][j * IN + k]);
            ck_assert_msg(err <= bound, "dW1[%d,%d]: %.9g vs %.9g (bound %.3g)", j, k,
                          ga[0][j * IN + k], gb[0][j * IN + k], bound);
        }
    for (int o = 0; o < OUT; o++)
        for (int j = 0; j < HID; j++) {
            double bound = 0.0;
            for (int r = 0; r < R; r++) {
                double s = 0.0;
                for (int k = 0; k < IN; k++) s += fabs((double)b.x[r * IN + k] * p[0].data[j * IN + k]);
                bound += fabs((double)a.w[r * OUT + o]) * (U_BF16 + 4 * IN * U_F32) * s;
                /* a bf16 cache rounds H once more: u |H| */
                if (_i == 2) bound += fabs((double)a.w[r * OUT + o]) * U_BF16 * fabs(hb[r * HID + j]);
            }
            const double err = fabs((double)ga[2][o * HID + j] - gb[2][o * HID + j]);
            ck_assert_msg(err <= bound + 1e-7, "dW2[%d,%d]: %.9g vs %.9g (bound %.3g)", o, j,
                          ga[2][o * HID + j], gb[2][o * HID + j], bound);
        }
    for (int j = 0; j < HID; j++) ck_assert(fabs(ga[1][j] - gb[1][j]) <= 1e-5 * (1 + fabs(gb[1][j])));
    for (int o = 0; o < OUT; o++) ck_assert(ga[3][o] == gb[3][o]);
    if (_i == 2) {  /* the rounding of H shows in dW2 */
        double d2 = 0.0;
        for (int k = 0; k < OUT * HID; k++) d2 += fabs((double)ga[2][k] - gb[2][k]);
        ck_assert(d2 > 0.0);
    }
    for (int i = 0; i < 4; i++) {
        free(ga[i]);
        free(gb[i]);
    }
    bfx_free(&a);
    bfx_free(&b);
}
END_TEST

/* The fp32 function of the parameters at the bf16 text, in double. */
static double fp32_loss(void *ud)
{
    bfx *f = (bfx *)ud;
    float y[R * OUT];
    irllrec__param *p, *q;
    int n;
    irllrec__mlp_params(f->m, &p, &n);
    irllrec__mlp_params(f->twin, &q, &n);
    for (int i = 0; i < n; i++)
        memcpy(q[i].data, p[i].data, sizeof(float) * (size_t)(p[i].rows * p[i].cols));
    ck_assert_int_eq(irllrec_mlp_forward(f->twin, irllrec_mat_dense(f->x, R, IN),
                                         irllrec_mat_dense(y, R, OUT)), IRLLREC_OK);
    uint64_t h = 1469598103934665603ull;
    const float *act = irllrec__mlp_act(f->twin);
    for (int i = 0; i < R * HID; i++) h = (h ^ (uint64_t)(act[i] > 0)) * 1099511628211ull;
    f->signs[f->which++ & 1] = h;
    double s = 0.0;
    for (int i = 0; i < R * OUT; i++) s += (double)f->w[i] * y[i];
    return s;
}

static int kink(void *ud, int block, int64_t index)
{
    (void)block;
    (void)index;
    const bfx *f = (const bfx *)ud;
    return f->signs[0] != f->signs[1];
}

/* Finite differences of the fp32 MLP at the bf16 text against the bf16
 * backward (what training uses: the gradient at the fp32 master weights).
 * The tolerance 2e-2 on the checker's |g_num - g_ana| / (|g_num| + |g_ana|)
 * is u = 3.9e-3 (the bf16 rounding of dA and of W1 in the forward) times a
 * cancellation factor sum_r |dA x| / |sum_r dA x| of up to 5 for R = 9 rows;
 * the fp32 path passes the same checker at 1e-2 (mlp/mlp_backward_gradcheck).
 * Where the sum cancels (|g| much below the block's largest) the relative
 * error means nothing, so the absolute floor is bf16's resolution of the
 * gradient: u max|g|. */
START_TEST(mlp_bf16_backward_gradcheck)
{
    bfx f;
    float y[R * OUT], *g[4];
    bfx_init(&f, _i);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(f.m, f.xh, IN, R, 0,
                                                  irllrec_mat_dense(y, R, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_backward_bf16_at(f.m, f.xh, IN, R, 0,
                                                   irllrec_cmat_dense(f.w, R, OUT)), IRLLREC_OK);
    grads(f.m, g);
    irllrec__param *p;
    int n;
    irllrec__mlp_params(f.m, &p, &n);
    gc_block bl[4] = {{"W1", p[0].data, g[0], HID * IN}, {"b1", p[1].data, g[1], HID},
                      {"W2", p[2].data, g[2], OUT * HID}, {"b2", p[3].data, g[3], OUT}};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    double gmax = 0.0;
    for (int i = 0; i < 4; i++)
        for (int64_t k = 0; k < bl[i].n; k++) gmax = fmax(gmax, fabs(g[i][k]));
    o.abs_floor = U_BF16 * gmax;
    o.tol = 2e-2;
    /* the loss is linear in each parameter between kinks (skipped), so a
     * long step is exact and keeps fp32 noise of the loss out of g_num */
    o.rel_step = 5e-2;
    o.max_coords = 1500;
    o.skip = kink;
    o.skip_ud = &f;
    ck_assert_msg(gc_check(fp32_loss, &f, bl, 4, &o, &res), "%s", res.msg);
    ck_assert_int_gt(res.n_checked, (1500 + HID + OUT * HID + OUT) * 8 / 10);  /* few kinks */
    for (int i = 0; i < 4; i++) free(g[i]);
    bfx_free(&f);
}
END_TEST

/* A bf16 student runs forward and backward in MLP_BF16_BLOCK (2048) row
 * blocks through one fp32 scratch: over 5000 rows (three blocks, the last
 * partial) and at a row offset its outputs and activation signs match the
 * fp32-cache path of the same weights on the same bf16 text (which differs
 * only in fp32 rounding: the same bf16 products), and its gradients match
 * within bf16's rounding of H (u = 2^-8 of each block's largest). */
START_TEST(mlp_bf16_student_blocks_cover_every_row)
{
    enum { SR = 5000, OFF = 7, SIN = 16, SH = 8, SO = 4 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec s;
    irllrec_mlp *m[2];
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = SIN;
    s.hidden_dim = SH;
    s.out_dim = SO;
    s.max_rows = SR + OFF;
    s.leaky_slope = 0.1f;
    s.seed = 11;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m[0]), IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_enable_bf16(m[0]), IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_create_bf16(ctx, &s, &m[1]), IRLLREC_OK);
    float *x = malloc(sizeof(float) * SR * SIN), *w = malloc(sizeof(float) * SR * SO);
    float *y[2] = {malloc(sizeof(float) * SR * SO), malloc(sizeof(float) * SR * SO)};
    uint16_t *xh = malloc(sizeof(uint16_t) * SR * SIN);
    uint64_t st = 3;
    tu_fill(&st, x, SR * SIN, 2.0f);
    tu_fill(&st, w, SR * SO, 1.0f);
    irllrec__f32_to_bf16(x, xh, SR * SIN);
    float *g[2][4];
    for (int v = 0; v < 2; v++) {
        ck_assert_int_eq(irllrec__mlp_forward_bf16_at(m[v], xh, SIN, SR, OFF,
                                                      irllrec_mat_dense(y[v], SR, SO)),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec__mlp_backward_bf16_at(m[v], xh, SIN, SR, OFF,
                                                       irllrec_cmat_dense(w, SR, SO)),
                         IRLLREC_OK);
        grads(m[v], g[v]);
    }
    double ymax = 0.0;
    for (int i = 0; i < SR * SO; i++) ymax = fmax(ymax, fabs(y[0][i]));
    for (int i = 0; i < SR * SO; i++)
        ck_assert_msg(fabs(y[0][i] - y[1][i]) <= 1e-5 * ymax, "y[%d]: %.9g vs %.9g", i, y[0][i],
                      y[1][i]);
    ck_assert(irllrec__mlp_act_signs(m[0], SR + OFF, 1) == irllrec__mlp_act_signs(m[1], SR + OFF, 1));
    const int64_t len[4] = {SH * SIN, SH, SO * SH, SO};
    for (int b = 0; b < 4; b++) {
        double gmax = 0.0;
        for (int64_t k = 0; k < len[b]; k++) gmax = fmax(gmax, fabs(g[0][b][k]));
        ck_assert(gmax > 0.0);
        for (int64_t k = 0; k < len[b]; k++)
            ck_assert_msg(fabs(g[0][b][k] - g[1][b][k]) <= U_BF16 * gmax,
                          "block %d [%lld]: %.9g vs %.9g (max %.3g)", b, (long long)k,
                          g[0][b][k], g[1][b][k], gmax);
    }
    for (int v = 0; v < 2; v++) {
        for (int b = 0; b < 4; b++) free(g[v][b]);
        free(y[v]);
        irllrec_mlp_free(m[v]);
    }
    free(x);
    free(w);
    free(xh);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_bf16_refuses_bad_calls)
{
    bfx a, b;
    float y[R * OUT];
    bfx_init(&a, 1);
    bfx_init(&b, 0);
    const irllrec_mat ym = irllrec_mat_dense(y, R, OUT);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(b.m, b.xh, IN, R, 0, ym), IRLLREC_E_STATE);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(b.ctx), "not enabled"));
    ck_assert_int_eq(irllrec__mlp_backward_bf16_at(a.m, a.xh, IN, R, 0,
                                                   irllrec_cmat_dense(a.w, R, OUT)),
                     IRLLREC_E_STATE);  /* no forward yet */
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, NULL, IN, R, 0, ym), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN - 1, R, 0, ym), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN, R, 1, ym), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN, R - 1, 0, ym), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec__mlp_forward_bf16_at(a.m, a.xh, IN, 4, 0,
                                                  irllrec_mat_dense(y, 4, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec__mlp_backward_bf16_at(a.m, a.xh, IN, 5, 0,
                                                   irllrec_cmat_dense(a.w, 5, OUT)),
                     IRLLREC_E_SHAPE);  /* beyond the forward's rows */
    bfx_free(&a);
    bfx_free(&b);
    /* a bf16 student keeps no fp32 activations: the fp32 calls are refused */
    bfx_init(&a, 2);
    ck_assert_int_eq(irllrec_mlp_forward(a.m, irllrec_mat_dense(a.x, R, IN), ym), IRLLREC_E_STATE);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(a.ctx), "bf16"));
    const irllrec_mat none = {NULL, 0, 0, 0};
    ck_assert_int_eq(irllrec_mlp_backward(a.m, irllrec_mat_dense(a.x, R, IN),
                                          irllrec_mat_dense(a.w, R, OUT), none), IRLLREC_E_STATE);
    bfx_free(&a);
}
END_TEST

/* The bf16 teacher runs its forward in 4096-row blocks through a teacher
 * sized for one block: over 5000 rows (two blocks) its softmax targets, read
 * back through the CE gradient (p - q) / R, agree with the fp32 teacher on
 * the same bf16 text row by row, the second block included; the bound is
 * the W1 rounding of the forward test, through softmax (1-Lipschitz in the
 * max norm up to a factor 2 for these small logits) and the 1/R. */
START_TEST(itm_bf16_teacher_blocks_cover_every_row)
{
    enum { TR = 5000, TIN = 16, TH = 8, TD = 4 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec ms;
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = TIN;
    ms.hidden_dim = TH;
    ms.out_dim = TD;
    ms.max_rows = TR;
    irllrec_mlp *st = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &st), IRLLREC_OK);
    irllrec_itm_spec is;
    irllrec_itm_spec_init(&is, sizeof is);
    irllrec_itm *it[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) ck_assert_int_eq(irllrec_itm_create(ctx, &is, st, &it[k]), IRLLREC_OK);
    ck_assert_int_eq(irllrec__itm_enable_bf16(it[1]), IRLLREC_OK);
    float *x = malloc(sizeof(float) * TR * TIN), *so = malloc(sizeof(float) * TR * TD);
    float *dx[2] = {calloc(TR * TD, sizeof(float)), calloc(TR * TD, sizeof(float))};
    uint16_t *xh = malloc(sizeof(uint16_t) * TR * TIN);
    uint64_t seed = 8;
    tu_fill(&seed, x, TR * TIN, 4.0f);
    irllrec__f32_to_bf16(x, xh, TR * TIN);
    irllrec__bf16_to_f32(xh, x, TR * TIN);
    tu_fill(&seed, so, TR * TD, 2.0f);
    ck_assert_int_eq(irllrec_itm_teacher_forward(it[0], irllrec_cmat_dense(x, TR, TIN)), IRLLREC_OK);
    ck_assert_int_eq(irllrec__itm_teacher_forward_bf16(it[1], xh, TIN, TR), IRLLREC_OK);
    for (int k = 0; k < 2; k++) {
        double ce = 0.0;
        ck_assert_int_eq(irllrec_itm_loss(it[k], irllrec_cmat_dense(so, TR, TD), &ce), IRLLREC_OK);
        ck_assert_int_eq(irllrec_itm_backward(it[k], (double)TR, irllrec_mat_dense(dx[k], TR, TD)),
                         IRLLREC_OK);
    }
    irllrec__param *p;
    int n;
    irllrec__mlp_params(irllrec_itm_teacher(it[0]), &p, &n);
    double differs = 0.0;
    for (int r = 0; r < TR; r++) {
        double bound = 0.0;  /* max over logits of the forward bound, rows r */
        for (int o = 0; o < TD; o++) {
            double b = 0.0;
            for (int j = 0; j < TH; j++) {
                double sa = 0.0;
                for (int k = 0; k < TIN; k++) sa += fabs((double)x[r * TIN + k] * p[0].data[j * TIN + k]);
                b += fabs((double)p[2].data[o * TH + j]) * (U_BF16 + 1e-5) * sa;
            }
            bound = fmax(bound, b);
        }
        for (int o = 0; o < TD; o++) {
            const double e = fabs((double)dx[0][r * TD + o] - dx[1][r * TD + o]);
            ck_assert_msg(e <= 2.0 * bound + 1e-6, "row %d logit %d: %g vs %g (bound %g)", r, o,
                          dx[0][r * TD + o], dx[1][r * TD + o], 2.0 * bound);
            if (r >= 4096) differs += fabs(dx[1][r * TD + o]);
        }
    }
    ck_assert(differs > 0.0);  /* the second block was written */
    irllrec_itm_free(it[0]);
    irllrec_itm_free(it[1]);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
    free(x); free(so); free(dx[0]); free(dx[1]); free(xh);
}
END_TEST

Suite *bf16_suite(void)
{
    Suite *s = suite_create("bf16");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bf16_rounding_hand);
    tcase_add_test(tc, bf16_transposed_conversion_matches);
    tcase_add_test(tc, sbgemm_matches_exact_sum_of_bf16_products);
    tcase_add_loop_test(tc, mlp_bf16_forward_within_bound, 1, 3);
    tcase_add_loop_test(tc, mlp_bf16_backward_within_bound, 1, 3);
    tcase_add_loop_test(tc, mlp_bf16_backward_gradcheck, 1, 3);
    tcase_add_test(tc, mlp_bf16_student_blocks_cover_every_row);
    tcase_add_test(tc, mlp_bf16_refuses_bad_calls);
    tcase_add_test(tc, itm_bf16_teacher_blocks_cover_every_row);
    suite_add_tcase(s, tc);
    return s;
}
