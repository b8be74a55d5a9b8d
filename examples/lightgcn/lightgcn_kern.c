/* LightGCN's row kernels: one propagated layer's rows, forward (gather and
 * add into E_final) and backward (gather of the incoming gradient). The
 * schedule around them is lightgcn_prop.c; the math is lightgcn.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_impl.h"

#include <string.h>

/* y = sum_e val[e] * X[col[e]]; then Y[r] = y, and F[r] = (first ? X[r] : F[r]) + y.
 * The body is a macro so the d = 32 copy sees a constant width and a
 * fixed-size accumulator, which keeps y in two (AVX-512) or four (AVX2)
 * registers; target_clones picks the widest ISA at load time. */
#define LG_FWD_BODY(D, YCAP)                                                   \
    for (int64_t r = lo; r < hi; r++) {                                        \
        float y[YCAP];                                                         \
        const float *xr = X + r * (D);                                         \
        float *fr = F + r * (D);                                               \
        float *yr = Y + r * (D);                                               \
        for (int32_t c = 0; c < (D); c++) y[c] = 0.0f;                         \
        for (int64_t e = v.beg[r]; e < v.end[r]; e++) {                        \
            const float *xc = X + (int64_t)v.col[e] * (D);                     \
            const float a = v.val[e];                                          \
            for (int32_t c = 0; c < (D); c++) y[c] += a * xc[c];               \
        }                                                                      \
        for (int32_t c = 0; c < (D); c++) yr[c] = y[c];                        \
        if (first)                                                             \
            for (int32_t c = 0; c < (D); c++) fr[c] = xr[c] + y[c];            \
        else                                                                   \
            for (int32_t c = 0; c < (D); c++) fr[c] += y[c];                   \
    }

/* Y[r] = B[r] (+ B2[r]) + sum_e val[e] * G[col[e]] (+ two_l * W[r], with
 * rowsq[r] = |W[r]|^2, when the reg term is fused into the last layer). */
#define LG_BWD_BODY(D, YCAP)                                                   \
    for (int64_t r = lo; r < hi; r++) {                                        \
        float y[YCAP];                                                         \
        float *yr = Y + r * (D);                                               \
        for (int32_t c = 0; c < (D); c++) y[c] = B[r * (D) + c];               \
        if (B2 != NULL)                                                        \
            for (int32_t c = 0; c < (D); c++) y[c] += B2[r * (D) + c];         \
        for (int64_t e = v.beg[r]; e < v.end[r]; e++) {                        \
            const float *gc = G + (int64_t)v.col[e] * (D);                     \
            const float a = v.val[e];                                          \
            for (int32_t c = 0; c < (D); c++) y[c] += a * gc[c];               \
        }                                                                      \
        if (W != NULL) {                                                       \
            const float *w = W + r * (D);                                      \
            double sq = 0.0;                                                   \
            for (int32_t c = 0; c < (D); c++) {                                \
                y[c] += two_l * w[c];                                          \
                sq += (double)w[c] * (double)w[c];                             \
            }                                                                  \
            rowsq[r] = sq;                                                     \
        }                                                                      \
        for (int32_t c = 0; c < (D); c++) yr[c] = y[c];                        \
    }

#define LG_CLONES LGCN_CLONES("avx512f", "avx2", "default")

/* d = 32: the row accumulator lives in four 8-float vectors (GCC/Clang
 * vector extensions, not intrinsics), so it stays in registers; the
 * auto-vectorised form above spilled it and took a scalar path. */
typedef float lg_v8 __attribute__((vector_size(32)));

/* Unaligned 8-float load/store; macros, because passing vectors by value
 * across functions compiled for different ISAs changes the ABI. */
#define LD8(dst, p) memcpy(&(dst), (p), sizeof(lg_v8))
#define ST8(p, src) memcpy((p), &(src), sizeof(lg_v8))
/* y_k += a * x[8k .. 8k+8) for k = 0..3 */
#define AXPY32(a, x)                                                           \
    do {                                                                       \
        lg_v8 x0_, x1_, x2_, x3_;                                              \
        LD8(x0_, (x));                                                         \
        LD8(x1_, (x) + 8);                                                     \
        LD8(x2_, (x) + 16);                                                    \
        LD8(x3_, (x) + 24);                                                    \
        y0 += (a) * x0_;                                                       \
        y1 += (a) * x1_;                                                       \
        y2 += (a) * x2_;                                                       \
        y3 += (a) * x3_;                                                       \
    } while (0)
#define STORE32(p)                                                             \
    do {                                                                       \
        ST8((p), y0);                                                          \
        ST8((p) + 8, y1);                                                      \
        ST8((p) + 16, y2);                                                     \
        ST8((p) + 24, y3);                                                     \
    } while (0)

LG_CLONES static void fwd32(int64_t lo, int64_t hi, lg_view v, const float *restrict X,
                            float *restrict Y, float *restrict F, int32_t first)
{
    for (int64_t r = lo; r < hi; r++) {
        lg_v8 y0 = {0}, y1 = {0}, y2 = {0}, y3 = {0};
        float *yr = Y + r * 32, *fr = F + r * 32;
        const float one = 1.0f;
        for (int64_t e = v.beg[r]; e < v.end[r]; e++)
            AXPY32(v.val[e], X + (int64_t)v.col[e] * 32);
        STORE32(yr);
        /* F[r] = base + y, base = X[r] on the first layer, else F[r] */
        AXPY32(one, first ? X + r * 32 : fr);
        STORE32(fr);
    }
}
LG_CLONES static void fwdn(int64_t lo, int64_t hi, lg_view v, const float *restrict X,
                           float *restrict Y, float *restrict F, int32_t first, int32_t d)
{
    LG_FWD_BODY(d, 256)
}
LG_CLONES static void bwd32(int64_t lo, int64_t hi, lg_view v, const float *restrict G,
                            const float *restrict B, const float *restrict B2, float *restrict Y,
                            const float *restrict W, float two_l, double *restrict rowsq)
{
    for (int64_t r = lo; r < hi; r++) {
        lg_v8 y0, y1, y2, y3;
        const float one = 1.0f;
        LD8(y0, B + r * 32);
        LD8(y1, B + r * 32 + 8);
        LD8(y2, B + r * 32 + 16);
        LD8(y3, B + r * 32 + 24);
        if (B2 != NULL) AXPY32(one, B2 + r * 32);
        for (int64_t e = v.beg[r]; e < v.end[r]; e++)
            AXPY32(v.val[e], G + (int64_t)v.col[e] * 32);
        if (W != NULL) {
            const float *w = W + r * 32;
            double sq = 0.0;
            AXPY32(two_l, w);
            for (int32_t c = 0; c < 32; c++) sq += (double)w[c] * (double)w[c];
            rowsq[r] = sq;
        }
        STORE32(Y + r * 32);
    }
}
LG_CLONES static void bwdn(int64_t lo, int64_t hi, lg_view v, const float *restrict G,
                           const float *restrict B, const float *restrict B2, float *restrict Y,
                           const float *restrict W, float two_l, double *restrict rowsq, int32_t d)
{
    LG_BWD_BODY(d, 256)
}


void lg_fwd_rows(int64_t lo, int64_t hi, lg_view v, const float *X, float *Y, float *F,
                 int32_t first, int32_t d)
{
    if (d == 32)
        fwd32(lo, hi, v, X, Y, F, first);
    else
        fwdn(lo, hi, v, X, Y, F, first, d);
}

void lg_bwd_rows(int64_t lo, int64_t hi, lg_view v, const float *G, const float *B,
                 const float *B2, float *Y, const float *W, float two_l, double *rowsq, int32_t d)
{
    if (d == 32)
        bwd32(lo, hi, v, G, B, B2, Y, W, two_l, rowsq);
    else
        bwdn(lo, hi, v, G, B, B2, Y, W, two_l, rowsq, d);
}
