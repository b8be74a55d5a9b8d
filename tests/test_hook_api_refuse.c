/* Hook API v2 through the public headers, bad input: compute, apply and the
 * accessors refuse it on every new entry point (a status, a message naming
 * the argument, and nothing changed), so do the modules' row-subset calls
 * the hook uses, and empty text rows are reported. The rest of the API is in
 * test_hook_api.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"
#include "helpers/hook_api_fx.h"

/* ---- bad input on the new entry points ------------------------------------------ */

START_TEST(compute_refuses_bad_input_and_changes_nothing)
{
    hafx f;
    hafx_make(&f, L, 2);
    irllrec_hook_grads g = hafx_dense(&f);
    irllrec_hook_batch b = hafx_batch(&f);
    irllrec_hook_inputs in = hafx_in(&f);
    irllrec_hook_losses lv = {.struct_size = sizeof lv};
    int64_t n0;
    float *p0 = hafx_snapshot(f.h, &n0);
    float gf0[N * D], gl0[L * N * D];
    memcpy(gf0, f.gf, sizeof gf0);
    memcpy(gl0, f.gl, sizeof gl0);
#define REFUSE(call, st, text)                                                        \
    do {                                                                             \
        ck_assert_int_eq((call), (st));                                              \
        ck_assert_msg(hafx_msg_has(f.ctx, (text)), "message \"%s\" lacks \"%s\"",     \
                      irllrec_ctx_errmsg(f.ctx), (text));                            \
    } while (0)
    ck_assert_int_eq(irllrec_hook_compute(NULL, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG);
    REFUSE(irllrec_hook_compute(f.h, NULL, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "irllrec_hook_compute: batch is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, NULL, &g, 0, &lv), IRLLREC_E_INVALID_ARG, "in is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, &in, NULL, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 4, &lv), IRLLREC_E_INVALID_ARG,
           "flags = 0x4 has unknown bits");
    b.count = B + 1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_SHAPE,
           "batch->count = 5 not in 1..max_batch = 4");
    b.count = B;
    f.pos[2] = I;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->pos[2] = 11 not in [0, 11)");
    f.pos[2] = 0;
    f.users[1] = -1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->users[1] = -1");
    f.users[1] = 0;
    b.neg = NULL;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->neg is NULL");
    b = hafx_batch(&f);
    in.item_final.rows = I - 1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_SHAPE,
           "in->item_final is 10 x 4, expected 11 x 4");
    in = hafx_in(&f);
    in.layers = NULL;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "in->layers is NULL but n_layers = 2");
    in = hafx_in(&f);
    g.struct_size = 4;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_VERSION,
           "grads->struct_size = 4");
    g = hafx_dense(&f);
    g.mode = 7;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads->mode = 7");
    g = hafx_dense(&f);
    g.mode = IRLLREC_HOOK_GRAD_ROWS;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "must be empty in ROWS mode");
    g = hafx_dense(&f);
    g.item_grad = irllrec_mat_dense(f.ef + U * D, I, D);  /* the input itself */
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads->item_grad overlaps in->item_final");
    g = hafx_dense(&f);
    g.layer_grads = NULL;
    {
        irllrec_mat lg2[L] = {f.lg[0], f.lg[0]};
        g.layer_grads = lg2;
        REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
               "grads->layer_grads[1] overlaps grads->layer_grads[0]");
    }
    g = hafx_dense(&f);
    lv.struct_size = 4;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_VERSION,
           "out->struct_size = 4");
    lv.struct_size = sizeof lv;
    f.ef[U * D + 7] = INFINITY;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_NUMERIC,
           "in->item_final[1][3] is not finite");
    f.ef[U * D + 7] = 0.5f;
    f.lay[N * D + 2] = NAN;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_NUMERIC, "in->layers[1]");
    f.lay[N * D + 2] = 0.5f;
    REFUSE(irllrec_hook_apply(f.h, 2), IRLLREC_E_INVALID_ARG, "irllrec_hook_apply: flags = 0x2");
    ck_assert_int_eq(irllrec_hook_apply(NULL, 0), IRLLREC_E_INVALID_ARG);
    /* nothing changed: parameters, teacher, the caller's buffers, the step count */
    int64_t n1;
    float *p1 = hafx_snapshot(f.h, &n1);
    ck_assert_int_eq(n0, n1);
    ck_assert(memcmp(p0, p1, (size_t)n0 * sizeof(float)) == 0);
    ck_assert(memcmp(gf0, f.gf, sizeof gf0) == 0);
    ck_assert(memcmp(gl0, f.gl, sizeof gl0) == 0);
    ck_assert_int_eq(irllrec_hook_steps(f.h), 0);
    /* and the hook still works */
    g = hafx_dense(&f);
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &lv), IRLLREC_OK);
#undef REFUSE
    free(p0);
    free(p1);
    hafx_free(&f);
}
END_TEST

START_TEST(accessors_refuse_bad_input)
{
    hafx f;
    hafx_make(&f, 0, 2);
    irllrec_hook_block k = {.struct_size = sizeof k};
    irllrec_hook_rows rows;
    ck_assert_int_eq(irllrec_hook_block_count(NULL), -1);
    ck_assert_int_eq(irllrec_hook_block_count(f.h), 14);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 14, &k), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(f.ctx, "irllrec_hook_get_block: block 14 not in 0..13"));
    ck_assert_int_eq(irllrec_hook_get_block(f.h, -1, &k), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, NULL), IRLLREC_E_INVALID_ARG);
    k.struct_size = 4;
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, &k), IRLLREC_E_VERSION);
    /* a shorter struct gets a prefix */
    struct { uint32_t struct_size; int32_t trainable; } old = {8, -5};
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 13, (irllrec_hook_block *)(void *)&old),
                     IRLLREC_OK);
    ck_assert_int_eq(old.trainable, 0);  /* the last block is the teacher's */
    k.struct_size = sizeof k;
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 13, &k), IRLLREC_OK);
    ck_assert_str_eq(k.name, "teacher.b2");
    ck_assert_ptr_null(k.grad);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, &k), IRLLREC_OK);
    ck_assert_str_eq(k.name, "prf.w1");
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &rows), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_grad_rows(NULL, &rows), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_noise_fn(NULL, NULL, NULL), IRLLREC_E_INVALID_ARG);
    /* a dense compute leaves no rows to read */
    irllrec_hook_grads g = hafx_dense(&f);
    irllrec_hook_losses lv;
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &rows), IRLLREC_E_STATE);
    ck_assert(hafx_msg_has(f.ctx, "not a successful IRLLREC_HOOK_GRAD_ROWS one"));
    hafx_free(&f);
}
END_TEST

/* ---- modules: the row-subset calls the hook uses are public ------------------ */

START_TEST(module_subset_calls_refuse_bad_input)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec ms;
    irllrec_mlp *m = NULL;
    float x[6 * 3], y[6 * 2];
    tu_fill(&hafx_rs, x, 18, 1.0f);
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = 3;
    ms.out_dim = 2;
    ms.max_rows = 6;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(x, 4, 3), 3,
                                            irllrec_mat_dense(y, 4, 2)), IRLLREC_E_SHAPE);
    ck_assert(hafx_msg_has(ctx, "irllrec_mlp_forward_at: row0 = 3 + x.rows = 4 > max_rows = 6"));
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(x, 4, 3), 2,
                                            irllrec_mat_dense(y, 4, 2)), IRLLREC_OK);
    /* the cache covers rows 0..6 now; a range beyond it is refused */
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(x, 2, 3), 5,
                                             irllrec_cmat_dense(y, 2, 2),
                                             irllrec_mat_dense(NULL, 0, 0)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(x, 4, 3), 2,
                                             irllrec_cmat_dense(y, 4, 2),
                                             irllrec_mat_dense(NULL, 0, 0)), IRLLREC_OK);
    irllrec_itm_spec is;
    irllrec_itm *itm = NULL;
    irllrec_itm_spec_init(&is, sizeof is);
    ck_assert_int_eq(irllrec_itm_create(ctx, &is, m, &itm), IRLLREC_OK);
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 4, 2), NULL), IRLLREC_E_STATE);
    ck_assert(hafx_msg_has(ctx, "irllrec_itm_loss: no teacher forward"));
    ck_assert_int_eq(irllrec_itm_teacher_forward(itm, irllrec_cmat_dense(x, 4, 3)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 3, 2), NULL), IRLLREC_E_SHAPE);
    double ce = -1;
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 4, 2), &ce), IRLLREC_OK);
    ck_assert(ce >= 0);
    irllrec_itm_free(itm);
    irllrec_mlp_free(m);

    irllrec_intent_spec ts;
    irllrec_intent *enc = NULL;
    float e[5 * 2], r[2 * 2];
    tu_fill(&hafx_rs, e, 10, 1.0f);
    irllrec_intent_spec_init(&ts, sizeof ts);
    ts.n_users = 2;
    ts.n_items = 3;
    ts.dim = 2;
    ts.n_intents = 2;
    ts.n_layers = 1;
    ck_assert_int_eq(irllrec_intent_create(ctx, &ts, NULL, &enc), IRLLREC_OK);
    const irllrec_mat em = irllrec_mat_dense(e, 5, 2);
    int64_t nodes[2] = {1, 5};
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 1, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(ctx, "irllrec_intent_forward_nodes: nodes[1] = 5 not in [0, N = 5)"));
    nodes[1] = 4;
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, &em, 1, nodes, 2,
                                                   irllrec_cmat_dense(r, 2, 2), NULL),
                     IRLLREC_E_STATE);
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 1, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, &em, 1, nodes, 2,
                                                   irllrec_cmat_dense(r, 2, 2), NULL),
                     IRLLREC_OK);
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 2, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_E_SHAPE);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct logcap {
    int n_warn;
    char last[512];
} logcap;

static void log_cb(void *ud, int32_t level, const char *msg)
{
    logcap *c = (logcap *)ud;
    if (level != IRLLREC_LOG_WARN) return;
    c->n_warn++;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

/* ctx.h promises a warning for empty text rows: a failed embedding job
 * (all-zero rows) is accepted but reported, with the count and which text. */
START_TEST(zero_text_rows_are_reported)
{
    hafx f;
    hafx_make(&f, 0, 1);
    logcap cap = {0, ""};
    ck_assert_int_eq(irllrec_ctx_set_log(f.ctx, log_cb, &cap, IRLLREC_LOG_WARN), IRLLREC_OK);
    float t[I * DP];
    tu_fill(&hafx_rs, t, I * DP, 1.0f);
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert_int_eq(cap.n_warn, 0);
    memset(t + 2 * DP, 0, 3 * DP * sizeof(float));
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert_int_eq(cap.n_warn, 1);
    ck_assert_msg(strstr(cap.last, "item profile text: 3 of 11 rows are all zero") != NULL, "%s",
                  cap.last);
    memset(t, 0, sizeof t);
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert(strstr(cap.last, "11 of 11 rows are all zero (the whole matrix") != NULL);
    hafx_free(&f);
}
END_TEST

Suite *hook_api_refuse_suite(void)
{
    Suite *s = suite_create("hook_api_refuse");
    TCase *tc = tcase_create("v2");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, compute_refuses_bad_input_and_changes_nothing);
    tcase_add_test(tc, accessors_refuse_bad_input);
    tcase_add_test(tc, module_subset_calls_refuse_bad_input);
    tcase_add_test(tc, zero_text_rows_are_reported);
    suite_add_tcase(s, tc);
    return s;
}
