/* Golden tests: the library against an independent PyTorch float64 autograd
 * reference (tests/golden/gen_golden.py, fixtures tests/golden/<name>.bin).
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

#define GOLD_TOL gold_tol
/* 1e-4, except in golden_hook_paper_bf16, which sets and restores it (the
 * hook's text precision likewise). */
static double gold_tol = 1e-4;
static int32_t gold_text_precision = IRLLREC_HOOK_TEXT_FP32;
#define MAXARR 128

typedef struct garr {
    char name[64];
    uint32_t ndim, dims[2];
    int64_t n;
    double *v;
} garr;

typedef struct gfile {
    int n;
    garr a[MAXARR];
    unsigned char *buf;
} gfile;

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static double rd_f64(const unsigned char *p)
{
    uint64_t u = 0;
    double v;
    for (int i = 7; i >= 0; i--) u = u << 8 | p[i];
    memcpy(&v, &u, sizeof v);
    return v;
}

static void gload(gfile *g, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/golden/%s", IRLLREC_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len);
    ck_assert(b != NULL);
    ck_assert_int_eq((long)fread(b, 1, (size_t)len, f), len);
    fclose(f);
    ck_assert(len > 12 && memcmp(b, "IRLGOLD1", 8) == 0);
    g->n = (int)rd_u32(b + 8);
    ck_assert(g->n <= MAXARR);
    long o = 12;
    for (int i = 0; i < g->n; i++) {
        garr *a = &g->a[i];
        uint32_t nl = rd_u32(b + o);
        o += 4;
        ck_assert(nl < sizeof a->name);
        memcpy(a->name, b + o, nl);
        a->name[nl] = 0;
        o += nl;
        a->ndim = rd_u32(b + o);
        o += 4;
        a->n = 1;
        a->dims[1] = 1;
        for (uint32_t k = 0; k < a->ndim; k++) {
            a->dims[k] = rd_u32(b + o);
            a->n *= a->dims[k];
            o += 4;
        }
        a->v = malloc((size_t)a->n * sizeof(double));
        for (int64_t k = 0; k < a->n; k++) a->v[k] = rd_f64(b + o + 8 * k);
        o += 8 * a->n;
        ck_assert(o <= len);
    }
    g->buf = b;
}

static void gfree(gfile *g)
{
    for (int i = 0; i < g->n; i++) free(g->a[i].v);
    free(g->buf);
}

static const garr *gget(const gfile *g, const char *name)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->a[i].name, name) == 0) return &g->a[i];
    ck_abort_msg("fixture has no array %s", name);
    return NULL;
}

static double gscalar(const gfile *g, const char *name)
{
    return gget(g, name)->v[0];
}

/* A float copy of an array (caller frees). */
static float *gf(const gfile *g, const char *name)
{
    const garr *a = gget(g, name);
    float *f = malloc((size_t)a->n * sizeof(float));
    for (int64_t i = 0; i < a->n; i++) f[i] = (float)a->v[i];
    return f;
}

static void cmp(const char *what, const float *c, const double *ref, int64_t n)
{
    double mx = 0.0, err = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(ref[i]));
        err = fmax(err, fabs((double)c[i] - ref[i]));
    }
    ck_assert_msg(mx > 0.0, "%s: reference is all zero", what);
    ck_assert_msg(err / mx <= GOLD_TOL, "%s: max err %.3g, rel %.3g > %g", what, err, err / mx,
                  GOLD_TOL);
}

static void cmp_arr(const gfile *g, const char *name, const float *c)
{
    const garr *a = gget(g, name);
    cmp(name, c, a->v, a->n);
}

static void cmp_scalar(const char *what, double c, double ref)
{
    ck_assert_msg(fabs(c - ref) <= GOLD_TOL * fabs(ref), "%s: %.10g vs reference %.10g", what, c,
                  ref);
}

static irllrec_mat gmat(const gfile *g, const char *name, float **keep)
{
    const garr *a = gget(g, name);
    *keep = gf(g, name);
    return irllrec_mat_dense(*keep, a->dims[0], a->ndim == 2 ? a->dims[1] : a->dims[0] * 0 + 1);
}

/* A 1-D fixture array as a 1 x n matrix (biases). */
static irllrec_mat grow(const gfile *g, const char *name, float **keep)
{
    const garr *a = gget(g, name);
    *keep = gf(g, name);
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
        cmp_arr(g, gn[id], gr);
        free(gr);
    }
}

/* The MLP's row-range entry points (what the hook runs: a forward assembled
 * from two row ranges with different inputs, each range back through its
 * own backward). */
START_TEST(golden_mlp)
{
    gfile g;
    gload(&g, "mlp.bin");
    const garr *x = gget(&g, "x"), *w1 = gget(&g, "w1");
    const int64_t n = x->dims[0], din = x->dims[1], dh = w1->dims[0];
    const int64_t d = gget(&g, "w2")->dims[0];
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
    float *xf = gf(&g, "x"), *wts = gf(&g, "wts");
    float *out = malloc((size_t)(n * d) * 4), *dx = calloc((size_t)(n * din), 4);
    const int64_t n0 = n / 2;
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(xf, n0, din), 0,
                                            irllrec_mat_dense(out, n0, d)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(xf + n0 * din, n - n0, din), n0,
                                            irllrec_mat_dense(out + n0 * d, n - n0, d)),
                     IRLLREC_OK);
    cmp_arr(&g, "out", out);
    double loss = 0.0;
    for (int64_t i = 0; i < n * d; i++) loss += (double)wts[i] * (double)out[i];
    cmp_scalar("mlp loss", loss, gscalar(&g, "loss"));
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(xf, n0, din), 0,
                                             irllrec_cmat_dense(wts, n0, d),
                                             irllrec_mat_dense(dx, n0, din)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_mlp_backward_at(m, irllrec_cmat_dense(xf + n0 * din, n - n0, din), n0,
                                             irllrec_cmat_dense(wts + n0 * d, n - n0, d),
                                             irllrec_mat_dense(dx + n0 * din, n - n0, din)),
                     IRLLREC_OK);
    cmp_arr(&g, "dx", dx);
    cmp_mlp_grads(m, &g);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
    free(xf); free(wts); free(out); free(dx);
    gfree(&g);
}
END_TEST

/* The tower as the hook runs it (the interaction-tower handle's anchor-rows
 * entry points), over every node as an anchor. */
static void tower_case(const char *file, int graph)
{
    gfile g;
    gload(&g, file);
    const int64_t U = (int64_t)gscalar(&g, "n_users");
    const garr *cua = gget(&g, "cu");
    const int64_t d = cua->dims[0], K = cua->dims[1];
    const int64_t N = gget(&g, "wts")->dims[0];
    const int nl = graph ? 2 : 1;
    float *e[2], *de[2];
    irllrec_mat em[2], dem[2];
    const char *en[2] = {"e0", "e1"}, *den[2] = {"de0", "de1"};
    for (int l = 0; l < nl; l++) {
        e[l] = gf(&g, graph ? en[l] : "ef");
        de[l] = calloc((size_t)(N * d), 4);
        em[l] = irllrec_mat_dense(e[l], N, d);
        dem[l] = irllrec_mat_dense(de[l], N, d);
    }
    float *cu = gf(&g, "cu"), *ci = gf(&g, "ci"), *wts = gf(&g, "wts");
    float *gcu = calloc((size_t)(d * K), 4), *gci = calloc((size_t)(d * K), 4);
    float *r = calloc((size_t)(N * d), 4);
    int64_t *nodes = malloc((size_t)N * sizeof(int64_t)), *ip = NULL;
    int32_t *ix = NULL;
    for (int64_t i = 0; i < N; i++) nodes[i] = i;
    irllrec_csr csr = {N, N, 0, NULL, NULL};
    if (graph) {
        const garr *pa = gget(&g, "indptr"), *ia = gget(&g, "indices");
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
    cmp_arr(&g, "r", r);
    ck_assert_int_eq(irllrec_intent_backward_nodes(enc, em, nl, nodes, N,
                                                   irllrec_cmat_dense(wts, N, d), dem),
                     IRLLREC_OK);
    for (int l = 0; l < nl; l++) cmp_arr(&g, graph ? den[l] : "def", de[l]);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, 0, irllrec_mat_dense(gcu, d, K)), IRLLREC_OK);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, 1, irllrec_mat_dense(gci, d, K)), IRLLREC_OK);
    cmp_arr(&g, "dcu", gcu);
    cmp_arr(&g, "dci", gci);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
    for (int l = 0; l < nl; l++) {
        free(e[l]);
        free(de[l]);
    }
    free(cu); free(ci); free(wts); free(gcu); free(gci); free(r); free(nodes); free(ip); free(ix);
    gfree(&g);
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
    gload(&g, "infonce.bin");
    const garr *xa = gget(&g, "x"), *ya = gget(&g, "yall"), *pa = gget(&g, "pos");
    const int64_t b = xa->dims[0], d = xa->dims[1], m = ya->dims[0];
    float *x = gf(&g, "x"), *y = gf(&g, "yall");
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
                                               gscalar(&g, "tau"), 1.0,
                                               irllrec_mat_dense(dx, b, d),
                                               irllrec_mat_dense(dy, m, d), &l),
                         IRLLREC_OK);
        cmp_scalar(what[k], l, gscalar(&g, "loss"));
        cmp_arr(&g, "dx", dx);
        cmp_arr(&g, "dyall", dy);
        irllrec_align_free(al);
    }
    irllrec_ctx_free(ctx);
    free(x); free(y); free(dx); free(dy);
    gfree(&g);
}
END_TEST

START_TEST(golden_tran)
{
    gfile g;
    gload(&g, "tran.bin");
    const garr *xa = gget(&g, "x");
    const int64_t n = xa->dims[0], d = xa->dims[1];
    float *x = gf(&g, "x"), *y = gf(&g, "y"), *e1 = gf(&g, "eps1"), *e2 = gf(&g, "eps2");
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
        cmp_scalar(what[k], l, gscalar(&g, "loss"));
        cmp_arr(&g, "dx", dxt);
        cmp_arr(&g, "dy", dyt);
        irllrec_align_free(al);
    }
    irllrec_ctx_free(ctx);
    free(x); free(y); free(e1); free(e2); free(dxt); free(dyt);
    gfree(&g);
}
END_TEST

START_TEST(golden_itm)
{
    gfile g;
    gload(&g, "itm.bin");
    const garr *xa = gget(&g, "x");
    const int64_t n = xa->dims[0], d = xa->dims[1];
    float *x = gf(&g, "x"), *xm = gf(&g, "xm"), *dx = calloc((size_t)(n * d), 4);
    float *p = malloc((size_t)(n * d) * 4);
    /* the ITM module's CE on raw rows: xm (the teacher's logits) becomes its softmax */
    double l = irllrec__itm_ce_fwd(n, d, x, d, xm, p);
    irllrec__itm_ce_bwd(n, d, p, xm, 1.0, n, dx, d);
    cmp_scalar("itm ce", l, gscalar(&g, "loss"));
    cmp_arr(&g, "dx", dx);
    free(x); free(xm); free(dx); free(p);
    gfree(&g);
}
END_TEST

/* ---- the full hook ---------------------------------------------------------- */

/* The fixture's N x d translation noise (exact mode: ids NULL, rows 0..n-1). */
typedef struct gnoise {
    float *e1, *e2;
    int64_t n, d;
    int calls;
} gnoise;

typedef struct hookfx {
    gfile g;
    irllrec_ctx *ctx;
    irllrec_hook *h;
    int64_t U, I, N, d, B;
    int32_t users[3], pos[3], neg[3];
    float *ef, *l0, *l1, *gu, *gi, *gl0, *gl1;
    int64_t *ip;
    int32_t *ix;
    gnoise noise;
} hookfx;

/* Block called name (v2: irllrec_hook_get_block over irllrec_hook_block_count). */
static irllrec_hook_block find_block(irllrec_hook *h, const char *name)
{
    irllrec_hook_block b;
    const int32_t n = irllrec_hook_block_count(h);
    for (int32_t i = 0; i < n; i++) {
        memset(&b, 0, sizeof b);
        b.struct_size = sizeof b;
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        if (strcmp(b.name, name) == 0) return b;
    }
    ck_abort_msg("no block %s", name);
    return b;
}

static void set_block(irllrec_hook *h, const gfile *g, const char *block, const char *arr)
{
    const irllrec_hook_block b = find_block(h, block);
    const garr *a = gget(g, arr);
    ck_assert_int_eq(a->n, b.rows * b.cols);
    for (int64_t k = 0; k < a->n; k++) b.data[k] = (float)a->v[k];
}

static const float *block_grad(irllrec_hook *h, const char *block, int data)
{
    const irllrec_hook_block b = find_block(h, block);
    return data ? b.data : b.grad;
}

static void gnoise_fn(void *ud, int64_t n_rows, int32_t dim, const int32_t *ids, float *eps_x,
                      float *eps_y)
{
    gnoise *z = (gnoise *)ud;
    z->calls++;
    ck_assert_int_eq(dim, z->d);
    ck_assert_int_le(n_rows, z->n);
    for (int64_t r = 0; r < n_rows; r++) {
        const int64_t src = ids != NULL ? ids[r] : r;
        ck_assert(src >= 0 && src < z->n);
        memcpy(eps_x + r * dim, z->e1 + src * dim, (size_t)dim * sizeof(float));
        memcpy(eps_y + r * dim, z->e2 + src * dim, (size_t)dim * sizeof(float));
    }
}

static void hook_setup(hookfx *f, int preset)
{
    gload(&f->g, "hook.bin");
    const gfile *g = &f->g;
    f->U = (int64_t)gscalar(g, "n_users");
    f->I = (int64_t)gscalar(g, "n_items");
    f->N = f->U + f->I;
    f->d = gget(g, "ef")->dims[1];
    f->B = gget(g, "users")->n;
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.preset = preset;
    s.n_users = f->U;
    s.n_items = f->I;
    s.dim = (int32_t)f->d;
    s.n_intents = (int32_t)gget(g, "cu")->dims[1];
    s.n_layers = 2;
    s.max_batch = (int32_t)f->B;
    s.profile_dim = (int32_t)gget(g, "su")->dims[1];
    s.intent_dim = (int32_t)gget(g, "tu")->dims[1];
    s.text_precision = gold_text_precision;
    f->ctx = tu_ctx();
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    const struct { irllrec_hook_param p; const char *k; } w[] = {
        {IRLLREC_HOOK_W_KD, "w_kd"}, {IRLLREC_HOOK_TAU_KD, "tau_kd"},
        {IRLLREC_HOOK_W_PAIR, "w_pair"}, {IRLLREC_HOOK_TAU_PAIR, "tau_pair"},
        {IRLLREC_HOOK_W_TRAN, "w_tran"}, {IRLLREC_HOOK_W_ITM, "w_itm"},
        {IRLLREC_HOOK_ITM_ALPHA, "alpha"}, {IRLLREC_HOOK_MOMENTUM, "momentum"},
        {IRLLREC_HOOK_REG, "reg"}};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        ck_assert_int_eq(irllrec_hook_set_param(f->h, w[i].p, gscalar(g, w[i].k)), IRLLREC_OK);
    const char *txt[4] = {"su", "si", "tu", "ti"};
    for (int i = 0; i < 4; i++) {
        const garr *a = gget(g, txt[i]);
        float *m = gf(g, txt[i]);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, i, irllrec_cmat_dense(m, a->dims[0], a->dims[1])),
                         IRLLREC_OK);
        free(m);
    }
    const garr *pa = gget(g, "indptr"), *ia = gget(g, "indices");
    f->ip = malloc((size_t)pa->n * sizeof(int64_t));
    f->ix = malloc((size_t)ia->n * sizeof(int32_t));
    for (int64_t i = 0; i < pa->n; i++) f->ip[i] = (int64_t)pa->v[i];
    for (int64_t i = 0; i < ia->n; i++) f->ix[i] = (int32_t)ia->v[i];
    irllrec_csr adj = {f->N, f->N, ia->n, f->ip, f->ix};
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &adj), IRLLREC_OK);
    const char *blocks[] = {"prf.w1", "prf.b1", "prf.w2", "prf.b2", "int.w1", "int.b1", "int.w2",
                            "int.b2", "proto.user", "proto.item", "teacher.w1", "teacher.b1",
                            "teacher.w2", "teacher.b2"};
    const char *arrs[] = {"prf_w1", "prf_b1", "prf_w2", "prf_b2", "int_w1", "int_b1", "int_w2",
                          "int_b2", "cu", "ci", "tm_w1", "tm_b1", "tm_w2", "tm_b2"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        set_block(f->h, g, blocks[i], arrs[i]);
    f->noise.e1 = gf(g, "eps1");
    f->noise.e2 = gf(g, "eps2");
    f->noise.n = f->N;
    f->noise.d = f->d;
    f->noise.calls = 0;
    ck_assert_int_eq(gget(g, "eps1")->n, f->N * f->d);
    ck_assert_int_eq(gget(g, "eps2")->n, f->N * f->d);
    ck_assert_int_eq(irllrec_hook_set_noise_fn(f->h, gnoise_fn, &f->noise), IRLLREC_OK);
    for (int64_t b = 0; b < f->B; b++) {
        f->users[b] = (int32_t)gget(g, "users")->v[b];
        f->pos[b] = (int32_t)gget(g, "pos")->v[b];
        f->neg[b] = (int32_t)gget(g, "neg")->v[b];
    }
    f->ef = gf(g, "ef");
    f->l0 = gf(g, "layer0");
    f->l1 = gf(g, "layer1");
    f->gu = calloc((size_t)(f->N * f->d), 4);
    f->gi = f->gu + f->U * f->d;
    f->gl0 = calloc((size_t)(f->N * f->d), 4);
    f->gl1 = calloc((size_t)(f->N * f->d), 4);
}

static void hook_teardown(hookfx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
    free(f->ef); free(f->l0); free(f->l1); free(f->gu); free(f->gl0); free(f->gl1);
    free(f->ip); free(f->ix);
    free(f->noise.e1); free(f->noise.e2);
    gfree(&f->g);
}

/* What one call does (the v1 internal run's flags, in v2 terms). */
enum {
    HOOK_LOSS = 0,  /* irllrec_hook_compute with IRLLREC_HOOK_LOSS_ONLY */
    HOOK_GRADS = 1, /* irllrec_hook_compute, flags 0: gradients added, no apply */
    HOOK_STEP = 2   /* irllrec_hook_step: compute + apply */
};

static irllrec_status hook_run(hookfx *f, int mode, irllrec_hook_losses *lv)
{
    const int64_t d = f->d;
    const irllrec_cmat layers[2] = {irllrec_cmat_dense(f->l0, f->N, d),
                                    irllrec_cmat_dense(f->l1, f->N, d)};
    const irllrec_mat lg[2] = {irllrec_mat_dense(f->gl0, f->N, d),
                               irllrec_mat_dense(f->gl1, f->N, d)};
    const irllrec_hook_batch batch = {f->B, f->users, f->pos, f->neg};
    const irllrec_hook_inputs in = {irllrec_cmat_dense(f->ef, f->U, d),
                                    irllrec_cmat_dense(f->ef + f->U * d, f->I, d), layers};
    const irllrec_hook_grads grads = {sizeof grads, IRLLREC_HOOK_GRAD_DENSE,
                                      irllrec_mat_dense(f->gu, f->U, d),
                                      irllrec_mat_dense(f->gi, f->I, d), lg};
    lv->struct_size = sizeof *lv;
    switch (mode) {
    case HOOK_LOSS: return irllrec_hook_compute(f->h, &batch, &in, NULL, IRLLREC_HOOK_LOSS_ONLY, lv);
    case HOOK_GRADS: return irllrec_hook_compute(f->h, &batch, &in, &grads, 0, lv);
    default: return irllrec_hook_step(f->h, &batch, &in, &grads, lv);
    }
}

static void hook_compare(hookfx *f, const char *prefix, double total_ref)
{
    irllrec_hook_losses lv;
    char key[64];
    const int calls = f->noise.calls;
    ck_assert_int_eq(hook_run(f, HOOK_GRADS, &lv), IRLLREC_OK);
    ck_assert_int_gt(f->noise.calls, calls);  /* L_tran took the fixture's noise */
    cmp_scalar("kd", lv.kd, gscalar(&f->g, "kd"));
    cmp_scalar("pair", lv.pair, gscalar(&f->g, "pair"));
    cmp_scalar("tran", lv.tran, gscalar(&f->g, "tran"));
    cmp_scalar("itm", lv.itm, gscalar(&f->g, "ce"));
    cmp_scalar("total", lv.total, total_ref);
    snprintf(key, sizeof key, "%sdef", prefix);
    cmp_arr(&f->g, key, f->gu);  /* gu and gi are one N x d buffer */
    snprintf(key, sizeof key, "%sdlayer0", prefix);
    cmp_arr(&f->g, key, f->gl0);
    snprintf(key, sizeof key, "%sdlayer1", prefix);
    cmp_arr(&f->g, key, f->gl1);
    const char *blocks[] = {"prf.w1", "prf.b1", "prf.w2", "prf.b2", "int.w1", "int.b1", "int.w2",
                            "int.b2", "proto.user", "proto.item"};
    const char *arrs[] = {"dprf_w1", "dprf_b1", "dprf_w2", "dprf_b2", "dint_w1", "dint_b1",
                          "dint_w2", "dint_b2", "dcu", "dci"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        snprintf(key, sizeof key, "%s%s", prefix, arrs[i]);
        cmp_arr(&f->g, key, block_grad(f->h, blocks[i], 0));
    }
}

START_TEST(golden_hook_paper)
{
    hookfx f;
    hook_setup(&f, IRLLREC_HOOK_PRESET_PAPER);
    hook_compare(&f, "", gscalar(&f.g, "total_paper"));
    /* A real step commits the EMA teacher computed before the teacher forward. */
    irllrec_hook_losses lv;
    ck_assert_int_eq(hook_run(&f, HOOK_STEP, &lv), IRLLREC_OK);
    cmp_scalar("total after step", lv.total, gscalar(&f.g, "total_paper"));
    cmp_arr(&f.g, "tmn_w1", block_grad(f.h, "teacher.w1", 1));
    cmp_arr(&f.g, "tmn_b1", block_grad(f.h, "teacher.b1", 1));
    cmp_arr(&f.g, "tmn_w2", block_grad(f.h, "teacher.w2", 1));
    cmp_arr(&f.g, "tmn_b2", block_grad(f.h, "teacher.b2", 1));
    hook_teardown(&f);
}
END_TEST

START_TEST(golden_hook_released)
{
    hookfx f;
    hook_setup(&f, IRLLREC_HOOK_PRESET_RELEASED);
    hook_compare(&f, "rel_", gscalar(&f.g, "total_released"));
    irllrec_hook_losses lv;
    ck_assert_int_eq(hook_run(&f, HOOK_LOSS, &lv), IRLLREC_OK);
    double sq = gscalar(&f.g, "sq") + gscalar(&f.g, "sq_teacher");
    cmp_scalar("reg incl. teacher", lv.reg, gscalar(&f.g, "reg") * sq);
    hook_teardown(&f);
}
END_TEST

/* The bf16 text towers (where usable) against the same fp32 reference. The
 * text and W1 are rounded to bf16 (u = 2^-8 each), so every first-layer
 * pre-activation moves by at most 2u sum_k |x_k w_k|; with these random
 * signs that is a few u of max|A|, carried linearly through the second
 * layer and the InfoNCE / CE gradients: tolerance 8u = 3.1e-2 of each
 * array's largest entry (measured worst 1.1e-2, on dprf_b2). Where
 * bf16 is not usable the hook is the fp32 one and 1e-4 stays. */
START_TEST(golden_hook_paper_bf16)
{
    hookfx f;
    gold_text_precision = IRLLREC_HOOK_TEXT_BF16;
    hook_setup(&f, IRLLREC_HOOK_PRESET_PAPER);
    int32_t prec = -1;
    ck_assert_int_eq(irllrec_hook_get_text_precision(f.h, &prec), IRLLREC_OK);
    if (prec == IRLLREC_HOOK_TEXT_BF16) gold_tol = 8.0 / 256.0;
    hook_compare(&f, "", gscalar(&f.g, "total_paper"));
    hook_teardown(&f);
    gold_tol = 1e-4;
    gold_text_precision = IRLLREC_HOOK_TEXT_FP32;
}
END_TEST

/* ---- the merged public modules against the same fixtures ------------------- */

START_TEST(golden_module_mlp)
{
    gfile g;
    gload(&g, "mlp.bin");
    const garr *x = gget(&g, "x"), *w2 = gget(&g, "w2");
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
    cmp_arr(&g, "out", out);
    ck_assert_int_eq(irllrec_mlp_backward(m, xm, dy, irllrec_mat_dense(dx, n, din)), IRLLREC_OK);
    cmp_arr(&g, "dx", dx);
    cmp_mlp_grads(m, &g);
    irllrec_mlp_free(m);
    irllrec_ctx_free(ctx);
    free(xf); free(wts); free(out); free(dx);
    gfree(&g);
}
END_TEST

static void module_intent_case(const char *file, int graph)
{
    gfile g;
    gload(&g, file);
    const int64_t U = (int64_t)gscalar(&g, "n_users");
    const garr *cua = gget(&g, "cu");
    const int64_t d = cua->dims[0], K = cua->dims[1], N = gget(&g, "wts")->dims[0];
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
        const garr *pa = gget(&g, "indptr"), *ia = gget(&g, "indices");
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
    cmp_arr(&g, "r", r);
    ck_assert_int_eq(irllrec_intent_backward(enc, em, nl, gmat(&g, "wts", &wts), dem), IRLLREC_OK);
    for (int l = 0; l < nl; l++) cmp_arr(&g, graph ? den[l] : "def", de[l]);
    float *gc = malloc((size_t)(d * K) * 4);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, IRLLREC_INTENT_C_USER,
                                             irllrec_mat_dense(gc, d, K)), IRLLREC_OK);
    cmp_arr(&g, "dcu", gc);
    ck_assert_int_eq(irllrec_intent_get_grad(enc, IRLLREC_INTENT_C_ITEM,
                                             irllrec_mat_dense(gc, d, K)), IRLLREC_OK);
    cmp_arr(&g, "dci", gc);
    irllrec_intent_free(enc);
    irllrec_ctx_free(ctx);
    for (int l = 0; l < nl; l++) {
        free(e[l]);
        free(de[l]);
    }
    free(cu); free(ci); free(wts); free(r); free(gc); free(ip); free(ix);
    gfree(&g);
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
    gload(&g, "hook.bin");
    const int64_t U = (int64_t)gscalar(&g, "n_users"), I = (int64_t)gscalar(&g, "n_items");
    const int64_t N = U + I, dt = gget(&g, "tu")->dims[1], d = gget(&g, "ef")->dims[1];
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
    is.momentum = gscalar(&g, "momentum");
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
        cmp_arr(&g, tnn[id], w);
        free(w);
    }
    float *t = malloc((size_t)(N * dt) * 4), *z = malloc((size_t)(N * d) * 4);
    float *tu = gf(&g, "tu"), *ti = gf(&g, "ti");
    memcpy(t, tu, (size_t)(U * dt) * 4);
    memcpy(t + U * dt, ti, (size_t)(I * dt) * 4);
    irllrec_mat tm = irllrec_mat_dense(t, N, dt), zm = irllrec_mat_dense(z, N, d);
    ck_assert_int_eq(irllrec_mlp_forward(st, tm, zm), IRLLREC_OK);
    double ce = 0.0;
    ck_assert_int_eq(irllrec_itm_forward(itm, tm, zm, &ce), IRLLREC_OK);
    cmp_scalar("itm module ce", ce, gscalar(&g, "ce"));
    irllrec_itm_free(itm);
    irllrec_mlp_free(st);
    irllrec_ctx_free(ctx);
    free(t); free(z); free(tu); free(ti);
    gfree(&g);
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
    tcase_add_test(tc, golden_hook_paper);
    tcase_add_test(tc, golden_hook_released);
    tcase_add_test(tc, golden_module_mlp);
    tcase_add_test(tc, golden_module_intent_graph);
    tcase_add_test(tc, golden_module_intent_graph_free);
    tcase_add_test(tc, golden_module_itm);
    tcase_add_test(tc, golden_hook_paper_bf16);  /* last: it sets file-scope tolerances */
    suite_add_tcase(s, tc);
    return s;
}
