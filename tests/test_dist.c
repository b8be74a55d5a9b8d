/* The collective layer and a hook trained by several ranks: P ranks are P
 * threads (helpers/coll_threads.h), each with its own context and hook, so
 * the core suite checks P = 2, 3 without MPI. The reference is one process
 * running the same P micro-batches per step and averaging their gradients
 * before one Adam step (the hook's EXTERNAL_OPTIM path and irllrec_adam). */
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

#define MAXP 3

/* ---- P ranks as threads ---- */

typedef struct ranks_run {
    const df_world *w;
    df_trace tr[MAXP];
    irllrec_status st[MAXP];
    uint64_t seed[MAXP];
} ranks_run;

static int rank_main(tu_group *g, int32_t r, void *arg)
{
    ranks_run *rr = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *h = df_make_hook(ctx, rr->w, rr->seed[r] ? rr->seed[r] : 7);
    ck_assert_ptr_nonnull(h);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    float *gf = calloc(DF_N * DF_D, sizeof(float));
    irllrec_status st = irllrec_hook_set_collective(h, &c);
    irllrec_hook_losses lv;
    for (int s = 0; s < DF_STEPS && st == IRLLREC_OK; s++) {
        st = df_step(h, rr->w, s, r, gf, &lv);
        if (st == IRLLREC_OK) df_take_losses(&rr->tr[r], s, &lv);
    }
    if (st == IRLLREC_OK) df_take_blocks(&rr->tr[r], h);
    rr->st[r] = st;
    free(gf);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

static void run_ranks(const df_world *w, int32_t p, ranks_run *rr)
{
    memset(rr, 0, sizeof *rr);
    rr->w = w;
    ck_assert_int_eq(tu_group_run_new(p, 30.0, rank_main, rr), 0);
}

START_TEST(single_layer_changes_no_bits)
{
    static df_world w;
    df_make_world(&w);
    df_trace t[2];
    memset(t, 0, sizeof t);
    for (int attach = 0; attach < 2; attach++) {
        irllrec_ctx *ctx = tu_ctx_threads(1);
        irllrec_hook *h = df_make_hook(ctx, &w, 7);
        ck_assert_ptr_nonnull(h);
        irllrec_collective c;
        irllrec_collective_single(&c, sizeof c);
        if (attach) ck_assert_int_eq(irllrec_hook_set_collective(h, &c), IRLLREC_OK);
        int32_t r = -1, p = -1;
        ck_assert_int_eq(irllrec_hook_collective_info(h, &r, &p), IRLLREC_OK);
        ck_assert(r == 0 && p == 1);
        float gf[DF_N * DF_D] = {0};
        irllrec_hook_losses lv;
        for (int s = 0; s < DF_STEPS; s++) {
            ck_assert_int_eq(df_step(h, &w, s, 0, gf, &lv), IRLLREC_OK);
            df_take_losses(&t[attach], s, &lv);
        }
        df_take_blocks(&t[attach], h);
        irllrec_hook_free(h);
        irllrec_ctx_free(ctx);
    }
    ck_assert_msg(df_same_bits(&t[0], &t[1]), "the one-process layer changed the bits of a run");
    df_trace_free(&t[0]);
    df_trace_free(&t[1]);
}
END_TEST

/* P = 2, 3: every rank ends with the same bits, within 1e-5 of one process
 * running the same micro-batches, and a repeat gives the same bits. */
START_TEST(ranks_match_one_process)
{
    static df_world w;
    df_make_world(&w);
    const int32_t p = (int32_t)_i + 2;
    static ranks_run a, b;
    run_ranks(&w, p, &a);
    for (int32_t r = 0; r < p; r++) ck_assert_int_eq(a.st[r], IRLLREC_OK);
    for (int32_t r = 1; r < p; r++)
        ck_assert_msg(df_same_bits(&a.tr[0], &a.tr[r]), "rank %d differs from rank 0", (int)r);
    df_trace ref;
    memset(&ref, 0, sizeof ref);
    ck_assert_int_eq(df_reference(&w, p, &ref), IRLLREC_OK);
    const double rd = df_rel_diff(&a.tr[0], &ref);
    fprintf(stderr, "dist: P = %d: relative difference %.3g from one process\n", (int)p, rd);
    ck_assert_msg(rd <= 1e-5, "P = %d: relative difference %.3g from one process", (int)p, rd);
    /* the run must have moved: not two runs that both did nothing */
    ck_assert(ref.loss[0][0] != ref.loss[DF_STEPS - 1][0]);
    run_ranks(&w, p, &b);
    ck_assert_msg(df_same_bits(&a.tr[0], &b.tr[0]), "P = %d: a repeat gave other bits", (int)p);
    for (int32_t r = 0; r < p; r++) {
        df_trace_free(&a.tr[r]);
        df_trace_free(&b.tr[r]);
    }
    df_trace_free(&ref);
}
END_TEST

/* ---- failures ---- */

typedef struct fail_run {
    const df_world *w;
    int kill_rank, nan_rank;
    int64_t kill_after;
    irllrec_status st[MAXP];
    int64_t steps[MAXP];
    int unchanged[MAXP];
    double seconds[MAXP];
    char msg[MAXP][512];
} fail_run;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail_main(tu_group *g, int32_t r, void *arg)
{
    fail_run *fr = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *h = df_make_hook(ctx, fr->w, 7);
    ck_assert_ptr_nonnull(h);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    float *gf = calloc(DF_N * DF_D, sizeof(float));
    df_world *mine = malloc(sizeof *mine);
    memcpy(mine, fr->w, sizeof *mine);
    irllrec_status st = irllrec_hook_set_collective(h, &c);
    irllrec_hook_losses lv;
    df_trace before;
    memset(&before, 0, sizeof before);
    double t0 = now_s();
    for (int s = 0; s < DF_STEPS && st == IRLLREC_OK; s++) {
        if (s == 1 && r == fr->nan_rank) mine->ef[3] = NAN;
        df_trace_free(&before);
        df_take_blocks(&before, h);
        t0 = now_s();
        st = df_step(h, mine, s, r, gf, &lv);
    }
    fr->seconds[r] = now_s() - t0;
    fr->st[r] = st;
    fr->steps[r] = irllrec_hook_steps(h);
    snprintf(fr->msg[r], sizeof fr->msg[r], "%s", irllrec_ctx_errmsg(ctx));
    df_trace after;
    memset(&after, 0, sizeof after);
    df_take_blocks(&after, h);
    fr->unchanged[r] = df_same_params(&before, &after);
    df_trace_free(&before);
    df_trace_free(&after);
    free(mine);
    free(gf);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

/* Collective calls one step makes: the loss reduction, one per trainable block. */
static int64_t calls_per_step(const df_world *w)
{
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *h = df_make_hook(ctx, w, 7);
    ck_assert_ptr_nonnull(h);
    int64_t n = 1;
    for (int i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        n += b.trainable;
    }
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return n;
}

/* Rank 2 dies in the middle of step 3's gradient reduction: the others get
 * IRLLREC_E_COMM within the 1 s timeout (not a hang), naming the operation,
 * and their hooks keep the state of step 2. */
START_TEST(dead_rank_fails_within_timeout)
{
    static df_world w;
    df_make_world(&w);
    static fail_run fr;
    memset(&fr, 0, sizeof fr);
    fr.w = &w;
    fr.nan_rank = -1;
    const int64_t attach_calls = 3;  /* agree (allgatherv), state bcast, verdict sum */
    tu_group *g = tu_group_create(3, 1.0);
    tu_group_kill_after(g, 2, attach_calls + 2 * calls_per_step(&w) + 2);
    int res[MAXP];
    const double t0 = now_s();
    ck_assert_int_eq(tu_group_run(g, fail_main, &fr, res), 0);
    const double wall = now_s() - t0;
    tu_group_free(g);
    for (int r = 0; r < 3; r++) {
        ck_assert_msg(fr.st[r] == IRLLREC_E_COMM, "rank %d: status %d (%s)", r, (int)fr.st[r],
                      fr.msg[r]);
        ck_assert_int_eq(fr.steps[r], 2);
        ck_assert_msg(fr.unchanged[r], "rank %d: a failed step moved the hook", r);
        ck_assert_msg(strstr(fr.msg[r], "allreduce_f32") != NULL, "rank %d: %s", r, fr.msg[r]);
        ck_assert_msg(fr.seconds[r] < 5.0, "rank %d took %.1f s to fail", r, fr.seconds[r]);
    }
    ck_assert_msg(wall < 20.0, "the run took %.1f s", wall);
}
END_TEST

/* A NaN on rank 1 fails its compute (E_NUMERIC); rank 0 learns it from the
 * loss reduction and fails too (E_COMM), neither hook moves, no one hangs. */
START_TEST(failed_compute_on_one_rank_fails_every_rank)
{
    static df_world w;
    df_make_world(&w);
    static fail_run fr;
    memset(&fr, 0, sizeof fr);
    fr.w = &w;
    fr.nan_rank = 1;
    tu_group *g = tu_group_create(2, 10.0);
    int res[MAXP];
    ck_assert_int_eq(tu_group_run(g, fail_main, &fr, res), 0);
    tu_group_free(g);
    ck_assert_msg(fr.st[1] == IRLLREC_E_NUMERIC, "rank 1: %d (%s)", (int)fr.st[1], fr.msg[1]);
    ck_assert_msg(fr.st[0] == IRLLREC_E_COMM, "rank 0: %d (%s)", (int)fr.st[0], fr.msg[0]);
    ck_assert_msg(strstr(fr.msg[0], "failed on 1 other rank") != NULL, "%s", fr.msg[0]);
    for (int r = 0; r < 2; r++) {
        ck_assert_int_eq(fr.steps[r], 1);
        ck_assert(fr.unchanged[r]);
        ck_assert(fr.seconds[r] < 5.0);
    }
}
END_TEST

/* ---- what the host gives is checked ---- */

static int32_t rank_zero(void *u) { (void)u; return 0; }
static int32_t rank_five(void *u) { (void)u; return 5; }
static int32_t size_zero(void *u) { (void)u; return 0; }

static void expect(irllrec_ctx *ctx, irllrec_status got, irllrec_status want, const char *frag)
{
    ck_assert_msg(got == want, "status %d, wanted %d (%s)", (int)got, (int)want,
                  irllrec_ctx_errmsg(ctx));
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), frag) != NULL, "'%s' does not mention '%s'",
                  irllrec_ctx_errmsg(ctx), frag);
}

START_TEST(bad_layers_are_refused)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_collective c;
    irllrec_collective_single(&c, sizeof c);
    ck_assert_int_eq(irllrec_collective_check(ctx, &c), IRLLREC_OK);
    expect(ctx, irllrec_collective_check(ctx, NULL), IRLLREC_E_INVALID_ARG, "NULL");
    static const char *names[] = {"rank", "size", "allreduce_f32", "allreduce_f64",
                                  "allgatherv", "reduce_scatter_f32", "broadcast", "barrier"};
    for (int i = 0; i < 8; i++) {
        irllrec_collective b = c;
        void (**fp)(void) = (void (**)(void))(void *)((char *)&b.rank + (size_t)i * sizeof b.rank);
        *fp = NULL;
        char frag[64];
        snprintf(frag, sizeof frag, "%s function is NULL", names[i]);
        expect(ctx, irllrec_collective_check(ctx, &b), IRLLREC_E_INVALID_ARG, frag);
    }
    irllrec_collective b = c;
    b.struct_size = 0;
    expect(ctx, irllrec_collective_check(ctx, &b), IRLLREC_E_VERSION, "struct_size");
    b = c;
    b.reserved0 = 1;
    expect(ctx, irllrec_collective_check(ctx, &b), IRLLREC_E_INVALID_ARG, "reserved0");
    b = c;
    b.size = size_zero;
    expect(ctx, irllrec_collective_check(ctx, &b), IRLLREC_E_INVALID_ARG, "size 0");
    b = c;
    b.rank = rank_five;
    expect(ctx, irllrec_collective_check(ctx, &b), IRLLREC_E_INVALID_ARG, "rank 5 outside [0, 1)");
    /* the checked calls refuse bad arguments before the host's function runs */
    float x[4] = {1, 2, 3, 4};
    expect(ctx, irllrec_collective_allreduce_f32(ctx, &c, x, x, -1), IRLLREC_E_INVALID_ARG,
           "negative");
    expect(ctx, irllrec_collective_allreduce_f32(ctx, &c, NULL, x, 4), IRLLREC_E_INVALID_ARG,
           "NULL");
    expect(ctx, irllrec_collective_broadcast(ctx, &c, x, 16, 1), IRLLREC_E_INVALID_ARG,
           "root = 1 outside [0, 1)");
    const int64_t rb[1] = {8}, dp[1] = {0};
    expect(ctx, irllrec_collective_allgatherv(ctx, &c, x, 4, x + 2, rb, dp), IRLLREC_E_INVALID_ARG,
           "recv_bytes[0] = 8");
    /* the hook refuses a bad layer and keeps its previous one */
    static df_world w;
    df_make_world(&w);
    irllrec_hook *h = df_make_hook(ctx, &w, 7);
    ck_assert_ptr_nonnull(h);
    b = c;
    b.size = size_zero;
    expect(ctx, irllrec_hook_set_collective(h, &b), IRLLREC_E_INVALID_ARG, "size 0");
    int32_t r = -1, p = -1;
    ck_assert_int_eq(irllrec_hook_collective_info(h, &r, &p), IRLLREC_OK);
    ck_assert(r == 0 && p == 1);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
}
END_TEST

typedef struct group_check {
    const df_world *w;
    int lie, other_seed;
    irllrec_status st[MAXP];
    char msg[MAXP][512];
} group_check;

static int check_main(tu_group *g, int32_t r, void *arg)
{
    group_check *gc = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_hook *h = df_make_hook(ctx, gc->w, gc->other_seed && r == 1 ? 8 : 7);
    ck_assert_ptr_nonnull(h);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    if (gc->lie) c.rank = rank_zero;  /* every process believes it is rank 0 */
    gc->st[r] = irllrec_hook_set_collective(h, &c);
    snprintf(gc->msg[r], sizeof gc->msg[r], "%s", irllrec_ctx_errmsg(ctx));
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

/* Loudly, on every rank: ranks that all claim 0, hooks that start apart. */
START_TEST(group_disagreements_are_refused_on_every_rank)
{
    static df_world w;
    df_make_world(&w);
    for (int k = 0; k < 2; k++) {
        static group_check gc;
        memset(&gc, 0, sizeof gc);
        gc.w = &w;
        gc.lie = k == 0;
        gc.other_seed = k == 1;
        tu_group *g = tu_group_create(2, 10.0);
        int res[MAXP];
        ck_assert_int_eq(tu_group_run(g, check_main, &gc, res), 0);
        tu_group_free(g);
        for (int r = 0; r < 2; r++) {
            ck_assert_int_eq(gc.st[r], k == 0 ? IRLLREC_E_INVALID_ARG : IRLLREC_E_STATE);
            ck_assert_msg(strstr(gc.msg[r], k == 0 ? "did every process start as rank 0"
                                                   : "other parameters") != NULL,
                          "%s", gc.msg[r]);
        }
    }
}
END_TEST

/* The checked calls over 3 ranks: variable-count allgather, reduce-scatter
 * (rank-order sums), broadcast, barrier; and no allocation in a step. */
static int calls_main(tu_group *g, int32_t r, void *arg)
{
    int *bad = arg;
    irllrec_ctx *ctx = tu_ctx_threads(1);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    int ok = irllrec_collective_check(ctx, &c) == IRLLREC_OK;
    /* rank q sends q + 1 bytes of value q */
    const int64_t rb[3] = {1, 2, 3}, dp[3] = {0, 1, 3};
    unsigned char mine[3], all[6];
    memset(mine, r, sizeof mine);
    ok = ok && irllrec_collective_allgatherv(ctx, &c, mine, r + 1, all, rb, dp) == IRLLREC_OK;
    const unsigned char want[6] = {0, 1, 1, 2, 2, 2};
    ok = ok && memcmp(all, want, 6) == 0;
    /* blocks of 1, 0, 2 floats; send[j] = (r + 1) * (j + 1) */
    const int64_t counts[3] = {1, 0, 2};
    float send[3], recv[2] = {-1, -1};
    for (int j = 0; j < 3; j++) send[j] = (float)((r + 1) * (j + 1));
    ok = ok && irllrec_collective_reduce_scatter_f32(ctx, &c, send, recv, counts) == IRLLREC_OK;
    const int64_t off = r == 0 ? 0 : 1;
    for (int64_t j = 0; j < counts[r]; j++) ok = ok && recv[j] == 6.0f * (float)(off + j + 1);
    double v[2] = {r, 1.5};
    ok = ok && irllrec_collective_allreduce_f64(ctx, &c, v, v, 2) == IRLLREC_OK;
    ok = ok && v[0] == 3.0 && v[1] == 4.5;
    int32_t b = r == 2 ? 42 : -1;
    ok = ok && irllrec_collective_broadcast(ctx, &c, &b, sizeof b, 2) == IRLLREC_OK && b == 42;
    ok = ok && irllrec_collective_barrier(ctx, &c) == IRLLREC_OK;
    bad[r] = !ok;
    irllrec_ctx_free(ctx);
    return 0;
}

START_TEST(checked_calls_over_three_ranks)
{
    tu_group *g = tu_group_create(3, 10.0);
    int res[MAXP], bad[MAXP] = {1, 1, 1};
    ck_assert_int_eq(tu_group_run(g, calls_main, bad, res), 0);
    tu_group_free(g);
    for (int r = 0; r < 3; r++) ck_assert_msg(!bad[r], "rank %d got a wrong result", r);
}
END_TEST

typedef struct alloc_run {
    const df_world *w;
    int64_t allocs[MAXP];
} alloc_run;

static int alloc_main(tu_group *g, int32_t r, void *arg)
{
    alloc_run *ar = arg;
    tu_alloc_state st;
    memset(&st, 0, sizeof st);
    irllrec_ctx *ctx = tu_ctx_counting(&st);
    irllrec_hook *h = df_make_hook(ctx, ar->w, 7);
    ck_assert_ptr_nonnull(h);
    irllrec_collective c;
    tu_group_layer(g, r, &c);
    float *gf = calloc(DF_N * DF_D, sizeof(float));
    irllrec_hook_losses lv;
    ar->allocs[r] = -1;
    if (irllrec_hook_set_collective(h, &c) == IRLLREC_OK) {
        const int64_t before = st.n_alloc;
        int ok = 1;
        for (int s = 0; s < 3; s++) ok = ok && df_step(h, ar->w, s, r, gf, &lv) == IRLLREC_OK;
        ar->allocs[r] = ok ? st.n_alloc - before : -1;
    }
    free(gf);
    irllrec_hook_free(h);
    irllrec_ctx_free(ctx);
    return 0;
}

START_TEST(ranked_step_allocates_nothing)
{
    static df_world w;
    df_make_world(&w);
    static alloc_run ar;
    memset(&ar, 0, sizeof ar);
    ar.w = &w;
    tu_group *g = tu_group_create(2, 10.0);
    int res[MAXP];
    ck_assert_int_eq(tu_group_run(g, alloc_main, &ar, res), 0);
    tu_group_free(g);
    ck_assert_int_eq(ar.allocs[0], 0);
    ck_assert_int_eq(ar.allocs[1], 0);
}
END_TEST

Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, single_layer_changes_no_bits);
    tcase_add_loop_test(tc, ranks_match_one_process, 0, 2);
    tcase_add_test(tc, dead_rank_fails_within_timeout);
    tcase_add_test(tc, failed_compute_on_one_rank_fails_every_rank);
    tcase_add_test(tc, bad_layers_are_refused);
    tcase_add_test(tc, group_disagreements_are_refused_on_every_rank);
    tcase_add_test(tc, checked_calls_over_three_ranks);
    tcase_add_test(tc, ranked_step_allocates_nothing);
    suite_add_tcase(s, tc);
    return s;
}
