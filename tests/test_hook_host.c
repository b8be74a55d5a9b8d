/* A host that is not our LightGCN, written against the public headers
 * alone: one embedding table with items first and users after them, rows
 * padded to a stride of D + 3 (the host keeps a bias and two counters
 * there), plain SGD of its own on the rows the hook touched, no graph. It
 * trains with the hook and both its BPR loss and the hook's loss fall. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <irllrec/irllrec.h>

enum { HU = 48, HI = 64, HD = 8, LD = HD + 3, HB = 32, HC = 4, DT = 12, DP = 10, STEPS = 400 };

static uint64_t hs = 0x243F6A8885A308D3ull;

static double hrand(void)
{
    hs ^= hs << 13;
    hs ^= hs >> 7;
    hs ^= hs << 17;
    return (double)(hs >> 11) / 9007199254740992.0;
}

static int cluster_of_user(int u) { return u % HC; }
static int cluster_of_item(int i) { return i % HC; }

/* Text that says which cluster a user or item is in, plus noise. */
static void text(float *t, int rows, int dim, int (*cl)(int))
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < dim; c++)
            t[r * dim + c] = (float)((c % HC == cl(r) ? 1.0 : 0.0) + 0.3 * (hrand() - 0.5));
}

typedef struct host {
    float tab[(HI + HU) * LD];  /* items, then users; columns D.. are the host's own */
    float gtab[(HI + HU) * LD];
} host;

static float *item_row(host *m, int i) { return m->tab + (int64_t)i * LD; }
static float *user_row(host *m, int u) { return m->tab + (int64_t)(HI + u) * LD; }

/* The host's BPR on one batch, SGD applied at once; returns the mean loss. */
static double host_bpr(host *m, const int32_t *u, const int32_t *p, const int32_t *n, float lr)
{
    double loss = 0.0;
    for (int b = 0; b < HB; b++) {
        float *eu = user_row(m, u[b]), *ep = item_row(m, p[b]), *en = item_row(m, n[b]);
        double x = 0.0;
        for (int c = 0; c < HD; c++) x += (double)eu[c] * (double)(en[c] - ep[c]);
        loss += x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
        const float s = (float)(1.0 / (1.0 + exp(-x))) * lr;
        for (int c = 0; c < HD; c++) {
            const float gu = s * (en[c] - ep[c]), gp = -s * eu[c], gn = s * eu[c];
            eu[c] -= gu;
            ep[c] -= gp;
            en[c] -= gn;
        }
        eu[HD + 1] += 1.0f;  /* the host's own bookkeeping in the padding */
    }
    return loss / HB;
}

/* SGD on the rows the hook touched (ROWS mode: no N x d sweep). */
static void host_apply_rows(host *m, const irllrec_hook_rows *r, float lr)
{
    for (int64_t k = 0; k < r->n_users; k++) {
        float *e = user_row(m, r->user_ids[k]);
        const float *g = r->user_grad.data + k * r->user_grad.ld;
        for (int c = 0; c < HD; c++) e[c] -= lr * g[c];
    }
    for (int64_t k = 0; k < r->n_items; k++) {
        float *e = item_row(m, r->item_ids[k]);
        const float *g = r->item_grad.data + k * r->item_grad.ld;
        for (int c = 0; c < HD; c++) e[c] -= lr * g[c];
    }
}

static void draw_batch(int32_t *u, int32_t *p, int32_t *n)
{
    for (int b = 0; b < HB; b++) {
        u[b] = (int32_t)(hrand() * HU);
        do p[b] = (int32_t)(hrand() * HI); while (cluster_of_item(p[b]) != cluster_of_user(u[b]));
        do n[b] = (int32_t)(hrand() * HI); while (cluster_of_item(n[b]) == cluster_of_user(u[b]));
    }
}

START_TEST(foreign_host_trains_with_the_hook)
{
    static host m;
    irllrec_ctx *ctx = NULL;
    irllrec_hook *h = NULL;
    irllrec_hook_spec s;
    float *ut = malloc(HU * DT * sizeof(float)), *it = malloc(HI * DT * sizeof(float));
    float *up = malloc(HU * DP * sizeof(float)), *ip = malloc(HI * DP * sizeof(float));
    int32_t u[HB], p[HB], n[HB];
    double hook0 = 0, hook1 = 0, bpr0 = 0, bpr1 = 0;
    ck_assert_int_eq(irllrec_ctx_create(NULL, &ctx), IRLLREC_OK);
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = HU;
    s.n_items = HI;
    s.dim = HD;
    s.n_intents = 8;
    s.n_layers = 0;
    s.max_batch = HB;
    s.profile_dim = DP;
    s.intent_dim = DT;
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &h), IRLLREC_OK);
    text(ut, HU, DT, cluster_of_user);
    text(it, HI, DT, cluster_of_item);
    text(up, HU, DP, cluster_of_user);
    text(ip, HI, DP, cluster_of_item);
    ck_assert_int_eq(
        irllrec_hook_set_text(h, IRLLREC_HOOK_USER_INTENT, irllrec_cmat_dense(ut, HU, DT)), 0);
    ck_assert_int_eq(
        irllrec_hook_set_text(h, IRLLREC_HOOK_ITEM_INTENT, irllrec_cmat_dense(it, HI, DT)), 0);
    ck_assert_int_eq(
        irllrec_hook_set_text(h, IRLLREC_HOOK_USER_PROFILE, irllrec_cmat_dense(up, HU, DP)), 0);
    ck_assert_int_eq(
        irllrec_hook_set_text(h, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(ip, HI, DP)), 0);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(h, "w_kd", 0.5), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(h, "w_pair", 0.5), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(h, "lr", 1e-2), IRLLREC_OK);
    for (int k = 0; k < (HI + HU) * LD; k++)
        m.tab[k] = k % LD < HD ? (float)(0.1 * (hrand() - 0.5)) : 0.0f;
    /* the views of the host's own layout: stride LD, items before users */
    const irllrec_hook_inputs in = {{m.tab + HI * LD, HU, HD, LD}, {m.tab, HI, HD, LD}, NULL};
    irllrec_hook_grads g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.mode = IRLLREC_HOOK_GRAD_ROWS;
    for (int step = 0; step < STEPS; step++) {
        draw_batch(u, p, n);
        const irllrec_hook_batch b = {HB, u, p, n};
        irllrec_hook_losses lv = {.struct_size = sizeof lv};
        irllrec_hook_rows rows;
        ck_assert_int_eq(irllrec_hook_step(h, &b, &in, &g, &lv), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_grad_rows(h, &rows), IRLLREC_OK);
        /* L_kd and graph-free L_pair touch the batch's rows only */
        ck_assert_int_le(rows.n_users, HB);
        ck_assert_int_le(rows.n_items, 2 * HB);
        host_apply_rows(&m, &rows, 0.5f);
        const double bpr = host_bpr(&m, u, p, n, 0.5f);
        if (step < 20) hook0 += lv.total / 20, bpr0 += bpr / 20;
        if (step >= STEPS - 20) hook1 += lv.total / 20, bpr1 += bpr / 20;
    }
    fprintf(stderr, "hook_host: hook loss %.4f -> %.4f, bpr %.4f -> %.4f\n", hook0, hook1, bpr0,
            bpr1);
    ck_assert_msg(hook1 < 0.9 * hook0, "hook loss %g -> %g", hook0, hook1);
    ck_assert_msg(bpr1 < 0.7 * bpr0, "bpr %g -> %g", bpr0, bpr1);
    /* the host's own columns were never written by the hook */
    for (int i = 0; i < HI; i++) ck_assert(item_row(&m, i)[HD + 1] == 0.0f);
    ck_assert_int_eq(irllrec_hook_steps(h), STEPS);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    free(ut);
    free(it);
    free(up);
    free(ip);
}
END_TEST

Suite *hook_host_suite(void)
{
    Suite *s = suite_create("hook_host");
    TCase *tc = tcase_create("foreign");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, foreign_host_trains_with_the_hook);
    suite_add_tcase(s, tc);
    return s;
}
