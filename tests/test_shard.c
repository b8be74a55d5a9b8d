/* Node sharding (irllrec_hook_create_sharded): P ranks as threads
 * (helpers/coll_threads.h), each holding a block of the text rows, against
 * one process on the same global batches; the row block of translation
 * alignment it rests on; text given in row ranges; the failures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"
#include "helpers/hookio.h"
#include "helpers/coll_threads.h"
#include "helpers/dist_fixture.h"
#include "hook/hook_impl.h"

#define MAXP 4

static double rel(double a, double b)
{
    const double m = fabs(b) > 1e-300 ? fabs(b) : 1e-300;
    return fabs(a - b) / m;
}

/* ---- the row block of translation alignment ---- */

static irllrec_align *tran_handle(irllrec_ctx *ctx, int64_t n, int32_t d)
{
    irllrec_align_spec as;
    irllrec_align_spec_init(&as, sizeof as);
    as.dim = d;
    as.max_rows = as.max_cols = n;
    as.block_rows = 4;
    as.block_cols = 8;
    as.seed = 99;
    irllrec_align *a = NULL;
    ck_assert_int_eq(irllrec_align_create(ctx, &as, &a), IRLLREC_OK);
    return a;
}

/* Blocks that partition [0, N), each from the generator state the full call
 * starts at: the losses and dY add up to the full call's, dX rows equal its
 * rows, and each block leaves the generator where the full call does. */
START_TEST(translation_rows_add_up_to_exact)
{
    enum { N = 37, D = 5 };
    static float x[N * D], y[N * D], dx[N * D], dy[N * D], bdx[N * D], bdy[N * D];
    uint64_t sd = 3;
    tu_fill(&sd, x, N * D, 1.5f);
    tu_fill(&sd, y, N * D, 1.5f);
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_align *a = tran_handle(ctx, N, D);
    uint64_t s0[4], s1[4], sb[4];
    ck_assert_int_eq(irllrec_align_get_rng_state(a, s0), IRLLREC_OK);
    double full = 0.0;
    ck_assert_int_eq(irllrec_align_translation(a, irllrec_mat_dense(x, N, D),
                                               irllrec_mat_dense(y, N, D),
                                               irllrec_mat_dense(dx, N, D),
                                               irllrec_mat_dense(dy, N, D), &full),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_align_get_rng_state(a, s1), IRLLREC_OK);
    const int64_t cut[4] = {0, 10, 25, N};
    double sum = 0.0;
    for (int k = 0; k < 3; k++) {
        const int64_t lo = cut[k], n = cut[k + 1] - cut[k];
        double l = 0.0;
        ck_assert_int_eq(irllrec_align_set_rng_state(a, s0), IRLLREC_OK);
        ck_assert_int_eq(irllrec_align_translation_rows(
                             a, irllrec_mat_dense(x + lo * D, n, D), lo, irllrec_mat_dense(y, N, D),
                             irllrec_mat_dense(bdx + lo * D, n, D), irllrec_mat_dense(bdy, N, D), &l),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec_align_get_rng_state(a, sb), IRLLREC_OK);
        ck_assert_msg(memcmp(sb, s1, sizeof sb) == 0, "block %d left the generator elsewhere", k);
        ck_assert(l > 0.0);
        sum += l;
    }
    ck_assert_msg(rel(sum, full) < 1e-12, "blocks sum to %.17g, the exact loss is %.17g", sum, full);
    double worst = 0.0, scale = 0.0;
    for (int64_t i = 0; i < N * D; i++) {
        scale = fmax(scale, fmax(fabs(dx[i]), fabs(dy[i])));
        worst = fmax(worst, fmax(fabs(dx[i] - bdx[i]), fabs(dy[i] - bdy[i])));
    }
    ck_assert(scale > 0.0);
    ck_assert_msg(worst <= 1e-6 * scale, "gradients differ by %.3g (scale %.3g)", worst, scale);
    /* refused without writing or drawing: rows past N, a negative row0 */
    ck_assert_int_eq(irllrec_align_set_rng_state(a, s0), IRLLREC_OK);
    const irllrec_mat none = {NULL, 0, 0, 0};
    ck_assert_int_eq(irllrec_align_translation_rows(a, irllrec_mat_dense(x, 5, D), N - 4,
                                                    irllrec_mat_dense(y, N, D), none, none, NULL),
                     IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "rows 33 .. 37") != NULL);
    ck_assert_int_eq(irllrec_align_translation_rows(a, irllrec_mat_dense(x, 5, D), -1,
                                                    irllrec_mat_dense(y, N, D), none, none, NULL),
                     IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_align_get_rng_state(a, sb), IRLLREC_OK);
    ck_assert(memcmp(sb, s0, sizeof sb) == 0);
    irllrec_align_free(a);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- P sharded ranks against one process ---- */

typedef struct shard_run {
    const df_world *w;
    df_trace tr[MAXP];
    float gf[MAXP][DF_N * DF_D];
    irllrec_status st[MAXP];
    int64_t rows[MAXP];
} shard_run;

static int shard_main(tu_group *g, int32_t r, void *arg)
{
    shard_run *sr = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    irllrec_hook *h = df_make_hook_sharded(ctx, sr->w, 7, &c);
    if (h == NULL) {
        sr->st[r] = IRLLREC_E_STATE;
        irllrec_ctx_free(ctx);
        return 0;
    }
    int64_t lo = -1;
    irllrec_status st = irllrec_hook_shard_rows(h, &lo, &sr->rows[r]);
    irllrec_hook_losses lv;
    for (int s = 0; s < DF_STEPS && st == IRLLREC_OK; s++) {
        st = df_step(h, sr->w, s, 0, sr->gf[r], &lv);
        if (st == IRLLREC_OK) df_take_losses(&sr->tr[r], s, &lv);
    }
    if (st == IRLLREC_OK) df_take_blocks(&sr->tr[r], h);
    sr->st[r] = st;
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

static void run_shards(const df_world *w, int32_t p, shard_run *sr)
{
    memset(sr, 0, sizeof *sr);
    sr->w = w;
    ck_assert_int_eq(tu_group_run_new(p, 30.0, shard_main, sr), 0);
}

static double gf_rel(const float *a, const float *b)
{
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < DF_N * DF_D; i++) {
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return scale > 0.0 ? worst / scale : worst;
}

/* P = 1..4 (8 chunks of 3 rows, users and items apart: blocks of 22, 12 +
 * 10, 6 + 9 + 7 and 6 + 6 + 3 + 7 rows; at P = 3 a block straddles the
 * users/items boundary): every rank ends with the same bits, and they are
 * one process's on the same global batches: every block and last gradient
 * and the host's gradient bit for bit (the sums over rows are per-chunk
 * partials added in double: reduce.c), the losses within 1e-12 (they are
 * double sums in another order); a repeat gives the same bits. */
START_TEST(shards_match_one_process)
{
    static df_world w;
    df_make_world(&w);
    const int32_t p = (int32_t)_i + 1;
    static shard_run a, b;
    static df_trace ref;
    static float ref_gf[DF_N * DF_D];
    memset(&ref, 0, sizeof ref);
    memset(ref_gf, 0, sizeof ref_gf);
    ck_assert_int_eq(df_reference_global(&w, &ref, ref_gf), IRLLREC_OK);
    run_shards(&w, p, &a);
    int64_t held = 0;
    for (int32_t r = 0; r < p; r++) {
        ck_assert_msg(a.st[r] == IRLLREC_OK, "rank %d: status %d", (int)r, (int)a.st[r]);
        held += a.rows[r];
    }
    ck_assert_int_eq(held, DF_N);
    for (int32_t r = 1; r < p; r++) {
        ck_assert_msg(df_same_bits(&a.tr[0], &a.tr[r]), "rank %d differs from rank 0", (int)r);
        ck_assert(memcmp(a.gf[0], a.gf[r], sizeof a.gf[0]) == 0);
    }
    const double rd = df_rel_diff(&a.tr[0], &ref), rg = gf_rel(a.gf[0], ref_gf);
    const int same = df_same_params_grads(&a.tr[0], &ref);
    fprintf(stderr, "shard: P = %d: relative difference %.3g (host gradient %.3g) from one "
                    "process; parameters and gradients %s\n", (int)p, rd, rg,
            same ? "bit for bit" : "DIFFER");
    ck_assert_msg(same, "P = %d: parameters or gradients differ from one process (%.3g)", (int)p,
                  rd);
    ck_assert_msg(memcmp(a.gf[0], ref_gf, sizeof ref_gf) == 0, "P = %d: host gradient %.3g",
                  (int)p, rg);
    ck_assert_msg(rd <= 1e-12, "P = %d: losses %.3g apart", (int)p, rd);
    ck_assert(ref.loss[0][0] != ref.loss[DF_STEPS - 1][0]);
    for (int k = 1; k < 5; k++) ck_assert_msg(ref.loss[0][k] > 0.0, "term %d is off", k);
    run_shards(&w, p, &b);
    ck_assert_msg(df_same_bits(&a.tr[0], &b.tr[0]), "P = %d: a repeat gave other bits", (int)p);
    for (int32_t r = 0; r < p; r++) {
        df_trace_free(&a.tr[r]);
        df_trace_free(&b.tr[r]);
    }
    df_trace_free(&ref);
}
END_TEST

/* The same with bf16 text (where a backend exists; otherwise the hooks take
 * the fp32 path and this repeats the fp32 case): the sharded towers run the
 * bf16 path on their blocks. bf16 towers keep no double accumulators (8
 * bytes a first-layer weight: reduce.c), so their chunks add in fp32 and
 * the ranks' sums in rank order: the same bits for a given P, not one
 * process's; Adam amplifies that to 3.7e-5 here (measured). */
START_TEST(shards_match_one_process_bf16)
{
    static df_world w;
    df_make_world(&w);
    df_text_precision = IRLLREC_HOOK_TEXT_BF16;
    static shard_run a;
    static df_trace ref;
    static float ref_gf[DF_N * DF_D];
    memset(&ref, 0, sizeof ref);
    memset(ref_gf, 0, sizeof ref_gf);
    ck_assert_int_eq(df_reference_global(&w, &ref, ref_gf), IRLLREC_OK);
    run_shards(&w, 2, &a);
    df_text_precision = IRLLREC_HOOK_TEXT_FP32;
    ck_assert_int_eq(a.st[0], IRLLREC_OK);
    ck_assert_int_eq(a.st[1], IRLLREC_OK);
    ck_assert(df_same_bits(&a.tr[0], &a.tr[1]));
    const double rd = df_rel_diff(&a.tr[0], &ref), rg = gf_rel(a.gf[0], ref_gf);
    fprintf(stderr, "shard: bf16 text (%s), P = 2: relative difference %.3g (host %.3g)\n",
            irllrec_text_bf16_backend(), rd, rg);
    ck_assert_msg(rd <= 1e-5 && rg <= 1e-5, "relative difference %.3g, host %.3g", rd, rg);
    df_trace_free(&a.tr[0]);
    df_trace_free(&a.tr[1]);
    df_trace_free(&ref);
}
END_TEST

/* ---- text in row ranges ---- */

/* The four texts in chunks of 5 rows (the last one short) give the bits of
 * whole matrices; a missing chunk leaves the text unset, and compute says
 * which; rows past the side are refused. */
START_TEST(text_rows_in_chunks)
{
    static df_world w;
    df_make_world(&w);
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *whole = df_make_hook(ctx, &w, 7), *part = NULL;
    ck_assert_ptr_nonnull(whole);
    irllrec_hook_spec s;
    df_spec(&s, 7);
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &part), IRLLREC_OK);
    ck_assert_int_eq(df_setup(part, &w), IRLLREC_OK);  /* whole texts; now overwrite in chunks */
    irllrec_hook_free(part);
    ck_assert_int_eq(irllrec_hook_create(ctx, &s, &part), IRLLREC_OK);
    const int dims[4] = {DF_DP, DF_DP, DF_DT, DF_DT};
    for (int t = 0; t < 4; t++) {
        const int rows = t % 2 ? DF_I : DF_U;
        for (int r0 = 0; r0 < rows; r0 += 5) {
            const int n = rows - r0 < 5 ? rows - r0 : 5;
            if (t == 3 && r0 == 5) continue;  /* item intent rows 5..9 left out */
            ck_assert_int_eq(irllrec_hook_set_text_rows(
                                 part, t, r0, irllrec_cmat_dense(w.txt[t] + r0 * dims[t], n, dims[t])),
                             IRLLREC_OK);
        }
    }
    irllrec_csr g = {DF_N, DF_N, w.ip[DF_N], w.ip, w.ix};
    ck_assert_int_eq(irllrec_hook_set_graph(part, &g), IRLLREC_OK);
    const irllrec_hook_param ids[5] = {IRLLREC_HOOK_W_TRAN, IRLLREC_HOOK_W_ITM, IRLLREC_HOOK_W_KD,
                                       IRLLREC_HOOK_REG, IRLLREC_HOOK_LR};
    for (int k = 0; k < 5; k++) {
        double v = 0.0;
        ck_assert_int_eq(irllrec_hook_get_param(whole, ids[k], &v), IRLLREC_OK);
        ck_assert_int_eq(irllrec_hook_set_param(part, ids[k], v), IRLLREC_OK);
    }
    float gf[DF_N * DF_D] = {0};
    irllrec_hook_losses lv;
    ck_assert_int_eq(df_step(part, &w, 0, 0, gf, &lv), IRLLREC_E_STATE);
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), "item") != NULL, "%s", irllrec_ctx_errmsg(ctx));
    ck_assert_int_eq(irllrec_hook_set_text_rows(part, 3, 5,
                                                irllrec_cmat_dense(w.txt[3] + 5 * DF_DT, 5, DF_DT)),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_text_rows(part, 3, 6,
                                                irllrec_cmat_dense(w.txt[3], 5, DF_DT)),
                     IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "rows 6 .. 10 are outside 0 .. 9") != NULL);
    df_trace a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    float ga[DF_N * DF_D] = {0}, gb[DF_N * DF_D] = {0};
    for (int st = 0; st < 3; st++) {
        ck_assert_int_eq(df_step(whole, &w, st, 0, ga, &lv), IRLLREC_OK);
        df_take_losses(&a, st, &lv);
        ck_assert_int_eq(df_step(part, &w, st, 0, gb, &lv), IRLLREC_OK);
        df_take_losses(&b, st, &lv);
    }
    ck_assert_int_eq(df_take_blocks(&a, whole), 0);
    ck_assert_int_eq(df_take_blocks(&b, part), 0);
    ck_assert_msg(df_same_bits(&a, &b), "chunked text changed the bits");
    df_trace_free(&a);
    df_trace_free(&b);
    irllrec_hook_free(part);
    irllrec_hook_free(whole);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- memory: the text matrices per rank ---- */

typedef struct mem_run {
    irllrec_hook_spec spec;
    int64_t live[MAXP], est[MAXP], rows[MAXP], text[MAXP];
    irllrec_status st[MAXP];
} mem_run;

/* Bytes of the hook's text matrices (its buffer table's txt_p and txt_t). */
static int64_t text_bytes(const irllrec_hook *h)
{
    int64_t n = 0;
    for (int i = 0; i < h->n_bufs; i++)
        if (h->bufs[i].p == (void *)h->txt_p || h->bufs[i].p == (void *)h->txt_t)
            n += (int64_t)h->bufs[i].n;
    return n;
}

static int mem_main(tu_group *g, int32_t r, void *arg)
{
    mem_run *m = arg;
    tu_alloc_state as;
    memset(&as, 0, sizeof as);
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    irllrec_hook *h = NULL;
    const int64_t before = as.live_bytes;  /* the context's own */
    m->st[r] = irllrec_hook_create_sharded(ctx, &m->spec, &c, &h);
    if (m->st[r] == IRLLREC_OK) {
        int64_t lo;
        irllrec_hook_shard_rows(h, &lo, &m->rows[r]);
        m->live[r] = as.live_bytes - before;
        m->text[r] = text_bytes(h);
        m->st[r] = irllrec_hook_memory_estimate_sharded(&m->spec, irllrec_ctx_n_threads(ctx), 0,
                                                        2, r, &m->est[r]);
    }
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

/* The memory tests' hook: graph-free, d 8, K 4, batch 16. */
static void mem_spec(mem_run *m, int64_t users, int64_t items, int32_t dp, int32_t dt)
{
    memset(m, 0, sizeof *m);
    irllrec_hook_spec_init(&m->spec, sizeof m->spec);
    m->spec.n_users = users;
    m->spec.n_items = items;
    m->spec.dim = 8;
    m->spec.n_intents = 4;
    m->spec.n_layers = 0;
    m->spec.max_batch = 16;
    m->spec.profile_dim = dp;
    m->spec.intent_dim = dt;
    m->spec.reduce_rows = 16;  /* 19 + 13 chunks: 2 ranks hold 16 of them each */
}

/* At 2 ranks each rank's hook holds half of the text rows: the bytes of its
 * text matrices are <= 55% of one process's, and the allocator's count of
 * the whole hook is the estimate. */
START_TEST(two_ranks_hold_half_the_text)
{
    static mem_run m;
    mem_spec(&m, 300, 201, 96, 64);
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *one = NULL;
    ck_assert_int_eq(irllrec_hook_create(ctx, &m.spec, &one), IRLLREC_OK);
    const int64_t one_text = text_bytes(one);
    ck_assert_int_eq(one_text, 501 * (96 + 64) * 4);
    int64_t one_est;
    ck_assert_int_eq(irllrec_hook_memory_estimate(&m.spec, 1, 0, &one_est), IRLLREC_OK);
    irllrec_hook_free(one);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(tu_group_run_new(2, 30.0, mem_main, &m), 0);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(m.st[r], IRLLREC_OK);
        ck_assert_msg(m.live[r] == m.est[r], "rank %d: %lld bytes allocated, %lld estimated", r,
                      (long long)m.live[r], (long long)m.est[r]);
        const double share = (double)m.text[r] / (double)one_text;
        fprintf(stderr, "shard: rank %d of 2 holds %lld of 501 rows; text matrices %.1f%% of one "
                        "process's, whole hook %.1f%%\n", r, (long long)m.rows[r],
                100.0 * share, 100.0 * (double)m.est[r] / (double)one_est);
        ck_assert_msg(share <= 0.55, "rank %d: %.3f of one process's text bytes", r, share);
    }
    int64_t bad;
    ck_assert_int_eq(irllrec_hook_memory_estimate_sharded(&m.spec, 1, 0, 2, 2, &bad),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_hook_memory_estimate_sharded(&m.spec, 1, 0, 0, 0, &bad),
                     IRLLREC_E_INVALID_ARG);
}
END_TEST

/* With bf16 text the estimate still counts every byte on every rank, with
 * more held rows per rank than the bf16 towers' 2048-row block. */
START_TEST(bf16_shard_memory_estimate_holds)
{
    static mem_run m;
    mem_spec(&m, 3000, 2501, 48, 32);
    m.spec.text_precision = IRLLREC_HOOK_TEXT_BF16;
    ck_assert_int_eq(tu_group_run_new(2, 30.0, mem_main, &m), 0);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(m.st[r], IRLLREC_OK);
        ck_assert_int_gt(m.rows[r], 2048);
        ck_assert_msg(m.live[r] == m.est[r], "rank %d: %lld bytes allocated, %lld estimated", r,
                      (long long)m.live[r], (long long)m.est[r]);
    }
}
END_TEST

/* ---- failures ---- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct fail_run {
    const df_world *w;
    int bad_rank, kill, nan;
    irllrec_status st[MAXP];
    int64_t steps[MAXP];
    double seconds[MAXP];
    char msg[MAXP][512];
} fail_run;

static void nan_noise(void *ud, int64_t n, int32_t dim, const int32_t *ids, float *ex, float *ey)
{
    (void)ud;
    (void)ids;
    for (int64_t k = 0; k < n * dim; k++) ex[k] = ey[k] = NAN;
}

/* Three steps, then a fourth in which bad_rank passes a user id out of
 * range (with kill: stops calling in the middle of the step; with nan: its
 * block of L_tran turns non-finite, in the middle of the stages). */
static int fail_main(tu_group *g, int32_t r, void *arg)
{
    fail_run *fr = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    irllrec_hook *h = df_make_hook_sharded(ctx, fr->w, 7, &c);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(irllrec_hook_set_collective(h, NULL), IRLLREC_E_STATE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "irllrec_hook_create_sharded") != NULL);
    float gf[DF_N * DF_D] = {0};
    irllrec_hook_losses lv;
    for (int s = 0; s < 3; s++) ck_assert_int_eq(df_step(h, fr->w, s, 0, gf, &lv), IRLLREC_OK);
    /* a step's calls: verdict, 2 gathers, the dY sum, losses, 10 gradient blocks */
    if (fr->kill && r == fr->bad_rank) tu_group_kill_after(g, r, tu_group_calls(g, r) + 2);
    int32_t u[DF_B], p[DF_B], n[DF_B];
    df_micro_batch(3, 0, u, p, n);
    if (!fr->kill && !fr->nan && r == fr->bad_rank) u[1] = DF_U;
    if (fr->nan && r == fr->bad_rank)
        ck_assert_int_eq(irllrec_hook_set_noise_fn(h, nan_noise, NULL), IRLLREC_OK);
    tu_hookio io;
    tu_hookio_init(&io, DF_U, DF_I, DF_D, fr->w->ef, gf, DF_L, fr->w->lay, NULL);
    const irllrec_hook_batch bt = {DF_B, u, p, n};
    const double t0 = now_s();
    fr->st[r] = irllrec_hook_compute(h, &bt, &io.in, &io.grads, 0, &lv);
    fr->seconds[r] = now_s() - t0;
    snprintf(fr->msg[r], sizeof fr->msg[r], "%s", irllrec_ctx_errmsg(ctx));
    fr->steps[r] = irllrec_hook_steps(h);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

static void run_fail(fail_run *fr, int32_t p)
{
    ck_assert_int_eq(tu_group_run_new(p, 1.0, fail_main, fr), 0);
}

/* Three ranks, bad_rank failing in its fourth compute (nan: mid-stages;
 * else at validation): it returns want, the others E_COMM naming it, all
 * at once and with three steps taken. */
static void expect_one_failed(int bad_rank, int nan, irllrec_status want, const char *others)
{
    static df_world w;
    df_make_world(&w);
    static fail_run fr;
    memset(&fr, 0, sizeof fr);
    fr.w = &w;
    fr.bad_rank = bad_rank;
    fr.nan = nan;
    run_fail(&fr, 3);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(fr.steps[r], 3);
        ck_assert_msg(fr.seconds[r] < 0.5, "rank %d took %.2f s", r, fr.seconds[r]);
        const irllrec_status st = r == bad_rank ? want : IRLLREC_E_COMM;
        ck_assert_msg(fr.st[r] == st, "rank %d: %d: %s", r, (int)fr.st[r], fr.msg[r]);
        if (r != bad_rank)
            ck_assert_msg(strstr(fr.msg[r], others) != NULL, "%s", fr.msg[r]);
    }
}

START_TEST(refused_rank_fails_every_rank)
{
    expect_one_failed(1, 0, IRLLREC_E_INVALID_ARG, "refused on 1 other rank");
}
END_TEST

START_TEST(rank_failing_mid_step_fails_every_rank)
{
    expect_one_failed(0, 1, IRLLREC_E_NUMERIC, "failed on 1 other rank");
}
END_TEST

/* A rank that dies inside a step (after the verdict and one gather): the
 * others return E_COMM within the group's 1 s timeout, state unchanged. */
START_TEST(dead_rank_fails_within_timeout)
{
    static df_world w;
    df_make_world(&w);
    static fail_run fr;
    memset(&fr, 0, sizeof fr);
    fr.w = &w;
    fr.bad_rank = 2;
    fr.kill = 1;
    run_fail(&fr, 3);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(fr.st[r], IRLLREC_E_COMM);
        ck_assert_int_eq(fr.steps[r], 3);
        ck_assert_msg(fr.seconds[r] < 3.0, "rank %d took %.2f s", r, fr.seconds[r]);
    }
}
END_TEST

typedef struct tiny_run {
    irllrec_status st[MAXP];
    char msg[MAXP][256];
} tiny_run;

static int tiny_main(tu_group *g, int32_t r, void *arg)
{
    tiny_run *t = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    irllrec_hook_spec s;
    df_spec(&s, 7);
    s.n_users = 1;
    s.n_items = 1;
    irllrec_hook *h = (irllrec_hook *)&t;  /* must come back NULL */
    t->st[r] = irllrec_hook_create_sharded(ctx, &s, &c, &h);
    ck_assert_ptr_null(h);
    snprintf(t->msg[r], sizeof t->msg[r], "%s", irllrec_ctx_errmsg(ctx));
    irllrec_ctx_free(ctx);
    return 0;
}

START_TEST(more_ranks_than_rows_refused)
{
    static tiny_run t;
    ck_assert_int_eq(tu_group_run_new(3, 5.0, tiny_main, &t), 0);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(t.st[r], IRLLREC_E_SHAPE);
        ck_assert_msg(strstr(t.msg[r], "3 ranks for 2 reduction chunks") != NULL, "%s",
                      t.msg[r]);
    }
}
END_TEST

Suite *shard_suite(void)
{
    Suite *s = suite_create("shard");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, translation_rows_add_up_to_exact);
    tcase_add_loop_test(tc, shards_match_one_process, 0, 4);
    tcase_add_test(tc, shards_match_one_process_bf16);
    tcase_add_test(tc, text_rows_in_chunks);
    tcase_add_test(tc, two_ranks_hold_half_the_text);
    tcase_add_test(tc, bf16_shard_memory_estimate_holds);
    tcase_add_test(tc, refused_rank_fails_every_rank);
    tcase_add_test(tc, rank_failing_mid_step_fails_every_rank);
    tcase_add_test(tc, dead_rank_fails_within_timeout);
    tcase_add_test(tc, more_ranks_than_rows_refused);
    suite_add_tcase(s, tc);
    return s;
}
