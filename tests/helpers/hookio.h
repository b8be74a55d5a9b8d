/* The hook's input and gradient views over the buffers most tests keep:
 * E_final and its gradient as one N x d array (users, then items), and L
 * per-layer arrays of N x d each, contiguous. Test helper, not a library API. */
#ifndef IRLLREC_TEST_HOOKIO_H
#define IRLLREC_TEST_HOOKIO_H

#include "irllrec/irllrec.h"

#define TU_HOOKIO_MAX_LAYERS 16

typedef struct tu_hookio {
    irllrec_hook_inputs in;
    irllrec_hook_grads grads;  /* DENSE mode */
    irllrec_cmat lay[TU_HOOKIO_MAX_LAYERS];
    irllrec_mat lg[TU_HOOKIO_MAX_LAYERS];
} tu_hookio;

/* ef, gf: N x d; lay, gl: L x N x d (gl may be NULL: no layer gradients;
 * L == 0: graph-free, no layers). io must not be copied afterwards (the
 * views point into it). */
void tu_hookio_init(tu_hookio *io, int64_t U, int64_t I, int64_t d, const float *ef, float *gf,
                    int L, const float *lay, float *gl);

#endif
