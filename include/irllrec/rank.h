/** @file
 * libirllrec: top-K ranking over embeddings, stateless (recommend, similar).
 *
 * These functions answer "which items for this user" and "which rows are
 * nearest to this one" from any embeddings a host has, trained with the hook
 * or not. score(q, c) = <q, c> (dot) or cos(q, c) = <q, c> / (|q| |c|) with
 * |v| = sqrt(1e-8 + <v, v>) (IRLLREC_RANK_COSINE). Results are ordered by
 * score descending, ties by the lower candidate id, and do not depend on the
 * context's thread count. Memory is bounded by threads x block x candidates,
 * never queries x candidates. Excluded candidates (seen, outside allow, in
 * deny, the query itself for similar) are never returned, whatever their
 * score; a query with fewer than K candidates left gets fewer results.
 * Every argument is checked before any output is written. A trained model with everything it needs
 * (embeddings, seen items, intents, text towers) is irllrec_rec (serve.h). */
#ifndef IRLLREC_RANK_H
#define IRLLREC_RANK_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest K the ranking functions accept. */
#define IRLLREC_RANK_MAX_K 100000

/** Flags of irllrec_rank_opts.flags, pinned. */
enum irllrec_rank_flags {
    IRLLREC_RANK_COSINE       = 1u << 0, /**< cosine instead of dot product */
    IRLLREC_RANK_INCLUDE_SEEN = 1u << 1  /**< do not exclude opts.seen (or a model's seen items);
                                              opts.seen is then not read */
};

/** Options of a ranking call. Initialise with irllrec_rank_opts_init();
 *  fields are only appended. Every pointer is borrowed for the call. */
typedef struct irllrec_rank_opts {
    uint32_t struct_size;      /**< sizeof(irllrec_rank_opts) as the caller compiled it */
    uint32_t flags;            /**< enum irllrec_rank_flags */
    const irllrec_csr *seen;   /**< query -> candidates to exclude (a user's TRAIN items); rows
                                    are indexed as the call says; NULL = none. Rows need not
                                    be sorted; repeats are harmless. Checked in its shape and
                                    offsets, and in the rows the call reads */
    const int32_t *allow;      /**< if not NULL: only these n_allow candidate ids may be
                                    returned (any order, duplicates ignored) */
    int64_t n_allow;           /**< length of allow (>= 0; 0 with allow != NULL: nothing
                                    is allowed, every result is empty; must be 0 when
                                    allow is NULL) */
    const int32_t *deny;       /**< if not NULL: these n_deny candidate ids are never returned */
    int64_t n_deny;            /**< length of deny (>= 0; must be 0 when deny is NULL) */
} irllrec_rank_opts;

/** Write defaults (dot product, nothing excluded, no lists) and set struct_size.
 *  @param opts  caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_rank_opts) as the caller compiled it */
IRLLREC_API void irllrec_rank_opts_init(irllrec_rank_opts *opts, uint32_t struct_size);

/** Top-K candidates for each of @p n query vectors.
 *  @param ctx         context (threads, allocator, errors); not NULL
 *  @param queries     n x d query vectors (one per row)
 *  @param candidates  C x d candidate vectors (same d); candidate id = row
 *  @param k           1 .. IRLLREC_RANK_MAX_K; may exceed the candidates left
 *  @param opts        options, or NULL for defaults; opts->seen row r belongs to query row r
 *                     (n_rows == n, n_cols == C)
 *  @param[out] ids    n x k ids, best first; slots past a query's count are -1
 *  @param[out] scores n x k scores or NULL; slots past the count are 0
 *  @param[out] counts n results per query (<= k) or NULL
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL ctx/ids, k out of range, an id in
 *          allow/deny outside [0, C), a malformed seen CSR, unknown flags, an output
 *          overlapping an input or another output); IRLLREC_E_SHAPE (d differs,
 *          seen's shape, n x k overflowing); IRLLREC_E_NUMERIC (a non-finite query or
 *          candidate); IRLLREC_E_VERSION (opts->struct_size); IRLLREC_E_NOMEM. On failure
 *          nothing is written to the outputs; irllrec_ctx_errmsg() names the argument.
 *  @note Allocates per-call workspace from the context (freed before returning) and runs
 *        on the context's worker threads. A dot product that overflows to NaN ranks as
 *        -inf. Not thread-safe on one context. */
IRLLREC_API irllrec_status irllrec_rank(irllrec_ctx *ctx, irllrec_cmat queries,
                                        irllrec_cmat candidates, int32_t k,
                                        const irllrec_rank_opts *opts, int32_t *ids,
                                        float *scores, int32_t *counts);

/** Top-K items for users given by id: irllrec_rank() with queries = the rows
 *  @p users of @p user_emb; opts->seen row u belongs to user u (n_rows ==
 *  user_emb.rows, n_cols == item_emb.rows), which is what a TRAIN split CSR is.
 *  @param ctx       context (threads, allocator, errors); not NULL
 *  @param user_emb  U x d user embeddings (the host's final ones)
 *  @param item_emb  I x d item embeddings (same d); item id = row
 *  @param users     @p n user ids in [0, U); repeats allowed
 *  @param n         number of users (>= 0; 0 writes nothing and returns IRLLREC_OK)
 *  @param k         1 .. IRLLREC_RANK_MAX_K; may exceed the items left
 *  @param opts      options, or NULL for defaults (dot product, nothing excluded)
 *  @param[out] ids    n x k item ids, row r for users[r], best first; -1 past the count
 *  @param[out] scores n x k scores or NULL; 0 past the count
 *  @param[out] counts n results per user (<= k) or NULL
 *  @return as irllrec_rank(); IRLLREC_E_INVALID_ARG also for an id out of range.
 *          Of the users and of opts->seen, only the rows asked about are checked
 *          (seen's shape and offsets in full); every item is checked for finiteness.
 *  @note Allocates per-call workspace from the context; not thread-safe on one context. */
IRLLREC_API irllrec_status irllrec_recommend(irllrec_ctx *ctx, irllrec_cmat user_emb,
                                             irllrec_cmat item_emb, const int32_t *users,
                                             int64_t n, int32_t k, const irllrec_rank_opts *opts,
                                             int32_t *ids, float *scores, int32_t *counts);

/** Nearest rows of @p emb to its rows @p rows by cosine (the flag is implied),
 *  each row itself excluded; opts->seen, if given, is indexed by row id
 *  (n_rows == n_cols == emb.rows). Similar items: @p emb = item embeddings;
 *  similar users: user embeddings.
 *  @param ctx   context (threads, allocator, errors); not NULL
 *  @param emb   R x d embeddings; both the queries and the candidates
 *  @param rows  @p n row ids in [0, R); repeats allowed
 *  @param n     number of rows asked about (>= 0)
 *  @param k     1 .. IRLLREC_RANK_MAX_K
 *  @param opts  options, or NULL for defaults
 *  @param[out] ids    n x k row ids, best first; -1 past the count
 *  @param[out] scores n x k cosines or NULL; 0 past the count
 *  @param[out] counts n results per row (<= k, < R) or NULL
 *  @return as irllrec_recommend()
 *  @note Normalises @p emb into per-call scratch (R x d floats); @p emb is not written. */
IRLLREC_API irllrec_status irllrec_similar(irllrec_ctx *ctx, irllrec_cmat emb,
                                           const int32_t *rows, int64_t n, int32_t k,
                                           const irllrec_rank_opts *opts, int32_t *ids,
                                           float *scores, int32_t *counts);

/** Write @p emb as DIR/NAME.npy (float32, C order, rows x d: what faiss,
 *  hnswlib and annoy index directly) and DIR/NAME.ids.tsv (a header line
 *  "row\tid", then one line per row: the row and its external id). Both files
 *  are written to temporary files and renamed into place only once both are
 *  complete, so a failure leaves the previous files (if any) as they were.
 *  @param ctx   context (allocator, errors); not NULL
 *  @param dir   an existing directory
 *  @param name  file stem: [A-Za-z0-9_.-], 1..64 characters, not starting with '.'
 *  @param emb   rows x d embeddings, every value finite
 *  @param ids   rows external ids, or NULL for 0 .. rows-1
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL ctx/dir, a bad name, a bad view),
 *          IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (non-finite value; nothing written),
 *          IRLLREC_E_IO (the OS refused: the message has its reason), IRLLREC_E_NOMEM */
IRLLREC_API irllrec_status irllrec_export_embeddings(irllrec_ctx *ctx, const char *dir,
                                                     const char *name, irllrec_cmat emb,
                                                     const int64_t *ids);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_RANK_H */
