/* libirllrec: seeded random numbers (xoshiro256**, seeded through splitmix64).
 *
 * Every handle that needs randomness owns its own generator; this public
 * handle lets hosts draw from the same family, e.g. for negative sampling.
 * Same seed -> same stream on every platform. */
#ifndef IRLLREC_RNG_H
#define IRLLREC_RNG_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque random number generator. */
typedef struct irllrec_rng irllrec_rng;

/** Create a generator seeded with @p seed.
 *  @param[out] out  new handle or NULL on failure; free with irllrec_rng_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_rng_create(irllrec_ctx *ctx, uint64_t seed, irllrec_rng **out);

/** Free a generator; NULL is allowed. */
IRLLREC_API void irllrec_rng_free(irllrec_rng *rng);

/** Next raw 64-bit value. @p rng must not be NULL. */
IRLLREC_API uint64_t irllrec_rng_u64(irllrec_rng *rng);

/** Uniform integer in [0, n) without modulo bias; 0 when n == 0. */
IRLLREC_API uint64_t irllrec_rng_below(irllrec_rng *rng, uint64_t n);

/** Uniform double in [0, 1) with 53 random bits. */
IRLLREC_API double irllrec_rng_uniform(irllrec_rng *rng);

/** Standard normal double (Box-Muller on two uniforms). */
IRLLREC_API double irllrec_rng_normal(irllrec_rng *rng);

/** Copy the 256-bit state out (for checkpoints). */
IRLLREC_API void irllrec_rng_get_state(const irllrec_rng *rng, uint64_t state[4]);

/** Restore a state saved by irllrec_rng_get_state().
 *  @return IRLLREC_OK, or IRLLREC_E_INVALID_ARG for the all-zero state (a fixed point). */
IRLLREC_API irllrec_status irllrec_rng_set_state(irllrec_rng *rng, const uint64_t state[4]);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_RNG_H */
