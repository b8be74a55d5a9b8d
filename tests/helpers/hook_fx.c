/* The hook suites' fixture (test_hook.c, test_hook_run.c): a small hook on
 * U=4 users and I=5 items with a graph, text and a batch, and one call of it
 * in each of the three modes. */
#include "helpers/hook_fx.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "helpers/hookio.h"

void hk_fill(irllrec__rng *r, float *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * irllrec__rng_normal(r));
}

/* U=4, I=5, d=3, K=3, B=3; L, text dims and preset as given. */
void hk_make(hk *k, int L, int dp, int dt, int preset, uint64_t seed)
{
    memset(k, 0, sizeof *k);
    k->U = 4;
    k->I = 5;
    k->N = 9;
    k->d = 3;
    k->L = L;
    k->B = 3;
    k->dp = dp;
    k->dt = dt;
    k->ctx = tu_ctx_counting(&k->st);
    ck_assert_ptr_nonnull(k->ctx);
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.preset = preset;
    s.n_users = k->U;
    s.n_items = k->I;
    s.dim = (int32_t)k->d;
    s.n_intents = 3;
    s.n_layers = L;
    s.max_batch = MAXB;
    s.profile_dim = dp;
    s.intent_dim = dt;
    s.seed = seed;
    ck_assert_int_eq(irllrec_hook_create(k->ctx, &s, &k->h), IRLLREC_OK);
    irllrec__rng r;
    irllrec__rng_seed(&r, 77, 1);  /* inputs do not depend on the hook's seed */
    const int64_t nd = k->N * k->d;
    k->ef = malloc((size_t)nd * 4);
    k->gf = calloc((size_t)nd, 4);
    k->sgf = calloc((size_t)nd, 4);
    hk_fill(&r, k->ef, nd, 1.0);
    if (L > 0) {
        k->lay = malloc((size_t)(L * nd) * 4);
        k->gl = calloc((size_t)(L * nd), 4);
        k->sgl = calloc((size_t)(L * nd), 4);
        hk_fill(&r, k->lay, L * nd, 1.0);
        /* bipartite pattern, both directions; user 0 isolated */
        int adj[9][9] = {{0}};
        for (int64_t u = 1; u < k->U; u++)
            for (int64_t i = 0; i < k->I; i++)
                if (irllrec__rng_uniform(&r) < 0.5 || i == u) adj[u][k->U + i] = adj[k->U + i][u] = 1;
        k->ip = malloc((size_t)(k->N + 1) * sizeof(int64_t));
        k->ix = malloc(81 * sizeof(int32_t));
        k->ip[0] = 0;
        for (int64_t a = 0; a < k->N; a++) {
            k->ip[a + 1] = k->ip[a];
            for (int64_t b = 0; b < k->N; b++)
                if (adj[a][b]) k->ix[k->ip[a + 1]++] = (int32_t)b;
        }
        k->nnz = k->ip[k->N];
        irllrec_csr g = {k->N, k->N, k->nnz, k->ip, k->ix};
        ck_assert_int_eq(irllrec_hook_set_graph(k->h, &g), IRLLREC_OK);
    }
    const int dims[4] = {dp, dp, dt, dt};
    for (int w = 0; w < 4; w++) {
        if (dims[w] == 0) continue;
        const int64_t rows = (w % 2 == 0) ? k->U : k->I;
        float *m = malloc((size_t)(rows * dims[w]) * 4);
        hk_fill(&r, m, rows * dims[w], 1.0);
        ck_assert_int_eq(irllrec_hook_set_text(k->h, w, irllrec_cmat_dense(m, rows, dims[w])),
                         IRLLREC_OK);
        free(m);
    }
    const int32_t u[3] = {1, 3, 1}, p[3] = {0, 4, 2}, n[3] = {3, 1, 2};
    memcpy(k->users, u, sizeof u);
    memcpy(k->pos, p, sizeof p);
    memcpy(k->neg, n, sizeof n);
}

void hk_free(hk *k)
{
    irllrec_hook_free(k->h);
    irllrec_ctx_free(k->ctx);
    free(k->ef); free(k->gf); free(k->sgf); free(k->lay); free(k->gl); free(k->sgl);
    free(k->ip); free(k->ix);
}

/* Strong weights so that every term moves the total. */
void hk_strong(hk *k)
{
    const irllrec_hook_param p[] = {IRLLREC_HOOK_W_KD, IRLLREC_HOOK_W_PAIR, IRLLREC_HOOK_W_TRAN,
                                    IRLLREC_HOOK_W_ITM, IRLLREC_HOOK_TAU_KD,
                                    IRLLREC_HOOK_TAU_PAIR, IRLLREC_HOOK_REG};
    const double v[] = {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1e-3};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        ck_assert_int_eq(irllrec_hook_set_param(k->h, p[i], v[i]), IRLLREC_OK);
}


irllrec_status hk_run_into(hk *k, int mode, float *gf, float *gl, irllrec_hook_losses *lv)
{
    tu_hookio io;
    tu_hookio_init(&io, k->U, k->I, k->d, k->ef, gf, (int)k->L, k->lay, gl);
    const irllrec_hook_batch batch = {k->B, k->users, k->pos, k->neg};
    lv->struct_size = sizeof *lv;
    switch (mode) {
    case HK_LOSS: return irllrec_hook_compute(k->h, &batch, &io.in, NULL, IRLLREC_HOOK_LOSS_ONLY, lv);
    case HK_GRADS: return irllrec_hook_compute(k->h, &batch, &io.in, &io.grads, 0, lv);
    default: return irllrec_hook_step(k->h, &batch, &io.in, &io.grads, lv);
    }
}

irllrec_status hk_step(hk *k, irllrec_hook_losses *lv)
{
    return hk_run_into(k, HK_STEP, k->gf, k->gl, lv);
}

/* Block i of a hook (v2: one irllrec_hook_get_block call per block). */
irllrec_hook_block hk_block(irllrec_hook *h, int32_t i)
{
    irllrec_hook_block b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
    return b;
}

/* Every block of a hook, trainable first, then the teacher; returns the count. */
int hk_blocks(irllrec_hook *h, irllrec_hook_block *out, int cap)
{
    const int32_t n = irllrec_hook_block_count(h);
    ck_assert_int_ge(n, 0);
    ck_assert_int_le(n, cap);
    for (int32_t i = 0; i < n; i++) out[i] = hk_block(h, i);
    return (int)n;
}
