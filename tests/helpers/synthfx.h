/* The synthetic-data suites' helpers (test_synth.c, test_synth_intents.c):
 * a small spec, a generated dataset in a temporary directory, its files read
 * back, and the generator's model without files: synthfx.c. Test helper, not
 * a library API. */
#ifndef IRLLREC_TEST_SYNTHFX_H
#define IRLLREC_TEST_SYNTHFX_H
#include <stddef.h>
#include <stdint.h>
#include "irllrec/irllrec.h"
#include "synth/synth.h"

/* 300 users, 200 items, 6 intents, text dims 32 and 48, mean degree 12. */
void synfx_small_spec(irllrec_x_synth_spec *s);
/* dir/name, NUL-terminated and malloc'ed; its length in *len. */
char *synfx_slurp(const char *dir, const char *name, size_t *len);
/* irllrec_x_synth_write(s) into a new temporary directory (tu_tmpdir_free it). */
char *synfx_gen(irllrec_ctx *ctx, const irllrec_x_synth_spec *s);
/* A float32 .npy written by the generator: checks the header exactly. */
float *synfx_load_npy(const char *dir, const char *name, int64_t rows, int64_t cols);
/* The generator's model for s (resolved and built; irllrec__synth_free it). */
irllrec__synth *synfx_model_of(irllrec_ctx *ctx, const irllrec_x_synth_spec *s);
#endif
