/* One step as a pipeline: validate once, then the stages of the terms that
 * are on, each timed by the loop rather than inside the math, then the
 * transaction's finish. compute and apply are the two halves; step is both. */
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include "hook_impl.h"

enum { ON_KD, ON_Z, ON_PAIR, ON_TRAN, ON_ITM, ON_REG };

typedef struct stage {
    irllrec_status (*fn)(irllrec_hook *h, irllrec__hook_run *r);
    int when;
    size_t slot;  /* offsetof the irllrec_hook_timings field it is timed in */
    int coll;     /* talks to the other ranks of a sharded hook */
} stage;

#define T(f) offsetof(irllrec_hook_timings, f)
static const stage STAGES[] = {
    {irllrec__hook_profile_fwd, ON_KD, T(profile_mlp), 0},
    {irllrec__hook_profile_gather, ON_KD, T(profile_mlp), 1},
    {irllrec__hook_term_kd, ON_KD, T(kd), 0},
    {irllrec__hook_profile_bwd, ON_KD, T(profile_mlp), 0},
    {irllrec__hook_intent_fwd, ON_Z, T(intent_mlp), 0},
    {irllrec__hook_intent_gather, ON_Z, T(intent_mlp), 1},
    {irllrec__hook_tower_fwd, ON_PAIR, T(tower), 0},
    {irllrec__hook_term_pair, ON_PAIR, T(pair), 0},
    {irllrec__hook_tower_bwd, ON_PAIR, T(tower), 0},
    {irllrec__hook_term_tran, ON_TRAN, T(tran), 0},
    {irllrec__hook_tran_finish, ON_TRAN, T(tran), 1},
    {irllrec__hook_teacher_fwd, ON_ITM, T(teacher), 0},
    {irllrec__hook_term_itm, ON_ITM, T(itm), 0},
    {irllrec__hook_intent_bwd, ON_Z, T(intent_mlp), 0},
    {irllrec__hook_term_reg, ON_REG, T(commit), 0},
};
#undef T

static int stage_on(const irllrec_hook *h, const irllrec__hook_run *r, int when)
{
    switch (when) {
    case ON_KD: return r->kd_on;
    case ON_Z: return r->pair_on || r->full_z;
    case ON_PAIR: return r->pair_on;
    case ON_TRAN: return r->tran_on;
    case ON_ITM: return r->itm_on;
    default: return h->reg > 0.0;
    }
}

/* Which terms run, and the weights of L_tran and ITM's CE (the released
 * code's L_itm also holds (1 - alpha) w_tran L_tran). */
static void plan(const irllrec_hook *h, irllrec__hook_run *r)
{
    const int graph_ok = h->L > 0 || !h->need_graph;
    r->c_tran = h->w_tran * (1.0 + (h->tran_in_itm ? h->w_itm * (1.0 - h->alpha) : 0.0));
    r->c_itm = h->w_itm * h->alpha;
    r->kd_on = h->has_prf && h->w_kd > 0.0;
    r->pair_on = h->has_int && h->w_pair > 0.0;
    r->tran_on = h->has_int && graph_ok && r->c_tran > 0.0;
    r->itm_on = h->has_int && graph_ok && r->c_itm > 0.0;
    r->full_z = r->tran_on || r->itm_on;
}

static double total_loss(const irllrec_hook *h, const irllrec_hook_losses *lv)
{
    return h->w_kd * lv->kd + h->w_pair * lv->pair + h->w_tran * lv->tran +
           h->w_itm * (h->alpha * lv->itm +
                       (h->tran_in_itm ? (1.0 - h->alpha) * h->w_tran * lv->tran : 0.0)) +
           lv->reg;
}

static int all_finite(const irllrec_hook *h, double total)
{
    int ok = isfinite(total) && irllrec__hook_grads_finite(h);
    for (int i = 0; i < h->n_blocks && ok; i++) {
        const irllrec__param *p = &h->blocks[i];
        ok = irllrec__all_finite(i < h->n_train ? p->grad : p->data, p->rows * p->cols);
    }
    return ok;
}

static void lap(irllrec_hook_timings *tm, size_t slot, double *t0)
{
    const double t = irllrec__now();
    *(double *)(void *)((char *)tm + slot) += t - *t0;
    *t0 = t;
}

/* Everything a compute starts from: gradients zero, the batch's items. */
static void prepare(irllrec_hook *h, const irllrec_hook_batch *b)
{
    for (int i = 0; i < h->n_train; i++)
        memset(h->blocks[i].grad, 0,
               (size_t)(h->blocks[i].rows * h->blocks[i].cols) * sizeof(float));
    irllrec__hook_rows_reset(h);
    irllrec__hook_batch_nodes(h, b);
    h->p_rows = h->z_rows = 0;
    h->acc_live[0] = h->acc_live[1] = 0;
}

/* The first failure ends the compute, except that a sharded hook still
 * makes the collective stages' calls (on whatever its buffers hold), so
 * that every rank makes the same sequence of calls and the loss reduction
 * tells the others; a failure of the layer itself ends it at once. */
static irllrec_status run_stages(irllrec_hook *h, irllrec__hook_run *r, irllrec_hook_timings *tm,
                                 double *t0)
{
    irllrec_status first = IRLLREC_OK;
    for (size_t i = 0; i < sizeof STAGES / sizeof STAGES[0]; i++) {
        if (!stage_on(h, r, STAGES[i].when)) continue;
        if (first != IRLLREC_OK && !(h->sh_on && STAGES[i].coll)) continue;
        const irllrec_status st = STAGES[i].fn(h, r);
        if (st == IRLLREC_E_COMM) return st;
        if (first == IRLLREC_OK) first = st;
        if (first != IRLLREC_OK && !h->sh_on) return first;
        lap(tm, STAGES[i].slot, t0);
    }
    return first;
}

static irllrec_status failed(irllrec_hook *h, irllrec_status st, double total)
{
    irllrec__hook_txn_end(h, 0);
    if (st == IRLLREC_OK)
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, "irllrec_hook_compute",
                             "non-finite loss or gradient (total = %.17g); nothing was changed",
                             total);
    char why[IRLLREC__ERRMSG_CAP / 2];
    snprintf(why, sizeof why, "%s", irllrec_ctx_errmsg(h->ctx));  /* fail overwrites it */
    return irllrec__fail(h->ctx, st, "irllrec_hook_compute",
                         "a loss term failed (%s); nothing was changed", why);
}

/* A compute refused at validation still joins the loss reduction (flagged as
 * failed) when ranks are attached, so the other ranks fail at once rather
 * than wait for it until their layer's timeout. */
static irllrec_status refused(irllrec_hook *h, irllrec_status st)
{
    if (h->coll_on) {
        irllrec_hook_losses lv;
        memset(&lv, 0, sizeof lv);
        int others = 0;
        char why[IRLLREC__ERRMSG_CAP / 2];
        snprintf(why, sizeof why, "%s", irllrec_ctx_errmsg(h->ctx));
        const irllrec_status cs = h->sh_on ? irllrec__hook_shard_verdict(h, 0, &others)
                                           : irllrec__hook_dist_losses(h, &lv, 0, &others);
        if (cs != IRLLREC_OK)
            return irllrec__fail(h->ctx, st, "irllrec_hook_compute",
                                 "%s (and the collective layer failed telling the other ranks)",
                                 why);
    }
    return st;
}

/* Several ranks: mean losses, then (when every rank's compute succeeded)
 * mean gradients; *ok is then decided on reduced values alone, the same on
 * every rank. A failure of the layer, or of another rank's compute, is
 * returned with its message recorded. */
static irllrec_status reduce_ranks(irllrec_hook *h, irllrec_hook_losses *lv, int *ok,
                                   int loss_only)
{
    int others = 0;
    if (h->sh_on)
        IRL_TRY(irllrec__hook_shard_reduce(h, lv, *ok, &others, !loss_only));
    else
        IRL_TRY(irllrec__hook_dist_losses(h, lv, *ok, &others));
    if (!*ok) return IRLLREC_OK;  /* this rank's own failure is reported by the caller */
    IRL_CHECK_FN(h->ctx, "irllrec_hook_compute", others == 0, IRLLREC_E_COMM,
                 "the compute failed on %d other rank(s) of %d (this is rank %d); nothing "
                 "was changed", others, (int)h->coll_size, (int)h->coll_rank);
    if (!loss_only && !h->sh_on) IRL_TRY(irllrec__hook_dist_grads(h));
    lv->total = total_loss(h, lv);
    *ok = all_finite(h, lv->total);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_compute(irllrec_hook *h, const irllrec_hook_batch *batch,
                                    const irllrec_hook_inputs *in, const irllrec_hook_grads *grads,
                                    uint32_t flags, irllrec_hook_losses *out)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_hook_timings tm;
    irllrec__hook_run r;
    memset(&tm, 0, sizeof tm);
    memset(&r, 0, sizeof r);
    const double t_start = irllrec__now();
    double t0 = t_start;
    const irllrec_status vs = irllrec__hook_validate(h, batch, in, grads, flags, out);
    if (vs != IRLLREC_OK) return refused(h, vs);
    if (h->sh_on) {
        /* the stages talk to the other ranks: all of them start, or none */
        int others = 0;
        IRL_TRY(irllrec__hook_shard_verdict(h, 1, &others));
        IRL_CHECK_FN(h->ctx, "irllrec_hook_compute", others == 0, IRLLREC_E_COMM,
                     "the compute was refused on %d other rank(s) of %d (this is rank %d); "
                     "nothing was changed", others, (int)h->coll_size, (int)h->coll_rank);
    }
    const int loss_only = (flags & IRLLREC_HOOK_LOSS_ONLY) != 0;
    r.b = batch;
    r.in = in;
    plan(h, &r);
    h->pending = 0;
    prepare(h, batch);
    lap(&tm, offsetof(irllrec_hook_timings, validate), &t0);
    irllrec__hook_txn_begin(h);
    lap(&tm, offsetof(irllrec_hook_timings, teacher), &t0);
    irllrec_status st = run_stages(h, &r, &tm, &t0);
    if (st == IRLLREC_E_COMM) {  /* the layer failed: the group is unusable */
        irllrec__hook_txn_end(h, 0);
        return st;
    }
    r.lv.total = total_loss(h, &r.lv);
    int ok = st == IRLLREC_OK && all_finite(h, r.lv.total);
    if (h->coll_on) {
        lap(&tm, offsetof(irllrec_hook_timings, commit), &t0);
        const irllrec_status cs = reduce_ranks(h, &r.lv, &ok, loss_only);
        if (cs != IRLLREC_OK) {
            irllrec__hook_txn_end(h, 0);
            return cs;
        }
    }
    if (!ok) return failed(h, st, r.lv.total);
    if (!loss_only) irllrec__hook_deliver(h, grads);
    irllrec__hook_txn_end(h, !loss_only);
    lap(&tm, offsetof(irllrec_hook_timings, commit), &t0);
    tm.total = t0 - t_start;
    tm.struct_size = (uint32_t)sizeof tm;
    h->tm = tm;
    if (out != NULL) {
        r.lv.struct_size =
            out->struct_size < sizeof r.lv ? out->struct_size : (uint32_t)sizeof r.lv;
        memcpy(out, &r.lv, r.lv.struct_size);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_apply(irllrec_hook *h, uint32_t flags)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, (flags & ~(uint32_t)IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM) == 0,
              IRLLREC_E_INVALID_ARG, "flags = 0x%x has unknown bits", (unsigned)flags);
    IRL_CHECK(h->ctx, h->pending, IRLLREC_E_STATE,
              "no successful gradient compute since the last apply (irllrec_hook_compute "
              "without IRLLREC_HOOK_LOSS_ONLY)");
    const double t0 = irllrec__now();
    irllrec__hook_txn_commit(h, !(flags & IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM));
    const double dt = irllrec__now() - t0;
    h->tm.commit += dt;
    h->tm.total += dt;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_step(irllrec_hook *h, const irllrec_hook_batch *batch,
                                 const irllrec_hook_inputs *in, const irllrec_hook_grads *grads,
                                 irllrec_hook_losses *out)
{
    IRL_TRY(irllrec_hook_compute(h, batch, in, grads, 0, out));
    return irllrec_hook_apply(h, 0);
}
