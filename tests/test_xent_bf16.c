/* bf16 logits in the fused cross-entropy (irllrec_align_spec.precision =
 * BF16, lib/align/xent_kern_bf16.c): the sums' logits from bf16-rounded
 * rows and columns, everything else fp32. Checked against a direct double
 * computation of exactly that contract, against the fp32 kernels (the
 * distance bf16 costs), for bits that do not depend on the thread count or
 * on whether the exponentials were kept, and through the public API. On a
 * CPU without AVX512-BF16 the handle must fall back to fp32, bit for bit. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "align/engine.h"
#include "align/xent_fused.h"
#include "ops/ops.h"
#include "helpers/testutil.h"

typedef struct bjob {
    int64_t nr, nc;
    int32_t d;
    float inv_tau;
    float *x, *y, *w, *c;
    int32_t *tgt;
    /* outputs */
    double *loss, *aux;
    float *dxn, *dyn, *ypack, *blk;
    uint32_t *xpairs;
    int isa; /* the kernels asked: 0 the AVX512-BF16 set, else an irllrec__xent_isa */
} bjob;

static float bf(float v)
{
    const uint32_t u = (uint32_t)irllrec__f2bf(v) << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void bj_make(bjob *b, uint64_t seed)
{
    uint64_t s = seed * 2654435761u + 7;
    b->x = malloc((size_t)(b->nr * b->d) * sizeof(float));
    b->y = malloc((size_t)(b->nc * b->d) * sizeof(float));
    b->w = malloc((size_t)b->nr * sizeof(float));
    b->c = malloc((size_t)b->nc * sizeof(float));
    b->tgt = malloc((size_t)b->nr * sizeof(int32_t));
    ck_assert(b->x && b->y && b->w && b->c && b->tgt);
    tu_fill(&s, b->x, b->nr * b->d, 2.0f);
    tu_fill(&s, b->y, b->nc * b->d, 2.0f);
    irllrec__l2norm_fwd(b->nr, b->d, b->x, b->d, b->x, b->d, NULL);
    irllrec__l2norm_fwd(b->nc, b->d, b->y, b->d, b->y, b->d, NULL);
    for (int64_t i = 0; i < b->nr; i++) {
        b->w[i] = tu_rnd(&s) + 0.5f;
        b->tgt[i] = (int32_t)((tu_rnd(&s) + 0.5f) * (float)b->nc) % (int32_t)b->nc;
    }
    for (int64_t j = 0; j < b->nc; j++) b->c[j] = (float)(1 + (int)((tu_rnd(&s) + 0.5f) * 3.99f));
}

static void bj_free_outs(bjob *b)
{
    free(b->loss);
    free(b->aux);
    free(b->dxn);
    free(b->dyn);
    free(b->ypack);
    free(b->blk);
    free(b->xpairs);
}

/* The fused path of b->isa with bf16 logits asked (bf16) or not; keep as
 * the engine's keep_rows. */
static void bj_run(bjob *b, int32_t nt, int bf16, int64_t keep)
{
    irllrec_ctx *ctx = tu_ctx_threads(nt);
    irllrec__xent jb;
    const int isa = b->isa ? b->isa : IRLLREC__XENT_ISA_BF16;
    memset(&jb, 0, sizeof jb);
    b->loss = calloc((size_t)b->nr, sizeof(double));
    b->aux = calloc((size_t)(5 * b->nr), sizeof(double));
    b->dxn = calloc((size_t)(b->nr * b->d), sizeof(float));
    b->dyn = calloc((size_t)(4 * b->nc * b->d), sizeof(float));
    b->ypack = calloc((size_t)irllrec__xent_pack_floats(b->nc, b->d, nt), sizeof(float));
    b->blk = calloc((size_t)(nt * irllrec__xent_thread_floats(16, 64, b->d)), sizeof(float));
    b->xpairs = calloc((size_t)(nt * irllrec__xent_pair_words(b->d)), sizeof(uint32_t));
    ck_assert(b->loss && b->aux && b->dxn && b->dyn && b->ypack && b->blk && b->xpairs);
    /* NaN everywhere in the engine's scratch: a read of anything the job did
     * not write first (padding rows, pairs past the end) poisons an output */
    memset(b->ypack, 0xff, (size_t)irllrec__xent_pack_floats(b->nc, b->d, nt) * sizeof(float));
    memset(b->xpairs, 0xff, (size_t)(nt * irllrec__xent_pair_words(b->d)) * sizeof(uint32_t));
    jb.xn = b->x;
    jb.yn = b->y;
    jb.n_rows = b->nr;
    jb.n_cols = b->nc;
    jb.d = b->d;
    jb.kind = IRLLREC__XENT_INFONCE;
    jb.target = b->tgt;
    jb.inv_tau = b->inv_tau;
    jb.scale = 0.75;
    jb.row_weight = b->w;
    jb.col_weight = b->c;
    jb.need_grad = 1;
    jb.block_rows = 16;
    jb.block_cols = 64;
    jb.n_slices = 4;
    jb.n_threads = nt;
    jb.blk = b->blk;
    jb.row_loss = b->loss;
    jb.row_aux = b->aux;
    jb.dxn = b->dxn;
    jb.dyn = b->dyn;
    jb.ypack = b->ypack;
    jb.keep_rows = keep;
    jb.bf16 = bf16;
    jb.xpairs = b->xpairs;
    /* the kernels asked are the kernels run (the CPU has them: callers check) */
    if (bf16 > 0) ck_assert_int_eq(irllrec__xent_bf16_isa(&jb, isa), isa);
    ck_assert_int_eq(irllrec__xent_fused_run(ctx, &jb, isa), 1);
    irllrec_ctx_free(ctx);
}

/* max(a, b), NaN if either is: a NaN output must fail the checks below */
static double worse(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : fmax(a, b);
}

static double max_abs(const float *v, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)v[i]));
    return m;
}

/* The contract in double: t_ij = it <bf(x_i), bf(y_j)> in the sums, the
 * target's logit it <x_i, y_tgt> from the fp32 rows, dC_ij = s w_i it
 * (c_j e^t_ij / den_i - [j = tgt]), dxn = dC yn, dyn = dC^T xn (fp32 rows).
 * Returns the largest error of loss, dxn and dyn relative to their size. */
static double bj_check(const bjob *b)
{
    const int64_t d = b->d;
    double *gx = calloc((size_t)(b->nr * d), sizeof(double));
    double *gy = calloc((size_t)(b->nc * d), sizeof(double));
    double *p = malloc((size_t)b->nc * sizeof(double));
    double lt = 0.0, le = 0.0, ex = 0.0, ey = 0.0;
    ck_assert(gx && gy && p);
    for (int64_t i = 0; i < b->nr; i++) {
        const float *xi = b->x + i * d;
        const double sw = 0.75 * b->w[i] * b->inv_tau;
        double den = 0.0, tt = 0.0;
        for (int64_t j = 0; j < b->nc; j++) {
            double dot = 0.0;
            for (int64_t k = 0; k < d; k++) dot += (double)bf(xi[k]) * (double)bf(b->y[j * d + k]);
            p[j] = b->c[j] * exp(b->inv_tau * dot - b->inv_tau);
            den += p[j];
        }
        for (int64_t k = 0; k < d; k++) tt += (double)xi[k] * (double)b->y[b->tgt[i] * d + k];
        le += 0.75 * b->w[i] * (log(den) + b->inv_tau - b->inv_tau * tt);
        lt += b->loss[i];
        for (int64_t j = 0; j < b->nc; j++) {
            const double dc = sw * (p[j] / den - (j == b->tgt[i] ? 1.0 : 0.0));
            for (int64_t k = 0; k < d; k++) {
                gx[i * d + k] += dc * b->y[j * d + k];
                gy[j * d + k] += dc * xi[k];
            }
        }
    }
    /* NaN-proof maxima: fmax would drop a NaN output */
    for (int64_t i = 0; i < b->nr * d; i++) ex = worse(ex, fabs(gx[i] - b->dxn[i]));
    for (int64_t i = 0; i < b->nc * d; i++) ey = worse(ey, fabs(gy[i] - b->dyn[i]));
    ex /= max_abs(b->dxn, b->nr * d);
    ey /= max_abs(b->dyn, b->nc * d);
    free(gx);
    free(gy);
    free(p);
    return worse(fabs(lt - le) / fabs(le), worse(ex, ey));
}

/* Level 2 (bf16 products): the softmax part of the gradient is sum_j
 * bf(G_ij) bf(y_j) (and sum_i bf(G_ij) bf(x_i)) with fp32 sums, the target
 * part -s w it y_tgt in fp32. Against the same sums with G exact, every
 * element's error is at most 2^-8 sum_j |G_ij| |bf(y_j)| (G's rounding, 2^-9,
 * plus the fp32 sums) and a slack of 1e-6 of the largest element. Returns
 * the worst error / allowance (<= 1 passes). */
static double bj_check_products(const bjob *b)
{
    const int64_t d = b->d, nx = b->nr * d, ny = b->nc * d;
    double *gx = calloc((size_t)nx, sizeof(double)), *bx = calloc((size_t)nx, sizeof(double));
    double *gy = calloc((size_t)ny, sizeof(double)), *by = calloc((size_t)ny, sizeof(double));
    double *p = malloc((size_t)b->nc * sizeof(double)), worst = 0.0, sx, sy;
    ck_assert(gx && bx && gy && by && p);
    for (int64_t i = 0; i < b->nr; i++) {
        const float *xi = b->x + i * d;
        const double sw = 0.75 * b->w[i] * b->inv_tau;
        const int64_t t = b->tgt[i];
        double den = 0.0;
        for (int64_t j = 0; j < b->nc; j++) {
            double dot = 0.0;
            for (int64_t k = 0; k < d; k++) dot += (double)bf(xi[k]) * (double)bf(b->y[j * d + k]);
            p[j] = b->c[j] * exp(b->inv_tau * dot - b->inv_tau);
            den += p[j];
        }
        for (int64_t j = 0; j < b->nc; j++) {
            const double g = sw * p[j] / den;
            for (int64_t k = 0; k < d; k++) {
                const double yb = bf(b->y[j * d + k]), xb = bf(xi[k]);
                gx[i * d + k] += g * yb;
                bx[i * d + k] += fabs(g * yb);
                gy[j * d + k] += g * xb;
                by[j * d + k] += fabs(g * xb);
            }
        }
        for (int64_t k = 0; k < d; k++) {
            gx[i * d + k] -= sw * b->y[t * d + k];
            gy[t * d + k] -= sw * xi[k];
        }
    }
    sx = 1e-6 * max_abs(b->dxn, nx);
    sy = 1e-6 * max_abs(b->dyn, ny);
    for (int64_t q = 0; q < nx; q++)
        worst = worse(worst, fabs(gx[q] - b->dxn[q]) / (0x1p-8 * bx[q] + sx));
    for (int64_t q = 0; q < ny; q++)
        worst = worse(worst, fabs(gy[q] - b->dyn[q]) / (0x1p-8 * by[q] + sy));
    free(gx), free(bx), free(gy), free(by), free(p);
    return worst;
}

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, int64_t n)
{
    double e = 0.0;
    for (int64_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - (double)b[i]));
    return e / max_abs(b, n);
}

static int same_bits(const bjob *a, const bjob *b)
{
    return memcmp(a->loss, b->loss, (size_t)a->nr * sizeof(double)) == 0 &&
           memcmp(a->dxn, b->dxn, (size_t)(a->nr * a->d) * sizeof(float)) == 0 &&
           memcmp(a->dyn, b->dyn, (size_t)(a->nc * a->d) * sizeof(float)) == 0;
}

START_TEST(bf16_logits_follow_their_contract)
{
    /* even and odd d (a padded last pair), partial tiles and column blocks */
    static const int32_t ds[] = {1, 8, 32, 37};
    if (!irllrec__xent_bf16_cpu()) {
        printf("bf16_logits_follow_their_contract: no AVX512-BF16 on this CPU; skipped\n");
        return;
    }
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++) {
        bjob b = {.nr = 77, .nc = 613, .d = ds[a], .inv_tau = 5.0f}, f = b;
        double e, el;
        bj_make(&b, 5 + a);
        bj_run(&b, 2, 1, 0);
        e = bj_check(&b);
        if (getenv("IRLLREC_TEST_VERBOSE")) printf("bf16 d %d: %.3g from the contract\n", (int)b.d, e);
        ck_assert_msg(e <= 1e-5, "d %d: bf16 path %.3g from its contract", (int)b.d, e);
        /* the fp32 kernels on the same problem are measurably elsewhere: the
         * job did run bf16 logits */
        f.x = b.x, f.y = b.y, f.w = b.w, f.c = b.c, f.tgt = b.tgt;
        bj_run(&f, 2, 0, 0);
        el = 0.0;
        for (int64_t i = 0; i < b.nr; i++) el += b.loss[i] - f.loss[i];
        if (b.d > 1) ck_assert_msg(fabs(el) > 1e-7 * fabs(f.loss[0]), "d %d: bf16 = fp32", (int)b.d);
        bj_free_outs(&f);
        bj_free_outs(&b);
        free(b.x), free(b.y), free(b.w), free(b.c), free(b.tgt);
    }
}
END_TEST

START_TEST(bf16_products_follow_their_contract)
{
    static const int32_t ds[] = {1, 8, 32, 37, 40};
    if (!irllrec__xent_bf16_cpu()) {
        printf("bf16_products_follow_their_contract: no AVX512-BF16 on this CPU; skipped\n");
        return;
    }
    for (size_t a = 0; a < sizeof ds / sizeof ds[0]; a++) {
        /* odd row and column counts: a row block's last row pair and a
         * panel's last column pair are half padding */
        bjob b = {.nr = 77, .nc = 613, .d = ds[a], .inv_tau = 5.0f}, f = b;
        double w, el = 0.0, ed = 0.0;
        bj_make(&b, 41 + a);
        bj_run(&b, 2, 2, 0);
        w = bj_check_products(&b);
        if (getenv("IRLLREC_TEST_VERBOSE"))
            printf("bf16 products d %d: worst error / allowance %.3g\n", (int)b.d, w);
        ck_assert_msg(w <= 1.0, "d %d: bf16 products %.3g of their allowance", (int)b.d, w);
        /* the loss is level 1's bit for bit (only the backward differs), and
         * the gradient is not (the products did run in bf16) */
        f.x = b.x, f.y = b.y, f.w = b.w, f.c = b.c, f.tgt = b.tgt;
        bj_run(&f, 2, 1, 0);
        for (int64_t i = 0; i < b.nr; i++) el = fmax(el, fabs(b.loss[i] - f.loss[i]));
        for (int64_t i = 0; i < b.nr * b.d; i++) ed = fmax(ed, fabs((double)b.dxn[i] - f.dxn[i]));
        ck_assert_msg(el == 0.0, "d %d: the loss moved with the backward's precision", (int)b.d);
        ck_assert_msg(ed > 0.0, "d %d: bf16 products gave fp32's gradient", (int)b.d);
        bj_free_outs(&f);
        bj_free_outs(&b);
        free(b.x), free(b.y), free(b.w), free(b.c), free(b.tgt);
    }
}
END_TEST

START_TEST(bf16_bits_do_not_depend_on_threads_or_keeping)
{
    bjob r = {.nr = 301, .nc = 1037, .d = 32, .inv_tau = 5.0f};
    if (!irllrec__xent_bf16_cpu()) {
        printf("bf16_bits_do_not_depend_on_threads_or_keeping: no AVX512-BF16; skipped\n");
        return;
    }
    bj_make(&r, 9);
    for (int32_t level = 1; level <= 2; level++) {
        bj_run(&r, 1, level, 0);
        for (int v = 0; v < 3; v++) {
            /* 2 and 3 threads keeping; 2 threads recomputing (nothing kept) */
            static const int32_t nts[] = {2, 3, 2};
            static const int64_t keeps[] = {0, 8, -1};
            bjob o = r;
            bj_run(&o, nts[v], level, keeps[v]);
            ck_assert_msg(same_bits(&r, &o), "level %d threads %d keep %lld: bits differ",
                          (int)level, (int)nts[v], (long long)keeps[v]);
            bj_free_outs(&o);
        }
        bj_free_outs(&r);
    }
    free(r.x), free(r.y), free(r.w), free(r.c), free(r.tgt);
}
END_TEST

static int amx_here(const char *test)
{
    if (irllrec__xent_bf16_cpu() && irllrec__amx_ok()) return 1;
    printf("%s: no AMX on this CPU; skipped\n", test);
    return 0;
}

static void bj_free_in(bjob *b)
{
    free(b->x), free(b->y), free(b->w), free(b->c), free(b->tgt);
}

/* The AMX driver (xent_amx.c) against both levels' contracts, on shapes
 * with partial row groups and panels, a half panel wholly past the columns
 * (613 = 19 x 32 + 5; 80 = 2 x 32 + 16), two column blocks (613 > 512 at d
 * = 32), two row blocks in a slice (1100 / 4 slices > 256) and d = 32, 64,
 * 128; level 1's loss is level 2's bit for bit, and level 2's gradient is
 * not the AVX512-BF16 set's (the tiles did run). */
START_TEST(amx_follows_the_bf16_contracts)
{
    static const struct { int64_t nr, nc; int32_t d; } sh[] = {
        {77, 613, 32}, {1100, 80, 32}, {77, 613, 64}, {45, 530, 128}};
    if (!amx_here("amx_follows_the_bf16_contracts")) return;
    for (size_t a = 0; a < sizeof sh / sizeof sh[0]; a++) {
        bjob b = {.nr = sh[a].nr, .nc = sh[a].nc, .d = sh[a].d, .inv_tau = 5.0f,
                  .isa = IRLLREC__XENT_ISA_AMX};
        bjob l1 = b, v = b;
        double w, e, el = 0.0, ed = 0.0;
        bj_make(&b, 71 + a);
        bj_run(&b, 2, 2, 0);
        w = bj_check_products(&b);
        l1.x = v.x = b.x, l1.y = v.y = b.y, l1.w = v.w = b.w, l1.c = v.c = b.c;
        l1.tgt = v.tgt = b.tgt;
        bj_run(&l1, 2, 1, 0);
        e = bj_check(&l1);
        if (getenv("IRLLREC_TEST_VERBOSE"))
            printf("amx %lld x %lld d %d: level 1 %.3g from its contract, level 2 %.3g of its "
                   "allowance\n", (long long)b.nr, (long long)b.nc, (int)b.d, e, w);
        ck_assert_msg(w <= 1.0, "d %d: AMX products %.3g of their allowance", (int)b.d, w);
        ck_assert_msg(e <= 1e-5, "d %d: AMX level 1 %.3g from its contract", (int)b.d, e);
        for (int64_t i = 0; i < b.nr; i++) el = fmax(el, fabs(b.loss[i] - l1.loss[i]));
        ck_assert_msg(el == 0.0, "d %d: the AMX loss moved with the backward's precision",
                      (int)b.d);
        v.isa = IRLLREC__XENT_ISA_BF16;
        bj_run(&v, 2, 2, 0);
        for (int64_t i = 0; i < b.nr * b.d; i++) ed = fmax(ed, fabs((double)b.dxn[i] - v.dxn[i]));
        ck_assert_msg(ed > 0.0, "d %d: AMX gave the AVX512-BF16 set's bits", (int)b.d);
        bj_free_outs(&v);
        bj_free_outs(&l1);
        bj_free_outs(&b);
        bj_free_in(&b);
    }
}
END_TEST

START_TEST(amx_bits_do_not_depend_on_threads)
{
    bjob r = {.nr = 1100, .nc = 613, .d = 32, .inv_tau = 5.0f, .isa = IRLLREC__XENT_ISA_AMX};
    if (!amx_here("amx_bits_do_not_depend_on_threads")) return;
    bj_make(&r, 13);
    for (int32_t level = 1; level <= 2; level++) {
        bj_run(&r, 1, level, 0);
        for (int32_t nt = 2; nt <= 3; nt++) {
            bjob o = r;
            bj_run(&o, nt, level, 0);
            ck_assert_msg(same_bits(&r, &o), "AMX level %d threads %d: bits differ", (int)level,
                          (int)nt);
            bj_free_outs(&o);
        }
        bj_free_outs(&r);
    }
    bj_free_in(&r);
}
END_TEST

/* Through the API: the handle grants BF16 only where it runs it; granted,
 * the loss is within bf16's reach of fp32's; refused, the bits are fp32's. */
START_TEST(bf16_through_the_api)
{
    irllrec_ctx *ctx = tu_ctx_threads(2);
    irllrec_align *h[3];
    const int64_t B = 200, M = 900, d = 32;
    float *x = malloc((size_t)(B * d) * sizeof(float)), *y = malloc((size_t)(M * d) * sizeof(float));
    float *dx[3], *dy[3];
    int32_t *pos = malloc((size_t)B * sizeof(int32_t)), got = -1;
    double loss[3];
    uint64_t s = 99;
    ck_assert(x && y && pos);
    tu_fill(&s, x, B * d, 1.0f);
    tu_fill(&s, y, M * d, 1.0f);
    for (int64_t i = 0; i < B; i++) pos[i] = (int32_t)((i * 37) % M);
    for (int q = 0; q < 3; q++) { /* FP32, BF16_LOGITS, BF16 */
        irllrec_align_spec sp;
        irllrec_align_spec_init(&sp, sizeof sp);
        sp.dim = (int32_t)d;
        sp.max_rows = B;
        sp.max_cols = M;
        sp.precision = q;
        ck_assert_int_eq(irllrec_align_create(ctx, &sp, &h[q]), IRLLREC_OK);
        dx[q] = calloc((size_t)(B * d), sizeof(float));
        dy[q] = calloc((size_t)(M * d), sizeof(float));
        ck_assert(dx[q] && dy[q]);
        ck_assert_int_eq(irllrec_align_infonce(h[q], irllrec_mat_dense(x, B, d),
                                               irllrec_mat_dense(y, M, d), pos, 0.2, 1.0,
                                               irllrec_mat_dense(dx[q], B, d),
                                               irllrec_mat_dense(dy[q], M, d), &loss[q]),
                         IRLLREC_OK);
    }
    ck_assert_int_eq(irllrec_align_get_precision(NULL, &got), IRLLREC_E_INVALID_ARG);
    for (int q = 1; q < 3; q++) {
        ck_assert_int_eq(irllrec_align_get_precision(h[q], &got), IRLLREC_OK);
        if (got == q) {
            ck_assert(irllrec__xent_bf16_cpu());
            ck_assert_msg(fabs(loss[q] - loss[0]) <= 1e-3 * fabs(loss[0]) && loss[q] != loss[0],
                          "level %d: %.9g vs fp32 %.9g", q, loss[q], loss[0]);
            ck_assert_msg(rel_diff(dx[q], dx[0], B * d) <= 2e-2 &&
                              rel_diff(dy[q], dy[0], M * d) <= 2e-2,
                          "level %d: gradients %.3g %.3g from fp32", q,
                          rel_diff(dx[q], dx[0], B * d), rel_diff(dy[q], dy[0], M * d));
        } else {
            ck_assert_int_eq(got, IRLLREC_ALIGN_FP32);
            ck_assert(loss[q] == loss[0]);
            ck_assert(memcmp(dx[0], dx[q], (size_t)(B * d) * sizeof(float)) == 0);
            ck_assert(memcmp(dy[0], dy[q], (size_t)(M * d) * sizeof(float)) == 0);
        }
    }
    {
        irllrec_align_spec sp;
        irllrec_align *bad = NULL;
        irllrec_align_spec_init(&sp, sizeof sp);
        sp.precision = 3;
        ck_assert_int_eq(irllrec_align_create(ctx, &sp, &bad), IRLLREC_E_INVALID_ARG);
        ck_assert(bad == NULL);
        ck_assert(strstr(irllrec_ctx_errmsg(ctx), "precision") != NULL);
    }
    for (int q = 0; q < 3; q++) {
        irllrec_align_free(h[q]);
        free(dx[q]);
        free(dy[q]);
    }
    free(x);
    free(y);
    free(pos);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *xent_bf16_suite(void)
{
    Suite *s = suite_create("xent_bf16");
    TCase *tc = tcase_create("bf16");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bf16_logits_follow_their_contract);
    tcase_add_test(tc, bf16_products_follow_their_contract);
    tcase_add_test(tc, bf16_bits_do_not_depend_on_threads_or_keeping);
    tcase_add_test(tc, bf16_through_the_api);
    tcase_add_test(tc, amx_follows_the_bf16_contracts);
    tcase_add_test(tc, amx_bits_do_not_depend_on_threads);
    suite_add_tcase(s, tc);
    return s;
}
