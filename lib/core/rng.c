/* xoshiro256** (Blackman & Vigna, 2018), seeded through splitmix64. */
#include <math.h>
#include <string.h>
#include "../internal.h"
#include "streams.h"

struct irllrec_x_rng {
    irllrec_ctx *ctx;
    irllrec__rng r;
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void irllrec__rng_seed(irllrec__rng *r, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream id through splitmix keeps components' streams apart
     * even for neighbouring seeds; splitmix never yields four zeros in a row. */
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t irllrec__rng_next(irllrec__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t irllrec__rng_below(irllrec__rng *r, uint64_t n)
{
    uint64_t x, lim;
    if (n == 0) return 0;
    /* Rejection of the short last bucket removes modulo bias. */
    lim = UINT64_MAX - (UINT64_MAX % n);
    do {
        x = irllrec__rng_next(r);
    } while (x >= lim);
    return x % n;
}

double irllrec__rng_uniform(irllrec__rng *r)
{
    return (double)(irllrec__rng_next(r) >> 11) * 0x1.0p-53;
}

double irllrec__normal_from(double u1, double u2)
{
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double irllrec__rng_normal(irllrec__rng *r)
{
    double u1 = 1.0 - irllrec__rng_uniform(r);
    double u2 = irllrec__rng_uniform(r);
    return irllrec__normal_from(u1, u2);
}

int irllrec__rng_state_valid(const uint64_t state[4])
{
    /* The all-zero state is a fixed point of xoshiro256**: it would emit
     * zeros forever, and no seeded generator ever reaches it. */
    return state != NULL && (state[0] | state[1] | state[2] | state[3]) != 0;
}

irllrec_status irllrec__rng_check_state(irllrec_ctx *ctx, const char *func,
                                        const uint64_t state[4])
{
    if (state == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "state is NULL");
    if (!irllrec__rng_state_valid(state))
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                             "state is all zero (a fixed point of xoshiro256**)");
    return IRLLREC_OK;
}

irllrec_status irllrec__rng_set_state(irllrec_ctx *ctx, const char *func, irllrec__rng *r,
                                      const uint64_t state[4])
{
    IRL_TRY(irllrec__rng_check_state(ctx, func, state));
    memcpy(r->s, state, sizeof r->s);
    return IRLLREC_OK;
}

irllrec_status irllrec_x_rng_create(irllrec_ctx *ctx, uint64_t seed, irllrec_x_rng **out)
{
    irllrec_x_rng *h;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    h = (irllrec_x_rng *)irllrec__alloc_fn(ctx, __func__, sizeof *h);
    if (h == NULL) return IRLLREC_E_NOMEM;
    h->ctx = ctx;
    irllrec__rng_seed(&h->r, seed, IRLLREC__STREAM_X_RNG);
    *out = h;
    return IRLLREC_OK;
}

void irllrec_x_rng_free(irllrec_x_rng *rng)
{
    if (rng == NULL) return;
    irllrec__free(rng->ctx, rng, sizeof *rng);
}

uint64_t irllrec_x_rng_u64(irllrec_x_rng *rng) { return irllrec__rng_next(&rng->r); }
uint64_t irllrec_x_rng_below(irllrec_x_rng *rng, uint64_t n) { return irllrec__rng_below(&rng->r, n); }
double irllrec_x_rng_uniform(irllrec_x_rng *rng) { return irllrec__rng_uniform(&rng->r); }
double irllrec_x_rng_normal(irllrec_x_rng *rng) { return irllrec__rng_normal(&rng->r); }

void irllrec_x_rng_get_state(const irllrec_x_rng *rng, uint64_t state[4])
{
    memcpy(state, rng->r.s, sizeof rng->r.s);
}

irllrec_status irllrec_x_rng_set_state(irllrec_x_rng *rng, const uint64_t state[4])
{
    if (rng == NULL) return IRLLREC_E_INVALID_ARG;
    return irllrec__rng_set_state(rng->ctx, __func__, &rng->r, state);
}
