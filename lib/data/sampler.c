/* Per-epoch BPR triples: one uniform negative per train pair, rejected while
 * it is a train positive of that user, then one Fisher-Yates shuffle. The
 * RNG is the only state, so a checkpoint needs just its four words. */
#include <string.h>
#include "../core/streams.h"
#include "dataset.h"

struct irllrec_x_sampler {
    irllrec_ctx *ctx;
    const int64_t *ptr; /* borrowed from the dataset's TRAIN user -> items CSR */
    const int32_t *idx;
    int64_t n_users;
    int64_t n_items;
    int64_t n_pairs;
    irllrec__rng rng;
};

irllrec_status irllrec_x_sampler_create(irllrec_ctx *ctx, const irllrec_x_dataset *ds, uint64_t seed,
                                      irllrec_x_sampler **out)
{
    irllrec_x_sampler *s;
    const irllrec__split *tr;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, ds != NULL, IRLLREC_E_INVALID_ARG, "ds is NULL");
    tr = &ds->split[IRLLREC_SPLIT_TRAIN];
    IRL_CHECK(ctx, tr->nnz > 0, IRLLREC_E_INVALID_ARG, "the TRAIN split has no interactions");
    /* A user holding every item would make the rejection loop spin forever. */
    for (int64_t u = 0; u < ds->n_users; u++)
        IRL_CHECK(ctx, tr->u_ptr[u + 1] - tr->u_ptr[u] < ds->n_items, IRLLREC_E_INVALID_ARG,
                  "user %lld has all %lld items in TRAIN: no negative exists", (long long)u,
                  (long long)ds->n_items);
    s = (irllrec_x_sampler *)irllrec__calloc_fn(ctx, __func__, 1, sizeof *s);
    if (s == NULL) return IRLLREC_E_NOMEM;
    s->ctx = ctx;
    s->ptr = tr->u_ptr;
    s->idx = tr->u_idx;
    s->n_users = ds->n_users;
    s->n_items = ds->n_items;
    s->n_pairs = tr->nnz;
    irllrec__rng_seed(&s->rng, seed, IRLLREC__STREAM_SAMPLER);
    *out = s;
    return IRLLREC_OK;
}

void irllrec_x_sampler_free(irllrec_x_sampler *s)
{
    if (s == NULL) return;
    irllrec__free(s->ctx, s, sizeof *s);
}

int64_t irllrec_x_sampler_epoch_size(const irllrec_x_sampler *s) { return s ? s->n_pairs : -1; }


irllrec_status irllrec_x_sampler_epoch(irllrec_x_sampler *s, int32_t *users, int32_t *pos,
                                     int32_t *neg, int64_t capacity)
{
    int64_t k = 0;
    if (s == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(s->ctx, users != NULL && pos != NULL && neg != NULL, IRLLREC_E_INVALID_ARG,
              "an output array is NULL");
    IRL_CHECK(s->ctx, capacity >= s->n_pairs, IRLLREC_E_INVALID_ARG,
              "capacity %lld < epoch size %lld", (long long)capacity, (long long)s->n_pairs);
    for (int64_t u = 0; u < s->n_users; u++) {
        const int32_t *row = s->idx + s->ptr[u];
        int64_t deg = s->ptr[u + 1] - s->ptr[u];
        for (int64_t j = 0; j < deg; j++, k++) {
            int32_t n;
            do {
                n = (int32_t)irllrec__rng_below(&s->rng, (uint64_t)s->n_items);
            } while (irllrec__sorted_contains(row, deg, n));
            users[k] = (int32_t)u;
            pos[k] = row[j];
            neg[k] = n;
        }
    }
    for (int64_t i = s->n_pairs - 1; i > 0; i--) {
        int64_t j = (int64_t)irllrec__rng_below(&s->rng, (uint64_t)i + 1);
        int32_t t;
        t = users[i], users[i] = users[j], users[j] = t;
        t = pos[i], pos[i] = pos[j], pos[j] = t;
        t = neg[i], neg[i] = neg[j], neg[j] = t;
    }
    return IRLLREC_OK;
}

void irllrec_x_sampler_get_state(const irllrec_x_sampler *s, uint64_t state[4])
{
    if (s == NULL || state == NULL) return;
    memcpy(state, s->rng.s, sizeof s->rng.s);
}

irllrec_status irllrec_x_sampler_set_state(irllrec_x_sampler *s, const uint64_t state[4])
{
    if (s == NULL) return IRLLREC_E_INVALID_ARG;
    return irllrec__rng_set_state(s->ctx, __func__, &s->rng, state);
}
