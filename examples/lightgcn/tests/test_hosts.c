/* The SGL, SimGCL and MF hosts (hosts.c): finite differences of each whole
 * host loss (BPR + reg + contrastive, and with the IRLLRec hook) w.r.t.
 * E(0) with the step's masks and noise held fixed (LGCN_REPLAY), SimGCL's
 * perturbation and SGL's views against what they must be by construction,
 * the MF host with a graph-free hook, whole training steps that do not
 * depend on the thread count, and data-parallel steps over two ranks
 * (lgcn_host_train_step_coll, threads as ranks). Public API only. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hosts.h"
#include "helpers/testutil.h"
#include "helpers/gradcheck.h"
#include "helpers/coll_threads.h"

Suite *hosts_suite(void);

enum { HU = 6, HI = 7, HD = 4, HB = 4, HDP = 5, HDT = 6 };

typedef struct hfx {
    irllrec_ctx *ctx;
    int64_t ip[HU + 1];
    int32_t ix[HU * HI];
    irllrec_csr g;
    lgcn *m;
    lgcn_host *h;
    lgcn_host_cfg hc;
    lgcn_irl_cfg ic;
    int with_hook;
    float prf_u[HU * HDP], prf_i[HI * HDP], int_u[HU * HDT], int_i[HI * HDT];
    int32_t u[HB], p[HB], n[HB];
    lgcn_host_losses last;
} hfx;

static uint64_t hrng = 1;
static double hunif(void)
{
    hrng = hrng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(hrng >> 11) * (1.0 / 9007199254740992.0);
}

static void fill(float *x, int64_t n)
{
    for (int64_t k = 0; k < n; k++) x[k] = (float)(2.0 * hunif() - 1.0);
}

/* A 6 x 7 graph, E(0) of order 1, strong contrastive weight, L layers. */
static void hfx_make(hfx *f, int32_t model, int32_t L, int32_t nt, int with_hook)
{
    lgcn_spec s;
    char err[256] = "";
    memset(f, 0, sizeof *f);
    hrng = 4242;
    f->ctx = tu_ctx_threads(nt);
    ck_assert_ptr_nonnull(f->ctx);
    f->ip[0] = 0;
    for (int u = 0; u < HU; u++) {
        int64_t k = f->ip[u];
        for (int i = 0; i < HI; i++)
            if (i == u || hunif() < 0.3) f->ix[k++] = i;
        f->ip[u + 1] = k;
    }
    f->g = (irllrec_csr){HU, HI, f->ip[HU], f->ip, f->ix};
    lgcn_spec_init(&s);
    s.n_users = HU;
    s.n_items = HI;
    s.dim = HD;
    s.n_layers = L;
    s.keep_rate = model == LGCN_MODEL_SGL ? 0.7 : 1.0;
    s.reg = 1e-3;
    s.seed = 11;
    s.n_threads = nt;
    ck_assert_msg(lgcn_create(&s, &f->g, &f->m, err, sizeof err) == IRLLREC_OK, "%s", err);
    fill(lgcn_params(f->m), (HU + HI) * HD);
    fill(f->prf_u, HU * HDP);
    fill(f->prf_i, HI * HDP);
    fill(f->int_u, HU * HDT);
    fill(f->int_i, HI * HDT);
    for (int b = 0; b < HB; b++) {
        f->u[b] = (int32_t)(b % HU);
        f->p[b] = f->ix[f->ip[f->u[b]]];
        f->n[b] = (int32_t)((f->p[b] + 3) % HI);
    }
    f->u[3] = 1; /* a repeated user: counted twice in the contrastive terms */
    f->p[3] = f->p[1];
    f->hc = (lgcn_host_cfg){model, 0.5, 0.4, 0.3, HB, 5};
    ck_assert_msg(lgcn_host_create(f->ctx, f->m, &f->hc, &f->h, err, sizeof err) == IRLLREC_OK,
                  "%s", err);
    lgcn_irl_cfg_init(&f->ic);
    f->ic.n_intents = 3;
    f->ic.max_batch = HB;
    f->ic.seed = 99;
    f->ic.w_kd = f->ic.w_pair = 1.0;
    f->ic.w_tran = f->ic.w_itm = 0.0;
    f->ic.tau_kd = f->ic.tau_pair = 0.5;
    f->ic.reg = 1e-3;
    f->with_hook = with_hook;
}

static void hfx_free(hfx *f)
{
    lgcn_host_free(f->h);
    lgcn_free(f->m);
    irllrec_ctx_free(f->ctx);
}

static lgcn_irl *hfx_hook(hfx *f)
{
    lgcn_irl *x = NULL;
    irllrec_status st = lgcn_irl_create(
        f->ctx, f->m, &f->ic, irllrec_mat_dense(f->prf_u, HU, HDP),
        irllrec_mat_dense(f->prf_i, HI, HDP), irllrec_mat_dense(f->int_u, HU, HDT),
        irllrec_mat_dense(f->int_i, HI, HDT), &x);
    ck_assert_msg(st == IRLLREC_OK, "%s", irllrec_ctx_errmsg(f->ctx));
    return x;
}

/* The whole loss at the current E(0) with the last step's masks and noise;
 * a fresh hook (same seed) each time, as its step moves its own weights. */
static double hfx_loss(void *ud)
{
    hfx *f = (hfx *)ud;
    lgcn_irl *x = f->with_hook ? hfx_hook(f) : NULL;
    irllrec_status st = lgcn_host_grad(f->h, x, LGCN_REPLAY, f->u, f->p, f->n, HB, &f->last);
    ck_assert_msg(st == IRLLREC_OK, "%s", irllrec_ctx_errmsg(f->ctx));
    lgcn_irl_free(x);
    return f->last.total;
}

/* Smallest |E(l)| entry over the perturbed views' layers: SimGCL's noise
 * follows sign(E(l)), so a finite difference across a sign change is not a
 * derivative. A step h = 1e-3 (|x| <= 1) in one E(0) entry moves an E(l)
 * entry of this graph by at most ~2h (the entries of Â^l are <= 1 here and
 * the noise is a constant), so entries beyond 5e-3 cannot change sign. */
static double min_abs_layer(lgcn *m)
{
    double mn = INFINITY;
    for (int32_t v = 0; v < 3; v++) {
        lgcn_view_select(m, v);
        for (int32_t l = 1; l <= lgcn_n_layers(m); l++)
            for (int64_t k = 0; k < lgcn_n_nodes(m) * lgcn_dim(m); k++)
                mn = fmin(mn, fabs((double)lgcn_layer(m, l)[k]));
    }
    lgcn_view_select(m, 0);
    return mn;
}

static void fd_host(int32_t model, int with_hook)
{
    hfx f;
    const int64_t nd = (HU + HI) * HD;
    float g_ana[(HU + HI) * HD];
    gc_block blk;
    gc_opts o;
    gc_result res;
    lgcn_irl *x;
    hfx_make(&f, model, model == LGCN_MODEL_MF ? 0 : 2, 1, with_hook);
    x = with_hook ? hfx_hook(&f) : NULL;
    ck_assert_int_eq(lgcn_host_grad(f.h, x, LGCN_TRAIN, f.u, f.p, f.n, HB, &f.last), IRLLREC_OK);
    lgcn_irl_free(x);
    memcpy(g_ana, lgcn_grad(f.m), sizeof g_ana);
    ck_assert(f.last.bpr > 0 && f.last.reg > 0);
    ck_assert(model == LGCN_MODEL_MF || f.last.cl > 0.1);
    ck_assert(!with_hook || (f.last.hook.kd > 0 && f.last.hook.pair > 0));
    if (model == LGCN_MODEL_SIMGCL)
        ck_assert_msg(min_abs_layer(f.m) > 5e-3, "fixture: |E(l)| %.3g near 0",
                      min_abs_layer(f.m));
    /* REPLAY repeats the step exactly: same total */
    {
        double t0 = f.last.total;
        ck_assert(hfx_loss(&f) == t0);
    }
    blk = (gc_block){"E(0)", lgcn_params(f.m), g_ana, nd};
    gc_opts_default(&o);
    /* docs/lightgcn.md's tolerance: float32 round-off of the O(1)-O(10) total
     * over a 2e-3 step resolves differences of about 2e-4, no finer */
    o.abs_floor = 2e-4;
    gc_check(hfx_loss, &f, &blk, 1, &o, &res);
    ck_assert_msg(res.ok, "%s", res.msg);
    ck_assert_int_eq(res.n_checked, nd);
    hfx_free(&f);
}

START_TEST(sgl_gradcheck) { fd_host(LGCN_MODEL_SGL, 0); }
END_TEST
START_TEST(sgl_gradcheck_with_hook) { fd_host(LGCN_MODEL_SGL, 1); }
END_TEST
START_TEST(simgcl_gradcheck) { fd_host(LGCN_MODEL_SIMGCL, 0); }
END_TEST
START_TEST(simgcl_gradcheck_with_hook) { fd_host(LGCN_MODEL_SIMGCL, 1); }
END_TEST

/* SimGCL, L = 1: view v's layer 1 is the plain E(1) plus eps * sign(E(1)) *
 * u / |u| with u in [0,1)^d, so per row the difference has norm eps and the
 * signs of E(1); the two views draw different u; E_final = E(0) + E(1). */
START_TEST(simgcl_perturbation_by_construction)
{
    hfx f;
    const int64_t N = HU + HI;
    float plain[(HU + HI) * HD], fin[2][(HU + HI) * HD];
    double max_dev = 0.0, diff12 = 0.0;
    hfx_make(&f, LGCN_MODEL_SIMGCL, 1, 1, 0);
    ck_assert_int_eq(lgcn_host_grad(f.h, NULL, LGCN_TRAIN, f.u, f.p, f.n, HB, NULL), IRLLREC_OK);
    memcpy(plain, lgcn_layer(f.m, 1), sizeof plain);
    for (int32_t v = 1; v <= 2; v++) {
        const float *e1, *fv, *e0 = lgcn_params(f.m);
        lgcn_view_select(f.m, v);
        e1 = lgcn_layer(f.m, 1);
        fv = lgcn_final(f.m);
        for (int64_t r = 0; r < N; r++) {
            double sq = 0.0;
            for (int c = 0; c < HD; c++) {
                double dlt = (double)e1[r * HD + c] - (double)plain[r * HD + c];
                sq += dlt * dlt;
                ck_assert(dlt * (double)plain[r * HD + c] >= 0.0);
                ck_assert(fabs((double)fv[r * HD + c] - e0[r * HD + c] - e1[r * HD + c]) < 1e-6);
            }
            max_dev = fmax(max_dev, fabs(sqrt(sq) - f.hc.eps));
        }
        memcpy(fin[v - 1], fv, sizeof fin[0]);
    }
    lgcn_view_select(f.m, 0);
    for (int64_t k = 0; k < N * HD; k++) diff12 = fmax(diff12, fabs(fin[0][k] - fin[1][k]));
    ck_assert_msg(max_dev < 1e-5, "row norm of the noise off eps by %g", max_dev);
    ck_assert(diff12 > 1e-3);
    hfx_free(&f);
}
END_TEST

/* SimGCL, L = 2: the second layer propagates the PERTURBED first one:
 * E(2)_view - Â E(1)_view is again noise of row norm eps (Â by hand). */
START_TEST(simgcl_next_layer_propagates_the_perturbed_one)
{
    hfx f;
    const int64_t N = HU + HI;
    double deg[HU + HI] = {0}, max_dev = 0.0;
    hfx_make(&f, LGCN_MODEL_SIMGCL, 2, 1, 0);
    ck_assert_int_eq(lgcn_host_grad(f.h, NULL, LGCN_TRAIN, f.u, f.p, f.n, HB, NULL), IRLLREC_OK);
    for (int u = 0; u < HU; u++)
        for (int64_t k = f.ip[u]; k < f.ip[u + 1]; k++) {
            deg[u] += 1.0;
            deg[HU + f.ix[k]] += 1.0;
        }
    lgcn_view_select(f.m, 1);
    {
        const float *e1 = lgcn_layer(f.m, 1), *e2 = lgcn_layer(f.m, 2);
        double ae[(HU + HI) * HD] = {0};
        for (int u = 0; u < HU; u++)
            for (int64_t k = f.ip[u]; k < f.ip[u + 1]; k++) {
                int64_t i = HU + f.ix[k];
                double a = 1.0 / sqrt(deg[u] * deg[i]);
                for (int c = 0; c < HD; c++) {
                    ae[u * HD + c] += a * e1[i * HD + c];
                    ae[i * HD + c] += a * e1[u * HD + c];
                }
            }
        for (int64_t r = 0; r < N; r++) {
            double sq = 0.0;
            for (int c = 0; c < HD; c++) sq += pow((double)e2[r * HD + c] - ae[r * HD + c], 2);
            max_dev = fmax(max_dev, fabs(sqrt(sq) - f.hc.eps));
        }
    }
    lgcn_view_select(f.m, 0);
    ck_assert_msg(max_dev < 1e-5, "E(2) - Â E(1) off eps by %g", max_dev);
    hfx_free(&f);
}
END_TEST

/* SGL: each view drops its own edges (keep 0.7 of 2 x nnz, two different
 * masks); BPR's forward (view 0) uses every edge. */
START_TEST(sgl_views_have_their_own_masks)
{
    hfx f;
    int64_t e1, e2, all;
    float f1[(HU + HI) * HD];
    hfx_make(&f, LGCN_MODEL_SGL, 2, 1, 0);
    ck_assert_int_eq(lgcn_host_grad(f.h, NULL, LGCN_TRAIN, f.u, f.p, f.n, HB, NULL), IRLLREC_OK);
    all = lgcn_n_edges(f.m);
    ck_assert_int_eq(lgcn_edges_used(f.m), all);
    lgcn_view_select(f.m, 1);
    e1 = lgcn_edges_used(f.m);
    memcpy(f1, lgcn_final(f.m), sizeof f1);
    lgcn_view_select(f.m, 2);
    e2 = lgcn_edges_used(f.m);
    ck_assert(memcmp(f1, lgcn_final(f.m), sizeof f1) != 0);
    lgcn_view_select(f.m, 0);
    ck_assert(e1 < all && e2 < all && e1 > 0 && e2 > 0);
    ck_assert_int_eq(lgcn_view_current(f.m), 0);
    hfx_free(&f);
}
END_TEST

/* MF through the hook's graph-free mode: the model has no layers
 * (E_final = E(0)), so lgcn_irl_create makes the hook with n_layers 0 and
 * never calls irllrec_hook_set_graph. Several Adam steps lower the total on
 * a toy problem, and the host's gradient matches finite differences. */
START_TEST(mf_hook_graph_free)
{
    hfx f;
    lgcn_opt *o = NULL;
    lgcn_irl *x;
    char err[256] = "";
    double first = 0.0, last = 0.0;
    hfx_make(&f, LGCN_MODEL_MF, 0, 1, 1);
    x = hfx_hook(&f);
    ck_assert_ptr_null(lgcn_irl_layer_grads(x));
    ck_assert_int_eq(lgcn_opt_create(f.m, 2e-2, &o, err, sizeof err), IRLLREC_OK);
    for (int s = 0; s < 12; s++) {
        lgcn_host_losses l;
        ck_assert_int_eq(lgcn_host_train_step(f.h, x, o, f.u, f.p, f.n, HB, &l), IRLLREC_OK);
        ck_assert(isfinite(l.total) && l.hook.kd > 0 && l.hook.pair > 0);
        if (s == 0) first = l.total;
        last = l.total;
    }
    ck_assert_int_eq(irllrec_hook_steps(lgcn_irl_hook(x)), 12);
    ck_assert_msg(last < 0.9 * first, "total %g -> %g", first, last);
    lgcn_irl_free(x);
    lgcn_opt_free(o);
    hfx_free(&f);
    fd_host(LGCN_MODEL_MF, 1);
}
END_TEST

/* A few whole steps (Adam included) on 1, 2 and 3 threads: the same bits. */
static void steps_on(int32_t model, int with_hook, int32_t nt, float *out)
{
    hfx f;
    lgcn_opt *o = NULL;
    lgcn_irl *x;
    char err[256] = "";
    hfx_make(&f, model, model == LGCN_MODEL_MF ? 0 : 2, nt, with_hook);
    x = with_hook ? hfx_hook(&f) : NULL;
    ck_assert_int_eq(lgcn_opt_create(f.m, 1e-2, &o, err, sizeof err), IRLLREC_OK);
    for (int s = 0; s < 4; s++)
        ck_assert_int_eq(lgcn_host_train_step(f.h, x, o, f.u, f.p, f.n, HB, NULL), IRLLREC_OK);
    memcpy(out, lgcn_params(f.m), (size_t)(HU + HI) * HD * sizeof(float));
    lgcn_irl_free(x);
    lgcn_opt_free(o);
    hfx_free(&f);
}

START_TEST(steps_do_not_depend_on_thread_count)
{
    const int32_t models[4] = {LGCN_MODEL_LIGHTGCN, LGCN_MODEL_SGL, LGCN_MODEL_SIMGCL,
                               LGCN_MODEL_MF};
    float a[(HU + HI) * HD], b[(HU + HI) * HD], c[(HU + HI) * HD];
    for (int k = 0; k < 4; k++)
        for (int hook = 0; hook <= 1; hook++) {
            steps_on(models[k], hook, 1, a);
            steps_on(models[k], hook, 2, b);
            steps_on(models[k], hook, 3, c);
            ck_assert_msg(memcmp(a, b, sizeof a) == 0 && memcmp(a, c, sizeof a) == 0,
                          "%s%s: parameters differ across thread counts",
                          lgcn_model_name(models[k]), hook ? " + IRLLRec" : "");
        }
}
END_TEST

START_TEST(host_create_refuses_bad_settings)
{
    hfx f;
    lgcn_host *h = NULL;
    lgcn_host_cfg c;
    char err[256] = "";
    hfx_make(&f, LGCN_MODEL_SGL, 2, 1, 0);
    c = f.hc;
    c.model = 7;
    ck_assert_int_eq(lgcn_host_create(f.ctx, f.m, &c, &h, err, sizeof err), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(err, "model 7"));
    c = f.hc;
    c.cl_tau = 0.0;
    ck_assert_int_eq(lgcn_host_create(f.ctx, f.m, &c, &h, err, sizeof err), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "cl_tau"));
    c = f.hc;
    c.model = LGCN_MODEL_MF; /* the fixture's model has 2 layers */
    ck_assert_int_eq(lgcn_host_create(f.ctx, f.m, &c, &h, err, sizeof err), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err, "0 layers"));
    ck_assert_int_eq(lgcn_model_parse("simgcl"), LGCN_MODEL_SIMGCL);
    ck_assert_int_eq(lgcn_model_parse("SGL"), -1);
    ck_assert_ptr_null(lgcn_model_name(4));
    hfx_free(&f);
}
END_TEST

/* ---- data-parallel steps (lgcn_host_train_step_coll) -------------------- */

/* Two ranks as two threads (tests/helpers/coll_threads.h), each with its
 * own model and host made from the same seed; rank r trains on triples
 * [2r, 2r + 2) of the batch. */
typedef struct dp_job {
    hfx f[2];
    lgcn_opt *o[2];
    lgcn_irl *x[2];
    int steps;
} dp_job;

static int dp_rank(tu_group *g, int32_t rank, void *arg)
{
    dp_job *j = (dp_job *)arg;
    hfx *f = &j->f[rank];
    irllrec_collective c;
    tu_group_layer(g, rank, &c);
    if (j->x[rank] != NULL && irllrec_hook_set_collective(lgcn_irl_hook(j->x[rank]), &c) != IRLLREC_OK)
        return -1;
    for (int s = 0; s < j->steps; s++)
        if (lgcn_host_train_step_coll(f->h, j->x[rank], j->o[rank], &c, f->u + 2 * rank,
                                      f->p + 2 * rank, f->n + 2 * rank, 2, NULL) != IRLLREC_OK)
            return -1;
    return 0;
}

/* The same steps in one process: each half's gradient (the second with the
 * first's masks and noise, LGCN_REPLAY), summed in rank order, halved, Adam. */
static void dp_reference(int32_t model, int steps, float *out)
{
    const int64_t nd = (HU + HI) * HD;
    hfx f;
    lgcn_opt *o = NULL;
    float *ga = (float *)malloc((size_t)nd * sizeof(float));
    char err[256] = "";
    ck_assert_ptr_nonnull(ga);
    hfx_make(&f, model, model == LGCN_MODEL_MF ? 0 : 2, 1, 0);
    ck_assert_int_eq(lgcn_opt_create(f.m, 1e-2, &o, err, sizeof err), IRLLREC_OK);
    for (int s = 0; s < steps; s++) {
        float *g = lgcn_grad(f.m);
        ck_assert_int_eq(lgcn_host_grad(f.h, NULL, LGCN_TRAIN, f.u, f.p, f.n, 2, NULL), IRLLREC_OK);
        memcpy(ga, g, (size_t)nd * sizeof(float));
        ck_assert_int_eq(lgcn_host_grad(f.h, NULL, LGCN_REPLAY, f.u + 2, f.p + 2, f.n + 2, 2, NULL),
                         IRLLREC_OK);
        for (int64_t k = 0; k < nd; k++) g[k] = (ga[k] + g[k]) / 2.0f;
        ck_assert_int_eq(lgcn_opt_step(o), IRLLREC_OK);
    }
    memcpy(out, lgcn_params(f.m), (size_t)nd * sizeof(float));
    free(ga);
    lgcn_opt_free(o);
    hfx_free(&f);
}

static void dp_run(int32_t model, int with_hook, int steps, float *out0, float *out1)
{
    dp_job j;
    tu_group *g = tu_group_create(2, 30.0);
    int res[2] = {-1, -1};
    char err[256] = "";
    ck_assert_ptr_nonnull(g);
    memset(&j, 0, sizeof j);
    j.steps = steps;
    for (int r = 0; r < 2; r++) { /* hfx_make draws from one global stream: not on the threads */
        hfx_make(&j.f[r], model, model == LGCN_MODEL_MF ? 0 : 2, 1, with_hook);
        ck_assert_int_eq(lgcn_opt_create(j.f[r].m, 1e-2, &j.o[r], err, sizeof err), IRLLREC_OK);
        j.x[r] = with_hook ? hfx_hook(&j.f[r]) : NULL;
    }
    ck_assert_int_eq(tu_group_run(g, dp_rank, &j, res), 0);
    ck_assert_msg(res[0] == 0 && res[1] == 0, "%s: a rank failed: %s / %s",
                  lgcn_model_name(model), irllrec_ctx_errmsg(j.f[0].ctx),
                  irllrec_ctx_errmsg(j.f[1].ctx));
    memcpy(out0, lgcn_params(j.f[0].m), (size_t)(HU + HI) * HD * sizeof(float));
    memcpy(out1, lgcn_params(j.f[1].m), (size_t)(HU + HI) * HD * sizeof(float));
    for (int r = 0; r < 2; r++) {
        lgcn_irl_free(j.x[r]);
        lgcn_opt_free(j.o[r]);
        hfx_free(&j.f[r]);
    }
    tu_group_free(g);
}

static int same_values(const float *a, const float *b, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        if (!(a[k] == b[k])) return 0;
    return 1;
}

/* Every host: two ranks hold the same E(0) after each run of steps, equal to
 * one process that averages the two halves' gradients (the same sums in the
 * same order); with the hook the two ranks still agree bit for bit. With one
 * rank (irllrec_collective_single) the step is lgcn_host_train_step's. */
START_TEST(data_parallel_steps)
{
    const int32_t models[4] = {LGCN_MODEL_LIGHTGCN, LGCN_MODEL_SGL, LGCN_MODEL_SIMGCL,
                               LGCN_MODEL_MF};
    const int64_t nd = (HU + HI) * HD;
    float r0[(HU + HI) * HD], r1[(HU + HI) * HD], ref[(HU + HI) * HD];
    for (int k = 0; k < 4; k++) {
        const char *name = lgcn_model_name(models[k]);
        dp_run(models[k], 0, 3, r0, r1);
        dp_reference(models[k], 3, ref);
        ck_assert_msg(memcmp(r0, r1, sizeof r0) == 0, "%s: the ranks differ", name);
        ck_assert_msg(same_values(r0, ref, nd), "%s: 2 ranks differ from the one-process "
                      "average of the two halves", name);
        dp_run(models[k], 1, 3, r0, r1);
        ck_assert_msg(memcmp(r0, r1, sizeof r0) == 0, "%s + IRLLRec: the ranks differ", name);
        for (int hook = 0; hook <= 1; hook++) {
            irllrec_collective one;
            hfx f;
            lgcn_opt *o = NULL;
            lgcn_irl *x;
            char err[256] = "";
            irllrec_collective_single(&one, sizeof one);
            steps_on(models[k], hook, 1, ref);
            hfx_make(&f, models[k], models[k] == LGCN_MODEL_MF ? 0 : 2, 1, hook);
            x = hook ? hfx_hook(&f) : NULL;
            ck_assert_int_eq(lgcn_opt_create(f.m, 1e-2, &o, err, sizeof err), IRLLREC_OK);
            for (int s = 0; s < 4; s++)
                ck_assert_int_eq(lgcn_host_train_step_coll(f.h, x, o, &one, f.u, f.p, f.n, HB,
                                                           NULL), IRLLREC_OK);
            ck_assert_msg(memcmp(lgcn_params(f.m), ref, sizeof ref) == 0,
                          "%s%s: one rank differs from lgcn_host_train_step", name,
                          hook ? " + IRLLRec" : "");
            lgcn_irl_free(x);
            lgcn_opt_free(o);
            hfx_free(&f);
        }
    }
}
END_TEST

Suite *hosts_suite(void)
{
    Suite *s = suite_create("hosts");
    TCase *tc = tcase_create("hosts");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sgl_gradcheck);
    tcase_add_test(tc, sgl_gradcheck_with_hook);
    tcase_add_test(tc, simgcl_gradcheck);
    tcase_add_test(tc, simgcl_gradcheck_with_hook);
    tcase_add_test(tc, simgcl_perturbation_by_construction);
    tcase_add_test(tc, simgcl_next_layer_propagates_the_perturbed_one);
    tcase_add_test(tc, sgl_views_have_their_own_masks);
    tcase_add_test(tc, mf_hook_graph_free);
    tcase_add_test(tc, steps_do_not_depend_on_thread_count);
    tcase_add_test(tc, host_create_refuses_bad_settings);
    tcase_add_test(tc, data_parallel_steps);
    suite_add_tcase(s, tc);
    return s;
}
