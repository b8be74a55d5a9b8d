/* See dist_fixture.h. */
#include "dist_fixture.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "hookio.h"

enum { U = DF_U, I = DF_I, N = DF_N, D = DF_D, L = DF_L, B = DF_B, STEPS = DF_STEPS };

#define TRY(x)                                       \
    do {                                             \
        const irllrec_status st_ = (x);              \
        if (st_ != IRLLREC_OK) return st_;           \
    } while (0)

void df_make_world(df_world *w)
{
    uint64_t s = 12345;
    tu_fill(&s, w->ef, N * D, 2.0f);
    tu_fill(&s, w->lay, L * N * D, 2.0f);
    for (int t = 0; t < 4; t++) tu_fill(&s, w->txt[t], U * DF_DT, 2.0f);
    int64_t k = 0;
    for (int a = 0; a < N; a++) {
        w->ip[a] = k;
        for (int b = 0; b < N; b++) {
            const int ua = a < U, ub = b < U;
            if (ua != ub && (a + 2 * b) % 3 == 0) w->ix[k++] = b;
        }
    }
    w->ip[N] = k;
}

void df_micro_batch(int s, int r, int32_t *u, int32_t *p, int32_t *n)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL * (uint64_t)(s * 7 + r + 1);
    for (int b = 0; b < B; b++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        u[b] = (int32_t)(x % U);
        p[b] = (int32_t)((x >> 20) % I);
        n[b] = (int32_t)((p[b] + 1 + (x >> 40) % (I - 1)) % I);
    }
}

irllrec_status df_setup(irllrec_hook *h, const df_world *w)
{
    irllrec_csr g = {N, N, w->ip[N], w->ip, w->ix};
    TRY(irllrec_hook_set_graph(h, &g));
    const int dims[4] = {DF_DP, DF_DP, DF_DT, DF_DT};
    for (int t = 0; t < 4; t++)
        TRY(irllrec_hook_set_text(h, t, irllrec_cmat_dense(w->txt[t], t % 2 ? I : U, dims[t])));
    /* strong weights so every term moves the parameters */
    TRY(irllrec_hook_set_param(h, IRLLREC_HOOK_W_TRAN, 0.5));
    TRY(irllrec_hook_set_param(h, IRLLREC_HOOK_W_ITM, 0.5));
    TRY(irllrec_hook_set_param(h, IRLLREC_HOOK_W_KD, 0.5));
    TRY(irllrec_hook_set_param(h, IRLLREC_HOOK_REG, 1e-3));
    return irllrec_hook_set_param(h, IRLLREC_HOOK_LR, 1e-2);
}

irllrec_hook *df_make_hook(irllrec_ctx *ctx, const df_world *w, uint64_t seed)
{
    return df_make_hook_sharded(ctx, w, seed, NULL);
}

int32_t df_text_precision = IRLLREC_HOOK_TEXT_FP32;
int32_t df_reduce_rows = DF_REDUCE_ROWS;

void df_spec(irllrec_hook_spec *s, uint64_t seed)
{
    irllrec_hook_spec_init(s, sizeof *s);
    s->n_users = U;
    s->n_items = I;
    s->dim = D;
    s->n_intents = 3;
    s->n_layers = L;
    s->max_batch = B;
    s->profile_dim = DF_DP;
    s->intent_dim = DF_DT;
    s->text_precision = df_text_precision;
    s->reduce_rows = df_reduce_rows;
    s->seed = seed;
}

irllrec_hook *df_make_hook_sharded(irllrec_ctx *ctx, const df_world *w, uint64_t seed,
                                   const irllrec_collective *c)
{
    irllrec_hook_spec s;
    df_spec(&s, seed);
    irllrec_hook *h = NULL;
    const irllrec_status st =
        c ? irllrec_hook_create_sharded(ctx, &s, c, &h) : irllrec_hook_create(ctx, &s, &h);
    if (st != IRLLREC_OK) return NULL;
    if (df_setup(h, w) != IRLLREC_OK) {
        irllrec_hook_free(h);
        return NULL;
    }
    return h;
}

static irllrec_status compute(irllrec_hook *h, const df_world *w, int s, int r, float *gf,
                              irllrec_hook_losses *lv)
{
    int32_t u[B], p[B], n[B];
    df_micro_batch(s, r, u, p, n);
    tu_hookio io;
    tu_hookio_init(&io, U, I, D, w->ef, gf, L, w->lay, NULL);
    const irllrec_hook_batch bt = {B, u, p, n};
    lv->struct_size = sizeof *lv;
    return irllrec_hook_compute(h, &bt, &io.in, &io.grads, 0, lv);
}

irllrec_status df_step(irllrec_hook *h, const df_world *w, int s, int r, float *gf,
                       irllrec_hook_losses *lv)
{
    TRY(compute(h, w, s, r, gf, lv));
    return irllrec_hook_apply(h, 0);
}

void df_take_losses(df_trace *t, int s, const irllrec_hook_losses *lv)
{
    const double v[6] = {lv->total, lv->kd, lv->pair, lv->tran, lv->itm, lv->reg};
    memcpy(t->loss[s], v, sizeof v);
}

int df_take_blocks(df_trace *t, irllrec_hook *h)
{
    const int nb = irllrec_hook_block_count(h);
    if (nb < 0 || nb > DF_MAXBLK) return -1;
    for (int i = 0; i < nb; i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        if (irllrec_hook_get_block(h, i, &b) != IRLLREC_OK) return -1;
        t->n[i] = b.rows * b.cols;
        t->blk[i] = malloc((size_t)t->n[i] * sizeof(float));
        t->grd[i] = b.trainable ? malloc((size_t)t->n[i] * sizeof(float)) : NULL;
        t->nb = i + 1;
        if (t->blk[i] == NULL || (b.trainable && t->grd[i] == NULL)) return -1;
        memcpy(t->blk[i], b.data, (size_t)t->n[i] * sizeof(float));
        if (b.trainable) memcpy(t->grd[i], b.grad, (size_t)t->n[i] * sizeof(float));
    }
    return 0;
}

void df_trace_free(df_trace *t)
{
    for (int i = 0; i < t->nb; i++) {
        free(t->blk[i]);
        free(t->grd[i]);
    }
    memset(t, 0, sizeof *t);
}

int df_same_params(const df_trace *a, const df_trace *b)
{
    if (a->nb != b->nb) return 0;
    for (int i = 0; i < a->nb; i++)
        if (a->n[i] != b->n[i] || memcmp(a->blk[i], b->blk[i], (size_t)a->n[i] * 4) != 0) return 0;
    return 1;
}

int df_same_bits(const df_trace *a, const df_trace *b)
{
    return df_same_params_grads(a, b) && memcmp(a->loss, b->loss, sizeof a->loss) == 0;
}

int df_same_params_grads(const df_trace *a, const df_trace *b)
{
    if (!df_same_params(a, b)) return 0;
    for (int i = 0; i < a->nb; i++)
        if ((a->grd[i] != NULL) != (b->grd[i] != NULL) ||
            (a->grd[i] != NULL && memcmp(a->grd[i], b->grd[i], (size_t)a->n[i] * 4) != 0))
            return 0;
    return 1;
}

static double max_rel(const float *a, const float *b, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t j = 0; j < n; j++) {
        num = fmax(num, fabs((double)a[j] - b[j]));
        den = fmax(den, fabs((double)b[j]));
    }
    return num / (den > 0 ? den : 1.0);
}

double df_rel_diff(const df_trace *a, const df_trace *b)
{
    if (a->nb != b->nb) return INFINITY;
    double worst = 0.0;
    for (int s = 0; s < STEPS; s++)
        for (int k = 0; k < 6; k++) {
            const double den = fabs(b->loss[s][k]) > 1e-30 ? fabs(b->loss[s][k]) : 1.0;
            worst = fmax(worst, fabs(a->loss[s][k] - b->loss[s][k]) / den);
        }
    for (int i = 0; i < a->nb; i++) {
        worst = fmax(worst, max_rel(a->blk[i], b->blk[i], a->n[i]));
        if (a->grd[i] != NULL && b->grd[i] != NULL)
            worst = fmax(worst, max_rel(a->grd[i], b->grd[i], a->n[i]));
    }
    return worst;
}

/* The reference's state: the hook, its trainable blocks, the averaged
 * gradients and the optimizer that steps them. */
typedef struct ref {
    irllrec_hook *h;
    int nt, ntr;
    irllrec_hook_block bl[DF_MAXBLK];
    int64_t sizes[DF_MAXBLK];
    float *acc[DF_MAXBLK], *params[DF_MAXBLK];
    irllrec_adam *adam;
} ref;

/* The hook, and with external set its trainable blocks, their gradient
 * sums and the Adam that steps them (the hook's own optimizer otherwise). */
static irllrec_status ref_open(ref *f, irllrec_ctx *ctx, const df_world *w, int external)
{
    f->h = df_make_hook(ctx, w, 7);
    if (f->h == NULL) return IRLLREC_E_INTERNAL;
    if (!external) return IRLLREC_OK;
    f->nt = irllrec_hook_block_count(f->h);
    for (int i = 0; i < f->nt; i++) {
        f->bl[i].struct_size = sizeof f->bl[i];
        TRY(irllrec_hook_get_block(f->h, i, &f->bl[i]));
        if (!f->bl[i].trainable) continue;
        f->sizes[f->ntr] = f->bl[i].rows * f->bl[i].cols;
        f->acc[f->ntr] = calloc((size_t)f->sizes[f->ntr], sizeof(float));
        if (f->acc[f->ntr] == NULL) return IRLLREC_E_NOMEM;
        f->params[f->ntr++] = f->bl[i].data;
    }
    irllrec_adam_spec as;
    irllrec_adam_spec_init(&as, sizeof as);
    as.lr = 1e-2;  /* the hook's lr in df_make_hook; betas and eps are the defaults of both */
    return irllrec_adam_create(ctx, &as, f->sizes, f->ntr, &f->adam);
}

static void ref_close(ref *f)
{
    for (int j = 0; j < f->ntr; j++) free(f->acc[j]);
    irllrec_adam_free(f->adam);
    irllrec_hook_free(f->h);
}

/* acc (+)= this compute's gradients: rank 0 assigns, the others add. */
static irllrec_status ref_accumulate(ref *f, int r)
{
    for (int i = 0, j = 0; i < f->nt; i++) {
        if (!f->bl[i].trainable) continue;
        TRY(irllrec_hook_get_block(f->h, i, &f->bl[i]));
        for (int64_t e = 0; e < f->sizes[j]; e++)
            f->acc[j][e] = r == 0 ? f->bl[i].grad[e] : f->acc[j][e] + f->bl[i].grad[e];
        j++;
    }
    return IRLLREC_OK;
}

/* One step of p micro-batches: their gradients and losses averaged in rank
 * order, then the external Adam. */
static irllrec_status ref_step_mean(ref *f, const df_world *w, int s, int32_t p, float *gf,
                                    df_trace *t)
{
    irllrec_status st = IRLLREC_OK;
    double lsum[6] = {0};
    irllrec_hook_losses lv;
    for (int32_t r = 0; r < p && st == IRLLREC_OK; r++) {
        st = compute(f->h, w, s, r, gf, &lv);
        if (st == IRLLREC_OK) st = ref_accumulate(f, r);
        const double v[6] = {lv.total, lv.kd, lv.pair, lv.tran, lv.itm, lv.reg};
        for (int k = 0; k < 6; k++) lsum[k] += v[k];
    }
    for (int k = 0; k < 6; k++) t->loss[s][k] = lsum[k] / p;
    for (int j = 0; j < f->ntr; j++)
        for (int64_t e = 0; e < f->sizes[j]; e++) f->acc[j][e] /= (float)p;
    if (st == IRLLREC_OK)
        st = irllrec_adam_step(f->adam, f->params, (const float *const *)f->acc);
    if (st == IRLLREC_OK) st = irllrec_hook_apply(f->h, IRLLREC_HOOK_APPLY_EXTERNAL_OPTIM);
    return st;
}

/* Both references: p micro-batches a step through the external Adam, or
 * (p 0) step s's global batch df_micro_batch(s, 0) through the hook's own
 * optimizer. gf accumulates the host's gradients of every step. */
static irllrec_status reference(const df_world *w, int32_t p, df_trace *t, float *gf)
{
    irllrec_ctx *ctx = NULL;
    irllrec_ctx_spec cs;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = 1;
    TRY(irllrec_ctx_create(&cs, &ctx));
    ref f;
    memset(&f, 0, sizeof f);
    irllrec_status st = ref_open(&f, ctx, w, p > 0);
    for (int s = 0; s < STEPS && st == IRLLREC_OK; s++) {
        if (p > 0) {
            st = ref_step_mean(&f, w, s, p, gf, t);
        } else {
            irllrec_hook_losses lv;
            st = df_step(f.h, w, s, 0, gf, &lv);
            if (st == IRLLREC_OK) df_take_losses(t, s, &lv);
        }
    }
    if (st == IRLLREC_OK && df_take_blocks(t, f.h) != 0) st = IRLLREC_E_NOMEM;
    /* the gradient the last step used is the mean, not the last compute's */
    for (int i = 0, j = 0; st == IRLLREC_OK && p > 0 && i < t->nb; i++)
        if (t->grd[i] != NULL) {
            memcpy(t->grd[i], f.acc[j], (size_t)f.sizes[j] * sizeof(float));
            j++;
        }
    ref_close(&f);
    irllrec_ctx_free(ctx);
    return st;
}

irllrec_status df_reference(const df_world *w, int32_t p, df_trace *t)
{
    float *gf = calloc(N * D, sizeof(float));
    if (gf == NULL) return IRLLREC_E_NOMEM;
    const irllrec_status st = reference(w, p, t, gf);
    free(gf);
    return st;
}

irllrec_status df_reference_global(const df_world *w, df_trace *t, float *gf)
{
    return reference(w, 0, t, gf);
}
