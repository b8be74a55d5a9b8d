/* Ranking (rank.h) refusing what it cannot rank: hostile inputs of
 * recommend, rank and similar, each refused with its code and a message
 * naming the culprit, outputs untouched; and every allocation failing in
 * turn, outputs untouched and nothing leaked. Over the hand-computed
 * problem of helpers/rankfx.h; the rankings themselves are in test_rank.c. */
#include <check.h>
#include <math.h>
#include <string.h>
#include "internal.h"
#include "rank/kernel.h"
#include "helpers/testutil.h"
#include "helpers/rankfx.h"

/* Run recommend over the hand problem with sentinel outputs; expect code
 * st, a message containing want, and outputs untouched. */
static void expect_refused(irllrec_ctx *ctx, irllrec_cmat ue, irllrec_cmat ie,
                           const int32_t *users, int64_t n, int32_t k,
                           const irllrec_rank_opts *o, irllrec_status st, const char *want)
{
    int32_t ids[32], cnt[4];
    float sc[32];
    rfx_fill(ids, sc, cnt, 32, 4);
    ck_assert_int_eq(irllrec_recommend(ctx, ue, ie, users, n, k, o, ids, sc, cnt), st);
    ck_assert_msg(strstr(irllrec_ctx_errmsg(ctx), want) != NULL, "message \"%s\" lacks \"%s\"",
                  irllrec_ctx_errmsg(ctx), want);
    ck_assert(strncmp(irllrec_ctx_errmsg(ctx), "irllrec_recommend: ", 19) == 0);
    rfx_assert_untouched(ids, sc, cnt, 32, 4);
}

START_TEST(hostile_inputs_refused_without_output)
{
    irllrec_ctx *ctx = tu_ctx();
    const int32_t users[2] = {0, 1}, bad_users[2] = {1, 99}, neg[1] = {-2};
    const int64_t bad_p[4] = {0, 2, 1, 3}, ok_p[4] = {0, 1, 3, 3};
    const int32_t out_i[3] = {0, 3, 5}, ids7[2] = {1, 7};
    irllrec_csr bad = tu_csr(3, 5, bad_p, rfx_SEEN_I), wrong = tu_csr(2, 5, ok_p, rfx_SEEN_I);
    irllrec_csr out = tu_csr(3, 5, ok_p, out_i);
    irllrec_rank_opts o;
    float nan_ie[10], nan_ue[6], ue3[9];
    memcpy(nan_ie, rfx_IE, sizeof rfx_IE), memcpy(nan_ue, rfx_UE, sizeof rfx_UE);
    nan_ie[2 * 2 + 1] = NAN;
    nan_ue[1 * 2 + 0] = INFINITY;
    memset(ue3, 0, sizeof ue3);

    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), bad_users, 2, 3, NULL, IRLLREC_E_INVALID_ARG,
                   "users[1] = 99 not in [0, 3)");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), neg, 1, 3, NULL, IRLLREC_E_INVALID_ARG, "users[0] = -2");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), NULL, 2, 3, NULL, IRLLREC_E_INVALID_ARG, "users is NULL");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, -1, 3, NULL, IRLLREC_E_INVALID_ARG, "count -1");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 0, NULL, IRLLREC_E_INVALID_ARG, "k = 0 is not");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, -4, NULL, IRLLREC_E_INVALID_ARG, "k = -4");
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, IRLLREC_RANK_MAX_K + 1, NULL,
                   IRLLREC_E_INVALID_ARG, "k = 100001");
    expect_refused(ctx, rfx_ue_m(), irllrec_cmat_dense(nan_ie, 5, 2), users, 2, 3, NULL,
                   IRLLREC_E_NUMERIC, "item_emb[2][1] is not finite");
    expect_refused(ctx, irllrec_cmat_dense(nan_ue, 3, 2), rfx_ie_m(), users, 2, 3, NULL,
                   IRLLREC_E_NUMERIC, "user_emb[1][0] is not finite");
    expect_refused(ctx, irllrec_cmat_dense(ue3, 3, 3), rfx_ie_m(), users, 2, 3, NULL,
                   IRLLREC_E_SHAPE, "user_emb.cols = 3 != item_emb.cols = 2");
    expect_refused(ctx, irllrec_cmat_dense(NULL, 3, 2), rfx_ie_m(), users, 2, 3, NULL,
                   IRLLREC_E_INVALID_ARG, "user_emb.data is NULL");

    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &bad;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->seen.indptr decreases at row 1");
    o.seen = &wrong;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_SHAPE,
                   "opts->seen is 2 x 5, expected 3 x 5");
    o.seen = &out;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "indices[2] = 5 not in [0, 5)");
    irllrec_rank_opts_init(&o, sizeof o);
    o.allow = ids7, o.n_allow = 2;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->allow[1] = 7 not in [0, 5)");
    irllrec_rank_opts_init(&o, sizeof o);
    o.deny = neg, o.n_deny = 1;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->deny[0] = -2");
    o.deny = NULL, o.n_deny = 3;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->deny is NULL with opts->n_deny = 3");
    irllrec_rank_opts_init(&o, sizeof o);
    o.allow = users, o.n_allow = -1;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->n_allow = -1 < 0");
    irllrec_rank_opts_init(&o, sizeof o);
    o.flags = 0x10;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_INVALID_ARG,
                   "opts->flags = 0x10 has unknown bits");
    o.struct_size = 0;
    expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, IRLLREC_E_VERSION, "struct_size 0");
    {
        int32_t cnt[2];
        float sc[6];
        ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, NULL, NULL, sc, cnt),
                         IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "ids is NULL"));
        ck_assert_int_eq(irllrec_recommend(NULL, rfx_ue_m(), rfx_ie_m(), users, 2, 3, NULL, NULL, sc,
                                           cnt),
                         IRLLREC_E_INVALID_ARG);
    }
    /* Only the rows asked about are read, so only they are checked: a bad
     * index in u2's seen row fails a call for u2, not one for u0 and u1. */
    {
        const int32_t bad2[4] = {0, 3, 1, 9};
        const int64_t p2[4] = {0, 1, 3, 4};
        const int32_t u2 = 2;
        irllrec_csr s2 = tu_csr(3, 5, p2, bad2);
        int32_t ids[6];
        irllrec_rank_opts_init(&o, sizeof o);
        o.seen = &s2;
        ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 3, &o, ids, NULL, NULL),
                         IRLLREC_OK);
        expect_refused(ctx, rfx_ue_m(), rfx_ie_m(), &u2, 1, 3, &o, IRLLREC_E_INVALID_ARG,
                       "opts->seen row 2: indices[3] = 9 not in [0, 5)");
    }
    /* A NaN in a user nobody asked for does not fail the call. */
    {
        int32_t ids[3];
        const int32_t u2 = 2;
        ck_assert_int_eq(irllrec_recommend(ctx, irllrec_cmat_dense(nan_ue, 3, 2), rfx_ie_m(), &u2, 1,
                                           3, NULL, ids, NULL, NULL),
                         IRLLREC_OK);
        ck_assert_int_eq(ids[0], 0);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(hostile_inputs_of_rank_and_similar)
{
    irllrec_ctx *ctx = tu_ctx();
    float buf[16];
    int32_t ids[16], cnt[2];
    float sc[16];
    const int32_t rows[2] = {0, 5};
    /* similar: a row id out of range. */
    rfx_fill(ids, sc, cnt, 16, 2);
    ck_assert_int_eq(irllrec_similar(ctx, rfx_ie_m(), rows, 2, 2, NULL, ids, sc, cnt),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "irllrec_similar: rows[1] = 5"));
    rfx_assert_untouched(ids, sc, cnt, 16, 2);
    /* rank: Inf in a query. */
    memcpy(buf, rfx_UE, sizeof rfx_UE);
    buf[5] = -INFINITY;
    ck_assert_int_eq(irllrec_rank(ctx, irllrec_cmat_dense(buf, 3, 2), rfx_ie_m(), 2, NULL, ids, sc,
                                  cnt),
                     IRLLREC_E_NUMERIC);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "queries[2][1] is not finite"));
    rfx_assert_untouched(ids, sc, cnt, 16, 2);
    /* rank: scores written over the candidates they are computed from. */
    memcpy(buf, rfx_IE, sizeof rfx_IE);
    ck_assert_int_eq(irllrec_rank(ctx, rfx_ue_m(), irllrec_cmat_dense(buf, 5, 2), 2, NULL, ids, buf,
                                  NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "scores overlaps candidates"));
    ck_assert(memcmp(buf, rfx_IE, sizeof rfx_IE) == 0);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Every allocation of a call failing in turn: E_NOMEM, outputs untouched,
 * nothing leaked; then the call succeeds. Returns how many failed. */
static int64_t fail_each_allocation(irllrec_ctx *ctx, tu_alloc_state *st)
{
    irllrec_csr seen = tu_csr(3, 5, rfx_SEEN_P, rfx_SEEN_I);
    irllrec_rank_opts o;
    const int32_t users[3] = {2, 0, 1}, deny[1] = {4};
    int32_t ids[9], cnt[3];
    float sc[9];
    int64_t base_live, n_failed = 0;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen, o.deny = deny, o.n_deny = 1, o.flags = IRLLREC_RANK_COSINE;
    base_live = st->live_bytes;
    for (int64_t fail = 1; fail < 100; fail++) {
        irllrec_status s;
        st->fail_at = st->n_alloc + fail; /* the call's fail-th allocation */
        rfx_fill(ids, sc, cnt, 9, 3);
        s = irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 3, 3, &o, ids, sc, cnt);
        st->fail_at = 0;
        ck_assert_int_eq(st->live_bytes, base_live);
        if (s == IRLLREC_OK) break;
        n_failed++;
        ck_assert_int_eq(s, IRLLREC_E_NOMEM);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "irllrec_recommend: allocation"));
        rfx_assert_untouched(ids, sc, cnt, 9, 3);
    }
    /* The successful last pass: u2 by cosine without i4 (denied): i2 (1),
     * i0 (4 / sqrt 20 = 0.894), i1 (3 / sqrt 10 = 0.949) -> i2, i1, i0. */
    rfx_assert_ids(ids + 0, (const int32_t[]){2, 1, 0}, 3);
    return n_failed;
}

START_TEST(allocation_failures_leave_outputs_untouched)
{
    tu_alloc_state st;
    irllrec_ctx *ctx;
    memset(&st, 0, sizeof st);
    ctx = tu_ctx_counting(&st);
    ck_assert_ptr_nonnull(ctx);
    /* Cosine with a deny list and seen items allocates packed rows, row
     * ids, the selections, their keys, the exclusion lists, the exclusion
     * bits, the normalised candidates and the packed panels: eight buffers
     * (the fused scorer writes no score block; three queries are too few
     * for the AMX path on its own). */
    ck_assert_int_eq(fail_each_allocation(ctx, &st), 8);
    /* The AMX path, where the CPU has it, adds its per-worker scratch. */
    if (irllrec__rank_isa(NULL) == IRLLREC__ISA_AMX) {
        ck_assert_int_eq(irllrec__ctx_set_rank_path(ctx, IRLLREC__ISA_AMX, IRLLREC__SCORE_FUSED),
                         IRLLREC_OK);
        ck_assert_int_eq(fail_each_allocation(ctx, &st), 9);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *rank_refuse_suite(void)
{
    Suite *s = suite_create("rank_refuse");
    TCase *tc = tcase_create("rank_refuse");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, hostile_inputs_refused_without_output);
    tcase_add_test(tc, hostile_inputs_of_rank_and_similar);
    tcase_add_test(tc, allocation_failures_leave_outputs_untouched);
    suite_add_tcase(s, tc);
    return s;
}
