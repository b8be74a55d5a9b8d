/* Golden tests: the library against an independent PyTorch float64 autograd
 * reference (tests/golden/gen_golden.py, fixtures tests/golden/<name>.bin):
 * the MLP, the interaction tower, InfoNCE, translation, the ITM CE, and the
 * merged public modules. The full hook is in test_golden_hook.c.
 * Tolerance: max|c - ref| / max|ref| <= 1e-4 per array. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "hook/hook_impl.h"
#include "tower/tower.h"
#include "helpers/testutil.h"
#include "helpers/goldfx.h"

static irllrec_mat gmat(const gfile *g, const char *name, float **keep)
{
    const garr *a = gold_get(g, name);
    *keep = gold_f32(g, name);
    return irllrec_mat_dense(*keep, a->dims[0], a->ndim == 2 ? a->dims[1] : a->dims[0] * 0 + 1);
}

/* A 1-D fixture array as a 1 x n matrix (biases). */
static irllrec_mat grow(const gfile *g, const char *name, float **keep)
{
    const garr *a = gold_get(g, name);
    *keep = gold_f32(g, name);
    return irllrec_mat_dense(*keep, 1, a->n);
}

static void mlp_load(irllrec_mlp *m, const gfile *g, const char *const names[4])
{
    float *t;
    for (int id = 0; id < 4; id++) {
        irllrec_mat src = (id % 2 == 0) ? gmat(g, names[id], &t) : grow(g, names[id], &t);
        ck_assert_int_eq(irllrec_mlp_set_param(m, id, src), IRLLREC_OK);
        free(t);
    }
}

/* The MLP's parameter gradients against the fixture's dw1, db1, dw2, db2. */
static void cmp_mlp_grads(const irllrec_mlp *m, const gfile *g)
{
    const char *gn[4] = {"dw1", "db1", "dw2", "db2"};
    for (int id = 0; id < 4; id++) {
        int64_t r, c;
        ck_assert_int_eq(irllrec_mlp_param_shape(m, id, &r, &c), IRLLREC_OK);
        float *gr = malloc((size_t)(r * c) * 4);
        ck_assert_int_eq(irllrec_mlp_get_grad(m, id, irllrec_mat_dense(gr, r, c)), IRLLREC_OK);
        gold_cmp_arr(g, gn[id], gr);
        free(gr);
    }
}

/* The MLP's row-range entry points (what the hook runs: a forward assembled
 * from two row ranges with different inputs, each range back through its
 * own backward). */
START_TEST(golden_mlp)
{
    gfile g;
    gold_load(&g, "mlp.bin");
    const garr *x = gold_get(&g, "x"), *w1 = gold_get(&g, "w1");
    const int64_t n = x->dims[0], din = x->dims[1], dh = w1->dims[0];
    const int64_t d = gold_get(&g, "w2")->dims[0];
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec s;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = (int32_t)din;
    s.hidden_dim = (int32_t)dh;
    s.out_dim = (int32_t)d;
    s.max_rows = n;
    irllrec_mlp *m = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    const char *const names[4] = {"w1", "b1", "w2", "b2"};
    mlp_load(m, &g, names);
    float *xf = gold_f32(&g, "x"), *wts = gold_f32(&g, "wts");
    float *out = malloc((size_t)(n * d) * 4), *dx = calloc((size_t)(n * din), 4);
    const int64_t n0 = n / 2;
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(xf, n0, din), 0,
                                            irllrec_mat_dense(out, n0, d)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(xf + n0 * din, n - n0, din), n0,
                                            irllrec_mat_dense(out + n0 * d, n - n0, d)),
                     IRLLREC_OK);
    gold_cmp_arr(&g, "out", out);
    double loss = 0.0;
    for (int64_t i = 0; i < n * d; i++) loss += (double)wts[i] * (double)out[i];
    gold_cmp_scalar("mlp loss", loss, gold_scalar(&g, "loss"));
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(xf, n0, din), 0,
                                             irllrec_cmat_dense(wts, n0, d),
                                             irllrec_mat_dense(dx, n0, din)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(xf + n0 * din, n - n0, din), n0,
                                             irllrec_cmat_dense(wts + n0 * d, n - n0, d),
                                             irllrec_mat_dense(dx + n0 * din, n - n0, din)),
                     IRLLREC_OK);
    gold_cmp_arr(&g, "dx", dx);
    cmp_mlp_grads(m, &g);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
    free(xf); free(wts); free(out); free(dx);
    gold_free(&g);
}
END_TEST

/* The tower as the hook runs it (the interaction-tower handle's anchor-rows
 * entry points), over every node as an anchor. */
static void tower_case(const char *file, int graph)
{
    gfile g;
    gold_load(&g, file);
    const int64_t U = (int64_t)gold_scalar(&g, "n_users");
    const garr *cua = gold_get(&g, "cu");
    const int64_t d = cua->dims[0], K = cua->dims[1];
    const int64_t N = gold_get(&g, "wts")->dims[0];
    const int nl = graph ? 2 : 1;
    float *e[2], *de[2];
    irllrec_mat em[2], dem[2];
    const char *en[2] = {"e0", "e1"}, *den[2] = {"de0", "de1"};
    for (int l = 0; l < nl; l++) {
        e[l] = gold_f32(&g, graph ? en[l] : "ef");
        de[l] = calloc((size_t)(N * d), 4);
        em[l] = irllrec_mat_dense(e[l], N, d);
        dem[l] = irllrec_mat_dense(de[l], N, d);
    }
    float *cu = gold_f32(&g, "cu"), *ci = gold_f32(&g, "ci"), *wts = gold_f32(&g, "wts");
    float *gcu = calloc((size_t)(d * K), 4), *gci = calloc((size_t)(d * K), 4);
    float *r = calloc((size_t)(N * d), 4);
    int64_t *nodes = malloc((size_t)N * sizeof(int64_t)), *ip = NULL;
    int32_t *ix = NULL;
    for (int64_t i = 0; i < N; i++) nodes[i] = i;
    irllrec_csr csr = {N, N, 0, NULL, NULL};
    if (graph) {
        const garr *pa = gold_get(&g, "indptr"), *ia = gold_get(&g, "indices");
        ip = malloc((size_t)pa->n * sizeof(int64_t));
        ix = malloc((size_t)ia->n * sizeof(int32_t) + 4);
        for (int64_t i = 0; i < pa->n; i++) ip[i] = (int64_t)pa->v[i];
        for (int64_t i = 0; i < ia->n; i++) ix[i] = (int32_t)ia->v[i];
        csr.nnz = ia->n;
        csr.indptr = ip;
        csr.indices = ix;
    }
    irllrec_ctx *ctx = tu_ctx();
    irllrec_intent_spec s;
    irllrec_intent_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = N - U;
    s.dim = (int32_t)d;
    s.n_intents = (int32_t)K;
    s.n_layers = nl;
    irllrec_intent *enc = NULL;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, graph ? &csr : NULL, &enc), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_set_param(enc, 0, irllrec_mat_dense(cu, d, K)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_set_param(enc, 1, irllrec_mat_dense(ci, d, K)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_forward_nodes(enc, em, nl, nodes, N,
                                                  irllrec_mat_dense(r, N, d)), IRLLREC_OK);
    gold_cmp_arr(&g, "r", r);
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, em, nl, nodes, N,
                                                   irllrec_cmat_dense(wts, N, d), dem),
                     IRLLREC_OK);
    for (int l = 0; l < nl; l++) gold_cmp_arr(&g, graph ? den[l] : "def", de[l]);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, 0, irllrec_mat_dense(gcu, d, K)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, 1, irllrec_mat_dense(gci, d, K)), IRLLREC_OK);
    gold_cmp_arr(&g, "dcu", gcu);
    gold_cmp_arr(&g, "dci", gci);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
    for (int l = 0; l < nl; l++) {
        free(e[l]);
        free(de[l]);
    }
    free(cu); free(ci); free(wts); free(gcu); free(gci); free(r); free(nodes); free(ip); free(ix);
    gold_free(&g);
}

START_TEST(golden_tower_graph) { tower_case("tower.bin", 1); }
END_TEST

START_TEST(golden_tower_graph_free) { tower_case("tower0.bin", 0); }
END_TEST

/* An alignment handle over b x m rows of width d with the given blocking. */
static irllrec_align *gold_align(irllrec_ctx *ctx, int64_t d, int64_t b, int64_t m, int32_t br,
                                 int32_t bc)
{
    irllrec_align_spec s;
    irllrec_align *al = NULL;
    irllrec_align_spec_init(&s, sizeof s);
    s.dim = (int32_t)d;
    s.max_rows = b;
    s.max_cols = m;
    s.block_rows = br;
    s.block_cols = bc;
    ck_assert_int_eq(irllrec_align_create(ctx, &s, &al), IRLLREC_OK);
    return al;
}

START_TEST(golden_infonce)
{
    gfile g;
    gold_load(&g, "infonce.bin");
    const garr *xa = gold_get(&g, "x"), *ya = gold_get(&g, "yall"), *pa = gold_get(&g, "pos");
    const int64_t b = xa->dims[0], d = xa->dims[1], m = ya->dims[0];
    float *x = gold_f32(&g, "x"), *y = gold_f32(&g, "yall");
    float *dx = calloc((size_t)(b * d), 4), *dy = calloc((size_t)(m * d), 4);
    int32_t pos[8];
    for (int64_t i = 0; i < b; i++) pos[i] = (int32_t)pa->v[i];
    irllrec_ctx *ctx = tu_ctx();
    /* The engine the hook runs on, blocked two ways: column blocks of 2 < m
     * (the streaming LSE crosses blocks, sweep 2 recomputes), then 3 rows
     * per block over every column (ragged last block, one exp per logit). */
    const int32_t br[2] = {0, 3}, bc[2] = {2, 0};
    const char *what[2] = {"infonce", "infonce strip"};
    for (int k = 0; k < 2; k++) {
        irllrec_align *al = gold_align(ctx, d, b, m, br[k], bc[k]);
        double l = 0.0;
        memset(dx, 0, (size_t)(b * d) * 4);
        memset(dy, 0, (size_t)(m * d) * 4);
        ck_assert_int_eq(irllrec_align_infonce(al, irllrec_mat_dense(x, b, d),
                                               irllrec_mat_dense(y, m, d), pos,
                                               gold_scalar(&g, "tau"), 1.0,
                                               irllrec_mat_dense(dx, b, d),
                                               irllrec_mat_dense(dy, m, d), &l),
                         IRLLREC_OK);
        gold_cmp_scalar(what[k], l, gold_scalar(&g, "loss"));
        gold_cmp_arr(&g, "dx", dx);
        gold_cmp_arr(&g, "dyall", dy);
        irllrec_align_free(al);
    }
    irllrec_ctx_free(ctx);
    free(x); free(y); free(dx); free(dy);
    gold_free(&g);
}
END_TEST

START_TEST(golden_tran)
{
    gfile g;
    gold_load(&g, "tran.bin");
    const garr *xa = gold_get(&g, "x");
    const int64_t n = xa->dims[0], d = xa->dims[1];
    float *x = gold_f32(&g, "x"), *y = gold_f32(&g, "y"), *e1 = gold_f32(&g, "eps1"), *e2 = gold_f32(&g, "eps2");
    float *dxt = calloc((size_t)(n * d), 4), *dyt = calloc((size_t)(n * d), 4);
    irllrec_ctx *ctx = tu_ctx();
    /* 3 x 2 blocks over a 7 x 7 matrix (ragged row and column edges), then
     * 3 rows per block over every column */
    const int32_t bc[2] = {2, 0};
    const char *what[2] = {"tran", "tran strip"};
    for (int k = 0; k < 2; k++) {
        irllrec_align *al = gold_align(ctx, d, n, n, 3, bc[k]);
        double l = 0.0;
        memset(dxt, 0, (size_t)(n * d) * 4);
        memset(dyt, 0, (size_t)(n * d) * 4);
        ck_assert_int_eq(irllrec_align_translation_noise(
                             al, irllrec_mat_dense(x, n, d), irllrec_mat_dense(y, n, d),
                             irllrec_mat_dense(e1, n, d), irllrec_mat_dense(e2, n, d),
                             irllrec_mat_dense(dxt, n, d), irllrec_mat_dense(dyt, n, d), &l),
                         IRLLREC_OK);
        gold_cmp_scalar(what[k], l, gold_scalar(&g, "loss"));
        gold_cmp_arr(&g, "dx", dxt);
        gold_cmp_arr(&g, "dy", dyt);
        irllrec_align_free(al);
    }
    irllrec_ctx_free(ctx);
    free(x); free(y); free(e1); free(e2); free(dxt); free(dyt);
    gold_free(&g);
}
END_TEST

START_TEST(golden_itm)
{
    gfile g;
    gold_load(&g, "itm.bin");
    const garr *xa = gold_get(&g, "x");
    const int64_t n = xa->dims[0], d = xa->dims[1];
    float *x = gold_f32(&g, "x"), *xm = gold_f32(&g, "xm"), *dx = calloc((size_t)(n * d), 4);
    float *p = malloc((size_t)(n * d) * 4);
    /* the ITM module's CE on raw rows: xm (the teacher's logits) becomes its softmax */
    double l = irllrec__itm_ce_fwd(n, d, x, d, xm, p);
    irllrec__itm_ce_bwd(n, d, p, xm, 1.0, n, dx, d);
    gold_cmp_scalar("itm ce", l, gold_scalar(&g, "loss"));
    gold_cmp_arr(&g, "dx", dx);
    free(x); free(xm); free(dx); free(p);
    gold_free(&g);
}
END_TEST

/* ---- the merged public modules against the same fixtures ------------------- */

START_TEST(golden_module_mlp)
{
    gfile g;
    gold_load(&g, "mlp.bin");
    const garr *x = gold_get(&g, "x"), *w2 = gold_get(&g, "w2");
    const int64_t n = x->dims[0], din = x->dims[1], d = w2->dims[0];
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec s;
    irllrec_mlp_spec_init(&s, sizeof s);
    s.in_dim = (int32_t)din;
    s.out_dim = (int32_t)d;
    s.max_rows = n;
    irllrec_mlp *m = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &s, &m), IRLLREC_OK);
    const char *const names[4] = {"w1", "b1", "w2", "b2"};
    mlp_load(m, &g, names);
    float *xf, *wts, *out = malloc((size_t)(n * d) * 4), *dx = calloc((size_t)(n * din), 4);
    irllrec_mat xm = gmat(&g, "x", &xf), dy = gmat(&g, "wts", &wts);
    ck_assert_int_eq(irllrec_mlp_forward(m, xm, irllrec_mat_dense(out, n, d)), IRLLREC_OK);
    gold_cmp_arr(&g, "out", out);
    ck_assert_int_eq(irllrec_mlp_backward(m, xm, dy, irllrec_mat_dense(dx, n, din)), IRLLREC_OK);
    gold_cmp_arr(&g, "dx", dx);
    cmp_mlp_grads(m, &g);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
    free(xf); free(wts); free(out); free(dx);
    gold_free(&g);
}
END_TEST

static void module_intent_case(const char *file, int graph)
{
    gfile g;
    gold_load(&g, file);
    const int64_t U = (int64_t)gold_scalar(&g, "n_users");
    const garr *cua = gold_get(&g, "cu");
    const int64_t d = cua->dims[0], K = cua->dims[1], N = gold_get(&g, "wts")->dims[0];
    const int nl = graph ? 2 : 1;
    irllrec_ctx *ctx = tu_ctx();
    irllrec_intent_spec s;
    irllrec_intent_spec_init(&s, sizeof s);
    s.dim = (int32_t)d;
    s.n_intents = (int32_t)K;
    s.n_layers = nl;
    s.n_users = U;
    s.n_items = N - U;
    int64_t *ip = NULL;
    int32_t *ix = NULL;
    irllrec_csr csr;
    if (graph) {
        const garr *pa = gold_get(&g, "indptr"), *ia = gold_get(&g, "indices");
        ip = malloc((size_t)pa->n * sizeof(int64_t));
        ix = malloc((size_t)ia->n * sizeof(int32_t));
        for (int64_t i = 0; i < pa->n; i++) ip[i] = (int64_t)pa->v[i];
        for (int64_t i = 0; i < ia->n; i++) ix[i] = (int32_t)ia->v[i];
        csr = (irllrec_csr){N, N, ia->n, ip, ix};
    }
    irllrec_intent *enc = NULL;
    ck_assert_int_eq(irllrec_intent_create(ctx, &s, graph ? &csr : NULL, &enc), IRLLREC_OK);
    float *cu, *ci, *wts;
    ck_assert_int_eq(irllrec_intent_set_param(enc, IRLLREC_INTENT_C_USER, gmat(&g, "cu", &cu)),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_set_param(enc, IRLLREC_INTENT_C_ITEM, gmat(&g, "ci", &ci)),
                     IRLLREC_OK);
    float *e[2], *de[2];
    irllrec_mat em[2], dem[2];
    const char *en[2] = {"e0", "e1"}, *den[2] = {"de0", "de1"};
    for (int l = 0; l < nl; l++) {
        em[l] = gmat(&g, graph ? en[l] : "ef", &e[l]);
        de[l] = calloc((size_t)(N * d), 4);
        dem[l] = irllrec_mat_dense(de[l], N, d);
    }
    float *r = malloc((size_t)(N * d) * 4);
    ck_assert_int_eq(irllrec_intent_forward(enc, em, nl, irllrec_mat_dense(r, N, d)), IRLLREC_OK);
    gold_cmp_arr(&g, "r", r);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, nl, gmat(&g, "wts", &wts), dem), IRLLREC_OK);
    for (int l = 0; l < nl; l++) gold_cmp_arr(&g, graph ? den[l] : "def", de[l]);
    float *gc = malloc((size_t)(d * K) * 4);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, IRLLREC_INTENT_C_USER,
                                             irllrec_mat_dense(gc, d, K)), IRLLREC_OK);
    gold_cmp_arr(&g, "dcu", gc);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, IRLLREC_INTENT_C_ITEM,
                                             irllrec_mat_dense(gc, d, K)), IRLLREC_OK);
    gold_cmp_arr(&g, "dci", gc);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
    for (int l = 0; l < nl; l++) {
        free(e[l]);
        free(de[l]);
    }
    free(cu); free(ci); free(wts); free(r); free(gc); free(ip); free(ix);
    gold_free(&g);
}

START_TEST(golden_module_intent_graph) { module_intent_case("tower.bin", 1); }
END_TEST

START_TEST(golden_module_intent_graph_free) { module_intent_case("tower0.bin", 0); }
END_TEST

/* irllrec_itm over irllrec_mlp: EMA before the teacher forward, then the CE
 * of the hook fixture (teacher and student on the N intent rows). */
START_TEST(golden_module_itm)
{
    gfile g;
    gold_load(&g, "hook.bin");
    const int64_t U = (int64_t)gold_scalar(&g, "n_users"), I = (int64_t)gold_scalar(&g, "n_items");
    const int64_t N = U + I, dt = gold_get(&g, "tu")->dims[1], d = gold_get(&g, "ef")->dims[1];
    irllrec_ctx *ctx = tu_ctx();
    irllrec_mlp_spec ms;
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = (int32_t)dt;
    ms.out_dim = (int32_t)d;
    ms.max_rows = N;
    irllrec_mlp *st = NULL;
    ck_assert_int_eq(irllrec_mlp_create(ctx, &ms, &st), IRLLREC_OK);
    const char *const sn[4] = {"int_w1", "int_b1", "int_w2", "int_b2"};
    const char *const tn[4] = {"tm_w1", "tm_b1", "tm_w2", "tm_b2"};
    const char *const tnn[4] = {"tmn_w1", "tmn_b1", "tmn_w2", "tmn_b2"};
    mlp_load(st, &g, sn);
    irllrec_itm_spec is;
    irllrec_itm_spec_init(&is, sizeof is);
    is.momentum = gold_scalar(&g, "momentum");
    irllrec_itm *itm = NULL;
    ck_assert_int_eq(irllrec_itm_create(ctx, &is, st, &itm), IRLLREC_OK);
    mlp_load(irllrec_itm_teacher(itm), &g, tn);
    ck_assert_int_eq(irllrec_itm_update_teacher(itm), IRLLREC_OK);
    for (int id = 0; id < 4; id++) {
        int64_t r, c;
        ck_assert_int_eq(irllrec_mlp_param_shape(st, id, &r, &c), IRLLREC_OK);
        float *w = malloc((size_t)(r * c) * 4);
        ck_assert_int_eq(irllrec_mlp_get_param(irllrec_itm_teacher(itm), id,
                                               irllrec_mat_dense(w, r, c)), IRLLREC_OK);
        gold_cmp_arr(&g, tnn[id], w);
        free(w);
    }
    float *t = malloc((size_t)(N * dt) * 4), *z = malloc((size_t)(N * d) * 4);
    float *tu = gold_f32(&g, "tu"), *ti = gold_f32(&g, "ti");
    memcpy(t, tu, (size_t)(U * dt) * 4);
    memcpy(t + U * dt, ti, (size_t)(I * dt) * 4);
    irllrec_mat tm = irllrec_mat_dense(t, N, dt), zm = irllrec_mat_dense(z, N, d);
    ck_assert_int_eq(irllrec_mlp_forward(st, tm, zm), IRLLREC_OK);
    double ce = 0.0;
    ck_assert_int_eq(irllrec_itm_forward(itm, tm, zm, &ce), IRLLREC_OK);
    gold_cmp_scalar("itm module ce", ce, gold_scalar(&g, "ce"));
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
    free(t); free(z); free(tu); free(ti);
    gold_free(&g);
}
END_TEST

Suite *golden_suite(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("pytorch");
    tcase_add_test(tc, golden_mlp);
    tcase_add_test(tc, golden_tower_graph);
    tcase_add_test(tc, golden_tower_graph_free);
    tcase_add_test(tc, golden_infonce);
    tcase_add_test(tc, golden_tran);
    tcase_add_test(tc, golden_itm);
    tcase_add_test(tc, golden_module_mlp);
    tcase_add_test(tc, golden_module_intent_graph);
    tcase_add_test(tc, golden_module_intent_graph_free);
    tcase_add_test(tc, golden_module_itm);
    suite_add_tcase(s, tc);
    return s;
}
