/* The trained recommender (serve.h) against direct computations: a small
 * hook with text and a graph is trained for a few steps on synthetic data
 * (helpers/serve_fx.c), a recommender is built from it, and every answer is
 * recomputed here with plain loops from the hook's own blocks (intent
 * distributions, the pair decomposition, the cold-start and fold-in rules,
 * exemplars), with hostile input: unknown ids, NaN text, bad embeddings,
 * allocation failures. Lists, adds and model files: test_serve_rec.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/serve_fx.h"
#include "helpers/testutil.h"

static const float *block(irllrec_hook *h, const char *name, int64_t rows, int64_t cols)
{
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b = {.struct_size = sizeof b};
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        if (strcmp(b.name, name) == 0) {
            ck_assert(b.rows == rows && b.cols == cols);
            return b.data;
        }
    }
    ck_abort_msg("no block %s", name);
    return NULL;
}

/* softmax_k(x C) for a d-vector x and C d x K, naive, in double. */
static void naive_softmax(const float *x, const float *c, double *p)
{
    double lg[K], mx = -INFINITY, s = 0.0;
    for (int k = 0; k < K; k++) {
        lg[k] = 0.0;
        for (int j = 0; j < D; j++) lg[k] += (double)x[j] * (double)c[j * K + k];
        mx = fmax(mx, lg[k]);
    }
    for (int k = 0; k < K; k++) s += (p[k] = exp(lg[k] - mx));
    for (int k = 0; k < K; k++) p[k] /= s;
}

START_TEST(distributions_sum_to_one_and_match_a_direct_softmax)
{
    sfx f;
    sfx_make(&f, 1);
    const float *c[2] = {block(f.h, "proto.user", D, K), block(f.h, "proto.item", D, K)};
    for (int layers = 0; layers <= 1; layers++) {
        irllrec_rec *r = sfx_rec(&f, layers);
        for (int side = 0; side < 2; side++) {
            const int n = side == 0 ? U : I;
            for (int32_t id = 0; id < n; id++) {
                float p[K];
                double want[K] = {0}, sum = 0.0, q[K];
                ck_assert_int_eq(irllrec_rec_intents(r, side, &id, 1, p), IRLLREC_OK);
                const int64_t node = side == 0 ? id : U + id;
                if (layers) {
                    /* the mean over the tower's L layer views of softmax(E(l) C) */
                    for (int l = 0; l < L; l++) {
                        naive_softmax(f.lay + l * N * D + node * D, c[side], q);
                        for (int k = 0; k < K; k++) want[k] += q[k] / L;
                    }
                } else {
                    naive_softmax(f.ef + node * D, c[side], want);
                }
                for (int k = 0; k < K; k++) {
                    sfx_close_rel(p[k], want[k], 1e-5, "probability");
                    sum += p[k];
                }
                sfx_close_rel(sum, 1.0, 1e-5, "sum");
            }
        }
        irllrec_rec_free(r);
    }
    sfx_free(&f);
}
END_TEST

/* ---- pair explanation --------------------------------------------------------- */

START_TEST(contributions_plus_residual_equal_the_score)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    const float *cu = block(f.h, "proto.user", D, K), *ci = block(f.h, "proto.item", D, K);
    for (int32_t u = 0; u < U; u += 2)
        for (int32_t i = 0; i < I; i += 3) {
            int32_t ids[K];
            double sh[K], ct[K];
            irllrec_explanation ex = {.struct_size = sizeof ex, .intents = ids, .shared = sh,
                                      .contribution = ct};
            float p[K], q[K];
            ck_assert_int_eq(irllrec_rec_explain(r, u, i, K, &ex), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, &u, 1, p), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_ITEMS, &i, 1, q), IRLLREC_OK);
            const float *eu = f.ef + u * D, *ei = f.ef + (U + i) * D;
            double score = 0.0, sum = 0.0, res = 0.0;
            for (int j = 0; j < D; j++) score += (double)eu[j] * ei[j];
            ck_assert_int_eq(ex.n, K);
            sfx_close_rel(ex.score, score, 1e-5, "score");
            for (int t = 0; t < K; t++) sum += ct[t];
            sfx_close_rel(sum + ex.residual, score, 1e-5, "contributions + residual");
            /* residual = 0.5 (<e_u - sum p c_u, e_i> + <e_i - sum q c_i, e_u>) */
            for (int j = 0; j < D; j++) {
                double zu = 0.0, zi = 0.0;
                for (int k = 0; k < K; k++) {
                    zu += (double)p[k] * cu[j * K + k];
                    zi += (double)q[k] * ci[j * K + k];
                }
                res += 0.5 * ((eu[j] - zu) * ei[j] + (ei[j] - zi) * eu[j]);
            }
            sfx_close_rel(ex.residual, res, 1e-5, "residual");
            for (int t = 0; t < K; t++) {
                const int k = ids[t];
                double a = 0.0, b = 0.0;
                for (int j = 0; j < D; j++) {
                    a += (double)cu[j * K + k] * ei[j];
                    b += (double)ci[j * K + k] * eu[j];
                }
                sfx_close_rel(ct[t], 0.5 * (p[k] * a + q[k] * b), 1e-5, "contribution");
                sfx_close_rel(sh[t], (double)p[k] * q[k], 1e-6, "shared");
                if (t > 0)
                    ck_assert(sh[t - 1] > sh[t] || (sh[t - 1] == sh[t] && ids[t - 1] < ids[t]));
            }
        }
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* Prototypes 0 and 2 are zero on both sides and prototype 1 points along
 * user 0's and item 0's own embeddings, so for (0, 0) by hand: p_1 > p_0 =
 * p_2 (logits <e, c_1> = |e|^2 > 0 against 0, 0) and the same for q, hence
 * the order 1, then the tie 0 / 2 by the lower id. */
START_TEST(shared_intents_tie_by_the_lower_id)
{
    sfx f;
    sfx_make(&f, 1);
    float *cu = (float *)block(f.h, "proto.user", D, K), *ci = (float *)block(f.h, "proto.item",
                                                                              D, K);
    for (int j = 0; j < D; j++) {
        cu[j * K + 0] = cu[j * K + 2] = ci[j * K + 0] = ci[j * K + 2] = 0.0f;
        cu[j * K + 1] = f.ef[j];
        ci[j * K + 1] = f.ef[U * D + j];
    }
    irllrec_rec *r = sfx_rec(&f, 0);
    int32_t ids[K];
    double sh[K];
    irllrec_explanation ex = {.struct_size = sizeof ex, .intents = ids, .shared = sh};
    ck_assert_int_eq(irllrec_rec_explain(r, 0, 0, K, &ex), IRLLREC_OK);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[1], 0);
    ck_assert_int_eq(ids[2], 2);
    ck_assert(sh[1] == sh[2] && sh[0] > sh[1]);
    /* top 2 lists the first two of the same order */
    ck_assert_int_eq(irllrec_rec_explain(r, 0, 0, 2, &ex), IRLLREC_OK);
    ck_assert(ex.n == 2 && ids[0] == 1 && ids[1] == 0);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* ---- cold start ----------------------------------------------------------------- */

/* Our own tower with the hook's weights: "prf" or "int". */
static irllrec_mlp *own_tower(sfx *f, const char *pfx, int32_t in)
{
    irllrec_mlp_spec ms;
    irllrec_mlp *m = NULL;
    const int32_t hid = (in + D) / 2;
    irllrec_mlp_spec_init(&ms, sizeof ms);
    ms.in_dim = in;
    ms.out_dim = D;
    ms.max_rows = 64;
    ck_assert_int_eq(irllrec_mlp_create(f->ctx, &ms, &m), IRLLREC_OK);
    const char *part[4] = {"w1", "b1", "w2", "b2"};
    const int64_t shp[4][2] = {{hid, in}, {1, hid}, {D, hid}, {1, D}};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s.%s", pfx, part[i]);
        const float *w = block(f->h, name, shp[i][0], shp[i][1]);
        ck_assert_int_eq(irllrec_mlp_set_param(m, i, irllrec_mat_dense((float *)w, shp[i][0],
                                                                       shp[i][1])),
                         IRLLREC_OK);
    }
    return m;
}

static double side_norm(const float *e, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double q = 0.0;
        for (int j = 0; j < D; j++) q += (double)e[i * D + j] * e[i * D + j];
        s += sqrt(q);
    }
    return s / n;
}

/* want = s v / sqrt(1e-8 + |v|^2) for the tower outputs v of rows x */
static void expect_scaled(irllrec_mlp *m, const float *x, int n, int in, double s,
                          const float *got)
{
    float v[8 * D];
    ck_assert_int_le(n, 8);
    ck_assert_int_eq(irllrec_mlp_forward_at(m, irllrec_cmat_dense(x, n, in), 0,
                                            irllrec_mat_dense(v, n, D)),
                     IRLLREC_OK);
    for (int i = 0; i < n; i++) {
        double q = 0.0;
        for (int j = 0; j < D; j++) q += (double)v[i * D + j] * v[i * D + j];
        for (int j = 0; j < D; j++)
            sfx_close_rel(got[i * D + j], s * v[i * D + j] / sqrt(1e-8 + q), 1e-5, "cold start");
    }
}

START_TEST(embed_text_is_the_tower_output_at_the_sides_mean_norm)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    irllrec_mlp *prf = own_tower(&f, "prf", DP), *itm = own_tower(&f, "int", DT);
    float prf_rows[3 * DP], int_rows[3 * DT], out[3 * D];
    tu_fill(&sfx_rs, prf_rows, 3 * DP, 2.0f);
    tu_fill(&sfx_rs, int_rows, 3 * DT, 2.0f);
    const irllrec_cmat none = {NULL, 0, 0, 0};
    const double su = side_norm(f.ef, U), si = side_norm(f.ef + U * D, I);
    /* profile text: the profile tower, at the users' (then the items') mean norm */
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_USERS, irllrec_cmat_dense(prf_rows, 3, DP),
                                            none, irllrec_mat_dense(out, 3, D)),
                     IRLLREC_OK);
    expect_scaled(prf, prf_rows, 3, DP, su, out);
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(prf_rows, 3, DP),
                                            irllrec_cmat_dense(int_rows, 3, DT),
                                            irllrec_mat_dense(out, 3, D)),
                     IRLLREC_OK);
    expect_scaled(itm, int_rows, 3, DT, si, out); /* both texts: the intent tower */
    /* intent text only: the intent tower */
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_ITEMS, none,
                                            irllrec_cmat_dense(int_rows, 3, DT),
                                            irllrec_mat_dense(out, 3, D)),
                     IRLLREC_OK);
    expect_scaled(itm, int_rows, 3, DT, si, out);
    /* added from intent text: that embedding, and softmax(z C_i) as the distribution */
    int32_t first = -1;
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none,
                                               irllrec_cmat_dense(int_rows, 3, DT), &first),
                     IRLLREC_OK);
    ck_assert_int_eq(first, I);
    irllrec_cmat emb;
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_ITEMS, &emb), IRLLREC_OK);
    ck_assert_int_eq(emb.rows, I + 3);
    ck_assert(memcmp(emb.data + I * D, out, sizeof out) == 0);
    float z[3 * D], p[K];
    ck_assert_int_eq(irllrec_mlp_forward_at(itm, irllrec_cmat_dense(int_rows, 3, DT), 0,
                                            irllrec_mat_dense(z, 3, D)),
                     IRLLREC_OK);
    for (int32_t t = 0; t < 3; t++) {
        const int32_t id = I + t;
        double want[K];
        ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_ITEMS, &id, 1, p), IRLLREC_OK);
        naive_softmax(z + t * D, block(f.h, "proto.item", D, K), want);
        for (int k = 0; k < K; k++) sfx_close_rel(p[k], want[k], 1e-5, "text distribution");
    }
    irllrec_mlp_free(prf);
    irllrec_mlp_free(itm);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* ---- fold-in --------------------------------------------------------------------- */

START_TEST(fold_in_is_the_mean_direction_at_the_users_mean_norm)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    const int32_t items[4] = {1, 4, 4, 7};
    float out[D];
    ck_assert_int_eq(irllrec_rec_fold_in(r, items, 4, out), IRLLREC_OK);
    double acc[D] = {0}, q = 0.0;
    for (int t = 0; t < 4; t++) {
        const float *e = f.ef + (U + items[t]) * D;
        double n2 = 0.0;
        for (int j = 0; j < D; j++) n2 += (double)e[j] * e[j];
        for (int j = 0; j < D; j++) acc[j] += e[j] / sqrt(1e-8 + n2);
    }
    for (int j = 0; j < D; j++) q += acc[j] * acc[j];
    const double su = side_norm(f.ef, U);
    for (int j = 0; j < D; j++) sfx_close_rel(out[j], su * acc[j] / sqrt(1e-8 + q), 1e-5, "fold-in");
    /* add_user stores that embedding and its distribution softmax(e C_u) */
    int32_t uid = -1;
    float p[K];
    double want[K];
    ck_assert_int_eq(irllrec_rec_add_user(r, items, 4, &uid), IRLLREC_OK);
    ck_assert_int_eq(uid, U);
    irllrec_cmat emb;
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_USERS, &emb), IRLLREC_OK);
    ck_assert(emb.rows == U + 1 && memcmp(emb.data + U * D, out, sizeof out) == 0);
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, &uid, 1, p), IRLLREC_OK);
    naive_softmax(out, block(f.h, "proto.user", D, K), want);
    for (int k = 0; k < K; k++) sfx_close_rel(p[k], want[k], 1e-5, "fold-in distribution");
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* ---- exemplars --------------------------------------------------------------------- */

START_TEST(exemplars_rank_text_intents_by_cosine_with_each_prototype)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    irllrec_mlp *itm = own_tower(&f, "int", DT);
    for (int side = 0; side < 2; side++) {
        const int n = side == 0 ? U : I, top = 4;
        const float *c = block(f.h, side == 0 ? "proto.user" : "proto.item", D, K);
        float z[I * D], sc[K * 4];
        int32_t ids[K * 4];
        ck_assert_int_eq(irllrec_mlp_forward_at(itm, irllrec_cmat_dense(f.txt[2 + side], n, DT), 0,
                                                irllrec_mat_dense(z, n, D)),
                         IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_intent_exemplars(r, side, top, ids, sc), IRLLREC_OK);
        for (int k = 0; k < K; k++) {
            double cos[I], cn = 0.0;
            int used[I] = {0};
            for (int j = 0; j < D; j++) cn += (double)c[j * K + k] * c[j * K + k];
            for (int i = 0; i < n; i++) {
                double dot = 0.0, zn = 0.0;
                for (int j = 0; j < D; j++) {
                    dot += (double)z[i * D + j] * c[j * K + k];
                    zn += (double)z[i * D + j] * z[i * D + j];
                }
                cos[i] = dot / (sqrt(1e-8 + zn) * sqrt(1e-8 + cn));
            }
            for (int t = 0; t < top; t++) {
                int best = -1;
                for (int i = 0; i < n; i++)
                    if (!used[i] && (best < 0 || cos[i] > cos[best])) best = i;
                used[best] = 1;
                ck_assert_int_eq(ids[k * top + t], best);
                sfx_close_rel(sc[k * top + t], cos[best], 1e-5, "exemplar cosine");
            }
        }
    }
    /* more slots than nodes: the rest is -1, score 0 */
    int32_t ids[K * 12];
    float sc[K * 12];
    ck_assert_int_eq(irllrec_rec_intent_exemplars(r, IRLLREC_USERS, 12, ids, sc), IRLLREC_OK);
    ck_assert(ids[U - 1] >= 0 && ids[U] == -1 && ids[11] == -1 && sc[11] == 0.0f);
    irllrec_mlp_free(itm);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* Without intent text on the hook there are distributions (the prototypes
 * exist) but no text intents: exemplars are refused. Without a hook there is
 * nothing but embeddings. */
START_TEST(missing_hook_or_text_is_a_state_error)
{
    sfx f;
    sfx_make(&f, 0);
    irllrec_rec *r = sfx_rec(&f, 0);
    int32_t ids[K], id = 0;
    float p[K];
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, &id, 1, p), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_intent_exemplars(r, IRLLREC_USERS, 1, ids, NULL),
                     IRLLREC_E_STATE);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_intent_exemplars: no intent-tower outputs"));
    irllrec_rec_free(r);
    irllrec_rec_spec s = sfx_spec(&f, 0);
    s.hook = NULL;
    s.seen = NULL;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_OK);
    irllrec_rec_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(irllrec_rec_get_info(r, &info), IRLLREC_OK);
    ck_assert(info.dim == D && info.n_users == U && info.n_items == I && info.n_intents == 0 &&
              info.profile_dim == 0 && info.intent_dim == 0 && info.has_seen == 0);
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, &id, 1, p), IRLLREC_E_STATE);
    irllrec_explanation ex = {.struct_size = sizeof ex, .intents = ids};
    ck_assert_int_eq(irllrec_rec_explain(r, 0, 0, 1, &ex), IRLLREC_E_STATE);
    float t[DP] = {0}, out[D];
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_USERS, irllrec_cmat_dense(t, 1, DP),
                                            (irllrec_cmat){NULL, 0, 0, 0},
                                            irllrec_mat_dense(out, 1, D)),
                     IRLLREC_E_STATE);
    ck_assert(sfx_msg_has(f.ctx, "no profile tower"));
    /* fold-in needs no hook */
    ck_assert_int_eq(irllrec_rec_fold_in(r, &id, 1, out), IRLLREC_OK);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

/* ---- hostile input ------------------------------------------------------------------- */

START_TEST(unknown_ids_and_nan_text_are_refused_and_change_nothing)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = sfx_rec(&f, 1);
    const int32_t ids[2] = {0, U};
    float p[2 * K], out[3 * D], keep[3 * D];
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, ids, 2, p), IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_intents: ids[1] = 9 not in [0, 9)"));
    int32_t iv[K];
    irllrec_explanation ex = {.struct_size = sizeof ex, .intents = iv};
    ck_assert_int_eq(irllrec_rec_explain(r, 0, I, 1, &ex), IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_explain: item = 11 not in [0, 11)"));
    ck_assert_int_eq(irllrec_rec_explain(r, -1, 0, 1, &ex), IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "user = -1"));
    ck_assert_int_eq(irllrec_rec_explain(r, 0, 0, K + 1, &ex), IRLLREC_E_INVALID_ARG);
    const int32_t bad_items[2] = {3, -2};
    ck_assert_int_eq(irllrec_rec_fold_in(r, bad_items, 2, out), IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_fold_in: items[1] = -2 not in [0, 11)"));
    ck_assert_int_eq(irllrec_rec_add_user(r, bad_items, 2, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_rec_add_user(r, bad_items, 0, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_rec_intent_exemplars(r, 2, 1, iv, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert(sfx_msg_has(f.ctx, "side = 2"));
    /* NaN in row 2 of the profile text: named, nothing written, nothing added */
    float t[3 * DP];
    tu_fill(&sfx_rs, t, 3 * DP, 1.0f);
    t[2 * DP + 1] = NAN;
    tu_fill(&sfx_rs, out, 3 * D, 1.0f);
    memcpy(keep, out, sizeof out);
    const irllrec_cmat none = {NULL, 0, 0, 0};
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(t, 3, DP), none,
                                            irllrec_mat_dense(out, 3, D)),
                     IRLLREC_E_NUMERIC);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_embed_text: profile[2][1] is not finite"));
    ck_assert(memcmp(keep, out, sizeof out) == 0);
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(t, 3, DP),
                                               none, NULL),
                     IRLLREC_E_NUMERIC);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_add_from_text: profile[2][1] is not finite"));
    /* text of the wrong width, rows that disagree, no text at all */
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(t, 3, DP - 1),
                                               none, NULL),
                     IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none, none, NULL),
                     IRLLREC_E_INVALID_ARG);
    irllrec_rec_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(irllrec_rec_get_info(r, &info), IRLLREC_OK);
    ck_assert(info.n_users == U && info.n_items == I && info.has_seen == 1);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

START_TEST(create_refuses_bad_embeddings_and_mismatched_hooks)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec *r = (irllrec_rec *)&f;  /* must come back NULL */
    irllrec_rec_spec s = sfx_spec(&f, 1);
    f.ef[(U + 3) * D + 2] = INFINITY;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_NUMERIC);
    ck_assert_ptr_null(r);
    ck_assert(sfx_msg_has(f.ctx, "irllrec_rec_create: spec->item_emb[3][2] is not finite"));
    f.ef[(U + 3) * D + 2] = 0.5f;
    s.item_emb.rows = I - 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_SHAPE);
    s = sfx_spec(&f, 1);
    s.user_emb.cols = D - 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_SHAPE);
    s = sfx_spec(&f, 1);
    f.lay[L * N * D - 1] = NAN;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_NUMERIC);
    ck_assert(sfx_msg_has(f.ctx, "spec->layers[1]"));
    f.lay[L * N * D - 1] = 0.0f;
    s.hook = NULL;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_INVALID_ARG);
    s = sfx_spec(&f, 1);
    s.reserved0 = 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(r);
    sfx_free(&f);
}
END_TEST

START_TEST(create_survives_every_allocation_failure)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_rec_spec s = sfx_spec(&f, 1);
    int64_t fails = 0;
    for (int64_t at = 1;; at++) {
        tu_alloc_state st = {0};
        st.fail_at = at;
        irllrec_ctx *c = tu_ctx_counting(&st);
        if (c == NULL) continue;  /* the context's own allocation */
        irllrec_rec *r = NULL;
        irllrec_status rc = irllrec_rec_create(c, &s, &r);
        if (rc == IRLLREC_OK) {
            irllrec_rec_free(r);
            irllrec_ctx_free(c);
            ck_assert_int_eq(st.live_bytes, 0);
            break;
        }
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(r);
        irllrec_ctx_free(c);
        ck_assert_int_eq(st.live_bytes, 0);
        fails++;
    }
    ck_assert_int_gt(fails, 5);
    sfx_free(&f);
}
END_TEST

/* ---- recommend through rank.h ------------------------------------------------------ */

/* Items of unit norm (so s_i = 1) and user 0 = 3 x the direction the profile
 * tower gives text S: the item added from S is e = s n(p(S)), the only
 * candidate at cosine 1 with user 0, so by construction its best, at score
 * 3 s = 3 (to float rounding). */
START_TEST(an_item_added_from_text_is_recommended_at_once)
{
    sfx f;
    sfx_make(&f, 1);
    irllrec_mlp *prf = own_tower(&f, "prf", DP);
    float S[DP], v[D], emb[N * D];
    tu_fill(&sfx_rs, S, DP, 2.0f);
    ck_assert_int_eq(irllrec_mlp_forward_at(prf, irllrec_cmat_dense(S, 1, DP), 0,
                                            irllrec_mat_dense(v, 1, D)),
                     IRLLREC_OK);
    memcpy(emb, f.ef, sizeof emb);
    double nv = 0.0;
    for (int j = 0; j < D; j++) nv += (double)v[j] * v[j];
    for (int j = 0; j < D; j++) emb[j] = (float)(3.0 * v[j] / sqrt(nv));
    for (int i = 0; i < I; i++) {
        float *e = emb + (U + i) * D;
        double q = 0.0;
        for (int j = 0; j < D; j++) q += (double)e[j] * e[j];
        for (int j = 0; j < D; j++) e[j] = (float)(e[j] / sqrt(q));
    }
    irllrec_rec_spec s = sfx_spec(&f, 1);
    s.user_emb = irllrec_cmat_dense(emb, U, D);
    s.item_emb = irllrec_cmat_dense(emb + U * D, I, D);
    irllrec_rec *r = NULL;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_OK);
    int32_t first = -1, ids[2], cnt = 0;
    float sc[2];
    const int32_t user = 0;
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(S, 1, DP),
                                               (irllrec_cmat){NULL, 0, 0, 0}, &first),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_recommend(r, &user, 1, 2, NULL, ids, sc, &cnt), IRLLREC_OK);
    ck_assert_int_eq(first, I);
    ck_assert_int_eq(cnt, 2);
    ck_assert_int_eq(ids[0], I);
    sfx_close_rel(sc[0], 3.0, 1e-5, "score of the new item");
    ck_assert(sc[1] < sc[0]);
    irllrec_mlp_free(prf);
    irllrec_rec_free(r);
    sfx_free(&f);
}
END_TEST

Suite *serve_suite(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("rec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, distributions_sum_to_one_and_match_a_direct_softmax);
    tcase_add_test(tc, contributions_plus_residual_equal_the_score);
    tcase_add_test(tc, shared_intents_tie_by_the_lower_id);
    tcase_add_test(tc, embed_text_is_the_tower_output_at_the_sides_mean_norm);
    tcase_add_test(tc, fold_in_is_the_mean_direction_at_the_users_mean_norm);
    tcase_add_test(tc, exemplars_rank_text_intents_by_cosine_with_each_prototype);
    tcase_add_test(tc, missing_hook_or_text_is_a_state_error);
    tcase_add_test(tc, unknown_ids_and_nan_text_are_refused_and_change_nothing);
    tcase_add_test(tc, create_refuses_bad_embeddings_and_mismatched_hooks);
    tcase_add_test(tc, create_survives_every_allocation_failure);
    tcase_add_test(tc, an_item_added_from_text_is_recommended_at_once);
    suite_add_tcase(s, tc);
    return s;
}
