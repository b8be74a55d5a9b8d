/* Recommendation at Amazon-book scale beside the full-ranking evaluation,
 * in one run: 11,000 users x 9,332 items, d = 32, RANDOM embeddings (timing
 * only: the lists mean nothing). Data: the train (seen) and val (truth)
 * splits of ../shared/data/amazon-book when present, else a synthetic
 * split of the same shape. Prints the CPU, the BLAS, the load, and:
 *   - irllrec_evaluator_run (K = 5, 10, 20, mask = train), median of runs;
 *   - irllrec_recommend top-20 for every user, seen = train, median of runs,
 *     and for the users the evaluator ranks (those with val items) alone;
 *   - single-user irllrec_recommend latency, p50 and p99 over `calls`
 *     calls, each for a different user.
 *
 * and two roofs measured in the same run: the fp32 FMA peak of the threads
 * and one sgemm of the all-users shape (users x items x d, scores only).
 *
 *   bench_recommend [--threads N] [--runs N] [--calls N] [--dim D] [--data DIR]
 *                   [--scorer 0|1] [--isa 0..3]
 *
 * --scorer and --isa as in bench_eval (the same ctx override drives both
 * the evaluator and irllrec_recommend).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"
#include "rank/kernel.h"

#define K 20

/* CPU seconds of the calling thread: a one-user call runs entirely on it
 * (one block, no workers), so this is its cost without the time it spent
 * preempted on a loaded machine. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static double quantile(const double *sorted, int n, double q)
{
    int r = (int)(q * n + 0.999999) - 1;
    if (r < 0) r = 0;
    if (r >= n) r = n - 1;
    return sorted[r];
}

typedef struct setup {
    irllrec_ctx *ctx;
    irllrec_x_dataset *ds;
    irllrec_csr tr, va;
    float *ue, *ie;
    int dim;
} setup;

static int load(setup *s, const char *data, int threads, int isa, int scorer)
{
    irllrec_ctx_spec spec;
    struct stat sb;
    uint64_t x = 2025;
    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.n_threads = threads;
    if (irllrec_ctx_create(&spec, &s->ctx) != IRLLREC_OK ||
        irllrec__ctx_set_rank_path(s->ctx, isa, scorer) != IRLLREC_OK) {
        fprintf(stderr, "ctx_create failed (threads %d, isa %d, scorer %d)\n", threads, isa,
                scorer);
        return 1;
    }
    printf("ranking path: %s scorer, %s kernel (best on this CPU: %s)\n",
           scorer == IRLLREC__SCORE_SGEMM ? "sgemm" : "fused",
           irllrec__rank_isa_name(irllrec__rank_isa(s->ctx)),
           irllrec__rank_isa_name(irllrec__rank_isa(NULL)));
    if (stat(data, &sb) == 0) {
        if (irllrec_x_dataset_load(s->ctx, data, &s->ds) != IRLLREC_OK) {
            fprintf(stderr, "load: %s\n", irllrec_ctx_errmsg(s->ctx));
            return 1;
        }
        printf("data: %s\n", data);
    } else {
        s->ds = bu_amazon_like(s->ctx);
        if (s->ds == NULL) return 1;
        printf("data: synthetic %d x %d (%s not found)\n", BU_AMAZON_USERS, BU_AMAZON_ITEMS,
               data);
    }
    irllrec_x_dataset_user_items(s->ds, IRLLREC_SPLIT_TRAIN, &s->tr);
    irllrec_x_dataset_user_items(s->ds, IRLLREC_SPLIT_VAL, &s->va);
    s->ue = malloc((size_t)s->tr.n_rows * (size_t)s->dim * sizeof(float));
    s->ie = malloc((size_t)s->tr.n_cols * (size_t)s->dim * sizeof(float));
    if (s->ue == NULL || s->ie == NULL) return 1;
    for (int64_t k = 0; k < s->tr.n_rows * s->dim; k++) s->ue[k] = bu_unif(&x);
    for (int64_t k = 0; k < s->tr.n_cols * s->dim; k++) s->ie[k] = bu_unif(&x);
    return 0;
}

/* Median seconds of `runs` evaluator runs. */
static int time_eval(setup *s, int runs, double *med)
{
    const int32_t ks[3] = {5, 10, 20};
    double recall[3], ndcg[3], t[64];
    irllrec_evaluator *ev = NULL;
    int64_t n_eval = 0;
    if (irllrec_evaluator_create(s->ctx, s->tr.n_cols, ks, 3, &ev) != IRLLREC_OK) return 1;
    for (int r = 0; r < runs; r++) {
        double t0 = bu_now();
        if (irllrec_evaluator_run(ev, irllrec_mat_dense(s->ue, s->tr.n_rows, s->dim),
                                  irllrec_mat_dense(s->ie, s->tr.n_cols, s->dim), &s->tr, &s->va,
                                  recall, ndcg, &n_eval) != IRLLREC_OK) {
            fprintf(stderr, "eval: %s\n", irllrec_ctx_errmsg(s->ctx));
            irllrec_evaluator_free(ev);
            return 1;
        }
        t[r] = bu_now() - t0;
    }
    irllrec_evaluator_free(ev);
    *med = bu_median(t, (size_t)runs);
    printf("evaluator_run (%lld users with val items, K = 5/10/20): median %.4f s over %d runs\n",
           (long long)n_eval, *med, runs);
    return 0;
}

/* Median seconds of `runs` top-K recommendations for the users [0, nu) that
 * pass `keep` (NULL: all). */
static int time_users(setup *s, int runs, const irllrec_csr *keep, const char *what, double *med)
{
    const int64_t nu = s->tr.n_rows;
    int32_t *users = malloc((size_t)nu * sizeof(int32_t)), *counts = malloc((size_t)nu * 4);
    int32_t *ids = malloc((size_t)nu * K * sizeof(int32_t));
    float *sc = malloc((size_t)nu * K * sizeof(float));
    irllrec_rank_opts o;
    double t[64];
    int64_t filled = 0, n = 0;
    if (users == NULL || counts == NULL || ids == NULL || sc == NULL) return 1;
    for (int64_t u = 0; u < nu; u++)
        if (keep == NULL || keep->indptr[u + 1] > keep->indptr[u]) users[n++] = (int32_t)u;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &s->tr;
    for (int r = 0; r < runs; r++) {
        double t0 = bu_now();
        if (irllrec_recommend(s->ctx, irllrec_cmat_dense(s->ue, nu, s->dim),
                              irllrec_cmat_dense(s->ie, s->tr.n_cols, s->dim), users, n, K, &o,
                              ids, sc, counts) != IRLLREC_OK) {
            fprintf(stderr, "recommend: %s\n", irllrec_ctx_errmsg(s->ctx));
            return 1;
        }
        t[r] = bu_now() - t0;
    }
    for (int64_t u = 0; u < n; u++) filled += counts[u];
    *med = bu_median(t, (size_t)runs);
    printf("recommend top-%d, %s (%lld users), seen = train: median %.4f s over %d runs "
           "(%lld slots filled)\n", K, what, (long long)n, *med, runs, (long long)filled);
    free(users), free(counts), free(ids), free(sc);
    return 0;
}

/* Latency of single-user calls, each for another user (a stride prime to
 * the user count visits distinct users). */
static int time_single(setup *s, int calls, double *p50, double *p99)
{
    const int64_t nu = s->tr.n_rows;
    double *t = malloc((size_t)calls * sizeof(double));
    double *cpu = malloc((size_t)calls * sizeof(double));
    int32_t ids[K];
    float sc[K];
    irllrec_rank_opts o;
    if (t == NULL || cpu == NULL) return 1;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &s->tr;
    for (int c = 0; c < calls; c++) {
        const int32_t u = (int32_t)(((int64_t)c * 7919) % nu);
        double c0 = thread_cpu(), t0 = bu_now();
        if (irllrec_recommend(s->ctx, irllrec_cmat_dense(s->ue, nu, s->dim),
                              irllrec_cmat_dense(s->ie, s->tr.n_cols, s->dim), &u, 1, K, &o, ids,
                              sc, NULL) != IRLLREC_OK) {
            fprintf(stderr, "recommend: %s\n", irllrec_ctx_errmsg(s->ctx));
            free(t), free(cpu);
            return 1;
        }
        t[c] = bu_now() - t0;
        cpu[c] = thread_cpu() - c0;
    }
    qsort(t, (size_t)calls, sizeof t[0], cmp_double);
    qsort(cpu, (size_t)calls, sizeof cpu[0], cmp_double);
    *p50 = quantile(t, calls, 0.50);
    *p99 = quantile(t, calls, 0.99);
    printf("single-user recommend top-%d over %d calls (distinct users): p50 %.3f ms, "
           "p99 %.3f ms, max %.3f ms\n", K, calls, 1e3 * *p50, 1e3 * *p99, 1e3 * t[calls - 1]);
    printf("  same calls, CPU time of the calling thread: p50 %.3f ms, p99 %.3f ms\n",
           1e3 * quantile(cpu, calls, 0.50), 1e3 * quantile(cpu, calls, 0.99));
    free(t), free(cpu);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2, runs = 5, calls = 1000, isa = 0, scorer = 0;
    const char *data = IRLLREC_SHARED_DATA "/amazon-book";
    setup s;
    double t_eval = 0, t_all = 0, t_same = 0, p50 = 0, p99 = 0;
    memset(&s, 0, sizeof s);
    s.dim = 32;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) threads = atoi(argv[++a]);
        else if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc) runs = atoi(argv[++a]);
        else if (strcmp(argv[a], "--calls") == 0 && a + 1 < argc) calls = atoi(argv[++a]);
        else if (strcmp(argv[a], "--dim") == 0 && a + 1 < argc) s.dim = atoi(argv[++a]);
        else if (strcmp(argv[a], "--data") == 0 && a + 1 < argc) data = argv[++a];
        else if (strcmp(argv[a], "--scorer") == 0 && a + 1 < argc) scorer = atoi(argv[++a]);
        else if (strcmp(argv[a], "--isa") == 0 && a + 1 < argc) isa = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--runs N] [--calls N] [--dim D] "
                            "[--data DIR] [--scorer 0|1] [--isa 0..3]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    if (runs > 64) runs = 64;
    if (calls < 1) calls = 1;
    if (s.dim < 1) s.dim = 1;
    bu_print_cpu();
    bu_print_blas();
    if (load(&s, data, threads, isa, scorer)) return 1;
    printf("shape: %lld users x %lld items, d = %d RANDOM embeddings (timing only), threads %d\n",
           (long long)s.tr.n_rows, (long long)s.tr.n_cols, s.dim, threads);
    if (time_eval(&s, runs, &t_eval) || time_users(&s, runs, NULL, "all users", &t_all) ||
        time_users(&s, runs, &s.va, "the evaluator's users", &t_same) ||
        time_single(&s, calls, &p50, &p99))
        return 1;
    printf("summary: recommend all / evaluator = %.2f (target <= 1), same users %.2f; "
           "single-user p99 %.3f ms (target <= 2 ms)\n", t_all / t_eval, t_same / t_eval,
           1e3 * p99);
    {
        const double flops = 2.0 * (double)s.tr.n_rows * (double)s.tr.n_cols * (double)s.dim;
        const double peak = bu_fma_peak_gflops(threads, NULL);
        const double tg = bu_sgemm_abt_seconds(s.ue, s.tr.n_rows, s.ie, s.tr.n_cols, s.dim);
        printf("roof: fp32 FMA peak of %d threads %.1f GFLOP/s (median of 5); one sgemm "
               "%lld x %lld x %d (scores only) %.4f s\n", threads, peak, (long long)s.tr.n_rows,
               (long long)s.tr.n_cols, s.dim, tg);
        printf("recommend all: %.1f GFLOP/s = %.0f%% of the FMA peak, %.2fx the sgemm alone\n",
               1e-9 * flops / t_all, 100.0 * 1e-9 * flops / t_all / peak, t_all / tg);
    }
    bu_print_cpu();
    irllrec_x_dataset_free(s.ds);
    irllrec_ctx_free(s.ctx);
    free(s.ue), free(s.ie);
    return 0;
}
