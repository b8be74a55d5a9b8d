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

#define KSFX avx512
#include "xent_kern.inc"

#pragma GCC pop_options
#endif
