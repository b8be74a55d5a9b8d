/* Adam / AdamW: values against an independent double-precision reference,
 * decoupled weight decay, state save/restore, validation, no allocation. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "optim/adam_internal.h"
#include "helpers/testutil.h"

/* Reference, written from the papers' formulas (Kingma & Ba Alg. 1;
 * Loshchilov & Hutter Alg. 2 with the schedule multiplier = lr):
 *   m_t = b1 m + (1-b1) g,  v_t = b2 v + (1-b2) g^2
 *   mhat = m_t / (1-b1^t),  vhat = v_t / (1-b2^t)
 *   p_t = p - lr*wd*p - lr * mhat / (sqrt(vhat) + eps)          */
typedef struct ref_adam {
    double lr, b1, b2, eps, wd;
    int t;
} ref_adam;

static void ref_update(const ref_adam *h, double *p, double *m, double *v, double g)
{
    double mhat, vhat, decay_term = h->lr * h->wd * *p;
    *m = h->b1 * *m + (1.0 - h->b1) * g;
    *v = h->b2 * *v + (1.0 - h->b2) * g * g;
    mhat = *m / (1.0 - pow(h->b1, h->t));
    vhat = *v / (1.0 - pow(h->b2, h->t));
    *p = *p - decay_term - h->lr * mhat / (sqrt(vhat) + h->eps);
}

static irllrec_adam *make(irllrec_ctx *ctx, double lr, double wd, const int64_t *sizes, int nb)
{
    irllrec_adam_spec s;
    irllrec_adam *a = NULL;
    irllrec_adam_spec_init(&s, sizeof s);
    s.lr = lr;
    s.weight_decay = wd;
    ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, nb, &a), IRLLREC_OK);
    return a;
}

START_TEST(two_steps_hand_computed)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t size = 4;
    float p[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    const float g1[4] = {0.1f, -0.2f, 3.0f, 0.0f}, g2[4] = {0.3f, 0.2f, -1.0f, 0.5f};
    double rp[4], rm[4] = {0}, rv[4] = {0};
    ref_adam h = {0.01, 0.9, 0.999, 1e-8, 0.0, 0};
    float *params[1] = {p};
    const float *grads[1];
    irllrec_adam *a = make(ctx, 0.01, 0.0, &size, 1);
    for (int i = 0; i < 4; i++) rp[i] = p[i];
    ck_assert_int_eq(irllrec_adam_steps(a), 0);

    grads[0] = g1;
    ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    /* Step 1: mhat = g, vhat = g^2, so p moves by lr * sign(g) (0 for g = 0). */
    ck_assert_double_eq_tol(p[0], 0.49, 1e-6);
    ck_assert_double_eq_tol(p[1], -0.99, 1e-6);
    ck_assert_double_eq_tol(p[2], 1.99, 1e-6);
    ck_assert_float_eq(p[3], 0.0f);
    h.t = 1;
    for (int i = 0; i < 4; i++) ref_update(&h, &rp[i], &rm[i], &rv[i], g1[i]);

    grads[0] = g2;
    ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_steps(a), 2);
    h.t = 2;
    for (int i = 0; i < 4; i++) {
        ref_update(&h, &rp[i], &rm[i], &rv[i], g2[i]);
        ck_assert_double_eq_tol(p[i], rp[i], 1e-6);
    }
    /* Element 0 by hand: m = 0.039, v = 9.999e-5, mhat = 0.039/0.19,
     * vhat = 9.999e-5/0.001999, p = 0.49 - 0.01 * mhat / sqrt(vhat). */
    ck_assert_double_eq_tol(p[0], 0.49 - 0.01 * (0.039 / 0.19) / sqrt(9.999e-5 / 0.001999),
                            1e-6);
    ck_assert_double_eq_tol(p[0], 0.4808222, 1e-6);
    irllrec_adam_free(a);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(weight_decay_is_decoupled)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t size = 3;
    float p[3] = {1.0f, -2.0f, 4.0f};
    const float zero[3] = {0, 0, 0}, g[3] = {0.5f, 0.5f, -0.25f};
    float *params[1] = {p};
    const float *grads[1] = {zero};
    double rp[3] = {1.0, -2.0, 4.0}, rm[3] = {0}, rv[3] = {0};
    ref_adam h = {0.01, 0.9, 0.999, 1e-8, 0.5, 1};
    irllrec_adam *a = make(ctx, 0.01, 0.5, &size, 1);
    /* Zero gradient: AdamW only shrinks p by (1 - lr*wd); Adam with L2 decay
     * would put wd*p into the moments and take a full lr-sized step. */
    ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    ck_assert_double_eq_tol(p[0], 0.995, 1e-7);
    ck_assert_double_eq_tol(p[1], -1.99, 1e-7);
    ck_assert_double_eq_tol(p[2], 3.98, 1e-7);
    for (int i = 0; i < 3; i++) ref_update(&h, &rp[i], &rm[i], &rv[i], 0.0);
    grads[0] = g;
    for (int t = 2; t <= 4; t++) {
        h.t = t;
        ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
        for (int i = 0; i < 3; i++) {
            ref_update(&h, &rp[i], &rm[i], &rv[i], g[i]);
            ck_assert_double_eq_tol(p[i], rp[i], 2e-6);
        }
    }
    irllrec_adam_free(a);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(several_blocks_match_reference)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t sizes[4] = {1, 7, 33, 1000};
    float *p[4], *g[4];
    double *rp[4], *rm[4], *rv[4];
    ref_adam h = {3e-3, 0.8, 0.99, 1e-6, 0.01, 0};
    irllrec_x_rng *rng = NULL;
    irllrec_adam_spec s;
    irllrec_adam *a = NULL;
    irllrec_adam_spec_init(&s, sizeof s);
    s.lr = h.lr;
    s.beta1 = h.b1;
    s.beta2 = h.b2;
    s.eps = h.eps;
    s.weight_decay = h.wd;
    ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 4, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 5, &rng), IRLLREC_OK);
    for (int b = 0; b < 4; b++) {
        p[b] = malloc((size_t)sizes[b] * sizeof(float));
        g[b] = malloc((size_t)sizes[b] * sizeof(float));
        rp[b] = malloc((size_t)sizes[b] * sizeof(double));
        rm[b] = calloc((size_t)sizes[b], sizeof(double));
        rv[b] = calloc((size_t)sizes[b], sizeof(double));
        for (int64_t i = 0; i < sizes[b]; i++) {
            p[b][i] = (float)irllrec_x_rng_normal(rng);
            rp[b][i] = p[b][i];
        }
    }
    for (int t = 1; t <= 5; t++) {
        h.t = t;
        for (int b = 0; b < 4; b++)
            for (int64_t i = 0; i < sizes[b]; i++) {
                g[b][i] = (float)(irllrec_x_rng_normal(rng) * (b + 1));
                ref_update(&h, &rp[b][i], &rm[b][i], &rv[b][i], g[b][i]);
            }
        ck_assert_int_eq(irllrec_adam_step(a, p, (const float *const *)g), IRLLREC_OK);
        for (int b = 0; b < 4; b++)
            for (int64_t i = 0; i < sizes[b]; i++)
                ck_assert_msg(fabs(p[b][i] - rp[b][i]) <= 2e-6 * fmax(1.0, fabs(rp[b][i])),
                              "t=%d block %d [%lld]: %.9g vs %.9g", t, b, (long long)i,
                              (double)p[b][i], rp[b][i]);
    }
    /* The internal accessor sees the same moments as the reference. */
    ck_assert_int_eq(irllrec__adam_n_blocks(a), 4);
    for (int b = 0; b < 4; b++) {
        float *m, *v;
        int64_t n;
        irllrec__adam_moments(a, b, &m, &v, &n);
        ck_assert_int_eq(n, sizes[b]);
        for (int64_t i = 0; i < n; i++) {
            ck_assert_double_eq_tol(m[i], rm[b][i], 1e-5 * fmax(1.0, fabs(rm[b][i])));
            ck_assert_double_eq_tol(v[i], rv[b][i], 1e-5 * fmax(1.0, fabs(rv[b][i])));
        }
        free(p[b]);
        free(g[b]);
        free(rp[b]);
        free(rm[b]);
        free(rv[b]);
    }
    irllrec_x_rng_free(rng);
    irllrec_adam_free(a);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(lr_setter)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t size = 2;
    float p[2] = {1.0f, 1.0f};
    const float g[2] = {1.0f, -1.0f};
    float *params[1] = {p};
    const float *grads[1] = {g};
    irllrec_adam *a = make(ctx, 0.01, 0.0, &size, 1);
    ck_assert_int_eq(irllrec_adam_set_lr(a, 0.25), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_set_lr(a, 0.0), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_adam_set_lr: lr = 0") != NULL);
    ck_assert_int_eq(irllrec_adam_set_lr(a, -1.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_set_lr(a, NAN), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_set_lr(a, INFINITY), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_set_lr(NULL, 0.1), IRLLREC_E_INVALID_ARG);
    /* The failed calls kept 0.25: the first step moves by 0.25 * sign(g). */
    ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    ck_assert_double_eq_tol(p[0], 0.75, 1e-6);
    ck_assert_double_eq_tol(p[1], 1.25, 1e-6);
    irllrec_adam_free(a);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(state_round_trip_is_bit_exact)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t sizes[3] = {5, 1, 17};
    float pa[23], pb[23], g[23], *st, *st2, bad;
    float *params_a[3] = {pa, pa + 5, pa + 6}, *params_b[3] = {pb, pb + 5, pb + 6};
    const float *grads[3] = {g, g + 5, g + 6};
    int64_t n = 0, t = -1;
    irllrec_x_rng *rng = NULL;
    irllrec_adam *a = make(ctx, 0.02, 0.1, sizes, 3), *b = make(ctx, 0.02, 0.1, sizes, 3);
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 11, &rng), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_state_size(a, &n), IRLLREC_OK);
    ck_assert_int_eq(n, 46);
    st = malloc(46 * sizeof *st);
    st2 = malloc(46 * sizeof *st2);
    for (int i = 0; i < 23; i++) pa[i] = (float)irllrec_x_rng_normal(rng);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 23; i++) g[i] = (float)irllrec_x_rng_normal(rng);
        ck_assert_int_eq(irllrec_adam_step(a, params_a, grads), IRLLREC_OK);
        if (k == 0) {
            /* Layout: all m (block order), then all v. After one step m = 0.1 g, v = 0.001 g^2. */
            ck_assert_int_eq(irllrec_adam_get_state(a, &t, st, n), IRLLREC_OK);
            ck_assert_int_eq(t, 1);
            for (int i = 0; i < 23; i++) {
                ck_assert_float_eq(st[i], (float)0.9 * 0.0f + (float)(1.0 - 0.9) * g[i]);
                ck_assert_float_eq(st[23 + i], (float)(1.0 - 0.999) * g[i] * g[i]);
            }
        }
    }
    ck_assert_int_eq(irllrec_adam_get_state(a, &t, st, n), IRLLREC_OK);
    ck_assert_int_eq(t, 3);
    ck_assert_int_eq(irllrec_adam_set_state(b, t, st, n), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_steps(b), 3);
    memcpy(pb, pa, sizeof pa);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 23; i++) g[i] = (float)irllrec_x_rng_normal(rng);
        ck_assert_int_eq(irllrec_adam_step(a, params_a, grads), IRLLREC_OK);
        ck_assert_int_eq(irllrec_adam_step(b, params_b, grads), IRLLREC_OK);
        ck_assert(memcmp(pa, pb, sizeof pa) == 0);
    }
    ck_assert_int_eq(irllrec_adam_get_state(a, &t, st, n), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_get_state(b, &t, st2, n), IRLLREC_OK);
    ck_assert(memcmp(st, st2, 46 * sizeof *st) == 0);

    /* Refusals leave the handle unchanged. */
    ck_assert_int_eq(irllrec_adam_get_state(a, &t, st, 45), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_adam_set_state(b, 0, st, 47), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_adam_set_state(b, -1, st, n), IRLLREC_E_INVALID_ARG);
    bad = st[3];
    st[3] = NAN;
    ck_assert_int_eq(irllrec_adam_set_state(b, 0, st, n), IRLLREC_E_NUMERIC);
    st[3] = bad;
    st[23 + 4] = -1.0f;
    ck_assert_int_eq(irllrec_adam_set_state(b, 0, st, n), IRLLREC_E_NUMERIC);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "second moment 4") != NULL);
    ck_assert_int_eq(irllrec_adam_steps(b), 7);
    ck_assert_int_eq(irllrec_adam_get_state(b, &t, st, n), IRLLREC_OK);
    ck_assert(memcmp(st, st2, 46 * sizeof *st) == 0);
    ck_assert_int_eq(irllrec_adam_get_state(b, NULL, st, n), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_state_size(NULL, &n), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_set_state(NULL, 0, st, n), IRLLREC_E_INVALID_ARG);
    free(st);
    free(st2);
    irllrec_x_rng_free(rng);
    irllrec_adam_free(a);
    irllrec_adam_free(b);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(bad_specs_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t sizes[2] = {3, 4}, zero_size[2] = {3, 0};
    irllrec_adam *a = (irllrec_adam *)1;
    unsigned char big[sizeof(irllrec_adam_spec) + 8];
    static const struct { int field; double v; const char *name; } bad[] = {
        {0, 0.0, "lr"}, {0, -1e-3, "lr"}, {0, NAN, "lr"}, {0, INFINITY, "lr"},
        {1, 1.0, "beta1"}, {1, -0.1, "beta1"}, {1, NAN, "beta1"},
        {2, 1.0, "beta2"}, {2, 1.5, "beta2"}, {2, NAN, "beta2"},
        {3, 0.0, "eps"}, {3, -1e-8, "eps"}, {3, INFINITY, "eps"}, {3, NAN, "eps"},
        {4, -0.1, "weight_decay"}, {4, NAN, "weight_decay"}, {4, INFINITY, "weight_decay"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        irllrec_adam_spec s;
        irllrec_adam_spec_init(&s, sizeof s);
        double *f[5] = {&s.lr, &s.beta1, &s.beta2, &s.eps, &s.weight_decay};
        *f[bad[i].field] = bad[i].v;
        a = (irllrec_adam *)1;
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 2, &a), IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_null(a);
        ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), bad[i].name) != NULL, "%s",
                      irllrec_ctx_errmsg(ctx));
        /* Reported for the public function, not the helper that checked. */
        ck_assert_msg(strncmp(irllrec_ctx_errmsg(ctx), "irllrec_adam_create: ", 21) == 0, "%s",
                      irllrec_ctx_errmsg(ctx));
    }
    {
        irllrec_adam_spec s;
        irllrec_adam_spec_init(&s, sizeof s);
        /* Edge values that are valid. */
        s.beta1 = 0.0;
        s.beta2 = 0.0;
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 2, &a), IRLLREC_OK);
        irllrec_adam_free(a);
        s.reserved0 = 1;
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 2, &a), IRLLREC_E_INVALID_ARG);
        s.reserved0 = 0;
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 0, &a), IRLLREC_E_INVALID_ARG);
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, NULL, 2, &a), IRLLREC_E_INVALID_ARG);
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, zero_size, 2, &a), IRLLREC_E_INVALID_ARG);
        ck_assert(strstr(irllrec_ctx_errmsg(ctx), "sizes[1] = 0") != NULL);
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 2, NULL), IRLLREC_E_INVALID_ARG);
        ck_assert_int_eq(irllrec_adam_create(NULL, &s, sizes, 2, &a), IRLLREC_E_INVALID_ARG);
        s.struct_size = 2;
        ck_assert_int_eq(irllrec_adam_create(ctx, &s, sizes, 2, &a), IRLLREC_E_VERSION);
        /* A newer caller's longer struct: zero tail accepted, set tail refused. */
        irllrec_adam_spec_init(&s, sizeof s);
        memset(big, 0, sizeof big);
        memcpy(big, &s, sizeof s);
        big[0] = (unsigned char)sizeof big;
        ck_assert_int_eq(irllrec_adam_create(ctx, (const irllrec_adam_spec *)(void *)big, sizes,
                                             2, &a), IRLLREC_OK);
        irllrec_adam_free(a);
        big[sizeof big - 1] = 1;
        ck_assert_int_eq(irllrec_adam_create(ctx, (const irllrec_adam_spec *)(void *)big, sizes,
                                             2, &a), IRLLREC_E_VERSION);
        ck_assert_ptr_null(a);
        /* NULL spec means defaults. */
        ck_assert_int_eq(irllrec_adam_create(ctx, NULL, sizes, 2, &a), IRLLREC_OK);
        irllrec_adam_free(a);
        irllrec_adam_free(NULL);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(step_does_not_allocate)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    const int64_t sizes[2] = {64, 3};
    float p[67] = {0}, g[67];
    float *params[2] = {p, p + 64}, *null_params[2] = {p, NULL};
    const float *grads[2] = {g, g + 64};
    int64_t base, n_alloc;
    irllrec_adam *a = NULL;
    for (int i = 0; i < 67; i++) g[i] = (float)(i % 5) - 2.0f;
    ck_assert_ptr_nonnull(ctx);
    base = as.live_bytes;
    /* Every allocation of create can fail cleanly. */
    for (int64_t k = 1;; k++) {
        irllrec_status st;
        as.fail_at = as.n_alloc + k;
        a = (irllrec_adam *)1;
        st = irllrec_adam_create(ctx, NULL, sizes, 2, &a);
        if (st == IRLLREC_OK) break;
        ck_assert_int_eq(st, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(a);
        ck_assert_int_eq(as.live_bytes, base);
        ck_assert_int_lt(k, 10);
    }
    as.fail_at = 0;
    n_alloc = as.n_alloc;
    for (int t = 0; t < 10; t++) ck_assert_int_eq(irllrec_adam_step(a, params, grads), IRLLREC_OK);
    ck_assert_int_eq(irllrec_adam_step(a, null_params, grads), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_step(a, NULL, grads), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_step(NULL, params, grads), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_adam_steps(a), 10);
    ck_assert_int_eq(irllrec_adam_steps(NULL), -1);
    ck_assert_int_eq(as.n_alloc, n_alloc);
    irllrec_adam_free(a);
    ck_assert_int_eq(as.live_bytes, base);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *adam_suite(void)
{
    Suite *s = suite_create("adam");
    TCase *tc = tcase_create("adam");
    tcase_add_test(tc, two_steps_hand_computed);
    tcase_add_test(tc, weight_decay_is_decoupled);
    tcase_add_test(tc, several_blocks_match_reference);
    tcase_add_test(tc, lr_setter);
    tcase_add_test(tc, state_round_trip_is_bit_exact);
    tcase_add_test(tc, bad_specs_refused);
    tcase_add_test(tc, step_does_not_allocate);
    suite_add_tcase(s, tc);
    return s;
}
