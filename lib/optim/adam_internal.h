/* Read-only internal access to an Adam handle's blocks and moments, for
 * white-box tests (tests/test_adam.c). No library code outside adam.c uses
 * it: model files and the hook go through the public irllrec_adam_state_size /
 * _get_state / _set_state. Never installed. */
#ifndef IRLLREC_OPTIM_ADAM_INTERNAL_H
#define IRLLREC_OPTIM_ADAM_INTERNAL_H

#include "../internal.h"

/* Number of parameter blocks of the handle. */
int32_t irllrec__adam_n_blocks(const irllrec_adam *adam);

/* Borrow the moments of block b (0 <= b < n_blocks, not checked): *m and *v
 * hold *n floats each and stay valid until irllrec_adam_free(). */
void irllrec__adam_moments(const irllrec_adam *adam, int32_t b, float **m, float **v,
                           int64_t *n);

#endif /* IRLLREC_OPTIM_ADAM_INTERNAL_H */
