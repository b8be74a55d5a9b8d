/* LeakyReLU kernels.
 *
 * Written so gcc -O3 vectorises the rows for baseline x86-64 (checked with
 * -fopt-info-vec): restrict-qualified row helpers, and the slope applied as a
 * multiply by a selected constant. In the forward, gcc turns x * (x > 0 ? 1 :
 * slope) back into a branch (then "control flow in loop"); multiplying
 * x + 0.0f instead, which it may not fold without -ffast-math, keeps the
 * select. x + 0.0f only turns -0 into +0; NaN and inf pass through. */
#include "ops.h"

static void fwd_row(int64_t n, const float *restrict x, float slope, float *restrict y)
{
    for (int64_t j = 0; j < n; j++) {
        const float m = x[j] > 0.0f ? 1.0f : slope;
        y[j] = (x[j] + 0.0f) * m;
    }
}

/* In-place rows (y == x) are legal: fwd_row reads x[j] before writing y[j]
 * at the same index only, so the restrict contract is not violated in effect;
 * keep a separate loop anyway to stay within the letter of C. */
static void fwd_row_inplace(int64_t n, float *restrict x, float slope)
{
    for (int64_t j = 0; j < n; j++) {
        const float m = x[j] > 0.0f ? 1.0f : slope;
        x[j] = (x[j] + 0.0f) * m;
    }
}

void irllrec__leaky_relu_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float slope,
                             float *y, int64_t ldy)
{
    for (int64_t r = 0; r < rows; r++) {
        if (x == y)
            fwd_row_inplace(cols, y + r * ldy, slope);
        else
            fwd_row(cols, x + r * ldx, slope, y + r * ldy);
    }
}

/* y = x for x > 0, slope * x otherwise, so dy/dx = 1 or slope (the kink at
 * 0 takes the slope branch, as PyTorch does): dL/dx = dL/dy * f'(x).
 * For slope >= 0, sign(y) = sign(x) except that both are 0 together, so the
 * activation works as the sign source too. */
static void bwd_row(int64_t n, const float *restrict s, float slope, float *restrict g)
{
    for (int64_t j = 0; j < n; j++) {
        const float m = s[j] > 0.0f ? 1.0f : slope;
        g[j] = g[j] * m;
    }
}

void irllrec__leaky_relu_bwd(int64_t rows, int64_t cols, const float *s, int64_t lds, float slope,
                             float *g, int64_t ldg)
{
    for (int64_t r = 0; r < rows; r++) bwd_row(cols, s + r * lds, slope, g + r * ldg);
}
