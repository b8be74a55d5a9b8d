/* The text tower MLP: init, forward vs a double reference, backward vs
 * finite differences and a double reference, accumulation, no allocation in
 * the hot path, bad inputs. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "tower/tower.h"
#include "helpers/testutil.h"
#include "helpers/gradcheck.h"

static void fill(irllrec__rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)irllrec__rng_uniform(r);
}

static irllrec_mlp *make_mlp(irllrec_ctx *ctx, int in, int hid, int out, int64_t max_rows,
                             float slope, uint64_t seed)
{
    irllrec_mlp_spec s;
    irllrec_mlp *m = NULL;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = in;
    s.hidden_dim = hid;
    s.out_dim = out;
    s.max_rows = max_rows;
    s.leaky_slope = slope;
    s.seed = seed;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    return m;
}

/* Random parameters (including biases) so every path is exercised. */
static void randomise(irllrec_mlp *m, irllrec__rng *r)
{
    irllrec__param *b;
    int n;
    irllrec__mlp_params(m, &b, &n);
    for (int i = 0; i < n; i++) fill(r, b[i].data, b[i].rows * b[i].cols, -0.8f, 0.8f);
}

/* Naive double reference of the forward; also returns pre-activations. */
static void ref_forward(irllrec_mlp *m, int64_t rows, const float *x, int64_t ldx, double *y,
                        double *pre)
{
    irllrec__param *b;
    int n;
    int32_t in, hid, out;
    irllrec_mlp_spec s;
    irllrec__mlp_params(m, &b, &n);
    irllrec_mlp_dims(m, &in, &hid, &out);
    irllrec__mlp_get_spec(m, &s);
    for (int64_t r = 0; r < rows; r++) {
        for (int j = 0; j < out; j++) y[r * out + j] = b[3].data[j];
        for (int k = 0; k < hid; k++) {
            double a = b[1].data[k], h;
            for (int i = 0; i < in; i++) a += (double)b[0].data[k * in + i] * x[r * ldx + i];
            if (pre) pre[r * hid + k] = a;
            h = a > 0 ? a : (double)s.leaky_slope * a;
            for (int j = 0; j < out; j++) y[r * out + j] += (double)b[2].data[j * hid + k] * h;
        }
    }
}

START_TEST(mlp_spec_defaults_and_shapes)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec s;
    irllrec_mlp *m = NULL;
    int32_t in, hid, out;
    int64_t r, c;
    irllrec__param *b;
    int n;
    irllrec_mlp_spec_init(&s, sizeof s);
    ck_assert_uint_eq(s.struct_size, sizeof s);
    ck_assert_float_eq(s.leaky_slope, 0.01f);
    ck_assert_int_eq(s.hidden_dim, 0);
    ck_assert_int_eq(s.bias_init, IRLLREC_MLP_BIAS_ZERO);
    s.in_dim = 3072;
    s.out_dim = 32;
    s.max_rows = 2;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_dims(m, &in, &hid, &out), IRLLREC_OK);
    ck_assert_int_eq(hid, 1552);  /* (3072 + 32) / 2, the default hidden width */
    ck_assert_int_eq(irllrec_mlp_param_shape(m, IRLLREC_MLP_W1, &r, &c), IRLLREC_OK);
    ck_assert(r == 1552 && c == 3072);
    ck_assert_int_eq(irllrec_mlp_param_shape(m, IRLLREC_MLP_B2, &r, &c), IRLLREC_OK);
    ck_assert(r == 1 && c == 32);
    ck_assert_int_eq(irllrec_mlp_param_shape(m, 4, &r, &c), IRLLREC_E_INVALID_ARG);
    irllrec__mlp_params(m, &b, &n);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(b[0].name, "mlp.0.weight");
    ck_assert_str_eq(b[3].name, "mlp.2.bias");
    ck_assert_int_eq(irllrec__mlp_set_name(m, "int_mlp"), IRLLREC_OK);
    ck_assert_str_eq(b[2].name, "int_mlp.2.weight");
    ck_assert_ptr_nonnull(b[1].grad);
    irllrec_mlp_free(m);
    /* odd sum rounds down like Python's // */
    s.in_dim = 7;
    s.out_dim = 4;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    irllrec_mlp_dims(m, NULL, &hid, NULL);
    ck_assert_int_eq(hid, 5);
    irllrec_mlp_free(m);
    irllrec_mlp_free(NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_init_xavier_seeded)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *a = make_mlp(ctx, 300, 100, 20, 1, 0.01f, 7);
    irllrec_mlp *b = make_mlp(ctx, 300, 100, 20, 1, 0.01f, 7);
    irllrec_mlp *c = make_mlp(ctx, 300, 100, 20, 1, 0.01f, 8);
    irllrec__param *pa, *pb, *pc;
    int n;
    double bound = sqrt(6.0 / 400.0), s1 = 0, s2 = 0, maxabs = 0;
    int64_t cnt = 100 * 300, same_c = 0;
    irllrec__mlp_params(a, &pa, &n);
    irllrec__mlp_params(b, &pb, &n);
    irllrec__mlp_params(c, &pc, &n);
    for (int64_t i = 0; i < cnt; i++) {
        double v = pa[0].data[i];
        s1 += v;
        s2 += v * v;
        maxabs = fmax(maxabs, fabs(v));
        ck_assert(pa[0].data[i] == pb[0].data[i]);
        same_c += pa[0].data[i] == pc[0].data[i];
    }
    ck_assert(maxabs <= bound);
    ck_assert(maxabs > 0.99 * bound);
    ck_assert(fabs(s1 / (double)cnt) < 0.01 * bound);
    /* U(-b, b) has variance b^2 / 3 */
    ck_assert_double_eq_tol(s2 / (double)cnt, bound * bound / 3, 0.03 * bound * bound / 3);
    ck_assert_int_lt(same_c, 10);
    for (int j = 0; j < 100; j++) ck_assert_float_eq(pa[1].data[j], 0.0f);
    for (int j = 0; j < 20 * 100; j++)
        ck_assert(fabs((double)pa[2].data[j]) <= sqrt(6.0 / 120.0));
    irllrec_mlp_free(a);
    irllrec_mlp_free(b);
    irllrec_mlp_free(c);
    {
        /* PyTorch-style biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), not all zero */
        irllrec_mlp_spec s;
        irllrec_mlp *t = NULL;
        int nonzero = 0;
        irllrec_mlp_spec_init(&s, sizeof s);
        s.in_dim = 300;
        s.hidden_dim = 100;
        s.out_dim = 20;
        s.max_rows = 1;
        s.bias_init = IRLLREC_MLP_BIAS_TORCH;
        ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &t), IRLLREC_OK);
        irllrec__mlp_params(t, &pa, &n);
        for (int j = 0; j < 100; j++) {
            ck_assert(fabs((double)pa[1].data[j]) <= 1.0 / sqrt(300.0));
            nonzero += pa[1].data[j] != 0.0f;
        }
        for (int j = 0; j < 20; j++) ck_assert(fabs((double)pa[3].data[j]) <= 1.0 / sqrt(100.0));
        ck_assert_int_gt(nonzero, 90);
        irllrec_mlp_free(t);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_forward_matches_double_reference)
{
    enum { R = 9, IN = 13, HID = 11, OUT = 6, LDX = 15, LDY = 8 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *m = make_mlp(ctx, IN, HID, OUT, 16, 0.2f, 3);
    irllrec__rng rng;
    float x[R * LDX], y[R * LDY];
    double yr[R * OUT];
    irllrec__rng_seed(&rng, 21, 0);
    randomise(m, &rng);
    fill(&rng, x, R * LDX, -1, 1);
    for (int i = 0; i < R * LDY; i++) y[i] = 42.0f;
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R, IN, LDX},
                                         (irllrec_mat){y, R, OUT, LDY}), IRLLREC_OK);
    ref_forward(m, R, x, LDX, yr, NULL);
    for (int r = 0; r < R; r++) {
        for (int j = 0; j < OUT; j++)
            ck_assert_double_eq_tol(y[r * LDY + j], yr[r * OUT + j], 1e-5 * (1 + fabs(yr[r * OUT + j])));
        for (int j = OUT; j < LDY; j++) ck_assert_float_eq(y[r * LDY + j], 42.0f);
    }
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- backward vs finite differences -------------------------------------- */

typedef struct mlp_gc {
    irllrec_mlp *m;
    int64_t rows, in, hid, out;
    float *x, *y, *w;
    double *pre, *yref;
    signed char *sign[2]; /* pre-activation signs of the last two evaluations */
    int which;
} mlp_gc;

static double mlp_loss(void *ud)
{
    mlp_gc *g = (mlp_gc *)ud;
    double s = 0;
    ck_assert_int_eq(irllrec_mlp_forward(g->m, (irllrec_mat){g->x, g->rows, g->in, g->in},
                                         (irllrec_mat){g->y, g->rows, g->out, g->out}), IRLLREC_OK);
    for (int64_t i = 0; i < g->rows * g->out; i++) s += (double)g->w[i] * g->y[i];
    /* record the kink pattern for the skip predicate */
    ref_forward(g->m, g->rows, g->x, g->in, g->yref, g->pre);
    for (int64_t i = 0; i < g->rows * g->hid; i++) g->sign[g->which][i] = g->pre[i] > 0;
    g->which ^= 1;
    return s;
}

static int mlp_kink(void *ud, int block, int64_t j)
{
    mlp_gc *g = (mlp_gc *)ud;
    (void)block;
    (void)j;
    return memcmp(g->sign[0], g->sign[1], (size_t)(g->rows * g->hid)) != 0;
}

START_TEST(mlp_backward_gradcheck)
{
    enum { R = 7, IN = 6, HID = 5, OUT = 4 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *m = make_mlp(ctx, IN, HID, OUT, R, 0.1f, 5);
    irllrec__rng rng;
    float x[R * IN], y[R * OUT], w[R * OUT], dx[R * IN];
    float gw1[HID * IN], gb1[HID], gw2[OUT * HID], gb2[OUT];
    double pre[R * HID], yref[R * OUT];
    signed char s0[R * HID], s1[R * HID];
    mlp_gc g = {m, R, IN, HID, OUT, x, y, w, pre, yref, {s0, s1}, 0};
    irllrec__param *p;
    int n;
    gc_block bl[5];
    gc_opts o;
    gc_result res;
    irllrec__rng_seed(&rng, 22, 0);
    randomise(m, &rng);
    fill(&rng, x, R * IN, -1, 1);
    fill(&rng, w, R * OUT, -1, 1);
    memset(dx, 0, sizeof dx);
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R, IN, IN}, (irllrec_mat){y, R, OUT, OUT}),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward(m, (irllrec_mat){x, R, IN, IN}, (irllrec_mat){w, R, OUT, OUT},
                                          (irllrec_mat){dx, R, IN, IN}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_grad(m, 0, (irllrec_mat){gw1, HID, IN, IN}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_grad(m, 1, (irllrec_mat){gb1, 1, HID, HID}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_grad(m, 2, (irllrec_mat){gw2, OUT, HID, HID}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_grad(m, 3, (irllrec_mat){gb2, 1, OUT, OUT}), IRLLREC_OK);
    irllrec__mlp_params(m, &p, &n);
    bl[0] = (gc_block){"W1", p[0].data, gw1, HID * IN};
    bl[1] = (gc_block){"b1", p[1].data, gb1, HID};
    bl[2] = (gc_block){"W2", p[2].data, gw2, OUT * HID};
    bl[3] = (gc_block){"b2", p[3].data, gb2, OUT};
    bl[4] = (gc_block){"X", x, dx, R * IN};
    gc_opts_default(&o);
    o.skip = mlp_kink;
    o.skip_ud = &g;
    ck_assert_msg(gc_check(mlp_loss, &g, bl, 5, &o, &res), "%s", res.msg);
    ck_assert_int_gt(res.n_checked, (HID * IN + HID + OUT * HID + OUT + R * IN) * 9 / 10);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

/* 4500 rows > the 4096-row backward block: compare with a double reference. */
START_TEST(mlp_backward_blocks_match_reference)
{
    enum { R = 4500, IN = 3, HID = 2, OUT = 2 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *m = make_mlp(ctx, IN, HID, OUT, R, 0.05f, 9);
    irllrec__rng rng;
    float *x = malloc(sizeof(float) * R * IN), *y = malloc(sizeof(float) * R * OUT);
    float *dy = malloc(sizeof(float) * R * OUT), *dx = calloc(R * IN, sizeof(float));
    double *pre = malloc(sizeof(double) * R * HID), *yr = malloc(sizeof(double) * R * OUT);
    double rw1[HID * IN] = {0}, rb1[HID] = {0}, rw2[OUT * HID] = {0}, rb2[OUT] = {0};
    float gw1[HID * IN], gb1[HID], gw2[OUT * HID], gb2[OUT];
    irllrec__param *p;
    int n;
    irllrec__rng_seed(&rng, 23, 0);
    randomise(m, &rng);
    fill(&rng, x, R * IN, -1, 1);
    fill(&rng, dy, R * OUT, -1, 1);
    irllrec__mlp_params(m, &p, &n);
    ck_assert_int_eq(irllrec_mlp_forward(m, irllrec_mat_dense(x, R, IN), irllrec_mat_dense(y, R, OUT)),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward(m, irllrec_mat_dense(x, R, IN), irllrec_mat_dense(dy, R, OUT),
                                          irllrec_mat_dense(dx, R, IN)), IRLLREC_OK);
    ref_forward(m, R, x, IN, yr, pre);
    for (int r = 0; r < R; r++) {
        double da[HID];
        for (int k = 0; k < HID; k++) {
            double h = pre[r * HID + k] > 0 ? pre[r * HID + k] : 0.05 * pre[r * HID + k];
            da[k] = 0;
            for (int j = 0; j < OUT; j++) {
                rw2[j * HID + k] += (double)dy[r * OUT + j] * h;
                da[k] += (double)dy[r * OUT + j] * p[2].data[j * HID + k];
            }
            da[k] *= pre[r * HID + k] > 0 ? 1.0 : 0.05;
            rb1[k] += da[k];
            for (int i = 0; i < IN; i++) rw1[k * IN + i] += da[k] * x[r * IN + i];
        }
        for (int j = 0; j < OUT; j++) rb2[j] += dy[r * OUT + j];
        for (int i = 0; i < IN; i++) {
            double s = 0;
            for (int k = 0; k < HID; k++) s += da[k] * p[0].data[k * IN + i];
            ck_assert_double_eq_tol(dx[r * IN + i], s, 1e-5);
        }
    }
    irllrec_mlp_get_grad(m, 0, (irllrec_mat){gw1, HID, IN, IN});
    irllrec_mlp_get_grad(m, 1, (irllrec_mat){gb1, 1, HID, HID});
    irllrec_mlp_get_grad(m, 2, (irllrec_mat){gw2, OUT, HID, HID});
    irllrec_mlp_get_grad(m, 3, (irllrec_mat){gb2, 1, OUT, OUT});
    for (int i = 0; i < HID * IN; i++) ck_assert_double_eq_tol(gw1[i], rw1[i], 1e-3 * (1 + fabs(rw1[i])));
    for (int i = 0; i < HID; i++) ck_assert_double_eq_tol(gb1[i], rb1[i], 1e-3 * (1 + fabs(rb1[i])));
    for (int i = 0; i < OUT * HID; i++) ck_assert_double_eq_tol(gw2[i], rw2[i], 1e-3 * (1 + fabs(rw2[i])));
    for (int i = 0; i < OUT; i++) ck_assert_double_eq_tol(gb2[i], rb2[i], 1e-3 * (1 + fabs(rb2[i])));
    free(x); free(y); free(dy); free(dx); free(pre); free(yr);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_backward_accumulates_and_zero_grad)
{
    enum { R = 3, IN = 4, HID = 3, OUT = 2 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *m = make_mlp(ctx, IN, HID, OUT, R, 0.01f, 1);
    irllrec__rng rng;
    float x[R * IN], y[R * OUT], dy[R * OUT], dx1[R * IN], dx2[R * IN], g1[HID * IN], g2[HID * IN];
    irllrec_mat X = {x, R, IN, IN}, Y = {y, R, OUT, OUT}, DY = {dy, R, OUT, OUT};
    irllrec__rng_seed(&rng, 24, 0);
    randomise(m, &rng);
    fill(&rng, x, R * IN, -1, 1);
    fill(&rng, dy, R * OUT, -1, 1);
    for (int i = 0; i < R * IN; i++) dx1[i] = dx2[i] = 1.0f;
    ck_assert_int_eq(irllrec_mlp_forward(m, X, Y), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){dx1, R, IN, IN}), IRLLREC_OK);
    irllrec_mlp_get_grad(m, 0, (irllrec_mat){g1, HID, IN, IN});
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){dx2, R, IN, IN}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){dx2, R, IN, IN}), IRLLREC_OK);
    irllrec_mlp_get_grad(m, 0, (irllrec_mat){g2, HID, IN, IN});
    for (int i = 0; i < HID * IN; i++) ck_assert_float_eq_tol(g2[i], 3 * g1[i], 1e-6f);
    for (int i = 0; i < R * IN; i++) ck_assert_float_eq_tol(dx2[i] - 1.0f, 2 * (dx1[i] - 1.0f), 1e-6f);
    /* dx.data == NULL: parameter gradients only */
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){NULL, 0, 0, 0}), IRLLREC_OK);
    irllrec_mlp_get_grad(m, 0, (irllrec_mat){g2, HID, IN, IN});
    for (int i = 0; i < HID * IN; i++) ck_assert_float_eq_tol(g2[i], 4 * g1[i], 1e-6f);
    irllrec_mlp_zero_grad(m);
    irllrec_mlp_get_grad(m, 0, (irllrec_mat){g2, HID, IN, IN});
    for (int i = 0; i < HID * IN; i++) ck_assert_float_eq(g2[i], 0.0f);
    irllrec_mlp_zero_grad(NULL);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_params_roundtrip)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp *m = make_mlp(ctx, 3, 2, 2, 1, 0.01f, 1);
    float w[2 * 4], back[2 * 3];
    for (int i = 0; i < 8; i++) w[i] = (float)i;
    ck_assert_int_eq(irllrec_mlp_set_param(m, IRLLREC_MLP_W1, (irllrec_mat){w, 2, 3, 4}), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_get_param(m, IRLLREC_MLP_W1, (irllrec_mat){back, 2, 3, 3}), IRLLREC_OK);
    ck_assert_float_eq(back[0], 0.0f);
    ck_assert_float_eq(back[3], 4.0f);  /* row 1 starts at ld = 4 in the source */
    ck_assert_float_eq(back[5], 6.0f);
    w[1] = NAN;
    ck_assert_int_eq(irllrec_mlp_set_param(m, IRLLREC_MLP_W1, (irllrec_mat){w, 2, 3, 4}), IRLLREC_E_NUMERIC);
    ck_assert_int_eq(irllrec_mlp_get_param(m, IRLLREC_MLP_W1, (irllrec_mat){back, 2, 3, 3}), IRLLREC_OK);
    ck_assert_float_eq(back[1], 1.0f);  /* unchanged */
    ck_assert_int_eq(irllrec_mlp_set_param(m, IRLLREC_MLP_W1, (irllrec_mat){w, 3, 2, 2}), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_get_param(m, 9, (irllrec_mat){back, 2, 3, 3}), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_mlp_get_param(NULL, 0, (irllrec_mat){back, 2, 3, 3}), IRLLREC_E_INVALID_ARG);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(mlp_hot_path_allocates_nothing)
{
    enum { R = 5, IN = 6, HID = 4, OUT = 3 };
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_mlp *m = make_mlp(ctx, IN, HID, OUT, R, 0.01f, 1);
    float x[R * IN] = {0}, y[R * OUT], dy[R * OUT] = {0}, dx[R * IN] = {0}, w[HID * IN];
    int64_t before = st.n_alloc;
    for (int it = 0; it < 3; it++) {
        ck_assert_int_eq(irllrec_mlp_forward(m, irllrec_mat_dense(x, R, IN), irllrec_mat_dense(y, R, OUT)),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec_mlp_backward(m, irllrec_mat_dense(x, R, IN), irllrec_mat_dense(dy, R, OUT),
                                              irllrec_mat_dense(dx, R, IN)), IRLLREC_OK);
        irllrec_mlp_zero_grad(m);
        ck_assert_int_eq(irllrec_mlp_get_param(m, 0, irllrec_mat_dense(w, HID, IN)), IRLLREC_OK);
        ck_assert_int_eq(irllrec_mlp_set_param(m, 0, irllrec_mat_dense(w, HID, IN)), IRLLREC_OK);
    }
    ck_assert_int_eq(st.n_alloc, before);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

START_TEST(mlp_create_failures_leak_nothing)
{
    irllrec_mlp_spec s;
    irllrec_mlp *m = (irllrec_mlp *)1;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = 5;
    s.out_dim = 3;
    s.max_rows = 4;
    for (int64_t k = 2; k < 10; k++) {
        tu_alloc_state st = {0};
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        irllrec_status rc;
        int64_t ctx_bytes = st.live_bytes;
        st.fail_at = k;  /* allocation 1 is the ctx itself */
        rc = irllrec_mlp_create(ctx, &s, &m);
        if (rc == IRLLREC_OK) {
            irllrec_mlp_free(m);
            irllrec_ctx_free(ctx);
            ck_assert_int_gt(k, 3);
            break;
        }
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(m);
        ck_assert_int_eq(st.live_bytes, ctx_bytes);
        m = (irllrec_mlp *)1;
        irllrec_ctx_free(ctx);
    }
}
END_TEST

START_TEST(mlp_bad_inputs_change_nothing)
{
    enum { R = 3, IN = 4, OUT = 2 };
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec s;
    irllrec_mlp *m = NULL;
    float x[R * IN + 8] = {0}, y[R * OUT], dy[R * OUT] = {0}, dx[R * IN], g[3 * IN];
    irllrec_mat X = {x, R, IN, IN}, Y = {y, R, OUT, OUT}, DY = {dy, R, OUT, OUT}, DX = {dx, R, IN, IN};
    /* spec errors */
    irllrec_mlp_spec_init(&s, sizeof s);
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_E_SHAPE);
    ck_assert_ptr_null(m);
    s.in_dim = IN;
    s.out_dim = OUT;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_E_SHAPE);  /* max_rows 0 */
    s.max_rows = R;
    s.leaky_slope = -0.1f;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_E_INVALID_ARG);
    s.leaky_slope = 0.01f;
    s.bias_init = 7;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_E_INVALID_ARG);
    s.bias_init = 0;
    ck_assert_int_eq(irllrec_mlp_create(ctx, NULL, &m), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, NULL), IRLLREC_E_INVALID_ARG);
    s.struct_size = 2;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_E_VERSION);
    s.struct_size = sizeof s;
    s.hidden_dim = 3;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);

    /* backward before forward */
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, DX), IRLLREC_E_STATE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_mlp_backward") != NULL);
    ck_assert_int_eq(irllrec_mlp_forward(NULL, X, Y), IRLLREC_E_INVALID_ARG);
    for (int i = 0; i < R * OUT; i++) y[i] = 7.0f;
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){NULL, R, IN, IN}, Y), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R, IN - 1, IN}, Y), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R, IN, IN - 1}, Y), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R + 1, IN, IN}, (irllrec_mat){y, R + 1, OUT, 0}),
                     IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_forward(m, (irllrec_mat){x, R + 1, IN, IN}, Y), IRLLREC_E_SHAPE);  /* > max_rows */
    ck_assert_int_eq(irllrec_mlp_forward(m, X, (irllrec_mat){y, R - 1, OUT, OUT}), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_forward(m, X, (irllrec_mat){x + 1, R, OUT, OUT}), IRLLREC_E_INVALID_ARG);
    for (int i = 0; i < R * OUT; i++) ck_assert_float_eq(y[i], 7.0f);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, DX), IRLLREC_E_STATE);  /* still no forward */

    ck_assert_int_eq(irllrec_mlp_forward(m, X, Y), IRLLREC_OK);
    for (int i = 0; i < R * IN; i++) dx[i] = 3.0f;
    ck_assert_int_eq(irllrec_mlp_backward(m, (irllrec_mat){x, R - 1, IN, IN}, DY, DX), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, (irllrec_mat){dy, R, OUT - 1, OUT}, DX), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){dx, R, IN, IN - 1}), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, DY, (irllrec_mat){x, R, IN, IN}), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_mlp_backward(m, X, (irllrec_mat){NULL, R, OUT, OUT}, DX), IRLLREC_E_INVALID_ARG);
    for (int i = 0; i < R * IN; i++) ck_assert_float_eq(dx[i], 3.0f);
    ck_assert_int_eq(irllrec_mlp_get_grad(m, 0, (irllrec_mat){g, 3, IN, IN}), IRLLREC_OK);
    for (int i = 0; i < 3 * IN; i++) ck_assert_float_eq(g[i], 0.0f);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *mlp_suite(void)
{
    Suite *s = suite_create("mlp");
    TCase *tc = tcase_create("mlp");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mlp_spec_defaults_and_shapes);
    tcase_add_test(tc, mlp_init_xavier_seeded);
    tcase_add_test(tc, mlp_forward_matches_double_reference);
    tcase_add_test(tc, mlp_backward_gradcheck);
    tcase_add_test(tc, mlp_backward_blocks_match_reference);
    tcase_add_test(tc, mlp_backward_accumulates_and_zero_grad);
    tcase_add_test(tc, mlp_params_roundtrip);
    tcase_add_test(tc, mlp_hot_path_allocates_nothing);
    tcase_add_test(tc, mlp_create_failures_leak_nothing);
    tcase_add_test(tc, mlp_bad_inputs_change_nothing);
    suite_add_tcase(s, tc);
    return s;
}
