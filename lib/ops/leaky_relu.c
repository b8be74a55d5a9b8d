/* LeakyReLU kernels. */
#include "ops.h"

void irllrec__leaky_relu_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float slope,
                             float *y, int64_t ldy)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * ldx;
        float *yr = y + r * ldy;
        for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] > 0.0f ? xr[j] : slope * xr[j];
    }
}

/* y = x for x > 0, slope * x otherwise, so dy/dx = 1 or slope (the kink at
 * 0 takes the slope branch, as PyTorch does): dL/dx = dL/dy * f'(x).
 * For slope >= 0, sign(y) = sign(x) except that both are 0 together, so the
 * activation works as the sign source too. */
void irllrec__leaky_relu_bwd(int64_t rows, int64_t cols, const float *s, int64_t lds, float slope,
                             float *g, int64_t ldg)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict sr = s + r * lds;
        float *restrict gr = g + r * ldg;
        for (int64_t j = 0; j < cols; j++) gr[j] *= sr[j] > 0.0f ? 1.0f : slope;
    }
}
