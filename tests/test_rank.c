/* Ranking (rank.h): hand-computed top-K with seen items, allow/deny lists,
 * ties, K above the candidates and users with nothing left; cosine similar
 * items; thread- and block-count independence and a naive reference on
 * random data; the evaluator's agreement; embedding export. Hostile inputs
 * and allocation failures are in test_rank_refuse.c.
 *
 * The small cases use d = 2 embeddings with small integers, so every score
 * is an exact float and the expected lists below are worked out by hand
 * (the problem: helpers/rankfx.h). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "serve/rank_impl.h"
#include "helpers/testutil.h"
#include "helpers/rankfx.h"

static void assert_row(const int32_t *ids, const float *sc, const int32_t *want_ids,
                       const float *want_sc, int32_t k)
{
    for (int32_t j = 0; j < k; j++) {
        ck_assert_msg(ids[j] == want_ids[j], "slot %d: id %d, want %d", j, ids[j], want_ids[j]);
        ck_assert_msg(sc[j] == want_sc[j], "slot %d: score %g, want %g", j, sc[j], want_sc[j]);
    }
}

START_TEST(seen_items_excluded_and_ties_by_lower_id)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_csr seen = tu_csr(3, 5, rfx_SEEN_P, rfx_SEEN_I);
    irllrec_rank_opts o;
    const int32_t users[3] = {2, 0, 1};
    int32_t ids[9], cnt[3];
    float sc[9];
    /* u2 nothing seen: i0 4, i2 4, i1 3. u0 without i0: i2 2, i4 2, i1 1.
     * u1 without i3, i1: i2 2, i0 1, i4 0. */
    const int32_t w_ids[9] = {0, 2, 1, 2, 4, 1, 2, 0, 4};
    const float w_sc[9] = {4, 4, 3, 2, 2, 1, 2, 1, 0};
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen;
    rfx_fill(ids, sc, cnt, 9, 3);
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 3, 3, &o, ids, sc, cnt),
                     IRLLREC_OK);
    for (int q = 0; q < 3; q++) {
        assert_row(ids + 3 * q, sc + 3 * q, w_ids + 3 * q, w_sc + 3 * q, 3);
        ck_assert_int_eq(cnt[q], 3);
    }
    /* INCLUDE_SEEN: u0's full order again starts i0 3, i2 2, i4 2. */
    o.flags = IRLLREC_RANK_INCLUDE_SEEN;
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users + 1, 1, 3, &o, ids, sc, NULL),
                     IRLLREC_OK);
    assert_row(ids, sc, (const int32_t[]){0, 2, 4}, (const float[]){3, 2, 2}, 3);
    /* All scores equal (a zero user): ids in ascending order. */
    {
        const float z[2] = {0, 0};
        ck_assert_int_eq(irllrec_rank(ctx, irllrec_cmat_dense(z, 1, 2), rfx_ie_m(), 4, NULL, ids,
                                      sc, cnt),
                         IRLLREC_OK);
        assert_row(ids, sc, (const int32_t[]){0, 1, 2, 3}, (const float[]){0, 0, 0, 0}, 4);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(allow_and_deny_lists)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_csr seen = tu_csr(3, 5, rfx_SEEN_P, rfx_SEEN_I);
    irllrec_rank_opts o;
    const int32_t u0 = 0, allow[4] = {4, 1, 4, 3}, deny[1] = {1};
    int32_t ids[3], cnt[1];
    float sc[3];
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen;
    /* u0: allowed {1, 3, 4} (4 twice), 1 denied, 0 seen anyway: i4 2, i3 0. */
    o.allow = allow, o.n_allow = 4, o.deny = deny, o.n_deny = 1;
    rfx_fill(ids, sc, cnt, 3, 1);
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), &u0, 1, 3, &o, ids, sc, cnt),
                     IRLLREC_OK);
    assert_row(ids, sc, (const int32_t[]){4, 3, -1}, (const float[]){2, 0, 0}, 3);
    ck_assert_int_eq(cnt[0], 2);
    /* Deny only: u0 without i0 (seen) and i1: i2 2, i4 2, i3 0. */
    o.allow = NULL, o.n_allow = 0;
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), &u0, 1, 3, &o, ids, sc, cnt),
                     IRLLREC_OK);
    assert_row(ids, sc, (const int32_t[]){2, 4, 3}, (const float[]){2, 2, 0}, 3);
    /* An empty allow list (non-NULL, n = 0) allows nothing. */
    o.allow = allow, o.n_allow = 0, o.deny = NULL, o.n_deny = 0;
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), &u0, 1, 3, &o, ids, sc, cnt),
                     IRLLREC_OK);
    assert_row(ids, sc, (const int32_t[]){-1, -1, -1}, (const float[]){0, 0, 0}, 3);
    ck_assert_int_eq(cnt[0], 0);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(k_above_candidates_and_nothing_left)
{
    irllrec_ctx *ctx = tu_ctx();
    /* u0 sees nothing, u1 has seen every item. */
    const int64_t p[4] = {0, 0, 5, 5};
    const int32_t ix[5] = {4, 0, 2, 1, 3};
    irllrec_csr seen = tu_csr(3, 5, p, ix);
    irllrec_rank_opts o;
    const int32_t users[2] = {0, 1};
    int32_t ids[14], cnt[2];
    float sc[14];
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen;
    rfx_fill(ids, sc, cnt, 14, 2);
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 2, 7, &o, ids, sc, cnt),
                     IRLLREC_OK);
    /* u0: all five (3, 2, 2, 1, 0), then two empty slots. */
    assert_row(ids, sc, (const int32_t[]){0, 2, 4, 1, 3, -1, -1},
               (const float[]){3, 2, 2, 1, 0, 0, 0}, 7);
    ck_assert_int_eq(cnt[0], 5);
    assert_row(ids + 7, sc + 7, (const int32_t[]){-1, -1, -1, -1, -1, -1, -1},
               (const float[]){0, 0, 0, 0, 0, 0, 0}, 7);
    ck_assert_int_eq(cnt[1], 0);
    /* Repeats in a seen row are harmless: u0 seen {2, 2, 0, 2} leaves
     * i4 2, i1 1, i3 0. */
    {
        const int64_t rp[4] = {0, 4, 4, 4};
        const int32_t ri[4] = {2, 2, 0, 2};
        irllrec_csr rep = tu_csr(3, 5, rp, ri);
        o.seen = &rep;
        ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), users, 1, 4, &o, ids, sc, cnt),
                         IRLLREC_OK);
        assert_row(ids, sc, (const int32_t[]){4, 1, 3, -1}, (const float[]){2, 1, 0, 0}, 4);
        ck_assert_int_eq(cnt[0], 3);
        o.seen = &seen;
    }
    /* n = 0 is a valid empty request: nothing is written. */
    rfx_fill(ids, sc, cnt, 14, 2);
    ck_assert_int_eq(irllrec_recommend(ctx, rfx_ue_m(), rfx_ie_m(), NULL, 0, 7, &o, ids, sc, cnt),
                     IRLLREC_OK);
    rfx_assert_untouched(ids, sc, cnt, 14, 2);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(cosine_similar_and_rank)
{
    irllrec_ctx *ctx = tu_ctx();
    /* r0 = (1,0), r1 = (0,1), r2 = (1,1), r3 = (2,0), r4 = (-1,0). From r0:
     * cos r3 = 1, r2 = 1/sqrt 2, r1 = 0, r4 = -1; itself never. From r3 the
     * same with r0 in r3's place: r0 1 is the best. */
    const float e[10] = {1, 0, 0, 1, 1, 1, 2, 0, -1, 0};
    const int32_t rows[2] = {0, 3};
    const float h = 0.70710678f;
    int32_t ids[8], cnt[2];
    float sc[8];
    ck_assert_int_eq(irllrec_similar(ctx, irllrec_cmat_dense(e, 5, 2), rows, 2, 4, NULL, ids,
                                     sc, cnt),
                     IRLLREC_OK);
    rfx_assert_ids(ids + 0, (const int32_t[]){3, 2}, 2);
    rfx_assert_ids(ids + 2, (const int32_t[]){1, 4}, 2);
    rfx_assert_ids(ids + 4, (const int32_t[]){0, 2}, 2);
    rfx_assert_ids(ids + 6, (const int32_t[]){1, 4}, 2);
    for (int q = 0; q < 2; q++) {
        ck_assert_float_eq_tol(sc[4 * q + 0], 1.0f, 1e-6f);
        ck_assert_float_eq_tol(sc[4 * q + 1], h, 1e-6f);
        ck_assert_float_eq_tol(sc[4 * q + 2], 0.0f, 1e-6f);
        ck_assert_float_eq_tol(sc[4 * q + 3], -1.0f, 1e-6f);
        ck_assert_int_eq(cnt[q], 4);
    }
    /* rank with COSINE: (3,4) against (1,0), (0,1), (3,4): 0.6, 0.8, 1. */
    {
        const float q[2] = {3, 4}, c[6] = {1, 0, 0, 1, 3, 4};
        irllrec_rank_opts o;
        irllrec_rank_opts_init(&o, sizeof o);
        o.flags = IRLLREC_RANK_COSINE;
        ck_assert_int_eq(irllrec_rank(ctx, irllrec_cmat_dense(q, 1, 2),
                                      irllrec_cmat_dense(c, 3, 2), 3, &o, ids, sc, NULL),
                         IRLLREC_OK);
        rfx_assert_ids(ids + 0, (const int32_t[]){2, 1, 0}, 3);
        ck_assert_float_eq_tol(sc[0], 1.0f, 1e-6f);
        ck_assert_float_eq_tol(sc[1], 0.8f, 1e-6f);
        ck_assert_float_eq_tol(sc[2], 0.6f, 1e-6f);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- random problems ------------------------------------------------------ */

#define RU 500
#define RI 300
#define RK 20

static uint64_t mix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct problem {
    int64_t d;
    float *ue, *ie;
    int64_t *sp;
    int32_t *si;
    irllrec_csr seen;
    int32_t deny[7];
} problem;

/* Random users, items and seen rows (0..29 items per user, unsorted, no
 * repeats). quarter = 1: every value is a multiple of 1/4 in [-2, 2], so
 * every dot product is exact and any summation order gives the same float
 * (many ties); otherwise values are uniform in [-1, 1). */
static void make_problem(problem *p, int64_t d, int quarter, uint64_t seed)
{
    uint64_t x = seed;
    int64_t nnz = 0;
    p->d = d;
    p->ue = malloc((size_t)(RU * d) * sizeof(float));
    p->ie = malloc((size_t)(RI * d) * sizeof(float));
    p->sp = malloc((RU + 1) * sizeof(int64_t));
    p->si = malloc((size_t)RU * 30 * sizeof(int32_t));
    for (int64_t j = 0; j < RU * d; j++)
        p->ue[j] = quarter ? (float)((int)(mix(&x) % 17) - 8) / 4.0f
                           : (float)((double)(mix(&x) >> 11) * 0x1.0p-52 - 1.0);
    for (int64_t j = 0; j < RI * d; j++)
        p->ie[j] = quarter ? (float)((int)(mix(&x) % 17) - 8) / 4.0f
                           : (float)((double)(mix(&x) >> 11) * 0x1.0p-52 - 1.0);
    p->sp[0] = 0;
    for (int64_t u = 0; u < RU; u++) {
        int32_t n = (int32_t)(mix(&x) % 30);
        for (int32_t a = 0; a < n; a++) {
            int32_t it = (int32_t)(mix(&x) % RI), dup = 0;
            for (int64_t q = p->sp[u]; q < nnz; q++) dup |= p->si[q] == it;
            if (!dup) p->si[nnz++] = it;
        }
        p->sp[u + 1] = nnz;
    }
    p->seen = tu_csr(RU, RI, p->sp, p->si);
    for (int j = 0; j < 7; j++) p->deny[j] = (int32_t)(mix(&x) % RI);
}

static void free_problem(problem *p)
{
    free(p->ue), free(p->ie), free(p->sp), free(p->si);
}

/* Every user, ranked by the test itself: exact double scores (the quarter
 * problem makes them exact), a full sort by score descending, id ascending. */
typedef struct ref_item {
    double s;
    int32_t id;
} ref_item;

static int ref_cmp(const void *a, const void *b)
{
    const ref_item *x = (const ref_item *)a, *y = (const ref_item *)b;
    if (x->s != y->s) return x->s > y->s ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void naive(const problem *p, int32_t *ids, float *sc, int32_t *cnt)
{
    ref_item it[RI];
    for (int64_t u = 0; u < RU; u++) {
        int n = 0;
        for (int32_t i = 0; i < RI; i++) {
            int out = 0;
            double s = 0.0;
            for (int64_t q = p->sp[u]; q < p->sp[u + 1]; q++) out |= p->si[q] == i;
            for (int j = 0; j < 7; j++) out |= p->deny[j] == i;
            if (out) continue;
            for (int64_t c = 0; c < p->d; c++)
                s += (double)p->ue[u * p->d + c] * (double)p->ie[i * p->d + c];
            it[n].s = s;
            it[n++].id = i;
        }
        qsort(it, (size_t)n, sizeof it[0], ref_cmp);
        for (int j = 0; j < RK; j++) {
            ids[u * RK + j] = j < n ? it[j].id : -1;
            sc[u * RK + j] = j < n ? (float)it[j].s : 0.0f;
        }
        cnt[u] = n < RK ? n : RK;
    }
}

/* rank over all users with explicit block size through the internal entry. */
static irllrec_status rank_blocked(irllrec_ctx *ctx, const problem *p, uint32_t flags,
                                   int64_t block, int32_t *ids, float *sc, int32_t *cnt)
{
    irllrec__rank_call c;
    irllrec_rank_opts o;
    irllrec_rank_opts_init(&o, sizeof o);
    o.flags = flags;
    o.seen = &p->seen;
    o.deny = p->deny, o.n_deny = 7;
    memset(&c, 0, sizeof c);
    c.func = "test";
    c.q_name = "queries", c.c_name = "candidates", c.ids_name = "queries";
    c.q = irllrec_cmat_dense(p->ue, RU, p->d);
    c.c = irllrec_cmat_dense(p->ie, RI, p->d);
    c.n = RU;
    c.k = RK;
    return irllrec__rank_exec(ctx, &c, &o, block, ids, sc, cnt);
}

START_TEST(matches_naive_reference)
{
    problem p;
    int32_t *ids = malloc(RU * RK * sizeof(int32_t)), *wid = malloc(RU * RK * sizeof(int32_t));
    float *sc = malloc(RU * RK * sizeof(float)), *wsc = malloc(RU * RK * sizeof(float));
    int32_t cnt[RU], wcnt[RU];
    irllrec_ctx *ctx = tu_ctx_threads(3);
    make_problem(&p, 8, 1, 11);
    naive(&p, wid, wsc, wcnt);
    ck_assert_int_eq(rank_blocked(ctx, &p, 0, 16, ids, sc, cnt), IRLLREC_OK);
    for (int64_t j = 0; j < RU * RK; j++) {
        ck_assert_msg(ids[j] == wid[j], "user %lld slot %lld: %d, want %d", (long long)(j / RK),
                      (long long)(j % RK), ids[j], wid[j]);
        ck_assert(sc[j] == wsc[j]);
    }
    for (int64_t u = 0; u < RU; u++) ck_assert_int_eq(cnt[u], wcnt[u]);
    free_problem(&p);
    free(ids), free(wid), free(sc), free(wsc);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(same_bits_for_any_thread_count)
{
    problem p;
    const size_t n = RU * RK;
    int32_t *ids[3], cnt[3][RU];
    float *sc[3];
    make_problem(&p, 16, 0, 5);
    for (uint32_t flags = 0; flags <= IRLLREC_RANK_COSINE; flags += IRLLREC_RANK_COSINE) {
        for (int64_t block = 0; block <= 16; block += 16) {
            for (int t = 0; t < 3; t++) {
                irllrec_ctx *ctx = tu_ctx_threads(t + 1);
                ids[t] = malloc(n * sizeof(int32_t));
                sc[t] = malloc(n * sizeof(float));
                ck_assert_int_eq(rank_blocked(ctx, &p, flags, block, ids[t], sc[t], cnt[t]),
                                 IRLLREC_OK);
                irllrec_ctx_free(ctx);
            }
            for (int t = 1; t < 3; t++) {
                ck_assert(memcmp(ids[0], ids[t], n * sizeof(int32_t)) == 0);
                ck_assert(memcmp(sc[0], sc[t], n * sizeof(float)) == 0);
                ck_assert(memcmp(cnt[0], cnt[t], sizeof cnt[0]) == 0);
            }
            for (int t = 0; t < 3; t++) free(ids[t]), free(sc[t]);
        }
    }
    free_problem(&p);
}
END_TEST

/* Recommendations and the evaluator rank with the same kernel: Recall@20
 * computed from irllrec_recommend's lists equals the evaluator's. */
START_TEST(agrees_with_the_evaluator)
{
    problem p;
    int32_t *ids = malloc(RU * RK * sizeof(int32_t)), *users = malloc(RU * sizeof(int32_t));
    int64_t tp[RU + 1];
    int32_t ti[RU];
    irllrec_csr truth, seen_sorted;
    irllrec_rank_opts o;
    irllrec_evaluator *ev = NULL;
    irllrec_ctx *ctx = tu_ctx_threads(2);
    const int32_t ks[1] = {RK};
    double rec = 0, nd = 0, sum = 0;
    int64_t n_eval = 0;
    make_problem(&p, 16, 0, 9);
    /* The evaluator wants sorted mask rows. */
    for (int64_t u = 0; u < RU; u++) {
        int32_t *r = p.si + p.sp[u];
        int64_t m = p.sp[u + 1] - p.sp[u];
        for (int64_t a = 1; a < m; a++)
            for (int64_t b = a; b > 0 && r[b - 1] > r[b]; b--) {
                int32_t t = r[b];
                r[b] = r[b - 1], r[b - 1] = t;
            }
    }
    seen_sorted = p.seen;
    /* One held-out item per user: the lowest id not seen. */
    tp[0] = 0;
    for (int64_t u = 0; u < RU; u++) {
        int32_t i = 0;
        while (irllrec__sorted_contains(p.si + p.sp[u], p.sp[u + 1] - p.sp[u], i)) i++;
        ti[u] = i;
        tp[u + 1] = u + 1;
        users[u] = (int32_t)u;
    }
    truth = tu_csr(RU, RI, tp, ti);
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &seen_sorted;
    ck_assert_int_eq(irllrec_recommend(ctx, irllrec_cmat_dense(p.ue, RU, 16),
                                       irllrec_cmat_dense(p.ie, RI, 16), users, RU, RK, &o, ids,
                                       NULL, NULL),
                     IRLLREC_OK);
    for (int64_t u = 0; u < RU; u++)
        for (int j = 0; j < RK; j++) sum += ids[u * RK + j] == ti[u];
    ck_assert_int_eq(irllrec_evaluator_create(ctx, RI, ks, 1, &ev), IRLLREC_OK);
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(p.ue, RU, 16),
                                           irllrec_mat_dense(p.ie, RI, 16), &seen_sorted, &truth,
                                           &rec, &nd, &n_eval),
                     IRLLREC_OK);
    ck_assert_int_eq(n_eval, RU);
    ck_assert(sum > 0);
    ck_assert_double_eq_tol(rec, sum / RU, 1e-12);
    irllrec_evaluator_free(ev);
    free_problem(&p);
    free(ids), free(users);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- export ------------------------------------------------------------------ */

START_TEST(export_embeddings_round_trip_and_bad_names)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[512], *tsv;
    const int64_t ext[5] = {10, 20, 30, 40, 9000000000LL};
    float back[10];
    char long_name[66];
    const char *bad[] = {"../x", "", ".hidden", "a/b", "sp ace", long_name};
    ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, "items", rfx_ie_m(), ext), IRLLREC_OK);
    tu_join(path, sizeof path, dir, "items.npy");
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(back, 5, 2), 0), IRLLREC_OK);
    ck_assert(memcmp(back, rfx_IE, sizeof rfx_IE) == 0);
    tu_join(path, sizeof path, dir, "items.ids.tsv");
    tsv = tu_slurp(path, NULL);
    ck_assert_str_eq(tsv, "row\tid\n0\t10\n1\t20\n2\t30\n3\t40\n4\t9000000000\n");
    free(tsv);
    ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, "u-1.v2_x", rfx_ue_m(), NULL), IRLLREC_OK);
    tu_join(path, sizeof path, dir, "u-1.v2_x.ids.tsv");
    tsv = tu_slurp(path, NULL);
    ck_assert_str_eq(tsv, "row\tid\n0\t0\n1\t1\n2\t2\n");
    free(tsv);
    ck_assert_int_eq(tu_count_entries(dir), 4);
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
        ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, bad[j], rfx_ie_m(), NULL),
                         IRLLREC_E_INVALID_ARG);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "irllrec_export_embeddings: name"));
    }
    ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, NULL, rfx_ie_m(), NULL),
                     IRLLREC_E_INVALID_ARG);
    /* 64 characters is the limit, not past it. */
    long_name[64] = '\0';
    ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, long_name, rfx_ie_m(), NULL), IRLLREC_OK);
    {
        float nan_e[10];
        memcpy(nan_e, rfx_IE, sizeof rfx_IE);
        nan_e[7] = NAN;
        ck_assert_int_eq(irllrec_export_embeddings(ctx, dir, "nan", irllrec_cmat_dense(nan_e, 5, 2),
                                                   NULL),
                         IRLLREC_E_NUMERIC);
        ck_assert_ptr_nonnull(strstr(irllrec_ctx_errmsg(ctx), "emb[3][1] is not finite"));
    }
    tu_join(path, sizeof path, dir, "missing");
    ck_assert_int_eq(irllrec_export_embeddings(ctx, path, "x", rfx_ie_m(), NULL), IRLLREC_E_IO);
    /* Nothing but the three exports' files: no temporaries, no "nan" files. */
    ck_assert_int_eq(tu_count_entries(dir), 6);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *rank_suite(void)
{
    Suite *s = suite_create("rank");
    TCase *tc = tcase_create("rank");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, seen_items_excluded_and_ties_by_lower_id);
    tcase_add_test(tc, allow_and_deny_lists);
    tcase_add_test(tc, k_above_candidates_and_nothing_left);
    tcase_add_test(tc, cosine_similar_and_rank);
    tcase_add_test(tc, matches_naive_reference);
    tcase_add_test(tc, same_bits_for_any_thread_count);
    tcase_add_test(tc, agrees_with_the_evaluator);
    tcase_add_test(tc, export_embeddings_round_trip_and_bad_names);
    suite_add_tcase(s, tc);
    return s;
}
