/* The trained recommender: create from a host's embeddings (and a hook),
 * free, shapes, the row storage that grows as users and items are added. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rec_impl.h"
#include "../hook/hook_serve.h"
#include "../tower/tower.h"
#include "../ops/ops.h"

#define FN_CREATE "irllrec_rec_create"

void irllrec_rec_spec_init(irllrec_rec_spec *spec, uint32_t struct_size)
{
    static const irllrec_rec_spec d = {0};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

static size_t fsz(int64_t rows, int64_t cols)
{
    return (size_t)rows * (size_t)cols * sizeof(float);
}

void irllrec_rec_free(irllrec_rec *r)
{
    if (r == NULL) return;
    irllrec_ctx *ctx = r->ctx;
    for (int s = 0; s < 2; s++) {
        irllrec__rec_side *sd = &r->side[s];
        irllrec__free(ctx, sd->emb, fsz(sd->cap, r->d));
        irllrec__free(ctx, sd->probs, fsz(sd->cap, r->K));
        irllrec__free(ctx, sd->z, fsz(sd->cap, r->d));
        irllrec__free(ctx, r->proto[s], fsz(r->d, r->K));
    }
    irllrec__free(ctx, r->seen_ptr, (size_t)(r->side[0].cap + 1) * sizeof(int64_t));
    irllrec__free(ctx, r->seen_idx, (size_t)r->seen_cap * sizeof(int32_t));
    irllrec_mlp_free(r->prf);
    irllrec_mlp_free(r->intm);
    irllrec__free(ctx, r, sizeof *r);
}

irllrec_rec *irllrec__rec_new(irllrec_ctx *ctx, const char *func, int64_t d, int64_t K,
                              int64_t Dp, int64_t Dt)
{
    irllrec_rec *r = (irllrec_rec *)irllrec__calloc_fn(ctx, func, 1, sizeof *r);
    if (r == NULL) return NULL;
    r->ctx = ctx;
    r->d = d;
    r->K = K;
    r->Dp = Dp;
    r->Dt = Dt;
    r->seen_ptr = (int64_t *)irllrec__calloc_fn(ctx, func, 1, sizeof(int64_t));
    if (K > 0)
        for (int s = 0; s < 2; s++)
            r->proto[s] = (float *)irllrec__calloc_fn(ctx, func, 1, fsz(d, K));
    if (r->seen_ptr == NULL || (K > 0 && (r->proto[0] == NULL || r->proto[1] == NULL))) {
        irllrec_rec_free(r);
        return NULL;
    }
    return r;
}

/* Move the first n rows of old (cap_old rows of w floats) into a new block. */
static void move_rows(float *dst, const float *src, int64_t n, int64_t w)
{
    if (src != NULL && n > 0) memcpy(dst, src, fsz(n, w));
}

irllrec_status irllrec__rec_reserve(irllrec_rec *r, const char *func, int s, int64_t rows)
{
    irllrec__rec_side *sd = &r->side[s];
    if (rows > INT32_MAX - sd->n)
        return irllrec__fail(r->ctx, IRLLREC_E_SHAPE, func,
                             "%lld more rows would pass INT32_MAX ids", (long long)rows);
    if (sd->n + rows <= sd->cap) return IRLLREC_OK;
    int64_t cap = sd->cap * 2 > sd->n + rows ? sd->cap * 2 : sd->n + rows;
    if (cap < 16) cap = 16;
    if (cap > INT32_MAX) cap = INT32_MAX;
    float *emb = (float *)irllrec__alloc_fn(r->ctx, func, fsz(cap, r->d));
    float *pr = r->K > 0 ? (float *)irllrec__calloc_fn(r->ctx, func, 1, fsz(cap, r->K)) : NULL;
    float *z = r->has_z ? (float *)irllrec__calloc_fn(r->ctx, func, 1, fsz(cap, r->d)) : NULL;
    int64_t *sp = s == IRLLREC_USERS
                      ? (int64_t *)irllrec__calloc_fn(r->ctx, func, (size_t)cap + 1, 8)
                      : NULL;
    if (emb == NULL || (r->K > 0 && pr == NULL) || (r->has_z && z == NULL) ||
        (s == IRLLREC_USERS && sp == NULL)) {
        irllrec__free(r->ctx, emb, fsz(cap, r->d));
        irllrec__free(r->ctx, pr, fsz(cap, r->K));
        irllrec__free(r->ctx, z, fsz(cap, r->d));
        irllrec__free(r->ctx, sp, ((size_t)cap + 1) * 8);
        return IRLLREC_E_NOMEM;
    }
    move_rows(emb, sd->emb, sd->n, r->d);
    move_rows(pr, sd->probs, sd->n, r->K);
    move_rows(z, sd->z, sd->n, r->d);
    irllrec__free(r->ctx, sd->emb, fsz(sd->cap, r->d));
    irllrec__free(r->ctx, sd->probs, fsz(sd->cap, r->K));
    irllrec__free(r->ctx, sd->z, fsz(sd->cap, r->d));
    if (sp != NULL) {
        memcpy(sp, r->seen_ptr, ((size_t)sd->n + 1) * 8);
        for (int64_t u = sd->n + 1; u <= cap; u++) sp[u] = sp[sd->n];
        irllrec__free(r->ctx, r->seen_ptr, ((size_t)sd->cap + 1) * 8);
        r->seen_ptr = sp;
    }
    sd->emb = emb;
    sd->probs = pr;
    sd->z = z;
    sd->cap = cap;
    return IRLLREC_OK;
}

irllrec_status irllrec__rec_reserve_seen(irllrec_rec *r, const char *func, int64_t nnz)
{
    const int64_t used = r->seen_ptr[r->side[0].n];
    if (used + nnz <= r->seen_cap) return IRLLREC_OK;
    int64_t cap = r->seen_cap * 2 > used + nnz ? r->seen_cap * 2 : used + nnz;
    int32_t *ix = (int32_t *)irllrec__alloc_fn(r->ctx, func, (size_t)cap * sizeof(int32_t));
    if (ix == NULL) return IRLLREC_E_NOMEM;
    if (used > 0) memcpy(ix, r->seen_idx, (size_t)used * sizeof(int32_t));
    irllrec__free(r->ctx, r->seen_idx, (size_t)r->seen_cap * sizeof(int32_t));
    r->seen_idx = ix;
    r->seen_cap = cap;
    return IRLLREC_OK;
}

irllrec_csr irllrec__rec_seen(const irllrec_rec *r)
{
    const int64_t U = r->side[0].n;
    irllrec_csr c = {U, r->side[1].n, r->seen_ptr[U], r->seen_ptr, r->seen_idx};
    return c;
}

irllrec_status irllrec__rec_check_side(const irllrec_rec *r, const char *func, int32_t side)
{
    IRL_CHECK_FN(r->ctx, func, side == IRLLREC_USERS || side == IRLLREC_ITEMS,
                 IRLLREC_E_INVALID_ARG, "side = %d is not IRLLREC_USERS (0) or IRLLREC_ITEMS (1)",
                 (int)side);
    return IRLLREC_OK;
}

irllrec_status irllrec__rec_tower(irllrec_ctx *ctx, int32_t in_dim, int32_t hidden, int32_t out,
                                  float slope, irllrec_mlp **out_mlp)
{
    irllrec_mlp_spec ms;
    irllrec_mlp_spec_init(&ms, (uint32_t)sizeof ms);
    ms.in_dim = in_dim;
    ms.hidden_dim = hidden;
    ms.out_dim = out;
    ms.leaky_slope = slope;
    ms.max_rows = IRLLREC__REC_TOWER_ROWS;
    return irllrec__mlp_create(ctx, &ms, 0, out_mlp);
}

/* ---- create ------------------------------------------------------------- */

static irllrec_status check_emb(irllrec_ctx *ctx, const char *name, irllrec_cmat e)
{
    IRL_TRY(irllrec__check_cmat(ctx, FN_CREATE, name, e));
    IRL_CHECK_FN(ctx, FN_CREATE, e.rows <= INT32_MAX, IRLLREC_E_SHAPE,
                 "%s has %lld rows: ids are int32", name, (long long)e.rows);
    return irllrec__check_finite_mat(ctx, FN_CREATE, name, irllrec__mat_of(e));
}

static irllrec_status check_hook(irllrec_ctx *ctx, const irllrec_rec_spec *s,
                                 const irllrec__hook_serve *v)
{
    const int64_t U = s->user_emb.rows, I = s->item_emb.rows, d = s->user_emb.cols;
    IRL_CHECK_FN(ctx, FN_CREATE, v->U == U && v->I == I && v->d == d, IRLLREC_E_SHAPE,
                 "the hook is for U = %lld, I = %lld, d = %lld; the embeddings are %lld x %lld "
                 "and %lld x %lld", (long long)v->U, (long long)v->I, (long long)v->d,
                 (long long)U, (long long)d, (long long)I, (long long)s->item_emb.cols);
    if (s->layers == NULL) return IRLLREC_OK;
    IRL_CHECK_FN(ctx, FN_CREATE, v->n_layers > 0, IRLLREC_E_INVALID_ARG,
                 "spec->layers is given but the hook is graph-free (n_layers = 0)");
    IRL_CHECK_FN(ctx, FN_CREATE, v->K > 0, IRLLREC_E_INVALID_ARG,
                 "spec->layers is given but the hook has no intent tower (intent_dim = 0)");
    for (int64_t l = 0; l < v->n_layers; l++) {
        char name[40];
        snprintf(name, sizeof name, "spec->layers[%lld]", (long long)l);
        IRL_TRY(irllrec__check_cmat(ctx, FN_CREATE, name, s->layers[l]));
        IRL_CHECK_FN(ctx, FN_CREATE, s->layers[l].rows == U + I && s->layers[l].cols == d,
                     IRLLREC_E_SHAPE, "%s is %lld x %lld, expected N x d = %lld x %lld", name,
                     (long long)s->layers[l].rows, (long long)s->layers[l].cols,
                     (long long)(U + I), (long long)d);
        IRL_TRY(irllrec__check_finite_mat(ctx, FN_CREATE, name, irllrec__mat_of(s->layers[l])));
    }
    return IRLLREC_OK;
}

static irllrec_status check_spec(irllrec_ctx *ctx, const irllrec_rec_spec *s)
{
    IRL_CHECK_FN(ctx, FN_CREATE, s->reserved0 == 0, IRLLREC_E_INVALID_ARG,
                 "spec->reserved0 = %d must be 0", (int)s->reserved0);
    IRL_TRY(check_emb(ctx, "spec->user_emb", s->user_emb));
    IRL_TRY(check_emb(ctx, "spec->item_emb", s->item_emb));
    IRL_CHECK_FN(ctx, FN_CREATE, s->user_emb.cols == s->item_emb.cols, IRLLREC_E_SHAPE,
                 "spec->user_emb has d = %lld columns, spec->item_emb %lld",
                 (long long)s->user_emb.cols, (long long)s->item_emb.cols);
    IRL_CHECK_FN(ctx, FN_CREATE, s->user_emb.cols <= INT32_MAX, IRLLREC_E_SHAPE,
                 "d = %lld does not fit int32", (long long)s->user_emb.cols);
    if (s->seen != NULL)
        IRL_TRY(irllrec__check_csr(ctx, FN_CREATE, "spec->seen", s->seen, s->user_emb.rows,
                                   s->item_emb.rows));
    if (s->hook == NULL)
        IRL_CHECK_FN(ctx, FN_CREATE, s->layers == NULL, IRLLREC_E_INVALID_ARG,
                     "spec->layers is given without a hook");
    return IRLLREC_OK;
}

static double mean_norm(const float *e, int64_t n, int64_t d)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double q = 0.0;
        for (int64_t j = 0; j < d; j++) q += (double)e[i * d + j] * (double)e[i * d + j];
        s += sqrt(q);
    }
    return n > 0 ? s / (double)n : 0.0;
}

static void copy_side(irllrec_rec *r, int s, irllrec_cmat e)
{
    irllrec__rec_side *sd = &r->side[s];
    for (int64_t i = 0; i < e.rows; i++)
        memcpy(sd->emb + i * r->d, e.data + i * e.ld, (size_t)r->d * sizeof(float));
    sd->n = e.rows;
    sd->norm = mean_norm(sd->emb, sd->n, r->d);
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Rows are kept sorted and distinct: the ranking excludes them by search. */
static irllrec_status copy_seen(irllrec_rec *r, const irllrec_csr *seen)
{
    IRL_TRY(irllrec__rec_reserve_seen(r, FN_CREATE, seen->nnz));
    int64_t w = 0;
    r->seen_ptr[0] = 0;
    for (int64_t u = 0; u < seen->n_rows; u++) {
        const int64_t a = seen->indptr[u], n = seen->indptr[u + 1] - a, w0 = w;
        if (n > 0) memcpy(r->seen_idx + w, seen->indices + a, (size_t)n * sizeof(int32_t));
        qsort(r->seen_idx + w0, (size_t)n, sizeof(int32_t), cmp_i32);
        for (int64_t q = 0; q < n; q++)
            if (w == w0 || r->seen_idx[w0 + q] != r->seen_idx[w - 1])
                r->seen_idx[w++] = r->seen_idx[w0 + q];
        r->seen_ptr[u + 1] = w;
    }
    r->has_seen = 1;
    return IRLLREC_OK;
}

/* A copy of one of the hook's towers, weights written straight into ours. */
static irllrec_status copy_tower(irllrec_rec *r, const irllrec_mlp *src, irllrec_mlp **dst,
                                 float *slope)
{
    irllrec_mlp_spec ms;
    irllrec__mlp_get_spec(src, &ms);
    IRL_TRY(irllrec__rec_tower(r->ctx, ms.in_dim, ms.hidden_dim, ms.out_dim, ms.leaky_slope, dst));
    irllrec__param *pb;
    int np;
    irllrec__mlp_params(*dst, &pb, &np);
    for (int i = 0; i < np; i++) {
        irllrec_mat m = {pb[i].data, pb[i].rows, pb[i].cols, pb[i].cols};
        if (irllrec_mlp_get_param(src, i, m) != IRLLREC_OK)
            return irllrec__fail(r->ctx, IRLLREC_E_INTERNAL, FN_CREATE,
                                 "copying text-tower block %d failed", i);
    }
    *slope = ms.leaky_slope;
    return IRLLREC_OK;
}

/* Each node's distribution: the mean over the tower's layer views of
 * softmax(E(l) C) (docs/serving.md); without views, of the final rows. */
static irllrec_status hook_probs(irllrec_rec *r, const irllrec_rec_spec *s, int64_t L)
{
    const int64_t U = r->side[0].n;
    if (s->layers == NULL) {
        for (int sd = 0; sd < 2; sd++)
            IRL_TRY(irllrec__rec_softmax_rows(r, FN_CREATE, r->side[sd].emb, r->d, r->side[sd].n,
                                              r->proto[sd], r->side[sd].probs, 0, 1.0f));
        return IRLLREC_OK;
    }
    const float inv = (float)(1.0 / (double)L);
    for (int64_t l = 0; l < L; l++) {
        const irllrec_cmat e = s->layers[l];
        IRL_TRY(irllrec__rec_softmax_rows(r, FN_CREATE, e.data, e.ld, U, r->proto[0],
                                          r->side[0].probs, l > 0, inv));
        IRL_TRY(irllrec__rec_softmax_rows(r, FN_CREATE, e.data + U * e.ld, e.ld, r->side[1].n,
                                          r->proto[1], r->side[1].probs, l > 0, inv));
    }
    return IRLLREC_OK;
}

/* A bf16 hook's intent text, widened to fp32 (exactly) one side at a time:
 * the served tower is the fp32 one, so serving needs no bf16 backend. */
static irllrec_status tower_bf16_text(irllrec_rec *r, const irllrec__hook_serve *v)
{
    const int64_t U = r->side[0].n, n_max = U > r->side[1].n ? U : r->side[1].n;
    const size_t bytes = (size_t)(n_max * r->Dt) * sizeof(float);
    float *x = (float *)irllrec__alloc_fn(r->ctx, FN_CREATE, bytes);
    if (x == NULL) return IRLLREC_E_NOMEM;
    irllrec_status st = IRLLREC_OK;
    for (int sd = 0; sd < 2 && st == IRLLREC_OK; sd++) {
        const int64_t n = r->side[sd].n;
        irllrec__bf16_to_f32(v->txt_int_bf16 + (sd ? U * r->Dt : 0), x, n * r->Dt);
        st = irllrec__rec_tower_rows(r, FN_CREATE, r->intm, irllrec_cmat_dense(x, n, r->Dt),
                                     r->side[sd].z, r->d);
    }
    irllrec__free(r->ctx, x, bytes);
    return st;
}

static irllrec_status from_hook(irllrec_rec *r, const irllrec_rec_spec *s,
                                const irllrec__hook_serve *v)
{
    if (v->prf != NULL) IRL_TRY(copy_tower(r, v->prf, &r->prf, &r->prf_slope));
    if (v->intm == NULL) return IRLLREC_OK;
    IRL_TRY(copy_tower(r, v->intm, &r->intm, &r->int_slope));
    memcpy(r->proto[0], v->proto_user, fsz(r->d, r->K));
    memcpy(r->proto[1], v->proto_item, fsz(r->d, r->K));
    IRL_TRY(hook_probs(r, s, v->n_layers));
    if (v->txt_int != NULL) {
        const int64_t U = r->side[0].n;
        IRL_TRY(irllrec__rec_tower_rows(r, FN_CREATE, r->intm,
                                        irllrec_cmat_dense(v->txt_int, U, r->Dt), r->side[0].z,
                                        r->d));
        return irllrec__rec_tower_rows(r, FN_CREATE, r->intm,
                                       irllrec_cmat_dense(v->txt_int + U * r->Dt, r->side[1].n,
                                                          r->Dt),
                                       r->side[1].z, r->d);
    }
    return v->txt_int_bf16 != NULL ? tower_bf16_text(r, v) : IRLLREC_OK;
}

static irllrec_status build(irllrec_rec *r, const irllrec_rec_spec *s,
                            const irllrec__hook_serve *v)
{
    for (int sd = 0; sd < 2; sd++) {
        const irllrec_cmat e = sd == 0 ? s->user_emb : s->item_emb;
        IRL_TRY(irllrec__rec_reserve(r, FN_CREATE, sd, e.rows));
        copy_side(r, sd, e);
    }
    if (s->seen != NULL) IRL_TRY(copy_seen(r, s->seen));
    return v != NULL ? from_hook(r, s, v) : IRLLREC_OK;
}

irllrec_status irllrec_rec_create(irllrec_ctx *ctx, const irllrec_rec_spec *spec,
                                  irllrec_rec **out)
{
    irllrec_rec_spec s;
    irllrec__hook_serve v;
    if (out != NULL) *out = NULL;
    IRL_TRY(irllrec__begin_create(ctx, __func__, out == NULL, spec, &s, sizeof s));
    IRL_TRY(check_spec(ctx, &s));
    if (s.hook != NULL) {
        irllrec__hook_serve_view(s.hook, &v);
        IRL_TRY(check_hook(ctx, &s, &v));
    }
    irllrec_rec *r = irllrec__rec_new(ctx, __func__, s.user_emb.cols, s.hook ? v.K : 0,
                                      s.hook ? v.Dp : 0, s.hook ? v.Dt : 0);
    if (r == NULL) return IRLLREC_E_NOMEM;
    r->has_z = s.hook != NULL && (v.txt_int != NULL || v.txt_int_bf16 != NULL);
    irllrec_status st = build(r, &s, s.hook != NULL ? &v : NULL);
    if (st != IRLLREC_OK) {
        irllrec_rec_free(r);
        return st;
    }
    *out = r;
    return IRLLREC_OK;
}

/* ---- shapes -------------------------------------------------------------- */

irllrec_status irllrec_rec_get_info(const irllrec_rec *r, irllrec_rec_info *out)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(r->ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    IRL_CHECK(r->ctx, out->struct_size >= 2 * sizeof(uint32_t), IRLLREC_E_VERSION,
              "out->struct_size = %u is too small (set it to sizeof(irllrec_rec_info))",
              out->struct_size);
    irllrec_rec_info i;
    memset(&i, 0, sizeof i);
    i.struct_size = out->struct_size < sizeof i ? out->struct_size : (uint32_t)sizeof i;
    i.dim = (int32_t)r->d;
    i.n_users = r->side[0].n;
    i.n_items = r->side[1].n;
    i.n_intents = (int32_t)r->K;
    i.profile_dim = r->prf != NULL ? (int32_t)r->Dp : 0;
    i.intent_dim = r->intm != NULL ? (int32_t)r->Dt : 0;
    i.has_seen = r->has_seen;
    memcpy(out, &i, i.struct_size);
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_embeddings(const irllrec_rec *r, int32_t side, irllrec_cmat *out)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(r->ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    IRL_TRY(irllrec__rec_check_side(r, __func__, side));
    const irllrec__rec_side *sd = &r->side[side];
    *out = irllrec_cmat_dense(sd->emb, sd->n, r->d);
    return IRLLREC_OK;
}
