/* hook_bench: time irllrec_hook_step at Amazon-book shapes (U 11000, I 9332,
 * d 32, K 128, L 3, B 4096, 120,464 interactions) with a random bipartite
 * graph and RANDOM STAND-IN text embeddings: TIMING ONLY, the losses mean
 * nothing. Prints the per-component breakdown of every step, the median,
 * the dense-product backend and the peak RSS.
 *
 *   hook_bench [intent_dim=1536] [profile_dim=1536] [steps=5] [tran_mode=0 exact|1 sampled]
 *              [ctx_threads=2]
 *
 * BLAS threads are the host's business: set OPENBLAS_NUM_THREADS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <irllrec/irllrec.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

enum { U = 11000, I = 9332, N = U + I, D = 32, K = 128, L = 3, B = 4096, NNZ = 120464 };

static uint64_t rs = 88172645463325252ull;
static uint64_t xr(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}
static float *rnd(int64_t n)
{
    float *m = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) m[i] = (float)(xr() >> 40) / (float)(1 << 24) - 0.5f;
    return m;
}
static int cmpd(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const int dt = argc > 1 ? atoi(argv[1]) : 1536, dp = argc > 2 ? atoi(argv[2]) : 1536;
    const int steps = argc > 3 ? atoi(argv[3]) : 5, mode = argc > 4 ? atoi(argv[4]) : 0;
    const int nt = argc > 5 ? atoi(argv[5]) : 2;
    irllrec_ctx *ctx = NULL;
    irllrec_hook *h = NULL;
    irllrec_hook_spec s;
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    if (steps < 1 || steps > 100 || irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) return 1;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = K;
    s.n_layers = L;
    s.max_batch = B;
    s.profile_dim = dp;
    s.intent_dim = dt;
    if (irllrec_hook_create(ctx, &s, &h) != IRLLREC_OK ||
        irllrec_hook_set_param(h, IRLLREC_HOOK_TRAN_MODE, mode) != IRLLREC_OK) {
        fprintf(stderr, "%s\n", irllrec_ctx_errmsg(ctx));
        return 1;
    }
    const int32_t rows[4] = {U, I, U, I}, cols[4] = {dp, dp, dt, dt};
    for (int w = 0; w < 4; w++) {
        if (cols[w] == 0) continue;
        float *t = rnd((int64_t)rows[w] * cols[w]);
        if (irllrec_hook_set_text(h, w, irllrec_cmat_dense(t, rows[w], cols[w])) != IRLLREC_OK) {
            fprintf(stderr, "%s\n", irllrec_ctx_errmsg(ctx));
            return 1;
        }
        free(t);
    }
    /* random bipartite pattern, both directions */
    int64_t *ptr = calloc(N + 1, sizeof(int64_t)), *fill = malloc(N * sizeof(int64_t));
    int32_t *eu = malloc(NNZ * sizeof(int32_t)), *ei = malloc(NNZ * sizeof(int32_t));
    int32_t *idx = malloc(2 * NNZ * sizeof(int32_t));
    for (int e = 0; e < NNZ; e++) {
        eu[e] = (int32_t)(xr() % U);
        ei[e] = (int32_t)(xr() % I);
        ptr[eu[e] + 1]++;
        ptr[U + ei[e] + 1]++;
    }
    for (int i = 0; i < N; i++) ptr[i + 1] += ptr[i];
    memcpy(fill, ptr, N * sizeof(int64_t));
    for (int e = 0; e < NNZ; e++) {
        idx[fill[eu[e]]++] = U + ei[e];
        idx[fill[U + ei[e]]++] = eu[e];
    }
    irllrec_csr g = {N, N, 2 * NNZ, ptr, idx};
    if (irllrec_hook_set_graph(h, &g) != IRLLREC_OK) return 1;
    float *ef = rnd((int64_t)N * D), *lay = rnd((int64_t)L * N * D);
    float *gf = calloc((size_t)N * D, sizeof(float)), *gl = calloc((size_t)L * N * D, sizeof(float));
    irllrec_cmat layers[L];
    irllrec_mat lg[L];
    for (int l = 0; l < L; l++) {
        layers[l] = irllrec_cmat_dense(lay + (int64_t)l * N * D, N, D);
        lg[l] = irllrec_mat_dense(gl + (int64_t)l * N * D, N, D);
    }
    int32_t *us = malloc(B * sizeof(int32_t)), *ps = malloc(B * sizeof(int32_t));
    int32_t *ns = malloc(B * sizeof(int32_t));
    double times[100];
    printf("hook_bench: random stand-in embeddings (timing only), intent %d, profile %d, "
           "translation %s, ctx threads %d, gemm %s\n", dt, dp, mode ? "sampled" : "exact", nt,
           irllrec_gemm_backend());
    for (int it = 0; it < steps; it++) {
        for (int b = 0; b < B; b++) {
            us[b] = (int32_t)(xr() % U);
            ps[b] = (int32_t)(xr() % I);
            ns[b] = (int32_t)(xr() % I);
        }
        irllrec_hook_losses lv = {.struct_size = sizeof lv};
        irllrec_hook_timings t = {.struct_size = sizeof t};
        const irllrec_hook_batch batch = {B, us, ps, ns};
        const irllrec_hook_inputs in = {irllrec_cmat_dense(ef, U, D),
                                        irllrec_cmat_dense(ef + (int64_t)U * D, I, D), layers};
        const irllrec_hook_grads grads = {sizeof grads, IRLLREC_HOOK_GRAD_DENSE,
                                          irllrec_mat_dense(gf, U, D),
                                          irllrec_mat_dense(gf + (int64_t)U * D, I, D), lg};
        if (irllrec_hook_step(h, &batch, &in, &grads, &lv) != IRLLREC_OK) {
            fprintf(stderr, "%s\n", irllrec_ctx_errmsg(ctx));
            return 1;
        }
        irllrec_hook_last_timings(h, &t);
        times[it] = t.total;
        printf("step %d %.3f s: profile_mlp %.3f intent_mlp %.3f teacher %.3f tower %.3f kd %.3f "
               "pair %.3f tran %.3f itm %.3f other %.3f\n", it, t.total, t.profile_mlp,
               t.intent_mlp, t.teacher, t.tower, t.kd, t.pair, t.tran, t.itm,
               t.validate + t.commit);
    }
    qsort(times, (size_t)steps, sizeof times[0], cmpd);
    printf("median %.3f s over %d steps\n", times[steps / 2], steps);
#if defined(__unix__) || defined(__APPLE__)
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %.0f MiB (inputs included)\n", (double)ru.ru_maxrss / 1024.0);
#endif
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    free(ptr); free(fill); free(eu); free(ei); free(idx); free(ef); free(lay); free(gf); free(gl);
    free(us); free(ps); free(ns);
    return 0;
}
