/* The serving suites' fixture (test_serve.c, test_serve_rec.c): a small
 * hook with text and a graph, trained a few steps on synthetic data, and the
 * recommender built from its embeddings. */
#include "helpers/serve_fx.h"
#include <check.h>
#include <math.h>
#include <string.h>
#include "helpers/testutil.h"

uint64_t sfx_rs;

static const int64_t TXT_ROWS[4] = {U, I, U, I}, TXT_COLS[4] = {DP, DP, DT, DT};

static void set_graph(sfx *f)
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
void sfx_make(sfx *f, int with_intent_text)
{
    irllrec_hook_spec s;
    memset(f, 0, sizeof *f);
    sfx_rs = 88172645463325252ull;
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
        tu_fill(&sfx_rs, f->txt[w], TXT_ROWS[w] * TXT_COLS[w], 1.0f);
        if (w >= 2 && !with_intent_text) continue;
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(
                                                            f->txt[w], TXT_ROWS[w], TXT_COLS[w])),
                         IRLLREC_OK);
    }
    set_graph(f);
    tu_fill(&sfx_rs, f->ef, N * D, 1.0f);
    tu_fill(&sfx_rs, f->lay, L * N * D, 1.0f);
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

void sfx_free(sfx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
}

irllrec_rec_spec sfx_spec(sfx *f, int layers)
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

irllrec_rec *sfx_rec(sfx *f, int layers)
{
    irllrec_rec_spec s = sfx_spec(f, layers);
    irllrec_rec *r = NULL;
    ck_assert_int_eq(irllrec_rec_create(f->ctx, &s, &r), IRLLREC_OK);
    return r;
}

int sfx_msg_has(irllrec_ctx *ctx, const char *s)
{
    return strstr(irllrec_ctx_errmsg(ctx), s) != NULL;
}

void sfx_close_rel(double got, double want, double tol, const char *what)
{
    ck_assert_msg(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s: got %.9g, want %.9g",
                  what, got, want);
}
