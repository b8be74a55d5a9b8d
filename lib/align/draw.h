/* The random draws of the translation term, shared by irllrec_align and the
 * hook (which draws from its own generator). Never installed. */
#ifndef IRLLREC_ALIGN_DRAW_H
#define IRLLREC_ALIGN_DRAW_H

#include "../internal.h"

/* ids[0..n) = n distinct nodes of [0, n_all) by a partial Fisher-Yates over
 * the identity (ids holds n_all entries, all written). */
void irllrec__align_draw_sample(irllrec__rng *rng, int64_t n_all, int64_t n, int32_t *ids);

/* eps1 then eps2: count N(0,1) values each. */
void irllrec__align_draw_noise(irllrec__rng *rng, int64_t count, float *eps1, float *eps2);

#endif /* IRLLREC_ALIGN_DRAW_H */
