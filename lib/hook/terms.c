/* The paper's terms, one function each, and the tower passes they need, in
 * the order the pipeline (step.c) runs them. Each term adds its gradients
 * into the hook's scratch (text-tower outputs, g_final through the
 * touched-row store, g_layers) and reports its unweighted value in r->lv.
 * Arguments were validated at the boundary (validate.c); the module calls
 * check only the shapes of what the hook hands them. Math: docs/math.md. */
#include <math.h>
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"

static irllrec_mat dense(float *p, int64_t rows, int64_t cols)
{
    return irllrec_mat_dense(p, rows, cols);
}

static irllrec_cmat cdense(const float *p, int64_t rows, int64_t cols)
{
    return irllrec_cmat_dense(p, rows, cols);
}

/* One InfoNCE between anchors x (nb x d, row weights w) and candidates y
 * (m x d, multiplicities c); dx and dy receive += scale * grad, *l the
 * unscaled sum. pos NULL: pos[b] = b. */
static irllrec_status nce(irllrec_hook *h, float *x, float *dx, int64_t nb, const float *w,
                          float *y, float *dy, int64_t m, const float *c, const int32_t *pos,
                          double tau, double scale, double *l)
{
    double v = 0.0;
    IRL_TRY(irllrec_align_infonce_counts(h->align, dense(x, nb, h->d), dense(y, m, h->d), pos, w,
                                         c, tau, scale, dense(dx, nb, h->d), dense(dy, m, h->d),
                                         &v));
    *l += v / scale;
    return IRLLREC_OK;
}

/* xa = role's distinct anchors (rows of ax, indexed like h->anchors). */
static void role_gather(irllrec_hook *h, int64_t B, int role, const float *ax)
{
    const int64_t d = h->d;
    const int32_t *at = h->role_at + role * B;
    for (int64_t k = 0; k < h->role_n[role]; k++)
        memcpy(h->xa + k * d, ax + (int64_t)h->anchor_of[role * B + at[k]] * d,
               (size_t)d * sizeof(float));
    memset(h->dxa, 0, (size_t)(h->role_n[role] * d) * sizeof(float));
}

static void role_scatter(irllrec_hook *h, int64_t B, int role, float *dax)
{
    const int64_t d = h->d;
    const int32_t *at = h->role_at + role * B;
    for (int64_t k = 0; k < h->role_n[role]; k++)
        irllrec__vadd(dax + (int64_t)h->anchor_of[role * B + at[k]] * d, h->dxa + k * d, d);
}

/* The three InfoNCE of L_kd or L_pair: the batch's users against all users,
 * its positives and negatives against the batch's items (duplicates
 * included, as the authors' in-batch negatives are). Each runs on the
 * role's distinct nodes with their counts as row weights and, against the
 * batch's items, as column multiplicities: the same loss as B rows against
 * B columns (irllrec_align_infonce_counts), at (distinct)^2 logits. ax
 * (rows as h->anchors) holds the anchors, out/dout the text side with users
 * at rows 0..U-1 and the batch's items at h->item_rows. */
static irllrec_status nce_three(irllrec_hook *h, const irllrec_hook_batch *b, float *ax,
                                float *dax, float *out, float *dout, double tau, double w,
                                double *loss)
{
    const int64_t B = b->count, d = h->d;
    const double scale = w / (double)B;
    double l = 0.0;
    role_gather(h, B, 0, ax);
    for (int64_t k = 0; k < h->role_n[0]; k++) h->role_pos[k] = b->users[h->role_at[k]];
    IRL_TRY(nce(h, h->xa, h->dxa, h->role_n[0], h->role_cnt, out, dout, h->U, NULL, h->role_pos,
                tau, scale, &l));
    role_scatter(h, B, 0, dax);
    for (int side = 0; side < 2; side++) {
        const int role = 1 + side;
        const int64_t *rows = h->item_rows + side * B, n = h->role_n[role];
        const int32_t *at = h->role_at + role * B;
        const float *cnt = h->role_cnt + role * B;
        role_gather(h, B, role, ax);
        for (int64_t k = 0; k < n; k++)
            memcpy(h->ya + k * d, out + rows[at[k]] * d, (size_t)d * sizeof(float));
        memset(h->dya, 0, (size_t)(n * d) * sizeof(float));
        IRL_TRY(nce(h, h->xa, h->dxa, n, cnt, h->ya, h->dya, n, cnt, NULL, tau, scale, &l));
        role_scatter(h, B, role, dax);
        for (int64_t k = 0; k < n; k++) irllrec__vadd(dout + rows[at[k]] * d, h->dya + k * d, d);
    }
    *loss = l / (double)B;
    return IRLLREC_OK;
}

/* A text tower's view of its inputs (profile 1, intent 0). */
typedef struct tower_io {
    irllrec_mlp *m;
    const void *txt, *gather;  /* fp32 or bf16 (h->bf16) */
    int64_t D;
    float *out, *dout;
    int t;                     /* 0 profile, 1 intent: h->acc[t] */
} tower_io;

static tower_io io_of(irllrec_hook *h, int profile)
{
    tower_io io;
    io.m = profile ? h->prf : h->intm;
    io.D = profile ? h->Dp : h->Dt;
    io.txt = h->bf16 ? (const void *)(profile ? h->txh_p : h->txh_t)
                     : (const void *)(profile ? h->txt_p : h->txt_t);
    io.gather = h->bf16 ? (const void *)(profile ? h->gh_p : h->gh_t)
                        : (const void *)(profile ? h->p_gather : h->z_gather);
    io.out = profile ? h->p_out : h->z_out;
    io.dout = profile ? h->p_dout : h->z_dout;
    io.t = profile ? 0 : 1;
    return io;
}

static const void *x_rows(const irllrec_hook *h, const tower_io *io, const irllrec__hook_seg *s)
{
    const size_t el = h->bf16 ? sizeof(uint16_t) : sizeof(float);
    return (const char *)(s->gathered ? io->gather : io->txt) + (size_t)(s->x_row * io->D) * el;
}

/* Gathered (not full): the held batch items' text rows, ascending. */
static void gather_items(irllrec_hook *h, const tower_io *io)
{
    const size_t row = (size_t)io->D * (h->bf16 ? sizeof(uint16_t) : sizeof(float));
    const int64_t *item = irllrec__hook_uniq_nodes(h), lo = h->sh_lo, hi = h->sh_lo + h->sh_n;
    int64_t n = 0;
    for (int64_t k = 0; k < h->n_uniq; k++)
        if (item[k] >= lo && item[k] < hi)
            memcpy((char *)io->gather + (size_t)n++ * row,
                   (const char *)io->txt + (size_t)(item[k] - lo) * row, row);
}

/* One chunk's rows through the tower, forward (into io->out) or backward
 * (from io->dout), on the path the hook took at create. */
static irllrec_status seg_pass(irllrec_hook *h, const tower_io *io, const irllrec__hook_seg *s,
                               int fwd)
{
    const irllrec_mat none = {NULL, 0, 0, 0};
    const int64_t d = h->d, rows = s->rows, at = s->cache_row;
    const void *x = x_rows(h, io, s);
    const uint16_t *x16 = (const uint16_t *)x;
    const irllrec_cmat x32 = cdense((const float *)x, rows, io->D);
    if (fwd) {
        const irllrec_mat y = dense(io->out + s->out_row * d, rows, d);
        return h->bf16 ? irllrec__mlp_forward_bf16_at(io->m, x16, io->D, rows, at, y)
                       : irllrec_mlp_forward_at(io->m, x32, at, y);
    }
    const irllrec_cmat dy = cdense(io->dout + s->out_row * d, rows, d);
    return h->bf16 ? irllrec__mlp_backward_bf16_at(io->m, x16, io->D, rows, at, dy)
                   : irllrec_mlp_backward_at(io->m, x32, at, dy, none);
}

/* Sets *run to the chunks from k on that go through the tower in one call
 * and returns the chunk after them. An fp32 tower takes one chunk per call:
 * each chunk's gradient is summed in double (P-independent reductions). A
 * bf16 tower keeps no such sums, so it takes every following chunk whose
 * rows continue the run's in all three layouts, and its own 2048-row blocks
 * replace the 512-row chunks: one rounding of W1 and a few oneDNN products
 * per run instead of per chunk (on an AMX Xeon the two student towers
 * went from 0.285 to 0.207 s a step, bench_step 1536-d). */
static int64_t run_end(const irllrec_hook *h, int64_t k, int64_t ns, irllrec__hook_seg *run)
{
    *run = h->segs[k];
    int64_t e = k + 1;
    for (; h->bf16 && e < ns; e++) {
        const irllrec__hook_seg *s = &h->segs[e];
        if (s->gathered != run->gathered || s->out_row != run->out_row + run->rows ||
            s->cache_row != run->cache_row + run->rows || s->x_row != run->x_row + run->rows)
            break;
        run->rows += s->rows;
    }
    return e;
}

/* The tower over the held rows of every user and every item (full), or of
 * every user and the batch's distinct items, a run of chunks per call. */
static irllrec_status tower_fwd(irllrec_hook *h, int profile, int full)
{
    const tower_io io = io_of(h, profile);
    const int64_t ns = irllrec__hook_segments(h, full);
    irllrec__hook_seg run;
    if (!full) gather_items(h, &io);
    for (int64_t k = 0; k < ns;) {
        k = run_end(h, k, ns, &run);
        IRL_TRY(seg_pass(h, &io, &run, 1));
    }
    return IRLLREC_OK;
}

/* The backward per chunk: each chunk's fp32 gradient is added into
 * h->acc[t] in double (reduce.c), then stored back as fp32 (a sharded
 * hook's shard_reduce first sums acc over the ranks). bf16 towers have no
 * acc: their chunks accumulate in fp32. */
static irllrec_status tower_bwd(irllrec_hook *h, int profile, int full)
{
    const tower_io io = io_of(h, profile);
    const int64_t ns = irllrec__hook_segments(h, full);
    int64_t ng = 0;
    float *g = irllrec__mlp_grad_buf(io.m, &ng);
    double *acc = h->acc[io.t];
    if (acc) memset(acc, 0, (size_t)ng * sizeof(double));
    irllrec__hook_seg run;
    irllrec_mlp_zero_grad(io.m);
    for (int64_t k = 0; k < ns;) {
        k = run_end(h, k, ns, &run);
        IRL_TRY(seg_pass(h, &io, &run, 0));
        if (acc) irllrec__hook_acc_add(acc, g, ng);
    }
    if (acc) irllrec__vnarrow(g, acc, ng);
    h->acc_live[io.t] = 1;
    return IRLLREC_OK;
}

/* Sharded, a tower runs on the rank's chunks, then (the gather stage)
 * every rank gathers the others' rows: the batch terms read any row. */
irllrec_status irllrec__hook_profile_fwd(irllrec_hook *h, irllrec__hook_run *r)
{
    (void)r;
    h->p_rows = h->U + h->n_uniq;
    return tower_fwd(h, 1, 0);
}

irllrec_status irllrec__hook_profile_gather(irllrec_hook *h, irllrec__hook_run *r)
{
    (void)r;
    return h->sh_on ? irllrec__hook_shard_gather(h, h->p_out, 0) : IRLLREC_OK;
}

irllrec_status irllrec__hook_term_kd(irllrec_hook *h, irllrec__hook_run *r)
{
    const irllrec_hook_batch *b = r->b;
    const int64_t U = h->U, d = h->d;
    memset(h->p_dout, 0, (size_t)(h->p_rows * d) * sizeof(float));
    const int64_t na = h->n_anchors;
    memset(h->kd_dax, 0, (size_t)(na * d) * sizeof(float));
    for (int64_t k = 0; k < na; k++)
        memcpy(h->kd_ax + k * d, irllrec__hook_final_row(r->in, U, h->anchors[k]),
               (size_t)d * sizeof(float));
    irllrec__hook_item_rows(h, b, 0);
    IRL_TRY(nce_three(h, b, h->kd_ax, h->kd_dax, h->p_out, h->p_dout, h->tau_kd, h->w_kd,
                      &r->lv.kd));
    for (int64_t k = 0; k < na; k++) {
        irllrec__hook_touch(h, h->anchors[k]);
        irllrec__vadd(h->g_final + h->anchors[k] * d, h->kd_dax + k * d, d);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_profile_bwd(irllrec_hook *h, irllrec__hook_run *r)
{
    (void)r;
    return tower_bwd(h, 1, 0);
}

irllrec_status irllrec__hook_intent_fwd(irllrec_hook *h, irllrec__hook_run *r)
{
    h->z_rows = r->full_z ? h->N : h->U + h->n_uniq;
    IRL_TRY(tower_fwd(h, 0, r->full_z));
    memset(h->z_dout, 0, (size_t)(h->z_rows * h->d) * sizeof(float));
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_intent_gather(irllrec_hook *h, irllrec__hook_run *r)
{
    return h->sh_on ? irllrec__hook_shard_gather(h, h->z_out, r->full_z) : IRLLREC_OK;
}

/* The layers the interaction tower reads: the host's E(l), or graph-free
 * E_final as one N x d matrix. */
static int tower_layers(irllrec_hook *h, const irllrec__hook_run *r, irllrec_mat *emb)
{
    if (h->L == 0) {
        emb[0] = dense(h->e_all, h->N, h->d);
        return 1;
    }
    for (int64_t l = 0; l < h->L; l++) emb[l] = irllrec__mat_of(r->in->layers[l]);
    return (int)h->L;
}

irllrec_status irllrec__hook_tower_fwd(irllrec_hook *h, irllrec__hook_run *r)
{
    irllrec_mat emb[IRLLREC__HOOK_MAX_LAYERS];
    if (!r->e_ready) irllrec__hook_gather_final(h, r->in);
    r->e_ready = 1;
    const int nl = tower_layers(h, r, emb);
    return irllrec_intent_forward_nodes(h->tower, emb, nl, h->anchors, h->n_anchors,
                                        dense(h->r, h->n_anchors, h->d));
}

irllrec_status irllrec__hook_term_pair(irllrec_hook *h, irllrec__hook_run *r)
{
    memset(h->dr, 0, (size_t)(h->n_anchors * h->d) * sizeof(float));
    irllrec__hook_item_rows(h, r->b, r->full_z);
    return nce_three(h, r->b, h->r, h->dr, h->z_out, h->z_dout, h->tau_pair, h->w_pair,
                     &r->lv.pair);
}

/* Graph-free, the tower's input is E_final: its gradient goes straight into
 * g_final. Only the anchors' rows receive non-zero values (the attention of
 * any other node gets dZ = 0, hence exactly 0), so only they are touched. */
irllrec_status irllrec__hook_tower_bwd(irllrec_hook *h, irllrec__hook_run *r)
{
    const int64_t N = h->N, d = h->d;
    irllrec_mat emb[IRLLREC__HOOK_MAX_LAYERS], de[IRLLREC__HOOK_MAX_LAYERS];
    const int nl = tower_layers(h, r, emb);
    if (h->L == 0) {
        de[0] = dense(h->g_final, N, d);
        for (int64_t s = 0; s < h->n_anchors; s++) irllrec__hook_touch(h, h->anchors[s]);
    } else {
        for (int64_t l = 0; l < h->L; l++) de[l] = dense(h->g_layers + l * N * d, N, d);
    }
    return irllrec_intent_backward_nodes(h->tower, emb, nl, h->anchors, h->n_anchors,
                                         cdense(h->dr, h->n_anchors, d), de);
}

/* dst row += sc * src row, for the n rows named in ids (all when NULL),
 * then src row = 0 (dxh/dyh are zero between uses). */
static void scatter_scaled(float *dst, float *src, const int32_t *ids, int64_t n, int64_t d,
                           float sc)
{
    for (int64_t k = 0; k < n; k++) {
        const int64_t row = ids ? ids[k] : k;
        irllrec__vaxpy(dst + row * d, sc, src + row * d, d);
        memset(src + row * d, 0, (size_t)d * sizeof(float));
    }
}

/* L_tran between the intent tower's output (all N rows) and E_final, over
 * every node (exact), a sample the alignment handle draws (sampled), or,
 * sharded and exact, this rank's block of rows. Its gradients wait in
 * dxh / dyh for tran_finish. */
irllrec_status irllrec__hook_term_tran(irllrec_hook *h, irllrec__hook_run *r)
{
    const int64_t N = h->N, d = h->d, lo = h->sh_lo, n_own = h->sh_n;
    const irllrec_mat x = dense(h->z_out, N, d), y = dense(h->e_all, N, d);
    const irllrec_mat dx = dense(h->dxh, N, d), dy = dense(h->dyh, N, d);
    if (!r->e_ready) irllrec__hook_gather_final(h, r->in);
    r->e_ready = 1;
    if (irllrec__hook_tran_sampled(h)) {
        const int64_t n = h->tran_samples;
        IRL_TRY(irllrec_align_sample_ids(h->align, N, n, h->sel));
        IRL_TRY(irllrec_align_translation_sampled(h->align, x, y, h->sel, n, dx, dy, &r->lv.tran));
        for (int64_t k = 0; k < n; k++) irllrec__hook_touch(h, h->sel[k]);
        return IRLLREC_OK;
    }
    const irllrec_mat none = {NULL, 0, 0, 0};
    IRL_TRY(irllrec__align_translation_chunked(
        h->align, dense(h->z_out + lo * d, n_own, d), lo, y, h->cuts, h->n_cuts, h->tdyd,
        dense(h->dxh + lo * d, n_own, d), h->sh_on ? none : dy, &r->lv.tran));
    irllrec__hook_touch_all(h);
    return IRLLREC_OK;
}

/* L_tran's gradients into z_dout and g_final; sharded and exact, each
 * rank's dY is a partial sum (in double), summed over the ranks first. */
irllrec_status irllrec__hook_tran_finish(irllrec_hook *h, irllrec__hook_run *r)
{
    const int64_t N = h->N, d = h->d;
    const int sampled = irllrec__hook_tran_sampled(h);
    const int64_t n = sampled ? h->tran_samples : N;
    if (h->sh_on && !sampled) {
        IRL_TRY(irllrec__hook_shard_sum_f64(h, h->tdyd, N * d));
        IRL_TRY(irllrec__align_translation_finish(h->align, h->tdyd, dense(h->dyh, N, d)));
    }
    const float sc = (float)r->c_tran;
    scatter_scaled(h->z_dout, h->dxh, sampled ? h->sel : NULL, n, d, sc);
    scatter_scaled(h->g_final, h->dyh, sampled ? h->sel : NULL, n, d, sc);
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_teacher_fwd(irllrec_hook *h, irllrec__hook_run *r)
{
    (void)r;
    if (h->bf16) return irllrec__itm_teacher_forward_bf16(h->itm, h->txh_t, h->Dt, h->sh_n);
    return irllrec_itm_teacher_forward(h->itm, cdense(h->txt_t, h->sh_n, h->Dt));
}

/* CE is a mean over all N rows: a shard's rows carry their share of it,
 * and every row's gradient the same 1/N as in one process. */
irllrec_status irllrec__hook_term_itm(irllrec_hook *h, irllrec__hook_run *r)
{
    const int64_t lo = h->sh_lo, n = h->sh_n, d = h->d;
    IRL_TRY(irllrec_itm_loss(h->itm, cdense(h->z_out + lo * d, n, d), &r->lv.itm));
    r->lv.itm *= (double)n / (double)h->N;
    return irllrec__itm_backward_mean(h->itm, r->c_itm, h->N, dense(h->z_dout + lo * d, n, d));
}

irllrec_status irllrec__hook_intent_bwd(irllrec_hook *h, irllrec__hook_run *r)
{
    return tower_bwd(h, 0, r->full_z);
}

/* reg * sum of squares of the trainable blocks (and the teacher's value
 * when reg_teacher); its gradient 2 reg p into the trainable blocks.
 * Sharded, the value and the other blocks' gradient count on rank 0 only,
 * and the text towers' is added after their sum over the ranks, on every
 * rank (shard.c), as one process adds it after its own sums. */
irllrec_status irllrec__hook_term_reg(irllrec_hook *h, irllrec__hook_run *r)
{
    double sq = 0.0;
    const float g2 = (float)(2.0 * h->reg);
    if (h->sh_on && h->coll_rank != 0) return IRLLREC_OK;
    for (int i = 0; i < h->n_blocks; i++) {
        const irllrec__param *p = &h->blocks[i];
        const int64_t n = p->rows * p->cols;
        if (i >= h->n_train && !h->reg_teacher) break;
        sq += irllrec__vsumsq(p->data, n);
        if (i < h->n_train && !(h->sh_on && irllrec__hook_is_text_block(p)))
            irllrec__vaxpy(p->grad, g2, p->data, n);
    }
    r->lv.reg = h->reg * sq;
    return IRLLREC_OK;
}
