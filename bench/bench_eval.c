/* Full-ranking evaluation at Amazon-book scale: 11,000 users x 9,332 items,
 * d = 32 (--dim), random embeddings. Truth = the val split and mask = the
 * train split of ../shared/data/amazon-book when present, else a synthetic
 * split of the same shape. Prints the CPU, the BLAS in use, the kernel's
 * code path, the median of several runs, the split between scoring and
 * listing, and two roofs measured in the same run: the fp32 FMA peak of
 * the threads (register-only FMA chains) and one sgemm of the evaluation's
 * shape (evaluated users x items x d, C = U I^T).
 *
 *   bench_eval [--threads N] [--runs N] [--block USERS] [--mode 0|1] [--dim D] [--data DIR]
 *              [--scorer 0|1] [--isa 0|1|2|3]
 *
 * --mode 0: per-worker blocks (default), 1: scoring on the caller, lists
 * split over the workers (lib/eval/evaluator.h). --scorer 0: the fused
 * kernel (default), 1: sgemm + the same vectorised selection. --isa caps
 * the kernel's path: 0 best (default), 1 portable C, 2 AVX2, 3 AVX-512.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"
#include "eval/evaluator.h"
#include "rank/kernel.h"

/* The roofs of this run: FMA peak of the threads, one sgemm of the
 * evaluation's shape (the evaluated users taken as the first n_eval rows:
 * the same shape, which is what the sgemm's speed depends on). */
static void print_roofs(const float *ue, int64_t n_eval, const float *ie, int64_t n_items, int dim,
                        int threads, double t_eval)
{
    const double flops = 2.0 * (double)n_eval * (double)n_items * (double)dim;
    const double peak = bu_fma_peak_gflops(threads, NULL);
    const double t_gemm = bu_sgemm_abt_seconds(ue, n_eval, ie, n_items, dim);
    printf("roof: fp32 FMA peak of %d threads %.1f GFLOP/s (median of 5) -> the evaluation's %.2f "
           "GFLOP need >= %.4f s\n", threads, peak, 1e-9 * flops, 1e-9 * flops / peak);
    printf("roof: one sgemm %lld x %lld x %d (scores only, no selection): %.4f s = %.1f GFLOP/s "
           "(median of 5)\n", (long long)n_eval, (long long)n_items, dim, t_gemm,
           1e-9 * flops / t_gemm);
    printf("evaluation: %.1f GFLOP/s = %.0f%% of the FMA peak; %.2fx the sgemm alone\n",
           1e-9 * flops / t_eval, 100.0 * 1e-9 * flops / t_eval / peak, t_eval / t_gemm);
    bu_print_cpu();
}

int main(int argc, char **argv)
{
    int threads = 2, runs = 5, dim = 32;
    long block = 0;
    int mode = -1, scorer = 0, isa = 0;
    const char *data = IRLLREC_SHARED_DATA "/amazon-book";
    irllrec_ctx_spec spec;
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = NULL;
    irllrec_evaluator *ev = NULL;
    irllrec_csr tr, va;
    struct stat sb;
    const int32_t ks[3] = {5, 10, 20};
    double recall[3], ndcg[3], t[64], tg[64], tsel[64], t0, tmin;
    int64_t n_eval = 0;
    float *ue, *ie;
    uint64_t x = 2025;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--threads") == 0 && a + 1 < argc) threads = atoi(argv[++a]);
        else if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc) runs = atoi(argv[++a]);
        else if (strcmp(argv[a], "--block") == 0 && a + 1 < argc) block = atol(argv[++a]);
        else if (strcmp(argv[a], "--mode") == 0 && a + 1 < argc) mode = atoi(argv[++a]);
        else if (strcmp(argv[a], "--dim") == 0 && a + 1 < argc) dim = atoi(argv[++a]);
        else if (strcmp(argv[a], "--data") == 0 && a + 1 < argc) data = argv[++a];
        else if (strcmp(argv[a], "--scorer") == 0 && a + 1 < argc) scorer = atoi(argv[++a]);
        else if (strcmp(argv[a], "--isa") == 0 && a + 1 < argc) isa = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--threads N] [--runs N] [--block USERS] [--mode 0|1] [--dim D] "
                            "[--data DIR] [--scorer 0|1] [--isa 0..3]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    if (runs > 64) runs = 64;
    bu_print_cpu();
    bu_print_blas();
    irllrec_ctx_spec_init(&spec, sizeof spec);
    spec.n_threads = threads;
    if (irllrec_ctx_create(&spec, &ctx) != IRLLREC_OK ||
        irllrec__ctx_set_rank_path(ctx, isa, scorer) != IRLLREC_OK) {
        fprintf(stderr, "ctx_create failed (threads %d, isa %d, scorer %d)\n", threads, isa, scorer);
        return 1;
    }
    printf("ranking path: %s scorer, %s kernel (best on this CPU: %s)\n",
           scorer == IRLLREC__SCORE_SGEMM ? "sgemm" : "fused",
           irllrec__rank_isa_name(irllrec__rank_isa(ctx)), irllrec__rank_isa_name(irllrec__rank_isa(NULL)));
    if (stat(data, &sb) == 0) {
        t0 = bu_now();
        if (irllrec_x_dataset_load(ctx, data, &ds) != IRLLREC_OK) {
            fprintf(stderr, "load: %s\n", irllrec_ctx_errmsg(ctx));
            return 1;
        }
        printf("data: %s (load %.1f ms)\n", data, 1e3 * (bu_now() - t0));
    } else {
        ds = bu_amazon_like(ctx);
        if (ds == NULL) return 1;
        printf("data: synthetic %d x %d (%s not found)\n", BU_AMAZON_USERS, BU_AMAZON_ITEMS,
               data);
    }
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &tr);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_VAL, &va);
    ue = malloc((size_t)tr.n_rows * (size_t)dim * sizeof(float));
    ie = malloc((size_t)tr.n_cols * (size_t)dim * sizeof(float));
    for (int64_t k = 0; k < tr.n_rows * dim; k++) ue[k] = bu_unif(&x);
    for (int64_t k = 0; k < tr.n_cols * dim; k++) ie[k] = bu_unif(&x);
    if (irllrec_evaluator_create(ctx, tr.n_cols, ks, 3, &ev) != IRLLREC_OK ||
        (block > 0 && irllrec__evaluator_set_block(ev, block) != IRLLREC_OK) ||
        (mode >= 0 && irllrec__evaluator_set_mode(ev, mode) != IRLLREC_OK)) {
        fprintf(stderr, "evaluator: %s\n", irllrec_ctx_errmsg(ctx));
        return 1;
    }
    printf("shape: %lld users x %lld items, d = %d, threads %d, block %lld users, runs %d\n",
           (long long)tr.n_rows, (long long)tr.n_cols, dim, threads,
           (long long)irllrec__evaluator_block(ev), runs);
    for (int r = 0; r < runs; r++) {
        t0 = bu_now();
        if (irllrec_evaluator_run(ev, irllrec_mat_dense(ue, tr.n_rows, dim),
                                  irllrec_mat_dense(ie, tr.n_cols, dim), &tr, &va, recall, ndcg,
                                  &n_eval) != IRLLREC_OK) {
            fprintf(stderr, "run: %s\n", irllrec_ctx_errmsg(ctx));
            return 1;
        }
        t[r] = bu_now() - t0;
        irllrec__evaluator_timing(ev, &tg[r], &tsel[r]);
    }
    tmin = t[0];
    for (int r = 1; r < runs; r++) tmin = t[r] < tmin ? t[r] : tmin;
    printf("evaluated %lld users; recall@5/10/20 = %.5f %.5f %.5f; ndcg@5/10/20 = %.5f %.5f %.5f\n",
           (long long)n_eval, recall[0], recall[1], recall[2], ndcg[0], ndcg[1], ndcg[2]);
    printf("eval median %.4f s (min %.4f); scoring+selection %.4f s, sorting+metrics %.4f s "
           "(medians, summed over workers); peak RSS %.1f MiB\n",
           bu_median(t, (size_t)runs), tmin,
           bu_median(tg, (size_t)runs), bu_median(tsel, (size_t)runs), bu_peak_rss_mib());
    print_roofs(ue, n_eval, ie, tr.n_cols, dim, threads, bu_median(t, (size_t)runs));
    irllrec_evaluator_free(ev);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    free(ue);
    free(ie);
    return 0;
}
