/* Row softmax and log-softmax, max-subtracted, sums in double. */
#include <math.h>
#include "ops.h"

static float row_max(int64_t cols, const float *x)
{
    float m = x[0];
    for (int64_t j = 1; j < cols; j++) m = x[j] > m ? x[j] : m;
    return m;
}

void irllrec__softmax_rows_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *y,
                               int64_t ldy)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        const float m = row_max(cols, xr);
        double s = 0.0;
        float inv;
        for (int64_t j = 0; j < cols; j++) {
            yr[j] = expf(xr[j] - m);
            s += (double)yr[j];
        }
        inv = (float)(1.0 / s);  /* s >= 1: the max term is exp(0) */
        for (int64_t j = 0; j < cols; j++) yr[j] *= inv;
    }
}

/* y_j = exp(x_j) / sum_k exp(x_k):  dy_j/dx_i = y_j (delta_ij - y_i), so
 *   dL/dx_i = sum_j dy_j y_j (delta_ij - y_i) = y_i (dy_i - sum_j y_j dy_j). */
void irllrec__softmax_rows_bwd(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                               const float *dy, int64_t lddy, float *dx, int64_t lddx)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict yr = y + r * ldy;
        const float *restrict gr = dy + r * lddy;
        float *restrict dr = dx + r * lddx;
        const float d = (float)irllrec__vdot(yr, gr, cols);
        for (int64_t j = 0; j < cols; j++) dr[j] += yr[j] * (gr[j] - d);
    }
}

/* Same derivative as irllrec__softmax_rows_bwd, written over g: the row dot
 * is taken before any element of the row is overwritten. */
void irllrec__softmax_rows_bwd_inplace(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                                       float *g, int64_t ldg)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict yr = y + r * ldy;
        float *restrict gr = g + r * ldg;
        const float d = (float)irllrec__vdot(yr, gr, cols);
        for (int64_t j = 0; j < cols; j++) gr[j] = yr[j] * (gr[j] - d);
    }
}

void irllrec__log_softmax_rows_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx,
                                   float *y, int64_t ldy)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        const float m = row_max(cols, xr);
        double s = 0.0, lse;
        for (int64_t j = 0; j < cols; j++) s += exp((double)(xr[j] - m));
        lse = (double)m + log(s);
        for (int64_t j = 0; j < cols; j++) yr[j] = (float)((double)xr[j] - lse);
    }
}
