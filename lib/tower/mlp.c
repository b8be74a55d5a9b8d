/* The text tower: Linear -> LeakyReLU -> Linear over frozen text embeddings. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tower.h"
#include "../ops/ops.h"
#include "mlp_impl.h"

void irllrec_mlp_spec_init(irllrec_mlp_spec *spec, uint32_t struct_size)
{
    static const irllrec_mlp_spec d = {
        .leaky_slope = 0.01f,
        .bias_init = IRLLREC_MLP_BIAS_ZERO};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

static irllrec_status check_spec(irllrec_ctx *ctx, irllrec_mlp_spec *s)
{
    const char *f = "irllrec_mlp_create";
    if (s->in_dim <= 0 || s->out_dim <= 0)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "in_dim = %d, out_dim = %d: both must be > 0",
                             (int)s->in_dim, (int)s->out_dim);
    if (s->hidden_dim < 0)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "hidden_dim = %d < 0", (int)s->hidden_dim);
    if (s->hidden_dim == 0) {
        s->hidden_dim = (int32_t)(((int64_t)s->in_dim + s->out_dim) / 2);
        if (s->hidden_dim == 0) s->hidden_dim = 1;
    }
    if (s->max_rows <= 0)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "max_rows = %lld must be > 0",
                             (long long)s->max_rows);
    if (!isfinite(s->leaky_slope) || s->leaky_slope < 0.0f)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f,
                             "leaky_slope = %.17g must be finite and >= 0", (double)s->leaky_slope);
    if (s->bias_init != IRLLREC_MLP_BIAS_ZERO && s->bias_init != IRLLREC_MLP_BIAS_TORCH)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f, "bias_init = %d is not a known value",
                             (int)s->bias_init);
    return IRLLREC_OK;
}

static void name_blocks(irllrec_mlp *m, const char *prefix)
{
    static const char suffix[IRLLREC_MLP_N_PARAMS][10] = {".0.weight", ".0.bias", ".2.weight",
                                                             ".2.bias"};
    for (int i = 0; i < IRLLREC_MLP_N_PARAMS; i++)
        snprintf(m->blocks[i].name, sizeof m->blocks[i].name, "%s%s", prefix, suffix[i]);
}

static void layout_blocks(irllrec_mlp *m)
{
    const int64_t rows[IRLLREC_MLP_N_PARAMS] = {m->hid, 1, m->out, 1};
    const int64_t cols[IRLLREC_MLP_N_PARAMS] = {m->in, m->hid, m->hid, m->out};
    int64_t off = 0;
    for (int i = 0; i < IRLLREC_MLP_N_PARAMS; i++) {
        m->blocks[i].data = m->params + off;
        m->blocks[i].grad = m->grads ? m->grads + off : NULL;
        m->blocks[i].rows = rows[i];
        m->blocks[i].cols = cols[i];
        off += round16(rows[i] * cols[i]);
    }
}

void irllrec__init_uniform(irllrec__rng *r, float *x, int64_t n, double bound)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * irllrec__rng_uniform(r) - 1.0) * bound);
}

static void init_params(irllrec_mlp *m)
{
    irllrec__rng r;
    irllrec__rng_seed(&r, m->spec.seed, IRLLREC__STREAM_MLP);
    /* Xavier-uniform weights */
    irllrec__init_uniform(&r, m->blocks[0].data, m->hid * m->in,
                          sqrt(6.0 / (double)(m->in + m->hid)));
    irllrec__init_uniform(&r, m->blocks[2].data, m->out * m->hid,
                          sqrt(6.0 / (double)(m->hid + m->out)));
    if (m->spec.bias_init == IRLLREC_MLP_BIAS_TORCH) {
        irllrec__init_uniform(&r, m->blocks[1].data, m->hid, 1.0 / sqrt((double)m->in));
        irllrec__init_uniform(&r, m->blocks[3].data, m->out, 1.0 / sqrt((double)m->hid));
    }
}

static irllrec_status sizes(irllrec_ctx *ctx, irllrec_mlp *m, int act16)
{
    const char *f = "irllrec_mlp_create";
    size_t np, nh;
    /* dims are int32, so these products fit int64; bytes are checked against size_t */
    int64_t n = irllrec__mlp_grad_floats(&m->spec);
    if (irllrec__mul_overflow((size_t)n, sizeof(float), &np) ||
        irllrec__mul_overflow((size_t)m->spec.max_rows, (size_t)m->hid, &nh) ||
        irllrec__mul_overflow(nh, sizeof(float), &nh))
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "parameter or workspace size overflows");
    m->params_bytes = np;
    m->h_bytes = act16 ? 0 : nh;
    m->hh_bytes = act16 ? nh / 2 : 0;
    const int64_t blk = act16 ? MLP_BF16_BLOCK : MLP_BWD_BLOCK;
    m->bwd_rows = m->spec.max_rows < blk ? m->spec.max_rows : blk;
    m->dh_bytes = (size_t)m->bwd_rows * (size_t)m->hid * sizeof(float);
    return IRLLREC_OK;
}

int64_t irllrec__mlp_param_count(const irllrec_mlp_spec *spec)
{
    irllrec_mlp_spec s = *spec;
    if (check_spec(NULL, &s) != IRLLREC_OK) return -1;
    const int64_t in = s.in_dim, hid = s.hidden_dim, out = s.out_dim;
    return hid * in + hid + out * hid + out;
}

/* m := an MLP of spec's shapes with nothing allocated; -1 on a bad spec. */
static int shapes_of(const irllrec_mlp_spec *spec, irllrec_mlp *m)
{
    memset(m, 0, sizeof *m);
    m->spec = *spec;
    if (check_spec(NULL, &m->spec) != IRLLREC_OK) return -1;
    m->in = m->spec.in_dim;
    m->hid = m->spec.hidden_dim;
    m->out = m->spec.out_dim;
    return 0;
}

int64_t irllrec__mlp_grad_floats(const irllrec_mlp_spec *spec)
{
    irllrec_mlp s;
    if (shapes_of(spec, &s) != 0) return -1;
    return round16(s.hid * s.in) + round16(s.hid) + round16(s.out * s.hid) + round16(s.out);
}

float *irllrec__mlp_grad_buf(irllrec_mlp *mlp, int64_t *n)
{
    *n = (int64_t)(mlp->params_bytes / sizeof(float));
    return mlp->grads;
}

/* What create (act16: irllrec__mlp_create_ex) and, with bf16, the bf16
 * path's buffers allocate, from the same sizes() create uses. */
static int64_t bytes_of(const irllrec_mlp_spec *spec, int with_grad, int act16, int bf16)
{
    irllrec_mlp m;
    size_t w1 = 0, da = 0;
    if (shapes_of(spec, &m) != 0 || sizes(NULL, &m, act16) != IRLLREC_OK) return -1;
    if (bf16) irllrec__mlp_bf16_sizes(&m, with_grad, &w1, &da);
    return (int64_t)(sizeof m + m.params_bytes + m.h_bytes + m.hh_bytes + w1 + da +
                     (with_grad ? m.params_bytes : 0) +
                     (with_grad || act16 ? m.dh_bytes : 0));
}

int64_t irllrec__mlp_bytes(const irllrec_mlp_spec *spec, int with_grad)
{
    return bytes_of(spec, with_grad, 0, 0);
}

/* with_grad: a student of irllrec__mlp_create_bf16 (bf16 cache); without:
 * a teacher given irllrec__mlp_enable_bf16 (fp32 cache). */
int64_t irllrec__mlp_bf16_bytes(const irllrec_mlp_spec *spec, int with_grad)
{
    const int64_t a = bytes_of(spec, with_grad, with_grad, 1), b = bytes_of(spec, with_grad, 0, 0);
    return a < 0 || b < 0 ? -1 : a - b;
}

irllrec_status irllrec__mlp_create_ex(irllrec_ctx *ctx, const irllrec_mlp_spec *spec,
                                      int with_grad, int act16, irllrec_mlp **out)
{
    irllrec_mlp_spec s;
    irllrec_mlp *m;
    if (out == NULL)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, "irllrec_mlp_create", "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK_FN(ctx, "irllrec_mlp_create", spec != NULL, IRLLREC_E_INVALID_ARG, "spec is NULL");
    IRL_TRY(irllrec__copy_spec(ctx, "irllrec_mlp_create", &s, sizeof s, spec));
    IRL_TRY(check_spec(ctx, &s));
    m = (irllrec_mlp *)irllrec__calloc_fn(ctx, "irllrec_mlp_create", 1, sizeof *m);
    if (m == NULL) return IRLLREC_E_NOMEM;
    m->ctx = ctx;
    m->spec = s;
    m->in = s.in_dim;
    m->hid = s.hidden_dim;
    m->out = s.out_dim;
    m->slope = s.leaky_slope;
    if (sizes(ctx, m, act16) != IRLLREC_OK) {
        irllrec__free(ctx, m, sizeof *m);
        return IRLLREC_E_SHAPE;
    }
    m->params = (float *)irllrec__calloc_fn(ctx, "irllrec_mlp_create", 1, m->params_bytes);
    if (with_grad) m->grads = (float *)irllrec__calloc_fn(ctx, "irllrec_mlp_create", 1, m->params_bytes);
    if (with_grad || act16) m->dh = (float *)irllrec__alloc_fn(ctx, "irllrec_mlp_create", m->dh_bytes);
    if (act16)
        m->hh = (uint16_t *)irllrec__alloc_fn(ctx, "irllrec_mlp_create", m->hh_bytes);
    else
        m->h = (float *)irllrec__alloc_fn(ctx, "irllrec_mlp_create", m->h_bytes);
    if (m->params == NULL || (m->h == NULL && m->hh == NULL) || (with_grad && m->grads == NULL) ||
        ((with_grad || act16) && m->dh == NULL)) {
        irllrec_mlp_free(m);
        return IRLLREC_E_NOMEM;
    }
    layout_blocks(m);
    name_blocks(m, "mlp");
    init_params(m);
    *out = m;
    return IRLLREC_OK;
}

irllrec_status irllrec__mlp_create(irllrec_ctx *ctx, const irllrec_mlp_spec *spec, int with_grad,
                                   irllrec_mlp **out)
{
    return irllrec__mlp_create_ex(ctx, spec, with_grad, 0, out);
}

irllrec_status irllrec_mlp_create(irllrec_ctx *ctx, const irllrec_mlp_spec *spec, irllrec_mlp **out)
{
    return irllrec__mlp_create(ctx, spec, 1, out);
}

void irllrec_mlp_free(irllrec_mlp *mlp)
{
    irllrec_ctx *ctx;
    if (mlp == NULL) return;
    ctx = mlp->ctx;
    irllrec__free(ctx, mlp->params, mlp->params_bytes);
    irllrec__free(ctx, mlp->grads, mlp->params_bytes);
    irllrec__free(ctx, mlp->h, mlp->h_bytes);
    irllrec__free(ctx, mlp->hh, mlp->hh_bytes);
    irllrec__free(ctx, mlp->dh, mlp->dh_bytes);
    irllrec__free(ctx, mlp->w1h, mlp->w1h_bytes);
    irllrec__free(ctx, mlp->dah, mlp->dah_bytes);
    irllrec__free(ctx, mlp, sizeof *mlp);
}

/* h = LeakyReLU(h + b), one pass over the GEMM output; written like the
 * rows of lib/ops/leaky_relu.c so that it vectorises. */
static void bias_leaky_row(int64_t n, float *restrict h, const float *restrict b, float slope)
{
    for (int64_t j = 0; j < n; j++) {
        const float v = h[j] + b[j];
        const float m = v > 0.0f ? 1.0f : slope;
        h[j] = (v + 0.0f) * m;
    }
}

void irllrec__mlp_bias_leaky(int64_t rows, int64_t cols, float *h, const float *b, float slope)
{
    for (int64_t r = 0; r < rows; r++) bias_leaky_row(cols, h + r * cols, b, slope);
}

/* Rows [row0, row0 + rows) of the activation cache from x. */
static void fwd_rows(irllrec_mlp *mlp, const float *x, int64_t ldx, int64_t rows, int64_t row0,
                     float *y, int64_t ldy)
{
    float *h = mlp->h + row0 * mlp->hid;
    irllrec__linear_fwd(rows, mlp->in, mlp->hid, x, ldx, mlp->blocks[0].data, mlp->in, NULL, h,
                        mlp->hid);
    irllrec__mlp_bias_leaky(rows, mlp->hid, h, mlp->blocks[1].data, mlp->slope);
    irllrec__linear_fwd(rows, mlp->hid, mlp->out, h, mlp->hid, mlp->blocks[2].data, mlp->hid,
                        mlp->blocks[3].data, y, ldy);
    mlp->fwd_rows = row0 + rows;
}

irllrec_status irllrec_mlp_forward_at(irllrec_mlp *mlp, irllrec_cmat x, int64_t row0,
                                      irllrec_mat y)
{
    irllrec_ctx *ctx;
    if (mlp == NULL) return IRLLREC_E_INVALID_ARG;
    ctx = mlp->ctx;
    IRL_CHECK(ctx, mlp->h != NULL, IRLLREC_E_STATE,
              "this MLP keeps its activations in bf16 (a bf16 text tower): the fp32 calls "
              "do not serve it");
    IRL_TRY(irllrec__check_cmat(ctx, __func__, "x", x));
    IRL_TRY(irllrec__check_mat(ctx, __func__, "y", y));
    IRL_CHECK(ctx, x.cols == mlp->in, IRLLREC_E_SHAPE, "x.cols = %lld != in_dim = %lld",
              (long long)x.cols, (long long)mlp->in);
    IRL_CHECK(ctx, row0 >= 0 && row0 <= mlp->spec.max_rows - x.rows, IRLLREC_E_SHAPE,
              "row0 = %lld + x.rows = %lld > max_rows = %lld", (long long)row0,
              (long long)x.rows, (long long)mlp->spec.max_rows);
    IRL_CHECK(ctx, y.rows == x.rows && y.cols == mlp->out, IRLLREC_E_SHAPE,
              "y is %lld x %lld, expected %lld x %lld", (long long)y.rows, (long long)y.cols,
              (long long)x.rows, (long long)mlp->out);
    IRL_CHECK(ctx, !irllrec__cmats_overlap(x, irllrec_mat_const(y)), IRLLREC_E_INVALID_ARG,
              "y overlaps x");
    fwd_rows(mlp, x.data, x.ld, x.rows, row0, y.data, y.ld);
    return IRLLREC_OK;
}

irllrec_status irllrec_mlp_forward(irllrec_mlp *mlp, irllrec_mat x, irllrec_mat y)
{
    return irllrec_mlp_forward_at(mlp, irllrec_mat_const(x), 0, y);
}

static irllrec_status check_backward(irllrec_mlp *mlp, const char *f, irllrec_cmat x, int64_t row0,
                                     irllrec_cmat dy, irllrec_mat dx)
{
    irllrec_ctx *ctx = mlp->ctx;
    IRL_CHECK_FN(ctx, f, mlp->grads != NULL, IRLLREC_E_STATE,
                 "this MLP has no gradients (a teacher)");
    IRL_CHECK_FN(ctx, f, mlp->h != NULL, IRLLREC_E_STATE,
                 "this MLP keeps its activations in bf16 (a bf16 text tower): the fp32 calls "
                 "do not serve it");
    IRL_CHECK_FN(ctx, f, mlp->fwd_rows > 0, IRLLREC_E_STATE, "no forward yet");
    IRL_TRY(irllrec__check_cmat(ctx, f, "x", x));
    IRL_TRY(irllrec__check_cmat(ctx, f, "dy", dy));
    IRL_CHECK_FN(ctx, f, x.cols == mlp->in && row0 >= 0 && row0 <= mlp->fwd_rows - x.rows,
                 IRLLREC_E_SHAPE, "x is %lld x %lld at row0 %lld, the last forward covered "
                 "rows 0..%lld of width %lld", (long long)x.rows, (long long)x.cols,
                 (long long)row0, (long long)mlp->fwd_rows, (long long)mlp->in);
    IRL_CHECK_FN(ctx, f, dy.rows == x.rows && dy.cols == mlp->out, IRLLREC_E_SHAPE,
                 "dy is %lld x %lld, expected %lld x %lld", (long long)dy.rows,
                 (long long)dy.cols, (long long)x.rows, (long long)mlp->out);
    if (dx.data == NULL) return IRLLREC_OK;
    IRL_TRY(irllrec__check_mat(ctx, f, "dx", dx));
    IRL_CHECK_FN(ctx, f, dx.rows == x.rows && dx.cols == mlp->in, IRLLREC_E_SHAPE,
                 "dx is %lld x %lld, expected %lld x %lld", (long long)dx.rows,
                 (long long)dx.cols, (long long)x.rows, (long long)mlp->in);
    IRL_CHECK_FN(ctx, f, !irllrec__cmats_overlap(irllrec_mat_const(dx), x) &&
                             !irllrec__cmats_overlap(irllrec_mat_const(dx), dy),
                 IRLLREC_E_INVALID_ARG, "dx overlaps x or dy");
    return IRLLREC_OK;
}

/* With A = X W1^T + b1, H = LeakyReLU(A), Y = H W2^T + b2:
 *   dW2 += dY^T H, db2 += colsum dY            (linear backward, layer 2)
 *   dA = (dY W2) (.) f'(A)                     (f'(A) read from the sign of H)
 *   dW1 += dA^T X, db1 += colsum dA, dX += dA W1
 * The second half runs in row blocks so dA needs only a small scratch. */
static void bwd_rows(irllrec_mlp *mlp, const float *x, int64_t ldx, int64_t rows, int64_t row0,
                     const float *dy, int64_t lddy, float *dx, int64_t lddx)
{
    const int64_t hid = mlp->hid;
    const float *h = mlp->h + row0 * hid;
    irllrec__linear_bwd(rows, hid, mlp->out, h, hid, mlp->blocks[2].data, hid, dy, lddy, NULL, 0,
                        mlp->blocks[2].grad, hid, mlp->blocks[3].grad);
    for (int64_t r0 = 0; r0 < rows; r0 += mlp->bwd_rows) {
        const int64_t nr = rows - r0 < mlp->bwd_rows ? rows - r0 : mlp->bwd_rows;
        irllrec__sgemm(0, 0, nr, hid, mlp->out, 1.0f, dy + r0 * lddy, lddy, mlp->blocks[2].data,
                       hid, 0.0f, mlp->dh, hid);
        irllrec__leaky_relu_bwd(nr, hid, h + r0 * hid, hid, mlp->slope, mlp->dh, hid);
        irllrec__linear_bwd(nr, mlp->in, hid, x + r0 * ldx, ldx, mlp->blocks[0].data, mlp->in,
                            mlp->dh, hid, dx ? dx + r0 * lddx : NULL, lddx, mlp->blocks[0].grad,
                            mlp->in, mlp->blocks[1].grad);
    }
}

irllrec_status irllrec_mlp_backward_at(irllrec_mlp *mlp, irllrec_cmat x, int64_t row0,
                                       irllrec_cmat dy, irllrec_mat dx)
{
    if (mlp == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_backward(mlp, __func__, x, row0, dy, dx));
    bwd_rows(mlp, x.data, x.ld, x.rows, row0, dy.data, dy.ld, dx.data, dx.ld);
    return IRLLREC_OK;
}

irllrec_status irllrec_mlp_backward(irllrec_mlp *mlp, irllrec_mat x, irllrec_mat dy,
                                    irllrec_mat dx)
{
    if (mlp == NULL) return IRLLREC_E_INVALID_ARG;
    const irllrec_cmat cx = irllrec_mat_const(x);
    IRL_TRY(check_backward(mlp, __func__, cx, 0, irllrec_mat_const(dy), dx));
    IRL_CHECK(mlp->ctx, x.rows == mlp->fwd_rows, IRLLREC_E_SHAPE,
              "x has %lld rows, the last forward had %lld", (long long)x.rows,
              (long long)mlp->fwd_rows);
    bwd_rows(mlp, x.data, x.ld, x.rows, 0, dy.data, dy.ld, dx.data, dx.ld);
    return IRLLREC_OK;
}

const float *irllrec__mlp_act(const irllrec_mlp *mlp) { return mlp->h; }

uint64_t irllrec__mlp_act_signs(const irllrec_mlp *mlp, int64_t rows, uint64_t hsh)
{
    const int64_t n = rows * mlp->hid;
    for (int64_t i = 0; i < n; i++) {
        const int pos = mlp->hh ? (int16_t)mlp->hh[i] > 0 : mlp->h[i] > 0.0f;
        hsh ^= (uint64_t)pos + 0x9e3779b97f4a7c15ull + (hsh << 6) + (hsh >> 2);
    }
    return hsh;
}

void irllrec_mlp_zero_grad(irllrec_mlp *mlp)
{
    if (mlp == NULL || mlp->grads == NULL) return;
    memset(mlp->grads, 0, mlp->params_bytes);
}

irllrec_status irllrec_mlp_dims(const irllrec_mlp *mlp, int32_t *in_dim, int32_t *hidden_dim,
                                int32_t *out_dim)
{
    if (mlp == NULL) return IRLLREC_E_INVALID_ARG;
    if (in_dim) *in_dim = (int32_t)mlp->in;
    if (hidden_dim) *hidden_dim = (int32_t)mlp->hid;
    if (out_dim) *out_dim = (int32_t)mlp->out;
    return IRLLREC_OK;
}

static irllrec_status check_id(const irllrec_mlp *mlp, int32_t id, const char *f)
{
    if (mlp == NULL) return IRLLREC_E_INVALID_ARG;
    if (id < 0 || id >= IRLLREC_MLP_N_PARAMS)
        return irllrec__fail(mlp->ctx, IRLLREC_E_INVALID_ARG, f, "parameter id %d is not 0..3",
                             (int)id);
    return IRLLREC_OK;
}

irllrec_status irllrec_mlp_param_shape(const irllrec_mlp *mlp, int32_t id, int64_t *rows,
                                       int64_t *cols)
{
    IRL_TRY(check_id(mlp, id, __func__));
    if (rows) *rows = mlp->blocks[id].rows;
    if (cols) *cols = mlp->blocks[id].cols;
    return IRLLREC_OK;
}

static irllrec_status check_view(const irllrec_mlp *mlp, int32_t id, irllrec_mat m, const char *f,
                                 const char *name)
{
    IRL_TRY(check_id(mlp, id, f));
    IRL_TRY(irllrec__check_mat(mlp->ctx, f, name, m));
    if (m.rows != mlp->blocks[id].rows || m.cols != mlp->blocks[id].cols)
        return irllrec__fail(mlp->ctx, IRLLREC_E_SHAPE, f,
                             "%s is %lld x %lld, block %s is %lld x %lld", name, (long long)m.rows,
                             (long long)m.cols, mlp->blocks[id].name,
                             (long long)mlp->blocks[id].rows, (long long)mlp->blocks[id].cols);
    return IRLLREC_OK;
}

static void copy_out(const float *src, irllrec_mat dst)
{
    for (int64_t r = 0; r < dst.rows; r++)
        memcpy(dst.data + r * dst.ld, src + r * dst.cols, (size_t)dst.cols * sizeof(float));
}

irllrec_status irllrec_mlp_get_param(const irllrec_mlp *mlp, int32_t id, irllrec_mat dst)
{
    IRL_TRY(check_view(mlp, id, dst, __func__, "dst"));
    copy_out(mlp->blocks[id].data, dst);
    return IRLLREC_OK;
}

irllrec_status irllrec_mlp_get_grad(const irllrec_mlp *mlp, int32_t id, irllrec_mat dst)
{
    IRL_TRY(check_view(mlp, id, dst, __func__, "dst"));
    if (mlp->grads == NULL)
        return irllrec__fail(mlp->ctx, IRLLREC_E_STATE, __func__, "this MLP has no gradients");
    copy_out(mlp->blocks[id].grad, dst);
    return IRLLREC_OK;
}

irllrec_status irllrec_mlp_set_param(irllrec_mlp *mlp, int32_t id, irllrec_mat src)
{
    float *dst;
    IRL_TRY(check_view(mlp, id, src, __func__, "src"));
    IRL_TRY(irllrec__check_finite_mat(mlp->ctx, __func__, "src", src));
    dst = mlp->blocks[id].data;
    for (int64_t r = 0; r < src.rows; r++)
        memcpy(dst + r * src.cols, src.data + r * src.ld, (size_t)src.cols * sizeof(float));
    return IRLLREC_OK;
}

void irllrec__mlp_params(irllrec_mlp *mlp, irllrec__param **blocks, int *n)
{
    *blocks = mlp->blocks;
    *n = IRLLREC_MLP_N_PARAMS;
}

irllrec_status irllrec__mlp_set_name(irllrec_mlp *mlp, const char *prefix)
{
    if (prefix == NULL || strlen(prefix) > 36)
        return irllrec__fail(mlp->ctx, IRLLREC_E_INVALID_ARG, __func__,
                             "prefix must be non-NULL and at most 36 bytes");
    name_blocks(mlp, prefix);
    return IRLLREC_OK;
}

void irllrec__mlp_get_spec(const irllrec_mlp *mlp, irllrec_mlp_spec *spec) { *spec = mlp->spec; }

irllrec_ctx *irllrec__mlp_ctx(const irllrec_mlp *mlp) { return mlp->ctx; }
