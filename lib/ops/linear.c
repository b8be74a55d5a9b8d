/* Linear layer kernels: Y = X W^T + b and its backward, products through
 * irllrec__sgemm. */
#include "../internal.h"
#include "ops.h"

void irllrec__linear_fwd(int64_t rows, int64_t in, int64_t out, const float *x, int64_t ldx,
                         const float *w, int64_t ldw, const float *b, float *y, int64_t ldy)
{
    irllrec__sgemm(0, 1, rows, out, in, 1.0f, x, ldx, w, ldw, 0.0f, y, ldy);
    if (b == NULL) return;
    for (int64_t r = 0; r < rows; r++) irllrec__vadd(y + r * ldy, b, out);
}

/* Column blocks keep the double accumulators on the stack and the inner loop
 * contiguous, so the sum is vectorisable and allocation-free. */
#define COLSUM_BLOCK 64

void irllrec__colsum_acc(int64_t rows, int64_t cols, const float *x, int64_t ldx, float *acc)
{
    for (int64_t c0 = 0; c0 < cols; c0 += COLSUM_BLOCK) {
        double s[COLSUM_BLOCK];
        int64_t nc = cols - c0 < COLSUM_BLOCK ? cols - c0 : COLSUM_BLOCK;
        for (int64_t j = 0; j < nc; j++) s[j] = 0.0;
        for (int64_t r = 0; r < rows; r++) {
            const float *restrict xr = x + r * ldx + c0;
            for (int64_t j = 0; j < nc; j++) s[j] += (double)xr[j];
        }
        for (int64_t j = 0; j < nc; j++) acc[c0 + j] = (float)((double)acc[c0 + j] + s[j]);
    }
}

/* Y_rj = sum_k X_rk W_jk + b_j, so
 *   dL/dX_rk = sum_j dY_rj W_jk        -> dX += dY W
 *   dL/dW_jk = sum_r dY_rj X_rk        -> dW += dY^T X
 *   dL/db_j  = sum_r dY_rj             -> db += colsum(dY)
 * beta = 1 in the GEMMs makes every output an accumulation. */
void irllrec__linear_bwd(int64_t rows, int64_t in, int64_t out, const float *x, int64_t ldx,
                         const float *w, int64_t ldw, const float *dy, int64_t lddy, float *dx,
                         int64_t lddx, float *dw, int64_t lddw, float *db)
{
    irllrec__sgemm(1, 0, out, in, rows, 1.0f, dy, lddy, x, ldx, 1.0f, dw, lddw);
    if (db != NULL) irllrec__colsum_acc(rows, out, dy, lddy, db);
    if (dx != NULL) irllrec__sgemm(0, 0, rows, in, out, 1.0f, dy, lddy, w, ldw, 1.0f, dx, lddx);
}
