/** @file
 * libirllrec: seeded random numbers (xoshiro256**, seeded through splitmix64).
 *
 * Every handle that needs randomness owns its own generator; this public
 * handle lets hosts draw from the same family, e.g. for negative sampling.
 * Same seed -> same stream on every platform. */
#ifndef IRLLREC_RNG_H
#define IRLLREC_RNG_H

#ifndef IRLLREC_EXPERIMENTAL_H
#error "include irllrec/experimental.h (with IRLLREC_EXPERIMENTAL_API defined), not this header"
#endif

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque random number generator. Not thread-safe: one thread at a time per
 *  generator. The functions that draw numbers do not allocate and do not check
 *  their handle: it must not be NULL. */
typedef struct irllrec_x_rng irllrec_x_rng;

/** Create a generator seeded with @p seed (through splitmix64, so any seed,
 *  including 0, gives a valid state).
 *  @param ctx   context (allocator, errors); must not be NULL and must outlive the handle
 *  @param seed  any value; the same seed gives the same stream on every platform
 *  @param[out] out  must not be NULL; receives the new handle, owned by the
 *                   caller, or NULL on failure; free with irllrec_x_rng_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p ctx or @p out), IRLLREC_E_NOMEM
 *  @note Allocates one small block through the context. */
IRLLREC_API irllrec_status irllrec_x_rng_create(irllrec_ctx *ctx, uint64_t seed, irllrec_x_rng **out);

/** Free a generator.
 *  @param rng  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_x_rng_free(irllrec_x_rng *rng);

/** Next raw 64-bit value of the stream.
 *  @param rng  must not be NULL
 *  @return 64 uniformly distributed bits */
IRLLREC_API uint64_t irllrec_x_rng_u64(irllrec_x_rng *rng);

/** Uniform integer below @p n, without modulo bias (rejection sampling).
 *  @param rng  must not be NULL
 *  @param n    exclusive upper bound
 *  @return a value in [0, n); 0 when @p n == 0 */
IRLLREC_API uint64_t irllrec_x_rng_below(irllrec_x_rng *rng, uint64_t n);

/** Uniform double with 53 random bits.
 *  @param rng  must not be NULL
 *  @return a value in [0, 1) */
IRLLREC_API double irllrec_x_rng_uniform(irllrec_x_rng *rng);

/** Standard normal double (Box-Muller on two uniforms).
 *  @param rng  must not be NULL
 *  @return a draw from N(0, 1); always finite */
IRLLREC_API double irllrec_x_rng_normal(irllrec_x_rng *rng);

/** Copy the 256-bit state out (for checkpoints).
 *  @param rng         must not be NULL
 *  @param[out] state  four caller-owned words; must not be NULL */
IRLLREC_API void irllrec_x_rng_get_state(const irllrec_x_rng *rng, uint64_t state[4]);

/** Restore a state saved by irllrec_x_rng_get_state(); the stream continues
 *  exactly where it was saved.
 *  @param rng    the generator
 *  @param state  four words, read during this call only
 *  @return IRLLREC_OK, or IRLLREC_E_INVALID_ARG (NULL @p rng or @p state, or the
 *          all-zero state, a fixed point of xoshiro); nothing changes on failure
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_x_rng_set_state(irllrec_x_rng *rng, const uint64_t state[4]);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_RNG_H */
