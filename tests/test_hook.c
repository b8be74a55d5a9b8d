/* The hook end to end: finite differences w.r.t. the host's embeddings,
 * terms switching off, transactional failure, no allocation in a step,
 * argument checking, presets, learning, determinism. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"
#include "helpers/gradcheck.h"
#include "align/engine.h"
#include "ops/ops.h"

#define MAXB 8

typedef struct hk {
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int64_t U, I, N, d, L, B, dp, dt;
    int32_t users[MAXB], pos[MAXB], neg[MAXB];
    float *ef, *lay, *gf, *gl;      /* ef, gf: N x d (users then items); lay, gl: L x N x d */
    float *sgf, *sgl;               /* scratch grads for loss-only evaluations */
    int64_t *ip;
    int32_t *ix;
    int64_t nnz;
    uint64_t sign_prev, sign_last;
} hk;

static void fill(irllrec__rng *r, float *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = (float)(scale * irllrec__rng_normal(r));
}

/* U=4, I=5, d=3, K=3, B=3; L, text dims and preset as given. */
static void hk_make(hk *k, int L, int dp, int dt, int preset, uint64_t seed)
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
    fill(&r, k->ef, nd, 1.0);
    if (L > 0) {
        k->lay = malloc((size_t)(L * nd) * 4);
        k->gl = calloc((size_t)(L * nd), 4);
        k->sgl = calloc((size_t)(L * nd), 4);
        fill(&r, k->lay, L * nd, 1.0);
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
        fill(&r, m, rows * dims[w], 1.0);
        ck_assert_int_eq(irllrec_hook_set_text(k->h, w, irllrec_cmat_dense(m, rows, dims[w])),
                         IRLLREC_OK);
        free(m);
    }
    const int32_t u[3] = {1, 3, 1}, p[3] = {0, 4, 2}, n[3] = {3, 1, 2};
    memcpy(k->users, u, sizeof u);
    memcpy(k->pos, p, sizeof p);
    memcpy(k->neg, n, sizeof n);
}

static void hk_free(hk *k)
{
    irllrec_hook_free(k->h);
    irllrec_ctx_free(k->ctx);
    free(k->ef); free(k->gf); free(k->sgf); free(k->lay); free(k->gl); free(k->sgl);
    free(k->ip); free(k->ix);
}

/* Strong weights so that every term moves the total. */
static void hk_strong(hk *k)
{
    const irllrec_hook_param p[] = {IRLLREC_HOOK_W_KD, IRLLREC_HOOK_W_PAIR, IRLLREC_HOOK_W_TRAN,
                                    IRLLREC_HOOK_W_ITM, IRLLREC_HOOK_TAU_KD,
                                    IRLLREC_HOOK_TAU_PAIR, IRLLREC_HOOK_REG};
    const double v[] = {1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 1e-3};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        ck_assert_int_eq(irllrec_hook_set_param(k->h, p[i], v[i]), IRLLREC_OK);
}

/* What one call does (the v1 internal run's flags, in v2 terms). */
enum {
    HK_LOSS = 0,  /* irllrec_hook_compute with IRLLREC_HOOK_LOSS_ONLY: no gradient out */
    HK_GRADS = 1, /* irllrec_hook_compute, flags 0: gradients added, no apply */
    HK_STEP = 2   /* irllrec_hook_step: compute + apply */
};

static irllrec_status hk_run_into(hk *k, int mode, float *gf, float *gl, irllrec_hook_losses *lv)
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

static irllrec_status hk_step(hk *k, irllrec_hook_losses *lv)
{
    return hk_run_into(k, HK_STEP, k->gf, k->gl, lv);
}

/* Block i of a hook (v2: one irllrec_hook_get_block call per block). */
static irllrec_hook_block hk_block(irllrec_hook *h, int32_t i)
{
    irllrec_hook_block b;
    memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
    return b;
}

/* Every block of a hook, trainable first, then the teacher; returns the count. */
static int hk_blocks(irllrec_hook *h, irllrec_hook_block *out, int cap)
{
    const int32_t n = irllrec_hook_block_count(h);
    ck_assert_int_ge(n, 0);
    ck_assert_int_le(n, cap);
    for (int32_t i = 0; i < n; i++) out[i] = hk_block(h, i);
    return (int)n;
}

static double hk_loss(void *ud)
{
    hk *k = (hk *)ud;
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(k, HK_LOSS, k->sgf, k->sgl, &lv), IRLLREC_OK);
    k->sign_prev = k->sign_last;
    k->sign_last = irllrec__hook_preact_signs(k->h);
    return lv.total;
}

/* gradcheck skip predicate: a LeakyReLU pre-activation changed sign between
 * the x+h and x-h evaluations, so a kink lies inside the central difference. */
static int hk_kink(void *ud, int block, int64_t index)
{
    hk *k = (hk *)ud;
    (void)block;
    (void)index;
    return k->sign_prev != k->sign_last;
}

static void fd_check(hk *k)
{
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(k, HK_GRADS, k->gf, k->gl, &lv), IRLLREC_OK);
    ck_assert(lv.kd > 0.0 || k->dp == 0);
    gc_block blocks[2] = {{"E_final", k->ef, k->gf, k->N * k->d},
                          {"E(l)", k->lay, k->gl, k->L * k->N * k->d}};
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 1e-4;
    gc_check(hk_loss, k, blocks, k->L > 0 ? 2 : 1, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 20);
    /* the check must not be vacuous: some gradient is large */
    double mx = 0.0;
    for (int64_t i = 0; i < k->N * k->d; i++) mx = fmax(mx, fabs(k->gf[i]));
    ck_assert(mx > 1e-2);
    if (k->L > 0) {
        mx = 0.0;
        for (int64_t i = 0; i < k->L * k->N * k->d; i++) mx = fmax(mx, fabs(k->gl[i]));
        ck_assert(mx > 1e-2);
    }
}

START_TEST(fd_host_embeddings_graph)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 1);
    hk_strong(&k);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_released_preset)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 1);
    hk_strong(&k);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_graph_free)
{
    hk k;
    hk_make(&k, 0, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 2);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0), IRLLREC_OK);
    irllrec_hook_losses lv;
    ck_assert_int_eq(hk_run_into(&k, HK_LOSS, k.sgf, k.sgl, &lv), IRLLREC_OK);
    ck_assert(lv.tran > 0.0 && lv.itm > 0.0 && lv.pair > 0.0);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_host_embeddings_sampled_translation)
{
    hk k;
    hk_make(&k, 1, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 3);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_SAMPLES, 5), IRLLREC_OK);
    fd_check(&k);
    hk_free(&k);
}
END_TEST

/* Finite differences w.r.t. the hook's own parameters (text MLPs and
 * prototypes). The analytic gradients are copied out first: the loss closure
 * re-runs the step, which rewrites the hook's gradient buffers. */
static void fd_params(hk *k)
{
    irllrec_hook_losses lv;
    irllrec_hook_block p[32];
    /* With 4 hidden units a text row has all of them negative 1 time in 16,
     * and its output then has norm ~0.01, where n(v) is so curved that
     * h = 1e-3 truncation dominates (measured: the error shrinks as h does).
     * Output biases of 0.7 keep every row's norm O(1). */
    /* The teacher's EMA runs before its forward, from the student being
     * perturbed, so a finite difference of the loss also sees the stop-
     * gradient path through the teacher ((1 - m) dL/dθ_m: up to 1e-4 here,
     * e.g. int.w2[9] num -1.83e-3 vs ana -1.73e-3). A frozen teacher (m = 1)
     * leaves only the gradient the hook computes. */
    ck_assert_int_eq(irllrec_hook_set_param(k->h, IRLLREC_HOOK_MOMENTUM, 1.0), IRLLREC_OK);
    int nb = hk_blocks(k->h, p, 32);
    for (int i = 0; i < nb; i++)
        if (p[i].grad != NULL && strstr(p[i].name, ".b2") != NULL)
            for (int64_t j = 0; j < p[i].rows * p[i].cols; j++) p[i].data[j] = 0.7f;
    /* a gradient compute (into scratch host buffers) fills the blocks' grads */
    ck_assert_int_eq(hk_run_into(k, HK_GRADS, k->sgf, k->sgl, &lv), IRLLREC_OK);
    nb = hk_blocks(k->h, p, 32);
    gc_block blocks[32];
    float *copies[32];
    int n = 0;
    for (int i = 0; i < nb; i++) {
        if (p[i].grad == NULL) continue;  /* teacher */
        ck_assert(p[i].trainable);
        const int64_t cnt = p[i].rows * p[i].cols;
        copies[n] = malloc((size_t)cnt * 4);
        memcpy(copies[n], p[i].grad, (size_t)cnt * 4);
        blocks[n] = (gc_block){p[i].name, p[i].data, copies[n], cnt};
        n++;
    }
    ck_assert_int_gt(n, 0);
    gc_opts o;
    gc_result res;
    gc_opts_default(&o);
    o.abs_floor = 1e-4;
    o.skip = hk_kink;
    o.skip_ud = k;
    gc_check(hk_loss, k, blocks, n, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_gt(res.n_checked, 10 * res.n_skipped);
    for (int i = 0; i < n; i++) free(copies[i]);
}

START_TEST(fd_hook_parameters_batch_rows)
{
    /* L_tran and ITM off: the intent tower runs on all users + the batch's
     * distinct items (the dedup path), as the profile tower always does. */
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 12);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_TRAN, 0.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_ITM, 0.0), IRLLREC_OK);
    fd_check(&k);
    fd_params(&k);
    hk_free(&k);
}
END_TEST

START_TEST(fd_hook_parameters_all_rows)
{
    hk k;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 13);
    hk_strong(&k);
    fd_params(&k);
    hk_free(&k);
}
END_TEST

START_TEST(terms_switch_off_without_text)
{
    irllrec_hook_losses lv;
    hk k;
    /* no text at all: nothing but reg over no parameters */
    hk_make(&k, 2, 0, 0, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd == 0.0 && lv.pair == 0.0 && lv.tran == 0.0 && lv.itm == 0.0 && lv.total == 0.0);
    for (int64_t i = 0; i < k.N * k.d; i++) ck_assert(k.gf[i] == 0.0f);
    hk_free(&k);
    /* profiles only: L_kd and nothing from the intent side */
    hk_make(&k, 2, 5, 0, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd > 0.0 && lv.pair == 0.0 && lv.tran == 0.0 && lv.itm == 0.0);
    ck_assert_double_eq_tol(lv.total, lv.kd + lv.reg, 1e-12);
    for (int64_t i = 0; i < k.L * k.N * k.d; i++) ck_assert(k.gl[i] == 0.0f);
    hk_free(&k);
    /* intents only: no L_kd */
    hk_make(&k, 2, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.kd == 0.0 && lv.pair > 0.0 && lv.tran > 0.0 && lv.itm > 0.0);
    /* weight 0 switches a term off too; graph-free hosts lose tran/ITM by default */
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_PAIR, 0.0), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.pair == 0.0 && lv.tran > 0.0);
    hk_free(&k);
    hk_make(&k, 0, 0, 6, IRLLREC_HOOK_PRESET_PAPER, 4);
    hk_strong(&k);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert(lv.pair > 0.0 && lv.tran == 0.0 && lv.itm == 0.0);
    hk_free(&k);
}
END_TEST

/* Copy of every parameter block (student and teacher), concatenated. */
static float *snapshot(irllrec_hook *h, int64_t *n)
{
    irllrec_hook_block p[32];
    int nb = hk_blocks(h, p, 32);
    int64_t tot = 0;
    for (int i = 0; i < nb; i++) tot += p[i].rows * p[i].cols;
    float *s = malloc((size_t)tot * 4), *o = s;
    for (int i = 0; i < nb; i++) {
        memcpy(o, p[i].data, (size_t)(p[i].rows * p[i].cols) * 4);
        o += p[i].rows * p[i].cols;
    }
    *n = tot;
    return s;
}

START_TEST(failed_step_changes_nothing)
{
    hk k, twin;
    irllrec_hook_losses lv, lt;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 5);
    hk_make(&twin, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 5);
    hk_strong(&k);
    hk_strong(&twin);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&twin, &lt), IRLLREC_OK);
    const int64_t nd = k.N * k.d;
    for (int64_t i = 0; i < nd; i++) k.gf[i] = twin.gf[i] = (float)i;
    int64_t np;
    float *before = snapshot(k.h, &np);
    float *gf0 = malloc((size_t)nd * 4), *gl0 = malloc((size_t)(2 * nd) * 4);
    memcpy(gf0, k.gf, (size_t)nd * 4);
    memcpy(gl0, k.gl, (size_t)(2 * nd) * 4);
    memset(&lv, 0x5a, sizeof lv);
    lv.struct_size = sizeof lv;
    irllrec_hook_losses lv0 = lv;

    /* (1) a non-finite input, caught up front */
    const float keep = k.ef[3];
    k.ef[3] = NAN;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    k.ef[3] = keep;
    k.lay[nd + 5] = INFINITY;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    k.lay[nd + 5] = 0.25f;
    twin.lay[nd + 5] = 0.25f;

    /* (2) finite inputs whose loss overflows: caught after the compute */
    irllrec_hook_block p[32];
    int nb = hk_blocks(k.h, p, 32);
    ck_assert_str_eq(p[0].name, "prf.w1");
    float *w1copy = malloc((size_t)(p[0].rows * p[0].cols) * 4);
    memcpy(w1copy, p[0].data, (size_t)(p[0].rows * p[0].cols) * 4);
    for (int64_t i = 0; i < p[0].rows * p[0].cols; i++) p[0].data[i] = 3e38f;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    ck_assert(strstr(irllrec_ctx_errmsg(k.ctx), "non-finite") != NULL);
    memcpy(p[0].data, w1copy, (size_t)(p[0].rows * p[0].cols) * 4);
    (void)nb;

    int64_t np2;
    float *after = snapshot(k.h, &np2);
    ck_assert_int_eq(np, np2);
    ck_assert(memcmp(before, after, (size_t)np * 4) == 0);
    ck_assert(memcmp(gf0, k.gf, (size_t)nd * 4) == 0);
    ck_assert(memcmp(gl0, k.gl, (size_t)(2 * nd) * 4) == 0);
    ck_assert(memcmp(&lv, &lv0, sizeof lv) == 0);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);
    /* v2: a failed compute leaves nothing for apply to commit */
    ck_assert_int_eq(irllrec_hook_apply(k.h, 0), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);

    /* Adam moments and RNG untouched: the next step matches the twin bit for bit. */
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&twin, &lt), IRLLREC_OK);
    ck_assert(memcmp(&lv, &lt, sizeof lv) == 0);
    ck_assert(memcmp(k.gf, twin.gf, (size_t)nd * 4) == 0);
    float *s1 = snapshot(k.h, &np), *s2 = snapshot(twin.h, &np2);
    ck_assert(memcmp(s1, s2, (size_t)np * 4) == 0);
    free(before); free(after); free(gf0); free(gl0); free(w1copy); free(s1); free(s2);
    hk_free(&k);
    hk_free(&twin);
}
END_TEST

START_TEST(step_allocates_nothing)
{
    hk k;
    irllrec_hook_losses lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 6);
    hk_strong(&k);
    const int64_t n0 = k.st.n_alloc, f0 = k.st.n_free;
    for (int i = 0; i < 3; i++) ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_SAMPLES, 4), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    k.ef[0] = NAN;
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_E_NUMERIC);
    ck_assert_int_eq(k.st.n_alloc, n0);
    ck_assert_int_eq(k.st.n_free, f0);
    hk_free(&k);
    ck_assert_int_eq(k.st.live_bytes, 0);
}
END_TEST

START_TEST(create_fails_cleanly_at_every_allocation)
{
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 4;
    s.n_items = 5;
    s.dim = 3;
    s.n_intents = 3;
    s.n_layers = 2;
    s.max_batch = 4;
    s.profile_dim = 5;
    s.intent_dim = 6;
    int succeeded = 0;
    for (int64_t k = 1; k < 200 && !succeeded; k++) {
        tu_alloc_state st = {0};
        irllrec_ctx *ctx = tu_ctx_counting(&st);
        ck_assert_ptr_nonnull(ctx);
        st.fail_at = st.n_alloc + k;
        irllrec_hook *h = (irllrec_hook *)&st;  /* must be overwritten with NULL on failure */
        irllrec_status rc = irllrec_hook_create(ctx, &s, &h);
        if (rc == IRLLREC_OK) {
            succeeded = 1;
            irllrec_hook_free(h);
        } else {
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            ck_assert_ptr_null(h);
        }
        irllrec_ctx_free(ctx);
        ck_assert_int_eq(st.live_bytes, 0);
    }
    ck_assert(succeeded);
}
END_TEST

START_TEST(bad_arguments)
{
    hk k;
    irllrec_hook_losses lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 7);
    const int64_t U = k.U, I = k.I, N = k.N, d = k.d;
    const irllrec_cmat uf = irllrec_cmat_dense(k.ef, U, d);
    const irllrec_cmat itf = irllrec_cmat_dense(k.ef + U * d, I, d);
    const irllrec_mat ug = irllrec_mat_dense(k.gf, U, d), ig = irllrec_mat_dense(k.gf + U * d, I, d);
    irllrec_cmat lay[2] = {irllrec_cmat_dense(k.lay, N, d), irllrec_cmat_dense(k.lay + N * d, N, d)};
    const irllrec_hook_batch bt = {3, k.users, k.pos, k.neg};
    const irllrec_hook_inputs in = {uf, itf, lay};
    const irllrec_hook_grads gr = {sizeof gr, IRLLREC_HOOK_GRAD_DENSE, ug, ig, NULL};
    irllrec_hook_batch bb;
    irllrec_hook_inputs ib;
    irllrec_hook_grads gb;
    lv.struct_size = sizeof lv;
#define STEP(B_, IN_, G_) irllrec_hook_step(k.h, (B_), (IN_), (G_), &lv)
#define ERRMSG_IS(s_) ck_assert_msg(strcmp(irllrec_ctx_errmsg(k.ctx), (s_)) == 0, "message: %s", \
                                    irllrec_ctx_errmsg(k.ctx))
    ck_assert_int_eq(irllrec_hook_step(NULL, &bt, &in, &gr, &lv), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(STEP(NULL, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch is NULL");
    ck_assert_int_eq(STEP(&bt, NULL, &gr), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(STEP(&bt, &in, NULL), IRLLREC_E_INVALID_ARG);  /* only LOSS_ONLY takes none */
    bb = bt;
    bb.users = NULL;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->users is NULL");
    bb = bt;
    bb.count = 0;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_SHAPE);
    bb.count = MAXB + 1;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_SHAPE);
    ib = in;
    ib.layers = NULL;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_INVALID_ARG);
    ib = in;
    ib.user_final.rows = U - 1;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    ERRMSG_IS("irllrec_hook_compute: in->user_final is 3 x 3, expected 4 x 3");
    ib = in;
    ib.item_final.ld = d - 1;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    gb = gr;
    gb.user_grad.data = NULL;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: grads->user_grad.data is NULL");
    gb = gr;
    gb.user_grad = irllrec_mat_dense(k.ef, U, d);
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);  /* gradient aliases its input */
    gb = gr;
    gb.item_grad = irllrec_mat_dense(k.ef + U * d - 1, I, d);  /* one float into uf */
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    irllrec_mat lgo[2] = {irllrec_mat_dense(k.gl, N, d), irllrec_mat_dense(k.gl, N, d)};
    gb = gr;
    gb.layer_grads = lgo;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);  /* two layer gradients share memory */
    lv.struct_size = 4;
    ck_assert_int_eq(STEP(&bt, &in, &gr), IRLLREC_E_VERSION);
    lv.struct_size = sizeof lv;
    /* v2 arguments: the gradient struct's size and mode, compute's flags */
    gb = gr;
    gb.struct_size = 4;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_VERSION);
    gb = gr;
    gb.mode = 7;
    ck_assert_int_eq(STEP(&bt, &in, &gb), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_compute(k.h, &bt, &in, &gr, 2u, &lv), IRLLREC_E_INVALID_ARG);
    irllrec_cmat lbad[2] = {lay[0], lay[1]};
    lbad[1].cols = d + 1;
    lbad[1].ld = d + 1;
    ib = in;
    ib.layers = lbad;
    ck_assert_int_eq(STEP(&bt, &ib, &gr), IRLLREC_E_SHAPE);
    ERRMSG_IS("irllrec_hook_compute: in->layers[1] is 9 x 4, expected 9 x 3");
    int32_t bu[3] = {0, (int32_t)U, 1}, bi[3] = {0, -1, 2};
    bb = bt;
    bb.users = bu;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->users[1] = 4 not in [0, 4)");
    bb = bt;
    bb.pos = bi;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->pos[1] = -1 not in [0, 5)");
    bi[1] = (int32_t)I;
    bb = bt;
    bb.neg = bi;
    ck_assert_int_eq(STEP(&bb, &in, &gr), IRLLREC_E_INVALID_ARG);
    ERRMSG_IS("irllrec_hook_compute: batch->neg[1] = 5 not in [0, 5)");
    for (int64_t i = 0; i < N * d; i++) ck_assert(k.gf[i] == 0.0f);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 0);
    ck_assert_int_eq(STEP(&bt, &in, &gr), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 1);
#undef STEP
#undef ERRMSG_IS

    /* parameters */
    double lo, hi, v;
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_PAIR, -1.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TAU_KD, 0.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_ITM_ALPHA, NAN),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_TRAN_MODE, 0.5),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, (irllrec_hook_param)399, 1.0),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param(k.h, IRLLREC_HOOK_W_PAIR, &v), IRLLREC_OK);
    ck_assert(v == 2e-2);
    ck_assert_int_eq(irllrec_hook_param_bounds(IRLLREC_HOOK_ITM_ALPHA, &lo, &hi), IRLLREC_OK);
    ck_assert(lo == 0.0 && hi == 1.0);
    ck_assert_int_eq(irllrec_hook_param_bounds((irllrec_hook_param)5, &lo, &hi),
                     IRLLREC_E_INVALID_ARG);

    /* text and graph */
    float t[4 * 6];
    memset(t, 0, sizeof t);
    ck_assert_int_eq(irllrec_hook_set_text(k.h, IRLLREC_HOOK_USER_INTENT,
                                           irllrec_cmat_dense(t, 4, 5)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_hook_set_text(k.h, 4, irllrec_cmat_dense(t, 4, 6)),
                     IRLLREC_E_INVALID_ARG);
    t[7] = NAN;
    ck_assert_int_eq(irllrec_hook_set_text(k.h, IRLLREC_HOOK_USER_INTENT,
                                           irllrec_cmat_dense(t, 4, 6)), IRLLREC_E_NUMERIC);
    int32_t badix[1] = {(int32_t)N};
    int64_t badip[10] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    irllrec_csr g = {N, N, 1, badip, badix};
    ck_assert_int_eq(irllrec_hook_set_graph(k.h, &g), IRLLREC_E_INVALID_ARG);
    g.n_rows = N - 1;
    ck_assert_int_eq(irllrec_hook_set_graph(k.h, &g), IRLLREC_E_SHAPE);
    /* the failed calls left the hook working */
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    hk_free(&k);

    /* state: text announced but not set; graph missing */
    tu_alloc_state st = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 4;
    s.n_items = 5;
    s.dim = 3;
    s.n_layers = 0;
    s.max_batch = 4;
    s.intent_dim = 6;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    float e[9 * 3] = {0}, ge[9 * 3] = {0};
    const int32_t u[1] = {0}, p[1] = {0};
    const irllrec_hook_batch b1 = {1, u, p, p};
    const irllrec_hook_inputs i1 = {irllrec_cmat_dense(e, 4, 3), irllrec_cmat_dense(e + 12, 5, 3),
                                    NULL};
    const irllrec_hook_grads g1 = {sizeof g1, IRLLREC_HOOK_GRAD_DENSE, irllrec_mat_dense(ge, 4, 3),
                                   irllrec_mat_dense(ge + 12, 5, 3), NULL};
    ck_assert_int_eq(irllrec_hook_step(h, &b1, &i1, &g1, NULL), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_set_text(h, IRLLREC_HOOK_USER_PROFILE,
                                           irllrec_cmat_dense(t, 4, 6)), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_set_graph(h, &g), IRLLREC_E_STATE);
    irllrec_hook_free(h);
    /* spec: bad values and an unknown non-zero tail */
    s.dim = 0;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(h);
    unsigned char big[sizeof s + 8];
    s.dim = 3;
    memset(big, 0, sizeof big);
    memcpy(big, &s, sizeof s);
    uint32_t bs = (uint32_t)sizeof big;
    memcpy(big, &bs, 4);
    big[sizeof s + 3] = 1;
    ck_assert_int_eq(irllrec_hook_create(ctx, (const irllrec_hook_spec *)(void *)big, &h),
                     IRLLREC_E_VERSION);
    big[sizeof s + 3] = 0;
    ck_assert_int_eq(irllrec_hook_create(ctx, (const irllrec_hook_spec *)(void *)big, &h),
                     IRLLREC_OK);
    irllrec_hook_free(h);
    irllrec_hook_free(NULL);
    ck_assert_int_eq(irllrec_hook_steps(NULL), -1);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
}
END_TEST

START_TEST(presets_differ_exactly_where_documented)
{
    hk a, b;
    hk_make(&a, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 8);
    hk_make(&b, 2, 5, 6, IRLLREC_HOOK_PRESET_RELEASED, 8);
    for (int p = IRLLREC_HOOK_W_KD; p <= IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH; p++) {
        double va, vb;
        ck_assert_int_eq(irllrec_hook_get_param(a.h, (irllrec_hook_param)p, &va), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(b.h, (irllrec_hook_param)p, &vb), IRLLREC_OK);
        switch (p) {
        case IRLLREC_HOOK_W_TRAN: ck_assert(va == 5e-4 && vb == 1e-7); break;
        case IRLLREC_HOOK_W_ITM: ck_assert(va == 1e-4 && vb == 1e-7); break;
        case IRLLREC_HOOK_TRAN_IN_ITM:
        case IRLLREC_HOOK_REG_TEACHER: ck_assert(va == 0.0 && vb == 1.0); break;
        default: ck_assert_msg(va == vb, "param %d: %g vs %g", p, va, vb);
        }
    }
    /* teacher: equal to the student (paper) or drawn apart (released) */
    irllrec_hook_block pa[32], pb[32];
    int na = hk_blocks(a.h, pa, 32), nb = hk_blocks(b.h, pb, 32);
    ck_assert_int_eq(na, nb);
    int iw = -1, it = -1;
    for (int i = 0; i < na; i++) {
        if (strcmp(pa[i].name, "int.w1") == 0) iw = i;
        if (strcmp(pa[i].name, "teacher.w1") == 0) it = i;
    }
    ck_assert(iw >= 0 && it >= 0);
    const size_t tsz = (size_t)(pa[iw].rows * pa[iw].cols) * 4;
    ck_assert(memcmp(pa[iw].data, pa[it].data, tsz) == 0);
    ck_assert(memcmp(pb[iw].data, pb[it].data, tsz) != 0);
    /* the student is the same under both presets (same seed) */
    for (int i = 0; i < it; i++)
        ck_assert(memcmp(pa[i].data, pb[i].data, (size_t)(pa[i].rows * pa[i].cols) * 4) == 0);

    /* With the weights made equal: the total differs by exactly the two
     * documented terms, the gradients by the L_tran-inside-ITM term only. */
    hk_strong(&a);
    hk_strong(&b);
    for (int i = it; i < na; i++)
        memcpy(pb[i].data, pa[i].data, (size_t)(pa[i].rows * pa[i].cols) * 4);
    irllrec_hook_losses la, lb;
    ck_assert_int_eq(hk_run_into(&a, HK_GRADS, a.gf, a.gl, &la), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_GRADS, b.gf, b.gl, &lb), IRLLREC_OK);
    ck_assert(la.kd == lb.kd && la.pair == lb.pair && la.tran == lb.tran && la.itm == lb.itm);
    int64_t nt = 0;
    float *tch = NULL;
    for (int i = it; i < na; i++) nt += pa[i].rows * pa[i].cols;
    (void)tch;
    /* teacher reg uses the post-EMA teacher, which we cannot read before the
     * step; so check the released extra as the released total minus the rest */
    const double alpha = 0.6, w_itm = 1.0, w_tran = 1.0;
    const double extra_tran = w_itm * (1.0 - alpha) * w_tran * la.tran;
    ck_assert(lb.reg > la.reg);
    ck_assert_double_eq_tol(lb.total - lb.reg, la.total - la.reg + extra_tran, 1e-9);
    /* switch the two options off in the released hook: identical bits */
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_IN_ITM, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_REG_TEACHER, 0), IRLLREC_OK);
    memset(b.gf, 0, (size_t)(b.N * b.d) * 4);
    memset(b.gl, 0, (size_t)(2 * b.N * b.d) * 4);
    ck_assert_int_eq(hk_run_into(&b, HK_GRADS, b.gf, b.gl, &lb), IRLLREC_OK);
    ck_assert(memcmp(&la, &lb, sizeof la) == 0);
    ck_assert(memcmp(a.gf, b.gf, (size_t)(a.N * a.d) * 4) == 0);
    ck_assert(memcmp(a.gl, b.gl, (size_t)(2 * a.N * a.d) * 4) == 0);
    hk_free(&a);
    hk_free(&b);
}
END_TEST

START_TEST(steps_reduce_the_hook_loss)
{
    hk k;
    irllrec_hook_losses first, lv;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 9);
    hk_strong(&k);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_LR, 1e-2), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(k.h, IRLLREC_HOOK_W_TRAN, 0.0), IRLLREC_OK);
    ck_assert_int_eq(hk_step(&k, &first), IRLLREC_OK);
    for (int i = 0; i < 150; i++) ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_msg(lv.kd < 0.8 * first.kd, "kd %g -> %g", first.kd, lv.kd);
    ck_assert_msg(lv.pair < 0.8 * first.pair, "pair %g -> %g", first.pair, lv.pair);
    ck_assert_msg(lv.total < 0.8 * first.total, "total %g -> %g", first.total, lv.total);
    ck_assert_int_eq(irllrec_hook_steps(k.h), 151);
    hk_free(&k);
}
END_TEST

START_TEST(same_seed_same_bits_and_sampling_is_an_option)
{
    hk a, b;
    irllrec_hook_losses la, lb;
    hk_make(&a, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 10);
    hk_make(&b, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 10);
    hk_strong(&a);
    hk_strong(&b);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(hk_step(&a, &la), IRLLREC_OK);
        ck_assert_int_eq(hk_step(&b, &lb), IRLLREC_OK);
        ck_assert(memcmp(&la, &lb, sizeof la) == 0);
    }
    ck_assert(memcmp(a.gf, b.gf, (size_t)(a.N * a.d) * 4) == 0);
    /* sampled mode with samples >= N is the exact computation */
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_MODE, 1), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_SAMPLES, 100), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&a, HK_LOSS, a.sgf, a.sgl, &la), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lb), IRLLREC_OK);
    ck_assert(la.tran == lb.tran);
    ck_assert_int_eq(irllrec_hook_set_param(b.h, IRLLREC_HOOK_TRAN_SAMPLES, 4), IRLLREC_OK);
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lb), IRLLREC_OK);
    ck_assert(isfinite(lb.tran) && lb.tran != la.tran);
    /* a compute does not advance the alignment handle's generator: same sample
     * and noise twice */
    irllrec_hook_losses lc;
    ck_assert_int_eq(hk_run_into(&b, HK_LOSS, b.sgf, b.sgl, &lc), IRLLREC_OK);
    ck_assert(lc.tran == lb.tran);
    hk_free(&a);
    hk_free(&b);
}
END_TEST

START_TEST(fast_exp_matches_libm)
{
    enum { n = 20001 };
    static float x[n];
    for (int i = 0; i < n; i++) x[i] = -87.0f + 88.5f * (float)i / (float)(n - 1);
    float y[n];
    memcpy(y, x, sizeof y);
    (void)irllrec__xent_exp_sum(y, n, 0.0f);
    double worst = 0.0;
    for (int i = 0; i < n; i++) {
        const double ref = exp((double)x[i]);
        worst = fmax(worst, fabs((double)y[i] - ref) / ref);
    }
    ck_assert_msg(worst < 4e-7, "worst relative error %g", worst);
    float z[4] = {-500.0f, -3000.0f, 0.0f, NAN};
    (void)irllrec__xent_exp_sum(z, 4, 0.0f);
    ck_assert(z[0] >= 0.0f && z[0] < 1e-37f && z[1] >= 0.0f && z[1] < 1e-37f);
    ck_assert(z[2] == 1.0f);
    ck_assert(isnan(z[3]));
}
END_TEST

START_TEST(timings_partition_the_step)
{
    hk k;
    irllrec_hook_losses lv;
    irllrec_hook_timings t;
    hk_make(&k, 2, 5, 6, IRLLREC_HOOK_PRESET_PAPER, 11);
    hk_strong(&k);
    t.struct_size = sizeof t;
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_OK);
    ck_assert(t.total == 0.0 && t.tran == 0.0);
    ck_assert_int_eq(hk_step(&k, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_OK);
    const double parts = t.validate + t.profile_mlp + t.intent_mlp + t.teacher + t.tower + t.kd +
                         t.pair + t.tran + t.itm + t.commit;
    ck_assert(t.total > 0.0);
    ck_assert_double_eq_tol(parts, t.total, 1e-9 + 1e-9 * t.total);
    ck_assert(t.tran > 0.0 && t.tower > 0.0 && t.kd > 0.0);
    t.struct_size = 4;
    ck_assert_int_eq(irllrec_hook_last_timings(k.h, &t), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_last_timings(NULL, &t), IRLLREC_E_INVALID_ARG);
    hk_free(&k);
}
END_TEST

/* Both InfoNCE paths of the engine (bounded shift for tau >= 0.025, online
 * max below), blocked 3 x 3 (streaming, sweep 2 recomputes) and in strips
 * of 2 rows over every column, against a naive double computation. */
static void nce_vs_naive(double tau, int strip)
{
    enum { nb = 5, m = 7, d = 4 };
    irllrec__rng r;
    irllrec__rng_seed(&r, 5, 9);
    float x[nb * d], y[m * d], xh[nb * d], yh[m * d];
    float dxh[nb * d] = {0}, dyh[m * d] = {0}, blk[64];
    double row_loss[nb], row_aux[5 * nb];
    const int32_t pos[nb] = {3, 0, 6, 3, 1};
    fill(&r, x, nb * d, 1.0);
    fill(&r, y, m * d, 1.0);
    irllrec__l2norm_fwd(nb, d, x, d, xh, d, NULL);
    irllrec__l2norm_fwd(m, d, y, d, yh, d, NULL);
    irllrec__xent jb;
    memset(&jb, 0, sizeof jb);
    jb.xn = xh;
    jb.yn = yh;
    jb.n_rows = nb;
    jb.n_cols = m;
    jb.d = d;
    jb.kind = IRLLREC__XENT_INFONCE;
    jb.target = pos;
    jb.inv_tau = (float)(1.0 / tau);
    jb.scale = 0.5;
    jb.need_grad = 1;
    jb.block_rows = strip ? 2 : 3;
    jb.block_cols = strip ? m : 3;
    jb.n_slices = 1;
    jb.n_threads = 1;
    ck_assert(irllrec__xent_thread_floats(jb.block_rows, jb.block_cols, d) <= 64);
    jb.blk = blk;
    jb.row_loss = row_loss;
    jb.row_aux = row_aux;
    jb.dxn = dxh;
    jb.dyn = dyh;
    irllrec__xent_run(NULL, &jb);
    double l = 0.0;
    for (int b = 0; b < nb; b++) l += row_loss[b];
    l /= 0.5;
    double ref = 0.0, gx[nb * d] = {0}, gy[m * d] = {0};
    for (int b = 0; b < nb; b++) {
        double s[m], mx = -1e300, z = 0.0;
        for (int j = 0; j < m; j++) {
            s[j] = 0.0;
            for (int c = 0; c < d; c++) s[j] += (double)xh[b * d + c] * (double)yh[j * d + c];
            s[j] /= tau;
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < m; j++) z += exp(s[j] - mx);
        ref += mx + log(z) - s[pos[b]];
        for (int j = 0; j < m; j++) {
            const double g = 0.5 * (exp(s[j] - mx) / z - (j == pos[b])) / tau;
            for (int c = 0; c < d; c++) {
                gx[b * d + c] += g * (double)yh[j * d + c];
                gy[j * d + c] += g * (double)xh[b * d + c];
            }
        }
    }
    ck_assert_msg(fabs(l - ref) <= 1e-5 * fabs(ref), "tau %g: %.9g vs %.9g", tau, l, ref);
    double mg = 0.0, eg = 0.0;
    for (int i = 0; i < nb * d; i++) {
        mg = fmax(mg, fabs(gx[i]));
        eg = fmax(eg, fabs(gx[i] - (double)dxh[i]));
    }
    for (int i = 0; i < m * d; i++) {
        mg = fmax(mg, fabs(gy[i]));
        eg = fmax(eg, fabs(gy[i] - (double)dyh[i]));
    }
    ck_assert_msg(eg <= 1e-5 * mg, "tau %g: gradient error %g of %g", tau, eg, mg);
}

START_TEST(infonce_both_shift_paths)
{
    for (int strip = 0; strip < 2; strip++) {
        nce_vs_naive(0.2, strip);   /* bounded shift */
        nce_vs_naive(0.01, strip);  /* row maximum: exp(-2/tau) would underflow */
        nce_vs_naive(0.025, strip);
    }
}
END_TEST

/* Large enough (>= 64 rows per strip) for the strip kernels to use the
 * context's threads: 1 and 3 threads must give the same bits. */
static void run_threads(int32_t nt, irllrec_hook_losses *lv, float *gf, float *gl)
{
    enum { U = 70, I = 90, N = U + I, D = 8, L = 2, B = 100, DP = 12, DT = 10 };
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = nt;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx), IRLLREC_OK);
    irllrec_hook_spec s;
    irllrec_hook *h = NULL;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = 6;
    s.n_layers = L;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = DT;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    irllrec__rng r;
    irllrec__rng_seed(&r, 3, 3);
    const int dims[4] = {DP, DP, DT, DT}, rows[4] = {U, I, U, I};
    for (int w = 0; w < 4; w++) {
        float *m = malloc((size_t)(rows[w] * dims[w]) * 4);
        fill(&r, m, rows[w] * dims[w], 1.0);
        ck_assert_int_eq(irllrec_hook_set_text(h, w, irllrec_cmat_dense(m, rows[w], dims[w])),
                         IRLLREC_OK);
        free(m);
    }
    int64_t ip[N + 1];
    int32_t ix[2 * U * 4];
    int64_t k = 0;
    ip[0] = 0;
    for (int64_t a = 0; a < N; a++) {  /* user u - items u, u+7, u+13, u+29 (mod I) */
        for (int64_t b = 0; b < N; b++) {
            const int64_t u = a < U ? a : b, i = a < U ? b - U : a - U;
            if ((a < U) == (b < U)) continue;
            if (i == u % I || i == (u + 7) % I || i == (u + 13) % I || i == (u + 29) % I)
                ix[k++] = (int32_t)b;
        }
        ip[a + 1] = k;
    }
    irllrec_csr g = {N, N, k, ip, ix};
    ck_assert_int_eq(irllrec_hook_set_graph(h, &g), IRLLREC_OK);
    float *ef = malloc(N * D * 4), *lay = malloc(L * N * D * 4);
    fill(&r, ef, N * D, 1.0);
    fill(&r, lay, L * N * D, 1.0);
    int32_t us[B], ps[B], ns[B];
    for (int b = 0; b < B; b++) {
        us[b] = (int32_t)irllrec__rng_below(&r, U);
        ps[b] = (int32_t)irllrec__rng_below(&r, I);
        ns[b] = (int32_t)irllrec__rng_below(&r, I);
    }
    tu_hookio io;
    tu_hookio_init(&io, U, I, D, ef, gf, L, lay, gl);
    const irllrec_hook_batch batch = {B, us, ps, ns};
    ck_assert_int_eq(irllrec_hook_set_param(h, IRLLREC_HOOK_W_TRAN, 1.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param(h, IRLLREC_HOOK_W_ITM, 1.0), IRLLREC_OK);
    for (int step = 0; step < 2; step++) {
        lv->struct_size = sizeof *lv;
        ck_assert_int_eq(irllrec_hook_step(h, &batch, &io.in, &io.grads, lv), IRLLREC_OK);
    }
    ck_assert(lv->tran > 0.0 && lv->kd > 0.0 && lv->pair > 0.0);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    free(ef);
    free(lay);
}

START_TEST(thread_count_does_not_change_bits)
{
    enum { ND = 160 * 8, NL = 2 * 160 * 8 };
    irllrec_hook_losses a, b;
    float *ga = calloc(ND, 4), *gb = calloc(ND, 4), *la = calloc(NL, 4), *lb = calloc(NL, 4);
    run_threads(1, &a, ga, la);
    run_threads(3, &b, gb, lb);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(memcmp(ga, gb, ND * 4) == 0);
    ck_assert(memcmp(la, lb, NL * 4) == 0);
    free(ga); free(gb); free(la); free(lb);
}
END_TEST

Suite *hook_suite(void)
{
    Suite *s = suite_create("hook");
    TCase *fd = tcase_create("gradients");
    tcase_set_timeout(fd, 60);
    tcase_add_test(fd, fd_host_embeddings_graph);
    tcase_add_test(fd, fd_host_embeddings_released_preset);
    tcase_add_test(fd, fd_host_embeddings_graph_free);
    tcase_add_test(fd, fd_host_embeddings_sampled_translation);
    tcase_add_test(fd, fd_hook_parameters_batch_rows);
    tcase_add_test(fd, fd_hook_parameters_all_rows);
    tcase_add_test(fd, fast_exp_matches_libm);
    tcase_add_test(fd, infonce_both_shift_paths);
    suite_add_tcase(s, fd);
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, terms_switch_off_without_text);
    tcase_add_test(tc, failed_step_changes_nothing);
    tcase_add_test(tc, step_allocates_nothing);
    tcase_add_test(tc, create_fails_cleanly_at_every_allocation);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, presets_differ_exactly_where_documented);
    tcase_add_test(tc, steps_reduce_the_hook_loss);
    tcase_add_test(tc, same_seed_same_bits_and_sampling_is_an_option);
    tcase_add_test(tc, timings_partition_the_step);
    tcase_add_test(tc, thread_count_does_not_change_bits);
    suite_add_tcase(s, tc);
    return s;
}
