/* Top-K ranking over embeddings (rank.h): recommend, similar, rank.
 *
 * The candidates are packed once per call (lib/rank), then the queries are
 * cut into fixed blocks of irllrec__score_block_rows(C, k) rows (the cut
 * depends on the candidate count and k only). Block b goes to worker
 * b mod n_threads, which runs the fused score-and-select pass on it: the
 * evaluator's kernel, so ranking and evaluation see the same scores and the
 * same tie rule. Each score is its own fma chain, whatever the block or the
 * worker, so the output is the same for any thread count.
 *
 * Exclusions never materialise a queries x candidates matrix. A query's
 * own exclusions (its seen row, and for similar its own id) go to the
 * selection as the ascending id list the evaluator passes its mask as: the
 * CSR row itself when it is strictly ascending, else a sorted, de-duplicated
 * copy in the query's slot of a per-worker buffer. The call's allow and
 * deny lists become one read-only bit per candidate, shared by every
 * worker. */
#include <stdlib.h>
#include <string.h>
#include "rank_impl.h"
#include "../rank/kernel.h"
#include "../ops/ops.h"

typedef struct rank_job {
    const irllrec__rank_call *call;
    const irllrec__rank_plan *plan;
    irllrec__cands cands;      /* packed once per call: the caller's rows, or normalised */
    int64_t n_cand, d;
    int cosine, need_base;
    int32_t isa, scorer;
    int64_t block, n_blocks;
    int64_t mk_cap;            /* per-worker exclusion list: longest queried seen row + 1 */
    int32_t kk;                /* list length: min(k, n_cand) */
    int32_t cap;               /* selection buffer per query */
    /* per worker t: the slices [t * size, (t + 1) * size) */
    float *scores, *packed;
    size_t scratch;            /* floats of scores per worker (irllrec__rank_scratch_floats) */
    uint64_t *sel_k;
    irllrec__sel *sel;
    int64_t *rows;
    int32_t *mk;
    int32_t *ids;
    float *out_scores;
    int32_t *counts;
} rank_job;

void irllrec_rank_opts_init(irllrec_rank_opts *opts, uint32_t struct_size)
{
    static const irllrec_rank_opts d = {0};
    irllrec__spec_init(opts, struct_size, &d, sizeof d);
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The ascending, repeat-free ids query `row` excludes, in *n: its seen row
 * as it is when already so ordered, else sorted and de-duplicated into
 * the query's slot of the buffer, its own id merged in for similar. */
static const int32_t *query_mask(const rank_job *job, size_t slot, int64_t row, int64_t *n)
{
    const irllrec_csr *seen = job->plan->seen;
    const int32_t *sr = NULL;
    int32_t *mk = job->mk + slot * (size_t)job->mk_cap;
    int64_t ns = 0, m = 0, ascending = 1;
    if (seen != NULL) {
        sr = seen->indices + seen->indptr[row];
        ns = seen->indptr[row + 1] - seen->indptr[row];
    }
    for (int64_t q = 1; q < ns; q++) ascending &= sr[q] > sr[q - 1];
    if (ascending && !job->call->exclude_self) {
        *n = ns;
        return sr;
    }
    if (ns > 0) memcpy(mk, sr, (size_t)ns * sizeof(int32_t));
    if (job->call->exclude_self) mk[ns++] = (int32_t)row;
    qsort(mk, (size_t)ns, sizeof(int32_t), cmp_i32);
    for (int64_t q = 0; q < ns; q++)
        if (m == 0 || mk[q] != mk[m - 1]) mk[m++] = mk[q];
    *n = m;
    return mk;
}

/* Write query qi's finished list q into its output slots. */
static void emit_query(const rank_job *job, irllrec__sel *q, int64_t qi)
{
    const int32_t k = job->call->k;
    int32_t *oi = job->ids + (size_t)qi * (size_t)k;
    irllrec__sel_finish(q);
    for (int32_t j = 0; j < q->n; j++) oi[j] = irllrec__sel_id(q, j);
    for (int32_t j = q->n; j < k; j++) oi[j] = -1;
    if (job->out_scores != NULL) {
        float *os = job->out_scores + (size_t)qi * (size_t)k;
        for (int32_t j = 0; j < q->n; j++) os[j] = irllrec__sel_score(q, j);
        for (int32_t j = q->n; j < k; j++) os[j] = 0.0f;
    }
    if (job->counts != NULL) job->counts[qi] = q->n;
}

/* Score block b on worker t and list each of its queries. The exclusion
 * lists of the block's queries are laid out one after another in worker
 * t's buffer (mk_cap each), since they are read during the whole pass. */
static void run_block(const rank_job *job, int32_t t, int64_t b)
{
    const irllrec__rank_call *call = job->call;
    const int64_t lo = b * job->block;
    const int64_t nb = call->n - lo < job->block ? call->n - lo : job->block;
    const size_t bt = (size_t)t * (size_t)job->block;
    const int64_t br = (job->block + IRLLREC__TILE_Q - 1) / IRLLREC__TILE_Q * IRLLREC__TILE_Q;
    float *scores = job->scores != NULL ? job->scores + (size_t)t * job->scratch : NULL;
    float *packed = job->packed + (size_t)t * (size_t)br * (size_t)job->d;
    int64_t *rows = job->rows + bt;
    irllrec__sel *sel = job->sel + (size_t)t * (size_t)br;
    for (int64_t r = 0; r < nb; r++) {
        const size_t at = (bt + (size_t)r) * (size_t)job->cap;
        int64_t n_mask = 0;
        const int32_t *mk;
        rows[r] = call->qids ? call->qids[lo + r] : lo + r;
        mk = query_mask(job, (size_t)(bt + (size_t)r), rows[r], &n_mask);
        irllrec__sel_init(sel + r, job->sel_k + at, job->kk, mk, n_mask);
    }
    irllrec__gather_rows(call->q.data, call->q.ld, rows, nb, job->d, packed);
    if (job->cosine) irllrec__l2norm_fwd(nb, job->d, packed, job->d, packed, job->d, NULL);
    irllrec__rank_block(&job->cands, packed, nb, sel, job->isa, job->scorer, scores);
    for (int64_t r = 0; r < nb; r++) emit_query(job, sel + r, lo + r);
}

/* Worker t owns blocks t, t + nt, t + 2 nt, ... */
static void rank_task(void *ud, int32_t t, int32_t nt)
{
    const rank_job *job = (const rank_job *)ud;
    for (int64_t b = t; b < job->n_blocks; b += nt) run_block(job, t, b);
}

/* ---- workspace ---------------------------------------------------------- */

enum { B_SCORES, B_PACKED, B_ROWS, B_SEL, B_SELK, B_MK, B_XBITS, B_CAND, B_PANELS,
       N_BUFS };

typedef struct rank_ws {
    void *p[N_BUFS];
    size_t n[N_BUFS];
} rank_ws;

static void ws_free(irllrec_ctx *ctx, rank_ws *ws)
{
    for (int i = 0; i < N_BUFS; i++) irllrec__free(ctx, ws->p[i], ws->n[i]);
}

/* n[i] = a * b * c bytes; 1 on overflow. */
static int ws_size(rank_ws *ws, int i, size_t a, size_t b, size_t c)
{
    size_t ab;
    return irllrec__mul_overflow(a, b, &ab) || irllrec__mul_overflow(ab, c, &ws->n[i]);
}

/* Per worker: the block's packed queries (rounded up to whole tiles), ids,
 * selections and exclusion lists; the SGEMM scorer's score block. Shared:
 * the exclusion bits, the normalised candidates (cosine) and the panels. */
static irllrec_status ws_alloc(irllrec_ctx *ctx, const char *func, rank_job *job, int32_t nt,
                               rank_ws *ws)
{
    const size_t t = (size_t)nt, bl = (size_t)job->block, c = (size_t)job->n_cand;
    const size_t br = (bl + IRLLREC__TILE_Q - 1) / IRLLREC__TILE_Q * IRLLREC__TILE_Q;
    int over = 0;
    memset(ws, 0, sizeof *ws);
    job->scratch = irllrec__rank_scratch_floats(job->isa, job->scorer, job->block, job->n_cand);
    over |= ws_size(ws, B_SCORES, t, job->scratch, sizeof(float));
    over |= ws_size(ws, B_PACKED, t * br, (size_t)job->d, sizeof(float));
    over |= ws_size(ws, B_ROWS, t, bl, sizeof(int64_t));
    over |= ws_size(ws, B_SEL, t, br, sizeof(irllrec__sel));
    over |= ws_size(ws, B_SELK, t * bl, (size_t)job->cap, sizeof(uint64_t));
    over |= ws_size(ws, B_MK, t * bl, (size_t)job->mk_cap, sizeof(int32_t));
    over |= ws_size(ws, B_XBITS, job->need_base ? 1 : 0, (c + 31) / 32, sizeof(uint32_t));
    over |= ws_size(ws, B_CAND, job->cosine ? c : 0, (size_t)job->d, sizeof(float));
    over |= ws_size(ws, B_PANELS, 1, irllrec__pack_floats(job->n_cand, 1),
                    (size_t)irllrec__pack_width(job->d)) ||
            ws_size(ws, B_PANELS, 1, ws->n[B_PANELS], sizeof(float));
    if (over) return irllrec__fail(ctx, IRLLREC_E_NOMEM, func, "workspace size overflows");
    for (int i = 0; i < N_BUFS; i++) {
        if (ws->n[i] == 0) continue;
        ws->p[i] = irllrec__alloc_fn(ctx, func, ws->n[i]);
        if (ws->p[i] == NULL) {
            ws_free(ctx, ws);
            return IRLLREC_E_NOMEM;
        }
    }
    job->scores = (float *)ws->p[B_SCORES];
    job->packed = (float *)ws->p[B_PACKED];
    job->rows = (int64_t *)ws->p[B_ROWS];
    job->sel = (irllrec__sel *)ws->p[B_SEL];
    job->sel_k = (uint64_t *)ws->p[B_SELK];
    job->mk = (int32_t *)ws->p[B_MK];
    return IRLLREC_OK;
}

/* The call's exclusion bits: everything outside allow (when given), and deny. */
static void fill_xbits(const irllrec__rank_plan *plan, int64_t n_cand, uint32_t *xb)
{
    memset(xb, plan->allow != NULL ? 0xFF : 0, (size_t)((n_cand + 31) / 32) * sizeof(uint32_t));
    for (int64_t q = 0; q < plan->n_allow; q++)
        xb[plan->allow[q] >> 5] &= ~(1u << (plan->allow[q] & 31));
    for (int64_t q = 0; q < plan->n_deny; q++) xb[plan->deny[q] >> 5] |= 1u << (plan->deny[q] & 31);
}

static void plan_job(irllrec_ctx *ctx, const irllrec__rank_call *call,
                     const irllrec__rank_plan *plan, int64_t block, rank_job *job)
{
    memset(job, 0, sizeof *job);
    job->call = call;
    job->plan = plan;
    job->n_cand = call->c.rows;
    job->d = call->c.cols;
    job->isa = irllrec__rank_isa_for(ctx, call->n, call->c.rows, call->c.cols);
    job->scorer = ctx->rank_scorer;
    job->cosine = (plan->flags & IRLLREC_RANK_COSINE) != 0;
    job->need_base = plan->allow != NULL || plan->deny != NULL;
    job->mk_cap = 1;
    for (int64_t r = 0; plan->seen != NULL && r < call->n; r++) {
        const int64_t row = call->qids ? call->qids[r] : r;
        const int64_t ns = plan->seen->indptr[row + 1] - plan->seen->indptr[row];
        if (ns + 1 > job->mk_cap) job->mk_cap = ns + 1;
    }
    job->kk = call->k < job->n_cand ? call->k : (int32_t)job->n_cand;
    job->cap = irllrec__sel_cap(job->kk, job->n_cand);
    job->block = block > 0 ? block : irllrec__score_block_rows(job->n_cand, job->cap);
    if (job->block > call->n) job->block = call->n;
    job->n_blocks = (call->n + job->block - 1) / job->block;
}

/* The candidates as scored: the caller's rows or their normalised copy,
 * packed into panels once, on this thread, before any worker runs. */
static void prepare_cands(const irllrec__rank_call *call, const irllrec__rank_plan *plan,
                          rank_job *job, rank_ws *ws)
{
    const float *raw = call->c.data;
    int64_t ld = call->c.ld;
    if (job->need_base) fill_xbits(plan, job->n_cand, (uint32_t *)ws->p[B_XBITS]);
    if (job->cosine) {
        float *cn = (float *)ws->p[B_CAND];
        irllrec__l2norm_fwd(job->n_cand, job->d, call->c.data, call->c.ld, cn, job->d, NULL);
        raw = cn;
        ld = job->d;
    }
    irllrec__pack_cands(&job->cands, raw, ld, job->n_cand, job->d, (float *)ws->p[B_PANELS],
                        job->isa);
    job->cands.xbits = (const uint32_t *)ws->p[B_XBITS];
}

irllrec_status irllrec__rank_exec(irllrec_ctx *ctx, const irllrec__rank_call *call,
                                  const irllrec_rank_opts *opts, int64_t block, int32_t *ids,
                                  float *scores, int32_t *counts)
{
    irllrec__rank_plan plan;
    rank_job job;
    rank_ws ws;
    int32_t nt;
    irllrec_status st;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(irllrec__rank_check(ctx, call, opts, ids, scores, counts, &plan));
    if (call->n == 0) return IRLLREC_OK;
    plan_job(ctx, call, &plan, block, &job);
    nt = ctx->n_threads < 1 ? 1 : ctx->n_threads;
    if (nt > job.n_blocks) nt = (int32_t)job.n_blocks;
    IRL_TRY(ws_alloc(ctx, call->func, &job, nt, &ws));
    prepare_cands(call, &plan, &job, &ws);
    job.ids = ids;
    job.out_scores = scores;
    job.counts = counts;
    st = irllrec__parallel(ctx, nt, rank_task, &job);
    ws_free(ctx, &ws);
    return st;
}

/* ---- public --------------------------------------------------------------- */

irllrec_status irllrec_rank(irllrec_ctx *ctx, irllrec_cmat queries, irllrec_cmat candidates,
                            int32_t k, const irllrec_rank_opts *opts, int32_t *ids,
                            float *scores, int32_t *counts)
{
    irllrec__rank_call c;
    memset(&c, 0, sizeof c);
    c.func = __func__;
    c.q_name = "queries";
    c.c_name = "candidates";
    c.ids_name = "queries";
    c.q = queries;
    c.c = candidates;
    c.n = queries.rows;
    c.k = k;
    return irllrec__rank_exec(ctx, &c, opts, 0, ids, scores, counts);
}

irllrec_status irllrec_recommend(irllrec_ctx *ctx, irllrec_cmat user_emb, irllrec_cmat item_emb,
                                 const int32_t *users, int64_t n, int32_t k,
                                 const irllrec_rank_opts *opts, int32_t *ids, float *scores,
                                 int32_t *counts)
{
    irllrec__rank_call c;
    memset(&c, 0, sizeof c);
    c.func = __func__;
    c.q_name = "user_emb";
    c.c_name = "item_emb";
    c.ids_name = "users";
    c.q = user_emb;
    c.c = item_emb;
    c.qids = users;
    c.n = n;
    c.k = k;
    return irllrec__rank_exec(ctx, &c, opts, 0, ids, scores, counts);
}

irllrec_status irllrec_similar(irllrec_ctx *ctx, irllrec_cmat emb, const int32_t *rows,
                               int64_t n, int32_t k, const irllrec_rank_opts *opts, int32_t *ids,
                               float *scores, int32_t *counts)
{
    irllrec__rank_call c;
    memset(&c, 0, sizeof c);
    c.func = __func__;
    c.q_name = "emb";
    c.c_name = "emb";
    c.ids_name = "rows";
    c.q = emb;
    c.c = emb;
    c.qids = rows;
    c.n = n;
    c.k = k;
    c.force_flags = IRLLREC_RANK_COSINE;
    c.exclude_self = 1;
    return irllrec__rank_exec(ctx, &c, opts, 0, ids, scores, counts);
}
