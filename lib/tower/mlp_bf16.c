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
    for (int64_t r0 = 0; r0 < rows; r0 += step) {
        const int64_t nr = rows - r0 < step ? rows - r0 : step;
        float *h = mlp->hh ? mlp->dh : mlp->h + (row0 + r0) * mlp->hid;
        const int st = irllrec__sbgemm(0, 1, nr, mlp->hid, mlp->in, x + r0 * ldx, ldx, mlp->w1h,
                                       mlp->in, 0, h, mlp->hid);
        if (st != 0) return dnnl_failed(mlp, f, st);
        irllrec__mlp_bias_leaky(nr, mlp->hid, h, mlp->blocks[1].data, mlp->slope);
        irllrec__linear_fwd(nr, mlp->hid, mlp->out, h, mlp->hid, mlp->blocks[2].data, mlp->hid,
                            mlp->blocks[3].data, y.data + r0 * y.ld, y.ld);
        if (mlp->hh) irllrec__f32_to_bf16(h, mlp->hh + (row0 + r0) * mlp->hid, nr * mlp->hid);
    }
    mlp->fwd_rows = row0 + rows;
    return IRLLREC_OK;
}

/* g *= f'(A) read from the sign of bf16 H (> 0 as a signed 16-bit integer:
 * sign bit clear and not zero), as lib/ops/leaky_relu.c does from fp32 H. */
static void leaky_bwd_bf16(int64_t n, const uint16_t *restrict s, float slope,
                           float *restrict g)
{
    for (int64_t j = 0; j < n; j++) g[j] *= (int16_t)s[j] > 0 ? 1.0f : slope;
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
    if (h)
        irllrec__linear_bwd(rows, hid, mlp->out, h, hid, mlp->blocks[2].data, hid, dy.data, dy.ld,
                            NULL, 0, mlp->blocks[2].grad, hid, mlp->blocks[3].grad);
    for (int64_t r0 = 0; r0 < rows; r0 += mlp->bwd_rows) {
        const int64_t nr = rows - r0 < mlp->bwd_rows ? rows - r0 : mlp->bwd_rows;
        const uint16_t *hh = h ? NULL : mlp->hh + (row0 + r0) * hid;
        if (hh) {  /* the second layer from this block of H, widened from bf16 */
            irllrec__bf16_to_f32(hh, mlp->dh, nr * hid);
            irllrec__linear_bwd(nr, hid, mlp->out, mlp->dh, hid, mlp->blocks[2].data, hid,
                                dy.data + r0 * dy.ld, dy.ld, NULL, 0, mlp->blocks[2].grad, hid,
                                mlp->blocks[3].grad);
        }
        irllrec__sgemm(0, 0, nr, hid, mlp->out, 1.0f, dy.data + r0 * dy.ld, dy.ld,
                       mlp->blocks[2].data, hid, 0.0f, mlp->dh, hid);
        if (hh)
            leaky_bwd_bf16(nr * hid, hh, mlp->slope, mlp->dh);
        else
            irllrec__leaky_relu_bwd(nr, hid, h + r0 * hid, hid, mlp->slope, mlp->dh, hid);
        irllrec__colsum_acc(nr, hid, mlp->dh, hid, mlp->blocks[1].grad);
        irllrec__f32_to_bf16_t(nr, hid, mlp->dh, hid, mlp->dah, nr);
        const int st = irllrec__sbgemm(0, 0, hid, mlp->in, nr, mlp->dah, nr, x + r0 * ldx, ldx, 1,
                                       mlp->blocks[0].grad, mlp->in);
        if (st != 0) return dnnl_failed(mlp, f, st);
    }
    return IRLLREC_OK;
}
