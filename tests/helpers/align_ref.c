/* Deterministic data, naive double references written from the formulas
 * (full matrices, no blocking, no shift), and the finite-difference checkers
 * of the alignment suites (test_align.c, test_align_tran.c). */
#include "helpers/align_ref.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic test data ------------------------------------------- */

static uint64_t ar_tr_state;
void ar_tr_seed(uint64_t s) { ar_tr_state = s * 2654435761u + 1; }
double ar_tr_unif(void) /* [0, 1) */
{
    ar_tr_state ^= ar_tr_state << 13;
    ar_tr_state ^= ar_tr_state >> 7;
    ar_tr_state ^= ar_tr_state << 17;
    return (double)(ar_tr_state >> 11) * 0x1.0p-53;
}
void ar_fill(float *x, int64_t n, double lo, double hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * ar_tr_unif());
}
float *ar_fmat(int64_t n)
{
    float *p = calloc((size_t)n, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}
double *ar_dmat(int64_t n)
{
    double *p = calloc((size_t)n, sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}
void ar_to_double(const float *a, double *b, int64_t n)
{
    for (int64_t i = 0; i < n; i++) b[i] = (double)a[i];
}

irllrec_mat ar_nomat(void)
{
    irllrec_mat m;
    memset(&m, 0, sizeof m);
    return m;
}

/* ---- naive double references (no blocking, no shift) -------------------- */

double ar_naive_cos(const double *a, const double *b, int d)
{
    double aa = 0, bb = 0, ab = 0;
    for (int k = 0; k < d; k++) {
        aa += a[k] * a[k];
        bb += b[k] * b[k];
        ab += a[k] * b[k];
    }
    return ab / (sqrt(1e-8 + aa) * sqrt(1e-8 + bb));
}

double ar_naive_infonce(const double *x, const double *y, int nb, int m, int d, const int32_t *pos,
                        double tau, double s)
{
    double *sim = ar_dmat((int64_t)nb * m), l = 0;
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < m; j++) sim[b * m + j] = ar_naive_cos(x + b * d, y + j * d, d) / tau;
    for (int b = 0; b < nb; b++) {
        double z = 0;
        for (int j = 0; j < m; j++) z += exp(sim[b * m + j]);
        l += -sim[b * m + (pos ? pos[b] : b)] + log(z);
    }
    free(sim);
    return s * l;
}

/* ex/ey may be NULL (no noise). X~ = X + X*eps. */
double ar_naive_tran(const double *x, const double *y, const double *ex, const double *ey, int n,
                    int d)
{
    double *xt = ar_dmat((int64_t)n * d), *yt = ar_dmat((int64_t)n * d), *c = ar_dmat((int64_t)n * n);
    double l = 0;
    for (int i = 0; i < n * d; i++) {
        xt[i] = x[i] + (ex ? x[i] * ex[i] : 0.0);
        yt[i] = y[i] + (ey ? y[i] * ey[i] : 0.0);
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) c[a * n + b] = ar_naive_cos(xt + a * d, yt + b * d, d);
    for (int a = 0; a < n; a++) {
        double den = 0;
        for (int b = 0; b < n; b++) den += exp(c[a * n + b]);
        l += log(exp(c[a * n + a]) / (den + 1e-8) + 1e-8);
    }
    free(xt);
    free(yt);
    free(c);
    return -l / n;
}

/* Reference gradient of a naive double loss by central differences in
 * double (h = 1e-6: truncation ~1e-12, round-off ~1e-10). */
void ar_naive_grad(ar_naive_fn f, void *ud, double *p, int64_t n, double *g)
{
    for (int64_t i = 0; i < n; i++) {
        const double keep = p[i], h = 1e-6 * fmax(1.0, fabs(keep));
        double lp, lm;
        p[i] = keep + h;
        lp = f(ud);
        p[i] = keep - h;
        lm = f(ud);
        p[i] = keep;
        g[i] = (lp - lm) / (2 * h);
    }
}

double ar_nce_fn(void *ud)
{
    ar_nce_ud *u = (ar_nce_ud *)ud;
    return ar_naive_infonce(u->x, u->y, u->nb, u->m, u->d, u->pos, u->tau, u->s);
}

double ar_tran_fn(void *ud)
{
    ar_tran_ud *u = (ar_tran_ud *)ud;
    return ar_naive_tran(u->x, u->y, u->ex, u->ey, u->n, u->d);
}

/* |a - r| <= rel * |r| + abs_frac * max|r|, elementwise. */
void ar_expect_close(const float *a, const double *r, int64_t n, double rel, double abs_frac,
                     const char *what)
{
    double mx = 0;
    for (int64_t i = 0; i < n; i++) mx = fmax(mx, fabs(r[i]));
    ck_assert_msg(mx > 0, "%s: reference is all zero", what);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs((double)a[i] - r[i]) <= rel * fabs(r[i]) + abs_frac * mx,
                      "%s[%lld]: got %.9g, want %.9g", what, (long long)i, (double)a[i], r[i]);
}

/* ---- float finite-difference checker (STYLE.md section 6) --------------- */

/* The floor AR_GC_FLOOR and why: align_ref.h. */
/* p: float parameters, g: analytic gradient (same layout). Checks up to
 * max_coords coordinates spread over the block. Returns the worst rel error. */
double ar_gradcheck_f(ar_loss_fn f, void *ud, float *p, const float *g, int64_t n,
                      int64_t max_coords)
{
    double worst = 0, gmax = 0;
    const int64_t stride = n > max_coords ? n / max_coords : 1;
    for (int64_t i = 0; i < n; i++) gmax = fmax(gmax, fabs((double)g[i]));
    for (int64_t i = 0; i < n; i += stride) {
        const float keep = p[i];
        const double h = 1e-3 * fmax(1.0, fabs((double)keep));
        const float xp = (float)(keep + h), xm = (float)(keep - h);
        double lp, lm, gn, ga = (double)g[i], err;
        p[i] = xp;
        lp = f(ud);
        p[i] = xm;
        lm = f(ud);
        p[i] = keep;
        gn = (lp - lm) / ((double)xp - (double)xm);
        err = fabs(gn - ga) / fmax(1e-6, fabs(gn) + fabs(ga));
        ck_assert_msg(err < 1e-2 || fabs(gn - ga) <= AR_GC_FLOOR * gmax,
                      "coordinate %lld: numeric %.8g analytic %.8g (rel %.3g, abs %.3g of max|g| %.3g)",
                      (long long)i, gn, ga, err, fabs(gn - ga), gmax);
        worst = fmax(worst, err);
    }
    return worst;
}

/* ---- InfoNCE -------------------------------------------------------------- */
