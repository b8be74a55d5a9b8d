/* The AVX512-BF16 kernels of the fused cross-entropy (docs/math-align.md
 * §2c). The forward is xent_kern.inc with XK_BF16: each logit tile from bf16
 * pairs with VDPBF16PS (products exact, sums fp32: twice the fp32 FMA's
 * products per instruction), its exponentials kept. BF16_LOGITS takes its
 * backward from the fp32 AVX-512 set (irllrec__xent_kern_bf16); BF16 adds
 * the bf16-product backward below (irllrec__xent_kern_bf16p). Only jobs that
 * ask run them (irllrec_align_spec.precision), and only after
 * irllrec__xent_bf16_cpu() has seen AVX512-BF16 on the running CPU. */
#include "xent_fused.h"
#ifdef IRLLREC__XENT_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bf16")
#include "xent_exp512.h"

typedef __m512bh VBH;
#define VLDBH(p) ((__m512bh)_mm512_loadu_si512((const void *)(p)))
#define VSET1BH(w) ((__m512bh)_mm512_set1_epi32((int)(w)))
#define VDPBH(acc, a, b) _mm512_dpbf16_ps(acc, a, b)
#define XK_BF16 1
#define KSFX bf16
#include "xent_kern.inc"

/* ---- bf16 backward products (IRLLREC_ALIGN_BF16) -------------------------
 * G = alpha_i e_ij rounded to bf16 (VCVTNE2PS2BF16: nearest even), then
 * dx_i += G Y over the panel's 16 column pairs and dy_j += G^T X over the
 * group's 4 row pairs, one VDPBF16PS per pair: half the instructions of the
 * fp32 push. yj: word k of pair m = (y_2m[k], y_2m+1[k]); xi: word k of
 * pair p = (x_2p[k], x_2p+1[k]); the low half holds the even one. */

/* gj[i][m] = (G_i,2m, G_i,2m+1); gi[p][j] = (G_2p,j, G_2p+1,j). */
static inline void g_pairs(const float *e, int64_t lde, const float *alpha, uint32_t gj[MR][16],
                           uint32_t gi[MR / 2][32])
{
    const __m512i i0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i i1 = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29,
                                         30, 31);
    __m512i rb[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        const __m512 a = _mm512_set1_ps(alpha[i]);
        const __m512 lo = _mm512_mul_ps(a, _mm512_loadu_ps(e + i * lde));
        const __m512 hi = _mm512_mul_ps(a, _mm512_loadu_ps(e + i * lde + 16));
        rb[i] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        _mm512_storeu_si512((void *)gj[i], rb[i]);
    }
    /* unpack interleaves rows 2p and 2p+1 within 128-bit lanes: words j0-3,
     * j8-11, j16-19, j24-27 (lo) and j4-7, ... (hi); the permutes restore j order */
#pragma GCC unroll 4
    for (int q = 0; q < MR / 2; q++) {
        const __m512i lo = _mm512_unpacklo_epi16(rb[2 * q], rb[2 * q + 1]);
        const __m512i hi = _mm512_unpackhi_epi16(rb[2 * q], rb[2 * q + 1]);
        _mm512_storeu_si512((void *)gi[q], _mm512_permutex2var_epi32(lo, i0, hi));
        _mm512_storeu_si512((void *)(gi[q] + 16), _mm512_permutex2var_epi32(lo, i1, hi));
    }
}

/* full (a constant after inlining): every lane valid, no masks. */
static inline __attribute__((always_inline)) __m512bh ldw(const uint32_t *p, __mmask16 m,
                                                          int full)
{
    return full ? (__m512bh)_mm512_loadu_si512((const void *)p)
                : (__m512bh)_mm512_maskz_loadu_epi32(m, p);
}
static inline __attribute__((always_inline)) __m512 ldf(const float *p, __mmask16 m, int full)
{
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p);
}
static inline __attribute__((always_inline)) void stf(float *p, __mmask16 m, __m512 v, int full)
{
    if (full)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, m, v);
}

/* dxr[i][k] += sum over the first np column pairs of G Y. */
static inline __attribute__((always_inline)) void dx_pairs(const uint32_t gj[MR][16],
                                                           const uint32_t *yj, int64_t d,
                                                           int32_t np, float *const *dxr,
                                                           const int full)
{
    for (int64_t k0 = 0; k0 < d; k0 += 32) {
        const __mmask16 m0 = lanes_below(d - k0), m1 = lanes_below(d - k0 - 16);
        __m512 acc[MR][2];
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            acc[i][0] = ldf(dxr[i] + k0, m0, full);
            acc[i][1] = ldf(dxr[i] + k0 + 16, m1, full);
        }
        for (int32_t m = 0; m < np; m++) {
            const __m512bh y0 = ldw(yj + m * d + k0, m0, full);
            const __m512bh y1 = ldw(yj + m * d + k0 + 16, m1, full);
#pragma GCC unroll 8
            for (int i = 0; i < MR; i++) {
                const __m512bh b = (__m512bh)_mm512_set1_epi32((int)gj[i][m]);
                acc[i][0] = _mm512_dpbf16_ps(acc[i][0], b, y0);
                acc[i][1] = _mm512_dpbf16_ps(acc[i][1], b, y1);
            }
        }
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            stf(dxr[i] + k0, m0, acc[i][0], full);
            stf(dxr[i] + k0 + 16, m1, acc[i][1], full);
        }
    }
}

/* dy[j][k] += sum over the group's MR/2 row pairs of G^T X, columns j < nj;
 * the row pairs' 32 coordinates at k0 stay in registers for every column. */
static inline __attribute__((always_inline)) void dy_pairs(const uint32_t gi[][32],
                                                           const uint32_t *xi, int64_t d,
                                                           int32_t nj, float *dy, const int full)
{
    for (int64_t k0 = 0; k0 < d; k0 += 32) {
        const __mmask16 m0 = lanes_below(d - k0), m1 = lanes_below(d - k0 - 16);
        __m512bh x[MR / 2][2];
#pragma GCC unroll 4
        for (int q = 0; q < MR / 2; q++) {
            x[q][0] = ldw(xi + q * d + k0, m0, full);
            x[q][1] = ldw(xi + q * d + k0 + 16, m1, full);
        }
        /* G's words opaque to each k0 step: GCC otherwise hoists the
         * broadcasts out of this loop and spills them to the stack, a zmm
         * store and reload each (Zen 4: dy at ~60% of VDPBF16PS's rate) */
        const uint32_t(*g)[32] = gi;
        __asm__("" : "+r"(g));
        for (int32_t j0 = 0; j0 < nj; j0 += JB) {
            __m512 acc[JB][2];
#pragma GCC unroll 8
            for (int jj = 0; jj < JB; jj++) {
                const int on = full || j0 + jj < nj;
                acc[jj][0] = ldf(dy + (j0 + jj) * d + k0, on ? m0 : 0, full);
                acc[jj][1] = ldf(dy + (j0 + jj) * d + k0 + 16, on ? m1 : 0, full);
            }
#pragma GCC unroll 4
            for (int q = 0; q < MR / 2; q++)
#pragma GCC unroll 8
                for (int jj = 0; jj < JB; jj++) {
                    const __m512bh b = (__m512bh)_mm512_set1_epi32((int)g[q][j0 + jj]);
                    acc[jj][0] = _mm512_dpbf16_ps(acc[jj][0], b, x[q][0]);
                    acc[jj][1] = _mm512_dpbf16_ps(acc[jj][1], b, x[q][1]);
                }
#pragma GCC unroll 8
            for (int jj = 0; jj < JB; jj++) {
                const int on = full || j0 + jj < nj;
                stf(dy + (j0 + jj) * d + k0, on ? m0 : 0, acc[jj][0], full);
                stf(dy + (j0 + jj) * d + k0 + 16, on ? m1 : 0, acc[jj][1], full);
            }
        }
    }
}

/* One group of MR rows against one panel. Pairing two groups per call, so
 * the dy partials are loaded and stored once per 16 rows, measured slower
 * (227 against 217 ns per 8 rows, Zen 4): VDPBF16PS's rate is the bound. */
static inline __attribute__((always_inline)) void bwdp_tile(
    const float *e, int64_t lde, const uint32_t *xi, const uint32_t *yj, int64_t d, int32_t nj,
    const float *alpha, float *const *dxr, float *dy, const int full)
{
    uint32_t gj[MR][16] __attribute__((aligned(64)));
    uint32_t gi[MR / 2][32] __attribute__((aligned(64)));
    g_pairs(e, lde, alpha, gj, gi);
    dx_pairs(gj, yj, d, full ? NV * VL / 2 : (nj + 1) / 2, dxr, full);
    dy_pairs(gi, xi, d, full ? NV * VL : nj, dy, full);
}

static void bwdp_bf16(const float *e, int64_t lde, const uint32_t *xi, const uint32_t *yj,
                      int64_t d, int32_t nj, const float *alpha, float *const *dxr, float *dy)
{
    /* whole tiles with d a multiple of 32 take a copy with no lane masks */
    if (nj == NV * VL && d % 32 == 0)
        bwdp_tile(e, lde, xi, yj, d, nj, alpha, dxr, dy, 1);
    else
        bwdp_tile(e, lde, xi, yj, d, nj, alpha, dxr, dy, 0);
}

void irllrec__xent_kern_bf16p(irllrec__xent_kern *k)
{
    irllrec__xent_kern_bf16(k);
    k->bwdp = bwdp_bf16;
}

#pragma GCC pop_options
#endif
