/* The golden suites' fixture reader (test_golden.c, test_golden_hook.c): a
 * tests/golden/<name>.bin file written by tests/golden/gen_golden.py (named
 * float64 arrays) and the comparison of the library's float32 results with
 * it: goldfx.c. Test helper, not a library API. */
#ifndef IRLLREC_TEST_GOLDFX_H
#define IRLLREC_TEST_GOLDFX_H
#include <stdint.h>

#define MAXARR 128

typedef struct garr {
    char name[64];
    uint32_t ndim, dims[2];
    int64_t n;
    double *v;
} garr;

typedef struct gfile {
    int n;
    garr a[MAXARR];
    unsigned char *buf;
} gfile;

/* The comparisons' relative tolerance: 1e-4, except in
 * golden_hook/golden_hook_paper_bf16, which sets and restores it. */
extern double gold_tol;

/* Read tests/golden/<name> into g (check failure if it is missing or bad). */
void gold_load(gfile *g, const char *name);
void gold_free(gfile *g);
/* The array called name (check failure if there is none). */
const garr *gold_get(const gfile *g, const char *name);
/* The first value of the array called name. */
double gold_scalar(const gfile *g, const char *name);
/* A float copy of an array (caller frees). */
float *gold_f32(const gfile *g, const char *name);
/* c against the array called name: max|c - ref| / max|ref| <= gold_tol. */
void gold_cmp_arr(const gfile *g, const char *name, const float *c);
/* |c - ref| <= gold_tol |ref|. */
void gold_cmp_scalar(const char *what, double c, double ref);
#endif
