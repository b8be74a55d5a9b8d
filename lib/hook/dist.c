/* A hook trained by several ranks (data-parallel): each rank computes on its
 * own batch, then the losses and the gradients of the hook's trainable
 * blocks are summed through the host's collective layer and divided by the
 * rank count, so every rank holds the mean gradient and takes the same Adam
 * step and the same teacher EMA. The layer sums in rank order, so the bits
 * are the same on every rank and on every repeat with the same rank count.
 *
 * Every decision after the reduction is taken on reduced values only, so
 * the ranks cannot diverge: a rank whose own compute failed still joins the
 * loss reduction (with its failure flagged), and then every rank fails. */
#include <math.h>
#include <string.h>
#include "hook_impl.h"
#include "../dist/dist.h"

/* FNV-1a over what must be equal on every rank before a step. */
static uint64_t fnv(uint64_t hsh, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) hsh = (hsh ^ b[i]) * 1099511628211ULL;
    return hsh;
}

static uint64_t state_hash(const irllrec_hook *h)
{
    uint64_t x = 1469598103934665603ULL;
    x = fnv(x, &h->steps, sizeof h->steps);
    const double prm[] = {h->w_kd, h->tau_kd, h->w_pair, h->tau_pair, h->w_tran, h->w_itm,
                          h->alpha, h->momentum, h->lr, h->reg, h->beta1, h->beta2, h->eps,
                          h->weight_decay, (double)h->tran_mode, (double)h->tran_samples,
                          (double)h->tran_in_itm, (double)h->reg_teacher,
                          (double)h->need_graph};
    x = fnv(x, prm, sizeof prm);
    const int64_t shp[] = {h->U, h->I, h->d, h->K, h->L, h->B, h->Dp, h->Dt};
    x = fnv(x, shp, sizeof shp);
    for (int i = 0; i < h->n_blocks; i++)
        x = fnv(x, h->blocks[i].data,
                (size_t)(h->blocks[i].rows * h->blocks[i].cols) * sizeof(float));
    return x;
}

/* Rank 0's state hash against everyone's; the verdict itself is reduced so
 * that every rank gives the same answer. */
static irllrec_status same_state(irllrec_hook *h, const irllrec_collective *c, int32_t rank,
                                 const char *fn)
{
    uint64_t mine = state_hash(h), root = mine;
    IRL_TRY(irllrec__coll_bcast(h->ctx, fn, c, &root, (int64_t)sizeof root, 0));
    double differ = mine != root ? 1.0 : 0.0;
    IRL_TRY(irllrec__coll_sum_f64(h->ctx, fn, c, &differ, &differ, 1));
    IRL_CHECK_FN(h->ctx, fn, differ == 0.0, IRLLREC_E_STATE,
                 "%.0f rank(s) hold other parameters, runtime parameters, shapes or step "
                 "count than rank 0 (this is rank %d%s): create every rank's hook from the "
                 "same spec and seed, or import the same checkpoint", differ, (int)rank,
                 mine != root ? ", one of them" : "");
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_attach(irllrec_hook *h, const irllrec_collective *c, int32_t r,
                                    int32_t p, const char *fn)
{
    IRL_TRY(same_state(h, c, r, fn));
    h->coll = *c;
    h->coll_rank = r;
    h->coll_size = p;
    h->coll_on = 1;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_collective(irllrec_hook *h, const irllrec_collective *c)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, !h->sh_on, IRLLREC_E_STATE,
              "a node-sharded hook keeps the layer it was created with "
              "(irllrec_hook_create_sharded)");
    IRL_CHECK(h->ctx, !h->pending, IRLLREC_E_STATE,
              "a compute awaits irllrec_hook_apply: attach the layer between steps");
    if (c == NULL) {
        h->coll_on = 0;
        h->coll_rank = 0;
        h->coll_size = 1;
        return IRLLREC_OK;
    }
    irllrec_collective cc;
    int32_t r = 0, p = 0;
    IRL_TRY(irllrec__coll_copy(h->ctx, __func__, c, &cc));
    IRL_TRY(irllrec__coll_rank_size(h->ctx, __func__, &cc, &r, &p));
    IRL_TRY(irllrec__coll_agree(h->ctx, __func__, &cc, r, p));
    return irllrec__hook_attach(h, &cc, r, p, __func__);
}

irllrec_status irllrec_hook_collective_info(const irllrec_hook *h, int32_t *rank, int32_t *size)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, rank != NULL && size != NULL, IRLLREC_E_INVALID_ARG,
              "rank and size must not be NULL");
    *rank = h->coll_on ? h->coll_rank : 0;
    *size = h->coll_on ? h->coll_size : 1;
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_dist_losses(irllrec_hook *h, irllrec_hook_losses *lv, int ok,
                                         int *others_failed)
{
    static const char *fn = "irllrec_hook_compute";
    const double p = (double)h->coll_size;
    double v[6] = {ok ? 0.0 : 1.0, lv->kd, lv->pair, lv->tran, lv->itm, lv->reg};
    if (!ok) memset(v + 1, 0, 5 * sizeof v[0]);  /* a failed rank's values are noise */
    IRL_TRY(irllrec__coll_sum_f64(h->ctx, fn, &h->coll, v, v, 6));
    *others_failed = (int)(v[0] - (ok ? 0.0 : 1.0));
    lv->kd = v[1] / p;
    lv->pair = v[2] / p;
    lv->tran = v[3] / p;
    lv->itm = v[4] / p;
    lv->reg = v[5] / p;
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_dist_grads(irllrec_hook *h)
{
    const float p = (float)h->coll_size;
    for (int i = 0; i < h->n_train; i++) {
        float *g = h->blocks[i].grad;
        const int64_t n = h->blocks[i].rows * h->blocks[i].cols;
        IRL_TRY(irllrec__coll_sum_f32(h->ctx, "irllrec_hook_compute", &h->coll, g, g, n));
        if (h->coll_size > 1)
            for (int64_t j = 0; j < n; j++) g[j] /= p;
    }
    return IRLLREC_OK;
}
