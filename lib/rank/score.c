/* Block scoring: the one sgemm call both the evaluator and the ranking
 * functions make, so a query's scores are the same bits in either. */
#include <string.h>
#include "kernel.h"

/* 4.5 MiB of scores per block: smaller blocks keep the scores in L2 but make
 * the sgemm calls too small to run well (docs/evaluation.md). */
#define SCORE_BLOCK_BYTES (4608u * 1024u)
#define BLOCK_MIN 16
#define BLOCK_MAX 1024

int64_t irllrec__score_block_rows(int64_t n_cand)
{
    int64_t b = n_cand > 0 ? (int64_t)(SCORE_BLOCK_BYTES / sizeof(float)) / n_cand : BLOCK_MAX;
    if (b < BLOCK_MIN) b = BLOCK_MIN;
    if (b > BLOCK_MAX) b = BLOCK_MAX;
    return b;
}

void irllrec__gather_rows(const float *src, int64_t ld, const int64_t *rows, int64_t nb,
                          int64_t d, float *packed)
{
    for (int64_t r = 0; r < nb; r++)
        memcpy(packed + (size_t)r * (size_t)d, src + (size_t)rows[r] * (size_t)ld,
               (size_t)d * sizeof(float));
}

void irllrec__score_block(const float *packed, int64_t nb, int64_t d, const float *cand,
                          int64_t ldc, int64_t n_cand, float *scores)
{
    irllrec__sgemm(0, 1, nb, n_cand, d, 1.0f, packed, d, cand, ldc, 0.0f, scores, n_cand);
}
