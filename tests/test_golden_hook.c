/* Golden tests of the full hook: one compute and one step of the paper and
 * released presets, and the bf16 text towers, against the independent
 * PyTorch float64 autograd reference (tests/golden/gen_golden.py, fixture
 * tests/golden/hook.bin). Tolerance: max|c - ref| / max|ref| <= 1e-4 per
 * array (bf16: see golden_hook_paper_bf16). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "helpers/testutil.h"
#include "helpers/goldfx.h"

/* The hook's text precision: fp32, except in golden_hook_paper_bf16, which
 * sets and restores it (and gold_tol likewise). */
static int32_t gold_text_precision = IRLLREC_HOOK_TEXT_FP32;

/* The fixture's N x d translation noise (exact mode: ids NULL, rows 0..n-1). */
typedef struct gnoise {
    float *e1, *e2;
    int64_t n, d;
    int calls;
} gnoise;

typedef struct hookfx {
    gfile g;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int64_t U, I, N, d, B;
    int32_t users[3], pos[3], neg[3];
    float *ef, *l0, *l1, *gu, *gi, *gl0, *gl1;
    int64_t *ip;
    int32_t *ix;
    gnoise noise;
} hookfx;

/* Block called name (v2: irllrec_hook_get_block over irllrec_hook_block_count). */
static irllrec_hook_block find_block(irllrec_hook *h, const char *name)
{
    irllrec_hook_block b;
    const int32_t n = irllrec_hook_block_count(h);
    for (int32_t i = 0; i < n; i++) {
        memset(&b, 0, sizeof b);
        b.struct_size = sizeof b;
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        if (strcmp(b.name, name) == 0) return b;
    }
    ck_abort_msg("no block %s", name);
    return b;
}

static void set_block(irllrec_hook *h, const gfile *g, const char *block, const char *arr)
{
    const irllrec_hook_block b = find_block(h, block);
    const garr *a = gold_get(g, arr);
    ck_assert_int_eq(a->n, b.rows * b.cols);
    for (int64_t k = 0; k < a->n; k++) b.data[k] = (float)a->v[k];
}

static const float *block_grad(irllrec_hook *h, const char *block, int data)
{
    const irllrec_hook_block b = find_block(h, block);
    return data ? b.data : b.grad;
}

static void gnoise_fn(void *ud, int64_t n_rows, int32_t dim, const int32_t *ids, float *eps_x,
                      float *eps_y)
{
    gnoise *z = (gnoise *)ud;
    z->calls++;
    ck_assert_int_eq(dim, z->d);
    ck_assert_int_le(n_rows, z->n);
    for (int64_t r = 0; r < n_rows; r++) {
        const int64_t src = ids != NULL ? ids[r] : r;
        ck_assert(src >= 0 && src < z->n);
        memcpy(eps_x + r * dim, z->e1 + src * dim, (size_t)dim * sizeof(float));
        memcpy(eps_y + r * dim, z->e2 + src * dim, (size_t)dim * sizeof(float));
    }
}

static void hook_setup(hookfx *f, int preset)
{
    gold_load(&f->g, "hook.bin");
    const gfile *g = &f->g;
    f->U = (int64_t)gold_scalar(g, "n_users");
    f->I = (int64_t)gold_scalar(g, "n_items");
    f->N = f->U + f->I;
    f->d = gold_get(g, "ef")->dims[1];
    f->B = gold_get(g, "users")->n;
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.preset = preset;
    s.n_users = f->U;
    s.n_items = f->I;
    s.dim = (int32_t)f->d;
    s.n_intents = (int32_t)gold_get(g, "cu")->dims[1];
    s.n_layers = 2;
    s.max_batch = (int32_t)f->B;
    s.profile_dim = (int32_t)gold_get(g, "su")->dims[1];
    s.intent_dim = (int32_t)gold_get(g, "tu")->dims[1];
    s.text_precision = gold_text_precision;
    f->ctx = tu_ctx();
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    const struct { irllrec_hook_param p; const char *k; } w[] = {
        {IRLLREC_HOOK_W_KD, "w_kd"}, {IRLLREC_HOOK_TAU_KD, "tau_kd"},
        {IRLLREC_HOOK_W_PAIR, "w_pair"}, {IRLLREC_HOOK_TAU_PAIR, "tau_pair"},
        {IRLLREC_HOOK_W_TRAN, "w_tran"}, {IRLLREC_HOOK_W_ITM, "w_itm"},
        {IRLLREC_HOOK_ITM_ALPHA, "alpha"}, {IRLLREC_HOOK_MOMENTUM, "momentum"},
        {IRLLREC_HOOK_REG, "reg"}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        ck_assert_int_eq(irllrec_hook_set_param(f->h, w[i].p, gold_scalar(g, w[i].k)), IRLLREC_OK);
    const char *txt[4] = {"su", "si", "tu", "ti"};
    for (int i = 0; i < 4; i++) {
        const garr *a = gold_get(g, txt[i]);
        float *m = gold_f32(g, txt[i]);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, i, irllrec_cmat_dense(m, a->dims[0], a->dims[1])),
                         IRLLREC_OK);
        free(m);
    }
    const garr *pa = gold_get(g, "indptr"), *ia = gold_get(g, "indices");
    f->ip = malloc((size_t)pa->n * sizeof(int64_t));
    f->ix = malloc((size_t)ia->n * sizeof(int32_t));
    for (int64_t i = 0; i < pa->n; i++) f->ip[i] = (int64_t)pa->v[i];
    for (int64_t i = 0; i < ia->n; i++) f->ix[i] = (int32_t)ia->v[i];
    irllrec_csr adj = {f->N, f->N, ia->n, f->ip, f->ix};
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &adj), IRLLREC_OK);
    const char *blocks[] = {"prf.w1", "prf.b1", "prf.w2", "prf.b2", "int.w1", "int.b1", "int.w2",
                            "int.b2", "proto.user", "proto.item", "teacher.w1", "teacher.b1",
                            "teacher.w2", "teacher.b2"};
    const char *arrs[] = {"prf_w1", "prf_b1", "prf_w2", "prf_b2", "int_w1", "int_b1", "int_w2",
                          "int_b2", "cu", "ci", "tm_w1", "tm_b1", "tm_w2", "tm_b2"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        set_block(f->h, g, blocks[i], arrs[i]);
    f->noise.e1 = gold_f32(g, "eps1");
    f->noise.e2 = gold_f32(g, "eps2");
    f->noise.n = f->N;
    f->noise.d = f->d;
    f->noise.calls = 0;
    ck_assert_int_eq(gold_get(g, "eps1")->n, f->N * f->d);
    ck_assert_int_eq(gold_get(g, "eps2")->n, f->N * f->d);
    ck_assert_int_eq(irllrec_hook_set_noise_fn(f->h, gnoise_fn, &f->noise), IRLLREC_OK);
    for (int64_t b = 0; b < f->B; b++) {
        f->users[b] = (int32_t)gold_get(g, "users")->v[b];
        f->pos[b] = (int32_t)gold_get(g, "pos")->v[b];
        f->neg[b] = (int32_t)gold_get(g, "neg")->v[b];
    }
    f->ef = gold_f32(g, "ef");
    f->l0 = gold_f32(g, "layer0");
    f->l1 = gold_f32(g, "layer1");
    f->gu = calloc((size_t)(f->N * f->d), 4);
    f->gi = f->gu + f->U * f->d;
    f->gl0 = calloc((size_t)(f->N * f->d), 4);
    f->gl1 = calloc((size_t)(f->N * f->d), 4);
}

static void hook_teardown(hookfx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
    free(f->ef); free(f->l0); free(f->l1); free(f->gu); free(f->gl0); free(f->gl1);
    free(f->ip); free(f->ix);
    free(f->noise.e1); free(f->noise.e2);
    gold_free(&f->g);
}

/* What one call does (the v1 internal run's flags, in v2 terms). */
enum {
    HOOK_LOSS = 0,  /* irllrec_hook_compute with IRLLREC_HOOK_LOSS_ONLY */
    HOOK_GRADS = 1, /* irllrec_hook_compute, flags 0: gradients added, no apply */
    HOOK_STEP = 2   /* irllrec_hook_step: compute + apply */
};

static irllrec_status hook_run(hookfx *f, int mode, irllrec_hook_losses *lv)
{
    const int64_t d = f->d;
    const irllrec_cmat layers[2] = {irllrec_cmat_dense(f->l0, f->N, d),
                                    irllrec_cmat_dense(f->l1, f->N, d)};
    const irllrec_mat lg[2] = {irllrec_mat_dense(f->gl0, f->N, d),
                               irllrec_mat_dense(f->gl1, f->N, d)};
    const irllrec_hook_batch batch = {f->B, f->users, f->pos, f->neg};
    const irllrec_hook_inputs in = {irllrec_cmat_dense(f->ef, f->U, d),
                                    irllrec_cmat_dense(f->ef + f->U * d, f->I, d), layers};
    const irllrec_hook_grads grads = {sizeof grads, IRLLREC_HOOK_GRAD_DENSE,
                                      irllrec_mat_dense(f->gu, f->U, d),
                                      irllrec_mat_dense(f->gi, f->I, d), lg};
    lv->struct_size = sizeof *lv;
    switch (mode) {
    case HOOK_LOSS: return irllrec_hook_compute(f->h, &batch, &in, NULL, IRLLREC_HOOK_LOSS_ONLY, lv);
    case HOOK_GRADS: return irllrec_hook_compute(f->h, &batch, &in, &grads, 0, lv);
    default: return irllrec_hook_step(f->h, &batch, &in, &grads, lv);
    }
}

static void hook_compare(hookfx *f, const char *prefix, double total_ref)
{
    irllrec_hook_losses lv;
    char key[64];
    const int calls = f->noise.calls;
    ck_assert_int_eq(hook_run(f, HOOK_GRADS, &lv), IRLLREC_OK);
    ck_assert_int_gt(f->noise.calls, calls);  /* L_tran took the fixture's noise */
    gold_cmp_scalar("kd", lv.kd, gold_scalar(&f->g, "kd"));
    gold_cmp_scalar("pair", lv.pair, gold_scalar(&f->g, "pair"));
    gold_cmp_scalar("tran", lv.tran, gold_scalar(&f->g, "tran"));
    gold_cmp_scalar("itm", lv.itm, gold_scalar(&f->g, "ce"));
    gold_cmp_scalar("total", lv.total, total_ref);
    snprintf(key, sizeof key, "%sdef", prefix);
    gold_cmp_arr(&f->g, key, f->gu);  /* gu and gi are one N x d buffer */
    snprintf(key, sizeof key, "%sdlayer0", prefix);
    gold_cmp_arr(&f->g, key, f->gl0);
    snprintf(key, sizeof key, "%sdlayer1", prefix);
    gold_cmp_arr(&f->g, key, f->gl1);
    const char *blocks[] = {"prf.w1", "prf.b1", "prf.w2", "prf.b2", "int.w1", "int.b1", "int.w2",
                            "int.b2", "proto.user", "proto.item"};
    const char *arrs[] = {"dprf_w1", "dprf_b1", "dprf_w2", "dprf_b2", "dint_w1", "dint_b1",
                          "dint_w2", "dint_b2", "dcu", "dci"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        snprintf(key, sizeof key, "%s%s", prefix, arrs[i]);
        gold_cmp_arr(&f->g, key, block_grad(f->h, blocks[i], 0));
    }
}

START_TEST(golden_hook_paper)
{
    hookfx f;
    hook_setup(&f, IRLLREC_HOOK_PRESET_PAPER);
    hook_compare(&f, "", gold_scalar(&f.g, "total_paper"));
    /* A real step commits the EMA teacher computed before the teacher forward. */
    irllrec_hook_losses lv;
    ck_assert_int_eq(hook_run(&f, HOOK_STEP, &lv), IRLLREC_OK);
    gold_cmp_scalar("total after step", lv.total, gold_scalar(&f.g, "total_paper"));
    gold_cmp_arr(&f.g, "tmn_w1", block_grad(f.h, "teacher.w1", 1));
    gold_cmp_arr(&f.g, "tmn_b1", block_grad(f.h, "teacher.b1", 1));
    gold_cmp_arr(&f.g, "tmn_w2", block_grad(f.h, "teacher.w2", 1));
    gold_cmp_arr(&f.g, "tmn_b2", block_grad(f.h, "teacher.b2", 1));
    hook_teardown(&f);
}
END_TEST

START_TEST(golden_hook_released)
{
    hookfx f;
    hook_setup(&f, IRLLREC_HOOK_PRESET_RELEASED);
    hook_compare(&f, "rel_", gold_scalar(&f.g, "total_released"));
    irllrec_hook_losses lv;
    ck_assert_int_eq(hook_run(&f, HOOK_LOSS, &lv), IRLLREC_OK);
    double sq = gold_scalar(&f.g, "sq") + gold_scalar(&f.g, "sq_teacher");
    gold_cmp_scalar("reg incl. teacher", lv.reg, gold_scalar(&f.g, "reg") * sq);
    hook_teardown(&f);
}
END_TEST

/* The bf16 text towers (where usable) against the same fp32 reference. The
 * text and W1 are rounded to bf16 (u = 2^-8 each), so every first-layer
 * pre-activation moves by at most 2u sum_k |x_k w_k|; with these random
 * signs that is a few u of max|A|, carried linearly through the second
 * layer and the InfoNCE / CE gradients: tolerance 8u = 3.1e-2 of each
 * array's largest entry (measured worst 1.1e-2, on dprf_b2). Where
 * bf16 is not usable the hook is the fp32 one and 1e-4 stays. */
START_TEST(golden_hook_paper_bf16)
{
    hookfx f;
    gold_text_precision = IRLLREC_HOOK_TEXT_BF16;
    hook_setup(&f, IRLLREC_HOOK_PRESET_PAPER);
    int32_t prec = -1;
    ck_assert_int_eq(irllrec_hook_get_text_precision(f.h, &prec), IRLLREC_OK);
    if (prec == IRLLREC_HOOK_TEXT_BF16) gold_tol = 8.0 / 256.0;
    hook_compare(&f, "", gold_scalar(&f.g, "total_paper"));
    hook_teardown(&f);
    gold_tol = 1e-4;
    gold_text_precision = IRLLREC_HOOK_TEXT_FP32;
}
END_TEST

Suite *golden_hook_suite(void)
{
    Suite *s = suite_create("golden_hook");
    TCase *tc = tcase_create("pytorch");
    tcase_add_test(tc, golden_hook_paper);
    tcase_add_test(tc, golden_hook_released);
    tcase_add_test(tc, golden_hook_paper_bf16);  /* last: it sets file-scope tolerances */
    suite_add_tcase(s, tc);
    return s;
}
