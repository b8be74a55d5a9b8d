/* The MLP's bf16 text path: the frozen input X arrives in bf16, W1 stays
 * fp32 and is rounded to bf16 for each forward, the two products with X
 * (A = X W1^T and dW1 += dA^T X) run bf16 x bf16 with fp32 accumulation,
 * and everything else (bias, LeakyReLU, the thin second layer, dW2, db) is
 * the fp32 code of mlp.c. Derivation and error bounds: docs/math-towers.md
 * section 5. Only the hook uses it, and only when irllrec__bf16_usable(). */
#include <string.h>
#include "mlp_impl.h"
#include "../ops/ops.h"

irllrec_status irllrec__mlp_create_bf16(irllrec_ctx *ctx, const irllrec_mlp_spec *spec,
                                        irllrec_mlp **out)
{
    IRL_TRY(irllrec__mlp_create_ex(ctx, spec, 1, 1, out));
    const irllrec_status st = irllrec__mlp_enable_bf16(*out);
    if (st != IRLLREC_OK) {
        irllrec_mlp_free(*out);
        *out = NULL;
    }
    return st;
}

irllrec_status irllrec__mlp_enable_bf16(irllrec_mlp *mlp)
{
    const char *f = "irllrec_mlp (bf16 text path)";
    if (mlp->w1h != NULL) return IRLLREC_OK;
    size_t w1, da;
    irllrec__mlp_bf16_sizes(mlp, mlp->grads != NULL, &w1, &da);
    uint16_t *a = (uint16_t *)irllrec__alloc_fn(mlp->ctx, f, w1);
    uint16_t *b = da ? (uint16_t *)irllrec__alloc_fn(mlp->ctx, f, da) : NULL;
    if (a == NULL || (da && b == NULL)) {
        irllrec__free(mlp->ctx, a, w1);
        irllrec__free(mlp->ctx, b, da);
        return IRLLREC_E_NOMEM;
    }
    mlp->w1h = a;
    mlp->w1h_bytes = w1;
    mlp->dah = b;
    mlp->dah_bytes = da;
    return IRLLREC_OK;
}

static irllrec_status dnnl_failed(irllrec_mlp *mlp, const char *f, int st)
{
    /* dnnl_out_of_memory is 1; anything else is a configuration oneDNN refused */
    return irllrec__fail(mlp->ctx, st == 1 ? IRLLREC_E_NOMEM : IRLLREC_E_INTERNAL, f,
                         "the bf16 matmul (oneDNN) failed with status %d", st);
}

static irllrec_status check_common(irllrec_mlp *mlp, const char *f, const uint16_t *x,
                                   int64_t ldx, int64_t rows, int64_t row0, int64_t limit)
{
    IRL_CHECK_FN(mlp->ctx, f, mlp->w1h != NULL, IRLLREC_E_STATE,
                 "the bf16 text path was not enabled on this MLP");
    IRL_CHECK_FN(mlp->ctx, f, x != NULL && rows > 0 && ldx >= mlp->in, IRLLREC_E_SHAPE,
                 "x: %lld rows with ld %lld (need rows > 0, ld >= in_dim = %lld, data)",
                 (long long)rows, (long long)ldx, (long long)mlp->in);
    IRL_CHECK_FN(mlp->ctx, f, row0 >= 0 && row0 <= limit - rows, IRLLREC_E_SHAPE,
                 "row0 = %lld + rows = %lld > %lld", (long long)row0, (long long)rows,
                 (long long)limit);
    return IRLLREC_OK;
}

/* The fp32 work around the oneDNN products (bias, LeakyReLU, the thin
 * second layer, the conversions) would otherwise run on the calling thread
 * alone while the other cores wait for the next product (a third of the
 * towers' time on an AMX CPU). It is split between the context's threads in
 * fixed chunks, rows by ROWS and columns by COLS, so each chunk's products
 * and sums have the same shape, and the same bits, for any thread count. */
#define ROWS 128
#define COLS 64

typedef struct bf16_job bf16_job;
typedef void (*bf16_span)(const bf16_job *j, int64_t lo, int64_t hi);
struct bf16_job {
    irllrec_mlp *mlp;
    bf16_span fn;
    int64_t n, unit;       /* rows or columns of the span, and its chunk */
    int64_t nr;            /* rows of the block */
    float *h;              /* nr x hid fp32: the forward's H, the backward's dA */
    uint16_t *hh;          /* the block's rows of the bf16 cache, NULL with hf */
    const float *hf;       /* the block's rows of the fp32 cache (backward) */
    const float *dy;       /* nr x out (ld lddy), backward */
    float *y;              /* nr x out (ld ldy), forward */
    int64_t lddy, ldy;
};

static void span_task(void *ud, int32_t t, int32_t nt)
{
    const bf16_job *j = (const bf16_job *)ud;
    int64_t lo, hi;
    irllrec__share((j->n + j->unit - 1) / j->unit, t, nt, &lo, &hi);
    lo *= j->unit;
    hi = hi * j->unit < j->n ? hi * j->unit : j->n;
    if (lo < hi) j->fn(j, lo, hi);
}

/* irllrec__parallel always does the work (a thread that cannot start has
 * its share run by the caller), so there is no status to pass on. */
static void run_span(bf16_job *j, bf16_span fn, int64_t n, int64_t unit)
{
    j->fn = fn;
    j->n = n;
    j->unit = unit;
    (void)irllrec__parallel(j->mlp->ctx, irllrec_ctx_n_threads(j->mlp->ctx), span_task, j);
}

static int64_t chunk(int64_t at, int64_t hi, int64_t unit)
{
    return hi - at < unit ? hi - at : unit;
}

/* Rows: H = LeakyReLU(H + b1), Y = H W2^T + b2, and H kept in bf16. */
static void fwd_span(const bf16_job *j, int64_t lo, int64_t hi)
{
    const irllrec_mlp *m = j->mlp;
    for (int64_t r = lo; r < hi; r += ROWS) {
        const int64_t n = chunk(r, hi, ROWS);
        float *h = j->h + r * m->hid;
        irllrec__mlp_bias_leaky(n, m->hid, h, m->blocks[1].data, m->slope);
        irllrec__linear_fwd(n, m->hid, m->out, h, m->hid, m->blocks[2].data, m->hid,
                            m->blocks[3].data, j->y + r * j->ldy, j->ldy);
        if (j->hh) irllrec__f32_to_bf16(h, j->hh + r * m->hid, n * m->hid);
    }
}

irllrec_status irllrec__mlp_forward_bf16_at(irllrec_mlp *mlp, const uint16_t *x, int64_t ldx,
                                            int64_t rows, int64_t row0, irllrec_mat y)
{
    const char *f = "irllrec__mlp_forward_bf16_at";
    IRL_TRY(check_common(mlp, f, x, ldx, rows, row0, mlp->spec.max_rows));
    IRL_TRY(irllrec__check_mat(mlp->ctx, f, "y", y));
    IRL_CHECK_FN(mlp->ctx, f, y.rows == rows && y.cols == mlp->out, IRLLREC_E_SHAPE,
                 "y is %lld x %lld, expected %lld x %lld", (long long)y.rows, (long long)y.cols,
                 (long long)rows, (long long)mlp->out);
    /* W1 changes every step (Adam), so its bf16 copy is made per forward:
     * hid x in conversions against rows x hid x in multiply-adds */
    irllrec__f32_to_bf16(mlp->blocks[0].data, mlp->w1h, mlp->hid * mlp->in);
    /* a student (hh): blocks of H in fp32 scratch, kept in bf16; a teacher
     * (h): all rows at once into its fp32 cache */
    const int64_t step = mlp->hh ? mlp->bwd_rows : rows;
    bf16_job j = {.mlp = mlp, .ldy = y.ld};
    for (int64_t r0 = 0; r0 < rows; r0 += step) {
        const int64_t nr = rows - r0 < step ? rows - r0 : step;
        j.h = mlp->hh ? mlp->dh : mlp->h + (row0 + r0) * mlp->hid;
        j.hh = mlp->hh ? mlp->hh + (row0 + r0) * mlp->hid : NULL;
        j.y = y.data + r0 * y.ld;
        const int st = irllrec__sbgemm(0, 1, nr, mlp->hid, mlp->in, x + r0 * ldx, ldx, mlp->w1h,
                                       mlp->in, 0, j.h, mlp->hid);
        if (st != 0) return dnnl_failed(mlp, f, st);
        run_span(&j, fwd_span, nr, ROWS);
    }
    mlp->fwd_rows = row0 + rows;
    return IRLLREC_OK;
}

/* g *= f'(A) read from the sign of bf16 H widened to fp32, the test
 * lib/ops/leaky_relu.c makes on fp32 H (branch-free, so it vectorises). */
IRLLREC__CLONES("avx512f", "avx2", "default")
static void leaky_bwd_bf16(int64_t n, const uint16_t *restrict s, float slope,
                           float *restrict g)
{
    for (int64_t j = 0; j < n; j++) {
        const uint32_t u = (uint32_t)s[j] << 16;
        float v;
        memcpy(&v, &u, sizeof v);
        g[j] *= v > 0.0f ? 1.0f : slope;
    }
}

/* Columns: dW2 += dY^T H over the block's rows, H widened from the bf16
 * cache first when that is where it lives. */
static void dw2_span(const bf16_job *j, int64_t lo, int64_t hi)
{
    const irllrec_mlp *m = j->mlp;
    const int64_t hid = m->hid;
    for (int64_t c = lo; c < hi; c += COLS) {
        const int64_t n = chunk(c, hi, COLS);
        const float *h = j->hf;
        if (j->hh) {
            for (int64_t r = 0; r < j->nr; r++)
                irllrec__bf16_to_f32(j->hh + r * hid + c, j->h + r * hid + c, n);
            h = j->h;
        }
        irllrec__sgemm(1, 0, m->out, n, j->nr, 1.0f, j->dy, j->lddy, h + c, hid, 1.0f,
                       m->blocks[2].grad + c, hid);
    }
}

/* Rows: dA = (dY W2) * f'(A). */
static void da_span(const bf16_job *j, int64_t lo, int64_t hi)
{
    const irllrec_mlp *m = j->mlp;
    const int64_t hid = m->hid;
    for (int64_t r = lo; r < hi; r += ROWS) {
        const int64_t n = chunk(r, hi, ROWS);
        float *da = j->h + r * hid;
        irllrec__sgemm(0, 0, n, hid, m->out, 1.0f, j->dy + r * j->lddy, j->lddy,
                       m->blocks[2].data, hid, 0.0f, da, hid);
        if (j->hh)
            leaky_bwd_bf16(n * hid, j->hh + r * hid, m->slope, da);
        else
            irllrec__leaky_relu_bwd(n, hid, j->hf + r * hid, hid, m->slope, da, hid);
    }
}

/* Columns: db1 += colsum(dA), and dA^T rounded to bf16 for oneDNN. */
static void db1_span(const bf16_job *j, int64_t lo, int64_t hi)
{
    const irllrec_mlp *m = j->mlp;
    for (int64_t c = lo; c < hi; c += COLS) {
        const int64_t n = chunk(c, hi, COLS);
        irllrec__colsum_acc(j->nr, n, j->h + c, m->hid, m->blocks[1].grad + c);
        irllrec__f32_to_bf16_t(j->nr, n, j->h + c, m->hid, m->dah + c * j->nr, j->nr);
    }
}

/* mlp.c's bwd_rows with dX skipped (the text is frozen) and dW1 += dA^T X
 * as a bf16 product: dA is rounded (transposed, so oneDNN reads plain
 * rows), X already is bf16. db1 and the second layer stay fp32; with a bf16
 * cache the second layer reads H widened from bf16, block by block. */
irllrec_status irllrec__mlp_backward_bf16_at(irllrec_mlp *mlp, const uint16_t *x, int64_t ldx,
                                             int64_t rows, int64_t row0, irllrec_cmat dy)
{
    const char *f = "irllrec__mlp_backward_bf16_at";
    const int64_t hid = mlp->hid;
    IRL_CHECK_FN(mlp->ctx, f, mlp->grads != NULL, IRLLREC_E_STATE,
                 "this MLP has no gradients (a teacher)");
    IRL_CHECK_FN(mlp->ctx, f, mlp->fwd_rows > 0, IRLLREC_E_STATE, "no forward yet");
    IRL_TRY(check_common(mlp, f, x, ldx, rows, row0, mlp->fwd_rows));
    IRL_TRY(irllrec__check_cmat(mlp->ctx, f, "dy", dy));
    IRL_CHECK_FN(mlp->ctx, f, dy.rows == rows && dy.cols == mlp->out, IRLLREC_E_SHAPE,
                 "dy is %lld x %lld, expected %lld x %lld", (long long)dy.rows,
                 (long long)dy.cols, (long long)rows, (long long)mlp->out);
    const float *h = mlp->h ? mlp->h + row0 * hid : NULL;
    bf16_job j = {.mlp = mlp, .lddy = dy.ld};
    if (h) {  /* the second layer's weights over all rows of the fp32 cache */
        j.nr = rows;
        j.hf = h;
        j.dy = dy.data;
        run_span(&j, dw2_span, hid, COLS);
        irllrec__colsum_acc(rows, mlp->out, dy.data, dy.ld, mlp->blocks[3].grad);
    }
    for (int64_t r0 = 0; r0 < rows; r0 += mlp->bwd_rows) {
        j.nr = rows - r0 < mlp->bwd_rows ? rows - r0 : mlp->bwd_rows;
        j.h = mlp->dh;
        j.hh = h ? NULL : mlp->hh + (row0 + r0) * hid;
        j.hf = h ? h + r0 * hid : NULL;
        j.dy = dy.data + r0 * dy.ld;
        if (j.hh) {  /* the second layer from this block of H, widened from bf16 */
            run_span(&j, dw2_span, hid, COLS);
            irllrec__colsum_acc(j.nr, mlp->out, j.dy, dy.ld, mlp->blocks[3].grad);
        }
        run_span(&j, da_span, j.nr, ROWS);
        run_span(&j, db1_span, hid, COLS);
        const int st = irllrec__sbgemm(0, 0, hid, mlp->in, j.nr, mlp->dah, j.nr, x + r0 * ldx,
                                       ldx, 1, mlp->blocks[0].grad, mlp->in);
        if (st != 0) return dnnl_failed(mlp, f, st);
    }
    return IRLLREC_OK;
}
