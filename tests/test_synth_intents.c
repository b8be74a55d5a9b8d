/* Synthetic dataset: the planted intent structure is really present, in the
 * interactions (affinity, the dominant intent), in the text (intent groups,
 * misleading rows at the requested fraction, pointing elsewhere), and heavy
 * users under a strong skew still get valid lists. File formats, splits and
 * determinism are in test_synth.c. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "synth/synth.h"
#include "helpers/testutil.h"
#include "helpers/synthfx.h"

static double cosine(const float *a, const float *b, int32_t d)
{
    double ab = 0, aa = 0, bb = 0;
    for (int32_t c = 0; c < d; c++) {
        ab += (double)a[c] * b[c];
        aa += (double)a[c] * a[c];
        bb += (double)b[c] * b[c];
    }
    return ab / sqrt(1e-12 + aa * bb);
}

START_TEST(interactions_follow_intents)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    irllrec__rng r;
    double pos = 0, neg = 0, theta[6], sum;
    int64_t np = 0, nn = 0, hit = 0;
    synfx_small_spec(&s);
    m = synfx_model_of(ctx, &s);
    /* Mixtures are distributions with the dominant intent in slot 0. */
    for (int32_t u = 0; u < s.n_users; u++) {
        irllrec__synth_theta(m, IRLLREC__SYNTH_USER, u, theta);
        sum = 0;
        for (int k = 0; k < 6; k++) {
            sum += theta[k];
            ck_assert(theta[k] <= theta[m->idx[0][(size_t)u * 3]] + 1e-12);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
    irllrec__rng_seed(&r, 1, 1);
    for (int32_t u = 0; u < s.n_users; u++) {
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++, np++) {
            pos += irllrec__synth_affinity(m, u, m->items[q]);
            neg += irllrec__synth_affinity(m, u, (int32_t)irllrec__rng_below(&r, 200));
            nn++;
            /* an item sharing the user's dominant intent */
            for (int j = 0; j < 3; j++)
                hit += m->idx[1][(size_t)m->items[q] * 3 + (size_t)j] == m->idx[0][(size_t)u * 3];
        }
    }
    pos /= (double)np;
    neg /= (double)nn;
    /* Interacted items are much closer in intent than random ones... */
    ck_assert_msg(pos > 1.8 * neg, "affinity interacted %g vs random %g", pos, neg);
    /* ...but not only: popularity and the floor add items off-intent. */
    ck_assert_msg((double)hit / (double)np > 0.4 && (double)hit / (double)np < 0.95,
                  "share sharing the dominant intent %g", (double)hit / (double)np);
    irllrec__synth_free(ctx, m);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Mean cosine of rows within groups sharing the dominant intent (truthful
 * rows only) minus the mean cosine over all pairs. */
static double intent_gap(const irllrec__synth *m, int side, const float *x, int32_t n, int32_t d)
{
    double same = 0, all = 0;
    int64_t ns = 0, na = 0;
    for (int32_t a = 0; a < n; a++)
        for (int32_t b = a + 1; b < n; b++) {
            double c = cosine(x + (size_t)a * (size_t)d, x + (size_t)b * (size_t)d, d);
            all += c;
            na++;
            if (m->src[side][a] == a && m->src[side][b] == b &&
                m->idx[side][(size_t)a * (size_t)m->n_slots] == m->idx[side][(size_t)b * (size_t)m->n_slots]) {
                same += c;
                ns++;
            }
        }
    ck_assert_int_gt(ns, 100);
    return same / (double)ns - all / (double)na;
}

START_TEST(text_carries_the_planted_intents)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    irllrec__rng r;
    char *dir;
    float *ui, *ii, *up;
    double gap_ui, gap_ii, gap_up, pos = 0, neg = 0;
    int64_t np = 0;
    synfx_small_spec(&s);
    dir = synfx_gen(ctx, &s);
    m = synfx_model_of(ctx, &s);
    ui = synfx_load_npy(dir, "usr_int.npy", s.n_users, 48);
    ii = synfx_load_npy(dir, "itm_int.npy", s.n_items, 48);
    up = synfx_load_npy(dir, "usr_prf.npy", s.n_users, 32);
    gap_ui = intent_gap(m, IRLLREC__SYNTH_USER, ui, s.n_users, 48);
    gap_ii = intent_gap(m, IRLLREC__SYNTH_ITEM, ii, s.n_items, 48);
    gap_up = intent_gap(m, IRLLREC__SYNTH_USER, up, s.n_users, 32);
    ck_assert_msg(gap_ui > 0.15, "user intents: same-intent minus random cosine %g", gap_ui);
    ck_assert_msg(gap_ii > 0.15, "item intents: same-intent minus random cosine %g", gap_ii);
    /* Profiles carry the intents too, diluted by the entity-specific part. */
    ck_assert_msg(gap_up > 0.05 && gap_up < gap_ui, "user profiles gap %g (intents %g)", gap_up, gap_ui);
    /* User and item text share one space: interacted pairs are closer. */
    irllrec__rng_seed(&r, 7, 7);
    for (int32_t u = 0; u < s.n_users; u++)
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++, np++) {
            pos += cosine(ui + (size_t)u * 48, ii + (size_t)m->items[q] * 48, 48);
            neg += cosine(ui + (size_t)u * 48, ii + irllrec__rng_below(&r, 200) * 48, 48);
        }
    ck_assert_msg(pos / (double)np > neg / (double)np + 0.1, "user-item cosine %g vs %g",
                  pos / (double)np, neg / (double)np);
    free(ui);
    free(ii);
    free(up);
    irllrec__synth_free(ctx, m);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(misleading_rows_at_the_requested_fraction)
{
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    const double fr[3] = {0.0, 0.1, 1.0};
    synfx_small_spec(&s);
    for (int q = 0; q < 3; q++) {
        s.misleading_frac = fr[q];
        m = synfx_model_of(ctx, &s);
        for (int side = 0; side < 2; side++) {
            int32_t n = side ? s.n_items : s.n_users;
            int64_t want = (int64_t)floor(fr[q] * n + 0.5), got = 0;
            for (int32_t e = 0; e < n; e++) {
                ck_assert_int_ge(m->src[side][e], 0);
                ck_assert_int_lt(m->src[side][e], n);
                got += m->src[side][e] != e;
            }
            ck_assert_int_eq(got, want);
            ck_assert_int_eq(m->n_misleading[side], want);
        }
        irllrec__synth_free(ctx, m);
    }
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(misleading_rows_point_elsewhere)
{
    /* Without noise a row is a positive multiple of a function of its source
     * entity only, so a misleading row u with source v is parallel to v's own
     * (truthful) row, in both the intent and the profile matrices. */
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m;
    char *dir;
    float *ui, *up;
    int64_t checked = 0, other_intent = 0;
    synfx_small_spec(&s);
    s.text_noise = 0.0;
    s.misleading_frac = 0.3;
    dir = synfx_gen(ctx, &s);
    m = synfx_model_of(ctx, &s);
    ui = synfx_load_npy(dir, "usr_int.npy", s.n_users, 48);
    up = synfx_load_npy(dir, "usr_prf.npy", s.n_users, 32);
    ck_assert_int_eq(m->n_misleading[0], 90);
    for (int32_t u = 0; u < s.n_users; u++) {
        int32_t v = m->src[0][u];
        if (v == u || m->src[0][v] != v) continue;
        ck_assert_double_eq_tol(cosine(ui + (size_t)u * 48, ui + (size_t)v * 48, 48), 1.0, 1e-5);
        ck_assert_double_eq_tol(cosine(up + (size_t)u * 32, up + (size_t)v * 32, 32), 1.0, 1e-5);
        other_intent += m->idx[0][(size_t)u * 3] != m->idx[0][(size_t)v * 3];
        checked++;
    }
    ck_assert_int_gt(checked, 40);
    /* The text then mostly names the wrong dominant intent (K = 6). */
    ck_assert_msg(other_intent > checked / 2, "%lld of %lld", (long long)other_intent,
                  (long long)checked);
    /* Truthful users with different dominant intents are far from parallel,
     * so the check above can fail. */
    {
        int32_t a = 0, n_far = 0;
        while (m->src[0][a] != a) a++;
        for (int32_t u = a + 1; u < s.n_users; u++) {
            if (m->src[0][u] != u || m->idx[0][(size_t)u * 3] == m->idx[0][(size_t)a * 3]) continue;
            ck_assert_double_lt(cosine(ui + (size_t)a * 48, ui + (size_t)u * 48, 48), 0.99);
            n_far++;
        }
        ck_assert_int_gt(n_far, 50);
    }
    free(ui);
    free(up);
    irllrec__synth_free(ctx, m);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

START_TEST(heavy_users_under_strong_skew)
{
    /* 15 of 20 items on average with a steep Zipf: rejection stalls and the
     * exact fallback has to finish the users; no duplicates either way. */
    irllrec_ctx *ctx = tu_ctx();
    irllrec_x_synth_spec s;
    irllrec__synth *m, *m2;
    synfx_small_spec(&s);
    s.n_items = 20;
    s.n_intents = 4;
    s.mean_degree = 15;
    s.popularity_skew = 8;
    m = synfx_model_of(ctx, &s);
    m2 = synfx_model_of(ctx, &s);
    for (int32_t u = 0; u < s.n_users; u++) {
        unsigned char seen[20] = {0};
        int64_t d = m->offs[u + 1] - m->offs[u];
        ck_assert_int_ge(d, 3);
        ck_assert_int_le(d, 20);
        ck_assert_int_ge(m->cnt[3 * u], 1);
        for (int64_t q = m->offs[u]; q < m->offs[u + 1]; q++) {
            ck_assert_int_lt(m->items[q], 20);
            ck_assert(!seen[m->items[q]]);
            seen[m->items[q]] = 1;
        }
    }
    ck_assert_int_eq(memcmp(m->items, m2->items, (size_t)m->offs[s.n_users] * 4), 0);
    irllrec__synth_free(ctx, m);
    irllrec__synth_free(ctx, m2);
    /* A single item: every user has it in train, nothing held out. */
    synfx_small_spec(&s);
    s.n_items = 1;
    s.n_intents = 1;
    s.mean_degree = 0.5;
    m = synfx_model_of(ctx, &s);
    ck_assert_int_eq(m->n_split[0], s.n_users);
    ck_assert_int_eq(m->n_split[1] + m->n_split[2], 0);
    irllrec__synth_free(ctx, m);
    irllrec_ctx_free(ctx);
}
END_TEST

Suite *synth_intents_suite(void)
{
    Suite *s = suite_create("synth_intents");
    TCase *tc = tcase_create("synth_intents");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, interactions_follow_intents);
    tcase_add_test(tc, text_carries_the_planted_intents);
    tcase_add_test(tc, misleading_rows_at_the_requested_fraction);
    tcase_add_test(tc, misleading_rows_point_elsewhere);
    tcase_add_test(tc, heavy_users_under_strong_skew);
    suite_add_tcase(s, tc);
    return s;
}
