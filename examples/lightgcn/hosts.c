/* SGL, SimGCL and MF beside LightGCN. See hosts.h and docs/hosts.md. */
#define _POSIX_C_SOURCE 200809L
#include "hosts.h"
#include "lightgcn_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host's random stream: XORed into the seed so the SimGCL noise never
 * shares a stream with the model's init and dropout (lightgcn.c, lightgcn_prop.c) or the
 * library's. ASCII "SIMGCL\0\1". Never change it: it decides the bits. */
#define HOST_STREAM_NOISE UINT64_C(0x53494d47434c0001)

static const char *const MODEL_NAMES[LGCN_N_MODELS] = {"lightgcn", "sgl", "simgcl", "mf"};

const char *lgcn_model_name(int32_t model)
{
    return model >= 0 && model < LGCN_N_MODELS ? MODEL_NAMES[model] : NULL;
}

int32_t lgcn_model_parse(const char *name)
{
    for (int32_t k = 0; k < LGCN_N_MODELS; k++)
        if (name != NULL && strcmp(name, MODEL_NAMES[k]) == 0) return k;
    return -1;
}

struct lgcn_host {
    lgcn *m;
    irllrec_ctx *ctx;
    lgcn_host_cfg c;
    irllrec_align *al;  /* the contrastive InfoNCE (SGL, SimGCL) */
    float *df[3];       /* dL/dE_final of view 0 (the model's buffer), 1, 2 */
    float *xg, *dxg;    /* 2B x d: gathered anchors and their gradient */
    int32_t *uid;       /* 2B: distinct anchor ids of one term, first occurrence first */
    float *ucnt;        /* 2B: how often each was drawn (the InfoNCE row weight) */
    int32_t *slot;      /* max(U, I): position in uid, -1 between uses */
    uint64_t key;       /* SimGCL noise key */
    int32_t noise_view; /* the view the layer function perturbs */
};

#define fail(err, cap, st, ...) lgcn__fail(err, cap, "lgcn_host_create", st, __VA_ARGS__)

void lgcn_host_free(lgcn_host *h)
{
    if (h == NULL) return;
    irllrec_align_free(h->al);
    free(h->df[1]);
    free(h->df[2]);
    free(h->xg);
    free(h->dxg);
    free(h->uid);
    free(h->ucnt);
    free(h->slot);
    free(h);
}

static irllrec_status check_cfg(const lgcn *m, const lgcn_host_cfg *c, char *err, size_t cap)
{
    const char *name = lgcn_model_name(c->model);
    if (name == NULL)
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "model %d is not one of lightgcn, sgl, "
                    "simgcl, mf", (int)c->model);
    if (c->model == LGCN_MODEL_MF && lgcn_n_layers(m) != 0)
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "mf needs a model with 0 layers, not %d",
                    (int)lgcn_n_layers(m));
    if (c->model != LGCN_MODEL_SGL && c->model != LGCN_MODEL_SIMGCL) return IRLLREC_OK;
    if (!(c->cl_weight >= 0.0 && c->cl_weight <= 1e6))
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "%s: cl_weight %g not in [0, 1e6]", name,
                    c->cl_weight);
    if (!(c->cl_tau >= IRLLREC_ALIGN_TAU_MIN && c->cl_tau <= 1e3))
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "%s: cl_tau %g not in [1e-6, 1e3]", name,
                    c->cl_tau);
    if (c->model == LGCN_MODEL_SIMGCL && !(c->eps >= 0.0 && c->eps <= 1e3))
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "simgcl: eps %g not in [0, 1e3]", c->eps);
    if (c->max_batch < 1)
        return fail(err, cap, IRLLREC_E_INVALID_ARG, "max_batch %d < 1", (int)c->max_batch);
    return IRLLREC_OK;
}

/* Fixed row slices make the InfoNCE sums independent of the thread count
 * (align.h). Each slice holds a gradient partial of all M candidate rows, so
 * two (one per core of the machine these hosts are measured on) keep a
 * training run under 100 MB; a third thread gets no slice. */
#define HOST_CL_SLICES 2

irllrec_status lgcn_host_create(irllrec_ctx *ctx, lgcn *m, const lgcn_host_cfg *c,
                                lgcn_host **out, char *err, size_t errcap)
{
    lgcn_host *h;
    irllrec_status st;
    int64_t U = lgcn_n_users(m), N = lgcn_n_nodes(m), d = lgcn_dim(m);
    size_t nd = (size_t)N * (size_t)d, b2 = 2 * (size_t)(c ? c->max_batch : 0);
    size_t side = (size_t)(U > N - U ? U : N - U);
    irllrec_align_spec as;
    if (out == NULL || ctx == NULL || m == NULL || c == NULL)
        return fail(err, errcap, IRLLREC_E_INVALID_ARG, "NULL argument");
    *out = NULL;
    st = check_cfg(m, c, err, errcap);
    if (st != IRLLREC_OK) return st;
    h = (lgcn_host *)calloc(1, sizeof *h);
    if (h == NULL) return fail(err, errcap, IRLLREC_E_NOMEM, "out of memory");
    h->m = m;
    h->ctx = ctx;
    h->c = *c;
    h->key = lgcn__mix64(c->seed ^ HOST_STREAM_NOISE);
    h->df[0] = lgcn_dfinal_buffer(m);
    if (c->model != LGCN_MODEL_SGL && c->model != LGCN_MODEL_SIMGCL) {
        *out = h;
        return IRLLREC_OK;
    }
    st = lgcn_views_alloc(m, 3);
    h->df[1] = (float *)calloc(nd, sizeof(float));
    h->df[2] = (float *)calloc(nd, sizeof(float));
    h->xg = (float *)calloc(b2 * (size_t)d, sizeof(float));
    h->dxg = (float *)calloc(b2 * (size_t)d, sizeof(float));
    h->uid = (int32_t *)calloc(b2, sizeof(int32_t));
    h->ucnt = (float *)calloc(b2, sizeof(float));
    h->slot = (int32_t *)malloc(side * sizeof(int32_t));
    if (st != IRLLREC_OK || !h->df[1] || !h->df[2] || !h->xg || !h->dxg || !h->uid ||
        !h->ucnt || !h->slot) {
        lgcn_host_free(h);
        return fail(err, errcap, IRLLREC_E_NOMEM, "out of memory for the views");
    }
    memset(h->slot, 0xff, side * sizeof(int32_t));
    irllrec_align_spec_init(&as, sizeof as);
    as.dim = (int32_t)d;
    as.max_rows = 2 * (int64_t)c->max_batch;
    as.max_cols = U > N - U ? U : N - U;
    as.n_slices = HOST_CL_SLICES;
    as.precision = c->cl_precision;
    st = irllrec_align_create(ctx, &as, &h->al);
    if (st != IRLLREC_OK) {
        fail(err, errcap, st, "contrastive loss: %s", irllrec_ctx_errmsg(ctx));
        lgcn_host_free(h);
        return st;
    }
    *out = h;
    return IRLLREC_OK;
}

int32_t lgcn_host_cl_precision(const lgcn_host *h)
{
    int32_t p = IRLLREC_ALIGN_FP32;
    if (h != NULL && h->al != NULL) (void)irllrec_align_get_precision(h->al, &p);
    return p;
}

/* ---- SimGCL's perturbation -------------------------------------------- */

/* Row r of layer l of view v gets eps * sign(E_l[r]) * u / |u|, u ~ U(0,1)^d
 * drawn by hashing (key, step, view, layer, r, c): any thread can draw any
 * row, so the noise does not depend on the split. The next layer propagates
 * the perturbed rows, and E_final sums them. The backward treats the noise as
 * a constant: d sign(x) / dx = 0 almost everywhere, as autograd has it. */
/* Rows lo..hi of one layer (d <= 256). The hash has its own loop so it
 * vectorises (x86-64-v4: AVX-512DQ's 64-bit multiply; 1.25 -> 0.7 ms per
 * layer of 20,332 x 32 on Zen 4), and |u|^2 is summed in 8 double lanes
 * combined in a fixed tree, not one chain of d dependent adds. */
LGCN_CLONES("arch=x86-64-v4", "avx2", "default")
static void perturb_rows(float *Y, float *F, int64_t lo, int64_t hi, int64_t d, uint64_t base,
                         double eps)
{
    float u[256];
    double q[8];
    for (int64_t r = lo; r < hi; r++) {
        float *y = Y + r * d, *f = F + r * d;
        const uint64_t b0 = base + (uint64_t)(r * d) * 0xd1b54a32d192ed03ULL;
        double sq, scale;
        int64_t c;
        for (c = 0; c < d; c++) {
            const uint64_t z = lgcn__mix64(b0 + (uint64_t)c * 0xd1b54a32d192ed03ULL);
            u[c] = (float)(int64_t)(z >> 40) * (1.0f / 16777216.0f);
        }
        for (int k = 0; k < 8; k++) q[k] = 0.0;
        for (c = 0; c + 8 <= d; c += 8)
            for (int k = 0; k < 8; k++) q[k] += (double)u[c + k] * (double)u[c + k];
        for (; c < d; c++) q[c % 8] += (double)u[c] * (double)u[c];
        sq = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
        /* F.normalize's max(|u|, 1e-12) */
        scale = eps / (sqrt(sq) > 1e-12 ? sqrt(sq) : 1e-12);
        for (c = 0; c < d; c++) {
            const float s = (float)((y[c] > 0.0f) - (y[c] < 0.0f));
            const float delta = s * (float)(scale * (double)u[c]);
            y[c] += delta;
            f[c] += delta;
        }
    }
}

static void perturb_layer(void *ud, int32_t layer, float *Y, float *F, int32_t t, int32_t nt)
{
    lgcn_host *h = (lgcn_host *)ud;
    int64_t lo, hi;
    uint64_t base = lgcn__mix64(h->key + (uint64_t)lgcn_steps(h->m) * 0x9e3779b97f4a7c15ULL);
    (void)nt;
    base = lgcn__mix64(base ^ ((uint64_t)h->noise_view << 32) ^ (uint64_t)layer);
    lgcn_row_share(h->m, t, &lo, &hi);
    perturb_rows(Y, F, lo, hi, lgcn_dim(h->m), base, h->c.eps);
}

/* ---- the contrastive loss ---------------------------------------------- */

/* The distinct ids of a (and b) in first-occurrence order, with counts. */
static int64_t distinct(lgcn_host *h, const int32_t *a, const int32_t *b, int64_t n)
{
    int64_t k = 0;
    for (int32_t pass = 0; pass < (b != NULL ? 2 : 1); pass++) {
        const int32_t *ids = pass == 0 ? a : b;
        for (int64_t i = 0; i < n; i++) {
            int32_t *sl = &h->slot[ids[i]];
            if (*sl < 0) {
                *sl = (int32_t)k;
                h->uid[k] = ids[i];
                h->ucnt[k++] = 0.0f;
            }
            h->ucnt[*sl] += 1.0f;
        }
    }
    for (int64_t i = 0; i < k; i++) h->slot[h->uid[i]] = -1;
    return k;
}

/* One InfoNCE term over the anchors a (and b) of the batch: anchors
 * v1[off + id], candidates all M rows v2[off ..], positive id; += gradients
 * into df1 and df2. A row drawn c times costs one anchor of weight c
 * (irllrec_align_infonce_weighted): the same sum as one anchor per draw. */
static irllrec_status cl_term(lgcn_host *h, const float *v1, const float *v2, int64_t off,
                              int64_t M, const int32_t *a, const int32_t *b, int64_t n,
                              double *loss)
{
    int64_t d = lgcn_dim(h->m), k = distinct(h, a, b, n);
    float *df1 = h->df[1], *df2 = h->df[2];
    irllrec_status st;
    for (int64_t r = 0; r < k; r++)
        memcpy(h->xg + r * d, v1 + (off + h->uid[r]) * d, (size_t)d * sizeof(float));
    memset(h->dxg, 0, (size_t)(k * d) * sizeof(float));
    st = irllrec_align_infonce_weighted(h->al, irllrec_mat_dense(h->xg, k, d),
                                        irllrec_mat_dense((float *)(v2 + off * d), M, d), h->uid,
                                        h->ucnt, h->c.cl_tau, h->c.cl_weight / (double)n,
                                        irllrec_mat_dense(h->dxg, k, d),
                                        irllrec_mat_dense(df2 + off * d, M, d), loss);
    if (st != IRLLREC_OK) return st;
    for (int64_t r = 0; r < k; r++) {
        float *g = df1 + (off + h->uid[r]) * d;
        const float *s = h->dxg + r * d;
        for (int64_t c = 0; c < d; c++) g[c] += s[c];
    }
    return IRLLREC_OK;
}

/* cl_weight / B * (user term + pos term [+ neg term, SGL]) between the
 * final embeddings of views 1 and 2. */
static irllrec_status contrast(lgcn_host *h, const float *v1, const float *v2,
                               const int32_t *users, const int32_t *pos, const int32_t *neg,
                               int64_t b, double *cl)
{
    int64_t U = lgcn_n_users(h->m), I = lgcn_n_nodes(h->m) - U;
    double lu = 0.0, li = 0.0;
    irllrec_status st;
    /* SGL's positive and negative terms share their candidates (all items
     * of view 2), so they run as one term over the union of their anchors. */
    st = cl_term(h, v1, v2, 0, U, users, NULL, b, &lu);
    if (st == IRLLREC_OK)
        st = cl_term(h, v1, v2, U, I, pos, h->c.model == LGCN_MODEL_SGL ? neg : NULL, b, &li);
    *cl = lu + li;
    return st;
}

/* ---- steps --------------------------------------------------------------- */

typedef struct add_job {
    lgcn_host *h;
    float *out;
    const float *a, *b, *c; /* out = a + b (+ c) */
} add_job;

static void add_task(void *ud, int32_t t, int32_t nt)
{
    add_job *j = (add_job *)ud;
    int64_t lo, hi, d = lgcn_dim(j->h->m);
    (void)nt;
    lgcn_row_share(j->h->m, t, &lo, &hi);
    if (j->c != NULL)
        for (int64_t k = lo * d; k < hi * d; k++) j->out[k] = j->a[k] + j->b[k] + j->c[k];
    else
        for (int64_t k = lo * d; k < hi * d; k++) j->out[k] = j->a[k] + j->b[k];
}

static void clear_all(lgcn_host *h, lgcn_irl *irl)
{
    size_t nd = (size_t)lgcn_n_nodes(h->m) * (size_t)lgcn_dim(h->m) * sizeof(float);
    memset(h->df[0], 0, nd);
    if (h->df[1] != NULL) memset(h->df[1], 0, nd);
    if (h->df[2] != NULL) memset(h->df[2], 0, nd);
    if (irl != NULL) lgcn_irl_clear_layer_grads(irl);
    lgcn_view_select(h->m, 0);
    lgcn_set_layer_fn(h->m, NULL, NULL);
}

/* The views' forwards. SGL: views 1 and 2 each draw an edge mask (TRAIN) or
 * reuse theirs (REPLAY), view 0 runs on the full graph. SimGCL: view 0 is the
 * plain forward (its TRAIN advances the step that keys the noise), views 1
 * and 2 perturb every layer. */
static void forwards(lgcn_host *h, int32_t mode, const float **lay1)
{
    lgcn *m = h->m;
    if (h->c.model == LGCN_MODEL_SGL) {
        for (int32_t v = 1; v <= 2; v++) {
            lgcn_view_select(m, v);
            lgcn_forward(m, mode);
            if (v == 1)
                for (int32_t l = 0; l < lgcn_n_layers(m); l++) lay1[l] = lgcn_layer(m, l);
        }
        lgcn_view_select(m, 0);
        lgcn_forward(m, LGCN_EVAL);
        return;
    }
    lgcn_view_select(m, 0);
    lgcn_forward(m, mode);
    for (int32_t l = 0; l < lgcn_n_layers(m); l++) lay1[l] = lgcn_layer(m, l);
    lgcn_set_layer_fn(m, perturb_layer, h);
    for (int32_t v = 1; v <= 2; v++) {
        h->noise_view = v;
        lgcn_view_select(m, v);
        lgcn_forward(m, LGCN_EVAL);
    }
    lgcn_set_layer_fn(m, NULL, NULL);
    lgcn_view_select(m, 0);
}

/* Back through each view's own graph. SGL: three backwards (three masks),
 * summed in a fixed order into dE_final's buffer once view 0's backward has
 * read it. SimGCL: one graph, so one backward of the summed
 * gradients (the noise is a constant). */
static double backwards(lgcn_host *h, lgcn_irl *irl)
{
    lgcn *m = h->m;
    const float *const *dl = irl != NULL ? lgcn_irl_layer_grads(irl) : NULL;
    add_job j = {h, NULL, NULL, NULL, NULL};
    double reg;
    if (h->c.model == LGCN_MODEL_SIMGCL) {
        j.out = h->df[0];
        j.a = h->df[0];
        j.b = h->df[1];
        j.c = h->df[2];
        lgcn_run(m, add_task, &j);
        return lgcn_backward_reg(m, h->df[0], dl);
    }
    lgcn_view_select(m, 0);
    reg = lgcn_backward_reg(m, h->df[0], NULL);
    memcpy(h->df[0], lgcn_grad(m),
           (size_t)lgcn_n_nodes(m) * (size_t)lgcn_dim(m) * sizeof(float));
    lgcn_view_select(m, 1);
    lgcn_backward(m, h->df[1], dl);
    j.out = h->df[0];
    j.a = h->df[0];
    j.b = lgcn_grad(m);
    lgcn_run(m, add_task, &j);
    lgcn_view_select(m, 2);
    lgcn_backward(m, h->df[2], NULL);
    j.out = lgcn_grad(m);
    j.a = h->df[0];
    j.b = lgcn_grad(m);
    lgcn_run(m, add_task, &j);
    lgcn_view_select(m, 0);
    return reg;
}

/* LightGCN and MF: the model's own step, or the LightGCN+IRLLRec one. */
static irllrec_status plain_grad(lgcn_host *h, lgcn_irl *irl, int32_t mode, const int32_t *users,
                                 const int32_t *pos, const int32_t *neg, int64_t b,
                                 lgcn_host_losses *out)
{
    lgcn *m = h->m;
    lgcn_irl_losses il;
    irllrec_status st;
    memset(out, 0, sizeof *out);
    if (irl != NULL) {
        st = lgcn_irl_grad(irl, mode, users, pos, neg, b, &il);
        out->bpr = il.bpr;
        out->reg = il.reg;
        out->hook = il.hook;
        out->total = il.total;
        return st;
    }
    lgcn_forward(m, mode);
    out->bpr = lgcn_bpr(m, users, pos, neg, b, h->df[0]);
    if (!isfinite(out->bpr)) {
        clear_all(h, NULL);
        return IRLLREC_E_NUMERIC;
    }
    out->reg = lgcn_backward_reg(m, h->df[0], NULL);
    out->total = out->bpr + out->reg;
    clear_all(h, NULL);
    return IRLLREC_OK;
}

irllrec_status lgcn_host_grad(lgcn_host *h, lgcn_irl *irl, int32_t mode, const int32_t *users,
                              const int32_t *pos, const int32_t *neg, int64_t b,
                              lgcn_host_losses *out)
{
    lgcn *m = h->m;
    const float *lay[64];
    lgcn_host_losses r;
    irllrec_status st = IRLLREC_OK;
    if (h->c.model != LGCN_MODEL_SGL && h->c.model != LGCN_MODEL_SIMGCL) {
        st = plain_grad(h, irl, mode, users, pos, neg, b, &r);
        if (out != NULL) *out = r;
        return st;
    }
    if (b < 1 || b > h->c.max_batch) return IRLLREC_E_SHAPE; /* the align handle's size */
    memset(&r, 0, sizeof r);
    forwards(h, mode, lay);
    r.bpr = lgcn_bpr(m, users, pos, neg, b, h->df[0]);
    if (!isfinite(r.bpr)) st = IRLLREC_E_NUMERIC;
    if (st == IRLLREC_OK) {
        const float *v1, *v2;
        lgcn_view_select(m, 1);
        v1 = lgcn_final(m);
        lgcn_view_select(m, 2);
        v2 = lgcn_final(m);
        lgcn_view_select(m, 0);
        st = contrast(h, v1, v2, users, pos, neg, b, &r.cl);
    }
    if (st == IRLLREC_OK && irl != NULL)
        st = lgcn_irl_hook_step(irl, lgcn_final(m), lay, users, pos, neg, b, h->df[0], &r.hook);
    if (st == IRLLREC_OK) r.reg = backwards(h, irl);
    clear_all(h, irl);
    if (st != IRLLREC_OK) return st;
    r.total = r.bpr + r.reg + r.cl + r.hook.total;
    if (out != NULL) *out = r;
    return IRLLREC_OK;
}

irllrec_status lgcn_host_train_step(lgcn_host *h, lgcn_irl *irl, lgcn_opt *o,
                                    const int32_t *users, const int32_t *pos,
                                    const int32_t *neg, int64_t b, lgcn_host_losses *out)
{
    irllrec_status st;
    if (irl == NULL && (h->c.model == LGCN_MODEL_LIGHTGCN || h->c.model == LGCN_MODEL_MF)) {
        /* the model's fused step: the bits of lightgcn_train before hosts.c */
        lgcn_host_losses r;
        memset(&r, 0, sizeof r);
        st = lgcn_train_step(h->m, o, users, pos, neg, b, &r.bpr, &r.reg);
        r.total = r.bpr + r.reg;
        if (out != NULL) *out = r;
        return st;
    }
    st = lgcn_host_grad(h, irl, LGCN_TRAIN, users, pos, neg, b, out);
    if (st != IRLLREC_OK) return st;
    return lgcn_opt_step(o);
}

irllrec_status lgcn_host_train_step_coll(lgcn_host *h, lgcn_irl *irl, lgcn_opt *o,
                                         const irllrec_collective *c, const int32_t *users,
                                         const int32_t *pos, const int32_t *neg, int64_t b,
                                         lgcn_host_losses *out)
{
    int64_t n = lgcn_n_nodes(h->m) * (int64_t)lgcn_dim(h->m);
    float *g = lgcn_grad(h->m);
    int32_t rank = 0, size = 1;
    irllrec_status st;
    if (c == NULL) return lgcn_host_train_step(h, irl, o, users, pos, neg, b, out);
    st = irllrec_collective_rank_size(h->ctx, c, &rank, &size);
    if (st == IRLLREC_OK) st = lgcn_host_grad(h, irl, LGCN_TRAIN, users, pos, neg, b, out);
    if (st == IRLLREC_OK) st = irllrec_collective_allreduce_f32(h->ctx, c, g, g, n);
    if (st != IRLLREC_OK) return st;
    if (size > 1) {
        const float p = (float)size;
        for (int64_t k = 0; k < n; k++) g[k] /= p;
    }
    return lgcn_opt_step(o);
}
