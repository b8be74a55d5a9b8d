#define _POSIX_C_SOURCE 200809L
/* The hook's bf16 text towers (docs/hook.md, "bf16 text towers"): granted
 * where usable, otherwise exactly the fp32 bits; within a bf16 tolerance of
 * the fp32 hook; the memory estimate; serving from a bf16 hook. The kernel
 * and module tests, with the bounds they rest on, are in test_bf16.c. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "ops/ops.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"

enum { HU = 30, HI = 40, HN = HU + HI, HD = 8, HB = 12, HDP = 160, HDT = 200 };

typedef struct hfx {
    irllrec_ctx *ctx;
    irllrec_hook *h;
    float ef[HN * HD], gf[HN * HD];
    int32_t u[HB], p[HB], n[HB];
} hfx;

/* text_precision and align_precision of the spec. */
static void hfx_init_at(hfx *f, int32_t precision, int32_t align_precision, irllrec_ctx *ctx)
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
    s.align_precision = align_precision;
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

static void hfx_init(hfx *f, int32_t precision, irllrec_ctx *ctx)
{
    hfx_init_at(f, precision, IRLLREC_ALIGN_FP32, ctx);
}

static void hfx_step(hfx *f, irllrec_hook_losses *lv)
{
    tu_hookio io;
    memset(f->gf, 0, sizeof f->gf);
    tu_hookio_init(&io, HU, HI, HD, f->ef, f->gf, 0, NULL, NULL);
    const irllrec_hook_batch b = {HB, f->u, f->p, f->n};
    lv->struct_size = sizeof *lv;
    ck_assert_msg(irllrec_hook_step(f->h, &b, &io.in, &io.grads, lv) == IRLLREC_OK, "%s", irllrec_ctx_errmsg(f->ctx));
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
    if (!irllrec__bf16_usable()) {
        ck_assert_int_eq(est[1], est[0]);
        return;
    }
    /* bf16 saves 2 bytes per text value (N rows) and gathered value (2B
     * rows) and per cached activation of a student (its max_rows x hidden:
     * the cache is bf16), and adds a bf16 W1 per tower (hidden = (D + d) /
     * 2) and a bf16 dA block per student (rows: its max_rows, here < 2048:
     * U + min(I, 2B) for the profile tower, N for the intent tower) */
    const int64_t hp = (HDP + HD) / 2, ht = (HDT + HD) / 2;
    const int64_t rows_p = HU + (HI < 2 * HB ? HI : 2 * HB);
    /* and an fp32 hook keeps its towers' gradients in double too (8 bytes
     * each, padding to 16 floats per block included: lib/hook/reduce.c) */
#define R16(n) (((int64_t)(n) + 15) / 16 * 16)
    const int64_t gfl = R16(hp * HDP) + R16(hp) + R16(HD * hp) + R16(HD) + R16(ht * HDT) +
                        R16(ht) + R16(HD * ht) + R16(HD);
#undef R16
    const int64_t saved = 2 * (int64_t)(HN + 2 * HB) * (HDP + HDT) + 2 * (rows_p * hp + HN * ht) +
                          8 * gfl;
    const int64_t added = 2 * (hp * HDP + 2 * ht * HDT) + 2 * (rows_p * hp + HN * ht);
    ck_assert_int_eq(est[0] - est[1], saved - added);
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

/* spec.align_precision: each bf16 level granted where an align handle
 * grants it, then within bf16's reach of the fp32 hook (the same tolerance
 * as the text towers': losses 2e-2 relative, host gradient 5e-2 of its
 * largest entry); refused, the fp32 hook's bits. */
START_TEST(hook_align_precision_where_granted_else_fp32_bits)
{
    for (int32_t lv = IRLLREC_ALIGN_BF16_LOGITS; lv <= IRLLREC_ALIGN_BF16; lv++) {
        hfx a, b;
        int32_t got = -1, want = -1;
        irllrec_align_spec as;
        irllrec_align *al = NULL;
        hfx_init_at(&a, IRLLREC_HOOK_TEXT_FP32, lv, NULL);
        hfx_init(&b, IRLLREC_HOOK_TEXT_FP32, NULL);
        irllrec_align_spec_init(&as, sizeof as);
        as.precision = lv;
        ck_assert_int_eq(irllrec_align_create(a.ctx, &as, &al), IRLLREC_OK);
        ck_assert_int_eq(irllrec_align_get_precision(al, &want), IRLLREC_OK);
        irllrec_align_free(al);
        ck_assert_int_eq(irllrec_hook_get_align_precision(a.h, &got), IRLLREC_OK);
        ck_assert_int_eq(got, want);
        ck_assert_int_eq(irllrec_hook_get_align_precision(b.h, &got), IRLLREC_OK);
        ck_assert_int_eq(got, IRLLREC_ALIGN_FP32);
        ck_assert_int_eq(irllrec_hook_get_align_precision(a.h, NULL), IRLLREC_E_INVALID_ARG);
        for (int step = 0; step < 3; step++) {
            irllrec_hook_losses la, lb;
            double gmax = 0.0, gerr = 0.0;
            hfx_step(&a, &la);
            hfx_step(&b, &lb);
            const double va[4] = {la.kd, la.pair, la.tran, la.itm};
            const double vb[4] = {lb.kd, lb.pair, lb.tran, lb.itm};
            for (int i = 0; i < HN * HD; i++) {
                gmax = fmax(gmax, fabs(b.gf[i]));
                gerr = fmax(gerr, fabs((double)a.gf[i] - b.gf[i]));
            }
            if (want == IRLLREC_ALIGN_FP32) {
                ck_assert(memcmp(va, vb, sizeof va) == 0 && memcmp(a.gf, b.gf, sizeof a.gf) == 0);
                continue;
            }
            for (int t = 0; t < 4; t++)
                ck_assert_msg(fabs(va[t] - vb[t]) <= 2e-2 * fabs(vb[t]),
                              "level %d step %d term %d: %.9g vs %.9g", (int)lv, step, t, va[t],
                              vb[t]);
            ck_assert_msg(gerr <= 5e-2 * gmax, "level %d step %d: host gradient off by %.3g of %.3g",
                          (int)lv, step, gerr, gmax);
            if (step == 0) ck_assert_msg(gerr > 0.0, "level %d gave the fp32 bits", (int)lv);
        }
        hfx_free(&a);
        hfx_free(&b);
    }
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

Suite *bf16_hook_suite(void)
{
    Suite *s = suite_create("bf16_hook");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hook_bf16_where_usable_else_fp32_bits);
    tcase_add_test(tc, hook_bf16_falls_back_without_the_cpu_feature);
    tcase_add_test(tc, hook_bf16_memory_estimate_and_no_step_allocation);
    tcase_add_test(tc, rec_from_a_bf16_hook_serves_in_fp32);
    tcase_add_test(tc, hook_align_precision_where_granted_else_fp32_bits);
    tcase_add_test(tc, hook_text_precision_refuses_bad_values);
    suite_add_tcase(s, tc);
    return s;
}
