/* LightGCN + IRLLRec step. See lightgcn_irl.h. */
#define _POSIX_C_SOURCE 200809L
#include "lightgcn_irl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lgcn_irl {
    irllrec_ctx *ctx;
    lgcn *m;
    irllrec_hook *h;
    int32_t L;           /* hook layers = host layers */
    float *dlay;         /* L x N x d, zero between steps */
    const float **dptr;  /* L + 1 entries for lgcn_backward (last NULL) */
    irllrec_cmat *lay;
    irllrec_mat *dlm;
    lgcn_irl_times t;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t lgcn_irl_cfg_size(void) { return sizeof(lgcn_irl_cfg); }

void lgcn_irl_cfg_init(lgcn_irl_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->preset = IRLLREC_HOOK_PRESET_PAPER;
    c->n_intents = 128;
    c->max_batch = 4096;
    c->seed = 2023;
    c->w_kd = c->tau_kd = c->w_pair = c->tau_pair = c->w_tran = c->w_itm = NAN;
    c->itm_alpha = c->momentum = c->lr = c->reg = NAN;
    c->tran_mode = -1;
    c->tran_samples = 0;
}

irllrec_status lgcn_irl_apply_params(irllrec_hook *h, const lgcn_irl_cfg *c)
{
    const irllrec_hook_param ids[] = {IRLLREC_HOOK_W_KD,      IRLLREC_HOOK_TAU_KD,
                                      IRLLREC_HOOK_W_PAIR,    IRLLREC_HOOK_TAU_PAIR,
                                      IRLLREC_HOOK_W_TRAN,    IRLLREC_HOOK_W_ITM,
                                      IRLLREC_HOOK_ITM_ALPHA, IRLLREC_HOOK_MOMENTUM,
                                      IRLLREC_HOOK_LR,        IRLLREC_HOOK_REG};
    const double v[] = {c->w_kd,      c->tau_kd,   c->w_pair, c->tau_pair, c->w_tran,
                        c->w_itm,     c->itm_alpha, c->momentum, c->lr,    c->reg};
    irllrec_status st;
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        if (isnan(v[k])) continue;
        st = irllrec_hook_set_param(h, ids[k], v[k]);
        if (st != IRLLREC_OK) return st;
    }
    if (c->tran_mode >= 0) {
        st = irllrec_hook_set_param(h, IRLLREC_HOOK_TRAN_MODE, (double)c->tran_mode);
        if (st != IRLLREC_OK) return st;
    }
    if (c->tran_samples > 0) {
        st = irllrec_hook_set_param(h, IRLLREC_HOOK_TRAN_SAMPLES, (double)c->tran_samples);
        if (st != IRLLREC_OK) return st;
    }
    return IRLLREC_OK;
}

irllrec_status lgcn_irl_create(irllrec_ctx *ctx, lgcn *m, const lgcn_irl_cfg *c,
                               irllrec_mat usr_prf, irllrec_mat itm_prf, irllrec_mat usr_int,
                               irllrec_mat itm_int, lgcn_irl **out)
{
    irllrec_hook_spec s;
    irllrec_status st = IRLLREC_E_NOMEM;
    lgcn_irl *x;
    int64_t U = lgcn_n_users(m), N = lgcn_n_nodes(m), d = lgcn_dim(m);
    int32_t L = lgcn_n_layers(m);
    const irllrec_mat texts[4] = {usr_prf, itm_prf, usr_int, itm_int};
    const int32_t which[4] = {IRLLREC_HOOK_USER_PROFILE, IRLLREC_HOOK_ITEM_PROFILE,
                              IRLLREC_HOOK_USER_INTENT, IRLLREC_HOOK_ITEM_INTENT};
    *out = NULL;
    if ((usr_prf.cols > 0) != (itm_prf.cols > 0) || (usr_int.cols > 0) != (itm_int.cols > 0))
        return IRLLREC_E_INVALID_ARG;
    x = (lgcn_irl *)calloc(1, sizeof *x);
    if (x == NULL) return IRLLREC_E_NOMEM;
    x->ctx = ctx;
    x->m = m;
    x->L = L;
    irllrec_hook_spec_init(&s, sizeof s);
    s.preset = c->preset;
    s.n_users = U;
    s.n_items = N - U;
    s.dim = (int32_t)d;
    s.n_intents = c->n_intents;
    s.n_layers = L;
    s.max_batch = c->max_batch;
    s.profile_dim = usr_prf.cols > 0 ? (int32_t)usr_prf.cols : 0;
    s.intent_dim = usr_int.cols > 0 ? (int32_t)usr_int.cols : 0;
    s.seed = c->seed;
    s.text_precision = c->text_precision;
    s.reduce_rows = c->reduce_rows;
    s.align_precision = c->align_precision;
    st = c->shard ? irllrec_hook_create_sharded(ctx, &s, c->shard, &x->h)
                  : irllrec_hook_create(ctx, &s, &x->h);
    if (st != IRLLREC_OK) goto fail;
    st = lgcn_irl_apply_params(x->h, c);
    if (st != IRLLREC_OK) goto fail;
    for (int k = 0; k < 4; k++) {
        if (texts[k].data == NULL) continue;
        st = irllrec_hook_set_text(x->h, which[k], irllrec_mat_const(texts[k]));
        if (st != IRLLREC_OK) goto fail;
    }
    if (L > 0) {
        irllrec_csr adj;  /* the host's own graph: built once, in lgcn_create */
        lgcn_adjacency(m, &adj);
        st = irllrec_hook_set_graph(x->h, &adj);
        if (st != IRLLREC_OK) goto fail;
    }
    st = IRLLREC_E_NOMEM;
    x->dptr = (const float **)calloc((size_t)L + 1, sizeof *x->dptr);
    x->lay = (irllrec_cmat *)calloc((size_t)L + 1, sizeof *x->lay);
    x->dlm = (irllrec_mat *)calloc((size_t)L + 1, sizeof *x->dlm);
    if (L > 0) x->dlay = (float *)calloc((size_t)L * (size_t)N * (size_t)d, sizeof(float));
    if (!x->dptr || !x->lay || !x->dlm || (L > 0 && !x->dlay)) goto fail;
    for (int32_t l = 0; l < L; l++) {
        float *g = x->dlay + (size_t)l * (size_t)N * (size_t)d;
        x->dptr[l] = g;
        x->dlm[l] = irllrec_mat_dense(g, N, d);
    }
    *out = x;
    return IRLLREC_OK;
fail:
    lgcn_irl_free(x);
    return st;
}

void lgcn_irl_free(lgcn_irl *x)
{
    if (x == NULL) return;
    irllrec_hook_free(x->h);
    free(x->dlay);
    free(x->dptr);
    free(x->lay);
    free(x->dlm);
    free(x);
}

irllrec_hook *lgcn_irl_hook(lgcn_irl *x) { return x->h; }

void lgcn_irl_last_times(const lgcn_irl *x, lgcn_irl_times *out) { *out = x->t; }

/* The hook may touch any row of dE_final and dE(l), so the buffers are
 * cleared whole (N x d each: about a millisecond at Amazon-book size). */
static void clear_grads(lgcn_irl *x)
{
    size_t nd = (size_t)lgcn_n_nodes(x->m) * (size_t)lgcn_dim(x->m);
    memset(lgcn_dfinal_buffer(x->m), 0, nd * sizeof(float));
    if (x->L > 0) memset(x->dlay, 0, (size_t)x->L * nd * sizeof(float));
}

irllrec_status lgcn_irl_hook_step(lgcn_irl *x, const float *final, const float *const *layers,
                                  const int32_t *users, const int32_t *pos, const int32_t *neg,
                                  int64_t b, float *df, irllrec_hook_losses *hl)
{
    int64_t U = lgcn_n_users(x->m), N = lgcn_n_nodes(x->m), I = N - U, d = lgcn_dim(x->m);
    const irllrec_hook_batch batch = {b, users, pos, neg};
    irllrec_hook_inputs in;
    irllrec_hook_grads g;
    for (int32_t l = 0; l < x->L; l++) x->lay[l] = irllrec_cmat_dense(layers[l], N, d);
    in.user_final = irllrec_cmat_dense(final, U, d);
    in.item_final = irllrec_cmat_dense(final + U * d, I, d);
    in.layers = x->L > 0 ? x->lay : NULL;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.mode = IRLLREC_HOOK_GRAD_DENSE;
    g.user_grad = irllrec_mat_dense(df, U, d);
    g.item_grad = irllrec_mat_dense(df + U * d, I, d);
    g.layer_grads = x->L > 0 ? x->dlm : NULL;
    memset(hl, 0, sizeof *hl);
    hl->struct_size = sizeof *hl;
    return irllrec_hook_step(x->h, &batch, &in, &g, hl);
}

const float *const *lgcn_irl_layer_grads(const lgcn_irl *x)
{
    return x->L > 0 ? (const float *const *)x->dptr : NULL;
}

void lgcn_irl_clear_layer_grads(lgcn_irl *x)
{
    size_t nd = (size_t)lgcn_n_nodes(x->m) * (size_t)lgcn_dim(x->m);
    if (x->L > 0) memset(x->dlay, 0, (size_t)x->L * nd * sizeof(float));
}

irllrec_status lgcn_irl_grad(lgcn_irl *x, int32_t mode, const int32_t *users, const int32_t *pos,
                             const int32_t *neg, int64_t b, lgcn_irl_losses *out)
{
    lgcn *m = x->m;
    float *df = lgcn_dfinal_buffer(m);
    const float *ef = lgcn_final(m);
    const float *lay[64];
    irllrec_hook_losses hl;
    irllrec_status st;
    double t0 = now_s(), t1, t2, t3, bpr, reg;
    lgcn_forward(m, mode);
    t1 = now_s();
    bpr = lgcn_bpr(m, users, pos, neg, b, df);
    t2 = now_s();
    x->t.forward = t1 - t0;
    x->t.bpr = t2 - t1;
    if (!isfinite(bpr)) {
        clear_grads(x);
        return IRLLREC_E_NUMERIC;
    }
    for (int32_t l = 0; l < x->L; l++) lay[l] = lgcn_layer(m, l);
    st = lgcn_irl_hook_step(x, ef, lay, users, pos, neg, b, df, &hl);
    t3 = now_s();
    x->t.hook = t3 - t2;
    if (st != IRLLREC_OK) {
        clear_grads(x);
        return st;
    }
    reg = lgcn_backward_reg(m, df, x->L > 0 ? x->dptr : NULL);
    t0 = now_s();
    x->t.backward = t0 - t3;
    clear_grads(x);
    x->t.clear = now_s() - t0;
    if (out != NULL) {
        out->bpr = bpr;
        out->reg = reg;
        out->hook = hl;
        out->total = bpr + reg + hl.total;
    }
    return IRLLREC_OK;
}

irllrec_status lgcn_irl_train_step(lgcn_irl *x, lgcn_opt *o, const int32_t *users,
                                   const int32_t *pos, const int32_t *neg, int64_t b,
                                   lgcn_irl_losses *out)
{
    irllrec_status st = lgcn_irl_grad(x, LGCN_TRAIN, users, pos, neg, b, out);
    double t0;
    if (st != IRLLREC_OK) return st;
    t0 = now_s();
    st = lgcn_opt_step(o);
    x->t.adam = now_s() - t0;
    return st;
}

const char *lgcn_precision_name(int32_t p)
{
    return p == IRLLREC_ALIGN_BF16 ? "bf16" : p == IRLLREC_ALIGN_BF16_LOGITS ? "bf16-logits" : "fp32";
}

int32_t lgcn_precision_parse(const char *s)
{
    for (int32_t p = IRLLREC_ALIGN_FP32; p <= IRLLREC_ALIGN_BF16; p++)
        if (strcmp(s, lgcn_precision_name(p)) == 0) return p;
    return -1;
}
