/* The model suites' fixture (test_model.c, test_model_robust.c): a small
 * model with every section type, its image in memory, and a check of every
 * value it holds: modelfx.c. Test helper, not a library API. */
#ifndef IRLLREC_TEST_MODELFX_H
#define IRLLREC_TEST_MODELFX_H
#include <stddef.h>
#include <stdint.h>
#include "irllrec/irllrec.h"

/* the values of mfx_build()'s f32 sections and of its RNG section */
extern const float mfx_W[6];
extern const uint64_t mfx_RNG[4];

/* A small model with every section type: meta (i64, f64, str), a 2x3
 * tensor, a u64 RNG state, a 1-D optimizer block, a 4-D teacher block. */
irllrec_status mfx_build(irllrec_ctx *ctx, irllrec_model **out);
/* Serialise into a malloc'ed buffer. */
uint8_t *mfx_to_mem(const irllrec_model *m, size_t *len);
/* mfx_build()'s model, serialised (malloc'ed). */
uint8_t *mfx_small_image(irllrec_ctx *ctx, size_t *len);
/* Check every value of a model made by mfx_build(). */
void mfx_check_built(const irllrec_model *m);
#endif
