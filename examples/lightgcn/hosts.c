/* SGL, SimGCL and MF beside LightGCN. See hosts.h and docs/hosts.md. */
#define _POSIX_C_SOURCE 200809L
#include "hosts.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The host's random stream: XORed into the seed so the SimGCL noise never
 * shares a stream with the model's init and dropout (lightgcn.c) or the
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
    float *acc;         /* SGL: sum of the three backwards */
    float *xg, *dxg;    /* B x d: gathered anchors and their gradient */
    uint64_t key;       /* SimGCL noise key */
    int32_t noise_view; /* the view the layer function perturbs */
};

static irllrec_status fail(char *err, size_t cap, irllrec_status st, const char *fmt, ...)
{
    if (err != NULL && cap > 0) {
        va_list ap;
        int n = snprintf(err, cap, "lgcn_host_create: ");
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < cap) vsnprintf(err + n, cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return st;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lgcn_host_free(lgcn_host *h)
{
    if (h == NULL) return;
    irllrec_align_free(h->al);
    free(h->df[1]);
    free(h->df[2]);
    free(h->acc);
    free(h->xg);
    free(h->dxg);
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
 * (align.h): 6 divides evenly among 1, 2 and 3 threads. */
#define HOST_CL_SLICES 6

irllrec_status lgcn_host_create(irllrec_ctx *ctx, lgcn *m, const lgcn_host_cfg *c,
                                lgcn_host **out, char *err, size_t errcap)
{
    lgcn_host *h;
    irllrec_status st;
    int64_t U = lgcn_n_users(m), N = lgcn_n_nodes(m), d = lgcn_dim(m);
    size_t nd = (size_t)N * (size_t)d, bd = (size_t)(c ? c->max_batch : 0) * (size_t)d;
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
    h->key = mix64(c->seed ^ HOST_STREAM_NOISE);
    h->df[0] = lgcn_dfinal_buffer(m);
    if (c->model != LGCN_MODEL_SGL && c->model != LGCN_MODEL_SIMGCL) {
        *out = h;
        return IRLLREC_OK;
    }
    st = lgcn_views_alloc(m, 3);
    h->df[1] = (float *)calloc(nd, sizeof(float));
    h->df[2] = (float *)calloc(nd, sizeof(float));
    h->acc = (float *)calloc(nd, sizeof(float));
    h->xg = (float *)calloc(bd, sizeof(float));
    h->dxg = (float *)calloc(bd, sizeof(float));
    if (st != IRLLREC_OK || !h->df[1] || !h->df[2] || !h->acc || !h->xg || !h->dxg) {
        lgcn_host_free(h);
        return fail(err, errcap, IRLLREC_E_NOMEM, "out of memory for the views");
    }
    irllrec_align_spec_init(&as, sizeof as);
    as.dim = (int32_t)d;
    as.max_rows = c->max_batch;
    as.max_cols = U > N - U ? U : N - U;
    as.n_slices = HOST_CL_SLICES;
    st = irllrec_align_create(ctx, &as, &h->al);
    if (st != IRLLREC_OK) {
        fail(err, errcap, st, "contrastive loss: %s", irllrec_ctx_errmsg(ctx));
        lgcn_host_free(h);
        return st;
    }
    *out = h;
    return IRLLREC_OK;
}

/* ---- SimGCL's perturbation -------------------------------------------- */

/* Row r of layer l of view v gets eps * sign(E_l[r]) * u / |u|, u ~ U(0,1)^d
 * drawn by hashing (key, step, view, layer, r, c): any thread can draw any
 * row, so the noise does not depend on the split. The next layer propagates
 * the perturbed rows, and E_final sums them. The backward treats the noise as
 * a constant: d sign(x) / dx = 0 almost everywhere, as autograd has it. */
static void perturb_layer(void *ud, int32_t layer, float *Y, float *F, int32_t t, int32_t nt)
{
    lgcn_host *h = (lgcn_host *)ud;
    int64_t lo, hi, d = lgcn_dim(h->m);
    uint64_t base = mix64(h->key + (uint64_t)lgcn_steps(h->m) * 0x9e3779b97f4a7c15ULL);
    float u[256];
    (void)nt;
    base = mix64(base ^ ((uint64_t)h->noise_view << 32) ^ (uint64_t)layer);
    lgcn_row_share(h->m, t, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
        float *y = Y + r * d, *f = F + r * d;
        double sq = 0.0, scale;
        for (int64_t c = 0; c < d; c++) {
            uint64_t z = mix64(base + (uint64_t)(r * d + c) * 0xd1b54a32d192ed03ULL);
            u[c] = (float)(z >> 40) * (1.0f / 16777216.0f);
            sq += (double)u[c] * (double)u[c];
        }
        /* F.normalize's max(|u|, 1e-12) */
        scale = h->c.eps / (sqrt(sq) > 1e-12 ? sqrt(sq) : 1e-12);
        for (int64_t c = 0; c < d; c++) {
            float s = (float)((y[c] > 0.0f) - (y[c] < 0.0f)), delta = s * (float)(scale * (double)u[c]);
            y[c] += delta;
            f[c] += delta;
        }
    }
}

/* ---- the contrastive loss ---------------------------------------------- */

/* One InfoNCE term: anchors v1[off + ids[b]], candidates all M rows
 * v2[off ..], positive ids[b]; += gradients into df1 (scattered back to the
 * anchors' rows, in batch order) and df2. */
static irllrec_status cl_term(lgcn_host *h, const float *v1, const float *v2, float *df1,
                              float *df2, int64_t off, int64_t M, const int32_t *ids, int64_t b,
                              double *loss)
{
    int64_t d = lgcn_dim(h->m);
    irllrec_status st;
    for (int64_t k = 0; k < b; k++)
        memcpy(h->xg + k * d, v1 + (off + ids[k]) * d, (size_t)d * sizeof(float));
    memset(h->dxg, 0, (size_t)(b * d) * sizeof(float));
    st = irllrec_align_infonce(h->al, irllrec_mat_dense(h->xg, b, d),
                               irllrec_mat_dense((float *)(v2 + off * d), M, d), ids,
                               h->c.cl_tau, h->c.cl_weight / (double)b,
                               irllrec_mat_dense(h->dxg, b, d),
                               irllrec_mat_dense(df2 + off * d, M, d), loss);
    if (st != IRLLREC_OK) return st;
    for (int64_t k = 0; k < b; k++) {
        float *g = df1 + (off + ids[k]) * d;
        const float *s = h->dxg + k * d;
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
    double lu = 0.0, lp = 0.0, ln = 0.0;
    irllrec_status st;
    st = cl_term(h, v1, v2, h->df[1], h->df[2], 0, U, users, b, &lu);
    if (st == IRLLREC_OK) st = cl_term(h, v1, v2, h->df[1], h->df[2], U, I, pos, b, &lp);
    if (st == IRLLREC_OK && h->c.model == LGCN_MODEL_SGL)
        st = cl_term(h, v1, v2, h->df[1], h->df[2], U, I, neg, b, &ln);
    *cl = lu + lp + ln;
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
 * summed in a fixed order. SimGCL: one graph, so one backward of the summed
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
    memcpy(h->acc, lgcn_grad(m),
           (size_t)lgcn_n_nodes(m) * (size_t)lgcn_dim(m) * sizeof(float));
    lgcn_view_select(m, 1);
    lgcn_backward(m, h->df[1], dl);
    j.out = h->acc;
    j.a = h->acc;
    j.b = lgcn_grad(m);
    lgcn_run(m, add_task, &j);
    lgcn_view_select(m, 2);
    lgcn_backward(m, h->df[2], NULL);
    j.out = lgcn_grad(m);
    j.a = h->acc;
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
