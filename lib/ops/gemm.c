/* The one place dense products happen: CBLAS, or a plain loop when the
 * library is built with IRLLREC_BLAS=OFF (vendors without BLAS, TSan runs,
 * bitwise-reproducible tests). */
#include "../internal.h"

#ifdef IRLLREC_USE_CBLAS
#include <cblas.h>

const char *irllrec_gemm_backend(void) { return "cblas"; }

void irllrec__sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
}

#else

const char *irllrec_gemm_backend(void) { return "reference"; }

/* i-p-j order keeps the innermost loop contiguous in B and C when B is not
 * transposed; for B^T the inner loop is a dot product over contiguous rows. */
void irllrec__sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                    float *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        float *restrict ci = c + i * ldc;
        if (beta == 0.0f) {
            for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int64_t j = 0; j < n; j++) ci[j] *= beta;
        }
        if (!trans_b) {
            for (int64_t p = 0; p < k; p++) {
                const float aip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
                const float *restrict bp = b + p * ldb;
                for (int64_t j = 0; j < n; j++) ci[j] += aip * bp[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                const float *restrict bj = b + j * ldb;
                float s = 0.0f;
                if (trans_a) {
                    for (int64_t p = 0; p < k; p++) s += a[p * lda + i] * bj[p];
                } else {
                    const float *restrict ai = a + i * lda;
                    for (int64_t p = 0; p < k; p++) s += ai[p] * bj[p];
                }
                ci[j] += alpha * s;
            }
        }
    }
}

#endif
