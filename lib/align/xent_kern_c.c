/* The portable instance of the fused tile kernels (xent_kern.inc): one lane,
 * plain float arithmetic (no FMA contraction in ISO C), for CPUs without
 * AVX2 and for other architectures. */
#include "xent_fused.h"
#include "xent_exp.h"

typedef float VT;
#define VL 1
#define MR 4
#define NV 4
#define KG 4
#define JB 4
#define VZERO() 0.0f
#define VLD(p) (*(p))
#define VST(p, v) (*(p) = (v))
/* never reached with one lane (n < VL means n <= 0) */
#define VLDN(p, n) 0.0f
#define VSTN(p, v, n) ((void)0)
#define VSET1(x) (x)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMUL(a, b) ((a) * (b))
#define VADD(a, b) ((a) + (b))
#define VEXPNP(v) irllrec__exp_nonpos(v)
#define VKEEP(e, base, nj) ((base) < (nj) ? (e) : 0.0f)
#define KSFX c
#include "xent_kern.inc"
