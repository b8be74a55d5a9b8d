/* hook_minimal: plug the IRLLRec hook into a recommender you already have.
 *
 * The host is plain matrix factorisation trained with BPR and SGD. Its user
 * and item embeddings stay its own; the hook only adds loss terms and their
 * gradients. The "LLM" embeddings here are random stand-ins (no LLM runs in
 * this example): the point is the wiring, not the numbers. Graph-free mode:
 * MF has no per-layer embeddings, so n_layers = 0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <irllrec/irllrec.h>

enum { U = 60, I = 90, D = 16, DP = 24, DT = 32, B = 32, STEPS = 300 };

static float frand(void) { return (float)rand() / (float)RAND_MAX - 0.5f; }

static float *randm(int64_t n, float scale)
{
    float *m = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) m[i] = scale * frand();
    return m;
}

/* BPR on one triple: loss softplus(s- - s+), gradients added into gu, gi. */
static double bpr(const float *eu, const float *ep, const float *en, float *gu, float *gp,
                  float *gn, float scale)
{
    double x = 0.0;
    for (int c = 0; c < D; c++) x += (double)eu[c] * (double)(en[c] - ep[c]);
    const float sig = (float)(1.0 / (1.0 + exp(-x)));  /* d softplus(x) / dx */
    for (int c = 0; c < D; c++) {
        gu[c] += scale * sig * (en[c] - ep[c]);
        gp[c] -= scale * sig * eu[c];
        gn[c] += scale * sig * eu[c];
    }
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

int main(void)
{
    srand(7);
    float *eu = randm(U * D, 0.2f), *ei = randm(I * D, 0.2f);
    float *gu = calloc(U * D, sizeof(float)), *gi = calloc(I * D, sizeof(float));
    float *sp_u = randm(U * DP, 1), *sp_i = randm(I * DP, 1);  /* profile stand-ins */
    float *st_u = randm(U * DT, 1), *st_i = randm(I * DT, 1);  /* intent stand-ins */
    int32_t users[B], pos[B], neg[B];

    /* ---- the integration: create once, then one call per training step ---- */
    irllrec_ctx *ctx = NULL;
    irllrec_hook *hook = NULL;
    irllrec_hook_spec spec;
    irllrec_hook_spec_init(&spec, sizeof spec);
    spec.n_users = U;
    spec.n_items = I;
    spec.dim = D;
    spec.n_intents = 8;
    spec.max_batch = B;
    spec.profile_dim = DP;
    spec.intent_dim = DT;
    if (irllrec_ctx_create(NULL, &ctx) != IRLLREC_OK ||
        irllrec_hook_create(ctx, &spec, &hook) != IRLLREC_OK ||
        irllrec_hook_set_text(hook, IRLLREC_HOOK_USER_PROFILE, irllrec_cmat_dense(sp_u, U, DP)) ||
        irllrec_hook_set_text(hook, IRLLREC_HOOK_ITEM_PROFILE, irllrec_cmat_dense(sp_i, I, DP)) ||
        irllrec_hook_set_text(hook, IRLLREC_HOOK_USER_INTENT, irllrec_cmat_dense(st_u, U, DT)) ||
        irllrec_hook_set_text(hook, IRLLREC_HOOK_ITEM_INTENT, irllrec_cmat_dense(st_i, I, DT))) {
        fprintf(stderr, "hook setup: %s\n", irllrec_ctx_errmsg(ctx));
        return 1;
    }
    for (int step = 0; step < STEPS; step++) {
        memset(gu, 0, U * D * sizeof(float));           /* the host zeroes its gradients */
        memset(gi, 0, I * D * sizeof(float));
        double loss = 0.0;
        for (int b = 0; b < B; b++) {                    /* toy data: user u likes items u..u+9 */
            users[b] = rand() % U;
            pos[b] = (users[b] + rand() % 10) % I;
            neg[b] = (users[b] + 10 + rand() % (I - 10)) % I;
            loss += bpr(eu + users[b] * D, ei + pos[b] * D, ei + neg[b] * D, gu + users[b] * D,
                        gi + pos[b] * D, gi + neg[b] * D, 1.0f / B) / B;
        }
        irllrec_hook_losses hl = {.struct_size = sizeof hl};
        const irllrec_hook_batch batch = {B, users, pos, neg};
        const irllrec_hook_inputs in = {irllrec_cmat_dense(eu, U, D), irllrec_cmat_dense(ei, I, D),
                                        NULL};                 /* no per-layer E(l): no graph */
        const irllrec_hook_grads grads = {sizeof grads, IRLLREC_HOOK_GRAD_DENSE,
                                          irllrec_mat_dense(gu, U, D), irllrec_mat_dense(gi, I, D),
                                          NULL};
        irllrec_status st = irllrec_hook_step(hook, &batch, &in, &grads, &hl);
        if (st != IRLLREC_OK) {                          /* nothing was changed: skip or stop */
            fprintf(stderr, "hook step: %s\n", irllrec_ctx_errmsg(ctx));
            return 1;
        }
        for (int k = 0; k < U * D; k++) eu[k] -= 4.0f * gu[k];  /* the host's own optimizer */
        for (int k = 0; k < I * D; k++) ei[k] -= 4.0f * gi[k];
        if (step % 50 == 0 || step == STEPS - 1)
            printf("step %3d  bpr %.4f  hook %.5f (kd %.4f pair %.4f)\n", step, loss, hl.total,
                   hl.kd, hl.pair);
    }
    irllrec_hook_free(hook);
    irllrec_ctx_free(ctx);
    free(eu); free(ei); free(gu); free(gi); free(sp_u); free(sp_i); free(st_u); free(st_i);
    return 0;
}
