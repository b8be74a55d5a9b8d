/* libirllrec: interaction data and negative sampling.
 *
 * A dataset holds up to three splits (train, val, test) of a U x I
 * interaction matrix, each as CSR in both directions (user -> items and
 * item -> users), with duplicate pairs removed and ids sorted. It is read from
 * the LightGCN text format ("user item item ..." per line, 0-based ids) or
 * built from id arrays. */
#ifndef IRLLREC_DATA_H
#define IRLLREC_DATA_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque dataset. Immutable once loaded; may be read concurrently. */
typedef struct irllrec_dataset irllrec_dataset;

/** Split identifiers, pinned. */
enum irllrec_split {
    IRLLREC_SPLIT_TRAIN = 0, /**< training interactions */
    IRLLREC_SPLIT_VAL   = 1, /**< validation interactions */
    IRLLREC_SPLIT_TEST  = 2  /**< test interactions */
};

/** Load a folder: train.txt (required), val.txt and test.txt (optional, empty
 *  when absent) and stats.json (optional: "n_users"/"n_items" give the true
 *  shape; without it the shape is 1 + the largest id seen in any split).
 *  Malformed lines fail with IRLLREC_E_FORMAT and a message naming file and line.
 *  @param[out] out  new dataset or NULL; free with irllrec_dataset_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_IO, IRLLREC_E_FORMAT,
 *          IRLLREC_E_SHAPE (an id beyond stats.json's shape), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_dataset_load(irllrec_ctx *ctx, const char *dir,
                                                irllrec_dataset **out);

/** Build a dataset of the given shape from id pairs, one array pair per split
 *  (a split with n == 0 may pass NULL arrays). Arrays are copied.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (id out of range), IRLLREC_E_SHAPE, IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_dataset_from_pairs(
    irllrec_ctx *ctx, int64_t n_users, int64_t n_items,
    const int32_t *train_u, const int32_t *train_i, int64_t n_train,
    const int32_t *val_u, const int32_t *val_i, int64_t n_val,
    const int32_t *test_u, const int32_t *test_i, int64_t n_test,
    irllrec_dataset **out);

/** Free; NULL is allowed. */
IRLLREC_API void irllrec_dataset_free(irllrec_dataset *ds);

/** Number of users, or -1 for NULL. */
IRLLREC_API int64_t irllrec_dataset_n_users(const irllrec_dataset *ds);
/** Number of items, or -1 for NULL. */
IRLLREC_API int64_t irllrec_dataset_n_items(const irllrec_dataset *ds);

/** User -> items CSR of a split (n_rows = users, n_cols = items). The view
 *  borrows the dataset's memory: valid until irllrec_dataset_free().
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_dataset_user_items(const irllrec_dataset *ds, int32_t split,
                                                      irllrec_csr *out);

/** Item -> users CSR of a split (n_rows = items, n_cols = users); borrowed as above. */
IRLLREC_API irllrec_status irllrec_dataset_item_users(const irllrec_dataset *ds, int32_t split,
                                                      irllrec_csr *out);

/** Opaque per-epoch sampler of (user, positive, negative) training triples. */
typedef struct irllrec_sampler irllrec_sampler;

/** Create a sampler over the TRAIN split of @p ds; @p ds must outlive it.
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (no train pairs, or a user whose
 *          train set holds every item), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_sampler_create(irllrec_ctx *ctx, const irllrec_dataset *ds,
                                                  uint64_t seed, irllrec_sampler **out);

/** Free; NULL is allowed. */
IRLLREC_API void irllrec_sampler_free(irllrec_sampler *s);

/** Number of triples one epoch yields (= train interactions). */
IRLLREC_API int64_t irllrec_sampler_epoch_size(const irllrec_sampler *s);

/** Draw one epoch: for every train pair (u, i+), one negative drawn uniformly
 *  over items and redrawn while it is in u's TRAIN set; then all triples are
 *  shuffled. Writes epoch_size entries to each caller-owned array.
 *  @param capacity  length of each array; must be >= irllrec_sampler_epoch_size()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_sampler_epoch(irllrec_sampler *s, int32_t *users,
                                                 int32_t *pos, int32_t *neg, int64_t capacity);

/** The sampler's RNG state, for checkpoints. */
IRLLREC_API void irllrec_sampler_get_state(const irllrec_sampler *s, uint64_t state[4]);
/** Restore a state from irllrec_sampler_get_state(). @return IRLLREC_OK or IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_sampler_set_state(irllrec_sampler *s, const uint64_t state[4]);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_DATA_H */
