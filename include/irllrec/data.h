/** @file
 * libirllrec: interaction data and negative sampling.
 *
 * A dataset holds up to three splits (train, val, test) of a U x I
 * interaction matrix, each as CSR in both directions (user -> items and
 * item -> users), with duplicate pairs removed and ids sorted. It is read from
 * the LightGCN text format ("user item item ..." per line, 0-based ids) or
 * built from id arrays. */
#ifndef IRLLREC_DATA_H
#define IRLLREC_DATA_H

#ifndef IRLLREC_EXPERIMENTAL_H
#error "include irllrec/experimental.h (with IRLLREC_EXPERIMENTAL_API defined), not this header"
#endif

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque dataset. Immutable once loaded: its getters may be called from
 *  several threads at once, as long as none of those calls fails (a failure
 *  writes the context's message). */
typedef struct irllrec_x_dataset irllrec_x_dataset;

/** Split identifiers, pinned. */
enum irllrec_split {
    IRLLREC_SPLIT_TRAIN = 0, /**< training interactions */
    IRLLREC_SPLIT_VAL   = 1, /**< validation interactions */
    IRLLREC_SPLIT_TEST  = 2  /**< test interactions */
};

/** Shape caps of irllrec_x_dataset_load() (docs/data-format.md): n_users
 *  and n_items, from stats.json or inferred from the largest id, must each be
 *  at most IRLLREC_X_DATASET_FREE_SIDE + IRLLREC_X_DATASET_SIDE_PER_PAIR x
 *  (pairs in the three files) and at most IRLLREC_X_DATASET_MAX_SIDE. */
#define IRLLREC_X_DATASET_MAX_SIDE (INT64_C(1) << 27)
/** See IRLLREC_X_DATASET_MAX_SIDE. */
#define IRLLREC_X_DATASET_FREE_SIDE (INT64_C(1) << 20)
/** See IRLLREC_X_DATASET_MAX_SIDE. */
#define IRLLREC_X_DATASET_SIDE_PER_PAIR INT64_C(64)

/** Load a folder: train.txt (required), val.txt and test.txt (optional, empty
 *  when absent) and stats.json (optional: "n_users"/"n_items" give the true
 *  shape; without it the shape is 1 + the largest id seen in any split).
 *  Malformed lines fail with IRLLREC_E_FORMAT and a message naming file and line.
 *  @param ctx  context (allocator, errors); must not be NULL and must outlive the dataset
 *  @param dir  folder name, borrowed for this call; must not be NULL
 *  @param[out] out  must not be NULL; receives the new dataset, owned by the
 *                   caller, or NULL on failure; free with irllrec_x_dataset_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_IO, IRLLREC_E_FORMAT,
 *          IRLLREC_E_SHAPE (an id beyond stats.json's shape; a shape beyond the
 *          caps above, before anything of that size is allocated), IRLLREC_E_NOMEM
 *  @note Not thread-safe on one context tree. Allocates the CSR arrays of every
 *        split in both directions through the context. */
IRLLREC_API irllrec_status irllrec_x_dataset_load(irllrec_ctx *ctx, const char *dir,
                                                irllrec_x_dataset **out);

/** Build a dataset of the given shape from id pairs, one array pair per split
 *  (a split with n == 0 may pass NULL arrays). Arrays are copied; duplicate
 *  pairs are removed.
 *  @param ctx      context (allocator, errors); must not be NULL and must outlive the dataset
 *  @param n_users  number of users U (> 0)
 *  @param n_items  number of items I (> 0)
 *  @param train_u  @p n_train user ids in [0, U) of the TRAIN split
 *  @param train_i  @p n_train item ids in [0, I), paired with @p train_u
 *  @param n_train  number of TRAIN pairs (>= 0)
 *  @param val_u    @p n_val user ids of the VAL split
 *  @param val_i    @p n_val item ids of the VAL split
 *  @param n_val    number of VAL pairs (>= 0)
 *  @param test_u   @p n_test user ids of the TEST split
 *  @param test_i   @p n_test item ids of the TEST split
 *  @param n_test   number of TEST pairs (>= 0)
 *  @param[out] out must not be NULL; receives the new dataset, owned by the
 *                  caller, or NULL on failure; free with irllrec_x_dataset_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL pointers, id out of range),
 *          IRLLREC_E_SHAPE, IRLLREC_E_NOMEM
 *  @note Not thread-safe on one context tree. */
IRLLREC_API irllrec_status irllrec_x_dataset_from_pairs(
    irllrec_ctx *ctx, int64_t n_users, int64_t n_items,
    const int32_t *train_u, const int32_t *train_i, int64_t n_train,
    const int32_t *val_u, const int32_t *val_i, int64_t n_val,
    const int32_t *test_u, const int32_t *test_i, int64_t n_test,
    irllrec_x_dataset **out);

/** Free a dataset. Samplers made from it must be freed first.
 *  @param ds  may be NULL (nothing happens); invalid after the call, as are its CSR views */
IRLLREC_API void irllrec_x_dataset_free(irllrec_x_dataset *ds);

/** Number of users.
 *  @param ds  the dataset; may be NULL
 *  @return U, or -1 for NULL */
IRLLREC_API int64_t irllrec_x_dataset_n_users(const irllrec_x_dataset *ds);
/** Number of items.
 *  @param ds  the dataset; may be NULL
 *  @return I, or -1 for NULL */
IRLLREC_API int64_t irllrec_x_dataset_n_items(const irllrec_x_dataset *ds);

/** User -> items CSR of a split (n_rows = users, n_cols = items), ids sorted
 *  within each row. The view borrows the dataset's memory: valid until
 *  irllrec_x_dataset_free(); it must not be written through.
 *  @param ds     the dataset
 *  @param split  an irllrec_split value
 *  @param[out] out  caller-owned view, filled on success
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument, unknown split)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_x_dataset_user_items(const irllrec_x_dataset *ds, int32_t split,
                                                      irllrec_csr *out);

/** Item -> users CSR of a split (n_rows = items, n_cols = users); borrowed as
 *  irllrec_x_dataset_user_items().
 *  @param ds     the dataset
 *  @param split  an irllrec_split value
 *  @param[out] out  caller-owned view, filled on success
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument, unknown split)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_x_dataset_item_users(const irllrec_x_dataset *ds, int32_t split,
                                                      irllrec_csr *out);

/** Opaque per-epoch sampler of (user, positive, negative) training triples.
 *  Not thread-safe: one thread at a time per sampler. */
typedef struct irllrec_x_sampler irllrec_x_sampler;

/** Create a sampler over the TRAIN split of @p ds.
 *  @param ctx   context (allocator, errors); must not be NULL and must outlive the sampler
 *  @param ds    the dataset; borrowed for the sampler's whole life (must outlive it)
 *  @param seed  seed of the sampler's own generator
 *  @param[out] out  must not be NULL; receives the new sampler, owned by the
 *                   caller, or NULL on failure; free with irllrec_x_sampler_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL argument, no train pairs, or a
 *          user whose train set holds every item), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_x_sampler_create(irllrec_ctx *ctx, const irllrec_x_dataset *ds,
                                                  uint64_t seed, irllrec_x_sampler **out);

/** Free a sampler (not its dataset).
 *  @param s  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_x_sampler_free(irllrec_x_sampler *s);

/** Number of triples one epoch yields.
 *  @param s  the sampler; may be NULL
 *  @return the number of TRAIN interactions, or -1 for NULL */
IRLLREC_API int64_t irllrec_x_sampler_epoch_size(const irllrec_x_sampler *s);

/** Draw one epoch: for every train pair (u, i+), one negative drawn uniformly
 *  over items and redrawn while it is in u's TRAIN set; then all triples are
 *  shuffled. Writes epoch_size entries to each caller-owned array.
 *  @param s             the sampler
 *  @param[out] users    user of each triple
 *  @param[out] pos      positive item of each triple
 *  @param[out] neg      negative item of each triple
 *  @param capacity  length of each array; must be >= irllrec_x_sampler_epoch_size()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_x_sampler_epoch(irllrec_x_sampler *s, int32_t *users,
                                                 int32_t *pos, int32_t *neg, int64_t capacity);

/** The sampler's RNG state, for checkpoints.
 *  @param s           the sampler; NULL does nothing
 *  @param[out] state  four caller-owned words; NULL does nothing */
IRLLREC_API void irllrec_x_sampler_get_state(const irllrec_x_sampler *s, uint64_t state[4]);
/** Restore a state from irllrec_x_sampler_get_state(): the next epoch is the one
 *  that would have followed the save.
 *  @param s      the sampler
 *  @param state  four words, read during this call only
 *  @return IRLLREC_OK or IRLLREC_E_INVALID_ARG (NULL argument, all-zero state;
 *          nothing changes)
 *  @note Does not allocate. */
IRLLREC_API irllrec_status irllrec_x_sampler_set_state(irllrec_x_sampler *s, const uint64_t state[4]);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_DATA_H */
