/* Translation alignment (DESIGN.md section 4(d)): the exact N x N loss, the
 * loss with caller-given noise, the sampled approximation, and one row block
 * of the exact loss (for a rank that owns those rows, docs/distributed.md).
 * Every variant draws its noise here, so they all see the same numbers for
 * the same generator state. */
#include <math.h>
#include <string.h>
#include "align_impl.h"

static void draw_noise(irllrec__rng *rng, int64_t count, float *eps1, float *eps2)
{
    for (int64_t k = 0; k < count; k++) eps1[k] = (float)irllrec__rng_normal(rng);
    for (int64_t k = 0; k < count; k++) eps2[k] = (float)irllrec__rng_normal(rng);
}


/* Shared validation of the two N x dim inputs and outputs. */
static irllrec_status check_pair(irllrec_align *h, const char *func, irllrec_mat x, irllrec_mat y,
                                 irllrec_mat dx, irllrec_mat dy)
{
    IRL_TRY(irllrec__align_check_input(h, func, "x", x, h->spec.max_rows));
    IRL_TRY(irllrec__align_check_input(h, func, "y", y, h->spec.max_cols));
    if (x.rows != y.rows)
        return irllrec__fail(h->ctx, IRLLREC_E_SHAPE, func, "x has %lld rows, y has %lld",
                             (long long)x.rows, (long long)y.rows);
    IRL_TRY(irllrec__align_check_output(h, func, "dx", dx, x.rows));
    IRL_TRY(irllrec__align_check_output(h, func, "dy", dy, y.rows));
    return IRLLREC_OK;
}

/* Noise for n rows (node ids[i], or i) into h->ex / h->ey per the handle's
 * mode or callback; returns whether any. */
static int make_noise(irllrec_align *h, int64_t n, const int32_t *ids)
{
    if (h->noise_fn != NULL) {
        h->noise_fn(h->noise_ud, n, h->spec.dim, ids, h->ex, h->ey);
        return 1;
    }
    if (h->noise == IRLLREC_ALIGN_NOISE_OFF) return 0;
    draw_noise(&h->rng, n * h->spec.dim, h->ex, h->ey);
    return 1;
}

static irllrec_status translation_core(irllrec_align *h, const char *func, irllrec_mat x,
                                       irllrec_mat y, const int32_t *ids, int64_t n,
                                       int have_noise, irllrec_mat dx, irllrec_mat dy,
                                       double *loss)
{
    irllrec__align_call c;
    const float *ex = have_noise ? h->ex : NULL, *ey = have_noise ? h->ey : NULL;
    irllrec__align_norm_rows(n, h->spec.dim, x.data, x.ld, ids, ex, h->xn, h->rx);
    irllrec__align_norm_rows(n, h->spec.dim, y.data, y.ld, ids, ey, h->yn, h->ry);
    memset(&c, 0, sizeof c);
    c.nr = n;
    c.nc = n;
    c.kind = IRLLREC__XENT_TRAN;
    c.inv_tau = 1.0f;
    c.scale = 1.0 / (double)n;
    c.ids_x = ids;
    c.ids_y = ids;
    c.eps_x = ex;
    c.eps_y = ey;
    return irllrec__align_run(h, func, &c, dx, dy, loss);
}

irllrec_status irllrec_align_translation(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                         irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation";
    irllrec__rng saved;
    irllrec_status st;
    int noisy;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_TRY(irllrec__align_check_finite(h, fn, "x", x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "y", y));
    saved = h->rng;
    noisy = make_noise(h, x.rows, NULL);
    st = translation_core(h, fn, x, y, NULL, x.rows, noisy, dx, dy, loss);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
}

irllrec_status irllrec_align_translation_noise(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                               irllrec_mat eps_x, irllrec_mat eps_y,
                                               irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_noise";
    const int32_t d = h ? h->spec.dim : 0;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_TRY(irllrec__check_mat(h->ctx, fn, "eps_x", eps_x));
    IRL_TRY(irllrec__check_mat(h->ctx, fn, "eps_y", eps_y));
    IRL_CHECK(h->ctx, eps_x.rows == x.rows && eps_x.cols == d && eps_y.rows == x.rows &&
                          eps_y.cols == d,
              IRLLREC_E_SHAPE, "eps_x is %lld x %lld, eps_y %lld x %lld, expected %lld x %d",
              (long long)eps_x.rows, (long long)eps_x.cols, (long long)eps_y.rows,
              (long long)eps_y.cols, (long long)x.rows, (int)d);
    IRL_TRY(irllrec__align_check_finite(h, fn, "x", x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "y", y));
    IRL_TRY(irllrec__align_check_finite(h, fn, "eps_x", eps_x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "eps_y", eps_y));
    /* Copied, so outputs may overlap the noise. */
    for (int64_t i = 0; i < x.rows; i++) {
        memcpy(h->ex + i * d, eps_x.data + i * eps_x.ld, (size_t)d * sizeof(float));
        memcpy(h->ey + i * d, eps_y.data + i * eps_y.ld, (size_t)d * sizeof(float));
    }
    return translation_core(h, fn, x, y, NULL, x.rows, 1, dx, dy, loss);
}

irllrec_status irllrec_align_translation_sampled(irllrec_align *h, irllrec_mat x, irllrec_mat y,
                                                 const int32_t *ids, int64_t n_ids,
                                                 irllrec_mat dx, irllrec_mat dy, double *loss)
{
    static const char fn[] = "irllrec_align_translation_sampled";
    irllrec__rng saved;
    irllrec_status st;
    int noisy;
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_pair(h, fn, x, y, dx, dy));
    IRL_CHECK(h->ctx, n_ids >= 1 && n_ids <= x.rows, IRLLREC_E_SHAPE,
              "n_ids = %lld must be in [1, N = %lld]", (long long)n_ids, (long long)x.rows);
    if (ids) IRL_TRY(irllrec__align_check_ids(h, fn, "ids", ids, n_ids, x.rows));
    IRL_TRY(irllrec__align_check_finite(h, fn, "x", x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "y", y));
    saved = h->rng;
    if (ids) {
        memcpy(h->ids, ids, (size_t)n_ids * sizeof(int32_t));
    } else {
        irllrec__align_draw_sample(&h->rng, x.rows, n_ids, h->ids);
    }
    noisy = make_noise(h, n_ids, h->ids);
    st = translation_core(h, fn, x, y, h->ids, n_ids, noisy, dx, dy, loss);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
}

/* One row block of the exact loss: rows row0 .. row0+rows-1 of X against all
 * N rows of Y. The noise of all N rows is drawn, exactly as the full call
 * draws it, so that P ranks holding P blocks of one generator state see the
 * noise one process sees; the blocks' losses and dY then add up to the
 * full call's (up to the order of the sums). */
irllrec_status irllrec_align_translation_rows(irllrec_align *h, irllrec_mat x, int64_t row0,
                                              irllrec_mat y, irllrec_mat dx, irllrec_mat dy,
                                              double *loss)
{
    static const char fn[] = "irllrec_align_translation_rows";
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const int64_t n = y.rows;
    const int32_t d = h->spec.dim;
    IRL_TRY(irllrec__align_check_input(h, fn, "y", y, h->spec.max_cols));
    IRL_TRY(irllrec__align_check_input(h, fn, "x", x, h->spec.max_rows));
    IRL_CHECK(h->ctx, n <= h->spec.max_rows, IRLLREC_E_SHAPE,
              "y has N = %lld rows > max_rows = %lld (the noise of all N rows is drawn)",
              (long long)n, (long long)h->spec.max_rows);
    IRL_CHECK(h->ctx, row0 >= 0 && x.rows >= 1 && row0 <= n - x.rows, IRLLREC_E_SHAPE,
              "rows %lld .. %lld of x are not within the N = %lld rows of y", (long long)row0,
              (long long)(row0 + x.rows - 1), (long long)n);
    IRL_TRY(irllrec__align_check_output(h, fn, "dx", dx, x.rows));
    IRL_TRY(irllrec__align_check_output(h, fn, "dy", dy, n));
    IRL_TRY(irllrec__align_check_finite(h, fn, "x", x));
    IRL_TRY(irllrec__align_check_finite(h, fn, "y", y));
    const irllrec__rng saved = h->rng;
    const int noisy = make_noise(h, n, NULL);
    const float *ex = noisy ? h->ex + row0 * d : NULL, *ey = noisy ? h->ey : NULL;
    for (int64_t i = 0; i < x.rows; i++) h->ids[i] = (int32_t)(row0 + i);
    irllrec__align_norm_rows(x.rows, d, x.data, x.ld, NULL, ex, h->xn, h->rx);
    irllrec__align_norm_rows(n, d, y.data, y.ld, NULL, ey, h->yn, h->ry);
    irllrec__align_call c;
    memset(&c, 0, sizeof c);
    c.nr = x.rows;
    c.nc = n;
    c.target = h->ids;
    c.kind = IRLLREC__XENT_TRAN;
    c.inv_tau = 1.0f;
    c.scale = 1.0 / (double)n;
    c.eps_x = ex;
    c.eps_y = ey;
    const irllrec_status st = irllrec__align_run(h, fn, &c, dx, dy, loss);
    if (st != IRLLREC_OK) h->rng = saved;
    return st;
}
