/* Forward and backward kernels of the hook's terms (DESIGN.md section 4).
 * Each backward carries its derivation in one line; docs/math.md has the
 * full version. */
#include <math.h>
#include <string.h>
#include "kernels.h"

#define NORM_EPS 1e-8

/* ---- normalisation ---------------------------------------------------- */

void irllrec__hk_l2norm_fwd(const float *x, int64_t ldx, int64_t n, int64_t d, float *xhat,
                            float *inv)
{
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * ldx;
        double s = 0.0;
        for (int64_t c = 0; c < d; c++) s += (double)xr[c] * (double)xr[c];
        const double iv = 1.0 / sqrt(NORM_EPS + s);
        inv[r] = (float)iv;
        for (int64_t c = 0; c < d; c++) xhat[r * d + c] = (float)((double)xr[c] * iv);
    }
}

/* xhat = x/s, s = sqrt(eps+|x|^2): dx = (dxhat - xhat (xhat.dxhat)) / s */
void irllrec__hk_l2norm_bwd(const float *xhat, const float *inv, const float *dxhat, int64_t n,
                            int64_t d, float *dx, int64_t lddx)
{
    for (int64_t r = 0; r < n; r++) {
        const float *xh = xhat + r * d, *g = dxhat + r * d;
        double dot = 0.0;
        for (int64_t c = 0; c < d; c++) dot += (double)xh[c] * (double)g[c];
        const double iv = (double)inv[r];
        float *restrict o = dx + r * lddx;
        for (int64_t c = 0; c < d; c++)
            o[c] += (float)(((double)g[c] - (double)xh[c] * dot) * iv);
    }
}

/* ---- prototype attention ------------------------------------------------ */

void irllrec__hk_proto_fwd(const float *e, int64_t lde, int64_t n, int64_t d, int64_t k,
                           const float *c, float *a, float *z)
{
    irllrec__sgemm(0, 0, n, k, d, 1.0f, e, lde, c, k, 0.0f, a, k);
    for (int64_t r = 0; r < n; r++) {
        float *ar = a + r * k;
        float mx = ar[0];
        for (int64_t j = 1; j < k; j++) mx = ar[j] > mx ? ar[j] : mx;
        double s = 0.0;
        for (int64_t j = 0; j < k; j++) {
            const double v = exp((double)(ar[j] - mx));
            ar[j] = (float)v;
            s += v;
        }
        const float is = (float)(1.0 / s);
        for (int64_t j = 0; j < k; j++) ar[j] *= is;
    }
    irllrec__sgemm(0, 1, n, d, k, 1.0f, a, k, c, k, 0.0f, z, d);
}

/* Z = A C^T, A = softmax(E C): dA = dZ C, dL = A o (dA - rowsum(A o dA)),
 * dE = dL C^T, dC = E^T dL + dZ^T A. */
void irllrec__hk_proto_bwd(const float *e, int64_t lde, int64_t n, int64_t d, int64_t k,
                           const float *c, const float *a, const float *dz, float *scratch,
                           float *de, int64_t ldde, float *dc)
{
    irllrec__sgemm(0, 0, n, k, d, 1.0f, dz, d, c, k, 0.0f, scratch, k);
    /* dC += dZ^T A uses A before scratch becomes dL */
    irllrec__sgemm(1, 0, d, k, n, 1.0f, dz, d, a, k, 1.0f, dc, k);
    for (int64_t r = 0; r < n; r++) {
        const float *ar = a + r * k;
        float *g = scratch + r * k;
        double s = 0.0;
        for (int64_t j = 0; j < k; j++) s += (double)ar[j] * (double)g[j];
        const float sf = (float)s;
        for (int64_t j = 0; j < k; j++) g[j] = ar[j] * (g[j] - sf);
    }
    irllrec__sgemm(0, 1, n, d, k, 1.0f, scratch, k, c, k, 1.0f, de, ldde);
    irllrec__sgemm(1, 0, d, k, n, 1.0f, e, lde, scratch, k, 1.0f, dc, k);
}

/* ---- adaptive edge mask ---------------------------------------------- */

static double dotd(const float *a, const float *b, int64_t d)
{
    double s = 0.0;
    for (int64_t c = 0; c < d; c++) s += (double)a[c] * (double)b[c];
    return s;
}

static double edge_alpha(const float *zhat, int64_t d, int64_t h, int64_t t)
{
    return 0.5 * (dotd(zhat + h * d, zhat + t * d, d) + 1.0);
}

void irllrec__hk_mask_fwd(const int64_t *indptr, const int32_t *indices, const int64_t *nodes,
                          int64_t n_anchor, const float *zhat, const float *e, int64_t lde,
                          int64_t d, float scale, float *r)
{
    for (int64_t s = 0; s < n_anchor; s++) {
        const int64_t h = nodes[s];
        double sum = 0.0;
        for (int64_t p = indptr[h]; p < indptr[h + 1]; p++)
            sum += edge_alpha(zhat, d, h, indices[p]);
        if (!(sum > 0.0)) continue;
        float *restrict rs = r + s * d;
        for (int64_t p = indptr[h]; p < indptr[h + 1]; p++) {
            const int64_t t = indices[p];
            const float g = (float)((double)scale * edge_alpha(zhat, d, h, t) / sum);
            const float *et = e + t * lde;
            for (int64_t c = 0; c < d; c++) rs[c] += g * et[c];
        }
    }
}

/* r_h = sum_t G_ht E_t, G_ht = a_ht / S_h, a_ht = (zh.zt + 1)/2:
 * dE_t += G_ht dr_h; dG_ht = dr_h.E_t; da_ht = (dG_ht - sum_t' G_ht' dG_ht') / S_h;
 * dzh += da/2 zt, dzt += da/2 zh. */
void irllrec__hk_mask_bwd(const int64_t *indptr, const int32_t *indices, const int64_t *nodes,
                          int64_t n_anchor, const float *zhat, const float *e, int64_t lde,
                          int64_t d, float scale, const float *dr, float *de, int64_t ldde,
                          float *dzhat)
{
    for (int64_t s = 0; s < n_anchor; s++) {
        const int64_t h = nodes[s];
        const float *g = dr + s * d;
        double sum = 0.0, gdg = 0.0;
        for (int64_t p = indptr[h]; p < indptr[h + 1]; p++) {
            const int64_t t = indices[p];
            const double al = edge_alpha(zhat, d, h, t);
            sum += al;
            gdg += al * dotd(g, e + t * lde, d);
        }
        if (!(sum > 0.0)) continue;
        const double is = 1.0 / sum;
        gdg *= is * (double)scale;  /* sum_t G_ht dG_ht with dG including the scale */
        const float *zh = zhat + h * d;
        float *dzh = dzhat + h * d;
        for (int64_t p = indptr[h]; p < indptr[h + 1]; p++) {
            const int64_t t = indices[p];
            const double al = edge_alpha(zhat, d, h, t);
            const float gw = (float)((double)scale * al * is);
            const float *et = e + t * lde;
            float *det = de + t * ldde;
            for (int64_t c = 0; c < d; c++) det[c] += gw * g[c];
            const double dg = (double)scale * dotd(g, et, d);
            const float dcos = (float)(0.5 * (dg - gdg) * is);
            const float *zt = zhat + t * d;
            float *dzt = dzhat + t * d;
            for (int64_t c = 0; c < d; c++) {
                dzh[c] += dcos * zt[c];
                dzt[c] += dcos * zh[c];
            }
        }
    }
}
