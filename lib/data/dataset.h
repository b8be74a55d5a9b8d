/* Internal layout of irllrec_x_dataset and the helpers shared by the text
 * parser, the pair builder and the sampler. Never installed. */
#ifndef IRLLREC_DATA_DATASET_H
#define IRLLREC_DATA_DATASET_H

#include "../internal.h"

/* One split as CSR in both directions. Index arrays may be longer than nnz
 * (duplicates are removed in place), so their allocated sizes are kept for
 * the sized free. */
typedef struct irllrec__split {
    int64_t nnz;
    int64_t *u_ptr;      /* n_users + 1 */
    int32_t *u_idx;      /* item ids, ascending within each user */
    int64_t *i_ptr;      /* n_items + 1 */
    int32_t *i_idx;      /* user ids, ascending within each item */
    size_t u_idx_bytes;
    size_t i_idx_bytes;
} irllrec__split;

struct irllrec_x_dataset {
    irllrec_ctx *ctx;
    int64_t n_users;
    int64_t n_items;
    irllrec__split split[3];
};

/* Allocate an empty dataset of the given shape (splits all empty); func is
 * the public function reporting (as for the fill below). */
irllrec_status irllrec__dataset_alloc(irllrec_ctx *ctx, const char *func, int64_t n_users,
                                      int64_t n_items, irllrec_x_dataset **out);

/* Fill split s of ds from n (user, item) pairs already known to be in range:
 * bucket by user, sort rows, drop duplicate pairs, build the transpose. */
irllrec_status irllrec__dataset_fill_split(irllrec_x_dataset *ds, const char *func, int32_t s,
                                           const int32_t *u, const int32_t *it, int64_t n);

/* Scan a stats.json text for top-level integer keys "n_users" and "n_items".
 * *n_users / *n_items are set to -1 when a key is absent. E_FORMAT (naming
 * @p path and the byte offset) on malformed JSON structure or a bad value. */
irllrec_status irllrec__stats_scan(irllrec_ctx *ctx, const char *path, const char *text,
                                   size_t len, int64_t *n_users, int64_t *n_items);

/* Parse one LightGCN text buffer. Pass u == NULL to validate and count only
 * (*n_pairs receives the pair count, *max_user / *max_item the largest ids
 * seen or -1, *max_user_line / *max_item_line the 1-based line of their
 * first occurrence, each output may be NULL); with arrays, the buffer must have been validated by a
 * counting pass with the same limits and the pairs are written in file
 * order. Ids >= user_limit / item_limit (when > 0) fail with E_SHAPE. */
irllrec_status irllrec__parse_pairs(irllrec_ctx *ctx, const char *path, const char *text,
                                    size_t len, int64_t user_limit, int64_t item_limit,
                                    const char *limit_src, int32_t *u, int32_t *it,
                                    int64_t *n_pairs, int64_t *max_user, int64_t *max_item,
                                    int64_t *max_user_line, int64_t *max_item_line);

#endif /* IRLLREC_DATA_DATASET_H */
