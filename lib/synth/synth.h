/* Internal: the synthetic generator's latent model, exposed to the writer and
 * to the tests (which check that the planted structure is really there). */
#ifndef IRLLREC_LIB_SYNTH_H
#define IRLLREC_LIB_SYNTH_H

#include <stdint.h>
#include "../internal.h"
#include "../core/streams.h"

/* Share of every intent mixture spread evenly over all K intents, so that
 * no user-item pair has zero affinity. */
#define IRLLREC__SYNTH_BACKGROUND 0.1
/* Added to the affinity before weighting by popularity: the share of
 * interactions that follow popularity alone. */
#define IRLLREC__SYNTH_FLOOR 0.01

enum { IRLLREC__SYNTH_USER = 0, IRLLREC__SYNTH_ITEM = 1 };

/* RNG stream ids (IRLLREC__SYNTH_ST_*): lib/core/streams.h. */

/* The public function every message of the generator is reported for. */
#define IRLLREC__SYNTH_FN "irllrec_x_synth_write"

/* theta_e = (1 - B) * s_e + B / K, where s_e is sparse: at most n_slots
 * (intent, weight) pairs per entity, weights summing to 1, sorted by weight
 * descending (slot 0 is the dominant intent); unused slots have idx -1, w 0. */
typedef struct irllrec__synth {
    irllrec_x_synth_spec spec; /* validated, zero "later" fields resolved to defaults */
    int32_t n_slots;         /* = spec.max_dominant */
    int32_t min_degree;      /* effective: min(spec.min_degree, n_items) */
    int32_t *idx[2];         /* [side] n x n_slots intent ids */
    float *w[2];             /* [side] n x n_slots weights */
    double *pop;             /* n_items popularity weights, max 1 */
    /* Interactions, per user: train ids (sorted), then val, then test. */
    int64_t *offs;           /* n_users + 1 */
    int32_t *cnt;            /* n_users x 3: train, val, test counts */
    int32_t *items;          /* offs[n_users] ids */
    int64_t n_split[3];
    /* Text rows: src[side][r] is the entity whose latent description row r
     * of that side's embeddings was generated from (r itself unless misleading). */
    int32_t *src[2];
    int64_t n_misleading[2];
} irllrec__synth;

/* Copy (zero-extend) and validate a caller's spec, resolving defaults of the
 * fields where 0 means "default". func names the public entry point. */
irllrec_status irllrec__synth_resolve(irllrec_ctx *ctx, const char *func,
                                      const irllrec_x_synth_spec *in, irllrec_x_synth_spec *out);

/* Build the latent model and the interactions from a resolved spec. */
irllrec_status irllrec__synth_build(irllrec_ctx *ctx, const irllrec_x_synth_spec *spec,
                                    irllrec__synth **out);
void irllrec__synth_free(irllrec_ctx *ctx, irllrec__synth *m);

/* Dense mixture of entity e of side (IRLLREC__SYNTH_USER / _ITEM) into out[K]. */
void irllrec__synth_theta(const irllrec__synth *m, int side, int32_t e, double *out);
/* <theta_u, theta_i>. */
double irllrec__synth_affinity(const irllrec__synth *m, int32_t u, int32_t i);

/* Write the dataset files of m into the existing folder dir. */
irllrec_status irllrec__synth_write_files(irllrec_ctx *ctx, const irllrec__synth *m,
                                          const char *dir);

#endif /* IRLLREC_LIB_SYNTH_H */
