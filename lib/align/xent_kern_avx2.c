/* The AVX2 + FMA instance of the fused tile kernels (xent_kern.inc). Compiled
 * for that target by pragma; called only after irllrec__xent_isa_best() has
 * seen AVX2 and FMA on the running CPU. 4 x 16 logit tiles: 8 accumulators
 * plus 2 column vectors leave room in the 16 ymm registers. */
#include "xent_fused.h"
#ifdef IRLLREC__XENT_X86
#include <immintrin.h>
#include "xent_exp.h"
#pragma GCC push_options
#pragma GCC target("avx2,fma")

/* Lanes l < n set (n in 1..7). */
static inline __m256i lanes_below(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The vector form of irllrec__exp_nonpos, with FMAs; inputs below -87 are
 * clamped (the fixed-shift path never goes below -80). */
static inline __m256 exp_np(__m256 v)
{
    const __m256 x = _mm256_max_ps(v, _mm256_set1_ps(-87.0f));
    const __m256 kf = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(IRLLREC__EXP_LN2_HI), x);
    __m256 p = _mm256_set1_ps(IRLLREC__EXP_P0);
    r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(IRLLREC__EXP_LN2_LO), r);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IRLLREC__EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IRLLREC__EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IRLLREC__EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IRLLREC__EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(IRLLREC__EXP_P5));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i k = _mm256_cvtps_epi32(kf);
    const __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(p, s);
}

typedef __m256 VT;
#define VL 8
#define MR 4
#define NV 2
#define KG 2
#define JB 4
#define VZERO() _mm256_setzero_ps()
#define VLD(p) _mm256_loadu_ps(p)
#define VST(p, v) _mm256_storeu_ps(p, v)
#define VLDN(p, n) _mm256_maskload_ps(p, lanes_below(n))
#define VSTN(p, v, n) _mm256_maskstore_ps(p, lanes_below(n), v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VEXPNP(v) exp_np(v)
#define VKEEP(e, base, nj) _mm256_and_ps(e, _mm256_castsi256_ps(lanes_below((nj) - (base))))
#define KSFX avx2
#include "xent_kern.inc"

#pragma GCC pop_options
#endif
