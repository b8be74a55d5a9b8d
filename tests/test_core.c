/* Core: status codes, version, context, spec sizing, RNG, GEMM, threads. */
#define _GNU_SOURCE /* RTLD_DEFAULT in the BLAS guard test */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "core/streams.h"
#include "helpers/testutil.h"

START_TEST(status_strings_are_distinct_and_pinned)
{
    const irllrec_status codes[] = {IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM,
                                    IRLLREC_E_SHAPE, IRLLREC_E_STATE, IRLLREC_E_NUMERIC,
                                    IRLLREC_E_IO, IRLLREC_E_FORMAT, IRLLREC_E_CHECKSUM,
                                    IRLLREC_E_VERSION, IRLLREC_E_UNSUPPORTED, IRLLREC_E_COMM,
                                    IRLLREC_E_INTERNAL};
    const int pinned[] = {0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -99};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(codes[i], pinned[i]);
        ck_assert_str_ne(irllrec_status_str(codes[i]), "unknown status");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(irllrec_status_str(codes[i]), irllrec_status_str(codes[j]));
    }
    ck_assert_str_eq(irllrec_status_str(12345), "unknown status");
}
END_TEST

START_TEST(version_matches_header)
{
    char buf[32];
    ck_assert_int_eq(irllrec_version_number(), IRLLREC_VERSION_NUMBER);
    ck_assert_str_eq(irllrec_version_string(), IRLLREC_VERSION_STRING);
    snprintf(buf, sizeof buf, "%d.%d.%d", IRLLREC_VERSION_MAJOR, IRLLREC_VERSION_MINOR,
             IRLLREC_VERSION_PATCH);
    ck_assert_str_eq(irllrec_version_string(), buf);
}
END_TEST

static int log_calls;
static char log_last[512];
static void test_log(void *ud, int32_t level, const char *msg)
{
    (void)ud;
    (void)level;
    log_calls++;
    snprintf(log_last, sizeof log_last, "%s", msg);
}

START_TEST(ctx_errors_and_log)
{
    irllrec_ctx *ctx = tu_ctx();
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "");
    ck_assert_int_eq(irllrec_ctx_errcode(ctx), IRLLREC_OK);
    ck_assert_str_eq(irllrec_ctx_errmsg(NULL), "no context");
    ck_assert_int_eq(irllrec_ctx_set_log(ctx, test_log, NULL, IRLLREC_LOG_ERROR), IRLLREC_OK);
    ck_assert_int_eq(irllrec_ctx_set_log(ctx, test_log, NULL, 9), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_ctx_set_log: level 9") != NULL);
    ck_assert_int_eq(irllrec_ctx_errcode(ctx), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(log_calls, 1);
    ck_assert_str_eq(log_last, irllrec_ctx_errmsg(ctx));
    irllrec_ctx_clear_error(ctx);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "");
    ck_assert_int_eq(irllrec_ctx_n_threads(ctx), 1);
    irllrec_ctx_free(ctx);
    irllrec_ctx_free(NULL);
}
END_TEST

START_TEST(ctx_spec_sizes)
{
    irllrec_ctx_spec spec;
    irllrec_ctx *ctx = NULL;
    unsigned char big[sizeof(irllrec_ctx_spec) + 16];
    uint32_t sz;

    ck_assert_int_eq(irllrec_ctx_create(NULL, NULL), IRLLREC_E_INVALID_ARG);
    /* An older caller whose struct ends after n_threads. */
    irllrec_ctx_spec_init(&spec, 8);
    ck_assert_uint_eq(spec.struct_size, 8);
    spec.n_threads = 3;
    ck_assert_int_eq(irllrec_ctx_create(&spec, &ctx), IRLLREC_OK);
    ck_assert_int_eq(irllrec_ctx_n_threads(ctx), 3);
    irllrec_ctx_free(ctx);

    /* A newer caller with a zero tail is accepted; a set tail byte is not. */
    memset(big, 0, sizeof big);
    irllrec_ctx_spec_init((irllrec_ctx_spec *)(void *)big, sizeof(irllrec_ctx_spec));
    sz = (uint32_t)sizeof big;
    memcpy(big, &sz, sizeof sz);
    ck_assert_int_eq(irllrec_ctx_create((irllrec_ctx_spec *)(void *)big, &ctx), IRLLREC_OK);
    irllrec_ctx_free(ctx);
    big[sizeof big - 1] = 1;
    ctx = (irllrec_ctx *)(void *)&spec;
    ck_assert_int_eq(irllrec_ctx_create((irllrec_ctx_spec *)(void *)big, &ctx), IRLLREC_E_VERSION);
    ck_assert_ptr_null(ctx);

    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.n_threads = 0;
    ck_assert_int_eq(irllrec_ctx_create(&spec, &ctx), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(ctx);
    spec.n_threads = 1;
    spec.alloc = tu_alloc; /* free missing */
    ck_assert_int_eq(irllrec_ctx_create(&spec, &ctx), IRLLREC_E_INVALID_ARG);
}
END_TEST

START_TEST(ctx_allocator_is_used_and_failure_reported)
{
    tu_alloc_state st = {0};
    irllrec_ctx_spec spec;
    irllrec_ctx *ctx = NULL;
    irllrec_x_rng *rng = NULL;
    ctx = tu_ctx_counting(&st);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(st.n_alloc, 1);
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 1, &rng), IRLLREC_OK);
    ck_assert_int_eq(st.n_alloc, 2);
    irllrec_x_rng_free(rng);
    st.fail_at = 3;
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 1, &rng), IRLLREC_E_NOMEM);
    ck_assert_ptr_null(rng);
    /* Reported for the public function the allocation served. */
    ck_assert_msg(strncmp(irllrec_ctx_errmsg(ctx), "irllrec_x_rng_create: allocation of ", 36) == 0,
                  "%s", irllrec_ctx_errmsg(ctx));
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);

    memset(&st, 0, sizeof st);
    st.fail_at = 1;
    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.alloc = tu_alloc;
    spec.free = tu_free;
    spec.alloc_ud = &st;
    ck_assert_int_eq(irllrec_ctx_create(&spec, &ctx), IRLLREC_E_NOMEM);
    ck_assert_ptr_null(ctx);
}
END_TEST

START_TEST(rng_is_seeded_and_uniform)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_rng *a = NULL, *b = NULL;
    uint64_t state[4], zero[4] = {0, 0, 0, 0};
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int64_t counts[7] = {0};
    const int n = 200000;
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 42, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_x_rng_create(ctx, 42, &b), IRLLREC_OK);
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(irllrec_x_rng_u64(a), irllrec_x_rng_u64(b));
    irllrec_x_rng_get_state(a, state);
    uint64_t next = irllrec_x_rng_u64(a);
    ck_assert_int_eq(irllrec_x_rng_set_state(b, state), IRLLREC_OK);
    ck_assert_uint_eq(irllrec_x_rng_u64(b), next);
    ck_assert_int_eq(irllrec_x_rng_set_state(b, zero), IRLLREC_E_INVALID_ARG);
    for (int i = 0; i < n; i++) {
        double u = irllrec_x_rng_uniform(a), z = irllrec_x_rng_normal(a);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
        sum2 += u * u;
        nsum += z;
        nsum2 += z * z;
        counts[irllrec_x_rng_below(a, 7)]++;
    }
    /* Means within ~5 standard errors. */
    ck_assert_double_eq_tol(sum / n, 0.5, 5 * sqrt(1.0 / 12 / n));
    ck_assert_double_eq_tol(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002);
    ck_assert_double_eq_tol(nsum / n, 0.0, 5 * sqrt(1.0 / n));
    ck_assert_double_eq_tol(nsum2 / n, 1.0, 0.02);
    for (int k = 0; k < 7; k++) ck_assert_double_eq_tol((double)counts[k] / n, 1.0 / 7, 0.005);
    ck_assert_uint_eq(irllrec_x_rng_below(a, 0), 0);
    irllrec_x_rng_free(a);
    irllrec_x_rng_free(b);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(rng_streams_differ)
{
    irllrec__rng r1, r2;
    irllrec__rng_seed(&r1, 7, 0);
    irllrec__rng_seed(&r2, 7, 1);
    ck_assert_uint_ne(irllrec__rng_next(&r1), irllrec__rng_next(&r2));
}
END_TEST

static void naive_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, double *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) *
                     (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
        }
}

START_TEST(gemm_all_transposes_and_leading_dims)
{
    const int m = 13, n = 9, k = 17, pad = 3;
    float a[32 * 32], b[32 * 32], c[32 * 32];
    double ref[32 * 32];
    irllrec__rng r;
    irllrec__rng_seed(&r, 1, 0);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 3; bi++) {
                const float beta = bi == 0 ? 0.0f : (bi == 1 ? 1.0f : -0.5f);
                int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                for (int i = 0; i < 32 * 32; i++) {
                    a[i] = (float)irllrec__rng_normal(&r);
                    b[i] = (float)irllrec__rng_normal(&r);
                    c[i] = (float)irllrec__rng_normal(&r);
                    ref[i] = c[i];
                }
                irllrec__sgemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, c, ldc);
                naive_gemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, beta, ref, ldc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                        ck_assert_double_eq_tol(c[i * ldc + j], ref[i * ldc + j], 1e-4);
                /* Padding columns are untouched. */
                for (int i = 0; i < m; i++)
                    for (int j = n; j < ldc; j++)
                        ck_assert_float_eq(c[i * ldc + j], (float)ref[i * ldc + j]);
            }
    ck_assert(strcmp(irllrec_gemm_backend(), "cblas") == 0 ||
              strcmp(irllrec_gemm_backend(), "reference") == 0);
}
END_TEST

typedef struct share_ud {
    int64_t n;
    int32_t hits[1000];
} share_ud;

static void mark(void *p, int32_t t, int32_t nt)
{
    share_ud *u = (share_ud *)p;
    int64_t lo, hi;
    irllrec__share(u->n, t, nt, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) u->hits[i]++;
}

START_TEST(parallel_covers_every_item_once)
{
    irllrec_ctx *ctx = tu_ctx();
    for (int nt = 1; nt <= 5; nt++) {
        share_ud u;
        memset(&u, 0, sizeof u);
        u.n = 997;
        ck_assert_int_eq(irllrec__parallel(ctx, nt, mark, &u), IRLLREC_OK);
        for (int64_t i = 0; i < u.n; i++) ck_assert_int_eq(u.hits[i], 1);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

/* docs/threading.md: inside a region of more than one library thread,
 * OpenBLAS (when it is the BLAS) runs single-threaded; the host's count is
 * back after the join. Skipped without OpenBLAS's thread functions. */
#if defined(IRLLREC_USE_CBLAS) && defined(__has_include)
#if __has_include(<dlfcn.h>)
#include <dlfcn.h>
#define TEST_BLAS_GUARD 1
#endif
#endif
#ifdef TEST_BLAS_GUARD
typedef struct blas_ud {
    int (*get)(void);
    int seen[8];
} blas_ud;

static void record_blas_threads(void *p, int32_t t, int32_t nt)
{
    blas_ud *u = (blas_ud *)p;
    (void)nt;
    u->seen[t] = u->get();
}
#endif

START_TEST(parallel_keeps_blas_single_threaded)
{
#ifdef TEST_BLAS_GUARD
    irllrec_ctx *ctx = tu_ctx();
    blas_ud u;
    void (*set)(int);
    memset(&u, 0, sizeof u);
    *(void **)&u.get = dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    *(void **)&set = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (u.get == NULL || set == NULL) {
        irllrec_ctx_free(ctx);
        return; /* not OpenBLAS: nothing to guard */
    }
    {
        int host = u.get();
        set(2);
        ck_assert_int_eq(u.get(), 2);
        ck_assert_int_eq(irllrec__parallel(ctx, 3, record_blas_threads, &u), IRLLREC_OK);
        for (int t = 0; t < 3; t++) ck_assert_int_eq(u.seen[t], 1);
        ck_assert_int_eq(u.get(), 2);
        /* one library thread: nothing to share the cores with, OpenBLAS keeps its count */
        ck_assert_int_eq(irllrec__parallel(ctx, 1, record_blas_threads, &u), IRLLREC_OK);
        ck_assert_int_eq(u.seen[0], 2);
        set(host);
    }
    irllrec_ctx_free(ctx);
#endif
}
END_TEST

START_TEST(check_mat_rejects_bad_views)
{
    irllrec_ctx *ctx = tu_ctx();
    float x[4];
    irllrec_mat m = irllrec_mat_dense(x, 2, 2);
    ck_assert_int_eq(irllrec__check_mat(ctx, "f", "m", m), IRLLREC_OK);
    m.ld = 1;
    ck_assert_int_eq(irllrec__check_mat(ctx, "f", "m", m), IRLLREC_E_SHAPE);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "f: m.ld = 1 < cols = 2");
    m = irllrec_mat_dense(NULL, 2, 2);
    ck_assert_int_eq(irllrec__check_mat(ctx, "f", "m", m), IRLLREC_E_INVALID_ARG);
    m = irllrec_mat_dense(x, -1, 2);
    ck_assert_int_eq(irllrec__check_mat(ctx, "f", "m", m), IRLLREC_E_SHAPE);
    m = irllrec_mat_dense(x, INT64_MAX / 2, 4);
    ck_assert_int_eq(irllrec__check_mat(ctx, "f", "m", m), IRLLREC_E_SHAPE);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Each CSR defect maps to its one status code, and the message starts with
 * the reporting function and names the argument. */
static irllrec_csr mk_csr(int64_t nr, int64_t nc, int64_t nnz, const int64_t *p, const int32_t *ix)
{
    irllrec_csr c;
    c.n_rows = nr;
    c.n_cols = nc;
    c.nnz = nnz;
    c.indptr = p;
    c.indices = ix;
    return c;
}

#define CSR_IS(c, st, msg)                                                             \
    do {                                                                               \
        irllrec_csr c_ = (c);                                                          \
        ck_assert_int_eq(irllrec__check_csr(ctx, "fn", "adj", &c_, 3, 4), (st));       \
        ck_assert_str_eq(irllrec_ctx_errmsg(ctx), (msg));                             \
    } while (0)

START_TEST(check_csr_maps_each_defect)
{
    irllrec_ctx *ctx = tu_ctx();
    const int64_t p[] = {0, 2, 2, 3}, p_bad0[] = {1, 2, 2, 3}, p_dec[] = {0, 2, 1, 3},
                  p_end[] = {0, 1, 2, 2};
    const int32_t ix[] = {0, 3, 1}, ix_range[] = {0, 4, 1}, ix_neg[] = {0, 1, -1},
                  ix_uns[] = {3, 0, 1}, ix_dup[] = {1, 1, 2};
    irllrec_csr c = mk_csr(3, 4, 3, p, ix);
    ck_assert_int_eq(irllrec__check_csr(ctx, "fn", "adj", &c, 3, 4), IRLLREC_OK);
    ck_assert_int_eq(irllrec__check_csr(ctx, "fn", "adj", NULL, 3, 4), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: adj is NULL");
    CSR_IS(mk_csr(2, 4, 3, p, ix), IRLLREC_E_SHAPE, "fn: adj is 2 x 4, expected 3 x 4");
    CSR_IS(mk_csr(3, 5, 3, p, ix), IRLLREC_E_SHAPE, "fn: adj is 3 x 5, expected 3 x 4");
    CSR_IS(mk_csr(3, 4, -1, p, ix), IRLLREC_E_INVALID_ARG, "fn: adj.nnz = -1 < 0");
    CSR_IS(mk_csr(3, 4, 3, NULL, ix), IRLLREC_E_INVALID_ARG, "fn: adj.indptr is NULL");
    CSR_IS(mk_csr(3, 4, 3, p, NULL), IRLLREC_E_INVALID_ARG,
           "fn: adj.indices is NULL with nnz = 3");
    CSR_IS(mk_csr(3, 4, 3, p_bad0, ix), IRLLREC_E_INVALID_ARG, "fn: adj.indptr[0] = 1, not 0");
    CSR_IS(mk_csr(3, 4, 3, p_dec, ix), IRLLREC_E_INVALID_ARG, "fn: adj.indptr decreases at row 1");
    CSR_IS(mk_csr(3, 4, 3, p_end, ix), IRLLREC_E_INVALID_ARG,
           "fn: adj.indptr[3] = 2, not nnz = 3");
    CSR_IS(mk_csr(3, 4, 3, p, ix_range), IRLLREC_E_INVALID_ARG,
           "fn: adj row 0: indices[1] = 4 not in [0, 4)");
    CSR_IS(mk_csr(3, 4, 3, p, ix_neg), IRLLREC_E_INVALID_ARG,
           "fn: adj row 2: indices[2] = -1 not in [0, 4)");
    /* Unsorted rows are fine for the plain check, not for the sorted one. */
    c = mk_csr(3, 4, 3, p, ix_uns);
    ck_assert_int_eq(irllrec__check_csr(ctx, "fn", "adj", &c, 3, 4), IRLLREC_OK);
    ck_assert_int_eq(irllrec__check_csr_sorted(ctx, "fn", "adj", &c, 3, 4), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "fn: adj row 0: indices[1] = 0") != NULL);
    c = mk_csr(3, 4, 3, p, ix_dup);
    ck_assert_int_eq(irllrec__check_csr_sorted(ctx, "fn", "adj", &c, 3, 4), IRLLREC_E_INVALID_ARG);
    c = mk_csr(3, 4, 3, p, ix);
    ck_assert_int_eq(irllrec__check_csr_sorted(ctx, "fn", "adj", &c, 3, 4), IRLLREC_OK);
    /* An empty pattern needs no indices. */
    {
        const int64_t z[] = {0, 0, 0, 0};
        c = mk_csr(3, 4, 0, z, NULL);
        ck_assert_int_eq(irllrec__check_csr(ctx, "fn", "adj", &c, 3, 4), IRLLREC_OK);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(check_ids_names_the_argument)
{
    irllrec_ctx *ctx = tu_ctx();
    const int32_t ids[] = {0, 9, 3, 12, -1};
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "users", ids, 3, 10), IRLLREC_OK);
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "users", ids, 5, 10), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: users[3] = 12 not in [0, 10)");
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "pos", ids + 4, 1, 10), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: pos[0] = -1 not in [0, 10)");
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "users", NULL, 2, 10), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: users is NULL");
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "users", NULL, 0, 10), IRLLREC_OK);
    ck_assert_int_eq(irllrec__check_ids(ctx, "fn", "users", ids, -1, 10), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: users: count -1 < 0");
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(rng_state_rule_is_shared)
{
    irllrec_ctx *ctx = tu_ctx();
    const uint64_t zero[4] = {0, 0, 0, 0}, one[4] = {0, 0, 1, 0};
    irllrec__rng r, before;
    irllrec__rng_seed(&r, 7, 1);
    before = r;
    ck_assert_int_eq(irllrec__rng_state_valid(one), 1);
    ck_assert_int_eq(irllrec__rng_state_valid(zero), 0);
    ck_assert_int_eq(irllrec__rng_state_valid(NULL), 0);
    ck_assert_int_eq(irllrec__rng_set_state(ctx, "fn", &r, zero), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: state is all zero (a fixed point of xoshiro256**)");
    ck_assert_int_eq(irllrec__rng_set_state(ctx, "fn", &r, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "fn: state is NULL");
    ck_assert(memcmp(&r, &before, sizeof r) == 0);
    ck_assert_int_eq(irllrec__rng_set_state(ctx, "fn", &r, one), IRLLREC_OK);
    ck_assert(memcmp(r.s, one, sizeof one) == 0);
    irllrec_ctx_free(ctx);
}
END_TEST

/* The stream ids decide the bits of every run (weights, noise, negatives,
 * synthetic data, golden files): changing one in lib/core/streams.h must
 * also take a deliberate change here. */
START_TEST(stream_ids_are_pinned)
{
    ck_assert_uint_eq(IRLLREC__STREAM_X_RNG, 0u);
    ck_assert_uint_eq(IRLLREC__STREAM_MLP, 0x4d4c5001u);
    ck_assert_uint_eq(IRLLREC__STREAM_INTENT, 0x494e5401u);
    ck_assert_uint_eq(IRLLREC__STREAM_ITM, 0x49544d01u);
    ck_assert_uint_eq(IRLLREC__STREAM_ALIGN, 0xA119u);
    ck_assert_uint_eq(IRLLREC__STREAM_SAMPLER, 0x53414D50u);
    ck_assert_uint_eq(IRLLREC__STREAM_HOOK_PRF, 0x1001u);
    ck_assert_uint_eq(IRLLREC__STREAM_HOOK_INT, 0x1002u);
    ck_assert_uint_eq(IRLLREC__STREAM_HOOK_TOWER, 0x1003u);
    ck_assert_uint_eq(IRLLREC__STREAM_HOOK_ITM, 0x1004u);
    ck_assert_uint_eq(IRLLREC__STREAM_HOOK_RNG, 0x1005u);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_POP, 1);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_THETA, 2);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_DEGREE, 4);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_USER, 5);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_MISLEAD, 6);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_PROJ, 8);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_OFFSET, 10);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_POPDIR, 12);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_ROW, 13);
    ck_assert_int_eq(IRLLREC__SYNTH_ST_ENTITY, 14);
}
END_TEST

Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, status_strings_are_distinct_and_pinned);
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, ctx_errors_and_log);
    tcase_add_test(tc, ctx_spec_sizes);
    tcase_add_test(tc, ctx_allocator_is_used_and_failure_reported);
    tcase_add_test(tc, rng_is_seeded_and_uniform);
    tcase_add_test(tc, rng_streams_differ);
    tcase_add_test(tc, gemm_all_transposes_and_leading_dims);
    tcase_add_test(tc, parallel_covers_every_item_once);
    tcase_add_test(tc, parallel_keeps_blas_single_threaded);
    tcase_add_test(tc, check_mat_rejects_bad_views);
    tcase_add_test(tc, check_csr_maps_each_defect);
    tcase_add_test(tc, check_ids_names_the_argument);
    tcase_add_test(tc, rng_state_rule_is_shared);
    tcase_add_test(tc, stream_ids_are_pinned);
    suite_add_tcase(s, tc);
    return s;
}
