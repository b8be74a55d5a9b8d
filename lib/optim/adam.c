/* Adam / AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019) over a fixed list
 * of parameter blocks. The moments live in one allocation made at create. */
#include <math.h>
#include <string.h>
#include "../internal.h"
#include "adam_internal.h"

struct irllrec_adam {
    irllrec_ctx *ctx;
    irllrec_adam_spec spec;
    int64_t t;
    int32_t n_blocks;
    int64_t total;   /* sum of block sizes */
    int64_t *offs;   /* n_blocks + 1 prefix offsets into m and v */
    float *m;        /* first moments, total floats */
    float *v;        /* second moments, total floats (same allocation as m) */
};

void irllrec_adam_spec_init(irllrec_adam_spec *spec, uint32_t struct_size)
{
    static const irllrec_adam_spec d = {
        .lr = 1e-3,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .weight_decay = 0.0};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static irllrec_status check_lr(irllrec_ctx *ctx, const char *func, double lr)
{
    if (!(lr > 0.0) || !isfinite(lr))
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func,
                             "lr = %.17g: must be finite and > 0", lr);
    return IRLLREC_OK;
}

static irllrec_status check_spec(irllrec_ctx *ctx, const char *func, const irllrec_adam_spec *s)
{
    IRL_CHECK_FN(ctx, func, s->reserved0 == 0, IRLLREC_E_INVALID_ARG,
                 "reserved0 = %d: must be zero", (int)s->reserved0);
    IRL_TRY(check_lr(ctx, func, s->lr));
    /* Written so that NaN fails every test. */
    IRL_CHECK_FN(ctx, func, s->beta1 >= 0.0 && s->beta1 < 1.0, IRLLREC_E_INVALID_ARG,
                 "beta1 = %.17g: must be in [0, 1)", s->beta1);
    IRL_CHECK_FN(ctx, func, s->beta2 >= 0.0 && s->beta2 < 1.0, IRLLREC_E_INVALID_ARG,
                 "beta2 = %.17g: must be in [0, 1)", s->beta2);
    IRL_CHECK_FN(ctx, func, s->eps > 0.0 && isfinite(s->eps), IRLLREC_E_INVALID_ARG,
                 "eps = %.17g: must be finite and > 0", s->eps);
    IRL_CHECK_FN(ctx, func, s->weight_decay >= 0.0 && isfinite(s->weight_decay),
                 IRLLREC_E_INVALID_ARG, "weight_decay = %.17g: must be finite and >= 0",
                 s->weight_decay);
    return IRLLREC_OK;
}

static size_t offs_bytes(int32_t n_blocks) { return ((size_t)n_blocks + 1) * sizeof(int64_t); }

static size_t moments_bytes(int64_t total) { return (size_t)total * 2u * sizeof(float); }

int64_t irllrec__adam_bytes(int32_t n_blocks, int64_t total)
{
    return (int64_t)(sizeof(irllrec_adam) + offs_bytes(n_blocks) + moments_bytes(total));
}

irllrec_status irllrec_adam_create(irllrec_ctx *ctx, const irllrec_adam_spec *spec,
                                   const int64_t *sizes, int32_t n_blocks, irllrec_adam **out)
{
    irllrec_adam_spec s;
    irllrec_adam *a;
    int64_t total = 0;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    *out = NULL;
    if (spec == NULL)
        irllrec_adam_spec_init(&s, (uint32_t)sizeof s);
    else
        IRL_TRY(irllrec__copy_spec(ctx, __func__, &s, sizeof s, spec));
    IRL_TRY(check_spec(ctx, __func__, &s));
    IRL_CHECK(ctx, n_blocks > 0, IRLLREC_E_INVALID_ARG, "n_blocks = %d: must be > 0",
              (int)n_blocks);
    IRL_CHECK(ctx, sizes != NULL, IRLLREC_E_INVALID_ARG, "sizes is NULL");
    for (int32_t b = 0; b < n_blocks; b++) {
        IRL_CHECK(ctx, sizes[b] > 0, IRLLREC_E_INVALID_ARG, "sizes[%d] = %lld: must be > 0",
                  (int)b, (long long)sizes[b]);
        /* m and v together must fit in size_t bytes. */
        IRL_CHECK(ctx, sizes[b] <= (int64_t)(SIZE_MAX / 8u) - total, IRLLREC_E_SHAPE,
                  "the block sizes sum to more than the address space holds");
        total += sizes[b];
    }
    a = (irllrec_adam *)irllrec__calloc_fn(ctx, __func__, 1, sizeof *a);
    if (a == NULL) return IRLLREC_E_NOMEM;
    a->ctx = ctx;
    a->spec = s;
    a->n_blocks = n_blocks;
    a->total = total;
    a->offs = (int64_t *)irllrec__alloc_fn(ctx, __func__, offs_bytes(n_blocks));
    a->m = (float *)irllrec__calloc_fn(ctx, __func__, (size_t)total * 2u, sizeof(float));
    if (a->offs == NULL || a->m == NULL) {
        irllrec_adam_free(a);
        return IRLLREC_E_NOMEM;
    }
    a->v = a->m + total;
    a->offs[0] = 0;
    for (int32_t b = 0; b < n_blocks; b++) a->offs[b + 1] = a->offs[b] + sizes[b];
    *out = a;
    return IRLLREC_OK;
}

void irllrec_adam_free(irllrec_adam *adam)
{
    irllrec_ctx *ctx;
    if (adam == NULL) return;
    ctx = adam->ctx;
    if (adam->offs != NULL) irllrec__free(ctx, adam->offs, offs_bytes(adam->n_blocks));
    if (adam->m != NULL) irllrec__free(ctx, adam->m, moments_bytes(adam->total));
    irllrec__free(ctx, adam, sizeof *adam);
}

/* m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 * p = decay p - alpha m / (sqrt(c2 v) + eps), with alpha = lr / (1 - b1^t),
 * c2 = 1 / (1 - b2^t), decay = 1 - lr wd (decoupled decay, AdamW: the decay
 * uses the parameter before this step's update, as PyTorch and ggml do). */
/* Vectorises only with -fno-math-errno (sqrtf must not set errno); the
 * project flags leave math-errno on, so it runs scalar for now. */
static void adam_kernel(int64_t n, float *restrict p, const float *restrict g,
                        float *restrict m, float *restrict v, float b1, float omb1, float b2,
                        float omb2, float alpha, float c2, float eps, float decay)
{
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + omb1 * gi;
        float vi = b2 * v[i] + omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = decay * p[i] - alpha * mi / (sqrtf(c2 * vi) + eps);
    }
}

irllrec_status irllrec_adam_step(irllrec_adam *adam, float *const *params,
                                 const float *const *grads)
{
    const irllrec_adam_spec *s;
    double t1, bc1, bc2;
    float b1, omb1, b2, omb2, alpha, c2, eps, decay;
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(adam->ctx, params != NULL && grads != NULL, IRLLREC_E_INVALID_ARG,
              "params and grads must not be NULL");
    for (int32_t b = 0; b < adam->n_blocks; b++)
        IRL_CHECK(adam->ctx, params[b] != NULL && grads[b] != NULL, IRLLREC_E_INVALID_ARG,
                  "params[%d] or grads[%d] is NULL", (int)b, (int)b);
    IRL_CHECK(adam->ctx, adam->t < INT64_MAX, IRLLREC_E_STATE, "step counter overflow");
    s = &adam->spec;
    /* Bias corrections once per step, in double (1 - b^t loses all digits in
     * float once b^t is near 1, i.e. for b2 = 0.999 over the first steps). */
    t1 = (double)(adam->t + 1);
    bc1 = 1.0 - pow(s->beta1, t1);
    bc2 = 1.0 - pow(s->beta2, t1);
    b1 = (float)s->beta1;
    omb1 = (float)(1.0 - s->beta1);
    b2 = (float)s->beta2;
    omb2 = (float)(1.0 - s->beta2);
    alpha = (float)(s->lr / bc1);
    c2 = (float)(1.0 / bc2);
    eps = (float)s->eps;
    decay = (float)(1.0 - s->lr * s->weight_decay);
    for (int32_t b = 0; b < adam->n_blocks; b++) {
        int64_t o = adam->offs[b];
        adam_kernel(adam->offs[b + 1] - o, params[b], grads[b], adam->m + o, adam->v + o, b1,
                    omb1, b2, omb2, alpha, c2, eps, decay);
    }
    adam->t++;
    return IRLLREC_OK;
}

irllrec_status irllrec_adam_set_lr(irllrec_adam *adam, double lr)
{
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_lr(adam->ctx, __func__, lr));
    adam->spec.lr = lr;
    return IRLLREC_OK;
}

irllrec_status irllrec_adam_set_hparams(irllrec_adam *adam, const irllrec_adam_spec *spec)
{
    irllrec_adam_spec s;
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(adam->ctx, spec != NULL, IRLLREC_E_INVALID_ARG, "spec is NULL");
    IRL_TRY(irllrec__copy_spec(adam->ctx, __func__, &s, sizeof s, spec));
    IRL_TRY(check_spec(adam->ctx, __func__, &s));
    adam->spec = s;
    return IRLLREC_OK;
}

int64_t irllrec_adam_steps(const irllrec_adam *adam)
{
    return adam == NULL ? -1 : adam->t;
}

irllrec_status irllrec_adam_state_size(const irllrec_adam *adam, int64_t *n_floats)
{
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(adam->ctx, n_floats != NULL, IRLLREC_E_INVALID_ARG, "n_floats is NULL");
    *n_floats = 2 * adam->total;
    return IRLLREC_OK;
}

irllrec_status irllrec_adam_get_state(const irllrec_adam *adam, int64_t *t, float *state,
                                      int64_t n_floats)
{
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(adam->ctx, t != NULL && state != NULL, IRLLREC_E_INVALID_ARG,
              "t and state must not be NULL");
    IRL_CHECK(adam->ctx, n_floats == 2 * adam->total, IRLLREC_E_SHAPE,
              "n_floats = %lld but the state holds %lld floats", (long long)n_floats,
              (long long)(2 * adam->total));
    *t = adam->t;
    memcpy(state, adam->m, moments_bytes(adam->total)); /* m then v: one allocation */
    return IRLLREC_OK;
}

irllrec_status irllrec_adam_set_state(irllrec_adam *adam, int64_t t, const float *state,
                                      int64_t n_floats)
{
    int64_t n;
    if (adam == NULL) return IRLLREC_E_INVALID_ARG;
    n = adam->total;
    IRL_CHECK(adam->ctx, state != NULL, IRLLREC_E_INVALID_ARG, "state is NULL");
    IRL_CHECK(adam->ctx, t >= 0, IRLLREC_E_INVALID_ARG, "t = %lld: must be >= 0", (long long)t);
    IRL_CHECK(adam->ctx, n_floats == 2 * n, IRLLREC_E_SHAPE,
              "n_floats = %lld but the state holds %lld floats", (long long)n_floats,
              (long long)(2 * n));
    for (int64_t i = 0; i < n; i++)
        IRL_CHECK(adam->ctx, isfinite(state[i]), IRLLREC_E_NUMERIC,
                  "first moment %lld is not finite", (long long)i);
    for (int64_t i = 0; i < n; i++)
        IRL_CHECK(adam->ctx, isfinite(state[n + i]) && state[n + i] >= 0.0f, IRLLREC_E_NUMERIC,
                  "second moment %lld = %g: must be finite and >= 0", (long long)i,
                  (double)state[n + i]);
    memcpy(adam->m, state, moments_bytes(n));
    adam->t = t;
    return IRLLREC_OK;
}

int32_t irllrec__adam_n_blocks(const irllrec_adam *adam) { return adam->n_blocks; }

void irllrec__adam_moments(const irllrec_adam *adam, int32_t b, float **m, float **v,
                           int64_t *n)
{
    int64_t o = adam->offs[b];
    *m = adam->m + o;
    *v = adam->v + o;
    *n = adam->offs[b + 1] - o;
}
