/* Alignment losses at Amazon-book shapes: N = 20,332 nodes (11,000 users +
 * 9,332 items), d = 32, B = 4096. Random inputs (timing only).
 *
 *   bench_align [threads=2] [reps=5] [block_rows=0] [block_cols=0]
 *
 * Prints the median fwd+bwd time of: the exact translation loss (N x N),
 * the user InfoNCE term (B x 11,000), the two in-batch item terms (B x B),
 * and the sampled translation over 3B nodes; the handle's workspace and the
 * process's peak RSS. The authors' PyTorch on this machine: translation
 * 4.3 s per step, six InfoNCE terms 1.6 s. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"

enum { U = 11000, I = 9332, N = U + I, D = 32, B = 4096, MAXREP = 50 };

static float *rnd(irllrec_x_rng *r, int64_t n)
{
    float *p = (float *)malloc((size_t)n * sizeof *p);
    if (p == NULL) exit(1);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(2.0 * irllrec_x_rng_uniform(r) - 1.0);
    return p;
}

static void die(irllrec_ctx *ctx, irllrec_status st, const char *what)
{
    fprintf(stderr, "%s: %s (%s)\n", what, irllrec_status_str(st), irllrec_ctx_errmsg(ctx));
    exit(1);
}

int main(int argc, char **argv)
{
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    irllrec_ctx_spec cs;
    irllrec_align_spec as;
    irllrec_ctx *ctx = NULL;
    irllrec_align *h = NULL;
    irllrec_x_rng *rng = NULL;
    irllrec_status st;
    double t_tran[MAXREP], t_user[MAXREP], t_item[MAXREP], t_samp[MAXREP], c_tran[MAXREP],
        loss = 0, lu = 0, li = 0, ls = 0;
    int32_t *upos = (int32_t *)malloc(B * sizeof *upos);
    if (reps < 1) reps = 1;
    if (reps > MAXREP) reps = MAXREP;

    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = threads;
    if ((st = irllrec_ctx_create(&cs, &ctx)) != IRLLREC_OK) return 1;
    irllrec_align_spec_init(&as, sizeof as);
    as.dim = D;
    as.max_rows = N;
    as.max_cols = N;
    as.block_rows = argc > 3 ? atoi(argv[3]) : 0;
    as.block_cols = argc > 4 ? atoi(argv[4]) : 0;
    as.seed = 1;
    if ((st = irllrec_align_create(ctx, &as, &h)) != IRLLREC_OK) die(ctx, st, "align_create");
    if ((st = irllrec_x_rng_create(ctx, 42, &rng)) != IRLLREC_OK) die(ctx, st, "rng_create");

    bu_print_blas();
    printf("threads %d, reps %d (median), N %d, d %d, B %d\n", threads, reps, N, D, B);
    printf("workspace: %.1f MiB held by the handle\n",
           (double)irllrec_align_workspace_bytes(h) / (1024.0 * 1024.0));

    float *z = rnd(rng, (int64_t)N * D), *e = rnd(rng, (int64_t)N * D);   /* text, graph */
    float *dz = (float *)calloc((size_t)N * D, sizeof(float));
    float *de = (float *)calloc((size_t)N * D, sizeof(float));
    float *ru = rnd(rng, (int64_t)B * D), *ri = rnd(rng, (int64_t)B * D), *zi = rnd(rng, (int64_t)B * D);
    float *dru = (float *)calloc((size_t)B * D, sizeof(float));
    float *dri = (float *)calloc((size_t)B * D, sizeof(float));
    float *dzi = (float *)calloc((size_t)B * D, sizeof(float));
    for (int b = 0; b < B; b++) upos[b] = (int32_t)irllrec_x_rng_below(rng, U);
    irllrec_mat zm = irllrec_mat_dense(z, N, D), em = irllrec_mat_dense(e, N, D);
    irllrec_mat dzm = irllrec_mat_dense(dz, N, D), dem = irllrec_mat_dense(de, N, D);
    irllrec_mat zu = irllrec_mat_dense(z, U, D), dzu = irllrec_mat_dense(dz, U, D);

    for (int r = -1; r < reps; r++) { /* r = -1 warms up */
        double c0 = bu_cpu_now(), t0 = bu_now();
        st = irllrec_align_translation(h, zm, em, dzm, dem, &loss);
        if (st != IRLLREC_OK) die(ctx, st, "translation");
        double t1 = bu_now(), c1 = bu_cpu_now();
        st = irllrec_align_infonce(h, irllrec_mat_dense(ru, B, D), zu, upos, 0.2, 1.0 / B,
                                   irllrec_mat_dense(dru, B, D), dzu, &lu);
        if (st != IRLLREC_OK) die(ctx, st, "infonce user");
        double t2 = bu_now();
        for (int k = 0; k < 2; k++) { /* i+ and i- terms: B x B, pos[b] = b */
            st = irllrec_align_infonce(h, irllrec_mat_dense(ri, B, D), irllrec_mat_dense(zi, B, D),
                                       NULL, 0.2, 1.0 / B, irllrec_mat_dense(dri, B, D),
                                       irllrec_mat_dense(dzi, B, D), &li);
            if (st != IRLLREC_OK) die(ctx, st, "infonce item");
        }
        double t3 = bu_now();
        st = irllrec_align_translation_sampled(h, zm, em, NULL, 3 * B, dzm, dem, &ls);
        if (st != IRLLREC_OK) die(ctx, st, "sampled");
        double t4 = bu_now();
        if (r >= 0) {
            t_tran[r] = t1 - t0;
            c_tran[r] = c1 - c0;
            t_user[r] = t2 - t1;
            t_item[r] = t3 - t2;
            t_samp[r] = t4 - t3;
        }
    }
    const double mt = bu_median(t_tran, (size_t)reps), mu = bu_median(t_user, (size_t)reps),
                 mi = bu_median(t_item, (size_t)reps), ms = bu_median(t_samp, (size_t)reps);
    printf("translation exact   N x N = %d x %d : %8.3f s  (loss %.6f; %.2f ns per logit; "
           "%.3f CPU-s)\n", N, N, mt, loss, mt / ((double)N * N) * 1e9,
           bu_median(c_tran, (size_t)reps));
    printf("infonce user term   B x U = %d x %d : %8.3f s  (loss %.6f)\n", B, U, mu, lu);
    printf("infonce item terms  2 x B x B        : %8.3f s  (loss %.6f each)\n", mi, li);
    printf("  -> three pairwise terms %.3f s; six (pair + profile) ~%.3f s\n", mu + mi,
           2 * (mu + mi));
    printf("translation sampled 3B = %d nodes    : %8.3f s  (loss %.6f, approximation)\n", 3 * B,
           ms, ls);
    printf("peak RSS: %.1f MiB (inputs and gradients included)\n", bu_peak_rss_mib());

    free(z); free(e); free(dz); free(de); free(ru); free(ri); free(zi);
    free(dru); free(dri); free(dzi); free(upos);
    irllrec_x_rng_free(rng);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}
