/* ITM pair: init_equal semantics, EMA arithmetic, CE against hand values,
 * dX against finite differences and the closed form, no allocation in the
 * hot path, bad inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "tower/tower.h"
#include "helpers/testutil.h"
#include "helpers/gradcheck.h"

enum { IN = 5, OUT = 3, ROWS = 4 };

static irllrec_mlp *make_student(irllrec_ctx *ctx, uint64_t seed)
{
    irllrec_mlp_spec s;
    irllrec_mlp *m = NULL;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = IN;
    s.out_dim = OUT;
    s.max_rows = ROWS;
    s.seed = seed;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    return m;
}

static irllrec_itm *make_itm(irllrec_ctx *ctx, irllrec_mlp *st, int init_equal, double m,
                             uint64_t seed)
{
    irllrec_itm_spec s;
    irllrec_itm *itm = NULL;
    irllrec_itm_spec_init(&s, sizeof s);
    s.init_equal = init_equal;
    s.momentum = m;
    s.seed = seed;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_OK);
    return itm;
}

static int blocks_equal(irllrec_mlp *a, irllrec_mlp *b)
{
    irllrec__param *pa, *pb;
    int na, nb;
    irllrec__mlp_params(a, &pa, &na);
    irllrec__mlp_params(b, &pb, &nb);
    for (int i = 0; i < na; i++)
        if (memcmp(pa[i].data, pb[i].data, sizeof(float) * (size_t)(pa[i].rows * pa[i].cols)) != 0)
            return 0;
    return 1;
}

START_TEST(itm_spec_defaults)
{
    irllrec_itm_spec s;
    irllrec_itm_spec_init(&s, sizeof s);
    ck_assert_int_eq(s.init_equal, 1);
    ck_assert_double_eq(s.momentum, 0.999);
    ck_assert_double_eq(s.alpha, 0.6);
    ck_assert_uint_eq(s.struct_size, sizeof s);
}
END_TEST

START_TEST(itm_init_equal_semantics)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 5);
    irllrec_itm *eq = make_itm(ctx, st, 1, 0.999, 5);
    irllrec_itm *re = make_itm(ctx, st, 0, 0.999, 5);
    irllrec_itm *re2 = make_itm(ctx, st, 0, 0.999, 5);
    irllrec_itm *re3 = make_itm(ctx, st, 0, 0.999, 6);
    irllrec__param *pt;
    int n;
    ck_assert(blocks_equal(irllrec_itm_teacher(eq), st));
    /* re-initialised: differs from the student even with the same seed value,
     * reproducible for one seed, different for another */
    ck_assert(!blocks_equal(irllrec_itm_teacher(re), st));
    ck_assert(blocks_equal(irllrec_itm_teacher(re), irllrec_itm_teacher(re2)));
    ck_assert(!blocks_equal(irllrec_itm_teacher(re), irllrec_itm_teacher(re3)));
    irllrec__itm_teacher_params(eq, &pt, &n);
    ck_assert_int_eq(n, 4);
    ck_assert_ptr_null(pt[0].grad);
    ck_assert_str_eq(pt[0].name, "mlp_m.0.weight");
    ck_assert_ptr_null(irllrec_itm_teacher(NULL));
    irllrec_itm_free(eq);
    irllrec_itm_free(re);
    irllrec_itm_free(re2);
    irllrec_itm_free(re3);
    irllrec_itm_free(NULL);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
}
END_TEST

static void set_all(irllrec_mlp *m, float v)
{
    irllrec__param *p;
    int n;
    irllrec__mlp_params(m, &p, &n);
    for (int i = 0; i < n; i++)
        for (int64_t j = 0; j < p[i].rows * p[i].cols; j++) p[i].data[j] = v;
}

START_TEST(itm_ema_arithmetic)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 1);
    irllrec_itm *itm = make_itm(ctx, st, 1, 0.9, 0);
    irllrec_mlp *t = irllrec_itm_teacher(itm);
    float w[4 * IN];  /* hidden = (IN + OUT) / 2 = 4 */
    set_all(st, 1.0f);
    set_all(t, 0.0f);
    ck_assert_int_eq(irllrec_itm_update_teacher(itm), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_param(t, IRLLREC_MLP_W1, irllrec_mat_dense(w, 4, IN)), IRLLREC_OK);
    for (int i = 0; i < 4 * IN; i++) ck_assert_float_eq_tol(w[i], 0.1f, 1e-7f);
    ck_assert_int_eq(irllrec_itm_update_teacher(itm), IRLLREC_OK);
    irllrec_mlp_get_param(t, IRLLREC_MLP_B2, irllrec_mat_dense(w, 1, OUT));
    for (int i = 0; i < OUT; i++) ck_assert_float_eq_tol(w[i], 0.19f, 1e-7f);  /* 0.9*0.1 + 0.1 */
    irllrec_mlp_get_param(st, IRLLREC_MLP_B2, irllrec_mat_dense(w, 1, OUT));
    for (int i = 0; i < OUT; i++) ck_assert_float_eq(w[i], 1.0f);  /* student untouched */
    /* the default momentum: 0.999 * 0.19 + 0.001 * 1 */
    ck_assert_int_eq(irllrec_itm_set_momentum(itm, 0.999), IRLLREC_OK);
    ck_assert_double_eq(irllrec_itm_momentum(itm), 0.999);
    irllrec_itm_update_teacher(itm);
    irllrec_mlp_get_param(t, IRLLREC_MLP_W2, irllrec_mat_dense(w, OUT, 4));
    for (int i = 0; i < OUT * 4; i++) ck_assert_float_eq_tol(w[i], 0.999f * 0.19f + 0.001f, 1e-7f);
    /* m = 1 freezes, m = 0 copies */
    irllrec_itm_set_momentum(itm, 1.0);
    irllrec_itm_update_teacher(itm);
    irllrec_mlp_get_param(t, IRLLREC_MLP_W2, irllrec_mat_dense(w, OUT, 4));
    ck_assert_float_eq_tol(w[0], 0.999f * 0.19f + 0.001f, 1e-7f);
    irllrec_itm_set_momentum(itm, 0.0);
    irllrec_itm_update_teacher(itm);
    ck_assert(blocks_equal(t, st));
    ck_assert_int_eq(irllrec_itm_set_momentum(itm, 1.5), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_set_momentum(itm, NAN), IRLLREC_E_INVALID_ARG);
    ck_assert_double_eq(irllrec_itm_momentum(itm), 0.0);
    ck_assert_double_eq(irllrec_itm_alpha(itm), 0.6);
    ck_assert_double_eq(irllrec_itm_momentum(NULL), -1.0);
    ck_assert_int_eq(irllrec_itm_update_teacher(NULL), IRLLREC_E_INVALID_ARG);
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
}
END_TEST

/* A teacher whose output is the constant b2 (W2 = 0), so Xm is known exactly. */
static void constant_teacher(irllrec_itm *itm, const float *b2)
{
    irllrec_mlp *t = irllrec_itm_teacher(itm);
    float zero[OUT * 4] = {0};
    int32_t hid;
    irllrec_mlp_dims(t, NULL, &hid, NULL);
    ck_assert_int_eq(hid, 4);
    ck_assert_int_eq(irllrec_mlp_set_param(t, IRLLREC_MLP_W2, irllrec_mat_dense(zero, OUT, 4)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_set_param(t, IRLLREC_MLP_B2, irllrec_mat_dense((float *)b2, 1, OUT)),
                     IRLLREC_OK);
}

START_TEST(itm_ce_and_grad_hand)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 1);
    irllrec_itm *itm = make_itm(ctx, st, 1, 0.999, 0);
    /* teacher logits [0, ln 3, 0] -> q = [1/5, 3/5, 1/5] */
    const float b2[OUT] = {0.0f, logf(3.0f), 0.0f};
    float t[2 * IN] = {0}, x[2 * OUT] = {0.0f, 0.0f, 0.0f, logf(2.0f), 0.0f, 0.0f};
    float dx[2 * OUT] = {0};
    double ce, ref0, ref1;
    constant_teacher(itm, b2);
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, 2, IN), irllrec_mat_dense(x, 2, OUT), &ce),
                     IRLLREC_OK);
    /* row 0: log_softmax = -ln 3 everywhere -> CE = ln 3
     * row 1: log_softmax = [ln(2/4), ln(1/4), ln(1/4)] */
    ref0 = log(3.0);
    ref1 = -(0.2 * log(0.5) + 0.6 * log(0.25) + 0.2 * log(0.25));
    ck_assert_double_eq_tol(ce, (ref0 + ref1) / 2, 1e-6);
    ck_assert_int_eq(irllrec_itm_backward(itm, 3.0, irllrec_mat_dense(dx, 2, OUT)), IRLLREC_OK);
    /* dx = 3 * (p - q) / 2 */
    ck_assert_float_eq_tol(dx[0], 1.5f * (1.0f / 3 - 0.2f), 1e-6f);
    ck_assert_float_eq_tol(dx[1], 1.5f * (1.0f / 3 - 0.6f), 1e-6f);
    ck_assert_float_eq_tol(dx[3], 1.5f * (0.5f - 0.2f), 1e-6f);
    ck_assert_float_eq_tol(dx[4], 1.5f * (0.25f - 0.6f), 1e-6f);
    /* accumulates */
    ck_assert_int_eq(irllrec_itm_backward(itm, 3.0, irllrec_mat_dense(dx, 2, OUT)), IRLLREC_OK);
    ck_assert_float_eq_tol(dx[4], 3.0f * (0.25f - 0.6f), 1e-6f);
    /* equal distributions give CE = entropy of q and zero gradient */
    {
        float xq[OUT] = {0.0f, logf(3.0f), 0.0f}, d1[OUT] = {0};
        ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, 1, IN), irllrec_mat_dense(xq, 1, OUT), &ce),
                         IRLLREC_OK);
        ck_assert_double_eq_tol(ce, -(0.4 * log(0.2) + 0.6 * log(0.6)), 1e-6);
        irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(d1, 1, OUT));
        for (int c = 0; c < OUT; c++) ck_assert_float_eq_tol(d1[c], 0.0f, 1e-7f);
    }
    /* max subtraction: huge logits stay finite */
    {
        float xb[OUT] = {1000.0f, 0.0f, -1000.0f};
        ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, 1, IN), irllrec_mat_dense(xb, 1, OUT), &ce),
                         IRLLREC_OK);
        ck_assert_double_eq_tol(ce, 0.6 * 1000 + 0.2 * 2000, 1e-3);
    }
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct itm_gc {
    irllrec_itm *itm;
    float *t, *x;
} itm_gc;

static double itm_loss(void *ud)
{
    itm_gc *g = (itm_gc *)ud;
    double ce;
    ck_assert_int_eq(irllrec_itm_forward(g->itm, irllrec_mat_dense(g->t, ROWS, IN),
                                         irllrec_mat_dense(g->x, ROWS, OUT), &ce), IRLLREC_OK);
    return ce;
}

START_TEST(itm_backward_gradcheck)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 1);
    irllrec_itm *itm = make_itm(ctx, st, 0, 0.999, 3);
    irllrec__rng rng;
    float t[ROWS * IN], x[ROWS * OUT], dx[ROWS * OUT] = {0};
    itm_gc g = {itm, t, x};
    gc_block bl;
    gc_result res;
    irllrec__rng_seed(&rng, 41, 0);
    for (int i = 0; i < ROWS * IN; i++) t[i] = (float)(4 * irllrec__rng_uniform(&rng) - 2);
    for (int i = 0; i < ROWS * OUT; i++) x[i] = (float)(4 * irllrec__rng_uniform(&rng) - 2);
    itm_loss(&g);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_OK);
    bl = (gc_block){"X", x, dx, ROWS * OUT};
    ck_assert_msg(gc_check(itm_loss, &g, &bl, 1, NULL, &res), "%s", res.msg);
    ck_assert_int_eq(res.n_checked, ROWS * OUT);
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
}
END_TEST

/* The composition the hook uses: X = student(T), CE(X, teacher(T)),
 * dX from the pair, then the student's backward: gradients w.r.t. the
 * student's parameters against finite differences. */
typedef struct chain_gc {
    irllrec_mlp *st;
    irllrec_itm *itm;
    float *t, *x;
} chain_gc;

static double chain_loss(void *ud)
{
    chain_gc *g = (chain_gc *)ud;
    double ce;
    ck_assert_int_eq(irllrec_mlp_forward(g->st, irllrec_mat_dense(g->t, ROWS, IN),
                                         irllrec_mat_dense(g->x, ROWS, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_itm_forward(g->itm, irllrec_mat_dense(g->t, ROWS, IN),
                                         irllrec_mat_dense(g->x, ROWS, OUT), &ce), IRLLREC_OK);
    return ce;
}

START_TEST(itm_student_chain_gradcheck)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 2);
    irllrec_itm *itm = make_itm(ctx, st, 0, 0.999, 4);
    irllrec__rng rng;
    float t[ROWS * IN], x[ROWS * OUT], dx[ROWS * OUT] = {0};
    float gw1[4 * IN], gw2[OUT * 4], gb2[OUT];
    chain_gc g = {st, itm, t, x};
    irllrec__param *p;
    int n;
    gc_block bl[3];
    gc_opts o;
    gc_result res;
    irllrec__rng_seed(&rng, 42, 0);
    for (int i = 0; i < ROWS * IN; i++) t[i] = (float)(4 * irllrec__rng_uniform(&rng) - 2);
    irllrec__mlp_params(st, &p, &n);
    for (int64_t i = 0; i < p[2].rows * p[2].cols; i++) p[2].data[i] *= 3.0f;  /* livelier logits */
    chain_loss(&g);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward(st, irllrec_mat_dense(t, ROWS, IN), irllrec_mat_dense(dx, ROWS, OUT),
                                          (irllrec_mat){NULL, 0, 0, 0}), IRLLREC_OK);
    irllrec_mlp_get_grad(st, IRLLREC_MLP_W1, irllrec_mat_dense(gw1, 4, IN));
    irllrec_mlp_get_grad(st, IRLLREC_MLP_W2, irllrec_mat_dense(gw2, OUT, 4));
    irllrec_mlp_get_grad(st, IRLLREC_MLP_B2, irllrec_mat_dense(gb2, 1, OUT));
    bl[0] = (gc_block){"W1", p[0].data, gw1, 4 * IN};
    bl[1] = (gc_block){"W2", p[2].data, gw2, OUT * 4};
    bl[2] = (gc_block){"b2", p[3].data, gb2, OUT};
    /* W1 gradients here are ~4e-4: at h = 1e-3 the float32 forward's noise
     * (~2e-5 after the division) is 5 % of that; h = 3e-3 (STYLE's range) */
    gc_opts_default(&o);
    o.rel_step = 3e-3;
    ck_assert_msg(gc_check(chain_loss, &g, bl, 3, &o, &res), "%s", res.msg);
    ck_assert_int_eq(res.n_checked, 4 * IN + OUT * 4 + OUT);
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(itm_hot_path_allocates_nothing)
{
    tu_alloc_state s = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&s);
    irllrec_mlp *st = make_student(ctx, 1);
    irllrec_itm *itm = make_itm(ctx, st, 1, 0.999, 0);
    float t[ROWS * IN] = {0}, x[ROWS * OUT] = {0}, dx[ROWS * OUT] = {0};
    double ce;
    int64_t before = s.n_alloc;
    for (int it = 0; it < 3; it++) {
        ck_assert_int_eq(irllrec_itm_update_teacher(itm), IRLLREC_OK);
        ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN),
                                             irllrec_mat_dense(x, ROWS, OUT), &ce), IRLLREC_OK);
        ck_assert_int_eq(irllrec_itm_backward(itm, 0.6, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_OK);
    }
    ck_assert_int_eq(s.n_alloc, before);
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(s.live_bytes, 0);
}
END_TEST

START_TEST(itm_create_failures_leak_nothing)
{
    for (int64_t k = 1; k < 20; k++) {
        tu_alloc_state s = {0};
        irllrec_ctx *ctx = tu_ctx_counting(&s);
        irllrec_mlp *st = make_student(ctx, 1);
        irllrec_itm_spec sp;
        irllrec_itm *itm = (irllrec_itm *)1;
        int64_t base = s.live_bytes;
        irllrec_status rc;
        irllrec_itm_spec_init(&sp, sizeof sp);
        s.fail_at = s.n_alloc + k;
        rc = irllrec_itm_create(ctx, &sp, st, &itm);
        if (rc == IRLLREC_OK) {
            irllrec_itm_free(itm);
            irllrec_mlp_free(st);
            irllrec_ctx_free(ctx);
            ck_assert_int_gt(k, 4);
            return;
        }
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(itm);
        ck_assert_int_eq(s.live_bytes, base);
        irllrec_mlp_free(st);
        irllrec_ctx_free(ctx);
    }
    ck_abort_msg("create never succeeded");
}
END_TEST

START_TEST(itm_bad_inputs_change_nothing)
{
    irllrec_ctx *ctx = tu_ctx(), *other = tu_ctx();
    irllrec_mlp *st = make_student(ctx, 1);
    irllrec_itm_spec s;
    irllrec_itm *itm = NULL;
    float t[(ROWS + 1) * IN] = {0}, x[(ROWS + 1) * OUT] = {0}, dx[ROWS * OUT];
    double ce = 42.0;
    irllrec_itm_spec_init(&s, sizeof s);
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, NULL, &itm), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_create(ctx, NULL, st, &itm), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_create(other, &s, st, &itm), IRLLREC_E_INVALID_ARG);
    s.momentum = 1.5;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_E_INVALID_ARG);
    s.momentum = 0.999;
    s.alpha = -0.1;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_E_INVALID_ARG);
    s.alpha = 0.6;
    s.init_equal = 2;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_E_INVALID_ARG);
    s.init_equal = 1;
    s.struct_size = 3;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_E_VERSION);
    ck_assert_ptr_null(itm);
    s.struct_size = sizeof s;
    ck_assert_int_eq(irllrec_itm_create(ctx, &s, st, &itm), IRLLREC_OK);

    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_itm_forward(NULL, irllrec_mat_dense(t, ROWS, IN), irllrec_mat_dense(x, ROWS, OUT), &ce),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS + 1, IN),
                                         irllrec_mat_dense(x, ROWS + 1, OUT), &ce), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN - 1),
                                         irllrec_mat_dense(x, ROWS, OUT), &ce), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN),
                                         irllrec_mat_dense(x, ROWS - 1, OUT), &ce), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN),
                                         (irllrec_mat){x, ROWS, OUT, OUT - 1}, &ce), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_itm_forward(itm, (irllrec_mat){NULL, ROWS, IN, IN},
                                         irllrec_mat_dense(x, ROWS, OUT), &ce), IRLLREC_E_INVALID_ARG);
    ck_assert_double_eq(ce, 42.0);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_E_STATE);
    /* a non-finite student output: E_NUMERIC, then backward refuses */
    x[1] = INFINITY;
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN), irllrec_mat_dense(x, ROWS, OUT), &ce),
                     IRLLREC_E_NUMERIC);
    ck_assert_double_eq(ce, 42.0);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_E_STATE);
    x[1] = 0.0f;
    ck_assert_int_eq(irllrec_itm_forward(itm, irllrec_mat_dense(t, ROWS, IN), irllrec_mat_dense(x, ROWS, OUT), NULL),
                     IRLLREC_OK);
    for (int i = 0; i < ROWS * OUT; i++) dx[i] = 5.0f;
    ck_assert_int_eq(irllrec_itm_backward(itm, NAN, irllrec_mat_dense(dx, ROWS, OUT)), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, irllrec_mat_dense(dx, ROWS - 1, OUT)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_itm_backward(itm, 1.0, (irllrec_mat){dx, ROWS, OUT, 1}), IRLLREC_E_SHAPE);
    for (int i = 0; i < ROWS * OUT; i++) ck_assert_float_eq(dx[i], 5.0f);
    /* the teacher takes no gradients */
    ck_assert_int_eq(irllrec_mlp_backward(irllrec_itm_teacher(itm), irllrec_mat_dense(t, ROWS, IN),
                                          irllrec_mat_dense(x, ROWS, OUT), (irllrec_mat){NULL, 0, 0, 0}),
                     IRLLREC_E_STATE);
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
    irllrec_ctx_free(other);
}
END_TEST

Suite *itm_suite(void)
{
    Suite *s = suite_create("itm");
    TCase *tc = tcase_create("itm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, itm_spec_defaults);
    tcase_add_test(tc, itm_init_equal_semantics);
    tcase_add_test(tc, itm_ema_arithmetic);
    tcase_add_test(tc, itm_ce_and_grad_hand);
    tcase_add_test(tc, itm_backward_gradcheck);
    tcase_add_test(tc, itm_student_chain_gradcheck);
    tcase_add_test(tc, itm_hot_path_allocates_nothing);
    tcase_add_test(tc, itm_create_failures_leak_nothing);
    tcase_add_test(tc, itm_bad_inputs_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
