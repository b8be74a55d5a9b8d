/* Internal numerical kernels: irllrec__<op>_fwd and irllrec__<op>_bwd.
 *
 * Kernels take raw pointers, dimensions and leading dimensions (row-major,
 * element (r, c) of X is X[r * ldx + c]), return void and never validate,
 * allocate or log: the API layer has checked everything. Reductions
 * accumulate in double. The derivation of every _bwd is next to its code
 * and in docs/math-towers.md. */
#ifndef IRLLREC_OPS_H
#define IRLLREC_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- linear: Y = X W^T + b (PyTorch nn.Linear layout) ------------------
 * X rows x in, W out x in, b out (NULL: no bias), Y rows x out (written). */
void irllrec__linear_fwd(int64_t rows, int64_t in, int64_t out, const float *x, int64_t ldx,
                         const float *w, int64_t ldw, const float *b, float *y, int64_t ldy);

/* Accumulates dX += dY W (skipped when dx is NULL), dW += dY^T X,
 * db += sum over rows of dY (skipped when db is NULL). */
void irllrec__linear_bwd(int64_t rows, int64_t in, int64_t out, const float *x, int64_t ldx,
                         const float *w, int64_t ldw, const float *dy, int64_t lddy, float *dx,
                         int64_t lddx, float *dw, int64_t lddw, float *db);

/* Column sums of a rows x cols matrix accumulated into acc (+=), summed in
 * double in row order. */
void irllrec__colsum_acc(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *acc);

/* ---- LeakyReLU: y = x > 0 ? x : slope * x ------------------------------
 * y may alias x (same ld). */
void irllrec__leaky_relu_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float slope,
                             float *y, int64_t ldy);

/* In place: g <- g * f'(s), f'(s) = 1 for s > 0 else slope. s may be the
 * pre-activation or (for slope >= 0) the activation: both have the same sign
 * pattern. On entry g holds dL/dy, on exit dL/dx. */
void irllrec__leaky_relu_bwd(int64_t rows, int64_t cols, const float *s, int64_t lds, float slope,
                             float *g, int64_t ldg);

/* ---- row softmax: y_r = exp(x_r - max x_r) / sum exp(...) --------------
 * y may alias x (same ld). */
void irllrec__softmax_rows_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *y,
                               int64_t ldy);

/* Accumulates dX += Y (.) (dY - rowsum(Y (.) dY)), from the forward OUTPUT y.
 * dx must not alias dy or y. */
void irllrec__softmax_rows_bwd(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                               const float *dy, int64_t lddy, float *dx, int64_t lddx);

/* In place: g <- y (.) (g - rowsum(y (.) g)); on entry g = dL/dY, on exit dL/dX. */
void irllrec__softmax_rows_bwd_inplace(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                                       float *g, int64_t ldg);

/* Row log-softmax, max-subtracted, in double: y_r = x_r - max - log sum exp(x_r - max).
 * y may alias x. */
void irllrec__log_softmax_rows_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx,
                                   float *y, int64_t ldy);

/* ---- L2 normalisation: n(v) = v / sqrt(IRLLREC__L2_EPS + |v|^2) per row --- */
#define IRLLREC__L2_EPS 1e-8

/* y may alias x (same ld). nrm (rows entries, may be NULL) receives
 * sqrt(eps + |x_r|^2) in double, for irllrec__l2norm_bwd_inplace. */
void irllrec__l2norm_fwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *y,
                         int64_t ldy, double *nrm);

/* Accumulates dX += (dY - y (y . dY)) / nrm with y = x / nrm, nrm =
 * sqrt(eps + |x|^2), recomputed from the forward INPUT x (one extra pass; no
 * cache needed). dx must not alias dy or x. */
void irllrec__l2norm_bwd(int64_t rows, int64_t cols, const float *x, int64_t ldx, const float *dy,
                         int64_t lddy, float *dx, int64_t lddx);

/* Same derivative from the forward OUTPUT y and the norms nrm saved by
 * irllrec__l2norm_fwd, in place: on entry g = dL/dy, on exit dL/dx. */
void irllrec__l2norm_bwd_inplace(int64_t rows, int64_t cols, const float *y, int64_t ldy,
                                 const double *nrm, float *g, int64_t ldg);

/* ---- vector helpers (lib/ops/vec.c) -------------------------------------
 * y and x must not overlap. Reductions accumulate in double, in index
 * order, so a caller gets the same bits as its own serial loop. */
void irllrec__vadd(float *restrict y, const float *restrict x, int64_t n);            /* y += x */
void irllrec__vaxpy(float *restrict y, float a, const float *restrict x, int64_t n);  /* y += a x */
void irllrec__vadd_d(double *restrict y, const float *restrict x, int64_t n);  /* y += (double)x */
void irllrec__vnarrow(float *restrict y, const double *restrict x, int64_t n); /* y = (float)x */
double irllrec__vsumsq(const float *x, int64_t n);                 /* sum x_i^2 */
double irllrec__vdot(const float *x, const float *y, int64_t n);  /* sum x_i y_i */

/* ---- bf16 (lib/ops/bf16.c): storage of frozen text, bf16 products --------
 * bf16 is the upper half of an IEEE float: 8 significand bits, fp32's
 * exponent range. Conversion rounds to nearest even (NaN stays NaN). */
/* Round to nearest, ties to even, on the raw bits; NaN stays a (quiet) NaN
 * instead of rounding into infinity. Branch-free so loops over it vectorise. */
static inline uint16_t irllrec__f2bf(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const uint32_t nan = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}
void irllrec__f32_to_bf16(const float *restrict x, uint16_t *restrict y, int64_t n);
/* w[k] = bf16(x[2k]) | bf16(x[2k+1]) << 16 for k < (n+1)/2, a missing x[n]
 * taken as 0: the operand words of a VDPBF16 product (lib/align). */
void irllrec__f32_to_bf16_pairs(const float *restrict x, int64_t n, uint32_t *restrict w);
/* w[k] = bf16(a[k]) | bf16(b[k]) << 16 for k < n; b NULL: the high halves 0
 * (two rows interleaved, for products paired over rows). */
void irllrec__bf16_pair_rows(const float *restrict a, const float *restrict b, int64_t n,
                             uint32_t *restrict w);
void irllrec__bf16_to_f32(const uint16_t *restrict x, float *restrict y, int64_t n);
/* y (cols x rows, ld ldy) = bf16 of x^T, x rows x cols (ld ldx). */
void irllrec__f32_to_bf16_t(int64_t rows, int64_t cols, const float *x, int64_t ldx, uint16_t *y,
                            int64_t ldy);

/* 1 when a bf16 product runs in hardware here: built with oneDNN and its
 * dispatched ISA has AVX512-BF16 (or AMX). Decided at run time. */
int irllrec__bf16_usable(void);

/* C (m x n, fp32, ld ldc) = op(A) op(B), or += with accumulate, for bf16 A
 * (m x k; k x m stored when trans_a) and B (k x n; n x k when trans_b).
 * Products are exact in fp32, sums fp32. oneDNN when usable, else the
 * reference loop. Returns 0, or oneDNN's non-zero status (C unspecified). */
int irllrec__sbgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const uint16_t *a,
                    int64_t lda, const uint16_t *b, int64_t ldb, int accumulate, float *c,
                    int64_t ldc);
/* The reference loop alone (tests compare the two). */
void irllrec__sbgemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                         const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb,
                         int accumulate, float *c, int64_t ldc);

/* ---- AMX tiles (lib/ops/amx.c) --------------------------------------------
 * 1 when the CPU has AMX-BF16 with AVX-512F/BW/BF16 and the kernel grants
 * this thread the tile state (asked on every call). tiles_on configures
 * eight tiles of 16 rows x 64 bytes (0-3 fp32 C, 4-7 bf16 operands by
 * convention); tiles_off releases them, so a thread carries no tile state
 * between the library's calls. */
int irllrec__amx_ok(void);
void irllrec__amx_tiles_on(void);
void irllrec__amx_tiles_off(void);

#endif /* IRLLREC_OPS_H */
