/* The alignment suites' data, naive references and checkers: align_ref.c. */
#ifndef IRLLREC_TEST_ALIGN_REF_H
#define IRLLREC_TEST_ALIGN_REF_H
#include <stdint.h>
#include "irllrec/irllrec.h"

/* deterministic data: xorshift seeded by ar_tr_seed */
void ar_tr_seed(uint64_t s);
double ar_tr_unif(void); /* [0, 1) */
void ar_fill(float *x, int64_t n, double lo, double hi);
float *ar_fmat(int64_t n);  /* calloc'd, asserted */
double *ar_dmat(int64_t n); /* calloc'd, asserted */
void ar_to_double(const float *a, double *b, int64_t n);
irllrec_mat ar_nomat(void); /* all zero: "no output" */

/* naive double references (no blocking, no shift) */
double ar_naive_cos(const double *a, const double *b, int d);
double ar_naive_infonce(const double *x, const double *y, int nb, int m, int d, const int32_t *pos,
                        double tau, double s);
/* ex/ey may be NULL (no noise). X~ = X + X*eps. */
double ar_naive_tran(const double *x, const double *y, const double *ex, const double *ey, int n,
                     int d);

typedef struct ar_nce_ud {
    double *x, *y;
    int nb, m, d;
    const int32_t *pos;
    double tau, s;
} ar_nce_ud;
typedef struct ar_tran_ud {
    double *x, *y, *ex, *ey;
    int n, d;
} ar_tran_ud;
typedef double (*ar_naive_fn)(void *ud);
typedef double (*ar_loss_fn)(void *ud);

/* Reference gradient of a naive double loss by central differences in double. */
void ar_naive_grad(ar_naive_fn f, void *ud, double *p, int64_t n, double *g);
double ar_nce_fn(void *ud);  /* ud: ar_nce_ud */
double ar_tran_fn(void *ud); /* ud: ar_tran_ud */
/* |a - r| <= rel * |r| + abs_frac * max|r|, elementwise. */
void ar_expect_close(const float *a, const double *r, int64_t n, double rel, double abs_frac,
                     const char *what);

/* A coordinate also passes when |numeric - analytic| <= AR_GC_FLOOR * max|g| of
 * its block: below that a float32 central difference cannot judge it. In
 * translation_gradcheck (inputs of scale 0.1, so h = 1e-3 is ~1% of a row's
 * length) the central difference's error, measured against central
 * differences of the naive double loss, is up to 1.3e-5 = 8.9e-5 max|g|
 * (truncation, largest on the large gradients) for every kernel set in the
 * BLAS and the plain-C GEMM builds, and the analytic gradients are within
 * 1.9e-8 of that double reference. x[203] there has a gradient of only
 * 3.7e-5 (2.5e-4 max|g|): its difference is 4.9e-7 truncation (the same for
 * every kernel set; 9x that at h = 3e-3) plus ~4e-7 rms rounding noise,
 * i.e. 0.6% to 1.1% relative, and with IRLLREC_XENT=avx2 it came out at
 * 1.11% (8.1e-7 absolute) and failed the 1e-2 alone. No step does better
 * for it (noise grows as 1/h, truncation as h^2). The floor is the
 * absolute part ar_expect_close() uses against the double reference. */
#define AR_GC_FLOOR 1e-4
/* p: float parameters, g: analytic gradient (same layout). Checks up to
 * max_coords coordinates spread over the block. Returns the worst rel error. */
double ar_gradcheck_f(ar_loss_fn f, void *ud, float *p, const float *g, int64_t n,
                      int64_t max_coords);
#endif
