/* The trained recommender (serve.h) against direct computations: a small
 * hook with text and a graph is trained for a few steps on synthetic data,
 * a recommender is built from it, and every answer is recomputed here with
 * plain loops from the hook's own blocks (intent distributions, the pair
 * decomposition, the cold-start and fold-in rules, exemplars). Then save /
 * load bit for bit, and hostile input: unknown ids, NaN text, files that are
 * truncated, flipped, reshaped or not serving models at all. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/irllrec.h"
#include "helpers/testutil.h"

enum { U = 9, I = 11, N = U + I, D = 4, DP = 5, DT = 6, B = 4, L = 2, K = 3 };

typedef struct fx {
    irllrec_ctx *ctx;
    irllrec_hook *h;
    float ef[N * D], lay[L * N * D];
    float txt[4][N * DT];  /* user profile, item profile, user intent, item intent */
    irllrec_cmat lv[L];
    int64_t seen_ptr[U + 1];
    int32_t seen_idx[14];
    irllrec_csr seen;
} fx;

static uint64_t rs;

static float rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((double)(rs >> 11) / 9007199254740992.0 - 0.5);
}

static void fill(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) x[i] = scale * rnd();
}

static const int64_t TXT_ROWS[4] = {U, I, U, I}, TXT_COLS[4] = {DP, DP, DT, DT};

static void set_graph(fx *f)
{
    static const int64_t ip[U + 1] = {0, 2, 4, 5, 7, 8, 10, 11, 13, 14};
    static const int32_t ix[14] = {0, 3, 1, 4, 2, 0, 5, 6, 7, 8, 9, 1, 10, 2};
    memcpy(f->seen_ptr, ip, sizeof ip);
    memcpy(f->seen_idx, ix, sizeof ix);
    f->seen = (irllrec_csr){U, I, 14, f->seen_ptr, f->seen_idx};
    irllrec_graph *g = NULL;
    irllrec_csr adj;
    ck_assert_int_eq(irllrec_graph_create(f->ctx, &f->seen, &g), IRLLREC_OK);
    ck_assert_int_eq(irllrec_graph_adjacency(g, &adj), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &adj), IRLLREC_OK);
    irllrec_graph_free(g);
}

/* A hook of L layers with all four texts and a graph, trained 3 steps. */
static void fx_make(fx *f, int with_intent_text)
{
    irllrec_hook_spec s;
    memset(f, 0, sizeof *f);
    rs = 88172645463325252ull;
    f->ctx = tu_ctx();
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = K;
    s.n_layers = L;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = DT;
    s.seed = 7;
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    for (int w = 0; w < 4; w++) {
        fill(f->txt[w], TXT_ROWS[w] * TXT_COLS[w], 1.0f);
        if (w >= 2 && !with_intent_text) continue;
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(
                                                            f->txt[w], TXT_ROWS[w], TXT_COLS[w])),
                         IRLLREC_OK);
    }
    set_graph(f);
    fill(f->ef, N * D, 1.0f);
    fill(f->lay, L * N * D, 1.0f);
    for (int l = 0; l < L; l++) f->lv[l] = irllrec_cmat_dense(f->lay + l * N * D, N, D);
    if (!with_intent_text) return;  /* a step would refuse: text announced, not set */
    int32_t users[B], pos[B], neg[B];
    static float gf[N * D], gl[L * N * D];
    irllrec_mat lg[L];
    for (int l = 0; l < L; l++) lg[l] = irllrec_mat_dense(gl + l * N * D, N, D);
    for (int step = 0; step < 3; step++) {
        for (int b = 0; b < B; b++) {
            users[b] = (int32_t)((3 * b + step) % U);
            pos[b] = (int32_t)((5 * b + 2 + step) % I);
            neg[b] = (int32_t)((7 * b + 4) % I);
        }
        irllrec_hook_batch bt = {B, users, pos, neg};
        irllrec_hook_inputs in = {irllrec_cmat_dense(f->ef, U, D),
                                  irllrec_cmat_dense(f->ef + U * D, I, D), f->lv};
        irllrec_hook_grads g = {sizeof g, IRLLREC_HOOK_GRAD_DENSE, irllrec_mat_dense(gf, U, D),
                                irllrec_mat_dense(gf + U * D, I, D), lg};
        irllrec_hook_losses hl = {.struct_size = sizeof hl};
        ck_assert_int_eq(irllrec_hook_step(f->h, &bt, &in, &g, &hl), IRLLREC_OK);
    }
}

static void fx_free(fx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
}

static irllrec_rec_spec fx_spec(fx *f, int layers)
{
    irllrec_rec_spec s;
    irllrec_rec_spec_init(&s, sizeof s);
    s.user_emb = irllrec_cmat_dense(f->ef, U, D);
    s.item_emb = irllrec_cmat_dense(f->ef + U * D, I, D);
    s.seen = &f->seen;
    s.hook = f->h;
    s.layers = layers ? f->lv : NULL;
    return s;
}

static irllrec_rec *fx_rec(fx *f, int layers)
{
    irllrec_rec_spec s = fx_spec(f, layers);
    irllrec_rec *r = NULL;
    ck_assert_int_eq(irllrec_rec_create(f->ctx, &s, &r), IRLLREC_OK);
    return r;
}

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

static int msg_has(irllrec_ctx *ctx, const char *s)
{
    return strstr(irllrec_ctx_errmsg(ctx), s) != NULL;
}

static void close_rel(double got, double want, double tol, const char *what)
{
    ck_assert_msg(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s: got %.9g, want %.9g",
                  what, got, want);
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

/* ---- intent distributions ---------------------------------------------------- */

START_TEST(distributions_sum_to_one_and_match_a_direct_softmax)
{
    fx f;
    fx_make(&f, 1);
    const float *c[2] = {block(f.h, "proto.user", D, K), block(f.h, "proto.item", D, K)};
    for (int layers = 0; layers <= 1; layers++) {
        irllrec_rec *r = fx_rec(&f, layers);
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
                    close_rel(p[k], want[k], 1e-5, "probability");
                    sum += p[k];
                }
                close_rel(sum, 1.0, 1e-5, "sum");
            }
        }
        irllrec_rec_free(r);
    }
    fx_free(&f);
}
END_TEST

/* ---- pair explanation --------------------------------------------------------- */

START_TEST(contributions_plus_residual_equal_the_score)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
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
            close_rel(ex.score, score, 1e-5, "score");
            for (int t = 0; t < K; t++) sum += ct[t];
            close_rel(sum + ex.residual, score, 1e-5, "contributions + residual");
            /* residual = 0.5 (<e_u - sum p c_u, e_i> + <e_i - sum q c_i, e_u>) */
            for (int j = 0; j < D; j++) {
                double zu = 0.0, zi = 0.0;
                for (int k = 0; k < K; k++) {
                    zu += (double)p[k] * cu[j * K + k];
                    zi += (double)q[k] * ci[j * K + k];
                }
                res += 0.5 * ((eu[j] - zu) * ei[j] + (ei[j] - zi) * eu[j]);
            }
            close_rel(ex.residual, res, 1e-5, "residual");
            for (int t = 0; t < K; t++) {
                const int k = ids[t];
                double a = 0.0, b = 0.0;
                for (int j = 0; j < D; j++) {
                    a += (double)cu[j * K + k] * ei[j];
                    b += (double)ci[j * K + k] * eu[j];
                }
                close_rel(ct[t], 0.5 * (p[k] * a + q[k] * b), 1e-5, "contribution");
                close_rel(sh[t], (double)p[k] * q[k], 1e-6, "shared");
                if (t > 0)
                    ck_assert(sh[t - 1] > sh[t] || (sh[t - 1] == sh[t] && ids[t - 1] < ids[t]));
            }
        }
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

/* Prototypes 0 and 2 are zero on both sides and prototype 1 points along
 * user 0's and item 0's own embeddings, so for (0, 0) by hand: p_1 > p_0 =
 * p_2 (logits <e, c_1> = |e|^2 > 0 against 0, 0) and the same for q, hence
 * the order 1, then the tie 0 / 2 by the lower id. */
START_TEST(shared_intents_tie_by_the_lower_id)
{
    fx f;
    fx_make(&f, 1);
    float *cu = (float *)block(f.h, "proto.user", D, K), *ci = (float *)block(f.h, "proto.item",
                                                                              D, K);
    for (int j = 0; j < D; j++) {
        cu[j * K + 0] = cu[j * K + 2] = ci[j * K + 0] = ci[j * K + 2] = 0.0f;
        cu[j * K + 1] = f.ef[j];
        ci[j * K + 1] = f.ef[U * D + j];
    }
    irllrec_rec *r = fx_rec(&f, 0);
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
    fx_free(&f);
}
END_TEST

/* ---- cold start ----------------------------------------------------------------- */

/* Our own tower with the hook's weights: "prf" or "int". */
static irllrec_mlp *own_tower(fx *f, const char *pfx, int32_t in)
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
            close_rel(got[i * D + j], s * v[i * D + j] / sqrt(1e-8 + q), 1e-5, "cold start");
    }
}

START_TEST(embed_text_is_the_tower_output_at_the_sides_mean_norm)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
    irllrec_mlp *prf = own_tower(&f, "prf", DP), *itm = own_tower(&f, "int", DT);
    float prf_rows[3 * DP], int_rows[3 * DT], out[3 * D];
    fill(prf_rows, 3 * DP, 2.0f);
    fill(int_rows, 3 * DT, 2.0f);
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
    expect_scaled(prf, prf_rows, 3, DP, si, out);
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
        for (int k = 0; k < K; k++) close_rel(p[k], want[k], 1e-5, "text distribution");
    }
    irllrec_mlp_free(prf);
    irllrec_mlp_free(itm);
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

/* ---- fold-in --------------------------------------------------------------------- */

START_TEST(fold_in_is_the_mean_direction_at_the_users_mean_norm)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
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
    for (int j = 0; j < D; j++) close_rel(out[j], su * acc[j] / sqrt(1e-8 + q), 1e-5, "fold-in");
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
    for (int k = 0; k < K; k++) close_rel(p[k], want[k], 1e-5, "fold-in distribution");
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

/* ---- exemplars --------------------------------------------------------------------- */

START_TEST(exemplars_rank_text_intents_by_cosine_with_each_prototype)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
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
                close_rel(sc[k * top + t], cos[best], 1e-5, "exemplar cosine");
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
    fx_free(&f);
}
END_TEST

/* Without intent text on the hook there are distributions (the prototypes
 * exist) but no text intents: exemplars are refused. Without a hook there is
 * nothing but embeddings. */
START_TEST(missing_hook_or_text_is_a_state_error)
{
    fx f;
    fx_make(&f, 0);
    irllrec_rec *r = fx_rec(&f, 0);
    int32_t ids[K], id = 0;
    float p[K];
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, &id, 1, p), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_intent_exemplars(r, IRLLREC_USERS, 1, ids, NULL),
                     IRLLREC_E_STATE);
    ck_assert(msg_has(f.ctx, "irllrec_rec_intent_exemplars: no intent-tower outputs"));
    irllrec_rec_free(r);
    irllrec_rec_spec s = fx_spec(&f, 0);
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
    ck_assert(msg_has(f.ctx, "no profile tower"));
    /* fold-in needs no hook */
    ck_assert_int_eq(irllrec_rec_fold_in(r, &id, 1, out), IRLLREC_OK);
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

/* ---- hostile input ------------------------------------------------------------------- */

START_TEST(unknown_ids_and_nan_text_are_refused_and_change_nothing)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
    const int32_t ids[2] = {0, U};
    float p[2 * K], out[3 * D], keep[3 * D];
    ck_assert_int_eq(irllrec_rec_intents(r, IRLLREC_USERS, ids, 2, p), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_intents: ids[1] = 9 not in [0, 9)"));
    int32_t iv[K];
    irllrec_explanation ex = {.struct_size = sizeof ex, .intents = iv};
    ck_assert_int_eq(irllrec_rec_explain(r, 0, I, 1, &ex), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_explain: item = 11 not in [0, 11)"));
    ck_assert_int_eq(irllrec_rec_explain(r, -1, 0, 1, &ex), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "user = -1"));
    ck_assert_int_eq(irllrec_rec_explain(r, 0, 0, K + 1, &ex), IRLLREC_E_INVALID_ARG);
    const int32_t bad_items[2] = {3, -2};
    ck_assert_int_eq(irllrec_rec_fold_in(r, bad_items, 2, out), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_fold_in: items[1] = -2 not in [0, 11)"));
    ck_assert_int_eq(irllrec_rec_add_user(r, bad_items, 2, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_rec_add_user(r, bad_items, 0, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(irllrec_rec_intent_exemplars(r, 2, 1, iv, NULL), IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "side = 2"));
    /* NaN in row 2 of the profile text: named, nothing written, nothing added */
    float t[3 * DP];
    fill(t, 3 * DP, 1.0f);
    t[2 * DP + 1] = NAN;
    fill(out, 3 * D, 1.0f);
    memcpy(keep, out, sizeof out);
    const irllrec_cmat none = {NULL, 0, 0, 0};
    ck_assert_int_eq(irllrec_rec_embed_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(t, 3, DP), none,
                                            irllrec_mat_dense(out, 3, D)),
                     IRLLREC_E_NUMERIC);
    ck_assert(msg_has(f.ctx, "irllrec_rec_embed_text: profile[2][1] is not finite"));
    ck_assert(memcmp(keep, out, sizeof out) == 0);
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, irllrec_cmat_dense(t, 3, DP),
                                               none, NULL),
                     IRLLREC_E_NUMERIC);
    ck_assert(msg_has(f.ctx, "irllrec_rec_add_from_text: profile[2][1] is not finite"));
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
    fx_free(&f);
}
END_TEST

START_TEST(create_refuses_bad_embeddings_and_mismatched_hooks)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = (irllrec_rec *)&f;  /* must come back NULL */
    irllrec_rec_spec s = fx_spec(&f, 1);
    f.ef[(U + 3) * D + 2] = INFINITY;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_NUMERIC);
    ck_assert_ptr_null(r);
    ck_assert(msg_has(f.ctx, "irllrec_rec_create: spec->item_emb[3][2] is not finite"));
    f.ef[(U + 3) * D + 2] = 0.5f;
    s.item_emb.rows = I - 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_SHAPE);
    s = fx_spec(&f, 1);
    s.user_emb.cols = D - 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_SHAPE);
    s = fx_spec(&f, 1);
    f.lay[L * N * D - 1] = NAN;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_NUMERIC);
    ck_assert(msg_has(f.ctx, "spec->layers[1]"));
    f.lay[L * N * D - 1] = 0.0f;
    s.hook = NULL;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_INVALID_ARG);
    s = fx_spec(&f, 1);
    s.reserved0 = 1;
    ck_assert_int_eq(irllrec_rec_create(f.ctx, &s, &r), IRLLREC_E_INVALID_ARG);
    ck_assert_ptr_null(r);
    fx_free(&f);
}
END_TEST

START_TEST(create_survives_every_allocation_failure)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec_spec s = fx_spec(&f, 1);
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
    fx_free(&f);
}
END_TEST

/* ---- recommend through rank.h ------------------------------------------------------ */

/* Items of unit norm (so s_i = 1) and user 0 = 3 x the direction the profile
 * tower gives text S: the item added from S is e = s n(p(S)), the only
 * candidate at cosine 1 with user 0, so by construction its best, at score
 * 3 s = 3 (to float rounding). */
START_TEST(an_item_added_from_text_is_recommended_at_once)
{
    fx f;
    fx_make(&f, 1);
    irllrec_mlp *prf = own_tower(&f, "prf", DP);
    float S[DP], v[D], emb[N * D];
    fill(S, DP, 2.0f);
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
    irllrec_rec_spec s = fx_spec(&f, 1);
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
    close_rel(sc[0], 3.0, 1e-5, "score of the new item");
    ck_assert(sc[1] < sc[0]);
    irllrec_mlp_free(prf);
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

static int listed(const int32_t *ids, int n, int32_t id)
{
    for (int t = 0; t < n; t++)
        if (ids[t] == id) return 1;
    return 0;
}

START_TEST(seen_items_and_an_added_users_items_are_excluded)
{
    fx f;
    fx_make(&f, 1);
    irllrec_rec *r = fx_rec(&f, 1);
    int32_t ids[I], cnt = -1, uid = -1;
    const int32_t items[3] = {5, 2, 5};
    irllrec_rank_opts all;
    irllrec_rank_opts_init(&all, sizeof all);
    all.flags = IRLLREC_RANK_INCLUDE_SEEN;
    /* user 0 saw items 0 and 3 (the fixture's TRAIN pattern) */
    const int32_t u0 = 0;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, NULL, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 2 && !listed(ids, cnt, 0) && !listed(ids, cnt, 3));
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, &all, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I && listed(ids, cnt, 0) && listed(ids, cnt, 3));
    /* a folded-in user: its items (5 twice, 2) are its seen items */
    ck_assert_int_eq(irllrec_rec_add_user(r, items, 3, &uid), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_recommend(r, &uid, 1, I, NULL, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 2 && !listed(ids, cnt, 5) && !listed(ids, cnt, 2));
    ck_assert_int_eq(irllrec_rec_recommend(r, &uid, 1, I, &all, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I && listed(ids, cnt, 5) && listed(ids, cnt, 2));
    /* the caller's seen replaces the stored one */
    const int64_t ip[U + 2] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    const int32_t ix[1] = {7};
    irllrec_csr mine = {U + 1, I, 1, ip, ix};
    irllrec_rank_opts o;
    irllrec_rank_opts_init(&o, sizeof o);
    o.seen = &mine;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, I, &o, ids, NULL, &cnt), IRLLREC_OK);
    ck_assert(cnt == I - 1 && !listed(ids, cnt, 7) && listed(ids, cnt, 0));
    /* unknown ids name the recommender's function */
    const int32_t bad = U + 1;
    ck_assert_int_eq(irllrec_rec_recommend(r, &bad, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_recommend: users[0] = 10 not in [0, 10)"));
    ck_assert_int_eq(irllrec_rec_similar(r, IRLLREC_ITEMS, &bad, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_OK);
    const int32_t badi = I;
    ck_assert_int_eq(irllrec_rec_similar(r, IRLLREC_ITEMS, &badi, 1, 3, NULL, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_similar: ids[0] = 11 not in [0, 11)"));
    /* a rank.h refusal keeps its detail under our name */
    o.seen = NULL;
    o.flags = 1u << 7;
    ck_assert_int_eq(irllrec_rec_recommend(r, &u0, 1, 3, &o, ids, NULL, NULL),
                     IRLLREC_E_INVALID_ARG);
    ck_assert(msg_has(f.ctx, "irllrec_rec_recommend: opts->flags = 0x80"));
    irllrec_rec_free(r);
    fx_free(&f);
}
END_TEST

/* ---- allocation failures on the adds and the loader ---------------------------------- */

/* What a caller can see of r: its counts and both sides' embeddings. */
static void expect_unchanged(irllrec_rec *r, const float *ue, const float *ie, int64_t nu,
                             int64_t ni)
{
    irllrec_rec_info info = {.struct_size = sizeof info};
    irllrec_cmat eu, ei;
    ck_assert_int_eq(irllrec_rec_get_info(r, &info), IRLLREC_OK);
    ck_assert(info.n_users == nu && info.n_items == ni);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_USERS, &eu), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_ITEMS, &ei), IRLLREC_OK);
    ck_assert(memcmp(eu.data, ue, (size_t)(nu * D) * sizeof(float)) == 0);
    ck_assert(memcmp(ei.data, ie, (size_t)(ni * D) * sizeof(float)) == 0);
}

static void snapshot_rows(irllrec_rec *r, float *ue, float *ie)
{
    irllrec_cmat eu, ei;
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_USERS, &eu), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_embeddings(r, IRLLREC_ITEMS, &ei), IRLLREC_OK);
    memcpy(ue, eu.data, (size_t)(eu.rows * D) * sizeof(float));
    memcpy(ie, ei.data, (size_t)(ei.rows * D) * sizeof(float));
}

/* Every allocation of 12 add_from_text and 12 add_user calls fails once in
 * turn (both sides outgrow their first capacity of 16 rows): E_NOMEM and
 * nothing visible changes; then the loader the same way, from a fresh
 * context each time, leaking nothing. */
START_TEST(adds_and_load_survive_every_allocation_failure)
{
    fx f;
    fx_make(&f, 1);
    tu_alloc_state st = {0};
    irllrec_ctx *c = tu_ctx_counting(&st);
    irllrec_rec_spec s = fx_spec(&f, 1);
    irllrec_rec *r = NULL;
    ck_assert_int_eq(irllrec_rec_create(c, &s, &r), IRLLREC_OK);
    static float ue[64 * D], ie[64 * D];
    const irllrec_cmat none = {NULL, 0, 0, 0};
    const int32_t items[3] = {1, 8, 1};
    int64_t nu = U, ni = I, fails = 0;
    for (int round = 0; round < 24; round++) {
        snapshot_rows(r, ue, ie);
        for (int64_t k = 1;; k++) {
            st.fail_at = st.n_alloc + k;
            const irllrec_status rc =
                round % 2 == 0
                    ? irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none,
                                                irllrec_cmat_dense(f.txt[3], 1, DT), NULL)
                    : irllrec_rec_add_user(r, items, 3, NULL);
            st.fail_at = 0;
            if (rc == IRLLREC_OK) break;
            ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
            expect_unchanged(r, ue, ie, nu, ni);
            fails++;
        }
        if (round % 2 == 0) ni++;
        else nu++;
    }
    ck_assert_int_gt(fails, 24);
    char *dir = tu_tmpdir(), path[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    ck_assert_int_eq(irllrec_rec_save(r, path), IRLLREC_OK);
    irllrec_rec_free(r);
    irllrec_ctx_free(c);
    ck_assert_int_eq(st.live_bytes, 0);
    for (int64_t at = 2;; at++) {
        tu_alloc_state ls = {0};
        ls.fail_at = at;
        irllrec_ctx *lc = tu_ctx_counting(&ls);
        irllrec_rec *lr = NULL;
        const irllrec_status rc = irllrec_rec_load(lc, path, &lr);
        irllrec_rec_free(lr);
        irllrec_ctx_free(lc);
        ck_assert_int_eq(ls.live_bytes, 0);
        if (rc == IRLLREC_OK) break;
        ck_assert_int_eq(rc, IRLLREC_E_NOMEM);
        ck_assert_ptr_null(lr);
    }
    tu_tmpdir_free(dir);
    fx_free(&f);
}
END_TEST

/* ---- save / load ------------------------------------------------------------------------ */

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    ck_assert_uint_eq(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

/* Every answer of a and b, compared bit for bit. */
static void same_answers(irllrec_rec *a, irllrec_rec *b, fx *f)
{
    irllrec_rec_info ia = {.struct_size = sizeof ia}, ib = {.struct_size = sizeof ib};
    ck_assert_int_eq(irllrec_rec_get_info(a, &ia), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_get_info(b, &ib), IRLLREC_OK);
    ck_assert(memcmp(&ia, &ib, sizeof ia) == 0);
    for (int side = 0; side < 2; side++) {
        irllrec_cmat ea, eb;
        ck_assert_int_eq(irllrec_rec_embeddings(a, side, &ea), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_embeddings(b, side, &eb), IRLLREC_OK);
        ck_assert(ea.rows == eb.rows &&
                  memcmp(ea.data, eb.data, (size_t)(ea.rows * D) * sizeof(float)) == 0);
        for (int32_t id = 0; id < ea.rows; id++) {
            float pa[K], pb[K];
            ck_assert_int_eq(irllrec_rec_intents(a, side, &id, 1, pa), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_intents(b, side, &id, 1, pb), IRLLREC_OK);
            ck_assert(memcmp(pa, pb, sizeof pa) == 0);
        }
        int32_t xa[K * 3], xb[K * 3];
        float sa[K * 3], sb[K * 3];
        ck_assert_int_eq(irllrec_rec_intent_exemplars(a, side, 3, xa, sa), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_intent_exemplars(b, side, 3, xb, sb), IRLLREC_OK);
        ck_assert(memcmp(xa, xb, sizeof xa) == 0 && memcmp(sa, sb, sizeof sa) == 0);
        float oa[2 * D], ob[2 * D];
        const irllrec_cmat none = {NULL, 0, 0, 0};
        ck_assert_int_eq(irllrec_rec_embed_text(a, side, irllrec_cmat_dense(f->txt[0], 2, DP),
                                                none, irllrec_mat_dense(oa, 2, D)), IRLLREC_OK);
        ck_assert_int_eq(irllrec_rec_embed_text(b, side, irllrec_cmat_dense(f->txt[0], 2, DP),
                                                none, irllrec_mat_dense(ob, 2, D)), IRLLREC_OK);
        ck_assert(memcmp(oa, ob, sizeof oa) == 0);
    }
    for (int32_t u = 0; u < ia.n_users; u++)
        for (int32_t i = 0; i < ia.n_items; i++) {
            int32_t ka[K], kb[K];
            double sha[K], shb[K], ca[K], cb[K];
            irllrec_explanation xa = {sizeof xa, 0, 0, 0, ka, sha, ca};
            irllrec_explanation xb = {sizeof xb, 0, 0, 0, kb, shb, cb};
            ck_assert_int_eq(irllrec_rec_explain(a, u, i, K, &xa), IRLLREC_OK);
            ck_assert_int_eq(irllrec_rec_explain(b, u, i, K, &xb), IRLLREC_OK);
            ck_assert(xa.score == xb.score && xa.residual == xb.residual);
            ck_assert(memcmp(ka, kb, sizeof ka) == 0 && memcmp(sha, shb, sizeof sha) == 0 &&
                      memcmp(ca, cb, sizeof ca) == 0);
        }
    int32_t users[U + 1], ra[(U + 1) * 5], rb[(U + 1) * 5], ca[U + 1], cb[U + 1];
    float sa[(U + 1) * 5], sb[(U + 1) * 5];
    for (int32_t u = 0; u < ia.n_users; u++) users[u] = u;
    ck_assert_int_le(ia.n_users, U + 1);
    ck_assert_int_eq(irllrec_rec_recommend(a, users, ia.n_users, 5, NULL, ra, sa, ca), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_recommend(b, users, ia.n_users, 5, NULL, rb, sb, cb), IRLLREC_OK);
    const size_t nr = (size_t)ia.n_users * 5;
    ck_assert(memcmp(ra, rb, nr * 4) == 0 && memcmp(sa, sb, nr * 4) == 0 &&
              memcmp(ca, cb, (size_t)ia.n_users * 4) == 0);
    ck_assert_int_eq(irllrec_rec_similar(a, IRLLREC_ITEMS, users, 4, 5, NULL, ra, sa, ca),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_similar(b, IRLLREC_ITEMS, users, 4, 5, NULL, rb, sb, cb),
                     IRLLREC_OK);
    ck_assert(memcmp(ra, rb, 20 * 4) == 0 && memcmp(sa, sb, 20 * 4) == 0);
    const int32_t items[3] = {0, 5, 10};
    float fa[D], fb[D];
    ck_assert_int_eq(irllrec_rec_fold_in(a, items, 3, fa), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_fold_in(b, items, 3, fb), IRLLREC_OK);
    ck_assert(memcmp(fa, fb, sizeof fa) == 0);
}

/* A recommender with a text item and a folded-in user added, saved. */
static irllrec_rec *saved_rec(fx *f, const char *path)
{
    irllrec_rec *r = fx_rec(f, 1);
    const irllrec_cmat none = {NULL, 0, 0, 0};
    const int32_t items[2] = {2, 6};
    ck_assert_int_eq(irllrec_rec_add_from_text(r, IRLLREC_ITEMS, none,
                                               irllrec_cmat_dense(f->txt[3], 2, DT), NULL),
                     IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_add_user(r, items, 2, NULL), IRLLREC_OK);
    ck_assert_int_eq(irllrec_rec_save(r, path), IRLLREC_OK);
    return r;
}

START_TEST(save_then_load_gives_identical_answers)
{
    fx f;
    fx_make(&f, 1);
    char *dir = tu_tmpdir(), path[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    irllrec_rec *a = saved_rec(&f, path), *b = NULL;
    ck_assert_int_eq(irllrec_rec_load(f.ctx, path, &b), IRLLREC_OK);
    same_answers(a, b, &f);
    /* and a second save of the loaded one is the same file */
    char path2[512];
    tu_join(path2, sizeof path2, dir, "m2.irlm");
    ck_assert_int_eq(irllrec_rec_save(b, path2), IRLLREC_OK);
    size_t n1, n2;
    unsigned char *b1 = read_bytes(path, &n1), *b2 = read_bytes(path2, &n2);
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1);
    free(b2);
    irllrec_rec_free(a);
    irllrec_rec_free(b);
    tu_tmpdir_free(dir);
    fx_free(&f);
}
END_TEST

/* One edit of a saved model: a metadata int64 (key, value), or one element
 * of a section (name, element, value: f32 or u64 by the section's dtype). */
typedef struct edit {
    const char *key;
    int64_t value;
    const char *section;
    int64_t element;
    double x;
} edit;

static void copy_meta(const irllrec_model *m, irllrec_model *o, const edit *e)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++) {
        uint32_t t;
        const char *k = irllrec_model_meta_key(m, i, &t);
        int64_t v;
        double x;
        char s[128];
        if (t == IRLLREC_MODEL_META_I64) {
            ck_assert_int_eq(irllrec_model_get_meta_i64(m, k, &v), IRLLREC_OK);
            if (e->key != NULL && strcmp(k, e->key) == 0) v = e->value;
            ck_assert_int_eq(irllrec_model_add_meta_i64(o, k, v), IRLLREC_OK);
        } else if (t == IRLLREC_MODEL_META_F64) {
            ck_assert_int_eq(irllrec_model_get_meta_f64(m, k, &x), IRLLREC_OK);
            ck_assert_int_eq(irllrec_model_add_meta_f64(o, k, x), IRLLREC_OK);
        } else {
            ck_assert_int_eq(irllrec_model_get_meta_str(m, k, s, sizeof s, NULL), IRLLREC_OK);
            if (e->key != NULL && strcmp(k, e->key) == 0) snprintf(s, sizeof s, "other-kind");
            ck_assert_int_eq(irllrec_model_add_meta_str(o, k, s), IRLLREC_OK);
        }
    }
}

/* Rewrite src into dst with one edit: the checksums are right, the content is not. */
static void save_edited(irllrec_ctx *ctx, const char *src, const char *dst, edit e)
{
    irllrec_model *m = NULL, *o = NULL;
    ck_assert_int_eq(irllrec_model_load(ctx, src, NULL, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_create(ctx, &o), IRLLREC_OK);
    copy_meta(m, o, &e);
    for (int32_t i = 0; i < irllrec_model_section_count(m); i++) {
        uint32_t kind, dt, fl;
        int32_t nd;
        int64_t dims[4], cnt = 1;
        const char *name = irllrec_model_section_name(m, i);
        const int hit = e.section != NULL && strcmp(name, e.section) == 0;
        ck_assert_int_eq(irllrec_model_section_info(m, i, &kind, &dt, &fl, &nd, dims), IRLLREC_OK);
        for (int q = 0; q < nd; q++) cnt *= dims[q];
        void *buf = malloc((size_t)cnt * 8);
        if (dt == IRLLREC_MODEL_F32) {
            ck_assert_int_eq(irllrec_model_get_f32(m, name, 0, NULL, buf, cnt), IRLLREC_OK);
            if (hit) ((float *)buf)[e.element] = (float)e.x;
            ck_assert_int_eq(irllrec_model_add_tensor(o, kind, name, buf, nd, dims, fl),
                             IRLLREC_OK);
        } else {
            ck_assert_int_eq(irllrec_model_get_u64(m, name, buf, cnt), IRLLREC_OK);
            if (hit) ((uint64_t *)buf)[e.element] = (uint64_t)e.x;
            ck_assert_int_eq(irllrec_model_add_u64s(o, kind, name, buf, cnt, fl), IRLLREC_OK);
        }
        free(buf);
    }
    ck_assert_int_eq(irllrec_model_save(o, dst), IRLLREC_OK);
    irllrec_model_free(m);
    irllrec_model_free(o);
}

static void expect_refused(irllrec_ctx *ctx, const char *path, irllrec_status want,
                           const char *msg)
{
    irllrec_rec *r = (irllrec_rec *)ctx;
    ck_assert_int_eq(irllrec_rec_load(ctx, path, &r), want);
    ck_assert_ptr_null(r);
    ck_assert_msg(msg_has(ctx, msg), "message \"%s\" lacks \"%s\"", irllrec_ctx_errmsg(ctx), msg);
    ck_assert(msg_has(ctx, "irllrec_rec_load: "));
}

START_TEST(damaged_or_foreign_files_are_refused_with_what_is_wrong)
{
    fx f;
    fx_make(&f, 1);
    char *dir = tu_tmpdir(), path[512], bad[512];
    tu_join(path, sizeof path, dir, "m.irlm");
    tu_join(bad, sizeof bad, dir, "bad.irlm");
    irllrec_rec *a = saved_rec(&f, path);
    size_t n;
    unsigned char *img = read_bytes(path, &n);
    write_bytes(bad, img, n / 2);
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "file_size");
    img[n - 5] ^= 0x10;  /* a bit in the last payload */
    write_bytes(bad, img, n);
    expect_refused(f.ctx, bad, IRLLREC_E_CHECKSUM, "checksum mismatch in section");
    save_edited(f.ctx, path, bad, (edit){"serve.n_items", I + 3, NULL, 0, 0});
    /* 13 = I + the 2 text items stored; the edited metadata says 14 */
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT,
                   "section \"serve.item_emb\" is 13 x 4 (ndim 2), the metadata says 14 x 4");
    /* content a checksum cannot vouch for */
    save_edited(f.ctx, path, bad, (edit){"serve.version", 2, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_VERSION, "serve.version = 2");
    save_edited(f.ctx, path, bad, (edit){"serve.kind", 0, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "serve.kind is not the string");
    save_edited(f.ctx, path, bad, (edit){"serve.n_intents", 0, NULL, 0, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "serve.n_intents = 0, serve.intent_dim = 6");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.user_emb", 5, NAN});
    expect_refused(f.ctx, bad, IRLLREC_E_NUMERIC, "\"serve.user_emb\": element 5 is not finite");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.probs.item", 4, 0.9});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "\"serve.probs.item\": row 1 is not a");
    /* user 0's TRAIN row is {0, 3}: make it {0, 0} */
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indices", 1, 0});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "row 0, entry 1 = 0 is not an item id above");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indices", 1, I + 2});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "row 0, entry 1 = 13");
    save_edited(f.ctx, path, bad, (edit){NULL, 0, "serve.seen.indptr", 1, 30});
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT,
                   "\"serve.seen.indptr\": row 0 spans offsets 0..30");
    /* a hook checkpoint is a valid .irlm, but not a serving model */
    irllrec_model *m = NULL;
    ck_assert_int_eq(irllrec_model_create(f.ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_export(f.h, m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_save(m, bad), IRLLREC_OK);
    irllrec_model_free(m);
    expect_refused(f.ctx, bad, IRLLREC_E_FORMAT, "a hook checkpoint");
    tu_join(bad, sizeof bad, dir, "absent.irlm");
    expect_refused(f.ctx, bad, IRLLREC_E_IO, "absent.irlm");
    free(img);
    irllrec_rec_free(a);
    tu_tmpdir_free(dir);
    fx_free(&f);
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
    tcase_add_test(tc, adds_and_load_survive_every_allocation_failure);
    tcase_add_test(tc, an_item_added_from_text_is_recommended_at_once);
    tcase_add_test(tc, seen_items_and_an_added_users_items_are_excluded);
    tcase_add_test(tc, save_then_load_gives_identical_answers);
    tcase_add_test(tc, damaged_or_foreign_files_are_refused_with_what_is_wrong);
    suite_add_tcase(s, tc);
    return s;
}
