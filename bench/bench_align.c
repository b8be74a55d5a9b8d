/* Alignment losses at Amazon-book shapes: N = 20,332 nodes (11,000 users +
 * 9,332 items), d = 32, B = 4096. Random inputs (timing only).
 *
 *   bench_align [threads=2] [reps=5] [block_rows=0] [block_cols=0]
 *
 * Runs everything in one process with IRLLREC_XENT=fused (the best fused
 * kernels the CPU runs), then with handles whose spec asks for bf16 logits
 * (IRLLREC_ALIGN_BF16_LOGITS) and for bf16 logits and backward products
 * (IRLLREC_ALIGN_BF16; each skipped where the handle declines), then with
 * IRLLREC_XENT=reference (the sgemm engine), and prints per kernel the
 * median fwd+bwd time of: the exact
 * translation loss (N x N), the user InfoNCE term (B x 11,000, the hook's
 * batch rows against all users), the two in-batch item terms (B x B), and
 * the sampled translation over 3B nodes. Roofs measured in the same run: the
 * FMA peak of `threads` threads, a square 2048^3 sgemm and a thin k = 32
 * sgemm (2048 x 20,332). FLOP counts per logit: 6d on every path (2d
 * forward, 2d each for dxn and dyn; both engines keep a row block's
 * exponentials between the sweeps at these shapes). bf16 logits are
 * counted at the same 6d (so are bf16 products), so a bf16 pass's "% of
 * FMA roof" can pass 100%. Also the handle's workspace and the process's peak
 * RSS. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
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

enum { T_TRAN, T_USER, T_ITEM, T_SAMP, NT };

typedef struct inputs {
    irllrec_align *h;
    irllrec_ctx *ctx;
    irllrec_mat zm, em, dzm, dem, zu, dzu, ru, dru, ri, dri, zi, dzi;
    const int32_t *upos;
    double loss[NT];
} inputs;

/* One fwd+bwd of every term; wall and process-CPU seconds of each. */
static void one_rep(inputs *in, double *wall, double *cpu)
{
    irllrec_status st = IRLLREC_OK;
    for (int t = 0; t < NT; t++) {
        const double c0 = bu_cpu_now(), t0 = bu_now();
        if (t == T_TRAN)
            st = irllrec_align_translation(in->h, in->zm, in->em, in->dzm, in->dem, &in->loss[t]);
        if (t == T_USER)
            st = irllrec_align_infonce(in->h, in->ru, in->zu, in->upos, 0.2, 1.0 / B, in->dru,
                                       in->dzu, &in->loss[t]);
        for (int k = 0; t == T_ITEM && k < 2 && st == IRLLREC_OK; k++) /* i+ and i-: pos[b] = b */
            st = irllrec_align_infonce(in->h, in->ri, in->zi, NULL, 0.2, 1.0 / B, in->dri,
                                       in->dzi, &in->loss[t]);
        if (t == T_SAMP)
            st = irllrec_align_translation_sampled(in->h, in->zm, in->em, NULL, 3 * B, in->dzm,
                                                   in->dem, &in->loss[t]);
        if (st != IRLLREC_OK) die(in->ctx, st, "alignment call");
        wall[t] = bu_now() - t0;
        cpu[t] = bu_cpu_now() - c0;
    }
}

/* reps timed repetitions of every term under the current IRLLREC_XENT, an
 * FMA roof measured before each (so roof and figure share the load). */
static void run_pass(inputs *in, int threads, int reps, double thin, const char *tag)
{
    static const char *const name[NT] = {"translation exact   N x N = 20332 x 20332",
                                         "infonce user term   B x U = 4096 x 11000 ",
                                         "infonce item terms  2 x B x B           ",
                                         "translation sampled 3B = 12288 nodes    "};
    const double logits[NT] = {(double)N * N, (double)B * U, 2.0 * B * B, 9.0 * B * B};
    const char *kern = irllrec_align_kernel();
    /* per logit: logits, dC y, dC^T x; the fused kernels keep the forward's
     * exponentials for every shape here (fewer than 2^17 columns), so they
     * recompute nothing either */
    const double fl = 6.0 * D;
    double wall[NT][MAXREP], cpu[NT][MAXREP], w[NT], c[NT], roof[MAXREP], roof_cpu[MAXREP];
    one_rep(in, w, c); /* warm-up */
    for (int r = 0; r < reps; r++) {
        roof[r] = bu_fma_peak_gflops(threads, &roof_cpu[r]);
        one_rep(in, w, c);
        for (int t = 0; t < NT; t++) wall[t][r] = w[t], cpu[t][r] = c[t];
    }
    const double pk = bu_median(roof, (size_t)reps), pkc = bu_median(roof_cpu, (size_t)reps);
    printf("kernel %s%s, %.0f FLOP per logit; FMA roof (median) %.1f GFLOP/s wall, %.1f per "
           "CPU-s\n", kern, tag, fl, pk, pkc);
    for (int t = 0; t < NT; t++) {
        const double mw = bu_median(wall[t], (size_t)reps), mc = bu_median(cpu[t], (size_t)reps);
        const double gw = fl * logits[t] / mw * 1e-9, gc = fl * logits[t] / mc * 1e-9;
        printf("  %s : %7.3f s wall, %6.3f CPU-s; %6.1f GFLOP/s = %3.0f%% of FMA roof "
               "(%3.0f%% per CPU-s)", name[t], mw, mc, gw, 100 * gw / pk, 100 * gc / pkc);
        if (t == T_TRAN && thin > 0) printf(", %3.0f%% of thin sgemm", 100 * gw / thin);
        printf("; loss %.6f\n", in->loss[t]);
    }
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

    bu_print_cpu();
    bu_print_blas();
    printf("threads %d, reps %d (median), N %d, d %d, B %d; FMA %s\n", threads, reps, N, D, B,
           bu_fma_isa());
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
    inputs in = {h, ctx, irllrec_mat_dense(z, N, D), irllrec_mat_dense(e, N, D),
                 irllrec_mat_dense(dz, N, D), irllrec_mat_dense(de, N, D),
                 irllrec_mat_dense(z, U, D), irllrec_mat_dense(dz, U, D),
                 irllrec_mat_dense(ru, B, D), irllrec_mat_dense(dru, B, D),
                 irllrec_mat_dense(ri, B, D), irllrec_mat_dense(dri, B, D),
                 irllrec_mat_dense(zi, B, D), irllrec_mat_dense(dzi, B, D), upos, {0}};

    const double sq = bu_sgemm_gflops(2048, 2048, 2048, reps), thin = bu_sgemm_gflops(2048, N, D, reps);
    printf("sgemm roofs (median of %d): square 2048^3 %.1f GFLOP/s; thin 2048 x %d x k=%d %.1f "
           "GFLOP/s\n", reps, sq, N, D, thin);
    setenv("IRLLREC_XENT", "fused", 1);
    run_pass(&in, threads, reps, thin, "");
    for (int32_t lv = IRLLREC_ALIGN_BF16_LOGITS; lv <= IRLLREC_ALIGN_BF16; lv++) {
        irllrec_align *hb = NULL;
        int32_t got = IRLLREC_ALIGN_FP32;
        as.precision = lv;
        if ((st = irllrec_align_create(ctx, &as, &hb)) != IRLLREC_OK) die(ctx, st, "align_create");
        (void)irllrec_align_get_precision(hb, &got);
        if (got == lv) {
            in.h = hb;
            run_pass(&in, threads, reps, thin,
                     lv == IRLLREC_ALIGN_BF16 ? " + bf16 logits and backward products (BF16)"
                                              : " + bf16 logits (BF16_LOGITS)");
            in.h = h;
        } else {
            printf("bf16 level %d: declined here (no AVX512-BF16 or not the fused AVX-512 "
                   "path)\n", (int)lv);
        }
        irllrec_align_free(hb);
    }
    setenv("IRLLREC_XENT", "reference", 1);
    run_pass(&in, threads, reps, thin, "");
    unsetenv("IRLLREC_XENT");
    printf("peak RSS: %.1f MiB (inputs and gradients included)\n", bu_peak_rss_mib());
    bu_print_cpu();

    free(z); free(e); free(dz); free(de); free(ru); free(ri); free(zi);
    free(dru); free(dri); free(dzi); free(upos);
    irllrec_x_rng_free(rng);
    irllrec_align_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}
