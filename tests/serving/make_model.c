/* The serving model the snippets of docs/serving.md run on ("Each call in C,
 * C++ and Python"): 6 users, 8 items, d = 4, K = 3 intents, text of D = 5
 * (profile and intent), a graph-free hook with that text, two seen items per
 * user. Values come from fixed formulas, so every run writes the same model.
 * Usage: irllrec_snippet_model PATH. Exit 0 once PATH is written. */
#include <math.h>
#include <stdio.h>

#include <irllrec/irllrec.h>
#include <irllrec/serve.h>

enum { U = 6, I = 8, D = 4, K = 3, T = 5 };

static void fill(float *a, int rows, int cols, float f, float g)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            a[r * cols + c] = sinf(f * (float)r + g * (float)c + 0.3f);
}

static irllrec_status make_hook(irllrec_ctx *ctx, irllrec_hook **out)
{
    static float tu[U * T], ti[I * T], zu[U * T], zi[I * T];
    irllrec_hook_spec s;
    irllrec_hook_spec_init(&s, sizeof s);
    s.n_users = U, s.n_items = I, s.dim = D, s.n_intents = K, s.n_layers = 0;
    s.max_batch = 8, s.profile_dim = T, s.intent_dim = T;
    fill(tu, U, T, 1.1f, 0.7f), fill(ti, I, T, 0.8f, 1.9f);
    fill(zu, U, T, 2.3f, 0.4f), fill(zi, I, T, 0.6f, 2.9f);
    irllrec_status st = irllrec_hook_create(ctx, &s, out);
    if (st == IRLLREC_OK) st = irllrec_hook_set_text(*out, IRLLREC_HOOK_USER_PROFILE,
                                                     irllrec_cmat_dense(tu, U, T));
    if (st == IRLLREC_OK) st = irllrec_hook_set_text(*out, IRLLREC_HOOK_ITEM_PROFILE,
                                                     irllrec_cmat_dense(ti, I, T));
    if (st == IRLLREC_OK) st = irllrec_hook_set_text(*out, IRLLREC_HOOK_USER_INTENT,
                                                     irllrec_cmat_dense(zu, U, T));
    if (st == IRLLREC_OK) st = irllrec_hook_set_text(*out, IRLLREC_HOOK_ITEM_INTENT,
                                                     irllrec_cmat_dense(zi, I, T));
    return st;
}

static irllrec_status save_model(irllrec_ctx *ctx, const irllrec_hook *hook, const char *path)
{
    static float eu[U * D], ei[I * D];
    int64_t indptr[U + 1];
    int32_t indices[2 * U];
    fill(eu, U, D, 0.9f, 1.7f), fill(ei, I, D, 1.3f, 0.5f);
    for (int u = 0; u < U; u++) {  /* user u has seen items u and u + 2 */
        indptr[u] = 2 * u;
        indices[2 * u] = u, indices[2 * u + 1] = u + 2;
    }
    indptr[U] = 2 * U;
    irllrec_csr seen = {U, I, 2 * U, indptr, indices};
    irllrec_rec_spec spec;
    irllrec_rec_spec_init(&spec, sizeof spec);
    spec.user_emb = irllrec_cmat_dense(eu, U, D), spec.item_emb = irllrec_cmat_dense(ei, I, D);
    spec.seen = &seen, spec.hook = hook;
    irllrec_rec *rec = NULL;
    irllrec_status st = irllrec_rec_create(ctx, &spec, &rec);
    if (st == IRLLREC_OK) st = irllrec_rec_save(rec, path);
    irllrec_rec_free(rec);
    return st;
}

int main(int argc, char **argv)
{
    irllrec_ctx *ctx = NULL;
    irllrec_hook *hook = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: irllrec_snippet_model PATH\n");
        return 2;
    }
    irllrec_status st = irllrec_ctx_create(NULL, &ctx);
    if (st == IRLLREC_OK) st = make_hook(ctx, &hook);
    if (st == IRLLREC_OK) st = save_model(ctx, hook, argv[1]);
    if (st != IRLLREC_OK)
        fprintf(stderr, "irllrec_snippet_model: %s\n",
                ctx != NULL ? irllrec_ctx_errmsg(ctx) : "irllrec_ctx_create failed");
    irllrec_hook_free(hook);
    irllrec_ctx_free(ctx);
    return st == IRLLREC_OK ? 0 : 1;
}
