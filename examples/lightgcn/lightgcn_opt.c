/* Adam on E(0) through irllrec_adam, and the whole training step.
 *
 * Adam is elementwise, so giving each thread its own handle over its own
 * contiguous rows is exactly one Adam over the block, whatever the thread
 * count. Each handle gets its own ctx because one ctx tree must not be used
 * by two threads at once. */
#include "lightgcn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lgcn_opt {
    lgcn *m;
    int32_t nt;
    irllrec_ctx **ctx;
    irllrec_adam **adam;
    irllrec_status *st;
};

void lgcn_opt_free(lgcn_opt *o)
{
    if (o == NULL) return;
    for (int32_t t = 0; t < o->nt; t++) {
        if (o->adam) irllrec_adam_free(o->adam[t]);
        if (o->ctx) irllrec_ctx_free(o->ctx[t]);
    }
    free(o->adam);
    free(o->ctx);
    free(o->st);
    free(o);
}

irllrec_status lgcn_opt_create(lgcn *m, double lr, lgcn_opt **out, char *err, size_t errcap)
{
    lgcn_opt *o;
    irllrec_adam_spec spec;
    irllrec_status st = IRLLREC_OK;
    if (out == NULL || m == NULL) return IRLLREC_E_INVALID_ARG;
    *out = NULL;
    o = (lgcn_opt *)calloc(1, sizeof *o);
    if (o == NULL) return IRLLREC_E_NOMEM;
    o->m = m;
    o->nt = lgcn_n_threads(m);
    o->ctx = (irllrec_ctx **)calloc((size_t)o->nt, sizeof *o->ctx);
    o->adam = (irllrec_adam **)calloc((size_t)o->nt, sizeof *o->adam);
    o->st = (irllrec_status *)calloc((size_t)o->nt, sizeof *o->st);
    if (!o->ctx || !o->adam || !o->st) {
        lgcn_opt_free(o);
        return IRLLREC_E_NOMEM;
    }
    irllrec_adam_spec_init(&spec, sizeof spec);
    spec.lr = lr;
    for (int32_t t = 0; t < o->nt && st == IRLLREC_OK; t++) {
        int64_t lo, hi, n;
        lgcn_row_share(m, t, &lo, &hi);
        n = (hi - lo) * lgcn_dim(m);
        st = irllrec_ctx_create(NULL, &o->ctx[t]);
        if (st == IRLLREC_OK && n > 0) {
            st = irllrec_adam_create(o->ctx[t], &spec, &n, 1, &o->adam[t]);
            if (st != IRLLREC_OK && err != NULL)
                snprintf(err, errcap, "%s", irllrec_ctx_errmsg(o->ctx[t]));
        }
    }
    if (st != IRLLREC_OK) {
        lgcn_opt_free(o);
        return st;
    }
    *out = o;
    return IRLLREC_OK;
}

/* The state of share t: its m then its v, (hi - lo) * d floats each. */
static irllrec_status share_state(const lgcn_opt *o, int32_t t, int64_t *t_out, float *mom,
                                  float *vel, const float *mom_in, const float *vel_in,
                                  int64_t t_in)
{
    int64_t lo, hi, d = lgcn_dim(o->m), n;
    float *buf;
    irllrec_status st;
    lgcn_row_share(o->m, t, &lo, &hi);
    n = (hi - lo) * d;
    if (o->adam[t] == NULL || n == 0) return IRLLREC_OK;
    buf = (float *)malloc((size_t)(2 * n) * sizeof(float));
    if (buf == NULL) return IRLLREC_E_NOMEM;
    if (mom_in != NULL) {
        memcpy(buf, mom_in + lo * d, (size_t)n * sizeof(float));
        memcpy(buf + n, vel_in + lo * d, (size_t)n * sizeof(float));
        st = irllrec_adam_set_state(o->adam[t], t_in, buf, 2 * n);
    } else {
        st = irllrec_adam_get_state(o->adam[t], t_out, buf, 2 * n);
        if (st == IRLLREC_OK) {
            memcpy(mom + lo * d, buf, (size_t)n * sizeof(float));
            memcpy(vel + lo * d, buf + n, (size_t)n * sizeof(float));
        }
    }
    free(buf);
    return st;
}

irllrec_status lgcn_opt_get_state(const lgcn_opt *o, int64_t *t, float *mom, float *vel)
{
    irllrec_status st = IRLLREC_OK;
    *t = 0;
    for (int32_t k = 0; k < o->nt && st == IRLLREC_OK; k++) {
        int64_t tk = 0;
        st = share_state(o, k, &tk, mom, vel, NULL, NULL, 0);
        if (tk > *t) *t = tk;  /* every share steps together */
    }
    return st;
}

irllrec_status lgcn_opt_set_state(lgcn_opt *o, int64_t t, const float *mom, const float *vel)
{
    irllrec_status st = IRLLREC_OK;
    for (int32_t k = 0; k < o->nt && st == IRLLREC_OK; k++)
        st = share_state(o, k, NULL, NULL, NULL, mom, vel, t);
    return st;
}

static void step_task(void *ud, int32_t t, int32_t nt)
{
    lgcn_opt *o = (lgcn_opt *)ud;
    int64_t lo, hi, d = lgcn_dim(o->m);
    float *p;
    const float *g;
    (void)nt;
    o->st[t] = IRLLREC_OK;
    if (o->adam[t] == NULL) return;
    lgcn_row_share(o->m, t, &lo, &hi);
    p = lgcn_params(o->m) + lo * d;
    g = lgcn_grad(o->m) + lo * d;
    o->st[t] = irllrec_adam_step(o->adam[t], &p, &g);
}

irllrec_status lgcn_opt_step(lgcn_opt *o)
{
    lgcn_run(o->m, step_task, o);
    for (int32_t t = 0; t < o->nt; t++)
        if (o->st[t] != IRLLREC_OK) return o->st[t];
    return IRLLREC_OK;
}

/* Only the batch's rows of dE_final are non-zero, so clearing them is much
 * cheaper than clearing N x d. */
static void clear_rows(lgcn *m, float *df, const int32_t *users, const int32_t *pos,
                       const int32_t *neg, int64_t b)
{
    int64_t d = lgcn_dim(m), U = lgcn_n_users(m);
    size_t row = (size_t)d * sizeof(float);
    for (int64_t k = 0; k < b; k++) {
        memset(df + users[k] * d, 0, row);
        memset(df + (U + pos[k]) * d, 0, row);
        memset(df + (U + neg[k]) * d, 0, row);
    }
}

irllrec_status lgcn_train_step(lgcn *m, lgcn_opt *o, const int32_t *users, const int32_t *pos,
                               const int32_t *neg, int64_t b, double *bpr_out, double *reg_out)
{
    float *df = lgcn_dfinal_buffer(m);
    double bpr, reg;
    lgcn_forward(m, 1);
    bpr = lgcn_bpr(m, users, pos, neg, b, df);
    if (!isfinite(bpr)) {
        clear_rows(m, df, users, pos, neg, b);
        return IRLLREC_E_NUMERIC;
    }
    reg = lgcn_backward_reg(m, df, NULL);
    clear_rows(m, df, users, pos, neg, b);
    if (bpr_out) *bpr_out = bpr;
    if (reg_out) *reg_out = reg;
    return lgcn_opt_step(o);
}
