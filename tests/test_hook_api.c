/* Hook API v2 through the public headers: compute / apply / step, loss-only,
 * touched-row gradients against dense ones, a host's own optimizer against
 * the hook's Adam, parameters by name, the memory estimate against a
 * counting allocator, the graph builder, the modules' row-subset calls, and
 * bad input on every new entry point (a status, a message naming the
 * argument, and nothing changed). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"

enum { U = 9, I = 11, N = U + I, D = 4, DP = 5, DT = 6, B = 4, L = 2, K = 3 };

typedef struct fx {
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int layers;                     /* n_layers of the hook (0: graph-free) */
    int32_t users[B], pos[B], neg[B];
    float ef[N * D], lay[L * N * D], gf[N * D], gl[L * N * D];
    irllrec_cmat lv[L];
    irllrec_mat lg[L];
} fx;

static uint64_t rs = 88172645463325252ull;

/* The N x N pattern of a fixed interaction set, built by the library. */
static void set_graph(fx *f)
{
    static const int64_t ip[U + 1] = {0, 2, 4, 5, 7, 8, 10, 11, 13, 14};
    static const int32_t ix[14] = {0, 3, 1, 4, 2, 0, 5, 6, 7, 8, 9, 1, 10, 2};
    const irllrec_csr r = {U, I, 14, ip, ix};
    irllrec_graph *g = NULL;
    irllrec_csr adj;
    ck_assert_int_eq(irllrec_graph_create(f->ctx, &r, &g), IRLLREC_OK);
    ck_assert_int_eq(irllrec_graph_adjacency(g, &adj), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &adj), IRLLREC_OK);
    irllrec_graph_free(g);
}

static void fx_make(fx *f, int layers, uint64_t seed)
{
    irllrec_hook_spec s;
    memset(f, 0, sizeof *f);
    rs = 88172645463325252ull;
    f->ctx = tu_ctx_counting(&f->st);
    f->layers = layers;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = K;
    s.n_layers = layers;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = DT;
    s.seed = seed;
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    const int64_t rows[4] = {U, I, U, I}, cols[4] = {DP, DP, DT, DT};
    for (int w = 0; w < 4; w++) {
        float *t = malloc((size_t)(rows[w] * cols[w]) * sizeof(float));
        tu_fill(&rs, t, rows[w] * cols[w], 1.0f);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(t, rows[w], cols[w])),
                         IRLLREC_OK);
        free(t);
    }
    if (layers > 0) set_graph(f);
    /* graph-free hosts get translation and ITM too */
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "tran_itm_need_graph", 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "w_tran", 0.5), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "w_itm", 0.5), IRLLREC_OK);
    tu_fill(&rs, f->ef, N * D, 1.0f);
    tu_fill(&rs, f->lay, L * N * D, 1.0f);
    for (int l = 0; l < L; l++) {
        f->lv[l] = irllrec_cmat_dense(f->lay + l * N * D, N, D);
        f->lg[l] = irllrec_mat_dense(f->gl + l * N * D, N, D);
    }
    for (int b = 0; b < B; b++) {
        f->users[b] = (int32_t)((3 * b + 1) % U);
        f->pos[b] = (int32_t)((5 * b + 2) % I);
        f->neg[b] = (int32_t)((7 * b + 4) % I);
    }
}

static void fx_free(fx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
    ck_assert_int_eq(f->st.live_bytes, 0);
}

static irllrec_hook_batch fx_batch(const fx *f)
{
    irllrec_hook_batch b = {B, f->users, f->pos, f->neg};
    return b;
}

static irllrec_hook_inputs fx_in(const fx *f)
{
    irllrec_hook_inputs in = {irllrec_cmat_dense(f->ef, U, D),
                              irllrec_cmat_dense(f->ef + U * D, I, D),
                              f->layers > 0 ? f->lv : NULL};
    return in;
}

static irllrec_hook_grads fx_dense(fx *f)
{
    irllrec_hook_grads g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.mode = IRLLREC_HOOK_GRAD_DENSE;
    g.user_grad = irllrec_mat_dense(f->gf, U, D);
    g.item_grad = irllrec_mat_dense(f->gf + U * D, I, D);
    g.layer_grads = f->layers > 0 ? f->lg : NULL;
    return g;
}

static irllrec_status fx_compute(fx *f, const irllrec_hook_grads *g, uint32_t flags,
                                 irllrec_hook_losses *lv)
{
    const irllrec_hook_batch b = fx_batch(f);
    const irllrec_hook_inputs in = fx_in(f);
    lv->struct_size = sizeof *lv;
    return irllrec_hook_compute(f->h, &b, &in, g, flags, lv);
}

/* Every block's data, concatenated (malloc'd). */
static float *snapshot(irllrec_hook *h, int64_t *n)
{
    int64_t total = 0;
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b = {.struct_size = sizeof b};
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        total += b.rows * b.cols;
    }
    float *out = malloc((size_t)total * sizeof(float)), *p = out;
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b = {.struct_size = sizeof b};
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        memcpy(p, b.data, (size_t)(b.rows * b.cols) * sizeof(float));
        p += b.rows * b.cols;
    }
    *n = total;
    return out;
}

static int msg_has(irllrec_ctx *ctx, const char *s)
{
    return strstr(irllrec_ctx_errmsg(ctx), s) != NULL;
}

/* ---- compute / apply ------------------------------------------------------ */

START_TEST(compute_is_repeatable_and_apply_commits)
{
    fx f;
    fx_make(&f, L, 5);
    irllrec_hook_grads g = fx_dense(&f);
    irllrec_hook_losses a, b, c;
    float g1[N * D];
    ck_assert_int_eq(fx_compute(&f, &g, 0, &a), IRLLREC_OK);
    memcpy(g1, f.gf, sizeof g1);
    memset(f.gf, 0, sizeof f.gf);
    ck_assert_int_eq(fx_compute(&f, &g, 0, &b), IRLLREC_OK);
    /* same noise, same teacher, same bits */
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(memcmp(g1, f.gf, sizeof g1) == 0);
    ck_assert(a.kd > 0 && a.pair > 0 && a.tran > 0 && a.itm > 0);
    /* loss only: the same values, nothing written */
    memset(f.gf, 0, sizeof f.gf);
    ck_assert_int_eq(fx_compute(&f, NULL, IRLLREC_HOOK_LOSS_ONLY, &c), IRLLREC_OK);
    ck_assert(memcmp(&a, &c, sizeof a) == 0);
    for (int i = 0; i < N * D; i++) ck_assert(f.gf[i] == 0.0f);
    /* a loss-only compute leaves nothing to apply */
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_E_STATE);
    ck_assert(msg_has(f.ctx, "irllrec_hook_apply: no successful gradient compute"));
    ck_assert_int_eq(irllrec_hook_steps(f.h), 0);
    /* compute + apply == step */
    fx f2;
    fx_make(&f2, L, 5);
    irllrec_hook_grads g2 = fx_dense(&f2);
    irllrec_hook_losses s2 = {.struct_size = sizeof s2};
    ck_assert_int_eq(fx_compute(&f, &g, 0, &a), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(f.h, 0), IRLLREC_E_STATE);
    const irllrec_hook_batch bt = fx_batch(&f2);
    const irllrec_hook_inputs in2 = fx_in(&f2);
    ck_assert_int_eq(irllrec_hook_step(f2.h, &bt, &in2, &g2, &s2), IRLLREC_OK);
    int64_t n1, n2;
    float *p1 = snapshot(f.h, &n1), *p2 = snapshot(f2.h, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(p1, p2, (size_t)n1 * sizeof(float)) == 0);
    ck_assert_int_eq(irllrec_hook_steps(f.h), 1);
    /* and the next compute sees the committed state: fresh noise, new teacher */
    ck_assert_int_eq(fx_compute(&f, &g, 0, &b), IRLLREC_OK);
    ck_assert(b.tran != a.tran);
    free(p1);
    free(p2);
    fx_free(&f);
    fx_free(&f2);
}
END_TEST

/* A host that runs its own optimizer: it reads the trainable blocks and
 * their gradients, steps them with its own Adam (the library's public one,
 * the same update rule), and applies with EXTERNAL_OPTIM. The parameters
 * must be those of the hook's own Adam, bit for bit. */
START_TEST(external_optimizer_matches_the_hooks_adam)
{
    fx a, b;
    fx_make(&a, L, 9);
    fx_make(&b, L, 9);
    irllrec_hook_grads ga = fx_dense(&a), gb = fx_dense(&b);
    irllrec_hook_losses lv;
    int64_t sizes[16];
    float *params[16];
    const float *grads[16];
    int nt = 0;
    for (int32_t i = 0; i < irllrec_hook_block_count(b.h); i++) {
        irllrec_hook_block k = {.struct_size = sizeof k};
        ck_assert_int_eq(irllrec_hook_get_block(b.h, i, &k), IRLLREC_OK);
        if (!k.trainable) {
            ck_assert_ptr_null(k.grad);
            continue;
        }
        sizes[nt] = k.rows * k.cols;
        params[nt] = k.data;
        grads[nt++] = k.grad;
    }
    ck_assert_int_eq(nt, 10);  /* prf w1 b1 w2 b2, int w1 b1 w2 b2, proto.user, proto.item */
    irllrec_adam_spec as;
    irllrec_adam *opt = NULL;
    irllrec_adam_spec_init(&as, sizeof as);
    as.lr = 1e-3;
    ck_assert_int_eq(irllrec_adam_create(b.ctx, &as, sizes, nt, &opt), IRLLREC_OK);
    for (int step = 0; step < 4; step++) {
        ck_assert_int_eq(fx_compute(&a, &ga, 0, &lv), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_apply(a.h, 0), IRLLREC_OK);
        ck_assert_int_eq(fx_compute(&b, &gb, 0, &lv), IRLLREC_OK);
        ck_assert_int_eq(irllrec_adam_step(opt, params, grads), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_apply(b.h, IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM), IRLLREC_OK);
    }
    int64_t na, nb;
    float *pa = snapshot(a.h, &na), *pb = snapshot(b.h, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert(memcmp(pa, pb, (size_t)na * sizeof(float)) == 0);  /* teacher included */
    ck_assert_int_eq(irllrec_hook_steps(b.h), 4);
    free(pa);
    free(pb);
    irllrec_adam_free(opt);
    fx_free(&a);
    fx_free(&b);
}
END_TEST

/* ---- touched rows ----------------------------------------------------------- */

static void rows_vs_dense(int sampled, double w_pair, double w_tran)
{
    fx f;
    fx_make(&f, 0, 3);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_pair", w_pair), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_tran", w_tran), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_itm", 0.0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_mode", sampled), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_samples", 5), IRLLREC_OK);
    irllrec_hook_grads dense = fx_dense(&f), rows;
    memset(&rows, 0, sizeof rows);
    rows.struct_size = sizeof rows;
    rows.mode = IRLLREC_HOOK_GRAD_ROWS;
    irllrec_hook_losses a, b;
    irllrec_hook_rows out;
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &out), IRLLREC_E_STATE);
    ck_assert_int_eq(fx_compute(&f, &dense, 0, &a), IRLLREC_OK);
    ck_assert_int_eq(fx_compute(&f, &rows, 0, &b), IRLLREC_OK);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &out), IRLLREC_OK);
    /* every touched row equals the dense row; every other dense row is zero */
    float back[N * D];
    memset(back, 0, sizeof back);
    for (int64_t k = 0; k < out.n_users; k++)
        memcpy(back + out.user_ids[k] * D, out.user_grad.data + k * out.user_grad.ld, D * 4);
    for (int64_t k = 0; k < out.n_items; k++)
        memcpy(back + (U + out.item_ids[k]) * D, out.item_grad.data + k * out.item_grad.ld, D * 4);
    ck_assert(memcmp(back, f.gf, sizeof back) == 0);
    if (w_tran == 0.0 || sampled) {
        ck_assert_int_lt(out.n_users + out.n_items, N);  /* a subset, not the catalogue */
    } else {
        ck_assert_int_eq(out.n_users, U);  /* exact translation touches every row */
        ck_assert_int_eq(out.n_items, I);
    }
    /* the batch's rows are among them */
    for (int b2 = 0; b2 < B; b2++) {
        int seen = 0;
        for (int64_t k = 0; k < out.n_users; k++) seen |= out.user_ids[k] == f.users[b2];
        ck_assert(seen);
    }
    fx_free(&f);
}

START_TEST(rows_equal_dense_batch_terms)
{
    rows_vs_dense(0, 2e-2, 0.0);
}
END_TEST

START_TEST(rows_equal_dense_sampled_translation)
{
    rows_vs_dense(1, 2e-2, 0.5);
}
END_TEST

START_TEST(rows_equal_dense_exact_translation)
{
    rows_vs_dense(0, 0.0, 0.5);
}
END_TEST

/* ---- parameters by name ----------------------------------------------------- */

START_TEST(parameters_by_name)
{
    fx f;
    fx_make(&f, L, 1);
    const int32_t n = irllrec_hook_param_count();
    ck_assert_int_eq(n, 19);
    for (int32_t i = 0; i < n; i++) {
        irllrec_hook_param p, q;
        double lo, hi, v, w;
        ck_assert_int_eq(irllrec_hook_param_at(i, &p), IRLLREC_OK);
        const char *name = irllrec_hook_param_name(p);
        ck_assert_ptr_nonnull(name);
        ck_assert_int_eq(irllrec_hook_param_id(name, &q), IRLLREC_OK);
        ck_assert_int_eq(p, q);
        ck_assert_int_eq(irllrec_hook_param_bounds(p, &lo, &hi), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(f.h, p, &v), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, name, &w), IRLLREC_OK);
        ck_assert(v == w && v >= lo && v <= hi);
        ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, name, hi), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_get_param(f.h, p, &w), IRLLREC_OK);
        ck_assert(w == hi);
        ck_assert_int_eq(irllrec_hook_set_param(f.h, p, v), IRLLREC_OK);
    }
    irllrec_hook_param p;
    ck_assert_int_eq(irllrec_hook_param_at(n, &p), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_param_id("W_KD", &p), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(irllrec_hook_param_name((irllrec_hook_param)299));
    double v = 0;
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "w_kdd", 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_hook_set_param_by_name: unknown parameter name \"w_kdd\""));
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, NULL, 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "beta1", NULL), IRLLREC_E_INVALID_ARG);
    /* a bound broken: the message names the parameter, the value and the range */
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "beta1", 1.0), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "parameter beta1 = 1 outside [0, 0.99999990000000005]"));
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f.h, "tran_samples", 2.5),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "tran_samples takes an integer"));
    ck_assert_int_eq(irllrec_hook_set_param(f.h, IRLLREC_HOOK_EPS, NAN), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "beta1", &v), IRLLREC_OK);
    ck_assert(v == 0.9);
    ck_assert_int_eq(irllrec_hook_get_param_by_name(f.h, "eps", &v), IRLLREC_OK);
    ck_assert(v == 1e-8);
    fx_free(&f);
}
END_TEST

/* Adam's settings reach the optimizer: with beta1 = 0 the first step is
 * lr * sign(g) regardless; with weight decay the parameters shrink more. */
START_TEST(optimizer_settings_take_effect)
{
    fx a, b;
    fx_make(&a, 0, 4);
    fx_make(&b, 0, 4);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(b.h, "weight_decay", 5.0), IRLLREC_OK);
    irllrec_hook_grads ga = fx_dense(&a), gb = fx_dense(&b);
    irllrec_hook_losses lv;
    ck_assert_int_eq(fx_compute(&a, &ga, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(a.h, 0), IRLLREC_OK);
    ck_assert_int_eq(fx_compute(&b, &gb, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_apply(b.h, 0), IRLLREC_OK);
    int64_t na, nb;
    float *pa = snapshot(a.h, &na), *pb = snapshot(b.h, &nb);
    double sa = 0, sb = 0;
    irllrec_hook_block k = {.struct_size = sizeof k};
    ck_assert_int_eq(irllrec_hook_get_block(a.h, 0, &k), IRLLREC_OK);
    for (int64_t i = 0; i < k.rows * k.cols; i++) {
        sa += (double)pa[i] * pa[i];
        sb += (double)pb[i] * pb[i];
    }
    ck_assert(sb < sa * 0.99999);  /* decay 1 - lr * 5 = 0.995 per weight */
    free(pa);
    free(pb);
    fx_free(&a);
    fx_free(&b);
}
END_TEST

/* ---- memory estimate ---------------------------------------------------------- */

static void estimate_case(int layers, int dp, int dt, int32_t threads)
{
    tu_alloc_state st;
    memset(&st, 0, sizeof st);
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = threads;
    cs.alloc = tu_alloc;
    cs.free = tu_free;
    cs.alloc_ud = &st;
    irllrec_ctx *ctx = NULL;
    ck_assert_int_eq(irllrec_ctx_create(&cs, &ctx), IRLLREC_OK);
    const int64_t base = st.live_bytes;
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = 40;
    s.n_items = 70;
    s.dim = 8;
    s.n_intents = 5;
    s.n_layers = layers;
    s.max_batch = 16;
    s.profile_dim = dp;
    s.intent_dim = dt;
    int64_t est = -1;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, threads, layers ? 2 * 120 : 0, &est),
                     IRLLREC_OK);
    irllrec_hook *h = NULL;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    if (layers > 0) {
        int64_t ip[41];
        int32_t ix[120];
        for (int u = 0; u <= 40; u++) ip[u] = 3 * u;
        for (int k = 0; k < 120; k++) ix[k] = (int32_t)((k / 3 * 7 + k % 3 * 11) % 70);
        for (int u = 0; u < 40; u++) {  /* sort each row's three ids */
            int32_t *r = ix + 3 * u, t;
            if (r[0] > r[1]) t = r[0], r[0] = r[1], r[1] = t;
            if (r[1] > r[2]) t = r[1], r[1] = r[2], r[2] = t;
            if (r[0] > r[1]) t = r[0], r[0] = r[1], r[1] = t;
        }
        const irllrec_csr r = {40, 70, 120, ip, ix};
        irllrec_graph *g = NULL;
        irllrec_csr adj;
        ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_OK);
        ck_assert_int_eq(irllrec_graph_adjacency(g, &adj), IRLLREC_OK);
        const int64_t with_graph = st.live_bytes;
        ck_assert_int_eq(irllrec_hook_set_graph(h, &adj), IRLLREC_OK);
        irllrec_graph_free(g);
        (void)with_graph;
    }
    ck_assert_int_eq(st.live_bytes - base, est);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
}

START_TEST(memory_estimate_matches_the_allocator)
{
    estimate_case(0, 12, 10, 1);
    estimate_case(0, 12, 0, 2);
    estimate_case(0, 0, 10, 2);
    estimate_case(0, 0, 0, 1);
    estimate_case(3, 12, 10, 2);
    estimate_case(2, 0, 10, 3);
    irllrec_hook_spec s;
    int64_t est;
    irllrec_hook_spec_init(&s, sizeof s);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, &est), IRLLREC_E_INVALID_ARG);
    s.n_users = s.n_items = 10;
    ck_assert_int_eq(irllrec_hook_memory_estimate(NULL, 1, 0, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 0, 0, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, -1, &est), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, NULL), IRLLREC_E_INVALID_ARG);
    s.struct_size = 2;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&s, 1, 0, &est), IRLLREC_E_VERSION);
}
END_TEST

/* ---- graph builder ----------------------------------------------------------- */

START_TEST(graph_builder_hand_computed)
{
    irllrec_ctx *ctx = tu_ctx();
    /* users 0: {0, 2}, 1: {2}; items 0..2 (item 1 has nobody) */
    const int64_t ip[3] = {0, 2, 3};
    const int32_t ix[3] = {0, 2, 2};
    const irllrec_csr r = {2, 3, 3, ip, ix};
    irllrec_graph *g = NULL;
    irllrec_csr a;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_OK);
    ck_assert_int_eq(irllrec_graph_adjacency(g, &a), IRLLREC_OK);
    ck_assert_int_eq(a.n_rows, 5);
    ck_assert_int_eq(a.nnz, 6);
    const int64_t eptr[6] = {0, 2, 3, 4, 4, 6};
    const int32_t ecol[6] = {2, 4, 4, 0, 0, 1};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(a.indptr[i], eptr[i]);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(a.indices[i], ecol[i]);
    /* degrees: u0 2, u1 1, i0 1, i1 0, i2 2 */
    const float *v = irllrec_graph_values(g);
    const float ev[6] = {(float)(1 / sqrt(2.0)), (float)(1 / sqrt(4.0)), (float)(1 / sqrt(2.0)),
                         (float)(1 / sqrt(2.0)), (float)(1 / sqrt(4.0)), (float)(1 / sqrt(2.0))};
    for (int i = 0; i < 6; i++) ck_assert_float_eq_tol(v[i], ev[i], 1e-7);
    const int32_t *rev = irllrec_graph_reverse(g);
    for (int e = 0; e < 6; e++) ck_assert_int_eq(rev[rev[e]], e);
    ck_assert_int_eq(rev[0], 3);  /* (u0, i0) <-> (i0, u0) */
    irllrec_graph_free(g);
    ck_assert_ptr_null(irllrec_graph_values(NULL));
    irllrec_graph_free(NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(graph_builder_refuses_bad_input)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_graph *g = (irllrec_graph *)(uintptr_t)1;
    const int64_t ip[3] = {0, 2, 3}, bad_ip[3] = {0, 3, 2};
    const int32_t unsorted[3] = {2, 0, 1}, dup[3] = {1, 1, 0}, far[3] = {0, 7, 1};
    irllrec_csr r = {2, 3, 3, ip, unsorted};
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(g);
    ck_assert(msg_has(ctx, "irllrec_graph_create: user_items row 0: indices[1] = 0 is not above the one before"));
    r.indices = dup;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(ctx, "user_items row 0: indices[1] = 1 is not above the one before"));
    r.indices = far;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(ctx, "user_items"));
    r.indices = unsorted;
    r.indptr = bad_ip;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(ctx, "user_items.indptr"));
    ck_assert_int_eq(irllrec_graph_create(ctx, NULL, &g), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(ctx, "user_items is NULL"));
    r.indptr = ip;
    r.n_cols = 0;
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, &g), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_graph_create(ctx, &r, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_graph_adjacency(NULL, NULL), IRLLREC_E_INVALID_ARG);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- bad input on the new entry points ------------------------------------------ */

START_TEST(compute_refuses_bad_input_and_changes_nothing)
{
    fx f;
    fx_make(&f, L, 2);
    irllrec_hook_grads g = fx_dense(&f);
    irllrec_hook_batch b = fx_batch(&f);
    irllrec_hook_inputs in = fx_in(&f);
    irllrec_hook_losses lv = {.struct_size = sizeof lv};
    int64_t n0;
    float *p0 = snapshot(f.h, &n0);
    float gf0[N * D], gl0[L * N * D];
    memcpy(gf0, f.gf, sizeof gf0);
    memcpy(gl0, f.gl, sizeof gl0);
#define REFUSE(call, st, text)                                                        \
    do {                                                                             \
        ck_assert_int_eq((call), (st));                                              \
        ck_assert_msg(msg_has(f.ctx, (text)), "message \"%s\" lacks \"%s\"",          \
                      irllrec_ctx_errmsg(f.ctx), (text));                            \
    } while (0)
    ck_assert_int_eq(irllrec_hook_compute(NULL, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG);
    REFUSE(irllrec_hook_compute(f.h, NULL, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "irllrec_hook_compute: batch is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, NULL, &g, 0, &lv), IRLLREC_E_INVALID_ARG, "in is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, &in, NULL, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads is NULL");
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 4, &lv), IRLLREC_E_INVALID_ARG,
           "flags = 0x4 has unknown bits");
    b.count = B + 1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_SHAPE,
           "batch->count = 5 not in 1..max_batch = 4");
    b.count = B;
    f.pos[2] = I;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->pos[2] = 11 not in [0, 11)");
    f.pos[2] = 0;
    f.users[1] = -1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->users[1] = -1");
    f.users[1] = 0;
    b.neg = NULL;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "batch->neg is NULL");
    b = fx_batch(&f);
    in.item_final.rows = I - 1;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_SHAPE,
           "in->item_final is 10 x 4, expected 11 x 4");
    in = fx_in(&f);
    in.layers = NULL;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "in->layers is NULL but n_layers = 2");
    in = fx_in(&f);
    g.struct_size = 4;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_VERSION,
           "grads->struct_size = 4");
    g = fx_dense(&f);
    g.mode = 7;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads->mode = 7");
    g = fx_dense(&f);
    g.mode = IRLLREC_HOOK_GRAD_ROWS;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "must be empty in ROWS mode");
    g = fx_dense(&f);
    g.item_grad = irllrec_mat_dense(f.ef + U * D, I, D);  /* the input itself */
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
           "grads->item_grad overlaps in->item_final");
    g = fx_dense(&f);
    g.layer_grads = NULL;
    {
        irllrec_mat lg2[L] = {f.lg[0], f.lg[0]};
        g.layer_grads = lg2;
        REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_INVALID_ARG,
               "grads->layer_grads[1] overlaps grads->layer_grads[0]");
    }
    g = fx_dense(&f);
    lv.struct_size = 4;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_VERSION,
           "out->struct_size = 4");
    lv.struct_size = sizeof lv;
    f.ef[U * D + 7] = INFINITY;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_NUMERIC,
           "in->item_final[1][3] is not finite");
    f.ef[U * D + 7] = 0.5f;
    f.lay[N * D + 2] = NAN;
    REFUSE(irllrec_hook_compute(f.h, &b, &in, &g, 0, &lv), IRLLREC_E_NUMERIC, "in->layers[1]");
    f.lay[N * D + 2] = 0.5f;
    REFUSE(irllrec_hook_apply(f.h, 2), IRLLREC_E_INVALID_ARG, "irllrec_hook_apply: flags = 0x2");
    ck_assert_int_eq(irllrec_hook_apply(NULL, 0), IRLLREC_E_INVALID_ARG);
    /* nothing changed: parameters, teacher, the caller's buffers, the step count */
    int64_t n1;
    float *p1 = snapshot(f.h, &n1);
    ck_assert_int_eq(n0, n1);
    ck_assert(memcmp(p0, p1, (size_t)n0 * sizeof(float)) == 0);
    ck_assert(memcmp(gf0, f.gf, sizeof gf0) == 0);
    ck_assert(memcmp(gl0, f.gl, sizeof gl0) == 0);
    ck_assert_int_eq(irllrec_hook_steps(f.h), 0);
    /* and the hook still works */
    g = fx_dense(&f);
    ck_assert_int_eq(fx_compute(&f, &g, 0, &lv), IRLLREC_OK);
#undef REFUSE
    free(p0);
    free(p1);
    fx_free(&f);
}
END_TEST

START_TEST(accessors_refuse_bad_input)
{
    fx f;
    fx_make(&f, 0, 2);
    irllrec_hook_block k = {.struct_size = sizeof k};
    irllrec_hook_rows rows;
    ck_assert_int_eq(irllrec_hook_block_count(NULL), -1);
    ck_assert_int_eq(irllrec_hook_block_count(f.h), 14);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 14, &k), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_hook_get_block: block 14 not in 0..13"));
    ck_assert_int_eq(irllrec_hook_get_block(f.h, -1, &k), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, NULL), IRLLREC_E_INVALID_ARG);
    k.struct_size = 4;
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, &k), IRLLREC_E_VERSION);
    /* a shorter struct gets a prefix */
    struct { uint32_t struct_size; int32_t trainable; } old = {8, -5};
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 13, (irllrec_hook_block *)(void *)&old),
                     IRLLREC_OK);
    ck_assert_int_eq(old.trainable, 0);  /* the last block is the teacher's */
    k.struct_size = sizeof k;
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 13, &k), IRLLREC_OK);
    ck_assert_str_eq(k.name, "teacher.b2");
    ck_assert_ptr_null(k.grad);
    ck_assert_int_eq(irllrec_hook_get_block(f.h, 0, &k), IRLLREC_OK);
    ck_assert_str_eq(k.name, "prf.w1");
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &rows), IRLLREC_E_STATE);
    ck_assert_int_eq(irllrec_hook_grad_rows(NULL, &rows), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_set_noise_fn(NULL, NULL, NULL), IRLLREC_E_INVALID_ARG);
    /* a dense compute leaves no rows to read */
    irllrec_hook_grads g = fx_dense(&f);
    irllrec_hook_losses lv;
    ck_assert_int_eq(fx_compute(&f, &g, 0, &lv), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_grad_rows(f.h, &rows), IRLLREC_E_STATE);
    ck_assert(msg_has(f.ctx, "not a successful IRLLREC_HOOK_GRAD_ROWS one"));
    fx_free(&f);
}
END_TEST

/* ---- modules: the row-subset calls the hook uses are public ------------------ */

START_TEST(module_subset_calls_refuse_bad_input)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec ms;
    irllrec_mlp *m = NULL;
    float x[6 * 3], y[6 * 2];
    tu_fill(&rs, x, 18, 1.0f);
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = 3;
    ms.out_dim = 2;
    ms.max_rows = 6;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(x, 4, 3), 3,
                                            irllrec_mat_dense(y, 4, 2)), IRLLREC_E_SHAPE);
    ck_assert(msg_has(ctx, "irllrec_mlp_forward_at: row0 = 3 + x.rows = 4 > max_rows = 6"));
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(x, 4, 3), 2,
                                            irllrec_mat_dense(y, 4, 2)), IRLLREC_OK);
    /* the cache covers rows 0..6 now; a range beyond it is refused */
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(x, 2, 3), 5,
                                             irllrec_cmat_dense(y, 2, 2),
                                             irllrec_mat_dense(NULL, 0, 0)), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(x, 4, 3), 2,
                                             irllrec_cmat_dense(y, 4, 2),
                                             irllrec_mat_dense(NULL, 0, 0)), IRLLREC_OK);
    irllrec_itm_spec is;
    irllrec_itm *itm = NULL;
    irllrec_itm_spec_init(&is, sizeof is);
    ck_assert_int_eq(irllrec_itm_create(ctx, &is, m, &itm), IRLLREC_OK);
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 4, 2), NULL), IRLLREC_E_STATE);
    ck_assert(msg_has(ctx, "irllrec_itm_loss: no teacher forward"));
    ck_assert_int_eq(irllrec_itm_teacher_forward(itm, irllrec_cmat_dense(x, 4, 3)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 3, 2), NULL), IRLLREC_E_SHAPE);
    double ce = -1;
    ck_assert_int_eq(irllrec_itm_loss(itm, irllrec_cmat_dense(y, 4, 2), &ce), IRLLREC_OK);
    ck_assert(ce >= 0);
    irllrec_itm_free(itm);
    irllrec_mlp_free(m);

    irllrec_intent_spec ts;
    irllrec_intent *enc = NULL;
    float e[5 * 2], r[2 * 2];
    tu_fill(&rs, e, 10, 1.0f);
    irllrec_intent_spec_init(&ts, sizeof ts);
    ts.n_users = 2;
    ts.n_items = 3;
    ts.dim = 2;
    ts.n_intents = 2;
    ts.n_layers = 1;
    ck_assert_int_eq(irllrec_intent_create(ctx, &ts, NULL, &enc), IRLLREC_OK);
    const irllrec_mat em = irllrec_mat_dense(e, 5, 2);
    int64_t nodes[2] = {1, 5};
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 1, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(ctx, "irllrec_intent_forward_nodes: nodes[1] = 5 not in [0, N = 5)"));
    nodes[1] = 4;
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, &em, 1, nodes, 2,
                                                   irllrec_cmat_dense(r, 2, 2), NULL),
                     IRLLREC_E_STATE);
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 1, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, &em, 1, nodes, 2,
                                                   irllrec_cmat_dense(r, 2, 2), NULL),
                     IRLLREC_OK);
    ck_assert_int_eq(
        irllrec_intent_forward_nodes(enc, &em, 2, nodes, 2, irllrec_mat_dense(r, 2, 2)),
        IRLLREC_E_SHAPE);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct logcap {
    int n_warn;
    char last[512];
} logcap;

static void log_cb(void *ud, int32_t level, const char *msg)
{
    logcap *c = (logcap *)ud;
    if (level != IRLLREC_LOG_WARN) return;
    c->n_warn++;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

/* ctx.h promises a warning for empty text rows: a failed embedding job
 * (all-zero rows) is accepted but reported, with the count and which text. */
START_TEST(zero_text_rows_are_reported)
{
    fx f;
    fx_make(&f, 0, 1);
    logcap cap = {0, ""};
    ck_assert_int_eq(irllrec_ctx_set_log(f.ctx, log_cb, &cap, IRLLREC_LOG_WARN), IRLLREC_OK);
    float t[I * DP];
    tu_fill(&rs, t, I * DP, 1.0f);
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert_int_eq(cap.n_warn, 0);
    memset(t + 2 * DP, 0, 3 * DP * sizeof(float));
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert_int_eq(cap.n_warn, 1);
    ck_assert_msg(strstr(cap.last, "item profile text: 3 of 11 rows are all zero") != NULL, "%s",
                  cap.last);
    memset(t, 0, sizeof t);
    ck_assert_int_eq(
        irllrec_hook_set_text(f.h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(t, I, DP)),
        IRLLREC_OK);
    ck_assert(strstr(cap.last, "11 of 11 rows are all zero (the whole matrix") != NULL);
    fx_free(&f);
}
END_TEST

Suite *hook_api_suite(void)
{
    Suite *s = suite_create("hook_api");
    TCase *tc = tcase_create("v2");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, compute_is_repeatable_and_apply_commits);
    tcase_add_test(tc, external_optimizer_matches_the_hooks_adam);
    tcase_add_test(tc, rows_equal_dense_batch_terms);
    tcase_add_test(tc, rows_equal_dense_sampled_translation);
    tcase_add_test(tc, rows_equal_dense_exact_translation);
    tcase_add_test(tc, parameters_by_name);
    tcase_add_test(tc, optimizer_settings_take_effect);
    tcase_add_test(tc, memory_estimate_matches_the_allocator);
    tcase_add_test(tc, graph_builder_hand_computed);
    tcase_add_test(tc, graph_builder_refuses_bad_input);
    tcase_add_test(tc, compute_refuses_bad_input_and_changes_nothing);
    tcase_add_test(tc, accessors_refuse_bad_input);
    tcase_add_test(tc, module_subset_calls_refuse_bad_input);
    tcase_add_test(tc, zero_text_rows_are_reported);
    suite_add_tcase(s, tc);
    return s;
}
