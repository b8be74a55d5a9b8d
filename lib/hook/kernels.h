/* Kernels of the hook: forward and backward of every IRLLRec term.
 *
 * Kernels trust their arguments (the API layer validated them), never
 * allocate, never log. Storage is float32, reductions are accumulated in
 * double. Gradients ACCUMULATE (+=) unless a comment says otherwise.
 * Derivations: docs/math.md. */
#ifndef IRLLREC_HOOK_KERNELS_H
#define IRLLREC_HOOK_KERNELS_H

#include <stdint.h>
#include "../internal.h"

/* Row normalisation xhat = x / sqrt(1e-8 + |x|^2); inv[r] = 1/sqrt(...). */
void irllrec__hk_l2norm_fwd(const float *x, int64_t ldx, int64_t n, int64_t d, float *xhat,
                            float *inv);
/* dx += (dxhat - xhat (xhat . dxhat)) * inv. */
void irllrec__hk_l2norm_bwd(const float *xhat, const float *inv, const float *dxhat, int64_t n,
                            int64_t d, float *dx, int64_t lddx);

/* Prototype attention on n rows: A = softmax_rows(E C) (n x K), Z = A C^T
 * (n x d). C is d x K. */
void irllrec__hk_proto_fwd(const float *e, int64_t lde, int64_t n, int64_t d, int64_t k,
                           const float *c, float *a, float *z);
/* Backward from dz (n x d): dE += (A o (dA - rowsum(A o dA))) C^T with
 * dA = dz C; dC += E^T dL + dz^T A. scratch is n x k and is overwritten. */
void irllrec__hk_proto_bwd(const float *e, int64_t lde, int64_t n, int64_t d, int64_t k,
                           const float *c, const float *a, const float *dz, float *scratch,
                           float *de, int64_t ldde, float *dc);

/* One layer of the adaptive edge mask, for anchor nodes only:
 * r[s] += scale * sum_t G_ht E_t, h = nodes[s], G_ht = a_ht / sum_t' a_ht',
 * a_ht = (zhat_h . zhat_t + 1) / 2 over the CSR row of h (empty row or zero
 * sum -> nothing). */
void irllrec__hk_mask_fwd(const int64_t *indptr, const int32_t *indices, const int64_t *nodes,
                          int64_t n_anchor, const float *zhat, const float *e, int64_t lde,
                          int64_t d, float scale, float *r);
/* Backward of the above from dr (n_anchor x d): de += G^T (scale dr),
 * dzhat += through the cosines. */
void irllrec__hk_mask_bwd(const int64_t *indptr, const int32_t *indices, const int64_t *nodes,
                          int64_t n_anchor, const float *zhat, const float *e, int64_t lde,
                          int64_t d, float scale, const float *dr, float *de, int64_t ldde,
                          float *dzhat);

#endif
