/* Small vector loops shared across modules. Plain loops over restrict
 * pointers so the compiler vectorises them; the reductions accumulate in
 * double in index order (one serial accumulator), so their bits do not
 * depend on the caller or the build's vector width. */
#include "ops.h"

void irllrec__vadd(float *restrict y, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void irllrec__vaxpy(float *restrict y, float a, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void irllrec__vadd_d(double *restrict y, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] += (double)x[i];
}

void irllrec__vnarrow(float *restrict y, const double *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) y[i] = (float)x[i];
}

double irllrec__vsumsq(const float *x, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

double irllrec__vdot(const float *x, const float *y, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)y[i];
    return s;
}
