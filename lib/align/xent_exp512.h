/* The AVX-512 vector vocabulary of xent_kern.inc (8 x 32 tiles), its lane
 * mask and exponential, shared by the fp32 and the bf16 fused kernels
 * (xent_kern_avx512.c, xent_kern_bf16.c). Included after each file's target
 * pragma, so both compile it for their own target; never installed. */
#ifndef IRLLREC_ALIGN_XENT_EXP512_H
#define IRLLREC_ALIGN_XENT_EXP512_H
#include <immintrin.h>
#include "xent_exp.h"

/* Lanes l < n set; n <= 0 none, n >= 16 all. */
static inline __mmask16 lanes_below(int64_t n)
{
    return n <= 0 ? (__mmask16)0 : n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* The vector form of irllrec__exp_nonpos, with FMAs; inputs below -87 are
 * clamped (the fixed-shift path never goes below -80). */
static inline __m512 exp_np(__m512 v)
{
    const __m512 x = _mm512_max_ps(v, _mm512_set1_ps(-87.0f));
    const __m512 kf = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(IRLLREC__EXP_LN2_HI), x);
    __m512 p = _mm512_set1_ps(IRLLREC__EXP_P0);
    r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(IRLLREC__EXP_LN2_LO), r);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(IRLLREC__EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(IRLLREC__EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(IRLLREC__EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(IRLLREC__EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(IRLLREC__EXP_P5));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    /* p * 2^kf in one instruction instead of building 2^k from its bits and
     * multiplying (four): the same exact power-of-two scaling, the same bits
     * (k >= -126 here, so 2^k is normal either way) */
    return _mm512_scalef_ps(p, kf);
}

typedef __m512 VT;
#define VL 16
#define MR 8
#define NV 2
#define KG 2
#define JB 8
#define VZERO() _mm512_setzero_ps()
#define VLD(p) _mm512_loadu_ps(p)
#define VST(p, v) _mm512_storeu_ps(p, v)
#define VLDN(p, n) _mm512_maskz_loadu_ps(lanes_below(n), p)
#define VSTN(p, v, n) _mm512_mask_storeu_ps(p, lanes_below(n), v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VEXPNP(v) exp_np(v)
#define VKEEP(e, base, nj) _mm512_maskz_mov_ps(lanes_below((nj) - (base)), e)

#endif /* IRLLREC_ALIGN_XENT_EXP512_H */
