/** @file
 * libirllrec: full-ranking evaluation (Recall\@K, NDCG\@K).
 *
 * Protocol: every item is ranked for every user with at least one held-out
 * item; the user's TRAIN items are masked. Recall\@K = hits / |T_u|;
 * NDCG\@K = DCG\@K / IDCG over min(K, |T_u|) positions; both averaged over the
 * evaluated users. Ties in score are broken by the lower item id. Scores are
 * computed blockwise with sgemm; top-K selection runs on the context's worker
 * threads, and the result does not depend on their number. */
#ifndef IRLLREC_EVAL_H
#define IRLLREC_EVAL_H

#include <stdint.h>
#include "export.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque evaluator: owns the score and top-K workspaces. Not thread-safe: one
 *  thread at a time per evaluator (it starts its own workers). */
typedef struct irllrec_evaluator irllrec_evaluator;

/** Largest K an evaluator accepts. */
#define IRLLREC_EVAL_MAX_K 1000

/** Create an evaluator for @p n_items items and cut-offs @p ks.
 *  @param ctx      context (allocator, threads, errors); must not be NULL and must
 *                  outlive the evaluator
 *  @param n_items  number of items I (1..INT32_MAX)
 *  @param ks       @p n_ks cut-offs, each in 1..IRLLREC_EVAL_MAX_K; copied
 *  @param n_ks     number of cut-offs (>= 1)
 *  @param[out] out must not be NULL; receives the new evaluator, owned by the
 *                  caller, or NULL on failure; free with irllrec_evaluator_free()
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM
 *  @note Allocates the score block and the per-thread top-K heaps through the context. */
IRLLREC_API irllrec_status irllrec_evaluator_create(irllrec_ctx *ctx, int64_t n_items,
                                                    const int32_t *ks, int32_t n_ks,
                                                    irllrec_evaluator **out);

/** Free an evaluator.
 *  @param ev  may be NULL (nothing happens); invalid after the call */
IRLLREC_API void irllrec_evaluator_free(irllrec_evaluator *ev);

/** Evaluate. score(u, i) = <user_emb[u], item_emb[i]>.
 *  @param ev        the evaluator
 *  @param user_emb  n_users x d, borrowed for this call
 *  @param item_emb  n_items x d (same d)
 *  @param mask      user -> items CSR of items to exclude (the TRAIN split); may be NULL
 *  @param truth     user -> items CSR of held-out items (n_rows == user_emb.rows)
 *  @param[out] recall   n_ks means of Recall\@ks[j]
 *  @param[out] ndcg     n_ks means of NDCG\@ks[j]
 *  @param[out] n_evaluated  users with at least one held-out item (may be NULL)
 *  @return IRLLREC_OK, IRLLREC_E_INVALID_ARG (NULL @p ev, @p truth, @p recall or
 *          @p ndcg; a malformed CSR), IRLLREC_E_SHAPE, IRLLREC_E_NOMEM (growing
 *          the per-run buffers, below; the evaluator stays usable)
 *  @note All metrics are 0 when no user has held-out items.
 *  @note Allocates only on the first run and when a run has a wider d or more
 *        blocks of evaluated users than any run before; later runs of the same
 *        or a smaller shape allocate nothing. A worker thread that cannot be
 *        started is not an error: its share runs on the calling thread (same
 *        results) and a warning is logged. */
IRLLREC_API irllrec_status irllrec_evaluator_run(irllrec_evaluator *ev, irllrec_mat user_emb,
                                                 irllrec_mat item_emb, const irllrec_csr *mask,
                                                 const irllrec_csr *truth, double *recall,
                                                 double *ndcg, int64_t *n_evaluated);

#ifdef __cplusplus
}
#endif
#endif /* IRLLREC_EVAL_H */
