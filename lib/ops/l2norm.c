/* Row L2 normalisation n(v) = v / sqrt(eps + |v|^2) (eps = 1e-8, the
 * reference's constant, kept so golden values match). */
#include <math.h>
#include "ops.h"

void irllrec__l2norm_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *y,
                         int64_t ldy, double *nrm)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        const double nr = sqrt(IRLLREC__L2_EPS + irllrec__vsumsq(xr, cols));
        for (int64_t j = 0; j < cols; j++) yr[j] = (float)((double)xr[j] / nr);
        if (nrm != NULL) nrm[r] = nr;
    }
}

/* nrm = sqrt(eps + x.x), d nrm / dx = x / nrm, y = x / nrm:
 *   dy_j/dx_i = delta_ij / nrm - x_j x_i / nrm^3 = (delta_ij - y_i y_j) / nrm
 *   dL/dx_i   = (dy_i - y_i (y . dy)) / nrm
 * This is exact with eps > 0 (then |y| < 1, which the formula accounts for). */
void irllrec__l2norm_bwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, const float *dy,
                         int64_t lddy, float *dx, int64_t lddx)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict xr = x + r * ldx;
        const float *restrict gr = dy + r * lddy;
        float *restrict dr = dx + r * lddx;
        const double inv = 1.0 / sqrt(IRLLREC__L2_EPS + irllrec__vsumsq(xr, cols));
        const double xg = irllrec__vdot(xr, gr, cols);
        float a, c;
        /* dx = dy / nrm - x (x . dy) / nrm^3 */
        a = (float)inv;
        c = (float)(xg * inv * inv * inv);
        for (int64_t j = 0; j < cols; j++) dr[j] += a * gr[j] - c * xr[j];
    }
}

/* dL/dx = (dy - y (y . dy)) / nrm, as above with x = nrm y; the row dot is
 * taken before g is overwritten. */
void irllrec__l2norm_bwd_inplace(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                                 const double *nrm, float *g, int64_t ldg)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict yr = y + r * ldy;
        float *restrict gr = g + r * ldg;
        const double inv = 1.0 / nrm[r];
        const double yg = irllrec__vdot(yr, gr, cols);
        for (int64_t j = 0; j < cols; j++)
            gr[j] = (float)(((double)gr[j] - (double)yr[j] * yg) * inv);
    }
}
