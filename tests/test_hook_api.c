/* Hook API v2 through the public headers: compute / apply / step, loss-only,
 * touched-row gradients against dense ones, a host's own optimizer against
 * the hook's Adam, parameters by name, the memory estimate against a
 * counting allocator, and the graph builder. Bad input on the entry points
 * is in test_hook_api_refuse.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"
#include "helpers/hook_api_fx.h"

/* ---- compute / apply ------------------------------------------------------ */

START_TEST(compute_is_repeatable_and_apply_commits)
{
    hafx f;
    hafx_make(&f, L, 5);
    irllrec_hook_grads g = hafx_dense(&f);
    irllrec_hook_losses a, b, c;
    float g1[N * D];
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &a), IRLLREC_OK);
    memcpy(g1, f.gf, sizeof g1);
    memset(f.gf, 0, sizeof f.gf);
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &b), IRLLREC_OK);
    /* same noise, same teacher, same bits */
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(memcmp(g1, f.gf, sizeof g1) == 0);
    ck_assert(a.kd > 0 && a.pair > 0 && a.tran > 0 && a.itm > 0);
    /* loss only: the same values, nothing written */
    memset(f.gf, 0, sizeof f.gf);
    ck_assert_int_eq(hafx_compute(&f, NULL, IRLLREC_HOOK_LOSS_ONLY, &c), IRLLREC_OK);
    ck_assert(memcmp(&a, &c, sizeof a) == 0);
    for (int i = 0; i < N * D; i++) ck_assert(f.gf[i] == 0.0f);
    /* a loss-only compute leaves nothing to apply */
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_E_STATE);
    ck_assert(hafx_msg_has(f.ctx, "irllrec_hook_apply: no successful gradient compute"));
    ck_assert_int_eq(irllrec_hook_steps(f.h), 0);
    /* compute + apply == step */
    hafx f2;
    hafx_make(&f2, L, 5);
    irllrec_hook_grads g2 = hafx_dense(&f2);
    irllrec_hook_losses s2 = {.struct_size = sizeof s2};
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_E_STATE);
    const irllrec_hook_batch bt = hafx_batch(&f2);
    const irllrec_hook_inputs in2 = hafx_in(&f2);
    ck_assert_int_eq(irllrec_hook_step(f2.h, &bt, &in2, &g2, &s2), IRLLREC_OK);
    int64_t n1, n2;
    float *p1 = hafx_snapshot(f.h, &n1), *p2 = hafx_snapshot(f2.h, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(p1, p2, (size_t)n1 * sizeof(float)) == 0);
    ck_assert_int_eq(irllrec_hook_steps(f.h), 1);
    /* and the next compute sees the committed state: fresh noise, new teacher */
    ck_assert_int_eq(hafx_compute(&f, &g, 0, &b), IRLLREC_OK);
    ck_assert(b.tran != a.tran);
    free(p1);
    free(p2);
    hafx_free(&f);
    hafx_free(&f2);
}
END_TEST

/* A host that runs its own optimizer: it reads the trainable blocks and
 * their gradients, steps them with its own Adam (the library's public one,
 * the same update rule), and applies with EXTERNAL_OPTIM. The parameters
 * must be those of the hook's own Adam, bit for bit. */
START_TEST(external_optimizer_matches_the_hooks_adam)
{
    hafx a, b;
    hafx_make(&a, L, 9);
    hafx_make(&b, L, 9);
    irllrec_hook_grads ga = hafx_dense(&a), gb = hafx_dense(&b);
    irllrec_hook_losses lv;
    int64_t sizes[16];
    float *params[16];
    const float *grads[16];
    int nt = 0;
    for (int32_t i = 0; i < irllrec_hook_block_count(b.h); i++) {
        irllrec_hook_block k = {.struct_size = sizeof k};
        ck_assert_int_eq(irllrec_hook_get_block(b.h, i, &k), IRLLREC_OK);
        if (!k.trainable) {
            ck_assert_ptr_null(k.grad);
            continue;
        }
        sizes[nt] = k.rows * k.cols;
        params[nt] = k.data;
        grads[nt++] = k.grad;
    }
    ck_assert_int_eq(nt, 10);  /* prf w1 b1 w2 b2, int w1 b1 w2 b2, proto.user, proto.item */
    irllrec_adam_spec as;
    irllrec_adam *opt = NULL;
    irllrec_adam_spec_init(&as, sizeof as);
    as.lr = 1e-3;
    ck_assert_int_eq(irllrec_adam_create(b.ctx, &as, sizes, nt, &opt), IRLLREC_OK);
    for (int step = 0; step < 4; step++) {
        ck_assert_int_eq(hafx_compute(&a, &ga, 0, &lv), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_apply(a.h, 0), IRLLREC_OK);
        ck_assert_int_eq(hafx_compute(&b, &gb, 0, &lv), IRLLREC_OK);
        ck_assert_int_eq(irllrec_adam_step(opt, params, grads), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_apply(b.h, IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM), IRLLREC_OK);
    }
    int64_t na, nb;
    float *pa = hafx_snapshot(a.h, &na), *pb = hafx_snapshot(b.h, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert(memcmp(pa, pb, (size_t)na * sizeof(float)) == 0);  /* teacher included */
    ck_assert_int_eq(irllrec_hook_steps(b.h), 4);
    free(pa);
    free(pb);
    irllrec_adam_free(opt);
    hafx_free(&a);
    hafx_free(&b);
}
END_TEST

/* ---- touched rows ----------------------------------------------------------- */

static void rows_vs_dense(int sampled, double w_pair, double w_tran)
{
    hafx f;
    hafx_make(&f, 0, 3);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_pair", w_pair), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_tran", w_tran), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_itm", 0.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_mode", sampled), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_samples", 5), IRLLREC_OK);
    irllrec_hook_grads dense = hafx_dense(&f), rows;
    memset(&rows, 0, sizeof rows);
    rows.struct_size = sizeof rows;
    rows.mode = IRLLREC_HOOK_GRAD_ROWS;
    irllrec_hook_losses a, b;
    irllrec_hook_rows out;
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &out), IRLLREC_E_STATE);
    ck_assert_int_eq(hafx_compute(&f, &dense, 0, &a), IRLLREC_OK);
    ck_assert_int_eq(hafx_compute(&f, &rows, 0, &b), IRLLREC_OK);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &out), IRLLREC_OK);
    /* every touched row equals the dense row; every other dense row is zero */
    float back[N * D];
    memset(back, 0, sizeof back);
    for (int64_t k = 0; k < out.n_users; k++)
        memcpy(back + out.user_ids[k] * D, out.user_grad.data + k * out.user_grad.ld, D * 4);
    for (int64_t k = 0; k < out.n_items; k++)
        memcpy(back + (U + out.item_ids[k]) * D, out.item_grad.data + k * out.item_grad.ld, D * 4);
    ck_assert(memcmp(back, f.gf, sizeof back) == 0);
    if (w_tran == 0.0 || sampled) {
        ck_assert_int_lt(out.n_users + out.n_items, N);  /* a subset, not the catalogue */
    } else {
        ck_assert_int_eq(out.n_users, U);  /* exact translation touches every row */
        ck_assert_int_eq(out.n_items, I);
    }
    /* the batch's rows are among them */
    for (int b2 = 0; b2 < B; b2++) {
        int seen = 0;
        for (int64_t k = 0; k < out.n_users; k++) seen |= out.user_ids[k] == f.users[b2];
        ck_assert(seen);
    }
    hafx_free(&f);
}

START_TEST(rows_equal_dense_batch_terms)
{
    rows_vs_dense(0, 2e-2, 0.0);
}
END_TEST

START_TEST(rows_equal_dense_sampled_translation)
{
    rows_vs_dense(1, 2e-2, 0.5);
}
END_TEST

START_TEST(rows_equal_dense_exact_translation)
{
    rows_vs_dense(0, 0.0, 0.5);
}
END_TEST

/* ---- parameters by name ----------------------------------------------------- */

START_TEST(parameters_by_name)
{
    hafx f;
    hafx_make(&f, L, 1);
    const int32_t n = irllrec_hook_param_count();
    ck_assert_int_eq(n, 19);
    for (int32_t i = 0; i < n; i++) {
        irllrec_hook_param p, q;
        double lo, hi, v, w;
        ck_assert_int_eq(irllrec_hook_param_at(i, &p), IRLLREC_OK);
        const char *name = irllrec_hook_param_name(p);
        ck_assert_ptr_nonnull(name);
        ck_assert_int_eq(irllrec_hook_param_id(name, &q), IRLLREC_OK);
        ck_assert_int_eq(p, q);
        ck_assert_int_eq(irllrec_hook_param_bounds(p, &lo, &hi), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(f.h, p, &v), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, name, &w), IRLLREC_OK);
        ck_assert(v == w && v >= lo && v <= hi);
        ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, name, hi), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(f.h, p, &w), IRLLREC_OK);
        ck_assert(w == hi);
        ck_assert_int_eq(irllrec_hook_set_param(f.h, p, v), IRLLREC_OK);
    }
    irllrec_hook_param p;
    ck_assert_int_eq(irllrec_hook_param_at(n, &p), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_param_id("W_KD", &p), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(irllrec_hook_param_name((irllrec_hook_param)299));
    double v = 0;
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_kdd", 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(f.ctx, "irllrec_hook_set_param_by_name: unknown parameter name \"w_kdd\""));
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, NULL, 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "beta1", NULL), IRLLREC_E_INVALID_ARG);
    /* a bound broken: the message names the parameter, the value and the range */
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "beta1", 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(f.ctx, "parameter beta1 = 1 outside [0, 0.99999990000000005]"));
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_samples", 2.5),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(f.ctx, "tran_samples takes an integer"));
    ck_assert_int_eq(irllrec_hook_set_param(f.h, IRLLREC_HOOK_EPS, NAN), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "beta1", &v), IRLLREC_OK);
    ck_assert(v == 0.9);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "eps", &v), IRLLREC_OK);
    ck_assert(v == 1e-8);
    hafx_free(&f);
}
END_TEST

/* Adam's settings reach the optimizer: with beta1 = 0 the first step is
 * lr * sign(g) regardless; with weight decay the parameters shrink more. */
START_TEST(optimizer_settings_take_effect)
{
    hafx a, b;
    hafx_make(&a, 0, 4);
    hafx_make(&b, 0, 4);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(b.h, "weight_decay", 5.0), IRLLREC_OK);
    irllrec_hook_grads ga = hafx_dense(&a), gb = hafx_dense(&b);
    irllrec_hook_losses lv;
    ck_assert_int_eq(hafx_compute(&a, &ga, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(a.h, 0), IRLLREC_OK);
    ck_assert_int_eq(hafx_compute(&b, &gb, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(b.h, 0), IRLLREC_OK);
    int64_t na, nb;
    float *pa = hafx_snapshot(a.h, &na), *pb = hafx_snapshot(b.h, &nb);
    double sa = 0, sb = 0;
    irllrec_hook_block k = {.struct_size = sizeof k};
    ck_assert_int_eq(irllrec_hook_get_block(a.h, 0, &k), IRLLREC_OK);
    for (int64_t i = 0; i < k.rows * k.cols; i++) {
        sa += (double)pa[i] * pa[i];
        sb += (double)pb[i] * pb[i];
    }
    ck_assert(sb < sa * 0.99999);  /* decay 1 - lr * 5 = 0.995 per weight */
    free(pa);
    free(pb);
    hafx_free(&a);
    hafx_free(&b);
}
END_TEST

/* ---- memory estimate ---------------------------------------------------------- */

static void estimate_case(int layers, int dp, int dt, int32_t threads)
{
    tu_alloc_state st;
    memset(&st, 0, sizeof st);
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = threads;
    cs.alloc = tu_alloc;
    cs.free = tu_free;
    cs.alloc_ud = &st;
    irllrec_ctx *ctx = NULL;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx), IRLLREC_OK);
    const int64_t base = st.live_bytes;
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 40;
    s.n_items = 70;
    s.dim = 8;
    s.n_intents = 5;
    s.n_layers = layers;
    s.max_batch = 16;
    s.profile_dim = dp;
    s.intent_dim = dt;
    int64_t est = -1;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, threads, layers ? 2 * 120 : 0, &est),
                     IRLLREC_OK);
    irllrec_hook *h = NULL;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    if (layers > 0) {
        int64_t ip[41];
        int32_t ix[120];
        for (int u = 0; u <= 40; u++) ip[u] = 3 * u;
        for (int k = 0; k < 120; k++) ix[k] = (int32_t)((k / 3 * 7 + k % 3 * 11) % 70);
        for (int u = 0; u < 40; u++) {  /* sort each row's three ids */
            int32_t *r = ix + 3 * u, t;
            if (r[0] > r[1]) t = r[0], r[0] = r[1], r[1] = t;
            if (r[1] > r[2]) t = r[1], r[1] = r[2], r[2] = t;
            if (r[0] > r[1]) t = r[0], r[0] = r[1], r[1] = t;
        }
        const irllrec_csr r = {40, 70, 120, ip, ix};
        irllrec_graph *g = NULL;
        irllrec_csr adj;
        ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_OK);
        ck_assert_int_eq(irllrec_graph_adjacency(g, &adj), IRLLREC_OK);
        const int64_t with_graph = st.live_bytes;
        ck_assert_int_eq(irllrec_hook_set_graph(h, &adj), IRLLREC_OK);
        irllrec_graph_free(g);
        (void)with_graph;
    }
    ck_assert_int_eq(st.live_bytes - base, est);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
}

START_TEST(memory_estimate_matches_the_allocator)
{
    estimate_case(0, 12, 10, 1);
    estimate_case(0, 12, 0, 2);
    estimate_case(0, 0, 10, 2);
    estimate_case(0, 0, 0, 1);
    estimate_case(3, 12, 10, 2);
    estimate_case(2, 0, 10, 3);
    irllrec_hook_spec s;
    int64_t est;
    irllrec_hook_spec_init(&s, sizeof s);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, &est), IRLLREC_E_INVALID_ARG);
    s.n_users = s.n_items = 10;
    ck_assert_int_eq(irllrec_hook_memory_estimate(NULL, 1, 0, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 0, 0, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, -1, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, NULL), IRLLREC_E_INVALID_ARG);
    s.struct_size = 2;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, &est), IRLLREC_E_VERSION);
}
END_TEST

/* ---- graph builder ----------------------------------------------------------- */

START_TEST(graph_builder_hand_computed)
{
    irllrec_ctx *ctx = tu_ctx();
    /* users 0: {0, 2}, 1: {2}; items 0..2 (item 1 has nobody) */
    const int64_t ip[3] = {0, 2, 3};
    const int32_t ix[3] = {0, 2, 2};
    const irllrec_csr r = {2, 3, 3, ip, ix};
    irllrec_graph *g = NULL;
    irllrec_csr a;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_OK);
    ck_assert_int_eq(irllrec_graph_adjacency(g, &a), IRLLREC_OK);
    ck_assert_int_eq(a.n_rows, 5);
    ck_assert_int_eq(a.nnz, 6);
    const int64_t eptr[6] = {0, 2, 3, 4, 4, 6};
    const int32_t ecol[6] = {2, 4, 4, 0, 0, 1};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(a.indptr[i], eptr[i]);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(a.indices[i], ecol[i]);
    /* degrees: u0 2, u1 1, i0 1, i1 0, i2 2 */
    const float *v = irllrec_graph_values(g);
    const float ev[6] = {(float)(1 / sqrt(2.0)), (float)(1 / sqrt(4.0)), (float)(1 / sqrt(2.0)),
                         (float)(1 / sqrt(2.0)), (float)(1 / sqrt(4.0)), (float)(1 / sqrt(2.0))};
    for (int i = 0; i < 6; i++) ck_assert_float_eq_tol(v[i], ev[i], 1e-7);
    const int32_t *rev = irllrec_graph_reverse(g);
    for (int e = 0; e < 6; e++) ck_assert_int_eq(rev[rev[e]], e);
    ck_assert_int_eq(rev[0], 3);  /* (u0, i0) <-> (i0, u0) */
    irllrec_graph_free(g);
    ck_assert_ptr_null(irllrec_graph_values(NULL));
    irllrec_graph_free(NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(graph_builder_refuses_bad_input)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_graph *g = (irllrec_graph *)(uintptr_t)1;
    const int64_t ip[3] = {0, 2, 3}, bad_ip[3] = {0, 3, 2};
    const int32_t unsorted[3] = {2, 0, 1}, dup[3] = {1, 1, 0}, far[3] = {0, 7, 1};
    irllrec_csr r = {2, 3, 3, ip, unsorted};
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(g);
    ck_assert(hafx_msg_has(ctx, "irllrec_graph_create: user_items row 0: indices[1] = 0 is not above the one before"));
    r.indices = dup;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(ctx, "user_items row 0: indices[1] = 1 is not above the one before"));
    r.indices = far;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(ctx, "user_items"));
    r.indices = unsorted;
    r.indptr = bad_ip;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(ctx, "user_items.indptr"));
    ck_assert_int_eq(irllrec_graph_create(ctx, NULL, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(hafx_msg_has(ctx, "user_items is NULL"));
    r.indptr = ip;
    r.n_cols = 0;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_graph_adjacency(NULL, NULL), IRLLREC_E_INVALID_ARG);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *hook_api_suite(void)
{
    Suite *s = suite_create("hook_api");
    TCase *tc = tcase_create("v2");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, compute_is_repeatable_and_apply_commits);
    tcase_add_test(tc, external_optimizer_matches_the_hooks_adam);
    tcase_add_test(tc, rows_equal_dense_batch_terms);
    tcase_add_test(tc, rows_equal_dense_sampled_translation);
    tcase_add_test(tc, rows_equal_dense_exact_translation);
    tcase_add_test(tc, parameters_by_name);
    tcase_add_test(tc, optimizer_settings_take_effect);
    tcase_add_test(tc, memory_estimate_matches_the_allocator);
    tcase_add_test(tc, graph_builder_hand_computed);
    tcase_add_test(tc, graph_builder_refuses_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
