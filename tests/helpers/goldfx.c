/* The golden suites' fixture reader (test_golden.c, test_golden_hook.c): the
 * tests/golden/<name>.bin files of tests/golden/gen_golden.py and the
 * comparisons against them. */
#include "helpers/goldfx.h"
#include "helpers/testutil.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLD_TOL gold_tol
/* 1e-4, except in golden_hook_paper_bf16, which sets and restores it. */
double gold_tol = 1e-4;

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double rd_f64(const unsigned char *p)
{
    uint64_t u = 0;
    double v;
    for (int i = 7; i >= 0; i--) u = u << 8 | p[i];
    memcpy(&v, &u, sizeof v);
    return v;
}

void gold_load(gfile *g, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", IRLLREC_SOURCE_DIR, name);
    size_t n;
    unsigned char *b = tu_slurp(path, &n);
    const long len = (long)n;
    ck_assert(len > 12 && memcmp(b, "IRLGOLD1", 8) == 0);
    g->n = (int)rd_u32(b + 8);
    ck_assert(g->n <= MAXARR);
    long o = 12;
    for (int i = 0; i < g->n; i++) {
        garr *a = &g->a[i];
        uint32_t nl = rd_u32(b + o);
        o += 4;
        ck_assert(nl < sizeof a->name);
        memcpy(a->name, b + o, nl);
        a->name[nl] = 0;
        o += nl;
        a->ndim = rd_u32(b + o);
        o += 4;
        a->n = 1;
        a->dims[1] = 1;
        for (uint32_t k = 0; k < a->ndim; k++) {
            a->dims[k] = rd_u32(b + o);
            a->n *= a->dims[k];
            o += 4;
        }
        a->v = malloc((size_t)a->n * sizeof(double));
        for (int64_t k = 0; k < a->n; k++) a->v[k] = rd_f64(b + o + 8 * k);
        o += 8 * a->n;
        ck_assert(o <= len);
    }
    g->buf = b;
}

void gold_free(gfile *g)
{
    for (int i = 0; i < g->n; i++) free(g->a[i].v);
    free(g->buf);
}

const garr *gold_get(const gfile *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->a[i].name, name) == 0) return &g->a[i];
    ck_abort_msg("fixture has no array %s", name);
    return NULL;
}

double gold_scalar(const gfile *g, const char *name)
{
    return gold_get(g, name)->v[0];
}

/* A float copy of an array (caller frees). */
float *gold_f32(const gfile *g, const char *name)
{
    const garr *a = gold_get(g, name);
    float *f = malloc((size_t)a->n * sizeof(float));
    for (int64_t i = 0; i < a->n; i++) f[i] = (float)a->v[i];
    return f;
}

static void cmp(const char *what, const float *c, const double *ref, int64_t n)
{
    double mx = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(ref[i]));
        err = fmax(err, fabs((double)c[i] - ref[i]));
    }
    ck_assert_msg(mx > 0.0, "%s: reference is all zero", what);
    ck_assert_msg(err / mx <= GOLD_TOL, "%s: max err %.3g, rel %.3g > %g", what, err, err / mx,
                  GOLD_TOL);
}

void gold_cmp_arr(const gfile *g, const char *name, const float *c)
{
    const garr *a = gold_get(g, name);
    cmp(name, c, a->v, a->n);
}

void gold_cmp_scalar(const char *what, double c, double ref)
{
    ck_assert_msg(fabs(c - ref) <= GOLD_TOL * fabs(ref), "%s: %.10g vs reference %.10g", what, c,
                  ref);
}
