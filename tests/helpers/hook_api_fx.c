/* The hook API suites' fixture (test_hook_api.c, test_hook_api_refuse.c): a
 * small hook with texts and a graph, and host buffers for its inputs and
 * gradients. */
#include "helpers/hook_api_fx.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

uint64_t hafx_rs = 88172645463325252ull;

/* The N x N pattern of a fixed interaction set, built by the library. */
static void set_graph(hafx *f)
{
    static const int64_t ip[U + 1] = {0, 2, 4, 5, 7, 8, 10, 11, 13, 14};
    static const int32_t ix[14] = {0, 3, 1, 4, 2, 0, 5, 6, 7, 8, 9, 1, 10, 2};
    const irllrec_csr r = {U, I, 14, ip, ix};
    irllrec_graph *g = NULL;
    irllrec_csr adj;
    ck_assert_int_eq(irllrec_graph_create(f->ctx, &r, &g), IRLLREC_OK);
    ck_assert_int_eq(irllrec_graph_adjacency(g, &adj), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_graph(f->h, &adj), IRLLREC_OK);
    irllrec_graph_free(g);
}

void hafx_make(hafx *f, int layers, uint64_t seed)
{
    irllrec_hook_spec s;
    memset(f, 0, sizeof *f);
    hafx_rs = 88172645463325252ull;
    f->ctx = tu_ctx_counting(&f->st);
    f->layers = layers;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U;
    s.n_items = I;
    s.dim = D;
    s.n_intents = K;
    s.n_layers = layers;
    s.max_batch = B;
    s.profile_dim = DP;
    s.intent_dim = DT;
    s.seed = seed;
    ck_assert_int_eq(irllrec_hook_create(f->ctx, &s, &f->h), IRLLREC_OK);
    const int64_t rows[4] = {U, I, U, I}, cols[4] = {DP, DP, DT, DT};
    for (int w = 0; w < 4; w++) {
        float *t = malloc((size_t)(rows[w] * cols[w]) * sizeof(float));
        tu_fill(&hafx_rs, t, rows[w] * cols[w], 1.0f);
        ck_assert_int_eq(irllrec_hook_set_text(f->h, w, irllrec_cmat_dense(t, rows[w], cols[w])),
                         IRLLREC_OK);
        free(t);
    }
    if (layers > 0) set_graph(f);
    /* graph-free hosts get translation and ITM too */
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "tran_itm_need_graph", 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "w_tran", 0.5), IRLLREC_OK);
    ck_assert_int_eq(irllrec_hook_set_param_by_name(f->h, "w_itm", 0.5), IRLLREC_OK);
    tu_fill(&hafx_rs, f->ef, N * D, 1.0f);
    tu_fill(&hafx_rs, f->lay, L * N * D, 1.0f);
    for (int l = 0; l < L; l++) {
        f->lv[l] = irllrec_cmat_dense(f->lay + l * N * D, N, D);
        f->lg[l] = irllrec_mat_dense(f->gl + l * N * D, N, D);
    }
    for (int b = 0; b < B; b++) {
        f->users[b] = (int32_t)((3 * b + 1) % U);
        f->pos[b] = (int32_t)((5 * b + 2) % I);
        f->neg[b] = (int32_t)((7 * b + 4) % I);
    }
}

void hafx_free(hafx *f)
{
    irllrec_hook_free(f->h);
    irllrec_ctx_free(f->ctx);
    ck_assert_int_eq(f->st.live_bytes, 0);
}

irllrec_hook_batch hafx_batch(const hafx *f)
{
    irllrec_hook_batch b = {B, f->users, f->pos, f->neg};
    return b;
}

irllrec_hook_inputs hafx_in(const hafx *f)
{
    irllrec_hook_inputs in = {irllrec_cmat_dense(f->ef, U, D),
                              irllrec_cmat_dense(f->ef + U * D, I, D),
                              f->layers > 0 ? f->lv : NULL};
    return in;
}

irllrec_hook_grads hafx_dense(hafx *f)
{
    irllrec_hook_grads g;
    memset(&g, 0, sizeof g);
    g.struct_size = sizeof g;
    g.mode = IRLLREC_HOOK_GRAD_DENSE;
    g.user_grad = irllrec_mat_dense(f->gf, U, D);
    g.item_grad = irllrec_mat_dense(f->gf + U * D, I, D);
    g.layer_grads = f->layers > 0 ? f->lg : NULL;
    return g;
}

irllrec_status hafx_compute(hafx *f, const irllrec_hook_grads *g, uint32_t flags,
                            irllrec_hook_losses *lv)
{
    const irllrec_hook_batch b = hafx_batch(f);
    const irllrec_hook_inputs in = hafx_in(f);
    lv->struct_size = sizeof *lv;
    return irllrec_hook_compute(f->h, &b, &in, g, flags, lv);
}

/* Every block's data, concatenated (malloc'd). */
float *hafx_snapshot(irllrec_hook *h, int64_t *n)
{
    int64_t total = 0;
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b = {.struct_size = sizeof b};
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        total += b.rows * b.cols;
    }
    float *out = malloc((size_t)total * sizeof(float)), *p = out;
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b = {.struct_size = sizeof b};
        ck_assert_int_eq(irllrec_hook_get_block(h, i, &b), IRLLREC_OK);
        memcpy(p, b.data, (size_t)(b.rows * b.cols) * sizeof(float));
        p += b.rows * b.cols;
    }
    *n = total;
    return out;
}

int hafx_msg_has(irllrec_ctx *ctx, const char *s)
{
    return strstr(irllrec_ctx_errmsg(ctx), s) != NULL;
}
