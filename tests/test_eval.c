/* Evaluator: hand-computed Recall/NDCG (ties, masks, short truth lists,
 * K > items, NaN), a brute-force reference on random data, thread-count and
 * block-size independence, strided views, bad inputs, no steady-state
 * allocation. Scores are set exactly through one-hot user embeddings:
 * user u = e_u, item i = column i of the wanted score table, so every
 * product is x * 1 or x * 0 and the table comes back bit for bit. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "eval/evaluator.h"
#include "helpers/testutil.h"

#define TOL 1e-12
#define LOG2_3 1.5849625007211562  /* log2(3) */
#define LOG2_6 2.584962500721156   /* log2(6) */

/* user_emb = I (nu x nu), item_emb[i][u] = S[u][i] (ni x nu). */
static void embed(const float *S, int64_t nu, int64_t ni, float **ue, float **ie)
{
    *ue = (float *)calloc((size_t)(nu * nu), sizeof(float));
    *ie = (float *)calloc((size_t)(ni * nu), sizeof(float));
    for (int64_t u = 0; u < nu; u++) {
        (*ue)[u * nu + u] = 1.0f;
        for (int64_t i = 0; i < ni; i++) (*ie)[i * nu + u] = S[u * ni + i];
    }
}

/* Run an evaluation of score table S (nu x ni). */
static irllrec_status run_table(irllrec_ctx *ctx, const float *S, int64_t nu, int64_t ni,
                                const irllrec_csr *mask, const irllrec_csr *truth,
                                const int32_t *ks, int32_t n_ks, double *rec, double *nd,
                                int64_t *n_eval)
{
    irllrec_evaluator *ev = NULL;
    float *ue, *ie;
    irllrec_status st;
    ck_assert_int_eq(irllrec_evaluator_create(ctx, ni, ks, n_ks, &ev), IRLLREC_OK);
    embed(S, nu, ni, &ue, &ie);
    st = irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu), irllrec_mat_dense(ie, ni, nu),
                               mask, truth, rec, nd, n_eval);
    free(ue);
    free(ie);
    irllrec_evaluator_free(ev);
    return st;
}

START_TEST(hand_computed_ties_and_short_truth)
{
    /* One user, scores by item: 0:.1 1:.9 2:.5 3:.9 4:.3 5:.7, truth {3, 4}.
     * Ranking (ties to the lower id): 1, 3, 5, 2, 4, 0. Hits at ranks 2 and 5
     * (1-based). IDCG@k>=2 = 1 + 1/log2(3).
     *   K=1: no hit -> R 0, N 0  (a higher-id-first tie rule would give R .5)
     *   K=2: R 1/2, N (1/log2 3) / (1 + 1/log2 3)
     *   K=3: same as K=2
     *   K=5: R 1,   N (1/log2 3 + 1/log2 6) / (1 + 1/log2 3)        */
    const float S[6] = {0.1f, 0.9f, 0.5f, 0.9f, 0.3f, 0.7f};
    const int64_t tp[2] = {0, 2};
    const int32_t ti[2] = {3, 4};
    const int32_t ks[4] = {1, 2, 3, 5};
    irllrec_csr truth = tu_csr(1, 6, tp, ti);
    irllrec_ctx *ctx = tu_ctx();
    double r[4], n[4], idcg = 1.0 + 1.0 / LOG2_3;
    int64_t ne = -1;
    ck_assert_int_eq(run_table(ctx, S, 1, 6, NULL, &truth, ks, 4, r, n, &ne), IRLLREC_OK);
    ck_assert_int_eq(ne, 1);
    ck_assert_double_eq_tol(r[0], 0.0, TOL);
    ck_assert_double_eq_tol(n[0], 0.0, TOL);
    ck_assert_double_eq_tol(r[1], 0.5, TOL);
    ck_assert_double_eq_tol(n[1], (1.0 / LOG2_3) / idcg, TOL);
    ck_assert_double_eq_tol(r[2], 0.5, TOL);
    ck_assert_double_eq_tol(n[2], (1.0 / LOG2_3) / idcg, TOL);
    ck_assert_double_eq_tol(r[3], 1.0, TOL);
    ck_assert_double_eq_tol(n[3], (1.0 / LOG2_3 + 1.0 / LOG2_6) / idcg, TOL);
    {
        /* Ties met after the top-K list is full: scores 0,0,0,5,0, K = 3,
         * truth {1}. Ranking 3, 0, 1, 2, 4: item 1 is third even though item 4
         * (same score, higher id) is seen after 5 has evicted item 2.
         * R@3 = 1, N@3 = (1/log2 4) / 1 = .5. */
        const float S2[5] = {0, 0, 0, 5, 0};
        const int64_t tp2[2] = {0, 1};
        const int32_t ti2[1] = {1}, k3[1] = {3};
        irllrec_csr t2 = tu_csr(1, 5, tp2, ti2);
        ck_assert_int_eq(run_table(ctx, S2, 1, 5, NULL, &t2, k3, 1, r, n, &ne), IRLLREC_OK);
        ck_assert_double_eq_tol(r[0], 1.0, TOL);
        ck_assert_double_eq_tol(n[0], 0.5, TOL);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(hand_computed_mask_and_skipped_users)
{
    /* 3 users x 5 items, scores 5,4,3,2,1 for items 0..4 for every user.
     * user 0: mask {0,1} (would rank first), truth {2} -> ranking 2,3,4:
     *         R@1 = 1, N@1 = 1; R@3 = 1, N@3 = 1.
     * user 1: no truth -> skipped (its mask is irrelevant).
     * user 2: no mask, truth {0, 4} -> ranking 0..4; hits at ranks 1 and 5.
     *         R@1 = 1/2, N@1 = 1/1 = 1 (IDCG over min(1,2) = 1 position);
     *         R@3 = 1/2, N@3 = 1 / (1 + 1/log2 3).
     * Means over 2 evaluated users. */
    const float S[15] = {5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5, 4, 3, 2, 1};
    const int64_t mp[4] = {0, 2, 3, 3};
    const int32_t mi[3] = {0, 1, 4};
    const int64_t tp[4] = {0, 1, 1, 3};
    const int32_t ti[3] = {2, 0, 4};
    const int32_t ks[2] = {1, 3};
    irllrec_csr mask = tu_csr(3, 5, mp, mi), truth = tu_csr(3, 5, tp, ti);
    irllrec_ctx *ctx = tu_ctx();
    double r[2], n[2];
    int64_t ne = -1;
    ck_assert_int_eq(run_table(ctx, S, 3, 5, &mask, &truth, ks, 2, r, n, &ne), IRLLREC_OK);
    ck_assert_int_eq(ne, 2);
    ck_assert_double_eq_tol(r[0], (1.0 + 0.5) / 2, TOL);
    ck_assert_double_eq_tol(n[0], (1.0 + 1.0) / 2, TOL);
    ck_assert_double_eq_tol(r[1], (1.0 + 0.5) / 2, TOL);
    ck_assert_double_eq_tol(n[1], (1.0 + 1.0 / (1.0 + 1.0 / LOG2_3)) / 2, TOL);
    /* Without the mask, user 0's item 2 is third: R@1 = 0, R@3 = 1, N@3 = 1/log2(4) = .5. */
    ck_assert_int_eq(run_table(ctx, S, 3, 5, NULL, &truth, ks, 2, r, n, &ne), IRLLREC_OK);
    ck_assert_double_eq_tol(r[0], (0.0 + 0.5) / 2, TOL);
    ck_assert_double_eq_tol(n[1], (0.5 + 1.0 / (1.0 + 1.0 / LOG2_3)) / 2, TOL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(k_larger_than_items_and_nan)
{
    /* 1 user, 3 items, scores 1,2,3, mask {2}, truth {0}, K = 10:
     * candidates 1 (2.0), 0 (1.0): hit at rank 2 -> R 1, N = (1/log2 3) / 1. */
    const float S[3] = {1, 2, 3};
    const int64_t mp[2] = {0, 1}, tp[2] = {0, 1};
    const int32_t mi[1] = {2}, ti[1] = {0};
    const int32_t k10[1] = {10};
    irllrec_csr mask = tu_csr(1, 3, mp, mi), truth = tu_csr(1, 3, tp, ti);
    /* NaN ranks as -inf, ties by id: scores NaN, .5, NaN, .2, -inf, truth {0}:
     * ranking 1, 3, 0, 2, 4 (0, 2 and 4 tie at -inf) -> hit at rank 3:
     * R@3 = 1, N@3 = 1/log2(4) = .5; R@2 = 0. */
    const float S2[5] = {NAN, 0.5f, NAN, 0.2f, -INFINITY};
    const int64_t tp2[2] = {0, 1};
    const int32_t ti2[1] = {0};
    const int32_t ks2[3] = {2, 3, 5};
    irllrec_csr truth2 = tu_csr(1, 5, tp2, ti2);
    /* Truth item 4 (-inf) behind the NaN ones: rank 5 -> N@5 = 1/log2(6). */
    const int32_t ti3[1] = {4};
    irllrec_csr truth3 = tu_csr(1, 5, tp2, ti3);
    irllrec_ctx *ctx = tu_ctx();
    irllrec_evaluator *ev;
    float one = 1.0f;
    double r[3], n[3];
    ck_assert_int_eq(run_table(ctx, S, 1, 3, &mask, &truth, k10, 1, r, n, NULL), IRLLREC_OK);
    ck_assert_double_eq_tol(r[0], 1.0, TOL);
    ck_assert_double_eq_tol(n[0], 1.0 / LOG2_3, TOL);
    /* NaN can't go through the one-hot trick (NaN * 0 = NaN): d = 1, user = [1]. */
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 5, ks2, 3, &ev), IRLLREC_OK);
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(&one, 1, 1),
                                           irllrec_mat_dense((float *)S2, 5, 1), NULL, &truth2,
                                           r, n, NULL), IRLLREC_OK);
    ck_assert_double_eq_tol(r[0], 0.0, TOL);
    ck_assert_double_eq_tol(r[1], 1.0, TOL);
    ck_assert_double_eq_tol(n[1], 0.5, TOL);
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(&one, 1, 1),
                                           irllrec_mat_dense((float *)S2, 5, 1), NULL, &truth3,
                                           r, n, NULL), IRLLREC_OK);
    ck_assert_double_eq_tol(r[1], 0.0, TOL);
    ck_assert_double_eq_tol(r[2], 1.0, TOL);
    ck_assert_double_eq_tol(n[2], 1.0 / LOG2_6, TOL);
    irllrec_evaluator_free(ev);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(no_users_to_evaluate_gives_zeros)
{
    const float S[4] = {1, 2, 3, 4};
    const int64_t tp[3] = {0, 0, 0};
    const int32_t ks[1] = {2};
    irllrec_csr truth = tu_csr(2, 2, tp, NULL);
    irllrec_ctx *ctx = tu_ctx();
    double r[1] = {-1}, n[1] = {-1};
    int64_t ne = -1;
    ck_assert_int_eq(run_table(ctx, S, 2, 2, NULL, &truth, ks, 1, r, n, &ne), IRLLREC_OK);
    ck_assert_int_eq(ne, 0);
    ck_assert_double_eq(r[0], 0.0);
    ck_assert_double_eq(n[0], 0.0);
    irllrec_ctx_free(ctx);
}
END_TEST

/* ---- brute force on random data -------------------------------------- */

typedef struct rand_case {
    int64_t nu, ni;
    float *S;
    int64_t *mp, *tp;
    int32_t *mi, *ti;
} rand_case;

static uint64_t xs(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Scores from 4 levels so ties are everywhere; ~20% masked, ~17% truth,
 * some users without truth, some truth items also masked. */
static rand_case make_rand_levels(int64_t nu, int64_t ni, uint64_t seed, uint64_t levels)
{
    rand_case c;
    uint64_t x = seed;
    int64_t nm = 0, nt = 0;
    c.nu = nu;
    c.ni = ni;
    c.S = (float *)malloc((size_t)(nu * ni) * sizeof(float));
    c.mp = (int64_t *)malloc((size_t)(nu + 1) * sizeof(int64_t));
    c.tp = (int64_t *)malloc((size_t)(nu + 1) * sizeof(int64_t));
    c.mi = (int32_t *)malloc((size_t)(nu * ni) * sizeof(int32_t));
    c.ti = (int32_t *)malloc((size_t)(nu * ni) * sizeof(int32_t));
    c.mp[0] = c.tp[0] = 0;
    for (int64_t u = 0; u < nu; u++) {
        int no_truth = (xs(&x) % 7) == 0;
        for (int64_t i = 0; i < ni; i++) {
            c.S[u * ni + i] = (float)(xs(&x) % levels) * (2.0f / (float)levels) - 1.0f;
            if (xs(&x) % 5 == 0) c.mi[nm++] = (int32_t)i;
            if (!no_truth && xs(&x) % 6 == 0) c.ti[nt++] = (int32_t)i;
        }
        c.mp[u + 1] = nm;
        c.tp[u + 1] = nt;
    }
    return c;
}

static rand_case make_rand(int64_t nu, int64_t ni, uint64_t seed)
{
    return make_rand_levels(nu, ni, seed, 4);
}

static void free_rand(rand_case *c)
{
    free(c->S), free(c->mp), free(c->tp), free(c->mi), free(c->ti);
}

static const float *g_row;
static int cmp_rank(const void *a, const void *b)
{
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    if (g_row[i] != g_row[j]) return g_row[i] > g_row[j] ? -1 : 1;
    return (i > j) - (i < j);
}

/* Straight from the definitions: sort every unmasked item, count hits. */
static void brute(const rand_case *c, const int32_t *ks, int32_t n_ks, double *rec, double *nd,
                  int64_t *n_eval)
{
    int32_t *order = (int32_t *)malloc((size_t)c->ni * sizeof(int32_t));
    int64_t ne = 0;
    for (int32_t j = 0; j < n_ks; j++) rec[j] = nd[j] = 0.0;
    for (int64_t u = 0; u < c->nu; u++) {
        int64_t nt = c->tp[u + 1] - c->tp[u], m = 0;
        if (nt == 0) continue;
        ne++;
        for (int32_t i = 0; i < c->ni; i++) {
            int masked = 0;
            for (int64_t q = c->mp[u]; q < c->mp[u + 1]; q++) masked |= c->mi[q] == i;
            if (!masked) order[m++] = i;
        }
        g_row = c->S + u * c->ni;
        qsort(order, (size_t)m, sizeof order[0], cmp_rank);
        for (int32_t j = 0; j < n_ks; j++) {
            double hits = 0, dcg = 0, idcg = 0;
            for (int64_t r = 0; r < ks[j] && r < m; r++) {
                int hit = 0;
                for (int64_t q = c->tp[u]; q < c->tp[u + 1]; q++) hit |= c->ti[q] == order[r];
                if (hit) {
                    hits += 1;
                    dcg += 1.0 / log2((double)r + 2.0);
                }
            }
            for (int64_t r = 0; r < ks[j] && r < nt; r++) idcg += 1.0 / log2((double)r + 2.0);
            rec[j] += hits / (double)nt;
            nd[j] += dcg / idcg;
        }
    }
    for (int32_t j = 0; j < n_ks; j++) {
        rec[j] = ne ? rec[j] / (double)ne : 0.0;
        nd[j] = ne ? nd[j] / (double)ne : 0.0;
    }
    *n_eval = ne;
    free(order);
}

/* Shapes: few items and K = 100 (fewer 64-item chunks than K: no chunk
 * prefilter); many items with K <= 20 and 4 or 2 score levels (ties at every
 * cut-off, the prefilter bound equal to kept scores) or 1000 levels. */
START_TEST(matches_brute_force_for_any_threads_blocks_schedules)
{
    const struct {
        int64_t nu, ni;
        uint64_t levels, seed;
        int32_t ks[5];
    } cfg[] = {{41, 150, 4, 0x1234567u, {20, 1, 5, 100, 10}},
               {30, 2000, 4, 77u, {20, 1, 5, 3, 10}},
               {30, 2000, 1000, 78u, {20, 1, 5, 3, 10}},
               {25, 1500, 2, 79u, {2, 1, 5, 3, 10}}};
    for (size_t g = 0; g < sizeof cfg / sizeof cfg[0]; g++) {
        const int64_t nu = cfg[g].nu, ni = cfg[g].ni;
        const int32_t *ks = cfg[g].ks;
        rand_case c = make_rand_levels(nu, ni, cfg[g].seed, cfg[g].levels);
        irllrec_csr mask = tu_csr(nu, ni, c.mp, c.mi), truth = tu_csr(nu, ni, c.tp, c.ti);
        double br[5], bn[5], r0[5], n0[5];
        int64_t bne, ne;
        float *ue, *ie;
        brute(&c, ks, 5, br, bn, &bne);
        ck_assert_int_gt(bne, nu / 2);
        ck_assert_int_lt(bne, nu);
        embed(c.S, nu, ni, &ue, &ie);
        /* Sums run per block, so the block size may move the last bit; for a
         * given block size, thread count and schedule must not. */
        for (int b = 0; b < 3; b++) {
            const int64_t blocks[3] = {0, 1, 7};
            for (int32_t th = 1; th <= 3; th++) {
                for (int32_t mode = 0; mode <= 1; mode++) {
                    irllrec_ctx *ctx = tu_ctx_threads(th);
                    irllrec_evaluator *ev;
                    double r[5], n[5];
                    ck_assert_int_eq(irllrec_evaluator_create(ctx, ni, ks, 5, &ev), IRLLREC_OK);
                    ck_assert_int_eq(irllrec__evaluator_set_block(ev, blocks[b]), IRLLREC_OK);
                    ck_assert_int_eq(irllrec__evaluator_set_mode(ev, mode), IRLLREC_OK);
                    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu),
                                                           irllrec_mat_dense(ie, ni, nu), &mask,
                                                           &truth, r, n, &ne), IRLLREC_OK);
                    ck_assert_int_eq(ne, bne);
                    for (int j = 0; j < 5; j++)
                        ck_assert_msg(fabs(r[j] - br[j]) < 1e-12 && fabs(n[j] - bn[j]) < 1e-12,
                                      "cfg %zu block %d threads %d mode %d k %d: recall %.15g "
                                      "vs %.15g, ndcg %.15g vs %.15g", g, b, (int)th, (int)mode,
                                      (int)ks[j], r[j], br[j], n[j], bn[j]);
                    if (th == 1 && mode == 0) {
                        memcpy(r0, r, sizeof r);
                        memcpy(n0, n, sizeof n);
                    } else {
                        ck_assert_mem_eq(r, r0, sizeof r);
                        ck_assert_mem_eq(n, n0, sizeof n);
                    }
                    irllrec_evaluator_free(ev);
                    irllrec_ctx_free(ctx);
                }
            }
        }
        free(ue);
        free(ie);
        free_rand(&c);
    }
}
END_TEST

START_TEST(strided_views_match_dense)
{
    /* The same embeddings inside wider rows (ld = cols + 3) whose padding
     * holds NaN: identical results, and the padding never leaks in. */
    const int64_t nu = 23, ni = 41, pad = 3;
    const int32_t ks[2] = {3, 10};
    rand_case c = make_rand(nu, ni, 99u);
    irllrec_csr mask = tu_csr(nu, ni, c.mp, c.mi), truth = tu_csr(nu, ni, c.tp, c.ti);
    float *ue, *ie, *ue2, *ie2;
    irllrec_ctx *ctx = tu_ctx_threads(2);
    irllrec_evaluator *ev;
    irllrec_mat um, im;
    double r[2], n[2], r2[2], n2[2];
    embed(c.S, nu, ni, &ue, &ie);
    ue2 = (float *)malloc((size_t)(nu * (nu + pad)) * sizeof(float));
    ie2 = (float *)malloc((size_t)(ni * (nu + pad)) * sizeof(float));
    for (int64_t k = 0; k < nu * (nu + pad); k++) ue2[k] = NAN;
    for (int64_t k = 0; k < ni * (nu + pad); k++) ie2[k] = NAN;
    for (int64_t u = 0; u < nu; u++) memcpy(ue2 + u * (nu + pad), ue + u * nu, (size_t)nu * 4);
    for (int64_t i = 0; i < ni; i++) memcpy(ie2 + i * (nu + pad), ie + i * nu, (size_t)nu * 4);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, ni, ks, 2, &ev), IRLLREC_OK);
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu),
                                           irllrec_mat_dense(ie, ni, nu), &mask, &truth, r, n,
                                           NULL), IRLLREC_OK);
    um.data = ue2, um.rows = nu, um.cols = nu, um.ld = nu + pad;
    im.data = ie2, im.rows = ni, im.cols = nu, im.ld = nu + pad;
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, &mask, &truth, r2, n2, NULL), IRLLREC_OK);
    ck_assert_mem_eq(r, r2, sizeof r);
    ck_assert_mem_eq(n, n2, sizeof n);
    ck_assert(r[1] > 0.0);
    irllrec_evaluator_free(ev);
    irllrec_ctx_free(ctx);
    free(ue), free(ie), free(ue2), free(ie2);
    free_rand(&c);
}
END_TEST

START_TEST(bad_inputs_rejected)
{
    float ue[6] = {1, 0, 0, 1, 1, 1}, ie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int64_t tp[4] = {0, 1, 1, 2}, tp_bad0[4] = {1, 1, 1, 2}, tp_dec[4] = {0, 2, 1, 2};
    const int32_t ti[2] = {3, 0}, ti_range[2] = {4, 0}, ks[2] = {2, 1};
    const int64_t tp_uns[4] = {0, 2, 2, 2};
    const int32_t ti_uns[2] = {3, 1}, ti_dup[2] = {1, 1};
    const int32_t ks_bad0[1] = {0}, ks_big[1] = {IRLLREC_EVAL_MAX_K + 1};
    irllrec_csr truth = tu_csr(3, 4, tp, ti), t2;
    irllrec_mat um = irllrec_mat_dense(ue, 3, 2), im = irllrec_mat_dense(ie, 4, 2), bad;
    irllrec_ctx *ctx = tu_ctx();
    irllrec_evaluator *ev = (irllrec_evaluator *)1;
    double r[2], n[2];

    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, NULL, 1, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(ev);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, ks, 0, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, ks_bad0, 1, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, ks_big, 1, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "ks[0] = 1001") != NULL);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 0, ks, 2, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, ks, 2, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_create(NULL, 4, ks, 2, &ev), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, 4, ks, 2, &ev), IRLLREC_OK);

    ck_assert_int_eq(irllrec_evaluator_run(NULL, um, im, NULL, &truth, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, NULL, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_str_eq(irllrec_ctx_errmsg(ctx), "irllrec_evaluator_run: truth is NULL");
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &truth, NULL, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &truth, r, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    bad = um, bad.data = NULL;
    ck_assert_int_eq(irllrec_evaluator_run(ev, bad, im, NULL, &truth, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    bad = um, bad.ld = 1;
    ck_assert_int_eq(irllrec_evaluator_run(ev, bad, im, NULL, &truth, r, n, NULL), IRLLREC_E_SHAPE);
    /* d mismatch, item count mismatch, truth/mask rows != users, columns != items. */
    bad = irllrec_mat_dense(ue, 2, 3);
    ck_assert_int_eq(irllrec_evaluator_run(ev, bad, im, NULL, &truth, r, n, NULL), IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "user_emb.cols = 3 != item_emb.cols = 2") != NULL);
    bad = irllrec_mat_dense(ie, 3, 2);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, bad, NULL, &truth, r, n, NULL), IRLLREC_E_SHAPE);
    bad = irllrec_mat_dense(ue, 2, 2);
    ck_assert_int_eq(irllrec_evaluator_run(ev, bad, im, NULL, &truth, r, n, NULL), IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "truth is 3 x 4, expected 2 x 4") != NULL);
    t2 = truth, t2.n_cols = 5;
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL), IRLLREC_E_SHAPE);
    t2 = tu_csr(2, 4, tp, ti);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, &t2, &truth, r, n, NULL), IRLLREC_E_SHAPE);
    ck_assert(strstr(irllrec_ctx_errmsg(ctx), "mask is 2 x 4") != NULL);
    /* Malformed CSR content. */
    t2 = tu_csr(3, 4, tp, ti_range);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    t2 = tu_csr(3, 4, tp_bad0, ti);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    t2 = tu_csr(3, 4, tp_dec, ti);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    t2 = tu_csr(3, 4, tp_uns, ti_uns);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    t2 = tu_csr(3, 4, tp_uns, ti_dup);
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, &t2, &truth, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    t2 = truth, t2.indptr = NULL;
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &t2, r, n, NULL),
                     IRLLREC_E_INVALID_ARG);
    /* Still usable after all that. */
    ck_assert_int_eq(irllrec_evaluator_run(ev, um, im, NULL, &truth, r, n, NULL), IRLLREC_OK);
    irllrec_evaluator_free(ev);
    irllrec_evaluator_free(NULL);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(no_allocation_in_steady_state)
{
    const int64_t nu = 19, ni = 30;
    const int32_t ks[3] = {5, 10, 20};
    rand_case c = make_rand(nu, ni, 5u);
    irllrec_csr mask = tu_csr(nu, ni, c.mp, c.mi), truth = tu_csr(nu, ni, c.tp, c.ti);
    tu_alloc_state st;
    irllrec_ctx *ctx;
    irllrec_evaluator *ev = NULL;
    float *ue, *ie;
    double r[3], n[3];
    int64_t before;
    memset(&st, 0, sizeof st);
    ctx = tu_ctx_counting(&st);
    embed(c.S, nu, ni, &ue, &ie);
    ck_assert_int_eq(irllrec_evaluator_create(ctx, ni, ks, 3, &ev), IRLLREC_OK);
    /* The first run may size the packed block for this width; later ones must not allocate. */
    ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu),
                                           irllrec_mat_dense(ie, ni, nu), &mask, &truth, r, n,
                                           NULL), IRLLREC_OK);
    before = st.n_alloc;
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu),
                                               irllrec_mat_dense(ie, ni, nu), &mask, &truth, r,
                                               n, NULL), IRLLREC_OK);
    ck_assert_int_eq(st.n_alloc, before);
    irllrec_evaluator_free(ev);
    irllrec_ctx_free(ctx);
    ck_assert_int_eq(st.live_bytes, 0);
    /* Every allocation failure in create is reported and leaks nothing. */
    for (int64_t fail = 2; fail < 100; fail++) {
        irllrec_status s;
        memset(&st, 0, sizeof st);
        st.fail_at = fail;
        ctx = tu_ctx_counting(&st);
        ev = (irllrec_evaluator *)1;
        s = irllrec_evaluator_create(ctx, ni, ks, 3, &ev);
        if (s == IRLLREC_OK) {
            s = irllrec_evaluator_run(ev, irllrec_mat_dense(ue, nu, nu),
                                      irllrec_mat_dense(ie, ni, nu), &mask, &truth, r, n, NULL);
            ck_assert(s == IRLLREC_OK || s == IRLLREC_E_NOMEM);
            if (s != IRLLREC_OK)
                ck_assert_msg(strncmp(irllrec_ctx_errmsg(ctx), "irllrec_evaluator_run: ", 23) == 0,
                              "%s", irllrec_ctx_errmsg(ctx));
            irllrec_evaluator_free(ev);
        } else {
            ck_assert_int_eq(s, IRLLREC_E_NOMEM);
            ck_assert_ptr_null(ev);
            /* Also when a helper allocated: the message names the public call. */
            ck_assert_msg(strncmp(irllrec_ctx_errmsg(ctx), "irllrec_evaluator_create: ", 26) == 0,
                          "%s", irllrec_ctx_errmsg(ctx));
        }
        irllrec_ctx_free(ctx);
        ck_assert_int_eq(st.live_bytes, 0);
        if (s == IRLLREC_OK) break;
    }
    free(ue), free(ie);
    free_rand(&c);
}
END_TEST

Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, hand_computed_ties_and_short_truth);
    tcase_add_test(tc, hand_computed_mask_and_skipped_users);
    tcase_add_test(tc, k_larger_than_items_and_nan);
    tcase_add_test(tc, no_users_to_evaluate_gives_zeros);
    tcase_add_test(tc, matches_brute_force_for_any_threads_blocks_schedules);
    tcase_add_test(tc, strided_views_match_dense);
    tcase_add_test(tc, bad_inputs_rejected);
    tcase_add_test(tc, no_allocation_in_steady_state);
    suite_add_tcase(s, tc);
    return s;
}
