/* Full-ranking evaluation. Users with held-out items are packed into blocks;
 * each block's scores come from one sgemm on the calling thread (the BLAS may
 * use its own threads there), then the block's top-K selection is split over
 * the ctx's workers with static shares. Every user's metrics are computed by
 * the same code whatever thread runs it, and the means are summed in user
 * order on the calling thread, so results do not depend on the thread count. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <string.h>
#include <time.h>
#include "../internal.h"
#include "evaluator.h"

/* Bytes of scores per block: about the size of L2 on the machines we target,
 * so the selection reads what sgemm has just written while it is still
 * cached. See docs/evaluation.md for the measurements behind it. */
#define SCORE_BLOCK_BYTES (1u << 20)
#define BLOCK_MIN 16
#define BLOCK_MAX 1024

struct irllrec_evaluator {
    irllrec_ctx *ctx;
    int64_t n_items;
    int32_t n_ks;
    int32_t kmax;
    int32_t n_threads;
    int32_t *ks;
    double *disc;    /* kmax: 1 / log2(rank + 2) for 0-based rank */
    double *idcg;    /* kmax + 1: idcg[m] = sum of disc[0..m) */
    /* per block */
    int64_t block;
    float *scores;   /* block x n_items */
    int64_t *rows;   /* block: user id of each packed row */
    double *metrics; /* block x n_ks x 2: recall then ndcg */
    float *packed;   /* block x packed_d: the block's user embeddings, contiguous */
    int64_t packed_d;
    /* per thread, kmax each */
    float *heap_s;
    int32_t *heap_i;
    int32_t *chits;
    double *cdcg;
    double t_gemm, t_select;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- workspace ------------------------------------------------------ */

static void free_block_ws(irllrec_evaluator *ev)
{
    irllrec_ctx *ctx = ev->ctx;
    size_t b = (size_t)ev->block;
    irllrec__free(ctx, ev->scores, b * (size_t)ev->n_items * sizeof(float));
    irllrec__free(ctx, ev->rows, b * sizeof(int64_t));
    irllrec__free(ctx, ev->metrics, b * (size_t)ev->n_ks * 2 * sizeof(double));
    irllrec__free(ctx, ev->packed, b * (size_t)ev->packed_d * sizeof(float));
    ev->scores = NULL;
    ev->rows = NULL;
    ev->metrics = NULL;
    ev->packed = NULL;
    ev->packed_d = 0;
}

static irllrec_status alloc_block_ws(irllrec_evaluator *ev, int64_t block)
{
    irllrec_ctx *ctx = ev->ctx;
    size_t b = (size_t)block, n;
    if (irllrec__mul_overflow(b, (size_t)ev->n_items, &n) || n > SIZE_MAX / sizeof(float))
        return irllrec__fail(ctx, IRLLREC_E_NOMEM, "irllrec_evaluator_create",
                             "score block size overflows");
    ev->block = block;
    ev->scores = (float *)irllrec__alloc(ctx, n * sizeof(float));
    ev->rows = (int64_t *)irllrec__alloc(ctx, b * sizeof(int64_t));
    ev->metrics = (double *)irllrec__alloc(ctx, b * (size_t)ev->n_ks * 2 * sizeof(double));
    if (ev->scores == NULL || ev->rows == NULL || ev->metrics == NULL) {
        free_block_ws(ev);
        return IRLLREC_E_NOMEM;
    }
    return IRLLREC_OK;
}

static int64_t default_block(int64_t n_items)
{
    int64_t b = (int64_t)(SCORE_BLOCK_BYTES / sizeof(float)) / n_items;
    if (b < BLOCK_MIN) b = BLOCK_MIN;
    if (b > BLOCK_MAX) b = BLOCK_MAX;
    return b;
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
    irllrec__free(ctx, ev->ks, (size_t)ev->n_ks * sizeof(int32_t));
    irllrec__free(ctx, ev->disc, k * sizeof(double));
    irllrec__free(ctx, ev->idcg, (k + 1) * sizeof(double));
    irllrec__free(ctx, ev->heap_s, nt * k * sizeof(float));
    irllrec__free(ctx, ev->heap_i, nt * k * sizeof(int32_t));
    irllrec__free(ctx, ev->chits, nt * k * sizeof(int32_t));
    irllrec__free(ctx, ev->cdcg, nt * k * sizeof(double));
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
    IRL_CHECK(ctx, n_ks >= 1 && n_ks <= 64, IRLLREC_E_INVALID_ARG, "n_ks = %d is not in 1..64",
              (int)n_ks);
    for (int32_t j = 0; j < n_ks; j++) {
        IRL_CHECK(ctx, ks[j] >= 1 && ks[j] <= IRLLREC_EVAL_MAX_K, IRLLREC_E_INVALID_ARG,
                  "ks[%d] = %d is not in 1..%d", (int)j, (int)ks[j], IRLLREC_EVAL_MAX_K);
        if (ks[j] > kmax) kmax = ks[j];
    }
    ev = (irllrec_evaluator *)irllrec__calloc(ctx, 1, sizeof *ev);
    if (ev == NULL) return IRLLREC_E_NOMEM;
    ev->ctx = ctx;
    ev->n_items = n_items;
    ev->n_ks = n_ks;
    ev->kmax = kmax;
    ev->n_threads = ctx->n_threads < 1 ? 1 : ctx->n_threads;
    nt = (size_t)ev->n_threads;
    k = (size_t)kmax;
    ev->ks = (int32_t *)irllrec__alloc(ctx, (size_t)n_ks * sizeof(int32_t));
    ev->disc = (double *)irllrec__alloc(ctx, k * sizeof(double));
    ev->idcg = (double *)irllrec__alloc(ctx, (k + 1) * sizeof(double));
    ev->heap_s = (float *)irllrec__alloc(ctx, nt * k * sizeof(float));
    ev->heap_i = (int32_t *)irllrec__alloc(ctx, nt * k * sizeof(int32_t));
    ev->chits = (int32_t *)irllrec__alloc(ctx, nt * k * sizeof(int32_t));
    ev->cdcg = (double *)irllrec__alloc(ctx, nt * k * sizeof(double));
    if (ev->ks == NULL || ev->disc == NULL || ev->idcg == NULL || ev->heap_s == NULL ||
        ev->heap_i == NULL || ev->chits == NULL || ev->cdcg == NULL ||
        alloc_block_ws(ev, default_block(n_items)) != IRLLREC_OK) {
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
    if (users == 0) users = default_block(ev->n_items);
    old = ev->block;
    free_block_ws(ev);
    if (alloc_block_ws(ev, users) != IRLLREC_OK) {
        /* Put the previous workspace back so the handle stays usable. */
        if (alloc_block_ws(ev, old) != IRLLREC_OK) ev->block = 0;
        return IRLLREC_E_NOMEM;
    }
    return IRLLREC_OK;
}

int64_t irllrec__evaluator_block(const irllrec_evaluator *ev) { return ev ? ev->block : 0; }

void irllrec__evaluator_timing(const irllrec_evaluator *ev, double *gemm_s, double *select_s)
{
    if (gemm_s) *gemm_s = ev ? ev->t_gemm : 0.0;
    if (select_s) *select_s = ev ? ev->t_select : 0.0;
}

/* ---- top-K selection ------------------------------------------------- */

/* Heap ordered so the root is the worst kept entry: lower score, or equal
 * score and higher item id (ties go to the lower id). */
static int worse(float sa, int32_t ia, float sb, int32_t ib)
{
    return sa < sb || (sa == sb && ia > ib);
}

static void sift_down(float *hs, int32_t *hi, int32_t m, int32_t p)
{
    float s = hs[p];
    int32_t id = hi[p];
    for (;;) {
        int32_t c = 2 * p + 1;
        if (c >= m) break;
        if (c + 1 < m && worse(hs[c + 1], hi[c + 1], hs[c], hi[c])) c++;
        if (!worse(hs[c], hi[c], s, id)) break;
        hs[p] = hs[c];
        hi[p] = hi[c];
        p = c;
    }
    hs[p] = s;
    hi[p] = id;
}

static void sift_up(float *hs, int32_t *hi, int32_t p)
{
    float s = hs[p];
    int32_t id = hi[p];
    while (p > 0) {
        int32_t q = (p - 1) / 2;
        if (!worse(s, id, hs[q], hi[q])) break;
        hs[p] = hs[q];
        hi[p] = hi[q];
        p = q;
    }
    hs[p] = s;
    hi[p] = id;
}

typedef struct topk {
    float *hs;
    int32_t *hi;
    int32_t m, k;
} topk;

/* Offer items [a, b) in ascending id order. Once the heap is full a later
 * item only enters with a strictly greater score, which is the tie rule
 * because its id is higher than every kept one. NaN never compares greater,
 * and while filling it is stored as -inf: NaN ranks as -inf. */
static void offer_range(topk *t, const float *s, int32_t a, int32_t b)
{
    int32_t j = a;
    for (; j < b && t->m < t->k; j++) {
        float x = s[j];
        t->hs[t->m] = isnan(x) ? -INFINITY : x;
        t->hi[t->m] = j;
        sift_up(t->hs, t->hi, t->m);
        t->m++;
    }
    if (j >= b) return;
    {
        float thr = t->hs[0];
        for (; j < b; j++) {
            if (s[j] > thr) {
                t->hs[0] = s[j];
                t->hi[0] = j;
                sift_down(t->hs, t->hi, t->m, 0);
                thr = t->hs[0];
            }
        }
    }
}

/* Heap sort in place: afterwards entry 0 is the best. */
static void sort_heap(topk *t)
{
    for (int32_t m = t->m - 1; m > 0; m--) {
        float s = t->hs[0];
        int32_t id = t->hi[0];
        t->hs[0] = t->hs[m];
        t->hi[0] = t->hi[m];
        t->hs[m] = s;
        t->hi[m] = id;
        sift_down(t->hs, t->hi, m, 0);
    }
}

static int row_contains(const int32_t *row, int64_t n, int32_t v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (row[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && row[lo] == v;
}

/* ---- one block ------------------------------------------------------ */

typedef struct block_job {
    irllrec_evaluator *ev;
    const irllrec_csr *mask;
    const irllrec_csr *truth;
    int64_t nb;
} block_job;

static void eval_user(irllrec_evaluator *ev, int32_t t, const float *s, int64_t user,
                      const irllrec_csr *mask, const irllrec_csr *truth, double *out)
{
    const int32_t *tr = truth->indices + truth->indptr[user];
    int64_t n_true = truth->indptr[user + 1] - truth->indptr[user];
    int32_t *chits = ev->chits + (size_t)t * (size_t)ev->kmax;
    double *cdcg = ev->cdcg + (size_t)t * (size_t)ev->kmax;
    topk tk;
    int32_t a = 0, hits = 0;
    double dcg = 0.0;
    tk.hs = ev->heap_s + (size_t)t * (size_t)ev->kmax;
    tk.hi = ev->heap_i + (size_t)t * (size_t)ev->kmax;
    tk.m = 0;
    tk.k = ev->kmax;
    /* Masked items are skipped, never ranked: offer the gaps between them. */
    if (mask != NULL) {
        for (int64_t q = mask->indptr[user]; q < mask->indptr[user + 1]; q++) {
            int32_t b = mask->indices[q];
            if (b > a) offer_range(&tk, s, a, b);
            a = b + 1;
        }
    }
    if (a < (int32_t)ev->n_items) offer_range(&tk, s, a, (int32_t)ev->n_items);
    sort_heap(&tk);
    for (int32_t r = 0; r < tk.m; r++) {
        if (row_contains(tr, n_true, tk.hi[r])) {
            hits++;
            dcg += ev->disc[r];
        }
        chits[r] = hits;
        cdcg[r] = dcg;
    }
    for (int32_t j = 0; j < ev->n_ks; j++) {
        int32_t k = ev->ks[j];
        int32_t c = k < tk.m ? k : tk.m;
        int64_t ideal = n_true < k ? n_true : k;
        out[2 * j] = c > 0 ? (double)chits[c - 1] / (double)n_true : 0.0;
        out[2 * j + 1] = c > 0 ? cdcg[c - 1] / ev->idcg[ideal] : 0.0;
    }
}

static void block_task(void *ud, int32_t t, int32_t nt)
{
    block_job *job = (block_job *)ud;
    irllrec_evaluator *ev = job->ev;
    int64_t lo, hi;
    irllrec__share(job->nb, t, nt, &lo, &hi);
    for (int64_t r = lo; r < hi; r++)
        eval_user(ev, t, ev->scores + (size_t)r * (size_t)ev->n_items, ev->rows[r], job->mask,
                  job->truth, ev->metrics + (size_t)r * (size_t)ev->n_ks * 2);
}

/* ---- validation ----------------------------------------------------- */

static irllrec_status check_csr(irllrec_ctx *ctx, const char *name, const irllrec_csr *c,
                                int64_t n_rows, int64_t n_cols)
{
    const char *f = "irllrec_evaluator_run";
    if (c->n_rows != n_rows || c->n_cols != n_cols)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, f, "%s is %lld x %lld, expected %lld x %lld",
                             name, (long long)c->n_rows, (long long)c->n_cols, (long long)n_rows,
                             (long long)n_cols);
    if (c->indptr == NULL || (c->nnz > 0 && c->indices == NULL) || c->nnz < 0)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f, "%s has NULL arrays or nnz < 0", name);
    if (c->indptr[0] != 0 || c->indptr[n_rows] != c->nnz)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f,
                             "%s.indptr must run from 0 to nnz = %lld", name, (long long)c->nnz);
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t b = c->indptr[r], e = c->indptr[r + 1];
        if (e < b || e > c->nnz)
            return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f, "%s.indptr decreases at row %lld",
                                 name, (long long)r);
        for (int64_t q = b; q < e; q++) {
            int32_t v = c->indices[q];
            if (v < 0 || v >= n_cols || (q > b && v <= c->indices[q - 1]))
                return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, f,
                                     "%s row %lld: index %d out of range or not ascending", name,
                                     (long long)r, (int)v);
        }
    }
    return IRLLREC_OK;
}

static irllrec_status check_run(irllrec_evaluator *ev, irllrec_mat user_emb,
                                irllrec_mat item_emb, const irllrec_csr *mask,
                                const irllrec_csr *truth, double *recall, double *ndcg)
{
    irllrec_ctx *ctx = ev->ctx;
    const char *f = "irllrec_evaluator_run";
    IRL_CHECK(ctx, truth != NULL, IRLLREC_E_INVALID_ARG, "truth is NULL");
    IRL_CHECK(ctx, recall != NULL && ndcg != NULL, IRLLREC_E_INVALID_ARG,
              "recall or ndcg is NULL");
    IRL_TRY(irllrec__check_mat(ctx, f, "user_emb", user_emb));
    IRL_TRY(irllrec__check_mat(ctx, f, "item_emb", item_emb));
    IRL_CHECK(ctx, item_emb.rows == ev->n_items, IRLLREC_E_SHAPE,
              "item_emb has %lld rows, the evaluator %lld items", (long long)item_emb.rows,
              (long long)ev->n_items);
    IRL_CHECK(ctx, user_emb.cols == item_emb.cols, IRLLREC_E_SHAPE,
              "user_emb.cols = %lld != item_emb.cols = %lld", (long long)user_emb.cols,
              (long long)item_emb.cols);
    IRL_CHECK(ctx, user_emb.cols <= INT32_MAX && user_emb.ld <= INT32_MAX &&
                       item_emb.ld <= INT32_MAX,
              IRLLREC_E_SHAPE, "embedding width or ld exceeds %d", INT32_MAX);
    IRL_TRY(check_csr(ctx, "truth", truth, user_emb.rows, ev->n_items));
    if (mask != NULL) IRL_TRY(check_csr(ctx, "mask", mask, user_emb.rows, ev->n_items));
    return IRLLREC_OK;
}

/* The packed user block grows with the embedding width, once; later calls
 * with the same or a smaller width reuse it. */
static irllrec_status ensure_packed(irllrec_evaluator *ev, int64_t d)
{
    size_t n;
    float *p;
    if (d <= ev->packed_d) return IRLLREC_OK;
    if (irllrec__mul_overflow((size_t)ev->block, (size_t)d, &n) || n > SIZE_MAX / sizeof(float))
        return irllrec__fail(ev->ctx, IRLLREC_E_NOMEM, "irllrec_evaluator_run",
                             "packed block overflows");
    p = (float *)irllrec__alloc(ev->ctx, n * sizeof(float));
    if (p == NULL) return IRLLREC_E_NOMEM;
    irllrec__free(ev->ctx, ev->packed, (size_t)ev->block * (size_t)ev->packed_d * sizeof(float));
    ev->packed = p;
    ev->packed_d = d;
    return IRLLREC_OK;
}

irllrec_status irllrec_evaluator_run(irllrec_evaluator *ev, irllrec_mat user_emb,
                                     irllrec_mat item_emb, const irllrec_csr *mask,
                                     const irllrec_csr *truth, double *recall, double *ndcg,
                                     int64_t *n_evaluated)
{
    double sum[2 * 64];
    int64_t n_eval = 0, u = 0, d = user_emb.cols;
    int32_t n_ks;
    block_job job;
    if (ev == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ev->ctx, ev->block > 0, IRLLREC_E_STATE, "workspace lost after a failed resize");
    IRL_TRY(check_run(ev, user_emb, item_emb, mask, truth, recall, ndcg));
    IRL_TRY(ensure_packed(ev, d));
    n_ks = ev->n_ks;
    memset(sum, 0, sizeof sum);
    ev->t_gemm = ev->t_select = 0.0;
    job.ev = ev;
    job.mask = mask;
    job.truth = truth;
    while (u < user_emb.rows) {
        int64_t nb = 0;
        double t0, t1;
        int32_t nt;
        t0 = now_s();
        for (; u < user_emb.rows && nb < ev->block; u++) {
            if (truth->indptr[u + 1] == truth->indptr[u]) continue;
            memcpy(ev->packed + (size_t)nb * (size_t)d, user_emb.data + (size_t)u * (size_t)user_emb.ld,
                   (size_t)d * sizeof(float));
            ev->rows[nb++] = u;
        }
        if (nb == 0) break;
        irllrec__sgemm(0, 1, nb, ev->n_items, d, 1.0f, ev->packed, d, item_emb.data, item_emb.ld,
                       0.0f, ev->scores, ev->n_items);
        t1 = now_s();
        job.nb = nb;
        nt = ev->n_threads < nb ? ev->n_threads : (int32_t)nb;
        IRL_TRY(irllrec__parallel(ev->ctx, nt, block_task, &job));
        /* Summed in user order on this thread: the same bits for any thread count. */
        for (int64_t r = 0; r < nb; r++)
            for (int32_t j = 0; j < 2 * n_ks; j++) sum[j] += ev->metrics[(size_t)r * 2 * (size_t)n_ks + (size_t)j];
        n_eval += nb;
        ev->t_gemm += t1 - t0;
        ev->t_select += now_s() - t1;
    }
    for (int32_t j = 0; j < n_ks; j++) {
        recall[j] = n_eval > 0 ? sum[2 * j] / (double)n_eval : 0.0;
        ndcg[j] = n_eval > 0 ? sum[2 * j + 1] / (double)n_eval : 0.0;
    }
    if (n_evaluated != NULL) *n_evaluated = n_eval;
    return IRLLREC_OK;
}
