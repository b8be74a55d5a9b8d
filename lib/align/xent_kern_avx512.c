/* The AVX-512F instance of the fused tile kernels (xent_kern.inc). Compiled
 * for that target by pragma; called only after irllrec__xent_isa_best() has
 * seen AVX-512F on the running CPU. 8 x 32 logit tiles: 16 accumulators,
 * 2 column vectors and the broadcasts fit the 32 zmm registers. */
#include "xent_fused.h"
#ifdef IRLLREC__XENT_X86
#include <immintrin.h>
#include "xent_exp.h"
#pragma GCC push_options
#pragma GCC target("avx512f")

#include "xent_exp512.h"

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
#define KSFX avx512
#include "xent_kern.inc"

#pragma GCC pop_options
#endif
