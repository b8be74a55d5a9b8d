/* The hook end to end (fixture: helpers/hook_fx.c): finite differences
 * w.r.t. the host's embeddings and the hook's parameters, terms switching
 * off, transactional failure, no allocation in a step, argument checking.
 * Presets, learning, determinism and threads: test_hook_run.c. */
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


static double hk_loss(void *ud)
{
    hk *k = (hk *)ud;
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(k, HK_LOSS, k->sgf, k->sgl, &lv), IRLLREC_OK);
    k->sign_prev = k->sign_last;
    k->sign_last = irllrec__hook_preact_signs(k->h);
    return lv.total;
}

/* gradcheck skip predicate: a LeakyReLU pre-activation changed sign between
 * the x+h and x-h evaluations, so a kink lies inside the central difference. */
static int hk_kink(void *ud, int block, int64_t index)
{
    hk *k = (hk *)ud;
    (void)block;
    (void)index;
    return k->sign_prev != k->sign_last;
}

static void fd_check(hk *k)
{
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(k, HK_GRADS, k->gf, k->gl, &lv), IRLLREC_OK);
    ck_assert(lv.kd > 0.0 || k->dp == 0);
    gc_block blocks[2] = {{"E_final", k->ef, k->gf, k->N * k->d},
                          {"E(l)", k->lay, k->gl, k->L * k->N * k->d}};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 1e-4;
    gc_check(hk_loss, k, blocks, k->L > 0 ? 2 : 1, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 20);
    /* the check must not be vacuous: some gradient is large */
    double mx = 0.0;
    for (int64_t i = 0; i < k->N * k->d; i++) mx = fmax(mx, fabs(k->gf[i]));
    ck_assert(mx > 1e-2);
    if (k->L > 0) {
        mx = 0.0;
        for (int64_t i = 0; i < k->L * k->N * k->d; i++) mx = fmax(mx, fabs(k->gl[i]));
        ck_assert(mx > 1e-2);
    }
}

START_TEST(fd_host_embeddings_graph)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 1);
    hk_strong(&k);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_released_preset)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 1);
    hk_strong(&k);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_graph_free)
{
    hk k;
    hk_make(&k, 0, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 2);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0), IRLLREC_OK);
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(&k, HK_LOSS, k.sgf, k.sgl, &lv), IRLLREC_OK);
    ck_assert(lv.tran > 0.0 && lv.itm > 0.0 && lv.pair > 0.0);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_sampled_translation)
{
    hk k;
    hk_make(&k, 1, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 3);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_SAMPLES, 5), IRLLREC_OK);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

/* Finite differences w.r.t. the hook's own parameters (text MLPs and
 * prototypes). The analytic gradients are copied out first: the loss closure
 * re-runs the step, which rewrites the hook's gradient buffers. */
static void fd_params(hk *k)
{
    irllrec_hook_losses lv;
    irllrec_hook_block p[32];
    /* With 4 hidden units a text row has all of them negative 1 time in 16,
     * and its output then has norm ~0.01, where n(v) is so curved that
     * h = 1e-3 truncation dominates (measured: the error shrinks as h does).
     * Output biases of 0.7 keep every row's norm O(1). */
    /* The teacher's EMA runs before its forward, from the student being
     * perturbed, so a finite difference of the loss also sees the stop-
     * gradient path through the teacher ((1 - m) dL/dθ_m: up to 1e-4 here,
     * e.g. int.w2[9] num -1.83e-3 vs ana -1.73e-3). A frozen teacher (m = 1)
     * leaves only the gradient the hook computes. */
    ck_assert_int_eq(irllrec_hook_set_param(k->h, IRLLREC_HOOK_MOMENTUM, 1.0), IRLLREC_OK);
    int nb = hk_blocks(k->h, p, 32);
    for (int i = 0; i < nb; i++)
        if (p[i].grad != NULL && strstr(p[i].name, ".b2") != NULL)
            for (int64_t j = 0; j < p[i].rows * p[i].cols; j++) p[i].data[j] = 0.7f;
    /* a gradient compute (into scratch host buffers) fills the blocks' grads */
    ck_assert_int_eq(hk_run_into(k, HK_GRADS, k->sgf, k->sgl, &lv), IRLLREC_OK);
    nb = hk_blocks(k->h, p, 32);
    gc_block blocks[32];
    float *copies[32];
    int n = 0;
    for (int i = 0; i < nb; i++) {
        if (p[i].grad == NULL) continue;  /* teacher */
        ck_assert(p[i].trainable);
        const int64_t cnt = p[i].rows * p[i].cols;
        copies[n] = malloc((size_t)cnt * 4);
        memcpy(copies[n], p[i].grad, (size_t)cnt * 4);
        blocks[n] = (gc_block){p[i].name, p[i].data, copies[n], cnt};
        n++;
    }
    ck_assert_int_gt(n, 0);
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 1e-4;
    o.skip = hk_kink;
    o.skip_ud = k;
    gc_check(hk_loss, k, blocks, n, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 10 * res.n_skipped);
    for (int i = 0; i < n; i++) free(copies[i]);
}

START_TEST(fd_hook_parameters_batch_rows)
{
    /* L_tran and ITM off: the intent tower runs on all users + the batch's
     * distinct items (the dedup path), as the profile tower always does. */
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 12);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_TRAN, 0.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_ITM, 0.0), IRLLREC_OK);
    fd_check(&k);
    fd_params(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_hook_parameters_all_rows)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 13);
    hk_strong(&k);
    fd_params(&k);
    hk_free(&k);
}
END_TEST

START_TEST(terms_switch_off_without_text)
{
    irllrec_hook_losses lv;
    hk k;
    /* no text at all: nothing but reg over no parameters */
    hk_make(&k, 2, 0, 0, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd == 0.0 && lv.pair == 0.0 && lv.tran == 0.0 && lv.itm == 0.0 && lv.total == 0.0);
    for (int64_t i = 0; i < k.N * k.d; i++) ck_assert(k.gf[i] == 0.0f);
    hk_free(&k);
    /* profiles only: L_kd and nothing from the intent side */
    hk_make(&k, 2, 5, 0, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd > 0.0 && lv.pair == 0.0 && lv.tran == 0.0 && lv.itm == 0.0);
    ck_assert_double_eq_tol(lv.total, lv.kd + lv.reg, 1e-12);
    for (int64_t i = 0; i < k.L * k.N * k.d; i++) ck_assert(k.gl[i] == 0.0f);
    hk_free(&k);
    /* intents only: no L_kd */
    hk_make(&k, 2, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd == 0.0 && lv.pair > 0.0 && lv.tran > 0.0 && lv.itm > 0.0);
    /* weight 0 switches a term off too; graph-free hosts lose tran/ITM by default */
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_PAIR, 0.0), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.pair == 0.0 && lv.tran > 0.0);
    hk_free(&k);
    hk_make(&k, 0, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.pair > 0.0 && lv.tran == 0.0 && lv.itm == 0.0);
    hk_free(&k);
}
END_TEST

/* Copy of every parameter block (student and teacher), concatenated. */
static float *snapshot(irllrec_hook *h, int64_t *n)
{
    irllrec_hook_block p[32];
    int nb = hk_blocks(h, p, 32);
    int64_t tot = 0;
    for (int i = 0; i < nb; i++) tot += p[i].rows * p[i].cols;
    float *s = malloc((size_t)tot * 4), *o = s;
    for (int i = 0; i < nb; i++) {
        memcpy(o, p[i].data, (size_t)(p[i].rows * p[i].cols) * 4);
        o += p[i].rows * p[i].cols;
    }
    *n = tot;
    return s;
}

START_TEST(failed_step_changes_nothing)
{
    hk k, twin;
    irllrec_hook_losses lv, lt;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 5);
    hk_make(&twin, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 5);
    hk_strong(&k);
    hk_strong(&twin);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&twin, &lt), IRLLREC_OK);
    const int64_t nd = k.N * k.d;
    for (int64_t i = 0; i < nd; i++) k.gf[i] = twin.gf[i] = (float)i;
    int64_t np;
    float *before = snapshot(k.h, &np);
    float *gf0 = malloc((size_t)nd * 4), *gl0 = malloc((size_t)(2 * nd) * 4);
    memcpy(gf0, k.gf, (size_t)nd * 4);
    memcpy(gl0, k.gl, (size_t)(2 * nd) * 4);
    memset(&lv, 0x5a, sizeof lv);
    lv.struct_size = sizeof lv;
    irllrec_hook_losses lv0 = lv;

    /* (1) a non-finite input, caught up front */
    const float keep = k.ef[3];
    k.ef[3] = NAN;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    k.ef[3] = keep;
    k.lay[nd + 5] = INFINITY;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    k.lay[nd + 5] = 0.25f;
    twin.lay[nd + 5] = 0.25f;

    /* (2) finite inputs whose loss overflows: caught after the compute */
    irllrec_hook_block p[32];
    int nb = hk_blocks(k.h, p, 32);
    ck_assert_str_eq(p[0].name, "prf.w1");
    float *w1copy = malloc((size_t)(p[0].rows * p[0].cols) * 4);
    memcpy(w1copy, p[0].data, (size_t)(p[0].rows * p[0].cols) * 4);
    for (int64_t i = 0; i < p[0].rows * p[0].cols; i++) p[0].data[i] = 3e38f;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    ck_assert(strstr(irllrec_ctx_errmsg(k.ctx), "non-finite") != NULL);
    memcpy(p[0].data, w1copy, (size_t)(p[0].rows * p[0].cols) * 4);
    (void)nb;

    int64_t np2;
    float *after = snapshot(k.h, &np2);
    ck_assert_int_eq(np, np2);
    ck_assert(memcmp(before, after, (size_t)np * 4) == 0);
    ck_assert(memcmp(gf0, k.gf, (size_t)nd * 4) == 0);
    ck_assert(memcmp(gl0, k.gl, (size_t)(2 * nd) * 4) == 0);
    ck_assert(memcmp(&lv, &lv0, sizeof lv) == 0);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);
    /* v2: a failed compute leaves nothing for apply to commit */
    ck_assert_int_eq(irllrec_hook_apply(k.h, 0), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);

    /* Adam moments and RNG untouched: the next step matches the twin bit for bit. */
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&twin, &lt), IRLLREC_OK);
    ck_assert(memcmp(&lv, &lt, sizeof lv) == 0);
    ck_assert(memcmp(k.gf, twin.gf, (size_t)nd * 4) == 0);
    float *s1 = snapshot(k.h, &np), *s2 = snapshot(twin.h, &np2);
    ck_assert(memcmp(s1, s2, (size_t)np * 4) == 0);
    free(before); free(after); free(gf0); free(gl0); free(w1copy); free(s1); free(s2);
    hk_free(&k);
    hk_free(&twin);
}
END_TEST

START_TEST(step_allocates_nothing)
{
    hk k;
    irllrec_hook_losses lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 6);
    hk_strong(&k);
    const int64_t n0 = k.st.n_alloc, f0 = k.st.n_free;
    for (int i = 0; i < 3; i++) ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_SAMPLES, 4), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    k.ef[0] = NAN;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    ck_assert_int_eq(k.st.n_alloc, n0);
    ck_assert_int_eq(k.st.n_free, f0);
    hk_free(&k);
    ck_assert_int_eq(k.st.live_bytes, 0);
}
END_TEST

START_TEST(create_fails_cleanly_at_every_allocation)
{
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 4;
    s.n_items = 5;
    s.dim = 3;
    s.n_intents = 3;
    s.n_layers = 2;
    s.max_batch = 4;
    s.profile_dim = 5;
    s.intent_dim = 6;
    int succeeded = 0;
    for (int64_t k = 1; k < 200 && !succeeded; k++) {
        tu_alloc_state st = {0};
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        ck_assert_ptr_nonnull(ctx);
        st.fail_at = st.n_alloc + k;
        irllrec_hook *h = (irllrec_hook *)&st;  /* must be overwritten with NULL on failure */
        irllrec_status rc = irllrec_hook_create(ctx, &s, &h);
        if (rc == IRLLREC_OK) {
            succeeded = 1;
            irllrec_hook_free(h);
        } else {
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            ck_assert_ptr_null(h);
        }
        irllrec_ctx_free(ctx);
        ck_assert_int_eq(st.live_bytes, 0);
    }
    ck_assert(succeeded);
}
END_TEST

START_TEST(bad_arguments)
{
    hk k;
    irllrec_hook_losses lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 7);
    const int64_t U = k.U, I = k.I, N = k.N, d = k.d;
    const irllrec_cmat uf = irllrec_cmat_dense(k.ef, U, d);
    const irllrec_cmat itf = irllrec_cmat_dense(k.ef + U * d, I, d);
    const irllrec_mat ug = irllrec_mat_dense(k.gf, U, d), ig = irllrec_mat_dense(k.gf + U * d, I, d);
    irllrec_cmat lay[2] = {irllrec_cmat_dense(k.lay, N, d), irllrec_cmat_dense(k.lay + N * d, N, d)};
    const irllrec_hook_batch bt = {3, k.users, k.pos, k.neg};
    const irllrec_hook_inputs in = {uf, itf, lay};
    const irllrec_hook_grads gr = {sizeof gr, IRLLREC_HOOK_GRAD_DENSE, ug, ig, NULL};
    irllrec_hook_batch bb;
    irllrec_hook_inputs ib;
    irllrec_hook_grads gb;
    lv.struct_size = sizeof lv;
#define STEP(B_, IN_, G_) irllrec_hook_step(k.h, (B_), (IN_), (G_), &lv)
#define ERRMSG_IS(s_) ck_assert_msg(strcmp(irllrec_ctx_errmsg(k.ctx), (s_)) == 0, "message: %s", \
                                    irllrec_ctx_errmsg(k.ctx))
    ck_assert_int_eq(irllrec_hook_step(NULL, &bt, &in, &gr, &lv), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(STEP(NULL, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch is NULL");
    ck_assert_int_eq(STEP(&bt, NULL, &gr), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(STEP(&bt, &in, NULL), IRLLREC_E_INVALID_ARG);  /* only LOSS_ONLY takes none */
    bb = bt;
    bb.users = NULL;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->users is NULL");
    bb = bt;
    bb.count = 0;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_SHAPE);
    bb.count = MAXB + 1;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_SHAPE);
    ib = in;
    ib.layers = NULL;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_INVALID_ARG);
    ib = in;
    ib.user_final.rows = U - 1;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    ERRMSG_IS("irllrec_hook_compute: in->user_final is 3 x 3, expected 4 x 3");
    ib = in;
    ib.item_final.ld = d - 1;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    gb = gr;
    gb.user_grad.data = NULL;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: grads->user_grad.data is NULL");
    gb = gr;
    gb.user_grad = irllrec_mat_dense(k.ef, U, d);
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);  /* gradient aliases its input */
    gb = gr;
    gb.item_grad = irllrec_mat_dense(k.ef + U * d - 1, I, d);  /* one float into uf */
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    irllrec_mat lgo[2] = {irllrec_mat_dense(k.gl, N, d), irllrec_mat_dense(k.gl, N, d)};
    gb = gr;
    gb.layer_grads = lgo;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);  /* two layer gradients share memory */
    lv.struct_size = 4;
    ck_assert_int_eq(STEP(&bt, &in, &gr), IRLLREC_E_VERSION);
    lv.struct_size = sizeof lv;
    /* v2 arguments: the gradient struct's size and mode, compute's flags */
    gb = gr;
    gb.struct_size = 4;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_VERSION);
    gb = gr;
    gb.mode = 7;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_compute(k.h, &bt, &in, &gr, 2u, &lv), IRLLREC_E_INVALID_ARG);
    irllrec_cmat lbad[2] = {lay[0], lay[1]};
    lbad[1].cols = d + 1;
    lbad[1].ld = d + 1;
    ib = in;
    ib.layers = lbad;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    ERRMSG_IS("irllrec_hook_compute: in->layers[1] is 9 x 4, expected 9 x 3");
    int32_t bu[3] = {0, (int32_t)U, 1}, bi[3] = {0, -1, 2};
    bb = bt;
    bb.users = bu;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->users[1] = 4 not in [0, 4)");
    bb = bt;
    bb.pos = bi;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->pos[1] = -1 not in [0, 5)");
    bi[1] = (int32_t)I;
    bb = bt;
    bb.neg = bi;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->neg[1] = 5 not in [0, 5)");
    for (int64_t i = 0; i < N * d; i++) ck_assert(k.gf[i] == 0.0f);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 0);
    ck_assert_int_eq(STEP(&bt, &in, &gr), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);
#undef STEP
#undef ERRMSG_IS

    /* parameters */
    double lo, hi, v;
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_PAIR, -1.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TAU_KD, 0.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_ITM_ALPHA, NAN),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 0.5),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, (irllrec_hook_param)399, 1.0),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param(k.h, IRLLREC_HOOK_W_PAIR, &v), IRLLREC_OK);
    ck_assert(v == 2e-2);
    ck_assert_int_eq(irllrec_hook_param_bounds(IRLLREC_HOOK_ITM_ALPHA, &lo, &hi), IRLLREC_OK);
    ck_assert(lo == 0.0 && hi == 1.0);
    ck_assert_int_eq(irllrec_hook_param_bounds((irllrec_hook_param)5, &lo, &hi),
                     IRLLREC_E_INVALID_ARG);

    /* text and graph */
    float t[4 * 6];
    memset(t, 0, sizeof t);
    ck_assert_int_eq(irllrec_hook_set_text(k.h, IRLLREC_HOOK_USER_INTENT,
                                           irllrec_cmat_dense(t, 4, 5)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_hook_set_text(k.h, 4, irllrec_cmat_dense(t, 4, 6)),
                     IRLLREC_E_INVALID_ARG);
    t[7] = NAN;
    ck_assert_int_eq(irllrec_hook_set_text(k.h, IRLLREC_HOOK_USER_INTENT,
                                           irllrec_cmat_dense(t, 4, 6)), IRLLREC_E_NUMERIC);
    int32_t badix[1] = {(int32_t)N};
    int64_t badip[10] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    irllrec_csr g = {N, N, 1, badip, badix};
    ck_assert_int_eq(irllrec_hook_set_graph(k.h, &g), IRLLREC_E_INVALID_ARG);
    g.n_rows = N - 1;
    ck_assert_int_eq(irllrec_hook_set_graph(k.h, &g), IRLLREC_E_SHAPE);
    /* the failed calls left the hook working */
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    hk_free(&k);

    /* state: text announced but not set; graph missing */
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 4;
    s.n_items = 5;
    s.dim = 3;
    s.n_layers = 0;
    s.max_batch = 4;
    s.intent_dim = 6;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    float e[9 * 3] = {0}, ge[9 * 3] = {0};
    const int32_t u[1] = {0}, p[1] = {0};
    const irllrec_hook_batch b1 = {1, u, p, p};
    const irllrec_hook_inputs i1 = {irllrec_cmat_dense(e, 4, 3), irllrec_cmat_dense(e + 12, 5, 3),
                                    NULL};
    const irllrec_hook_grads g1 = {sizeof g1, IRLLREC_HOOK_GRAD_DENSE, irllrec_mat_dense(ge, 4, 3),
                                   irllrec_mat_dense(ge + 12, 5, 3), NULL};
    ck_assert_int_eq(irllrec_hook_step(h, &b1, &i1, &g1, NULL), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_set_text(h, IRLLREC_HOOK_USER_PROFILE,
                                           irllrec_cmat_dense(t, 4, 6)), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_set_graph(h, &g), IRLLREC_E_STATE);
    irllrec_hook_free(h);
    /* spec: bad values and an unknown non-zero tail */
    s.dim = 0;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(h);
    unsigned char big[sizeof s + 8];
    s.dim = 3;
    memset(big, 0, sizeof big);
    memcpy(big, &s, sizeof s);
    uint32_t bs = (uint32_t)sizeof big;
    memcpy(big, &bs, 4);
    big[sizeof s + 3] = 1;
    ck_assert_int_eq(irllrec_hook_create(ctx, (const irllrec_hook_spec *)(void *)big, &h),
                     IRLLREC_E_VERSION);
    big[sizeof s + 3] = 0;
    ck_assert_int_eq(irllrec_hook_create(ctx, (const irllrec_hook_spec *)(void *)big, &h),
                     IRLLREC_OK);
    irllrec_hook_free(h);
    irllrec_hook_free(NULL);
    ck_assert_int_eq(irllrec_hook_steps(NULL), -1);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

Suite *hook_suite(void)
{
    Suite *s = suite_create("hook");
    TCase *fd = tcase_create("gradients");
    tcase_set_timeout(fd, 60);
    tcase_add_test(fd, fd_host_embeddings_graph);
    tcase_add_test(fd, fd_host_embeddings_released_preset);
    tcase_add_test(fd, fd_host_embeddings_graph_free);
    tcase_add_test(fd, fd_host_embeddings_sampled_translation);
    tcase_add_test(fd, fd_hook_parameters_batch_rows);
    tcase_add_test(fd, fd_hook_parameters_all_rows);
    suite_add_tcase(s, fd);
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, terms_switch_off_without_text);
    tcase_add_test(tc, failed_step_changes_nothing);
    tcase_add_test(tc, step_allocates_nothing);
    tcase_add_test(tc, create_fails_cleanly_at_every_allocation);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
