#define _POSIX_C_SOURCE 200809L
/* The opt-in bf16 text path (docs/math-towers.md section 5): rounding, the
 * bf16 product against a reference, the MLP's forward and backward against
 * the fp32 reference within bounds derived from bf16's 8-bit significand,
 * a finite-difference check of the bf16 backward, and the hook's choice
 * (bf16 where usable, otherwise exactly the fp32 bits).
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
#include "helpers/hookio.h"

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

typedef struct bfx {
    irllrec_ctx *ctx;
    irllrec_mlp *m;
    uint16_t xh[R * IN];
    float x[R * IN];   /* the same text widened: exactly bf16 values */
    float w[R * OUT];  /* dL/dy: the loss is sum w (.) y */
    uint64_t signs[2];
    int which;
} bfx;

static void bfx_init(bfx *f, int bf16)
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
    ck_assert_int_eq(irllrec_mlp_create(f->ctx, &s, &f->m), IRLLREC_OK);
    if (bf16) ck_assert_int_eq(irllrec__mlp_enable_bf16(f->m), IRLLREC_OK);
    tu_fill(&st, f->x, R * IN, 2.0f);
    irllrec__f32_to_bf16(f->x, f->xh, R * IN);
    irllrec__bf16_to_f32(f->xh, f->x, R * IN);
    tu_fill(&st, f->w, R * OUT, 2.0f);
    f->which = 0;
}

static void bfx_free(bfx *f)
{
    irllrec_mlp_free(f->m);
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
    bfx_init(&a, 1);
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
    bfx_init(&a, 1);
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
    const float *ha = irllrec__mlp_act(a.m), *hb = irllrec__mlp_act(b.m);
    for (int i = 0; i < R * HID; i++) ck_assert((ha[i] > 0) == (hb[i] > 0));
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
            }
            const double err = fabs((double)ga[2][o * HID + j] - gb[2][o * HID + j]);
            ck_assert_msg(err <= bound + 1e-7, "dW2[%d,%d]: %.9g vs %.9g (bound %.3g)", o, j,
                          ga[2][o * HID + j], gb[2][o * HID + j], bound);
        }
    for (int j = 0; j < HID; j++) ck_assert(fabs(ga[1][j] - gb[1][j]) <= 1e-5 * (1 + fabs(gb[1][j])));
    for (int o = 0; o < OUT; o++) ck_assert(ga[3][o] == gb[3][o]);
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
    ck_assert_int_eq(irllrec_mlp_forward(f->m, irllrec_mat_dense(f->x, R, IN),
                                         irllrec_mat_dense(y, R, OUT)), IRLLREC_OK);
    uint64_t h = 1469598103934665603ull;
    const float *act = irllrec__mlp_act(f->m);
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
    bfx_init(&f, 1);
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
}
END_TEST

/* ---- the hook's choice ---------------------------------------------------------- */

enum { HU = 30, HI = 40, HN = HU + HI, HD = 8, HB = 12, HDP = 160, HDT = 200 };

typedef struct hfx {
    irllrec_ctx *ctx;
    irllrec_hook *h;
    float ef[HN * HD], gf[HN * HD];
    int32_t u[HB], p[HB], n[HB];
} hfx;

static void hfx_init(hfx *f, int32_t precision, irllrec_ctx *ctx)
{
    irllrec_hook_spec s;
    uint64_t st = 5;
    float *t = malloc(sizeof(float) * HI * HDT);
    f->ctx = ctx ? ctx : tu_ctx();
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = HU;
    s.n_items = HI;
    s.dim = HD;
    s.n_intents = 6;
    s.max_batch = HB;
    s.profile_dim = HDP;
    s.intent_dim = HDT;
    s.text_precision = precision;
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(f->h, IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0.0), IRLLREC_OK);
    const int64_t rows[4] = {HU, HI, HU, HI}, cols[4] = {HDP, HDP, HDT, HDT};
    for (int w = 0; w < 4; w++) {
        tu_fill(&st, t, rows[w] * cols[w], 2.0f);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(t, rows[w], cols[w])),
                         IRLLREC_OK);
    }
    tu_fill(&st, f->ef, HN * HD, 1.0f);
    for (int b = 0; b < HB; b++) {
        f->u[b] = (b * 7) % HU;
        f->p[b] = (b * 5) % HI;
        f->n[b] = (b * 11 + 3) % HI;
    }
    free(t);
}

static void hfx_step(hfx *f, irllrec_hook_losses *lv)
{
    tu_hookio io;
    memset(f->gf, 0, sizeof f->gf);
    tu_hookio_init(&io, HU, HI, HD, f->ef, f->gf, 0, NULL, NULL);
    const irllrec_hook_batch b = {HB, f->u, f->p, f->n};
    lv->struct_size = sizeof *lv;
    ck_assert_int_eq(irllrec_hook_step(f->h, &b, &io.in, &io.grads, lv), IRLLREC_OK);
}

static void hfx_free(hfx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
}

static int32_t precision_of(const hfx *f)
{
    int32_t p = -1;
    ck_assert_int_eq(irllrec_hook_get_text_precision(f->h, &p), IRLLREC_OK);
    return p;
}

/* Where bf16 is usable, a bf16 hook takes it and stays within a bf16
 * tolerance of the fp32 hook over three steps; where it is not, it is the
 * fp32 hook bit for bit. The hook-level tolerance (relative 2e-2 on every
 * loss, 5e-2 of the largest entry on the host gradient) is the tower
 * outputs' rounding, 2u = 7.8e-3 relative per pre-activation sum|x w|
 * (text and W1 rounded), carried through the InfoNCE and CE terms. */
START_TEST(hook_bf16_where_usable_else_fp32_bits)
{
    hfx a, b;
    hfx_init(&a, IRLLREC_HOOK_TEXT_BF16, NULL);
    hfx_init(&b, IRLLREC_HOOK_TEXT_FP32, NULL);
    const int usable = irllrec__bf16_usable();
    ck_assert_int_eq(precision_of(&a), usable ? IRLLREC_HOOK_TEXT_BF16 : IRLLREC_HOOK_TEXT_FP32);
    ck_assert_int_eq(precision_of(&b), IRLLREC_HOOK_TEXT_FP32);
    ck_assert_int_eq(strncmp(irllrec_text_bf16_backend(), "none:", 5) == 0, !usable);
    for (int step = 0; step < 3; step++) {
        irllrec_hook_losses la, lb;
        hfx_step(&a, &la);
        hfx_step(&b, &lb);
        const double va[4] = {la.kd, la.pair, la.tran, la.itm}, vb[4] = {lb.kd, lb.pair, lb.tran, lb.itm};
        double gmax = 0.0, gerr = 0.0;
        for (int i = 0; i < HN * HD; i++) {
            gmax = fmax(gmax, fabs(b.gf[i]));
            gerr = fmax(gerr, fabs((double)a.gf[i] - b.gf[i]));
        }
        if (!usable) {
            ck_assert(memcmp(va, vb, sizeof va) == 0 && la.total == lb.total);
            ck_assert(memcmp(a.gf, b.gf, sizeof a.gf) == 0);
            continue;
        }
        for (int t = 0; t < 4; t++)
            ck_assert_msg(fabs(va[t] - vb[t]) <= 2e-2 * fabs(vb[t]), "step %d term %d: %.9g vs %.9g",
                          step, t, va[t], vb[t]);
        ck_assert_msg(gerr <= 5e-2 * gmax, "step %d: host gradient off by %.3g of %.3g", step,
                      gerr, gmax);
        if (step == 0) ck_assert_msg(gerr > 0.0, "the bf16 hook gave the fp32 bits");
    }
    hfx_free(&a);
    hfx_free(&b);
}
END_TEST

/* A CPU without AVX512-BF16 and AMX, as oneDNN sees it (its documented
 * ONEDNN_MAX_CPU_ISA cap, read once before oneDNN's first dispatch): the
 * hook falls back to fp32 and gives the fp32 hook's bits. Needs a fresh
 * process, so it runs only when Check forks. */
START_TEST(hook_bf16_falls_back_without_the_cpu_feature)
{
    if (getenv("CK_FORK") && strcmp(getenv("CK_FORK"), "no") == 0) return;
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI", 1);
    ck_assert_int_eq(irllrec__bf16_usable(), 0);
    ck_assert_ptr_nonnull(strstr(irllrec_text_bf16_backend(), "none:"));
    hfx a, b;
    hfx_init(&a, IRLLREC_HOOK_TEXT_BF16, NULL);
    hfx_init(&b, IRLLREC_HOOK_TEXT_FP32, NULL);
    ck_assert_int_eq(precision_of(&a), IRLLREC_HOOK_TEXT_FP32);
    irllrec_hook_losses la, lb;
    hfx_step(&a, &la);
    hfx_step(&b, &lb);
    ck_assert(la.total == lb.total && la.kd == lb.kd && la.pair == lb.pair);
    ck_assert(memcmp(a.gf, b.gf, sizeof a.gf) == 0);
    hfx_free(&a);
    hfx_free(&b);
}
END_TEST

/* The memory estimate holds for a bf16 hook too, the step allocates
 * nothing, and the text copies take half the bytes. */
START_TEST(hook_bf16_memory_estimate_and_no_step_allocation)
{
    int64_t est[2];
    for (int prec = 0; prec < 2; prec++) {
        tu_alloc_state st;
        memset(&st, 0, sizeof st);
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        const int64_t base = st.live_bytes;
        hfx f;
        hfx_init(&f, prec, ctx);
        irllrec_hook_spec s;
        irllrec_hook_spec_init(&s, sizeof s);
        s.n_users = HU;
        s.n_items = HI;
        s.dim = HD;
        s.n_intents = 6;
        s.max_batch = HB;
        s.profile_dim = HDP;
        s.intent_dim = HDT;
        s.text_precision = prec;
        ck_assert_int_eq(irllrec_hook_memory_estimate(&s, irllrec_ctx_n_threads(ctx), 0, &est[prec]),
                         IRLLREC_OK);
        ck_assert_int_eq(st.live_bytes - base, est[prec]);
        irllrec_hook_losses lv;
        hfx_step(&f, &lv);
        const int64_t n_alloc = st.n_alloc;
        hfx_step(&f, &lv);
        ck_assert_int_eq(st.n_alloc, n_alloc);
        hfx_free(&f);
    }
    if (irllrec__bf16_usable())  /* half of N (D_p + D_t) floats, less the bf16 buffers */
        ck_assert_int_lt(est[1], est[0] - (int64_t)HN * (HDP + HDT) * 2 + 200000);
    else
        ck_assert_int_eq(est[1], est[0]);
}
END_TEST

/* A recommender built from a bf16 hook widens its bf16 intent text and
 * serves with the fp32 tower: the exemplar cosines (through z) agree with
 * an fp32 hook of the same seed within the text's rounding, 2u sum|x w|
 * relative per pre-activation, so 2e-2 absolute on cosines. */
START_TEST(rec_from_a_bf16_hook_serves_in_fp32)
{
    enum { TOP = 3 };
    float sc[2][2 * 6 * TOP];
    int32_t ids[6 * TOP];
    for (int prec = 0; prec < 2; prec++) {
        hfx f;
        hfx_init(&f, prec, NULL);
        irllrec_rec_spec rs;
        irllrec_rec *r = NULL;
        irllrec_rec_spec_init(&rs, sizeof rs);
        rs.user_emb = irllrec_cmat_dense(f.ef, HU, HD);
        rs.item_emb = irllrec_cmat_dense(f.ef + HU * HD, HI, HD);
        rs.hook = f.h;
        ck_assert_int_eq(irllrec_rec_create(f.ctx, &rs, &r), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_intent_exemplars(r, IRLLREC_USERS, TOP, ids, sc[prec]),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_intent_exemplars(r, IRLLREC_ITEMS, TOP, ids,
                                                      sc[prec] + 6 * TOP), IRLLREC_OK);
        irllrec_rec_free(r);
        hfx_free(&f);
    }
    double nz = 0.0;
    for (int i = 0; i < 2 * 6 * TOP; i++) {
        ck_assert_msg(fabs(sc[0][i] - sc[1][i]) <= 2e-2, "%d: %g vs %g", i, sc[0][i], sc[1][i]);
        nz += fabs(sc[0][i]);
    }
    ck_assert(nz > 0.0);
}
END_TEST

START_TEST(hook_text_precision_refuses_bad_values)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_hook_spec s;
    irllrec_hook *h = (irllrec_hook *)&s;
    int64_t est;
    irllrec_hook_spec_init(&s, sizeof s);
    ck_assert_int_eq(s.text_precision, IRLLREC_HOOK_TEXT_FP32);  /* the default */
    s.n_users = 3;
    s.n_items = 4;
    s.profile_dim = 5;
    for (int v = -1; v <= 2; v += 3) {
        s.text_precision = v;
        ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_null(h);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "text_precision"));
        ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, &est), IRLLREC_E_INVALID_ARG);
    }
    s.text_precision = IRLLREC_HOOK_TEXT_BF16;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    int32_t p = -1;
    ck_assert_int_eq(irllrec_hook_get_text_precision(NULL, &p), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_text_precision(h, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(p, -1);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
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
    tcase_add_test(tc, mlp_bf16_forward_within_bound);
    tcase_add_test(tc, mlp_bf16_backward_within_bound);
    tcase_add_test(tc, mlp_bf16_backward_gradcheck);
    tcase_add_test(tc, mlp_bf16_refuses_bad_calls);
    tcase_add_test(tc, hook_bf16_where_usable_else_fp32_bits);
    tcase_add_test(tc, hook_bf16_falls_back_without_the_cpu_feature);
    tcase_add_test(tc, hook_bf16_memory_estimate_and_no_step_allocation);
    tcase_add_test(tc, rec_from_a_bf16_hook_serves_in_fp32);
    tcase_add_test(tc, hook_text_precision_refuses_bad_values);
    suite_add_tcase(s, tc);
    return s;
}
