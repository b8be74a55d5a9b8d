/* The AVX512-BF16 instance of the fused tile kernels (xent_kern.inc with
 * XK_BF16): the forward forms each logit tile from bf16 pairs with VDPBF16PS
 * (products exact, sums fp32: twice the fp32 FMA rate per instruction) and
 * keeps its exponentials; the backward is the fp32 AVX-512 push, reading
 * those exponentials back and multiplying by the fp32 rows. Only jobs that
 * ask for bf16 logits run it (irllrec_align_spec.precision), and only after
 * irllrec__xent_bf16_cpu() has seen AVX512-BF16 on the running CPU. */
#include "xent_fused.h"
#ifdef IRLLREC__XENT_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bf16")
#include "xent_exp512.h"

typedef __m512 VT;
typedef __m512bh VBH;
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
#define VLDBH(p) ((__m512bh)_mm512_loadu_si512((const void *)(p)))
#define VSET1BH(w) ((__m512bh)_mm512_set1_epi32((int)(w)))
#define VDPBH(acc, a, b) _mm512_dpbf16_ps(acc, a, b)
#define XK_BF16 1
#define KSFX bf16
#include "xent_kern.inc"

#pragma GCC pop_options
#endif
