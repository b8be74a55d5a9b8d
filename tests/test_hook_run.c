/* The hook end to end, its runs (fixture: helpers/hook_fx.c): presets
 * differing exactly where documented, learning, determinism, the fast exp,
 * timings, both InfoNCE shift paths and thread-count independence. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"
#include "helpers/gradcheck.h"
#include "helpers/hook_fx.h"
#include "align/engine.h"
#include "ops/ops.h"

START_TEST(presets_differ_exactly_where_documented)
{
    hk a, b;
    hk_make(&a, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 8);
    hk_make(&b, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 8);
    for (int p = IRLLREC_HOOK_W_KD; p <= IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH; p++) {
        double va, vb;
        ck_assert_int_eq(irllrec_hook_get_param(a.h, (irllrec_hook_param)p, &va), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(b.h, (irllrec_hook_param)p, &vb), IRLLREC_OK);
        switch (p) {
        case IRLLREC_HOOK_W_TRAN: ck_assert(va == 5e-4 && vb == 1e-7); break;
        case IRLLREC_HOOK_W_ITM: ck_assert(va == 1e-4 && vb == 1e-7); break;
        case IRLLREC_HOOK_TRAN_IN_ITM:
        case IRLLREC_HOOK_REG_TEACHER: ck_assert(va == 0.0 && vb == 1.0); break;
        default: ck_assert_msg(va == vb, "param %d: %g vs %g", p, va, vb);
        }
    }
    /* teacher: equal to the student (paper) or drawn apart (released) */
    irllrec_hook_block pa[32], pb[32];
    int na = hk_blocks(a.h, pa, 32), nb = hk_blocks(b.h, pb, 32);
    ck_assert_int_eq(na, nb);
    int iw = -1, it = -1;
    for (int i = 0; i < na; i++) {
        if (strcmp(pa[i].name, "int.w1") == 0) iw = i;
        if (strcmp(pa[i].name, "teacher.w1") == 0) it = i;
    }
    ck_assert(iw >= 0 && it >= 0);
    const size_t tsz = (size_t)(pa[iw].rows * pa[iw].cols) * 4;
    ck_assert(memcmp(pa[iw].data, pa[it].data, tsz) == 0);
    ck_assert(memcmp(pb[iw].data, pb[it].data, tsz) != 0);
    /* the student is the same under both presets (same seed) */
    for (int i = 0; i < it; i++)
        ck_assert(memcmp(pa[i].data, pb[i].data, (size_t)(pa[i].rows * pa[i].cols) * 4) == 0);

    /* With the weights made equal: the total differs by exactly the two
     * documented terms, the gradients by the L_tran-inside-ITM term only. */
    hk_strong(&a);
    hk_strong(&b);
    for (int i = it; i < na; i++)
        memcpy(pb[i].data, pa[i].data, (size_t)(pa[i].rows * pa[i].cols) * 4);
    irllrec_hook_losses la, lb;
    ck_assert_int_eq(hk_run_into(&a, HK_GRADS, a.gf, a.gl, &la), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_GRADS, b.gf, b.gl, &lb), IRLLREC_OK);
    ck_assert(la.kd == lb.kd && la.pair == lb.pair && la.tran == lb.tran && la.itm == lb.itm);
    int64_t nt = 0;
    float *tch = NULL;
    for (int i = it; i < na; i++) nt += pa[i].rows * pa[i].cols;
    (void)tch;
    /* teacher reg uses the post-EMA teacher, which we cannot read before the
     * step; so check the released extra as the released total minus the rest */
    const double alpha = 0.6, w_itm = 1.0, w_tran = 1.0;
    const double extra_tran = w_itm * (1.0 - alpha) * w_tran * la.tran;
    ck_assert(lb.reg > la.reg);
    ck_assert_double_eq_tol(lb.total - lb.reg, la.total - la.reg + extra_tran, 1e-9);
    /* switch the two options off in the released hook: identical bits */
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_IN_ITM, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_REG_TEACHER, 0), IRLLREC_OK);
    memset(b.gf, 0, (size_t)(b.N * b.d) * 4);
    memset(b.gl, 0, (size_t)(2 * b.N * b.d) * 4);
    ck_assert_int_eq(hk_run_into(&b, HK_GRADS, b.gf, b.gl, &lb), IRLLREC_OK);
    ck_assert(memcmp(&la, &lb, sizeof la) == 0);
    ck_assert(memcmp(a.gf, b.gf, (size_t)(a.N * a.d) * 4) == 0);
    ck_assert(memcmp(a.gl, b.gl, (size_t)(2 * a.N * a.d) * 4) == 0);
    hk_free(&a);
    hk_free(&b);
}
END_TEST

START_TEST(steps_reduce_the_hook_loss)
{
    hk k;
    irllrec_hook_losses first, lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 9);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_LR, 1e-2), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_TRAN, 0.0), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &first), IRLLREC_OK);
    for (int i = 0; i < 150; i++) ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_msg(lv.kd < 0.8 * first.kd, "kd %g -> %g", first.kd, lv.kd);
    ck_assert_msg(lv.pair < 0.8 * first.pair, "pair %g -> %g", first.pair, lv.pair);
    ck_assert_msg(lv.total < 0.8 * first.total, "total %g -> %g", first.total, lv.total);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 151);
    hk_free(&k);
}
END_TEST

START_TEST(same_seed_same_bits_and_sampling_is_an_option)
{
    hk a, b;
    irllrec_hook_losses la, lb;
    hk_make(&a, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 10);
    hk_make(&b, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 10);
    hk_strong(&a);
    hk_strong(&b);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(hk_step(&a, &la), IRLLREC_OK);
        ck_assert_int_eq(hk_step(&b, &lb), IRLLREC_OK);
        ck_assert(memcmp(&la, &lb, sizeof la) == 0);
    }
    ck_assert(memcmp(a.gf, b.gf, (size_t)(a.N * a.d) * 4) == 0);
    /* sampled mode with samples >= N is the exact computation */
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_SAMPLES, 100), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&a, HK_LOSS, a.sgf, a.sgl, &la), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lb), IRLLREC_OK);
    ck_assert(la.tran == lb.tran);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_SAMPLES, 4), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lb), IRLLREC_OK);
    ck_assert(isfinite(lb.tran) && lb.tran != la.tran);
    /* a compute does not advance the alignment handle's generator: same sample
     * and noise twice */
    irllrec_hook_losses lc;
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lc), IRLLREC_OK);
    ck_assert(lc.tran == lb.tran);
    hk_free(&a);
    hk_free(&b);
}
END_TEST

START_TEST(fast_exp_matches_libm)
{
    enum { n = 20001 };
    static float x[n];
    for (int i = 0; i < n; i++) x[i] = -87.0f + 88.5f * (float)i / (float)(n - 1);
    float y[n];
    memcpy(y, x, sizeof y);
    (void)irllrec__xent_exp_sum(y, n, 0.0f);
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        const double ref = exp((double)x[i]);
        worst = fmax(worst, fabs((double)y[i] - ref) / ref);
    }
    ck_assert_msg(worst < 4e-7, "worst relative error %g", worst);
    float z[4] = {-500.0f, -3000.0f, 0.0f, NAN};
    (void)irllrec__xent_exp_sum(z, 4, 0.0f);
    ck_assert(z[0] >= 0.0f && z[0] < 1e-37f && z[1] >= 0.0f && z[1] < 1e-37f);
    ck_assert(z[2] == 1.0f);
    ck_assert(isnan(z[3]));
}
END_TEST

START_TEST(timings_partition_the_step)
{
    hk k;
    irllrec_hook_losses lv;
    irllrec_hook_timings t;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 11);
    hk_strong(&k);
    t.struct_size = sizeof t;
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_OK);
    ck_assert(t.total == 0.0 && t.tran == 0.0);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_OK);
    const double parts = t.validate + t.profile_mlp + t.intent_mlp + t.teacher + t.tower + t.kd +
                         t.pair + t.tran + t.itm + t.commit;
    ck_assert(t.total > 0.0);
    ck_assert_double_eq_tol(parts, t.total, 1e-9 + 1e-9 * t.total);
    ck_assert(t.tran > 0.0 && t.tower > 0.0 && t.kd > 0.0);
    t.struct_size = 4;
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_last_timings(NULL, &t), IRLLREC_E_INVALID_ARG);
    hk_free(&k);
}
END_TEST

/* Both InfoNCE paths of the engine (bounded shift for tau >= 0.025, online
 * max below), blocked 3 x 3 (streaming, sweep 2 recomputes) and in strips
 * of 2 rows over every column, against a naive double computation. */
static void nce_vs_naive(double tau, int strip)
{
    enum { nb = 5, m = 7, d = 4 };
    irllrec__rng r;
    irllrec__rng_seed(&r, 5, 9);
    float x[nb * d], y[m * d], xh[nb * d], yh[m * d];
    float dxh[nb * d] = {0}, dyh[m * d] = {0}, blk[64];
    double row_loss[nb], row_aux[5 * nb];
    const int32_t pos[nb] = {3, 0, 6, 3, 1};
    hk_fill(&r, x, nb * d, 1.0);
    hk_fill(&r, y, m * d, 1.0);
    irllrec__l2norm_fwd(nb, d, x, d, xh, d, NULL);
    irllrec__l2norm_fwd(m, d, y, d, yh, d, NULL);
    irllrec__xent jb;
    memset(&jb, 0, sizeof jb);
    jb.xn = xh;
    jb.yn = yh;
    jb.n_rows = nb;
    jb.n_cols = m;
    jb.d = d;
    jb.kind = IRLLREC__XENT_INFONCE;
    jb.target = pos;
    jb.inv_tau = (float)(1.0 / tau);
    jb.scale = 0.5;
    jb.need_grad = 1;
    jb.block_rows = strip ? 2 : 3;
    jb.block_cols = strip ? m : 3;
    jb.n_slices = 1;
    jb.n_threads = 1;
    ck_assert(irllrec__xent_thread_floats(jb.block_rows, jb.block_cols, d) <= 64);
    jb.blk = blk;
    jb.row_loss = row_loss;
    jb.row_aux = row_aux;
    jb.dxn = dxh;
    jb.dyn = dyh;
    irllrec__xent_run(NULL, &jb);
    double l = 0.0;
    for (int b = 0; b < nb; b++) l += row_loss[b];
    l /= 0.5;
    double ref = 0.0, gx[nb * d] = {0}, gy[m * d] = {0};
    for (int b = 0; b < nb; b++) {
        double s[m], mx = -1e300, z = 0.0;
        for (int j = 0; j < m; j++) {
            s[j] = 0.0;
            for (int c = 0; c < d; c++) s[j] += (double)xh[b * d + c] * (double)yh[j * d + c];
            s[j] /= tau;
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < m; j++) z += exp(s[j] - mx);
        ref += mx + log(z) - s[pos[b]];
        for (int j = 0; j < m; j++) {
            const double g = 0.5 * (exp(s[j] - mx) / z - (j == pos[b])) / tau;
            for (int c = 0; c < d; c++) {
                gx[b * d + c] += g * (double)yh[j * d + c];
                gy[j * d + c] += g * (double)xh[b * d + c];
            }
        }
    }
    ck_assert_msg(fabs(l - ref) <= 1e-5 * fabs(ref), "tau %g: %.9g vs %.9g", tau, l, ref);
    double mg = 0.0, eg = 0.0;
    for (int i = 0; i < nb * d; i++) {
        mg = fmax(mg, fabs(gx[i]));
        eg = fmax(eg, fabs(gx[i] - (double)dxh[i]));
    }
    for (int i = 0; i < m * d; i++) {
        mg = fmax(mg, fabs(gy[i]));
        eg = fmax(eg, fabs(gy[i] - (double)dyh[i]));
    }
    ck_assert_msg(eg <= 1e-5 * mg, "tau %g: gradient error %g of %g", tau, eg, mg);
}

START_TEST(infonce_both_shift_paths)
{
    for (int strip = 0; strip < 2; strip++) {
        nce_vs_naive(0.2, strip);   /* bounded shift */
        nce_vs_naive(0.01, strip);  /* row maximum: exp(-2/tau) would underflow */
        nce_vs_naive(0.025, strip);
    }
}
END_TEST

/* Large enough (>= 64 rows per strip) for the strip kernels to use the
 * context's threads: 1 and 3 threads must give the same bits. */
static void run_threads(int32_t nt, irllrec_hook_losses *lv, float *gf, float *gl)
{
    enum { U = 70, I = 90, N = U + I, D = 8, L = 2, B = 100, DP = 12, DT = 10 };
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx), IRLLREC_OK);
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = 6;
    s.n_layers = L;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = DT;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    irllrec__rng r;
    irllrec__rng_seed(&r, 3, 3);
    const int dims[4] = {DP, DP, DT, DT}, rows[4] = {U, I, U, I};
    for (int w = 0; w < 4; w++) {
        float *m = malloc((size_t)(rows[w] * dims[w]) * 4);
        hk_fill(&r, m, rows[w] * dims[w], 1.0);
        ck_assert_int_eq(irllrec_hook_set_text(h, w, irllrec_cmat_dense(m, rows[w], dims[w])),
                         IRLLREC_OK);
        free(m);
    }
    int64_t ip[N + 1];
    int32_t ix[2 * U * 4];
    int64_t k = 0;
    ip[0] = 0;
    for (int64_t a = 0; a < N; a++) {  /* user u - items u, u+7, u+13, u+29 (mod I) */
        for (int64_t b = 0; b < N; b++) {
            const int64_t u = a < U ? a : b, i = a < U ? b - U : a - U;
            if ((a < U) == (b < U)) continue;
            if (i == u % I || i == (u + 7) % I || i == (u + 13) % I || i == (u + 29) % I)
                ix[k++] = (int32_t)b;
        }
        ip[a + 1] = k;
    }
    irllrec_csr g = {N, N, k, ip, ix};
    ck_assert_int_eq(irllrec_hook_set_graph(h, &g), IRLLREC_OK);
    float *ef = malloc(N * D * 4), *lay = malloc(L * N * D * 4);
    hk_fill(&r, ef, N * D, 1.0);
    hk_fill(&r, lay, L * N * D, 1.0);
    int32_t us[B], ps[B], ns[B];
    for (int b = 0; b < B; b++) {
        us[b] = (int32_t)irllrec__rng_below(&r, U);
        ps[b] = (int32_t)irllrec__rng_below(&r, I);
        ns[b] = (int32_t)irllrec__rng_below(&r, I);
    }
    tu_hookio io;
    tu_hookio_init(&io, U, I, D, ef, gf, L, lay, gl);
    const irllrec_hook_batch batch = {B, us, ps, ns};
    ck_assert_int_eq(irllrec_hook_set_param(h, IRLLREC_HOOK_W_TRAN, 1.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(h, IRLLREC_HOOK_W_ITM, 1.0), IRLLREC_OK);
    for (int step = 0; step < 2; step++) {
        lv->struct_size = sizeof *lv;
        ck_assert_int_eq(irllrec_hook_step(h, &batch, &io.in, &io.grads, lv), IRLLREC_OK);
    }
    ck_assert(lv->tran > 0.0 && lv->kd > 0.0 && lv->pair > 0.0);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    free(ef);
    free(lay);
}

START_TEST(thread_count_does_not_change_bits)
{
    enum { ND = 160 * 8, NL = 2 * 160 * 8 };
    irllrec_hook_losses a, b;
    float *ga = calloc(ND, 4), *gb = calloc(ND, 4), *la = calloc(NL, 4), *lb = calloc(NL, 4);
    run_threads(1, &a, ga, la);
    run_threads(3, &b, gb, lb);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(memcmp(ga, gb, ND * 4) == 0);
    ck_assert(memcmp(la, lb, NL * 4) == 0);
    free(ga); free(gb); free(la); free(lb);
}
END_TEST

Suite *hook_run_suite(void)
{
    Suite *s = suite_create("hook_run");
    TCase *fd = tcase_create("numerics");
    tcase_set_timeout(fd, 60);
    tcase_add_test(fd, fast_exp_matches_libm);
    tcase_add_test(fd, infonce_both_shift_paths);
    suite_add_tcase(s, fd);
    TCase *tc = tcase_create("runs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, presets_differ_exactly_where_documented);
    tcase_add_test(tc, steps_reduce_the_hook_loss);
    tcase_add_test(tc, same_seed_same_bits_and_sampling_is_an_option);
    tcase_add_test(tc, timings_partition_the_step);
    tcase_add_test(tc, thread_count_does_not_change_bits);
    suite_add_tcase(s, tc);
    return s;
}
