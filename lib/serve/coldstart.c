/* Nodes the training never saw: text-only users and items through the
 * copied text towers (cold start), and users from a few interactions
 * (fold-in). The rules are in serve.h and docs/serving.md. Every add
 * computes into scratch first and grows the storage before it writes, so a
 * failure leaves the recommender as it was. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "rec_impl.h"
#include "../ops/ops.h"
#include "../tower/tower.h"

irllrec_status irllrec__rec_tower_rows(irllrec_rec *r, const char *func, irllrec_mlp *m,
                                       irllrec_cmat x, float *y, int64_t ldy)
{
    for (int64_t r0 = 0; r0 < x.rows; r0 += IRLLREC__REC_TOWER_ROWS) {
        const int64_t nr =
            x.rows - r0 < IRLLREC__REC_TOWER_ROWS ? x.rows - r0 : IRLLREC__REC_TOWER_ROWS;
        irllrec_cmat xb = {x.data + r0 * x.ld, nr, x.cols, x.ld};
        irllrec_mat yb = {y + r0 * ldy, nr, r->d, ldy};
        if (irllrec_mlp_forward_at(m, xb, 0, yb) != IRLLREC_OK)
            return irllrec__fail(r->ctx, IRLLREC_E_INTERNAL, func, "text tower: %s",
                                 irllrec_ctx_errmsg(irllrec__mlp_ctx(m)));
    }
    const irllrec_mat out = {y, x.rows, r->d, ldy};
    if (!irllrec__all_finite_mat(out))
        for (int64_t i = 0; i < x.rows; i++)
            IRL_CHECK_FN(r->ctx, func, irllrec__all_finite(y + i * ldy, r->d), IRLLREC_E_NUMERIC,
                         "the text tower's output for row %lld is not finite", (long long)i);
    return IRLLREC_OK;
}

/* One text argument: absent (0 rows) or n x D, finite, with a tower. */
static irllrec_status check_text(const irllrec_rec *r, const char *f, const char *name,
                                 irllrec_cmat t, int64_t D, const irllrec_mlp *tower)
{
    if (t.rows == 0) return IRLLREC_OK;
    IRL_TRY(irllrec__check_cmat(r->ctx, f, name, t));
    IRL_CHECK_FN(r->ctx, f, tower != NULL, IRLLREC_E_STATE,
                 "%s text given, but the recommender has no %s tower (built without a hook "
                 "that has that text)", name, name);
    IRL_CHECK_FN(r->ctx, f, t.cols == D, IRLLREC_E_SHAPE,
                 "%s has %lld columns, the %s tower reads %lld", name, (long long)t.cols, name,
                 (long long)D);
    return irllrec__check_finite_mat(r->ctx, f, name, irllrec__mat_of(t));
}

static irllrec_status check_texts(const irllrec_rec *r, const char *f, int32_t side,
                                  irllrec_cmat profile, irllrec_cmat intent, int64_t *n)
{
    IRL_TRY(irllrec__rec_check_side(r, f, side));
    IRL_TRY(check_text(r, f, "profile", profile, r->Dp, r->prf));
    IRL_TRY(check_text(r, f, "intent", intent, r->Dt, r->intm));
    IRL_CHECK_FN(r->ctx, f, profile.rows > 0 || intent.rows > 0, IRLLREC_E_INVALID_ARG,
                 "neither profile nor intent text given (both have 0 rows)");
    IRL_CHECK_FN(r->ctx, f, profile.rows == 0 || intent.rows == 0 || profile.rows == intent.rows,
                 IRLLREC_E_SHAPE, "profile has %lld rows, intent %lld", (long long)profile.rows,
                 (long long)intent.rows);
    *n = profile.rows > 0 ? profile.rows : intent.rows;
    return IRLLREC_OK;
}

/* e = s n(v), n(v) = v / sqrt(1e-8 + |v|^2), in place over n rows. */
static void scale_rows(float *e, int64_t n, int64_t d, int64_t ld, double s)
{
    for (int64_t i = 0; i < n; i++) {
        float *v = e + i * ld;
        const double f = s / sqrt(IRLLREC__L2_EPS + irllrec__vsumsq(v, d));
        for (int64_t j = 0; j < d; j++) v[j] = (float)((double)v[j] * f);
    }
}

/* The cold-start rule into e (n x d, ld lde); z (n x d) also receives the
 * intent tower's output when intent text is given and z is not NULL. */
static irllrec_status embed(irllrec_rec *r, const char *f, int32_t side, irllrec_cmat profile,
                            irllrec_cmat intent, float *e, int64_t lde, float *z)
{
    const int64_t d = r->d;
    if (intent.rows > 0 && z != NULL) IRL_TRY(irllrec__rec_tower_rows(r, f, r->intm, intent, z, d));
    if (profile.rows > 0)
        IRL_TRY(irllrec__rec_tower_rows(r, f, r->prf, profile, e, lde));
    else if (z != NULL)
        for (int64_t i = 0; i < intent.rows; i++) memcpy(e + i * lde, z + i * d, (size_t)d * 4);
    else
        IRL_TRY(irllrec__rec_tower_rows(r, f, r->intm, intent, e, lde));
    scale_rows(e, profile.rows > 0 ? profile.rows : intent.rows, d, lde, r->side[side].norm);
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_embed_text(const irllrec_rec *rc, int32_t side, irllrec_cmat profile,
                                      irllrec_cmat intent, irllrec_mat out)
{
    static const char f[] = "irllrec_rec_embed_text";
    int64_t n = 0;
    if (rc == NULL) return IRLLREC_E_INVALID_ARG;
    /* the towers' activation caches change; nothing a caller can see does */
    irllrec_rec *r = (irllrec_rec *)(uintptr_t)rc;
    IRL_TRY(check_texts(r, f, side, profile, intent, &n));
    IRL_TRY(irllrec__check_mat(r->ctx, f, "out", out));
    IRL_CHECK(r->ctx, out.rows == n && out.cols == r->d, IRLLREC_E_SHAPE,
              "out is %lld x %lld, expected %lld x d = %lld", (long long)out.rows,
              (long long)out.cols, (long long)n, (long long)r->d);
    IRL_CHECK(r->ctx, profile.rows == 0 || !irllrec__mats_overlap(out, irllrec__mat_of(profile)),
              IRLLREC_E_INVALID_ARG, "out overlaps profile");
    IRL_CHECK(r->ctx, intent.rows == 0 || !irllrec__mats_overlap(out, irllrec__mat_of(intent)),
              IRLLREC_E_INVALID_ARG, "out overlaps intent");
    return embed(r, f, side, profile, intent, out.data, out.ld, NULL);
}

/* ---- add_from_text ------------------------------------------------------- */

typedef struct scratch {
    float *e, *z, *p;
    size_t ne, nz, np;
} scratch;

static void scratch_free(irllrec_ctx *ctx, scratch *s)
{
    irllrec__free(ctx, s->e, s->ne);
    irllrec__free(ctx, s->z, s->nz);
    irllrec__free(ctx, s->p, s->np);
}

static irllrec_status scratch_alloc(irllrec_rec *r, const char *f, scratch *s, int64_t n, int wz)
{
    memset(s, 0, sizeof *s);
    s->ne = (size_t)(n * r->d) * sizeof(float);
    s->nz = wz ? s->ne : 0;
    s->np = (size_t)(n * r->K) * sizeof(float);
    s->e = (float *)irllrec__alloc_fn(r->ctx, f, s->ne);
    s->z = wz ? (float *)irllrec__alloc_fn(r->ctx, f, s->nz) : NULL;
    s->p = r->K > 0 ? (float *)irllrec__alloc_fn(r->ctx, f, s->np) : NULL;
    if (s->e == NULL || (wz && s->z == NULL) || (r->K > 0 && s->p == NULL)) {
        scratch_free(r->ctx, s);
        return IRLLREC_E_NOMEM;
    }
    return IRLLREC_OK;
}

/* Append n computed rows to side s (room already reserved). */
static void append_rows(irllrec_rec *r, int32_t s, int64_t n, const scratch *sc)
{
    irllrec__rec_side *sd = &r->side[s];
    const int64_t d = r->d, o = sd->n;
    memcpy(sd->emb + o * d, sc->e, (size_t)(n * d) * sizeof(float));
    if (sd->probs != NULL) memcpy(sd->probs + o * r->K, sc->p, (size_t)(n * r->K) * 4);
    if (sd->z != NULL) {
        if (sc->z != NULL)
            memcpy(sd->z + o * d, sc->z, (size_t)(n * d) * sizeof(float));
        else
            memset(sd->z + o * d, 0, (size_t)(n * d) * sizeof(float));
    }
    if (s == IRLLREC_USERS)
        for (int64_t u = o + 1; u <= o + n; u++) r->seen_ptr[u] = r->seen_ptr[o];
    sd->n = o + n;
}

static irllrec_status text_rows(irllrec_rec *r, const char *f, int32_t side, irllrec_cmat prf,
                                irllrec_cmat itt, int64_t n, scratch *sc)
{
    IRL_TRY(embed(r, f, side, prf, itt, sc->e, r->d, sc->z));
    if (r->K == 0) return IRLLREC_OK;
    /* a node with intent text gets the distribution of its text intents */
    const float *x = sc->z != NULL ? sc->z : sc->e;
    return irllrec__rec_softmax_rows(r, f, x, r->d, n, r->proto[side], sc->p, 0, 1.0f);
}

irllrec_status irllrec_rec_add_from_text(irllrec_rec *r, int32_t side, irllrec_cmat profile,
                                         irllrec_cmat intent, int32_t *first_id)
{
    int64_t n = 0;
    scratch sc;
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_texts(r, __func__, side, profile, intent, &n));
    IRL_TRY(scratch_alloc(r, __func__, &sc, n, intent.rows > 0));
    irllrec_status st = text_rows(r, __func__, side, profile, intent, n, &sc);
    if (st == IRLLREC_OK) st = irllrec__rec_reserve(r, __func__, side, n);
    if (st == IRLLREC_OK) {
        if (first_id != NULL) *first_id = (int32_t)r->side[side].n;
        append_rows(r, side, n, &sc);
    }
    scratch_free(r->ctx, &sc);
    return st;
}

/* ---- fold-in --------------------------------------------------------------- */

static irllrec_status check_items(const irllrec_rec *r, const char *f, const int32_t *items,
                                  int64_t n)
{
    IRL_CHECK_FN(r->ctx, f, n >= 1, IRLLREC_E_INVALID_ARG,
                 "n = %lld: fold-in needs at least one item", (long long)n);
    return irllrec__check_ids(r->ctx, f, "items", items, n, r->side[1].n);
}

/* e = s_u n(sum_j n(e_j)), both n() with the 1e-8 guard, sums in double. */
static void fold(const irllrec_rec *r, const int32_t *items, int64_t n, float *out)
{
    const int64_t d = r->d;
    double acc[64], *a = acc;
    for (int64_t j0 = 0; j0 < d; j0 += 64) {
        const int64_t w = d - j0 < 64 ? d - j0 : 64;
        for (int64_t j = 0; j < w; j++) a[j] = 0.0;
        for (int64_t q = 0; q < n; q++) {
            const float *e = r->side[1].emb + (int64_t)items[q] * d;
            const double inv = 1.0 / sqrt(IRLLREC__L2_EPS + irllrec__vsumsq(e, d));
            for (int64_t j = 0; j < w; j++) a[j] += (double)e[j0 + j] * inv;
        }
        for (int64_t j = 0; j < w; j++) out[j0 + j] = (float)a[j];
    }
    /* out holds the sum rounded to float; the final norm is taken in double of it */
    const double f = r->side[0].norm / sqrt(IRLLREC__L2_EPS + irllrec__vsumsq(out, d));
    for (int64_t j = 0; j < d; j++) out[j] = (float)((double)out[j] * f);
}

irllrec_status irllrec_rec_fold_in(const irllrec_rec *r, const int32_t *items, int64_t n,
                                   float *out)
{
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_items(r, __func__, items, n));
    IRL_CHECK(r->ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    fold(r, items, n, out);
    return IRLLREC_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The new user's seen row: its items sorted and distinct, into ids; the count. */
static int64_t seen_row(const int32_t *items, int64_t n, int32_t *ids)
{
    int64_t w = 0;
    memcpy(ids, items, (size_t)n * sizeof(int32_t));
    qsort(ids, (size_t)n, sizeof(int32_t), cmp_i32);
    for (int64_t q = 0; q < n; q++)
        if (w == 0 || ids[q] != ids[w - 1]) ids[w++] = ids[q];
    return w;
}

irllrec_status irllrec_rec_add_user(irllrec_rec *r, const int32_t *items, int64_t n,
                                    int32_t *new_id)
{
    scratch sc;
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_items(r, __func__, items, n));
    IRL_CHECK(r->ctx, n <= INT32_MAX, IRLLREC_E_INVALID_ARG, "n = %lld > INT32_MAX", (long long)n);
    IRL_TRY(scratch_alloc(r, __func__, &sc, 1, 0));
    const size_t nb = (size_t)n * sizeof(int32_t);
    int32_t *ids = (int32_t *)irllrec__alloc_fn(r->ctx, __func__, nb);
    irllrec_status st = ids != NULL ? IRLLREC_OK : IRLLREC_E_NOMEM;
    if (st == IRLLREC_OK) {
        fold(r, items, n, sc.e);
        if (r->K > 0)
            st = irllrec__rec_softmax_rows(r, __func__, sc.e, r->d, 1, r->proto[0], sc.p, 0, 1.0f);
    }
    const int64_t cnt = st == IRLLREC_OK ? seen_row(items, n, ids) : 0;
    if (st == IRLLREC_OK) st = irllrec__rec_reserve(r, __func__, IRLLREC_USERS, 1);
    if (st == IRLLREC_OK) st = irllrec__rec_reserve_seen(r, __func__, cnt);
    if (st == IRLLREC_OK) {
        const int64_t u = r->side[0].n, at = r->seen_ptr[u];
        memcpy(r->seen_idx + at, ids, (size_t)cnt * sizeof(int32_t));
        append_rows(r, IRLLREC_USERS, 1, &sc);
        r->seen_ptr[u + 1] = at + cnt;
        r->has_seen = 1;
        if (new_id != NULL) *new_id = (int32_t)u;
    }
    irllrec__free(r->ctx, ids, nb);
    scratch_free(r->ctx, &sc);
    return st;
}
