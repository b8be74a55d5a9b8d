/* Independent context trees driven from 4 threads at once (docs/threading.md).
 * Each thread runs MLP forward/backward, InfoNCE alignment and a model
 * save/load round trip (memory and an atomic file save into a shared
 * directory) on its own ctx with 2 worker threads. Every thread must
 * reproduce, bit for bit, what the same work gives when run alone; under
 * ThreadSanitizer (-DIRLLREC_SANITIZE=thread -DIRLLREC_BLAS=OFF) the run
 * must also be free of reports. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "helpers/testutil.h"

enum { N_THREADS = 4, ROWS = 24, IN = 20, OUT = 8, ITERS = 3 };

typedef struct job {
    int id;
    const char *dir;
    irllrec_status st;     /* first failure, or OK */
    char err[256];
    float y[ROWS * OUT];   /* MLP output of the last iteration */
    float gw1[OUT * IN * 2];
    double loss;           /* InfoNCE loss of the last iteration */
    float dx[ROWS * OUT];
    size_t file_len;       /* saved image size */
    int reload_equal;      /* the file on disk reloaded to the same bytes */
    uint8_t *last_img;     /* image of the last iteration (malloc) */
} job;

#define TRY(j, ctx, expr)                                                      \
    do {                                                                       \
        irllrec_status s_ = (expr);                                            \
        if (s_ != IRLLREC_OK) {                                                \
            (j)->st = s_;                                                      \
            snprintf((j)->err, sizeof (j)->err, "%s: %s", #expr, irllrec_ctx_errmsg(ctx)); \
            goto done;                                                         \
        }                                                                      \
    } while (0)

static void *run(void *ud)
{
    job *j = (job *)ud;
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_mlp_spec ms;
    irllrec_align_spec as;
    irllrec_mlp *mlp = NULL;
    irllrec_align *al = NULL;
    irllrec_model *m = NULL, *m2 = NULL;
    uint8_t *img = NULL, *img2 = NULL;
    float x[ROWS * IN], dy[ROWS * OUT], w[OUT * IN * 2];
    char path[4096];
    irllrec__rng r;
    int64_t hidden_rows = 0, hidden_cols = 0;

    j->st = IRLLREC_OK;
    irllrec__rng_seed(&r, 99, (uint64_t)j->id % 2); /* threads 0/2 and 1/3 do identical work */
    for (int i = 0; i < ROWS * IN; i++) x[i] = (float)irllrec__rng_normal(&r);
    for (int i = 0; i < ROWS * OUT; i++) dy[i] = (float)irllrec__rng_normal(&r);

    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = 2;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) {
        j->st = IRLLREC_E_INTERNAL;
        return NULL;
    }
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = IN;
    ms.out_dim = OUT;
    ms.max_rows = ROWS;
    ms.seed = 7;
    TRY(j, ctx, irllrec_mlp_create(ctx, &ms, &mlp));
    irllrec_align_spec_init(&as, sizeof as);
    as.dim = OUT;
    as.max_rows = ROWS;
    as.max_cols = ROWS;
    TRY(j, ctx, irllrec_align_create(ctx, &as, &al));
    TRY(j, ctx, irllrec_mlp_param_shape(mlp, IRLLREC_MLP_W1, &hidden_rows, &hidden_cols));
    for (int it = 0; it < ITERS; it++) {
        irllrec_mat X = irllrec_mat_dense(x, ROWS, IN), Y = irllrec_mat_dense(j->y, ROWS, OUT);
        irllrec_mat DY = irllrec_mat_dense(dy, ROWS, OUT);
        irllrec_mat none = {NULL, 0, 0, 0};
        int64_t dims[2] = {hidden_rows, hidden_cols};
        size_t n = 0, n2 = 0;
        irllrec_mlp_zero_grad(mlp);
        TRY(j, ctx, irllrec_mlp_forward(mlp, X, Y));
        TRY(j, ctx, irllrec_mlp_backward(mlp, X, DY, none));
        TRY(j, ctx, irllrec_mlp_get_grad(mlp, IRLLREC_MLP_W1,
                                         irllrec_mat_dense(j->gw1, hidden_rows, hidden_cols)));
        memset(j->dx, 0, sizeof j->dx);
        TRY(j, ctx, irllrec_align_infonce(al, Y, DY, NULL, 0.2, 1.0 / ROWS,
                                          irllrec_mat_dense(j->dx, ROWS, OUT), none, &j->loss));
        /* model: the weights, saved to memory and to this thread's file */
        TRY(j, ctx, irllrec_mlp_get_param(mlp, IRLLREC_MLP_W1, irllrec_mat_dense(w, hidden_rows, hidden_cols)));
        TRY(j, ctx, irllrec_model_create(ctx, &m));
        TRY(j, ctx, irllrec_model_add_meta_i64(m, "iter", it));
        TRY(j, ctx, irllrec_model_add_tensor(m, IRLLREC_MODEL_TENSOR, "mlp.w1", w, 2, dims, 1));
        TRY(j, ctx, irllrec_model_add_tensor(m, IRLLREC_MODEL_OPTIM, "mlp.g1", j->gw1, 2, dims, 0));
        TRY(j, ctx, irllrec_model_save_mem(m, NULL, 0, &n));
        img = (uint8_t *)malloc(n);
        img2 = (uint8_t *)malloc(n);
        TRY(j, ctx, irllrec_model_save_mem(m, img, n, &n));
        snprintf(path, sizeof path, "%s/t%d.irlm", j->dir, j->id);
        TRY(j, ctx, irllrec_model_save(m, path));
        /* and all threads over one shared path: atomic renames, last one wins */
        snprintf(path, sizeof path, "%s/shared.irlm", j->dir);
        TRY(j, ctx, irllrec_model_save(m, path));
        snprintf(path, sizeof path, "%s/t%d.irlm", j->dir, j->id);
        TRY(j, ctx, irllrec_model_load(ctx, path, NULL, &m2));
        TRY(j, ctx, irllrec_model_save_mem(m2, img2, n, &n2));
        j->reload_equal = n2 == n && memcmp(img, img2, n) == 0;
        j->file_len = n;
        irllrec_model_free(m);
        irllrec_model_free(m2);
        m = m2 = NULL;
        free(j->last_img);
        j->last_img = img;
        img = NULL;
        free(img2);
        img = img2 = NULL;
        /* feed the loss gradient back as the next iteration's input change */
        for (int i = 0; i < ROWS * IN; i++) x[i] += 0.01f * j->dx[i % (ROWS * OUT)];
    }
done:
    free(img);
    free(img2);
    irllrec_model_free(m);
    irllrec_model_free(m2);
    irllrec_align_free(al);
    irllrec_mlp_free(mlp);
    irllrec_ctx_free(ctx);
    return NULL;
}

START_TEST(four_independent_trees_at_once)
{
    char *dir = tu_tmpdir();
    job solo[2], par[N_THREADS];
    pthread_t th[N_THREADS];
    /* reference: the two distinct workloads, one at a time */
    for (int i = 0; i < 2; i++) {
        memset(&solo[i], 0, sizeof solo[i]);
        solo[i].id = i;
        solo[i].dir = dir;
        run(&solo[i]);
        if (solo[i].st != IRLLREC_OK) ck_abort_msg("solo %d: %s", i, solo[i].err);
    }
    for (int i = 0; i < N_THREADS; i++) {
        memset(&par[i], 0, sizeof par[i]);
        par[i].id = i;
        par[i].dir = dir;
        ck_assert_int_eq(pthread_create(&th[i], NULL, run, &par[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < N_THREADS; i++) {
        const job *ref = &solo[i % 2];
        if (par[i].st != IRLLREC_OK) ck_abort_msg("thread %d: %s", i, par[i].err);
        ck_assert_mem_eq(par[i].y, ref->y, sizeof ref->y);
        ck_assert_mem_eq(par[i].gw1, ref->gw1, sizeof ref->gw1);
        ck_assert_mem_eq(par[i].dx, ref->dx, sizeof ref->dx);
        ck_assert(par[i].loss == ref->loss);
        ck_assert_uint_eq(par[i].file_len, ref->file_len);
        ck_assert(par[i].reload_equal);
    }
    /* the two workloads differ, so the comparison above can tell them apart */
    ck_assert(memcmp(solo[0].y, solo[1].y, sizeof solo[0].y) != 0);
    {
        /* The globally last rename over the shared path is some thread's
         * last save: one complete final image, never a mix. */
        irllrec_ctx *ctx = tu_ctx();
        irllrec_model *m = NULL;
        char path[4096];
        uint8_t *got;
        size_t n = 0;
        tu_join(path, sizeof path, dir, "shared.irlm");
        ck_assert_int_eq(irllrec_model_load(ctx, path, NULL, &m), IRLLREC_OK);
        ck_assert_int_eq(irllrec_model_save_mem(m, NULL, 0, &n), IRLLREC_OK);
        got = (uint8_t *)malloc(n);
        ck_assert_int_eq(irllrec_model_save_mem(m, got, n, &n), IRLLREC_OK);
        ck_assert(n == solo[0].file_len);
        ck_assert(memcmp(got, solo[0].last_img, n) == 0 || memcmp(got, solo[1].last_img, n) == 0);
        free(got);
        irllrec_model_free(m);
        irllrec_ctx_free(ctx);
    }
    for (int i = 0; i < 2; i++) free(solo[i].last_img);
    for (int i = 0; i < N_THREADS; i++) free(par[i].last_img);
    tu_tmpdir_free(dir);
}
END_TEST

Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, four_independent_trees_at_once);
    suite_add_tcase(s, tc);
    return s;
}
