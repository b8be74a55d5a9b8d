/* Full-ranking evaluation.
 *
 * Users with held-out items are taken in order and cut into fixed blocks of
 * `block` users (the cut never depends on the thread count). The items are
 * packed once per call; a block's users go through the fused
 * score-and-select pass of lib/rank (no score block is written), then each
 * user's list is sorted and scored against its truth row. Two schedules:
 *   PER_WORKER (default): block b goes to worker b mod n_threads, which runs
 *     the pass and the metrics of its blocks; one fork/join per call.
 *   SHARED: the calling thread runs each block's pass, then the block's
 *     users are split over the workers for the metrics; one fork/join per
 *     block.
 * Both compute every user's metrics with the same code and the same scores
 * (each score is its own fma chain, whatever the block), sum each block in
 * user order and add the block sums in block order on the calling thread,
 * so the results are bit-identical for any thread count and either
 * schedule. docs/evaluation.md has the measurements behind the choices. */
#include <math.h>
#include <string.h>
#include "../internal.h"
#include "evaluator.h"


struct irllrec_evaluator {
    irllrec_ctx *ctx;
    int64_t n_items;
    int32_t n_ks;
    int32_t kmax;
    int32_t n_threads;
    int32_t mode;
    int32_t cap;      /* selection buffer per user (irllrec__sel_cap) */
    int32_t *ks;
    double *disc;     /* kmax: 1 / log2(rank + 2) for 0-based rank */
    double *idcg;     /* kmax + 1: idcg[m] = sum of disc[0..m) */
    int64_t block;    /* users per block */
    /* per worker slot t (the SHARED schedule uses slot 0 for the block) */
    irllrec__sel *sel; /* n_threads x block */
    uint64_t *sel_k;  /* n_threads x block x cap: the selections' heaps */
    int64_t *rows;    /* n_threads x block: user id of each packed row */
    double *met;      /* n_threads x block x 2 n_ks: recall, ndcg per k */
    int32_t *chits;   /* n_threads x kmax: hits within the first r + 1 ranks */
    double *cdcg;     /* n_threads x kmax: DCG of the first r + 1 ranks */
    double *ttime;    /* n_threads x 2: scoring and list seconds */
    /* grown by runs: packed users (n_threads x block_r x packed_d), the
     * packed items (pack_floats(n_items, panels_d)), the scorer's scratch
     * (n_threads x scores_per: the SGEMM scorer's scores, block x n_items,
     * or the AMX path's maxima; none for the AVX-512/AVX2/C kernels) and
     * the block sums (2 n_ks each) */
    float *packed, *panels, *scores;
    size_t scores_per; /* floats of scores per worker (irllrec__rank_scratch_floats) */
    int64_t packed_d, panels_d;
    double *bsums;
    int64_t bsums_cap;
    double t_gemm, t_select;
};

/* ---- workspace ------------------------------------------------------ */

/* Block rows rounded up to whole query tiles of the fused kernel. */
static size_t block_r(int64_t block)
{
    return (size_t)((block + IRLLREC__TILE_Q - 1) / IRLLREC__TILE_Q * IRLLREC__TILE_Q);
}

/* Byte sizes of the block-dependent buffers. */
typedef struct ws_sizes {
    size_t sel, sel_k, rows, met;
} ws_sizes;

static int block_sizes(const irllrec_evaluator *ev, int64_t block, ws_sizes *z)
{
    size_t per, nt = (size_t)ev->n_threads, w = 2 * (size_t)ev->n_ks;
    if (irllrec__mul_overflow(nt * (size_t)block, (size_t)ev->cap, &per) ||
        per > SIZE_MAX / sizeof(uint64_t))
        return 1;
    z->sel = nt * block_r(block) * sizeof(irllrec__sel);
    z->sel_k = per * sizeof(uint64_t);
    z->rows = nt * (size_t)block * sizeof(int64_t);
    z->met = nt * (size_t)block * w * sizeof(double);
    return 0;
}

/* Sizes of the buffers runs grow: packed users, items and scores. */
static size_t packed_bytes(const irllrec_evaluator *ev, int64_t d)
{
    return (size_t)ev->n_threads * block_r(ev->block) * (size_t)d * sizeof(float);
}
static size_t panels_bytes(const irllrec_evaluator *ev, int64_t d)
{
    return irllrec__pack_floats(ev->n_items, d) * sizeof(float);
}
static size_t scores_bytes(const irllrec_evaluator *ev)
{
    return (size_t)ev->n_threads * ev->scores_per * sizeof(float);
}

/* The run buffers that depend on the block: dropped when it changes. */
static void free_run_ws(irllrec_evaluator *ev)
{
    irllrec__free(ev->ctx, ev->packed, packed_bytes(ev, ev->packed_d));
    irllrec__free(ev->ctx, ev->scores, ev->scores != NULL ? scores_bytes(ev) : 0);
    ev->packed = ev->scores = NULL;
    ev->scores_per = 0;
    ev->packed_d = 0;
}

static void free_block_ws(irllrec_evaluator *ev)
{
    ws_sizes z;
    free_run_ws(ev);
    if (block_sizes(ev, ev->block, &z) == 0) {
        irllrec__free(ev->ctx, ev->sel, z.sel);
        irllrec__free(ev->ctx, ev->sel_k, z.sel_k);
        irllrec__free(ev->ctx, ev->rows, z.rows);
        irllrec__free(ev->ctx, ev->met, z.met);
    }
    ev->sel = NULL;
    ev->sel_k = NULL;
    ev->rows = NULL;
    ev->met = NULL;
    ev->block = 0;
}

static irllrec_status alloc_block_ws(irllrec_evaluator *ev, const char *func, int64_t block)
{
    ws_sizes z;
    if (block_sizes(ev, block, &z))
        return irllrec__fail(ev->ctx, IRLLREC_E_NOMEM, func,
                             "selection workspace size overflows");
    ev->sel = (irllrec__sel *)irllrec__alloc_fn(ev->ctx, func, z.sel);
    ev->sel_k = (uint64_t *)irllrec__alloc_fn(ev->ctx, func, z.sel_k);
    ev->rows = (int64_t *)irllrec__alloc_fn(ev->ctx, func, z.rows);
    ev->met = (double *)irllrec__alloc_fn(ev->ctx, func, z.met);
    ev->block = block;
    if (ev->sel == NULL || ev->sel_k == NULL || ev->rows == NULL ||
        ev->met == NULL) {
        free_block_ws(ev);
        return IRLLREC_E_NOMEM;
    }
    return IRLLREC_OK;
}

/* The block the ranking functions use for the same candidates. */
static int64_t default_block(const irllrec_evaluator *ev)
{
    return irllrec__score_block_rows(ev->n_items, ev->cap);
}

void irllrec_evaluator_free(irllrec_evaluator *ev)
{
    irllrec_ctx *ctx;
    size_t nt, k;
    if (ev == NULL) return;
    ctx = ev->ctx;
    nt = (size_t)ev->n_threads;
    k = (size_t)ev->kmax;
    free_block_ws(ev);
    irllrec__free(ctx, ev->panels, panels_bytes(ev, ev->panels_d));
    irllrec__free(ctx, ev->bsums, (size_t)ev->bsums_cap * 2 * (size_t)ev->n_ks * sizeof(double));
    irllrec__free(ctx, ev->ks, (size_t)ev->n_ks * sizeof(int32_t));
    irllrec__free(ctx, ev->disc, k * sizeof(double));
    irllrec__free(ctx, ev->idcg, (k + 1) * sizeof(double));
    irllrec__free(ctx, ev->chits, nt * k * sizeof(int32_t));
    irllrec__free(ctx, ev->cdcg, nt * k * sizeof(double));
    irllrec__free(ctx, ev->ttime, nt * 2 * sizeof(double));
    irllrec__free(ctx, ev, sizeof *ev);
}

irllrec_status irllrec_evaluator_create(irllrec_ctx *ctx, int64_t n_items, const int32_t *ks,
                                        int32_t n_ks, irllrec_evaluator **out)
{
    irllrec_evaluator *ev;
    int32_t kmax = 0;
    size_t nt, k;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, n_items >= 1 && n_items <= INT32_MAX, IRLLREC_E_INVALID_ARG,
              "n_items = %lld is not in 1..%d", (long long)n_items, INT32_MAX);
    IRL_CHECK(ctx, ks != NULL, IRLLREC_E_INVALID_ARG, "ks is NULL");
    IRL_CHECK(ctx, n_ks >= 1 && n_ks <= IRLLREC__EVAL_MAX_KS, IRLLREC_E_INVALID_ARG,
              "n_ks = %d is not in 1..%d", (int)n_ks, IRLLREC__EVAL_MAX_KS);
    for (int32_t j = 0; j < n_ks; j++) {
        IRL_CHECK(ctx, ks[j] >= 1 && ks[j] <= IRLLREC_EVAL_MAX_K, IRLLREC_E_INVALID_ARG,
                  "ks[%d] = %d is not in 1..%d", (int)j, (int)ks[j], IRLLREC_EVAL_MAX_K);
        if (ks[j] > kmax) kmax = ks[j];
    }
    ev = (irllrec_evaluator *)irllrec__calloc_fn(ctx, __func__, 1, sizeof *ev);
    if (ev == NULL) return IRLLREC_E_NOMEM;
    ev->ctx = ctx;
    ev->n_items = n_items;
    ev->n_ks = n_ks;
    ev->kmax = kmax;
    ev->n_threads = ctx->n_threads < 1 ? 1 : ctx->n_threads;
    ev->mode = IRLLREC__EVAL_PER_WORKER;
    ev->cap = irllrec__sel_cap(kmax < n_items ? kmax : (int32_t)n_items, n_items);
    nt = (size_t)ev->n_threads;
    k = (size_t)kmax;
    ev->ks = (int32_t *)irllrec__alloc_fn(ctx, __func__, (size_t)n_ks * sizeof(int32_t));
    ev->disc = (double *)irllrec__alloc_fn(ctx, __func__, k * sizeof(double));
    ev->idcg = (double *)irllrec__alloc_fn(ctx, __func__, (k + 1) * sizeof(double));
    ev->chits = (int32_t *)irllrec__alloc_fn(ctx, __func__, nt * k * sizeof(int32_t));
    ev->cdcg = (double *)irllrec__alloc_fn(ctx, __func__, nt * k * sizeof(double));
    ev->ttime = (double *)irllrec__calloc_fn(ctx, __func__, nt * 2, sizeof(double));
    if (ev->ks == NULL || ev->disc == NULL || ev->idcg == NULL || ev->chits == NULL ||
        ev->cdcg == NULL || ev->ttime == NULL ||
        alloc_block_ws(ev, __func__, default_block(ev)) != IRLLREC_OK) {
        irllrec_evaluator_free(ev);
        return IRLLREC_E_NOMEM;
    }
    memcpy(ev->ks, ks, (size_t)n_ks * sizeof(int32_t));
    ev->idcg[0] = 0.0;
    for (int32_t j = 0; j < kmax; j++) {
        ev->disc[j] = 1.0 / log2((double)j + 2.0);
        ev->idcg[j + 1] = ev->idcg[j] + ev->disc[j];
    }
    *out = ev;
    return IRLLREC_OK;
}

irllrec_status irllrec__evaluator_set_block(irllrec_evaluator *ev, int64_t users)
{
    int64_t old;
    if (ev == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ev->ctx, users >= 0 && users <= 1 << 20, IRLLREC_E_INVALID_ARG,
              "block of %lld users is not in 0..%d", (long long)users, 1 << 20);
    if (users == 0) users = default_block(ev);
    old = ev->block;
    free_block_ws(ev);
    if (alloc_block_ws(ev, __func__, users) != IRLLREC_OK) {
        /* Put the previous size back so the handle stays usable. */
        (void)alloc_block_ws(ev, __func__, old);
        return IRLLREC_E_NOMEM;
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__evaluator_set_mode(irllrec_evaluator *ev, int32_t mode)
{
    if (ev == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ev->ctx, mode == IRLLREC__EVAL_PER_WORKER || mode == IRLLREC__EVAL_SHARED,
              IRLLREC_E_INVALID_ARG, "mode %d is not a schedule", (int)mode);
    ev->mode = mode;
    return IRLLREC_OK;
}

int64_t irllrec__evaluator_block(const irllrec_evaluator *ev) { return ev ? ev->block : 0; }

void irllrec__evaluator_timing(const irllrec_evaluator *ev, double *gemm_s, double *select_s)
{
    if (gemm_s) *gemm_s = ev ? ev->t_gemm : 0.0;
    if (select_s) *select_s = ev ? ev->t_select : 0.0;
}

/* ---- one user ------------------------------------------------------- */

/* Start user `user`'s selection in slot s, row r: its mask row is the
 * selection's exclusion list. */
static void start_user(irllrec_evaluator *ev, int32_t s, int64_t r, int64_t user,
                       const irllrec_csr *mask)
{
    const size_t at = ((size_t)s * (size_t)ev->block + (size_t)r) * (size_t)ev->cap;
    const int32_t k = ev->kmax < ev->n_items ? ev->kmax : (int32_t)ev->n_items;
    const int32_t *mk = NULL;
    int64_t n_mask = 0;
    if (mask != NULL) {
        mk = mask->indices + mask->indptr[user];
        n_mask = mask->indptr[user + 1] - mask->indptr[user];
    }
    irllrec__sel_init(ev->sel + (size_t)s * block_r(ev->block) + (size_t)r, ev->sel_k + at, k,
                      mk, n_mask);
}

/* Recall and NDCG of every cut-off for one user, into out[2 j], out[2 j + 1],
 * from its finished selection q. Runs on worker t (its prefix buffers). */
static void eval_user(irllrec_evaluator *ev, int32_t t, irllrec__sel *q, int64_t user,
                      const irllrec_csr *truth, double *out)
{
    const int32_t *tr = truth->indices + truth->indptr[user];
    int64_t n_true = truth->indptr[user + 1] - truth->indptr[user];
    int32_t *chits = ev->chits + (size_t)t * (size_t)ev->kmax;
    double *cdcg = ev->cdcg + (size_t)t * (size_t)ev->kmax;
    int32_t hits = 0;
    double dcg = 0.0;
    irllrec__sel_finish(q);
    for (int32_t r = 0; r < q->n; r++) {
        if (irllrec__sorted_contains(tr, n_true, irllrec__sel_id(q, r))) {
            hits++;
            dcg += ev->disc[r];
        }
        chits[r] = hits;
        cdcg[r] = dcg;
    }
    for (int32_t j = 0; j < ev->n_ks; j++) {
        int32_t k = ev->ks[j];
        int32_t c = k < q->n ? k : q->n;
        int64_t ideal = n_true < k ? n_true : k;
        out[2 * j] = c > 0 ? (double)chits[c - 1] / (double)n_true : 0.0;
        out[2 * j + 1] = c > 0 ? cdcg[c - 1] / ev->idcg[ideal] : 0.0;
    }
}
/* ---- validation ----------------------------------------------------- */

static irllrec_status check_run(irllrec_evaluator *ev, irllrec_mat user_emb,
                                irllrec_mat item_emb, const irllrec_csr *mask,
                                const irllrec_csr *truth, double *recall, double *ndcg)
{
    irllrec_ctx *ctx = ev->ctx;
    const char *f = "irllrec_evaluator_run";
    IRL_CHECK_FN(ctx, f, truth != NULL, IRLLREC_E_INVALID_ARG, "truth is NULL");
    IRL_CHECK_FN(ctx, f, recall != NULL && ndcg != NULL, IRLLREC_E_INVALID_ARG,
                 "recall or ndcg is NULL");
    IRL_TRY(irllrec__check_mat(ctx, f, "user_emb", user_emb));
    IRL_TRY(irllrec__check_mat(ctx, f, "item_emb", item_emb));
    IRL_CHECK_FN(ctx, f, item_emb.rows == ev->n_items, IRLLREC_E_SHAPE,
                 "item_emb has %lld rows, the evaluator %lld items", (long long)item_emb.rows,
                 (long long)ev->n_items);
    IRL_CHECK_FN(ctx, f, user_emb.cols == item_emb.cols, IRLLREC_E_SHAPE,
                 "user_emb.cols = %lld != item_emb.cols = %lld", (long long)user_emb.cols,
                 (long long)item_emb.cols);
    IRL_CHECK_FN(ctx, f,
                 user_emb.cols <= INT32_MAX && user_emb.ld <= INT32_MAX && item_emb.ld <= INT32_MAX,
                 IRLLREC_E_SHAPE, "embedding width or ld exceeds %d", INT32_MAX);
    IRL_TRY(irllrec__check_csr_sorted(ctx, f, "truth", truth, user_emb.rows, ev->n_items));
    if (mask != NULL)
        IRL_TRY(irllrec__check_csr_sorted(ctx, f, "mask", mask, user_emb.rows, ev->n_items));
    return IRLLREC_OK;
}


/* ---- running ---------------------------------------------------------- */

/* Replace *p (old bytes) by a fresh allocation of new_bytes. */
static irllrec_status regrow(irllrec_ctx *ctx, void **p, size_t old, size_t new_bytes)
{
    void *q = irllrec__alloc_fn(ctx, "irllrec_evaluator_run", new_bytes);
    if (q == NULL) return IRLLREC_E_NOMEM;
    irllrec__free(ctx, *p, old);
    *p = q;
    return IRLLREC_OK;
}

/* Grow the per-call buffers when the width or the number of blocks grows,
 * and the score block when the SGEMM scorer is chosen; a later call of the
 * same or smaller shape allocates nothing. */
static irllrec_status ensure_run_ws(irllrec_evaluator *ev, int64_t d, int64_t n_blocks,
                                    int32_t isa)
{
    irllrec_ctx *ctx = ev->ctx;
    size_t w = 2 * (size_t)ev->n_ks;
    size_t pf;
    /* packed users and score blocks fit (threads <= 256, block <= 2^20,
     * d and n_items < 2^31); the items' panels and the block sums may not */
    if (irllrec__mul_overflow(irllrec__pack_floats(ev->n_items, 1),
                              (size_t)irllrec__pack_width(d), &pf) ||
        pf > SIZE_MAX / sizeof(float) || (uint64_t)n_blocks > SIZE_MAX / (w * sizeof(double)))
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, "irllrec_evaluator_run",
                             "run workspace size overflows");
    if (d > ev->packed_d) {
        IRL_TRY(regrow(ctx, (void **)&ev->packed, packed_bytes(ev, ev->packed_d),
                       packed_bytes(ev, d)));
        ev->packed_d = d;
    }
    if (d > ev->panels_d) {
        IRL_TRY(regrow(ctx, (void **)&ev->panels, panels_bytes(ev, ev->panels_d),
                       panels_bytes(ev, d)));
        ev->panels_d = d;
    }
    {
        /* the SGEMM scorer's score block or the AMX path's maxima, per worker */
        const size_t need =
            irllrec__rank_scratch_floats(isa, ctx->rank_scorer, ev->block, ev->n_items);
        if (need > ev->scores_per) {
            IRL_TRY(regrow(ctx, (void **)&ev->scores, scores_bytes(ev),
                           (size_t)ev->n_threads * need * sizeof(float)));
            ev->scores_per = need;
        }
    }
    if (n_blocks > ev->bsums_cap) {
        IRL_TRY(regrow(ctx, (void **)&ev->bsums, (size_t)ev->bsums_cap * w * sizeof(double),
                       (size_t)n_blocks * w * sizeof(double)));
        ev->bsums_cap = n_blocks;
    }
    return IRLLREC_OK;
}

typedef struct run_job {
    irllrec_evaluator *ev;
    irllrec_mat ue;
    irllrec__cands cands;
    const irllrec_csr *mask, *truth;
    int64_t n_eval;
    int32_t isa, scorer;
    /* SHARED schedule: the block being selected */
    int64_t nb;
} run_job;

/* Slot t's buffers. */
static float *slot_packed(irllrec_evaluator *ev, int32_t t)
{
    return ev->packed + (size_t)t * block_r(ev->block) * (size_t)ev->packed_d;
}
static int64_t *slot_rows(irllrec_evaluator *ev, int32_t t)
{
    return ev->rows + (size_t)t * (size_t)ev->block;
}
static double *slot_met(irllrec_evaluator *ev, int32_t t)
{
    return ev->met + (size_t)t * (size_t)ev->block * 2 * (size_t)ev->n_ks;
}
static irllrec__sel *slot_sel(irllrec_evaluator *ev, int32_t t)
{
    return ev->sel + (size_t)t * block_r(ev->block);
}

/* Score the nb packed users of slot t and run their selections. */
static void block_score(const run_job *job, int32_t t, int64_t nb)
{
    irllrec_evaluator *ev = job->ev;
    float *scores = ev->scores != NULL ? ev->scores + (size_t)t * ev->scores_per : NULL;
    for (int64_t r = 0; r < nb; r++) start_user(ev, t, r, slot_rows(ev, t)[r], job->mask);
    irllrec__rank_block(&job->cands, slot_packed(ev, t), nb, slot_sel(ev, t), job->isa,
                        job->scorer, scores);
}

/* Metrics of rows [lo, hi) of slot s's block, listed on worker t. */
static void block_select(const run_job *job, int32_t s, int32_t t, int64_t lo, int64_t hi)
{
    irllrec_evaluator *ev = job->ev;
    const size_t w = 2 * (size_t)ev->n_ks;
    for (int64_t r = lo; r < hi; r++)
        eval_user(ev, t, slot_sel(ev, s) + r, slot_rows(ev, s)[r], job->truth,
                  slot_met(ev, s) + (size_t)r * w);
}

/* Sum of the block's rows in row (= user) order into block sum b. */
static void block_sum(irllrec_evaluator *ev, int32_t s, int64_t nb, int64_t b)
{
    const size_t w = 2 * (size_t)ev->n_ks;
    double *bs = ev->bsums + (size_t)b * w;
    const double *met = slot_met(ev, s);
    for (size_t j = 0; j < w; j++) bs[j] = 0.0;
    for (int64_t r = 0; r < nb; r++)
        for (size_t j = 0; j < w; j++) bs[j] += met[(size_t)r * w + j];
}

/* Pack the next block's users (from *u on) into slot t; returns its size. */
static int64_t pack_block(const run_job *job, int32_t t, int64_t *u)
{
    irllrec_evaluator *ev = job->ev;
    int64_t *rows = slot_rows(ev, t), nb = 0;
    for (; *u < job->ue.rows && nb < ev->block; (*u)++)
        if (job->truth->indptr[*u + 1] > job->truth->indptr[*u]) rows[nb++] = *u;
    irllrec__gather_rows(job->ue.data, job->ue.ld, rows, nb, job->ue.cols, slot_packed(ev, t));
    return nb;
}

/* Skip the users of one block without packing them. */
static void skip_block(const run_job *job, int64_t *u)
{
    int64_t nb = 0;
    for (; *u < job->ue.rows && nb < job->ev->block; (*u)++)
        nb += job->truth->indptr[*u + 1] > job->truth->indptr[*u];
}

/* PER_WORKER: worker t owns blocks t, t + nt, t + 2 nt, ... */
static void per_worker_task(void *ud, int32_t t, int32_t nt)
{
    run_job *job = (run_job *)ud;
    irllrec_evaluator *ev = job->ev;
    const int64_t n_blocks = (job->n_eval + ev->block - 1) / ev->block;
    int64_t u = 0;
    double tg = 0.0, ts = 0.0;
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t nb;
        double t0, t1;
        if (b % nt != t) {
            skip_block(job, &u);
            continue;
        }
        t0 = irllrec__now();
        nb = pack_block(job, t, &u);
        block_score(job, t, nb);
        t1 = irllrec__now();
        block_select(job, t, t, 0, nb);
        block_sum(ev, t, nb, b);
        tg += t1 - t0;
        ts += irllrec__now() - t1;
    }
    ev->ttime[2 * t] = tg;
    ev->ttime[2 * t + 1] = ts;
}

/* SHARED: workers split the rows of slot 0's current block. */
static void shared_task(void *ud, int32_t t, int32_t nt)
{
    run_job *job = (run_job *)ud;
    int64_t lo, hi;
    irllrec__share(job->nb, t, nt, &lo, &hi);
    block_select(job, 0, t, lo, hi);
}

static irllrec_status run_shared(run_job *job)
{
    irllrec_evaluator *ev = job->ev;
    const int64_t n_blocks = (job->n_eval + ev->block - 1) / ev->block;
    int64_t u = 0;
    for (int64_t b = 0; b < n_blocks; b++) {
        double t0 = irllrec__now(), t1;
        int32_t nt;
        job->nb = pack_block(job, 0, &u);
        block_score(job, 0, job->nb);
        t1 = irllrec__now();
        nt = ev->n_threads < job->nb ? ev->n_threads : (int32_t)job->nb;
        IRL_TRY(irllrec__parallel(ev->ctx, nt, shared_task, job));
        block_sum(ev, 0, job->nb, b);
        ev->ttime[0] += t1 - t0;
        ev->ttime[1] += irllrec__now() - t1;
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_evaluator_run(irllrec_evaluator *ev, irllrec_mat user_emb,
                                     irllrec_mat item_emb, const irllrec_csr *mask,
                                     const irllrec_csr *truth, double *recall, double *ndcg,
                                     int64_t *n_evaluated)
{
    double sum[2 * IRLLREC__EVAL_MAX_KS];
    const size_t w = 2 * (size_t)(ev ? ev->n_ks : 0);
    int64_t n_eval = 0, n_blocks;
    run_job job;
    if (ev == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ev->ctx, ev->block > 0, IRLLREC_E_STATE, "workspace lost after a failed resize");
    IRL_TRY(check_run(ev, user_emb, item_emb, mask, truth, recall, ndcg));
    for (int64_t u = 0; u < user_emb.rows; u++) n_eval += truth->indptr[u + 1] > truth->indptr[u];
    n_blocks = (n_eval + ev->block - 1) / ev->block;
    job.isa = irllrec__rank_isa_for(ev->ctx, n_eval, ev->n_items, user_emb.cols);
    IRL_TRY(ensure_run_ws(ev, user_emb.cols, n_blocks, job.isa));
    job.ev = ev;
    job.ue = user_emb;
    job.mask = mask;
    job.scorer = ev->ctx->rank_scorer;
    /* the items packed once per call, by this thread, before any worker runs */
    irllrec__pack_cands(&job.cands, item_emb.data, item_emb.ld, ev->n_items, item_emb.cols,
                        ev->panels, job.isa);
    job.truth = truth;
    job.n_eval = n_eval;
    job.nb = 0;
    memset(ev->ttime, 0, (size_t)ev->n_threads * 2 * sizeof(double));
    if (ev->mode == IRLLREC__EVAL_SHARED || ev->n_threads == 1 || n_blocks <= 1) {
        IRL_TRY(run_shared(&job));
    } else {
        int32_t nt = n_blocks < ev->n_threads ? (int32_t)n_blocks : ev->n_threads;
        IRL_TRY(irllrec__parallel(ev->ctx, nt, per_worker_task, &job));
    }
    /* Block sums added in block order on this thread: the same bits for any
     * thread count and either schedule. */
    memset(sum, 0, sizeof sum);
    for (int64_t b = 0; b < n_blocks; b++)
        for (size_t j = 0; j < w; j++) sum[j] += ev->bsums[(size_t)b * w + j];
    for (int32_t j = 0; j < ev->n_ks; j++) {
        recall[j] = n_eval > 0 ? sum[2 * j] / (double)n_eval : 0.0;
        ndcg[j] = n_eval > 0 ? sum[2 * j + 1] / (double)n_eval : 0.0;
    }
    ev->t_gemm = ev->t_select = 0.0;
    for (int32_t t = 0; t < ev->n_threads; t++) {
        ev->t_gemm += ev->ttime[2 * t];
        ev->t_select += ev->ttime[2 * t + 1];
    }
    if (n_evaluated != NULL) *n_evaluated = n_eval;
    return IRLLREC_OK;
}
