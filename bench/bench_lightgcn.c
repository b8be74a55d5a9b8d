/* One LightGCN training epoch on amazon-book (the authors' baseline config:
 * d 32, L 3, batch 4096, keep 0.8), as lightgcn_train runs it: negative
 * sampling + shuffle, then every batch re-propagates the whole graph forward
 * and backward and takes an Adam step. Prints the median epoch time, a
 * per-phase breakdown, one validation pass, peak RSS and the BLAS in use.
 *
 * usage: bench_lightgcn [threads (2)] [timed epochs (7)] [data dir] [order]
 * order: natural (default), degree or rcm relabels users and items before the
 * model is built, to measure whether a locality order speeds the gathers
 * (issue 16 item 3; the model itself keeps the data's order). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "benchutil.h"
#include "irllrec/irllrec.h"

#if defined(__has_include)
#if __has_include("lightgcn.h")
#define HAVE_LGCN 1
#endif
#endif

#ifndef HAVE_LGCN
int main(void)
{
    printf("bench_lightgcn: built without examples/lightgcn (IRLLREC_BUILD_EXAMPLES=OFF); skipped\n");
    return 0;
}
#else
#include "lightgcn.h"

static int32_t *g_deg;
static int by_degree_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return g_deg[y] != g_deg[x] ? g_deg[y] - g_deg[x] : x - y;
}

/* BFS over the bipartite graph from a least-connected user, neighbours in
 * ascending degree, labels in visit order, then reversed (Cuthill-McKee,
 * reversed); users and items get separate label ranges. */
static void rcm_order(const irllrec_csr *R, const irllrec_csr *T, int32_t *nu_of, int32_t *ni_of)
{
    int64_t U = R->n_rows, I = R->n_cols, N = U + I, head = 0, tail = 0, cu = 0, ci = 0;
    int32_t *q = (int32_t *)malloc((size_t)N * sizeof *q), *nb = (int32_t *)malloc((size_t)N * 4);
    char *seen = (char *)calloc((size_t)N, 1);
    for (int64_t start = 0; start < N; start++) {
        if (seen[start]) continue;
        seen[start] = 1;
        q[tail++] = (int32_t)start;
        while (head < tail) {
            int64_t v = q[head++], k = 0;
            const irllrec_csr *g = v < U ? R : T;
            int64_t r = v < U ? v : v - U, off = v < U ? U : 0;
            for (int64_t e = g->indptr[r]; e < g->indptr[r + 1]; e++)
                if (!seen[off + g->indices[e]]) nb[k++] = (int32_t)(off + g->indices[e]), seen[off + g->indices[e]] = 1;
            qsort(nb, (size_t)k, sizeof *nb, by_degree_desc);
            for (int64_t a = k - 1; a >= 0; a--) q[tail++] = nb[a]; /* ascending degree */
        }
    }
    for (int64_t k = N - 1; k >= 0; k--) { /* reversed */
        if (q[k] < U) nu_of[q[k]] = (int32_t)cu++;
        else ni_of[q[k] - U] = (int32_t)ci++;
    }
    free(q), free(nb), free(seen);
}

/* Relabel R by order ("degree" or "rcm") into out (arrays malloc'ed). */
static int relabel(const irllrec_csr *R, const char *order, irllrec_csr *out)
{
    int64_t U = R->n_rows, I = R->n_cols, N = U + I;
    int32_t *nu_of = (int32_t *)malloc((size_t)U * 4), *ni_of = (int32_t *)malloc((size_t)I * 4);
    int32_t *ids = (int32_t *)malloc((size_t)N * 4), *old_u = (int32_t *)malloc((size_t)U * 4);
    int64_t *tp = (int64_t *)calloc((size_t)I + 1, 8), *ip = (int64_t *)malloc((size_t)(U + 1) * 8);
    int32_t *ti = (int32_t *)malloc((size_t)R->nnz * 4), *ix = (int32_t *)malloc((size_t)R->nnz * 4);
    irllrec_csr T = {I, U, R->nnz, tp, ti};
    g_deg = (int32_t *)malloc((size_t)N * 4);
    for (int64_t u = 0; u < U; u++) g_deg[u] = (int32_t)(R->indptr[u + 1] - R->indptr[u]);
    for (int64_t e = 0; e < R->nnz; e++) tp[R->indices[e] + 1]++;
    for (int64_t i = 0; i < I; i++) g_deg[U + i] = (int32_t)tp[i + 1], tp[i + 1] += tp[i];
    {
        int64_t *fill = (int64_t *)malloc((size_t)I * 8);
        memcpy(fill, tp, (size_t)I * 8);
        for (int64_t u = 0; u < U; u++)
            for (int64_t e = R->indptr[u]; e < R->indptr[u + 1]; e++) ti[fill[R->indices[e]]++] = (int32_t)u;
        free(fill);
    }
    if (strcmp(order, "degree") == 0) {
        for (int64_t v = 0; v < N; v++) ids[v] = (int32_t)v;
        qsort(ids, (size_t)U, sizeof *ids, by_degree_desc);
        qsort(ids + U, (size_t)I, sizeof *ids, by_degree_desc);
        for (int64_t k = 0; k < U; k++) nu_of[ids[k]] = (int32_t)k;
        for (int64_t k = 0; k < I; k++) ni_of[ids[U + k] - U] = (int32_t)k;
    } else {
        rcm_order(R, &T, nu_of, ni_of);
    }
    for (int64_t u = 0; u < U; u++) old_u[nu_of[u]] = (int32_t)u;
    ip[0] = 0;
    for (int64_t nu = 0; nu < U; nu++) {
        int64_t u = old_u[nu], k = ip[nu];
        for (int64_t e = R->indptr[u]; e < R->indptr[u + 1]; e++) ix[k++] = ni_of[R->indices[e]];
        for (int64_t a = ip[nu] + 1; a < k; a++) /* insertion sort: rows are short */
            for (int64_t b = a; b > ip[nu] && ix[b - 1] > ix[b]; b--) {
                int32_t t = ix[b]; ix[b] = ix[b - 1]; ix[b - 1] = t;
            }
        ip[nu + 1] = k;
    }
    out->n_rows = U, out->n_cols = I, out->nnz = R->nnz, out->indptr = ip, out->indices = ix;
    free(nu_of), free(ni_of), free(ids), free(old_u), free(tp), free(ti), free(g_deg);
    return 0;
}

int main(int argc, char **argv)
{
    int32_t nt = argc > 1 ? atoi(argv[1]) : 2, n_ep = argc > 2 ? atoi(argv[2]) : 7;
    const char *dir = argc > 3 ? argv[3] : IRLLREC_SHARED_DATA "/amazon-book";
    const char *order = argc > 4 ? argv[4] : "natural";
    irllrec_csr relab = {0, 0, 0, NULL, NULL};
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = NULL;
    irllrec_x_sampler *sp = NULL;
    irllrec_evaluator *ev = NULL;
    lgcn *m = NULL;
    lgcn_opt *opt = NULL;
    lgcn_spec ls;
    irllrec_csr train, val;
    int32_t *u, *p, *q;
    int64_t n;
    double *ep, *cpu, ph[6] = {0}, evt[3];
    const int32_t ks[3] = {5, 10, 20};
    const int32_t batch = 4096;
    char err[256] = "";
    if (nt < 1 || n_ep < 1) {
        fprintf(stderr, "usage: bench_lightgcn [threads] [epochs] [data dir]\n");
        return 2;
    }
    bu_print_cpu();
    bu_print_blas();
    bu_print_isa();
    printf("code paths: row kernels lightgcn_kern.c fwd32/bwd32 (d = 32, target_clones "
           "avx512f/avx2/default: the widest the cpu supports), pool with barriers "
           "(3 jobs per batch)\n");
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) return 1;
    if (irllrec_x_dataset_load(ctx, dir, &ds) != IRLLREC_OK) {
        printf("bench_lightgcn: %s; skipped\n", irllrec_ctx_errmsg(ctx));
        irllrec_ctx_free(ctx);
        return 0;
    }
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_VAL, &val);
    if (strcmp(order, "degree") == 0 || strcmp(order, "rcm") == 0) {
        relabel(&train, order, &relab);
        train = relab; /* timing only: validation ids are not relabelled, ignore its metrics */
    }
    printf("node order: %s\n", order);
    lgcn_spec_init(&ls);
    ls.n_users = irllrec_x_dataset_n_users(ds);
    ls.n_items = irllrec_x_dataset_n_items(ds);
    ls.n_threads = nt;
    if (lgcn_create(&ls, &train, &m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(m, 1e-3, &opt, err, sizeof err) != IRLLREC_OK ||
        irllrec_x_sampler_create(ctx, ds, 2023, &sp) != IRLLREC_OK ||
        irllrec_evaluator_create(ctx, ls.n_items, ks, 3, &ev) != IRLLREC_OK) {
        fprintf(stderr, "bench_lightgcn: %s %s\n", err, irllrec_ctx_errmsg(ctx));
        return 1;
    }
    n = irllrec_x_sampler_epoch_size(sp);
    u = (int32_t *)malloc((size_t)n * sizeof *u);
    p = (int32_t *)malloc((size_t)n * sizeof *p);
    q = (int32_t *)malloc((size_t)n * sizeof *q);
    ep = (double *)malloc((size_t)(n_ep + 1) * sizeof *ep);
    cpu = (double *)malloc((size_t)(n_ep + 1) * sizeof *cpu);
    printf("data %s: %lld users, %lld items, %lld train pairs, %lld directed edges; "
           "d %d, L %d, batch %d, keep %.2f, threads %d\n",
           dir, (long long)ls.n_users, (long long)ls.n_items, (long long)n,
           (long long)lgcn_n_edges(m), ls.dim, ls.n_layers, batch, ls.keep_rate, nt);
    /* Epoch 0 is a warm-up (page faults, thread start); the rest are timed. */
    for (int e = 0; e <= n_ep; e++) {
        double t0 = bu_now(), c0 = bu_cpu_now();
        irllrec_x_sampler_epoch(sp, u, p, q, n);
        for (int64_t s = 0; s < n; s += batch) {
            int64_t b = n - s < batch ? n - s : batch;
            if (lgcn_train_step(m, opt, u + s, p + s, q + s, b, NULL, NULL) != IRLLREC_OK) return 1;
        }
        ep[e] = bu_now() - t0;
        cpu[e] = bu_cpu_now() - c0;
    }
    /* Phase breakdown over one more epoch, the same steps called one by one. */
    {
        double t = bu_now(), t1;
        float *df = lgcn_dfinal_buffer(m);
        irllrec_x_sampler_epoch(sp, u, p, q, n);
        t1 = bu_now();
        ph[0] = t1 - t;
        for (int64_t s = 0; s < n; s += batch) {
            int64_t b = n - s < batch ? n - s : batch;
            t = bu_now();
            lgcn_forward(m, LGCN_TRAIN);
            t1 = bu_now(); ph[1] += t1 - t; t = t1;
            lgcn_bpr(m, u + s, p + s, q + s, b, df);
            t1 = bu_now(); ph[2] += t1 - t; t = t1;
            lgcn_backward_reg(m, df, NULL);
            t1 = bu_now(); ph[3] += t1 - t; t = t1;
            memset(df, 0, (size_t)lgcn_n_nodes(m) * (size_t)lgcn_dim(m) * sizeof(float));
            t1 = bu_now(); ph[4] += t1 - t; t = t1;
            lgcn_opt_step(opt);
            t1 = bu_now(); ph[5] += t1 - t;
        }
    }
    for (int k = 0; k < 3; k++) {
        double rec[3], nd[3], t0 = bu_now();
        int64_t ne;
        float *fin = (float *)lgcn_final(m);
        lgcn_forward(m, LGCN_EVAL);
        irllrec_evaluator_run(ev, irllrec_mat_dense(fin, ls.n_users, ls.dim),
                              irllrec_mat_dense(fin + ls.n_users * ls.dim, ls.n_items, ls.dim),
                              &train, &val, rec, nd, &ne);
        evt[k] = bu_now() - t0;
    }
    printf("epoch seconds:");
    for (int e = 1; e <= n_ep; e++) printf(" %.3f", ep[e]);
    printf("\nmedian epoch: %.3f s over %d epochs (warm-up %.3f s), %d threads; "
           "median CPU time per epoch %.3f s (all threads)\n",
           bu_median(ep + 1, (size_t)n_ep), n_ep, ep[0], nt, bu_median(cpu + 1, (size_t)n_ep));
    {
        double la[3] = {0, 0, 0};
        FILE *f = fopen("/proc/loadavg", "r");
        if (f != NULL) {
            if (fscanf(f, "%lf %lf %lf", &la[0], &la[1], &la[2]) != 3) la[0] = -1;
            fclose(f);
        }
        printf("load average at the end: %.2f %.2f %.2f\n", la[0], la[1], la[2]);
    }
    printf("phases of one epoch: sample %.3f, forward %.3f, bpr %.3f, backward+reg %.3f, "
           "clear dE_final %.3f, adam %.3f s\n",
           ph[0], ph[1], ph[2], ph[3], ph[4], ph[5]);
    printf("validation pass (forward + full ranking): median %.3f s\n", bu_median(evt, 3));
    printf("peak RSS: %.1f MiB (before the roofs)\n", bu_peak_rss_mib());
    {
        /* Bytes of 128-byte rows the propagation gathers in one epoch: L layers
         * forward and L backward over the edges a step keeps. */
        bu_roofs rf;
        double nb = (double)((n + batch - 1) / batch), rows = 2.0 * ls.n_layers * (double)lgcn_edges_used(m);
        double gb = nb * rows * ls.dim * sizeof(float) / 1e9, prop = ph[1] + ph[3];
        bu_measure_roofs(nt, &rf);
        bu_print_roofs(&rf);
        printf("propagation (forward + backward phases): %.2f GB of gathered rows in %.3f s = "
               "%.1f GB/s, %.2f of the gather roof; whole epoch at the gather roof would take "
               "%.3f s (median epoch %.3f s = %.2f of that bound)\n",
               gb, prop, gb / prop, bu_fraction(gb / prop, rf.gather), gb / rf.gather,
               bu_median(ep + 1, (size_t)n_ep), bu_fraction(gb / rf.gather, bu_median(ep + 1, (size_t)n_ep)));
    }
    free(u);
    free(p);
    free(q);
    free(ep);
    free(cpu);
    free((void *)relab.indptr);
    free((void *)relab.indices);
    irllrec_evaluator_free(ev);
    irllrec_x_sampler_free(sp);
    lgcn_opt_free(opt);
    lgcn_free(m);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    return 0;
}
#endif
