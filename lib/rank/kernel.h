/* The ranking kernel shared by evaluation (lib/eval) and serving (lib/serve):
 * one block scorer (gather query rows, one sgemm against every candidate)
 * and one masked top-K selector. Both callers go through these functions so
 * that what a recommendation returns and what the evaluator measures can
 * never disagree. Never installed. */
#ifndef IRLLREC_RANK_KERNEL_H
#define IRLLREC_RANK_KERNEL_H

#include "../internal.h"

/* Candidates per slice whose maximum is taken in the top-K prefilter. */
#ifndef IRLLREC__TOPK_CHUNK
#define IRLLREC__TOPK_CHUNK 64
#endif

/* ---- block scoring (lib/rank/score.c) -------------------------------- */

/* Query rows per sgemm block for n_cand candidates: a fixed score budget
 * (4.5 MiB, 128 Amazon-book rows) clamped to [16, 1024]. A function of the
 * candidate count only, never of the thread count, so the blocks a query
 * falls into (and with them its scores' bits) are the same on any machine
 * configuration of one build. */
int64_t irllrec__score_block_rows(int64_t n_cand);

/* Copy rows[0..nb) of src (row stride ld) into packed (nb x d, contiguous). */
void irllrec__gather_rows(const float *src, int64_t ld, const int64_t *rows, int64_t nb,
                          int64_t d, float *packed);

/* scores (nb x n_cand, contiguous) = packed (nb x d) . cand^T (cand: n_cand x d,
 * row stride ldc), through irllrec__sgemm. */
void irllrec__score_block(const float *packed, int64_t nb, int64_t d, const float *cand,
                          int64_t ldc, int64_t n_cand, float *scores);

/* ---- top-K selection (lib/rank/topk.c) ------------------------------- */

/* A heap of at most k entries (scores hs, ids hi, m in use) whose root is
 * the worst kept entry. The caller owns the buffers. */
typedef struct irllrec__topk {
    float *hs;
    int32_t *hi;
    int32_t m, k;
} irllrec__topk;

/* Offer the n scores s (candidate id = index) to t (m = 0 on entry). Two
 * kinds of exclusion, either or both: the ascending ids mk[0..n_mask) (a
 * sorted CSR row), and ex (n bytes, NULL = none) where a non-zero byte
 * excludes that id. An excluded id is never returned, whatever its score.
 * Writes -inf over the excluded scores in s. Ties go to the lower id; NaN
 * ranks as -inf. cmax and scratch hold ceil(n / IRLLREC__TOPK_CHUNK) floats. */
void irllrec__topk_select(irllrec__topk *t, float *s, int64_t n, const int32_t *mk,
                          int64_t n_mask, const uint8_t *ex, float *cmax, float *scratch);

/* Sort the heap in place: afterwards entry 0 is the best. */
void irllrec__topk_sort(irllrec__topk *t);

#endif /* IRLLREC_RANK_KERNEL_H */
