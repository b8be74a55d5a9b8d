/* Forward and backward kernels of the hook's terms (DESIGN.md section 4).
 * Each backward carries its derivation in one line; docs/math.md has the
 * full version. */
#include <math.h>
#include <string.h>
#include "kernels.h"

#define LEAKY 0.01f
#define NORM_EPS 1e-8

/* ---- exp ------------------------------------------------------------------ */

/* exp in place for x <= ~88, float, branch-free so that -O3 vectorises the
 * loop (libm's exp is scalar and was a third of a step's time). x = k ln2 + r
 * with k = round(x / ln2) (the 1.5*2^23 trick, exact without -ffast-math),
 * |r| <= ln2/2, degree-7 Taylor polynomial (truncation < 6e-9 relative),
 * then times 2^k built from its bits, k clamped to [-126, 127]: inputs below
 * about -87 give a value below 2^-125 instead of 0 (every sum this file forms
 * holds a term equal to 1, so that is far below its rounding), inputs are
 * never above 0.1 here. |x| must stay below 2^22. Max relative error ~2 float
 * ulps on [-87, 88]; tests/test_hook.c checks it against exp(). */
static inline float fexp(float v)
{
    const float l2e = 1.44269504088896341f, ln2hi = 0.693145751953125f,
                ln2lo = 1.42860682030941723e-6f, magic = 12582912.0f;
    const float kf = (v * l2e + magic) - magic;
    const float r = (v - kf * ln2hi) - kf * ln2lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* clamp the exponent in integers: a float select would not vectorise */
    int32_t k = (int32_t)kf;
    k = k < -126 ? -126 : k;
    k = k > 127 ? 127 : k;
    const int32_t bits = (k + 127) * 8388608;
    float sc;
    memcpy(&sc, &bits, sizeof sc);
    return p * sc;
}

void irllrec__hk_exp_inplace(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = fexp(x[i]);
}

/* sum_j exp(x_j - shift) in double, in 8 fixed lanes (a fixed order, so the
 * result does not depend on the vector width, and the loop vectorises). */
static double exp_shift_sum(const float *x, int64_t n, float shift)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += (double)fexp(x[i + j] - shift);
    double s = 0.0;
    for (; i < n; i++) s += (double)fexp(x[i] - shift);
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

/* x_j = exp(x_j - shift); returns their sum in double (8 fixed lanes). */
static double exp_shift_store_sum(float *x, int64_t n, float shift)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            const float e = fexp(x[i + j] - shift);
            x[i + j] = e;
            acc[j] += (double)e;
        }
    double s = 0.0;
    for (; i < n; i++) {
        x[i] = fexp(x[i] - shift);
        s += (double)x[i];
    }
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

/* x_j = scale * exp(x_j - shift) */
static void exp_shift_scale(float *x, int64_t n, float shift, float scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = scale * fexp(x[i] - shift);
}

static float max_f32(const float *x, int64_t n)
{
    float m = x[0];
    for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* ---- text tower ------------------------------------------------------- */

static void add_bias_rows(float *y, int64_t n, int64_t cols, const float *b)
{
    for (int64_t r = 0; r < n; r++) {
        float *restrict yr = y + r * cols;
        for (int64_t c = 0; c < cols; c++) yr[c] += b[c];
    }
}

static void leaky_copy(const float *restrict src, float *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = src[i] > 0.0f ? src[i] : LEAKY * src[i];
}

static void leaky_inplace(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : LEAKY * x[i];
}

void irllrec__hk_mlp_fwd(const irllrec__hk_mlp *m, const float *x, int64_t ldx, int64_t n,
                         float *pre, float *act, float *out)
{
    irllrec__sgemm(0, 1, n, m->dh, m->din, 1.0f, x, ldx, m->w1, m->din, 0.0f, pre, m->dh);
    add_bias_rows(pre, n, m->dh, m->b1);
    if (act == pre)
        leaky_inplace(pre, n * m->dh);
    else
        leaky_copy(pre, act, n * m->dh);
    irllrec__sgemm(0, 1, n, m->dout, m->dh, 1.0f, act, m->dh, m->w2, m->dh, 0.0f, out, m->dout);
    add_bias_rows(out, n, m->dout, m->b2);
}

/* acc[c] += sum_r y[r][c], row by row (contiguous) through a double buffer. */
static void colsum_add(const float *y, int64_t n, int64_t cols, float *acc, double *dacc)
{
    for (int64_t c = 0; c < cols; c++) dacc[c] = 0.0;
    for (int64_t r = 0; r < n; r++) {
        const float *yr = y + r * cols;
        for (int64_t c = 0; c < cols; c++) dacc[c] += (double)yr[c];
    }
    for (int64_t c = 0; c < cols; c++) acc[c] += (float)dacc[c];
}

void irllrec__hk_mlp_bwd(const irllrec__hk_mlp *m, const float *x, int64_t ldx, int64_t n,
                         const float *pre, const float *dout, float *scratch, double *dacc,
                         float *dx)
{
    const int64_t nh = n * m->dh;
    /* dW2 += dout^T act; db2 += colsum(dout) */
    leaky_copy(pre, scratch, nh);
    irllrec__sgemm(1, 0, m->dout, m->dh, n, 1.0f, dout, m->dout, scratch, m->dh, 1.0f, m->gw2,
                   m->dh);
    colsum_add(dout, n, m->dout, m->gb2, dacc);
    /* dpre = (dout W2) o leaky'(pre) */
    irllrec__sgemm(0, 0, n, m->dh, m->dout, 1.0f, dout, m->dout, m->w2, m->dh, 0.0f, scratch,
                   m->dh);
    for (int64_t i = 0; i < nh; i++)
        if (!(pre[i] > 0.0f)) scratch[i] *= LEAKY;
    /* dW1 += dpre^T x; db1 += colsum(dpre); dx += dpre W1 */
    irllrec__sgemm(1, 0, m->dh, m->din, n, 1.0f, scratch, m->dh, x, ldx, 1.0f, m->gw1, m->din);
    colsum_add(scratch, n, m->dh, m->gb1, dacc);
    if (dx != NULL)
        irllrec__sgemm(0, 0, n, m->din, m->dh, 1.0f, scratch, m->dh, m->w1, m->din, 1.0f, dx,
                       m->din);
}

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

/* ---- InfoNCE ----------------------------------------------------------- */

/* L = sum_b LSE_j(S_bj) - S_b,pos: dS_bj = scale (P_bj - [j == pos_b]),
 * P = softmax_rows(S); dxhat = dS yhat / tau, dyhat = dS^T xhat / tau. */
double irllrec__hk_infonce(const float *xhat, int64_t nb, const float *yhat, int64_t m,
                           int64_t d, const int32_t *pos, double tau, double scale,
                           float *work, int64_t cb, double *rowstat, float *dxhat, float *dyhat)
{
    const float itau = (float)(1.0 / tau);
    double *mx = rowstat, *sm = rowstat + nb;
    /* |S| <= 1/tau, so for tau >= 0.025 the bound 1/tau is a valid shift and
     * the smallest term exp(-2/tau) >= e^-80 stays a normal float: one pass
     * per block without a row maximum. Smaller tau: online max-subtraction. */
    const double bound = 1.0 / tau;
    const int fixed = tau >= 0.025;
    for (int64_t b = 0; b < nb; b++) {
        mx[b] = fixed ? bound : -(double)INFINITY;
        sm[b] = 0.0;
    }
    /* pass 1: streaming max-subtracted log-sum-exp over column blocks */
    for (int64_t j0 = 0; j0 < m; j0 += cb) {
        const int64_t w = m - j0 < cb ? m - j0 : cb;
        irllrec__sgemm(0, 1, nb, w, d, itau, xhat, d, yhat + j0 * d, d, 0.0f, work, w);
        for (int64_t b = 0; b < nb; b++) {
            float *sb = work + b * w;
            if (fixed) {
                sm[b] += exp_shift_sum(sb, w, (float)bound);
                continue;
            }
            const double bm = fmax(mx[b], (double)max_f32(sb, w));
            sm[b] = sm[b] * exp(mx[b] - bm) + exp_shift_sum(sb, w, (float)bm);
            mx[b] = bm;
        }
    }
    double loss = 0.0;
    for (int64_t b = 0; b < nb; b++) {
        mx[b] += log(sm[b]);  /* mx now holds the LSE */
        loss += mx[b] - dotd(xhat + b * d, yhat + (int64_t)pos[b] * d, d) / tau;
    }
    /* pass 2: gradients block by block */
    for (int64_t j0 = 0; j0 < m; j0 += cb) {
        const int64_t w = m - j0 < cb ? m - j0 : cb;
        irllrec__sgemm(0, 1, nb, w, d, itau, xhat, d, yhat + j0 * d, d, 0.0f, work, w);
        for (int64_t b = 0; b < nb; b++) {
            float *sb = work + b * w;
            exp_shift_scale(sb, w, (float)mx[b], (float)scale);
            const int64_t pj = (int64_t)pos[b] - j0;
            if (pj >= 0 && pj < w) sb[pj] -= (float)scale;
        }
        irllrec__sgemm(0, 0, nb, d, w, itau, work, w, yhat + j0 * d, d, 1.0f, dxhat, d);
        irllrec__sgemm(1, 0, w, d, nb, itau, work, w, xhat, d, 1.0f, dyhat + j0 * d, d);
    }
    return loss;
}

/* Per-row work of a strip (exp, row sum, loss, row factors), split over
 * the context's threads by static row shares. Each row is handled by one
 * thread and the loss is summed afterwards in row order, so the result does
 * not depend on the thread count. */
typedef struct strip_rows {
    float *work;
    const float *xhat, *yhat;
    const int32_t *pos;  /* InfoNCE: positives; NULL for translation */
    int64_t m, d, b0, h, rs, n_all;
    double tau, scale;
    int fixed;
    double *rowf;  /* [0,rs): row scale; [rs,2rs): loss; [2rs,3rs): w (translation) */
    float *ax;
} strip_rows;

static void nce_rows(void *ud, int32_t t, int32_t nt)
{
    const strip_rows *a = (const strip_rows *)ud;
    int64_t lo, hi;
    irllrec__share(a->h, t, nt, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        float *sr = a->work + r * a->m;
        const int64_t b = a->b0 + r;
        const double shift = a->fixed ? 1.0 / a->tau : (double)max_f32(sr, a->m);
        const double sum = exp_shift_store_sum(sr, a->m, (float)shift);
        a->rowf[a->rs + r] = shift + log(sum) -
                             dotd(a->xhat + b * a->d, a->yhat + (int64_t)a->pos[b] * a->d, a->d) /
                                 a->tau;
        a->rowf[r] = a->scale / sum;
        const float ar = (float)(a->rowf[r] / a->tau);
        for (int64_t c = 0; c < a->d; c++) a->ax[r * a->d + c] = ar * a->xhat[b * a->d + c];
    }
}

/* Row-strip form: each strip of rs anchors against all m candidates is
 * computed once (one product, one exp per logit). The row scale
 * scale/sum_r and the one-hot term are applied to the small d-wide factors
 * instead of the rs x m block: with E the block of exp(S - shift),
 *   dx_r  = (a_r (E y)_r - scale y_pos(r)) / tau,   a_r = scale / sum_r
 *   dy   += E^T (a x / tau),   dy_pos(r) -= scale x_r / tau.
 * The block is written by the product, rewritten by exp and read by the two
 * backward products. work: rs x m floats; aux: 2 rs d floats; rowf: 3 rs
 * doubles. The per-row exp work runs on nt threads of ctx. */
double irllrec__hk_infonce_strip(irllrec_ctx *ctx, int32_t nt, const float *xhat, int64_t nb,
                                 const float *yhat, int64_t m, int64_t d, const int32_t *pos,
                                 double tau, double scale, float *work, int64_t rs, float *aux,
                                 double *rowf, float *dxhat, float *dyhat)
{
    const float itau = (float)(1.0 / tau), sc = (float)(scale / tau);
    float *t = aux, *ax = aux + rs * d;
    double loss = 0.0;
    for (int64_t b0 = 0; b0 < nb; b0 += rs) {
        const int64_t h = nb - b0 < rs ? nb - b0 : rs;
        irllrec__sgemm(0, 1, h, m, d, itau, xhat + b0 * d, d, yhat, d, 0.0f, work, m);
        strip_rows sr = {work, xhat, yhat, pos, m, d, b0, h, rs, nb, tau, scale, tau >= 0.025,
                         rowf, ax};
        (void)irllrec__parallel(ctx, h < 64 ? 1 : nt, nce_rows, &sr);
        for (int64_t r = 0; r < h; r++) loss += rowf[rs + r];
        irllrec__sgemm(1, 0, m, d, h, 1.0f, work, m, ax, d, 1.0f, dyhat, d);
        irllrec__sgemm(0, 0, h, d, m, 1.0f, work, m, yhat, d, 0.0f, t, d);
        for (int64_t r = 0; r < h; r++) {
            const int64_t b = b0 + r;
            const float ar = (float)(rowf[r] / tau);
            const float *yp = yhat + (int64_t)pos[b] * d, *xb = xhat + b * d, *tr = t + r * d;
            float *dx = dxhat + b * d, *dy = dyhat + (int64_t)pos[b] * d;
            for (int64_t c = 0; c < d; c++) {
                dx[c] += ar * tr[c] - sc * yp[c];
                dy[c] -= sc * xb[c];
            }
        }
    }
    return loss;
}

/* ---- translation alignment -------------------------------------------- */

/* With |c| <= 1 the row maximum is bounded by 1, so exp(c - 1) is the
 * max-subtracted form and needs one streaming pass: Z'_n = sum_m exp(c_nm - 1).
 * q_n = exp(c_nn - 1) / (Z'_n + 1e-8 e^-1), L_n = -log(q_n + 1e-8),
 * dc_nm = scale/n * q_n/(q_n + 1e-8) * (P_nm - [m == n]), P = exp(c - 1)/(Z' + 1e-8 e^-1). */
double irllrec__hk_tran(const float *xhat, const float *yhat, int64_t n, int64_t d, double scale,
                        float *work, int64_t rb, int64_t cb, double *rowstat, float *dxhat,
                        float *dyhat)
{
    const double guard = 1e-8 * exp(-1.0);
    double *zs = rowstat, *wq = rowstat + n;
    for (int64_t i = 0; i < n; i++) zs[i] = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += rb) {
        const int64_t h = n - i0 < rb ? n - i0 : rb;
        for (int64_t j0 = 0; j0 < n; j0 += cb) {
            const int64_t w = n - j0 < cb ? n - j0 : cb;
            irllrec__sgemm(0, 1, h, w, d, 1.0f, xhat + i0 * d, d, yhat + j0 * d, d, 0.0f, work,
                           w);
            for (int64_t r = 0; r < h; r++) {
                float *sr = work + r * w;
                zs[i0 + r] += exp_shift_sum(sr, w, 1.0f);
            }
        }
    }
    double loss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double cnn = dotd(xhat + i * d, yhat + i * d, d);
        const double den = zs[i] + guard;
        const double q = exp(cnn - 1.0) / den;
        loss -= log(q + 1e-8);
        zs[i] = 1.0 / den;                        /* now 1/(Z' + guard) */
        wq[i] = scale / (double)n * q / (q + 1e-8);
    }
    for (int64_t i0 = 0; i0 < n; i0 += rb) {
        const int64_t h = n - i0 < rb ? n - i0 : rb;
        for (int64_t j0 = 0; j0 < n; j0 += cb) {
            const int64_t w = n - j0 < cb ? n - j0 : cb;
            irllrec__sgemm(0, 1, h, w, d, 1.0f, xhat + i0 * d, d, yhat + j0 * d, d, 0.0f, work,
                           w);
            for (int64_t r = 0; r < h; r++) {
                float *sr = work + r * w;
                const double iz = zs[i0 + r], wr = wq[i0 + r];
                exp_shift_scale(sr, w, 1.0f, (float)(wr * iz));
                const int64_t dj = i0 + r - j0;
                if (dj >= 0 && dj < w) sr[dj] -= (float)wr;
            }
            irllrec__sgemm(0, 0, h, d, w, 1.0f, work, w, yhat + j0 * d, d, 1.0f, dxhat + i0 * d,
                           d);
            irllrec__sgemm(1, 0, w, d, h, 1.0f, work, w, xhat + i0 * d, d, 1.0f, dyhat + j0 * d,
                           d);
        }
    }
    return loss / (double)n;
}

static void tran_rows(void *ud, int32_t t, int32_t nt)
{
    const strip_rows *a = (const strip_rows *)ud;
    const double guard = 1e-8 * exp(-1.0);
    int64_t lo, hi;
    irllrec__share(a->h, t, nt, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        const int64_t i = a->b0 + r;
        const double den = exp_shift_store_sum(a->work + r * a->m, a->m, 1.0f) + guard;
        const double q = exp(dotd(a->xhat + i * a->d, a->yhat + i * a->d, a->d) - 1.0) / den;
        const double wr = a->scale / (double)a->n_all * q / (q + 1e-8);
        a->rowf[a->rs + r] = -log(q + 1e-8);
        a->rowf[2 * a->rs + r] = wr;
        a->rowf[r] = wr / den;
        const float ar = (float)a->rowf[r];
        for (int64_t c = 0; c < a->d; c++) a->ax[r * a->d + c] = ar * a->xhat[i * a->d + c];
    }
}

/* Row-strip form (same formulas), with the row scales and the diagonal
 * term moved onto the d-wide factors as in irllrec__hk_infonce_strip:
 *   dx_i = a_i (E y)_i - w_i y_i,  dy += E^T (a x),  dy_i -= w_i x_i,
 * a_i = w_i / (Z'_i + guard). work: rs x n floats; aux: 2 rs d floats;
 * rowf: 3 rs doubles. The per-row exp work runs on nt threads of ctx. */
double irllrec__hk_tran_strip(irllrec_ctx *ctx, int32_t nt, const float *xhat, const float *yhat,
                              int64_t n, int64_t d, double scale, float *work, int64_t rs,
                              float *aux, double *rowf, float *dxhat, float *dyhat)
{
    float *t = aux, *ax = aux + rs * d;
    double loss = 0.0;
    for (int64_t i0 = 0; i0 < n; i0 += rs) {
        const int64_t h = n - i0 < rs ? n - i0 : rs;
        irllrec__sgemm(0, 1, h, n, d, 1.0f, xhat + i0 * d, d, yhat, d, 0.0f, work, n);
        strip_rows sr = {work, xhat, yhat, NULL, n, d, i0, h, rs, n, 1.0, scale, 1, rowf, ax};
        (void)irllrec__parallel(ctx, h < 64 ? 1 : nt, tran_rows, &sr);
        for (int64_t r = 0; r < h; r++) loss += rowf[rs + r];
        irllrec__sgemm(1, 0, n, d, h, 1.0f, work, n, ax, d, 1.0f, dyhat, d);
        irllrec__sgemm(0, 0, h, d, n, 1.0f, work, n, yhat, d, 0.0f, t, d);
        for (int64_t r = 0; r < h; r++) {
            const int64_t i = i0 + r;
            const float ar = (float)rowf[r], wr = (float)rowf[2 * rs + r];
            const float *yi = yhat + i * d, *xi = xhat + i * d, *tr = t + r * d;
            float *dx = dxhat + i * d, *dy = dyhat + i * d;
            for (int64_t c = 0; c < d; c++) {
                dx[c] += ar * tr[c] - wr * yi[c];
                dy[c] -= wr * xi[c];
            }
        }
    }
    return loss / (double)n;
}

/* ---- ITM cross-entropy ------------------------------------------------- */

static double log_softmax_row(const float *x, int64_t d, double *lse)
{
    double mx = (double)x[0];
    for (int64_t c = 1; c < d; c++) mx = (double)x[c] > mx ? (double)x[c] : mx;
    double s = 0.0;
    for (int64_t c = 0; c < d; c++) s += exp((double)x[c] - mx);
    *lse = mx + log(s);
    return mx;
}

/* CE_n = -sum_c q_c log p_c, q = softmax(xm), p = softmax(x): dx = (p - q)/n. */
double irllrec__hk_itm_ce(const float *x, const float *xm, int64_t n, int64_t d, double scale,
                          float *dx)
{
    double loss = 0.0;
    const double g = scale / (double)n;
    for (int64_t r = 0; r < n; r++) {
        const float *xr = x + r * d, *mr = xm + r * d;
        double lx, lm;
        (void)log_softmax_row(xr, d, &lx);
        (void)log_softmax_row(mr, d, &lm);
        for (int64_t c = 0; c < d; c++) {
            const double q = exp((double)mr[c] - lm);
            const double lp = (double)xr[c] - lx;
            loss -= q * lp;
            if (dx != NULL) dx[r * d + c] += (float)(g * (exp(lp) - q));
        }
    }
    return loss / (double)n;
}
