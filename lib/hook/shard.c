/* Node sharding: each of P ranks holds a contiguous block of the N node rows
 * (users first) of the text matrices, runs the text towers and the teacher
 * on it, and computes its row block of translation alignment and ITM. The
 * batch, E_final, E(l), the parameters and everything batch-sized are
 * replicated: every rank is given the same global batch and computes the
 * batch terms on the gathered tower outputs, so in-batch negatives are those
 * of one process.
 *
 * Why the reduction rules below: a quantity every rank computes alike (the
 * batch terms, the prototypes' gradient, reg) must count once, and one that
 * a rank computes for its rows only (its text towers' gradient, its block of
 * L_tran and CE) must be summed. Counting the former on rank 0 only and
 * summing everything in rank order gives exactly rank 0's bits for it
 * (x + 0 + ... + 0 = x), and one-process values up to the order of the sums
 * for the rest. docs/distributed.md. */
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"
#include "../dist/dist.h"

static const char FN[] = "irllrec_hook_compute";

/* Rank r of p holds whole reduction chunks (reduce.c): chunks
 * [nc r / p, nc (r + 1) / p) of the nc chunks. */
static void chunk_range(const irllrec_hook *h, int32_t p, int32_t r, int64_t *k0, int64_t *k1)
{
    *k0 = h->n_chunks * r / p;
    *k1 = h->n_chunks * (r + 1) / p;
}

void irllrec__hook_shard_bounds(const irllrec_hook *h, int32_t p, int32_t r, int64_t *lo,
                                int64_t *n)
{
    int64_t k0, k1;
    chunk_range(h, p, r, &k0, &k1);
    *lo = irllrec__hook_chunk_lo(h->U, h->I, h->C, k0);
    *n = irllrec__hook_chunk_lo(h->U, h->I, h->C, k1) - *lo;
}

void irllrec__hook_set_shard(irllrec_hook *h, int32_t p, int32_t r)
{
    h->sh_on = p > 0;
    h->sh_p = p > 0 ? p : 1;
    h->sh_c0 = 0;
    h->sh_c1 = h->n_chunks;
    h->sh_lo = 0;
    h->sh_n = h->N;
    if (p > 0) {
        chunk_range(h, p, r, &h->sh_c0, &h->sh_c1);
        irllrec__hook_shard_bounds(h, p, r, &h->sh_lo, &h->sh_n);
    }
}

/* Every rank's held tower rows of buf (in the tower's layout, full or
 * gathered: reduce.c) on every rank. */
irllrec_status irllrec__hook_shard_gather(irllrec_hook *h, float *buf, int full)
{
    const int32_t P = h->coll_size;
    const int64_t row = h->d * (int64_t)sizeof(float);
    int64_t *bytes = h->sh_cnt, *displs = h->sh_cnt + P, lo, hi;
    for (int32_t r = 0; r < P; r++) {
        irllrec__hook_held_out(h, full, r, &lo, &hi);
        bytes[r] = (hi - lo) * row;
        displs[r] = lo * row;
    }
    /* the send block is this rank's slot of buf itself: copy it out first so
     * send and receive never overlap */
    const int32_t me = h->coll_rank;
    memcpy(h->sh_send, (char *)buf + displs[me], (size_t)bytes[me]);
    return irllrec__coll_gatherv(h->ctx, FN, &h->coll, h->sh_send, bytes[me], buf, bytes, displs);
}

irllrec_status irllrec__hook_shard_sum_f64(irllrec_hook *h, double *buf, int64_t n)
{
    return irllrec__coll_sum_f64(h->ctx, FN, &h->coll, buf, buf, n);
}

irllrec_status irllrec__hook_shard_verdict(irllrec_hook *h, int ok, int *others_failed)
{
    double v = ok ? 0.0 : 1.0;
    IRL_TRY(irllrec__coll_sum_f64(h->ctx, FN, &h->coll, &v, &v, 1));
    *others_failed = (int)(v - (ok ? 0.0 : 1.0));
    return IRLLREC_OK;
}

/* The text towers' chunk sums in double over the ranks, then (every rank
 * alike, as one process does after its own sums) reg's gradient. */
static irllrec_status sum_towers(irllrec_hook *h)
{
    irllrec_mlp *m[2] = {h->prf, h->intm};
    for (int t = 0; t < 2; t++) {
        if (!h->acc_live[t]) continue;  /* the same on every rank: the same plan */
        int64_t n = 0;
        float *g = irllrec__mlp_grad_buf(m[t], &n);
        if (h->acc[t] == NULL) {  /* bf16 towers: fp32 sums in rank order (reduce.c) */
            IRL_TRY(irllrec__coll_sum_f32(h->ctx, FN, &h->coll, g, g, n));
            continue;
        }
        IRL_TRY(irllrec__coll_sum_f64(h->ctx, FN, &h->coll, h->acc[t], h->acc[t], n));
        irllrec__vnarrow(g, h->acc[t], n);
    }
    if (h->reg > 0.0) irllrec__hook_reg_towers(h);
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_shard_reduce(irllrec_hook *h, irllrec_hook_losses *lv, int ok,
                                          int *others_failed, int grads)
{
    const int root = h->coll_rank == 0;
    double v[6] = {ok ? 0.0 : 1.0, lv->kd, lv->pair, lv->tran, lv->itm, lv->reg};
    if (!root) {
        v[1] = v[2] = 0.0;
        /* a sampled L_tran is every rank's alike: count it once */
        if (irllrec__hook_tran_sampled(h)) v[3] = 0.0;
    }
    if (!ok) memset(v + 1, 0, 5 * sizeof v[0]);
    IRL_TRY(irllrec__coll_sum_f64(h->ctx, FN, &h->coll, v, v, 6));
    *others_failed = (int)(v[0] - (ok ? 0.0 : 1.0));
    lv->kd = v[1];
    lv->pair = v[2];
    lv->tran = v[3];
    lv->itm = v[4];
    lv->reg = v[5];
    if (!ok || *others_failed > 0 || !grads) return IRLLREC_OK;
    for (int i = 0; i < h->n_train; i++) {
        irllrec__param *p = &h->blocks[i];
        const int64_t n = p->rows * p->cols;
        if (irllrec__hook_is_text_block(p)) continue;  /* summed in double below */
        if (!root && strncmp(p->name, "proto.", 6) == 0)
            memset(p->grad, 0, (size_t)n * sizeof(float));
        IRL_TRY(irllrec__coll_sum_f32(h->ctx, FN, &h->coll, p->grad, p->grad, n));
    }
    return sum_towers(h);
}

/* ---- the public calls ------------------------------------------------------ */

irllrec_status irllrec_hook_create_sharded(irllrec_ctx *ctx, const irllrec_hook_spec *spec,
                                           const irllrec_collective *c, irllrec_hook **out)
{
    static const char *fn = "irllrec_hook_create_sharded";
    irllrec_collective cc;
    int32_t r = 0, p = 0;
    if (out != NULL) *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK_FN(ctx, fn, c != NULL && out != NULL, IRLLREC_E_INVALID_ARG,
                 "%s is NULL", c == NULL ? "the collective layer c" : "out");
    IRL_TRY(irllrec__coll_copy(ctx, fn, c, &cc));
    IRL_TRY(irllrec__coll_rank_size(ctx, fn, &cc, &r, &p));
    IRL_TRY(irllrec__coll_agree(ctx, fn, &cc, r, p));
    irllrec_hook *h = NULL;
    IRL_TRY(irllrec__hook_create_at(ctx, fn, spec, p, r, &h));
    /* every rank's spec and seed must give rank 0's parameters */
    const irllrec_status st = irllrec__hook_attach(h, &cc, r, p, fn);
    if (st != IRLLREC_OK) {
        irllrec_hook_free(h);
        return st;
    }
    *out = h;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_shard_rows(const irllrec_hook *h, int64_t *row0, int64_t *rows)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, row0 != NULL && rows != NULL, IRLLREC_E_INVALID_ARG,
              "%s is NULL", row0 == NULL ? "row0" : "rows");
    *row0 = h->sh_lo;
    *rows = h->sh_n;
    return IRLLREC_OK;
}
