/* Training epochs of the lightgcn_train backbones on amazon-book, in one run
 * so they share the machine's load: LightGCN, SGL, SimGCL and MF with the
 * trainer's defaults (d 32, L 3, batch 4096; SGL view keep 0.8, SimGCL eps
 * 0.9, cl_tau 0.2), each epoch = negative sampling + shuffle + 30 steps
 * (examples/lightgcn/hosts.h). Prints per-model median wall and CPU seconds
 * per epoch and the peak RSS (the authors' epoch times are in docs/benchmarks.md,
 * with when and where they were measured; none is printed here).
 * Every model runs twice in the same process, with IRLLREC_XENT=fused (the
 * fused alignment kernels, irllrec_align_kernel() names them) and then with
 * IRLLREC_XENT=reference (the sgemm engine), so the two share the load;
 * SGL and SimGCL also run between them with each bf16 level of the
 * contrastive loss asked (lgcn_host_cfg.cl_precision; "+bf16-logits",
 * "+bf16" where granted);
 * the roofs and the gather bound are those of the fused run.
 *
 * usage: bench_hosts [threads (2)] [timed epochs (3)] [models (lightgcn,sgl,simgcl,mf)]
 *                    [data dir] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"

#if defined(__has_include)
#if __has_include("hosts.h")
#define HAVE_HOSTS 1
#endif
#endif

#ifndef HAVE_HOSTS
int main(void)
{
    printf("bench_hosts: built without examples/lightgcn (IRLLREC_BUILD_EXAMPLES=OFF); skipped\n");
    return 0;
}
#else
#include "hosts.h"

static double load1(void)
{
    double la = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &la) != 1) la = -1.0;
        fclose(f);
    }
    return la;
}

/* Median wall and CPU seconds of n_ep epochs after one warm-up; *epoch_s
 * the median wall epoch, *gather_gb the bytes of 128-byte rows the main
 * view's propagation gathers per epoch (L layers forward and backward). */
static int bench_model(irllrec_ctx *ctx, const irllrec_x_dataset *ds, int32_t model, int32_t nt,
                       int32_t n_ep, int32_t prec, double *epoch_s, double *gather_gb)
{
    irllrec_csr train;
    irllrec_x_sampler *sp = NULL;
    lgcn_spec ls;
    lgcn *m = NULL;
    lgcn_opt *opt = NULL;
    lgcn_host *h = NULL;
    lgcn_host_cfg hc = {model, 0.1, 0.2, 0.9, 4096, 2023, prec};
    char kern[64];
    int32_t *u, *p, *q;
    double ep[64], cpu[64], la0 = load1();
    char err[256] = "";
    int64_t n;
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    lgcn_spec_init(&ls);
    ls.n_users = irllrec_x_dataset_n_users(ds);
    ls.n_items = irllrec_x_dataset_n_items(ds);
    ls.n_threads = nt;
    ls.n_layers = model == LGCN_MODEL_MF ? 0 : 3;
    ls.keep_rate = model == LGCN_MODEL_SIMGCL || model == LGCN_MODEL_MF ? 1.0 : 0.8;
    if (lgcn_create(&ls, &train, &m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(m, 1e-3, &opt, err, sizeof err) != IRLLREC_OK ||
        lgcn_host_create(ctx, m, &hc, &h, err, sizeof err) != IRLLREC_OK ||
        irllrec_x_sampler_create(ctx, ds, 2023, &sp) != IRLLREC_OK) {
        fprintf(stderr, "bench_hosts: %s %s\n", err, irllrec_ctx_errmsg(ctx));
        return 1;
    }
    const int fp32 = lgcn_host_cl_precision(h) == IRLLREC_ALIGN_FP32;
    snprintf(kern, sizeof kern, "%s%s%s", irllrec_align_kernel(), fp32 ? "" : "+",
             fp32 ? "" : lgcn_precision_name(lgcn_host_cl_precision(h)));
    n = irllrec_x_sampler_epoch_size(sp);
    u = (int32_t *)malloc((size_t)n * sizeof *u);
    p = (int32_t *)malloc((size_t)n * sizeof *p);
    q = (int32_t *)malloc((size_t)n * sizeof *q);
    for (int e = 0; e <= n_ep && u && p && q; e++) {
        double t0 = bu_now(), c0 = bu_cpu_now();
        irllrec_x_sampler_epoch(sp, u, p, q, n);
        for (int64_t s = 0; s < n; s += 4096) {
            int64_t b = n - s < 4096 ? n - s : 4096;
            if (lgcn_host_train_step(h, NULL, opt, u + s, p + s, q + s, b, NULL) != IRLLREC_OK)
                return 1;
        }
        ep[e] = bu_now() - t0;
        cpu[e] = bu_cpu_now() - c0;
    }
    printf("%-8s %-12s threads %d: median epoch %.3f s wall, %.3f s CPU (%d epochs after a %.3f s "
           "warm-up; load %.2f -> %.2f); epochs:", lgcn_model_name(model), kern, nt,
           bu_median(ep + 1, (size_t)n_ep), bu_median(cpu + 1, (size_t)n_ep), n_ep, ep[0], la0,
           load1());
    for (int e = 1; e <= n_ep; e++) printf(" %.3f", ep[e]);
    printf("\n");
    fflush(stdout);
    *epoch_s = bu_median(ep + 1, (size_t)n_ep);
    *gather_gb = (double)((n + 4095) / 4096) * 2.0 * ls.n_layers * (double)lgcn_edges_used(m) *
                 ls.dim * sizeof(float) / 1e9;
    free(u);
    free(p);
    free(q);
    irllrec_x_sampler_free(sp);
    lgcn_host_free(h);
    lgcn_opt_free(opt);
    lgcn_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    int32_t nt = argc > 1 ? atoi(argv[1]) : 2, n_ep = argc > 2 ? atoi(argv[2]) : 3;
    const char *models = argc > 3 ? argv[3] : "lightgcn,sgl,simgcl,mf";
    const char *dir = argc > 4 ? argv[4] : IRLLREC_SHARED_DATA "/amazon-book";
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = NULL;
    char buf[256], *tok, *save = NULL;
    double ep_s[LGCN_N_MODELS] = {0}, gb[LGCN_N_MODELS] = {0};
    bu_roofs rf;
    if (nt < 1 || nt > 256 || n_ep < 1 || n_ep > 63 || strlen(models) >= sizeof buf) {
        fprintf(stderr, "usage: bench_hosts [threads] [epochs <= 63] [models] [data dir]\n");
        return 2;
    }
    bu_print_cpu();
    bu_print_blas();
    bu_print_isa();
    printf("code paths: LightGCN row kernels fwd32/bwd32 (target_clones, widest the cpu "
           "supports), pool with barriers; contrastive terms through irllrec_align\n");
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) return 1;
    if (irllrec_x_dataset_load(ctx, dir, &ds) != IRLLREC_OK) {
        printf("bench_hosts: %s; skipped\n", irllrec_ctx_errmsg(ctx));
        irllrec_ctx_free(ctx);
        return 0;
    }
    strcpy(buf, models);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int32_t model = lgcn_model_parse(tok);
        if (model < 0) {
            fprintf(stderr, "bench_hosts: unknown model '%s'\n", tok);
            return 2;
        }
        double e_x, g_x;
        setenv("IRLLREC_XENT", "fused", 1);
        if (bench_model(ctx, ds, model, nt, n_ep, IRLLREC_ALIGN_FP32, &ep_s[model], &gb[model]) != 0)
            return 1;
        /* the two bf16 levels of the contrastive loss, asked (the line names
         * a level only where the host's handle took it) */
        for (int32_t lv = IRLLREC_ALIGN_BF16_LOGITS; lv <= IRLLREC_ALIGN_BF16; lv++)
            if ((model == LGCN_MODEL_SGL || model == LGCN_MODEL_SIMGCL) &&
                bench_model(ctx, ds, model, nt, n_ep, lv, &e_x, &g_x) != 0)
                return 1;
        setenv("IRLLREC_XENT", "reference", 1);
        if (bench_model(ctx, ds, model, nt, n_ep, IRLLREC_ALIGN_FP32, &e_x, &g_x) != 0) return 1;
        unsetenv("IRLLREC_XENT");
    }
    printf("peak RSS %.1f MiB (all models of this run, before the roofs)\n", bu_peak_rss_mib());
    bu_measure_roofs(nt, &rf);
    bu_print_roofs(&rf);
    for (int32_t k = 0; k < LGCN_N_MODELS; k++) {
        if (ep_s[k] <= 0) continue;
        if (gb[k] <= 0) {
            printf("%-8s no propagation (0 layers): no gather bound\n", lgcn_model_name(k));
            continue;
        }
        printf("%-8s main view's propagation at the gather roof: %.3f s per epoch; the median "
               "epoch is %.2f of that bound (other views and contrastive terms not in it)\n",
               lgcn_model_name(k), gb[k] / rf.gather, bu_fraction(gb[k] / rf.gather, ep_s[k]));
    }
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    return 0;
}
#endif
