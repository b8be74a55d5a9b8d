/** @file
 * libirllrec: a trained recommender, ready to answer (irllrec_rec).
 *
 * What users do after training: recommend, find similar users or items,
 * explain a recommendation with the learned intents, and place users and
 * items that have only text (cold start) or only a few new interactions
 * (fold-in), without retraining. An irllrec_rec holds copies of the host's
 * final embeddings, the seen (TRAIN) items, and, when built from a hook,
 * the intent prototypes, each node's intent distribution and the two text
 * towers. It is saved to and loaded from an .irlm file (docs/file-format.md,
 * "Serving models"), which the `irllrec` command-line tool reads.
 *
 * Definitions (docs/serving.md gives the derivations):
 * - Intent distribution of a node: the softmax over the K prototypes of its
 *   side that the interaction tower computes, softmax(E(l) C) for the node's
 *   row of each layer view l = 0..L-1 the hook read (spec.layers), averaged
 *   over the L views; of the final embedding (softmax(e C)) when no views
 *   were given or the hook is graph-free. For a node added from text with
 *   intent text: softmax(z C), z its intent-tower output; for any other
 *   added node (profile text only, or folded in): softmax(e C) of its new
 *   embedding.
 * - Pair explanation: score(u, i) = <e_u, e_i> is split as
 *   sum_k contribution_k + residual, with contribution_k =
 *   0.5 (p_uk <c_uk, e_i> + q_ik <c_ik, e_u>), p and q the user's and item's
 *   distributions and c_uk, c_ik column k of the user and item prototypes;
 *   the residual, 0.5 (<e_u - sum_k p_uk c_uk, e_i> + <e_i - sum_k q_ik c_ik,
 *   e_u>), is the part of the score the prototypes do not reconstruct.
 *   Shared intents rank k by p_uk q_ik (prototype k of each side).
 * - Cold start: a node with text only gets e = s n(p(S)) (profile tower) when
 *   it has profile text, else s n(z(T)) (intent tower), n(v) = v /
 *   sqrt(1e-8 + |v|^2), s = the mean norm |e| of that side's embeddings given
 *   to irllrec_rec_create (stored in the model; added nodes do not move it).
 * - Fold-in: a user with items J gets e = s_u n(sum_{j in J} n(e_j)) (the
 *   direction of the mean of their items' directions at the users' mean
 *   norm; an item listed twice counts twice; the sum is rounded to float
 *   before the outer n()).
 * Threading: an irllrec_rec belongs to the context tree it was created or
 * loaded in (docs/threading.md): one thread at a time, including the const
 * calls (they record errors in the context, and embed_text runs the text
 * towers' caches). To serve from several threads, load the model once per
 * thread, each in its own context. */
#ifndef IRLLREC_SERVE_H
#define IRLLREC_SERVE_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"
#include "rank.h"
#include "hook.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque trained recommender. */
typedef struct irllrec_rec irllrec_rec;

/** Side of a node, pinned. */
enum irllrec_side {
    IRLLREC_USERS = 0, /**< users (rows of user_emb; then the users added since) */
    IRLLREC_ITEMS = 1  /**< items (rows of item_emb; then the items added since) */
};

/** What irllrec_rec_create() copies. Initialise with irllrec_rec_spec_init();
 *  fields are only appended. Everything is copied: the caller keeps ownership. */
typedef struct irllrec_rec_spec {
    uint32_t struct_size;      /**< sizeof(irllrec_rec_spec) as the caller compiled it */
    int32_t reserved0;         /**< must be 0 */
    irllrec_cmat user_emb;     /**< U x d final user embeddings (required) */
    irllrec_cmat item_emb;     /**< I x d final item embeddings (required, same d) */
    const irllrec_csr *seen;   /**< U x I TRAIN items, excluded by default; NULL = none */
    const irllrec_hook *hook;  /**< trained hook of the same U, I, d, or NULL (then no
                                    intents, explanations or cold start) */
    const irllrec_cmat *layers; /**< with a hook of n_layers L > 0 that has intent text:
                                    the L views of N x d per-layer node embeddings E(0..L-1)
                                    (users first) the hook's in.layers received, that the
                                    intent distributions are computed from; NULL: from
                                    user_emb / item_emb (also for a graph-free hook) */
} irllrec_rec_spec;

/** Write defaults (everything empty) and set struct_size.
 *  @param spec         caller-owned; NULL does nothing
 *  @param struct_size  sizeof(irllrec_rec_spec) as the caller compiled it
 *  @note Thread-safe; does not allocate. */
IRLLREC_API void irllrec_rec_spec_init(irllrec_rec_spec *spec, uint32_t struct_size);

/** Build a recommender from trained embeddings (and a hook). Everything is
 *  copied; the hook's text towers and prototypes as they are now, and with
 *  its intent text set on both sides each node's intent-tower output z.
 *  @param ctx   context of the new recommender (allocator, errors); must outlive it
 *  @param spec  what to copy (read during the call only)
 *  @param[out] out  the new recommender, or NULL on failure; free with irllrec_rec_free()
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG (NULL, reserved0 != 0, a malformed
 *          seen CSR, layers without a hook, with a graph-free hook or one without
 *          intent text); IRLLREC_E_SHAPE (d, the hook's U, I, d or a layer view
 *          differ); IRLLREC_E_VERSION (struct_size); IRLLREC_E_NUMERIC (a non-finite
 *          embedding or layer value); IRLLREC_E_NOMEM
 *  @note Allocates from @p ctx: the rows, distributions, z, towers (with a
 *        256-row activation cache each). The hook is only read. */
IRLLREC_API irllrec_status irllrec_rec_create(irllrec_ctx *ctx, const irllrec_rec_spec *spec,
                                              irllrec_rec **out);

/** Free a recommender and everything it holds.
 *  @param r  the recommender; NULL does nothing */
IRLLREC_API void irllrec_rec_free(irllrec_rec *r);

/** Shapes of a recommender. */
typedef struct irllrec_rec_info {
    uint32_t struct_size;  /**< set by the caller: sizeof(irllrec_rec_info) */
    int32_t dim;           /**< d */
    int64_t n_users;       /**< U, including users added since */
    int64_t n_items;       /**< I, including items added since */
    int32_t n_intents;     /**< K, 0 without a hook */
    int32_t profile_dim;   /**< D_p the profile tower reads, 0 if none */
    int32_t intent_dim;    /**< D_t the intent tower reads, 0 if none */
    int32_t has_seen;      /**< 1 if seen items are stored */
} irllrec_rec_info;

/** Describe @p r.
 *  @param r  the recommender
 *  @param[out] out  its struct_size must be set (>= 8); a shorter struct gets a prefix
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL), IRLLREC_E_VERSION (struct_size < 8) */
IRLLREC_API irllrec_status irllrec_rec_get_info(const irllrec_rec *r, irllrec_rec_info *out);

/** Read-only view of one side's embeddings (n x d, ld d).
 *  @param r     the recommender
 *  @param side  IRLLREC_USERS or IRLLREC_ITEMS
 *  @param[out] out  the view, borrowed: valid until the next add or free
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL, unknown side) */
IRLLREC_API irllrec_status irllrec_rec_embeddings(const irllrec_rec *r, int32_t side,
                                                  irllrec_cmat *out);

/** Save to @p path (written atomically; sections listed in docs/file-format.md,
 *  "Serving models"), users and items added since create included.
 *  @param r     the recommender (not changed)
 *  @param path  target file; its directory must exist
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_IO, IRLLREC_E_NOMEM
 *  @note Builds the file image in memory from the recommender's context first. */
IRLLREC_API irllrec_status irllrec_rec_save(const irllrec_rec *r, const char *path);

/** Load a file written by irllrec_rec_save(): checksums verified, every shape
 *  checked against the others before anything is used.
 *  Every call on the loaded recommender gives the bits it gave on the saved one.
 *  @param ctx   context of the new recommender; must outlive it
 *  @param path  a regular file
 *  @param[out] out  the recommender, or NULL on failure; free with irllrec_rec_free()
 *  @return IRLLREC_OK; IRLLREC_E_INVALID_ARG; IRLLREC_E_IO; IRLLREC_E_FORMAT (not a
 *          serving model: the message says what the file is, e.g. a hook
 *          checkpoint; a section missing or of the wrong shape; a malformed seen
 *          pattern or distribution); IRLLREC_E_CHECKSUM; IRLLREC_E_VERSION (written
 *          by a newer serve.version); IRLLREC_E_NUMERIC (a non-finite value);
 *          IRLLREC_E_NOMEM. The message names the section. */
IRLLREC_API irllrec_status irllrec_rec_load(irllrec_ctx *ctx, const char *path,
                                            irllrec_rec **out);

/** Top-K items for users: irllrec_recommend() over the stored embeddings,
 *  excluding the stored seen items unless opts says otherwise (opts->seen, if
 *  given, replaces them; IRLLREC_RANK_INCLUDE_SEEN drops the exclusion).
 *  @param r       the recommender
 *  @param users   @p n user ids in [0, n_users)
 *  @param n       number of users (>= 0)
 *  @param k       1 .. IRLLREC_RANK_MAX_K
 *  @param opts    as for irllrec_recommend(), or NULL
 *  @param[out] ids     n x k item ids, best first, -1 past a user's count
 *  @param[out] scores  n x k scores, or NULL
 *  @param[out] counts  n results per user, or NULL
 *  @return as irllrec_recommend() (messages name irllrec_rec_recommend) */
IRLLREC_API irllrec_status irllrec_rec_recommend(const irllrec_rec *r, const int32_t *users,
                                                 int64_t n, int32_t k,
                                                 const irllrec_rank_opts *opts, int32_t *ids,
                                                 float *scores, int32_t *counts);

/** Nearest users or items by cosine (irllrec_similar() over one side).
 *  @param r     the recommender
 *  @param side  IRLLREC_USERS or IRLLREC_ITEMS
 *  @param ids   @p n row ids of that side
 *  @param n     number of queries (>= 0)
 *  @param k     1 .. IRLLREC_RANK_MAX_K
 *  @param opts  as for irllrec_similar() (its seen is indexed by row id), or NULL
 *  @param[out] out_ids  n x k ids of the same side, best first, each query itself excluded
 *  @param[out] scores   n x k cosines, or NULL
 *  @param[out] counts   n results per query, or NULL
 *  @return as irllrec_similar() (messages name irllrec_rec_similar) */
IRLLREC_API irllrec_status irllrec_rec_similar(const irllrec_rec *r, int32_t side,
                                               const int32_t *ids, int64_t n, int32_t k,
                                               const irllrec_rank_opts *opts, int32_t *out_ids,
                                               float *scores, int32_t *counts);

/** Intent distributions of nodes: @p n rows of K probabilities (each sums to 1).
 *  @param r     the recommender
 *  @param side  IRLLREC_USERS or IRLLREC_ITEMS
 *  @param ids   @p n node ids of that side
 *  @param n     number of nodes (>= 0)
 *  @param[out] probs  n x K
 *  @return IRLLREC_OK; IRLLREC_E_STATE (no intents: built without a hook or without
 *          intent text); IRLLREC_E_INVALID_ARG (an id out of range, named) */
IRLLREC_API irllrec_status irllrec_rec_intents(const irllrec_rec *r, int32_t side,
                                               const int32_t *ids, int64_t n, float *probs);

/** The explanation of one (user, item) pair. */
typedef struct irllrec_explanation {
    uint32_t struct_size;  /**< set by the caller: sizeof(irllrec_explanation) */
    int32_t n;             /**< intents listed (<= top and <= K) */
    double score;          /**< <e_u, e_i> */
    double residual;       /**< score - sum over all K of the contributions */
    int32_t *intents;      /**< caller-owned, top entries: shared intents, best first
                                (by p_uk q_ik, ties by the lower id) */
    double *shared;        /**< caller-owned, top entries or NULL: p_uk q_ik */
    double *contribution;  /**< caller-owned, top entries or NULL: contribution_k */
} irllrec_explanation;

/** Explain why @p item scores as it does for @p user.
 *  @param r     the recommender
 *  @param user  a user id
 *  @param item  an item id
 *  @param top   intents to list (1 .. K)
 *  @param[in,out] out  struct_size and the caller's arrays in; n, score, residual
 *                      and the arrays' first top entries out
 *  @return IRLLREC_OK, IRLLREC_E_STATE (no intents), IRLLREC_E_INVALID_ARG (an id out
 *          of range, top, out->intents NULL), IRLLREC_E_VERSION (out->struct_size is
 *          not sizeof(irllrec_explanation) or more). Does not allocate. */
IRLLREC_API irllrec_status irllrec_rec_explain(const irllrec_rec *r, int32_t user, int32_t item,
                                               int32_t top, irllrec_explanation *out);

/** Nodes nearest to each intent prototype through the text tower: for prototype
 *  k of @p side, the @p top nodes of that side whose intent-tower outputs z have
 *  the highest cosine with c_k (the raw material of an intent's label), best
 *  first, ties by the lower id. Nodes without intent text (folded-in users,
 *  nodes added with profile text only) are never exemplars.
 *  @param r     the recommender
 *  @param side  IRLLREC_USERS or IRLLREC_ITEMS
 *  @param top   1 .. IRLLREC_RANK_MAX_K; slots past the eligible nodes are -1 (score 0)
 *  @param[out] ids  K x top node ids (row k: prototype k)
 *  @param[out] scores  K x top cosines, or NULL
 *  @return IRLLREC_OK, IRLLREC_E_STATE (no intent tower or its text was not given
 *          to irllrec_rec_create's hook), IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM
 *  @note Allocates scratch of about (d + 1) floats per node of the side. */
IRLLREC_API irllrec_status irllrec_rec_intent_exemplars(const irllrec_rec *r, int32_t side,
                                                        int32_t top, int32_t *ids,
                                                        float *scores);

/** Embeddings for nodes that have only text (the cold-start rule above),
 *  without adding them.
 *  @param r     the recommender (its towers' activation caches change, nothing else)
 *  @param side  IRLLREC_USERS or IRLLREC_ITEMS: whose mean norm s scales the result
 *  @param profile  n x D_p profile embeddings, or a view with rows 0 (absent)
 *  @param intent   n x D_t intent embeddings, or rows 0; at least one given. With
 *                  both, the embedding comes from the profile and the intent text
 *                  is only checked (add_from_text uses it for the distribution)
 *  @param[out] out n x d; not written on failure of a check
 *  @return IRLLREC_OK, IRLLREC_E_STATE (no tower for the given text),
 *          IRLLREC_E_SHAPE, IRLLREC_E_NUMERIC (a non-finite text value: the message
 *          names its row and column), IRLLREC_E_INVALID_ARG */
IRLLREC_API irllrec_status irllrec_rec_embed_text(const irllrec_rec *r, int32_t side,
                                                  irllrec_cmat profile, irllrec_cmat intent,
                                                  irllrec_mat out);

/** Add text-only nodes (embedded as irllrec_rec_embed_text() does): they get
 *  ids n_before .. n_before + n - 1 and can be recommended or ranked at once.
 *  @param r        the recommender
 *  @param side     IRLLREC_USERS or IRLLREC_ITEMS
 *  @param profile  as for irllrec_rec_embed_text()
 *  @param intent   as for irllrec_rec_embed_text(); with intent text the nodes'
 *                  distributions are softmax(z C) and they can be exemplars
 *  @param[out] first_id  the first new id (may be NULL)
 *  @return as irllrec_rec_embed_text(), and IRLLREC_E_NOMEM; on failure nothing changes */
IRLLREC_API irllrec_status irllrec_rec_add_from_text(irllrec_rec *r, int32_t side,
                                                     irllrec_cmat profile, irllrec_cmat intent,
                                                     int32_t *first_id);

/** A user embedding from a few interactions (the fold-in rule above).
 *  @param r      the recommender
 *  @param items  @p n item ids
 *  @param n      >= 1
 *  @param[out] out  d floats
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (n < 1, an id out of range). Does not
 *          allocate. */
IRLLREC_API irllrec_status irllrec_rec_fold_in(const irllrec_rec *r, const int32_t *items,
                                               int64_t n, float *out);

/** Add a user from interactions (fold-in); the items become the user's seen items
 *  (sorted, repeats once), so its recommendations exclude them.
 *  @param r      the recommender
 *  @param items  @p n item ids
 *  @param n      >= 1
 *  @param[out] new_id  the new user's id, n_users before the call (may be NULL)
 *  @return as irllrec_rec_fold_in(), and IRLLREC_E_NOMEM; on failure nothing changes */
IRLLREC_API irllrec_status irllrec_rec_add_user(irllrec_rec *r, const int32_t *items, int64_t n,
                                                int32_t *new_id);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_SERVE_H */
