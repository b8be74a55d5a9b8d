/* Serving models on disk: an .irlm file (docs/file-format.md, "Serving
 * models"). The loader treats the file as hostile: the container checks the
 * structure and checksums; here every section's shape is checked against
 * the metadata before anything is allocated or read, then every value. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "rec_impl.h"
#include "irllrec/version.h"
#include "../model/model_impl.h"
#include "../tower/tower.h"

#define FN_SAVE "irllrec_rec_save"
#define FN_LOAD "irllrec_rec_load"
#define KIND "irllrec-serving-model"
#define VERSION 1

static const char *const SIDE_NAME[2] = {"user", "item"};
static const char *const MLP_PART[4] = {"w1", "b1", "w2", "b2"};

/* A model call's failure under our function's name, keeping its detail. */
static irllrec_status fwd(irllrec_ctx *ctx, irllrec_status st, const char *fn, const char *what)
{
    char detail[IRLLREC__ERRMSG_CAP];
    if (st == IRLLREC_OK) return IRLLREC_OK;
    snprintf(detail, sizeof detail, "%s", irllrec_ctx_errmsg(ctx));
    const char *d = detail;
    if (strncmp(d, "irllrec_", 8) == 0 && strstr(d, ": ") != NULL) d = strstr(d, ": ") + 2;
    if (d[0] == '\0') d = irllrec_status_str(st);
    if (strstr(d, what) != NULL) return irllrec__fail(ctx, st, fn, "%s", d);
    return irllrec__fail(ctx, st, fn, "%s: %s", what, d);
}

/* ---- save --------------------------------------------------------------- */

static irllrec_status put(irllrec_model *m, const char *name, const float *x, int64_t rows,
                          int64_t cols)
{
    const int64_t dims[2] = {rows, cols};
    return fwd(m->ctx, irllrec_model_add_tensor(m, IRLLREC_MODEL_TENSOR, name, x, 2, dims,
                                                IRLLREC_MODEL_REQUIRED), FN_SAVE, name);
}

static irllrec_status put_meta(const irllrec_rec *r, irllrec_model *m)
{
    const char *const ik[] = {"serve.version", "serve.dim", "serve.n_users", "serve.n_items",
                              "serve.n_intents", "serve.profile_dim", "serve.intent_dim",
                              "serve.has_seen", "serve.has_z"};
    const int64_t iv[] = {VERSION, r->d, r->side[0].n, r->side[1].n, r->K, r->Dp, r->Dt,
                          r->has_seen, r->has_z};
    irllrec_ctx *c = r->ctx;
    IRL_TRY(fwd(c, irllrec_model_add_meta_str(m, "serve.kind", KIND), FN_SAVE, "serve.kind"));
    IRL_TRY(fwd(c, irllrec_model_add_meta_str(m, "serve.lib_version", irllrec_version_string()),
                FN_SAVE, "serve.lib_version"));
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++)
        IRL_TRY(fwd(c, irllrec_model_add_meta_i64(m, ik[i], iv[i]), FN_SAVE, ik[i]));
    IRL_TRY(fwd(c, irllrec_model_add_meta_f64(m, "serve.norm.user", r->side[0].norm), FN_SAVE,
                "serve.norm.user"));
    IRL_TRY(fwd(c, irllrec_model_add_meta_f64(m, "serve.norm.item", r->side[1].norm), FN_SAVE,
                "serve.norm.item"));
    if (r->prf != NULL)
        IRL_TRY(fwd(c, irllrec_model_add_meta_f64(m, "serve.prf.slope", r->prf_slope), FN_SAVE,
                    "serve.prf.slope"));
    if (r->intm != NULL)
        IRL_TRY(fwd(c, irllrec_model_add_meta_f64(m, "serve.int.slope", r->int_slope), FN_SAVE,
                    "serve.int.slope"));
    return IRLLREC_OK;
}

static irllrec_status put_u64(const irllrec_rec *r, irllrec_model *m, const char *name,
                              int64_t n, const int64_t *a, const int32_t *b)
{
    uint64_t *t = (uint64_t *)irllrec__alloc_fn(r->ctx, FN_SAVE, (size_t)n * sizeof(uint64_t));
    if (t == NULL) return IRLLREC_E_NOMEM;
    for (int64_t i = 0; i < n; i++) t[i] = a != NULL ? (uint64_t)a[i] : (uint64_t)b[i];
    irllrec_status st = irllrec_model_add_u64s(m, IRLLREC_MODEL_TENSOR, name, t, n,
                                               IRLLREC_MODEL_REQUIRED);
    irllrec__free(r->ctx, t, (size_t)n * sizeof(uint64_t));
    return fwd(r->ctx, st, FN_SAVE, name);
}

static irllrec_status put_tower(const irllrec_rec *r, irllrec_model *m, const char *pfx,
                                irllrec_mlp *t)
{
    irllrec__param *pb;
    int np;
    char name[48];
    irllrec__mlp_params(t, &pb, &np);
    for (int i = 0; i < np && i < 4; i++) {
        snprintf(name, sizeof name, "serve.%s.%s", pfx, MLP_PART[i]);
        IRL_TRY(put(m, name, pb[i].data, pb[i].rows, pb[i].cols));
    }
    (void)r;
    return IRLLREC_OK;
}

static irllrec_status put_all(const irllrec_rec *r, irllrec_model *m)
{
    char name[48];
    IRL_TRY(put_meta(r, m));
    for (int s = 0; s < 2; s++) {
        const irllrec__rec_side *sd = &r->side[s];
        snprintf(name, sizeof name, "serve.%s_emb", SIDE_NAME[s]);
        IRL_TRY(put(m, name, sd->emb, sd->n, r->d));
        if (r->K > 0) {
            snprintf(name, sizeof name, "serve.proto.%s", SIDE_NAME[s]);
            IRL_TRY(put(m, name, r->proto[s], r->d, r->K));
            snprintf(name, sizeof name, "serve.probs.%s", SIDE_NAME[s]);
            IRL_TRY(put(m, name, sd->probs, sd->n, r->K));
        }
        if (r->has_z) {
            snprintf(name, sizeof name, "serve.z.%s", SIDE_NAME[s]);
            IRL_TRY(put(m, name, sd->z, sd->n, r->d));
        }
    }
    if (r->has_seen) {
        const int64_t U = r->side[0].n, nnz = r->seen_ptr[U];
        IRL_TRY(put_u64(r, m, "serve.seen.indptr", U + 1, r->seen_ptr, NULL));
        if (nnz > 0) IRL_TRY(put_u64(r, m, "serve.seen.indices", nnz, NULL, r->seen_idx));
    }
    if (r->prf != NULL) IRL_TRY(put_tower(r, m, "prf", r->prf));
    if (r->intm != NULL) IRL_TRY(put_tower(r, m, "int", r->intm));
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_save(const irllrec_rec *r, const char *path)
{
    irllrec_model *m = NULL;
    if (r == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(r->ctx, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG,
              "path is NULL or empty");
    IRL_TRY(fwd(r->ctx, irllrec_model_create(r->ctx, &m), FN_SAVE, "model"));
    irllrec_status st = put_all(r, m);
    if (st == IRLLREC_OK) st = fwd(r->ctx, irllrec_model_save(m, path), FN_SAVE, path);
    irllrec_model_free(m);
    return st;
}

/* ---- load: what the file is ------------------------------------------------ */

typedef struct lctx {
    irllrec_ctx *ctx;
    const irllrec_model *m;
    const char *path;
    int64_t d, U, I, K, Dp, Dt, has_seen, has_z, hid[2], nnz;
    double norm[2], slope[2];
} lctx;

static int has_meta(const irllrec_model *m, const char *key)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++) {
        const char *k = irllrec_model_meta_key(m, i, NULL);
        if (k != NULL && strcmp(k, key) == 0) return 1;
    }
    return 0;
}

static int has_prefix(const irllrec_model *m, const char *pfx)
{
    for (int32_t i = 0; i < irllrec_model_section_count(m); i++) {
        const char *n = irllrec_model_section_name(m, i);
        if (n != NULL && strncmp(n, pfx, strlen(pfx)) == 0) return 1;
    }
    return 0;
}

/* Refuse anything but a serving model, saying what it is instead. */
static irllrec_status identify(const lctx *L)
{
    char kind[64];
    size_t len = 0;
    const irllrec_model *m = L->m;
    if (!has_meta(m, "serve.kind")) {
        /* A host's own checkpoint sections are the host's business: the library
         * names only what it writes itself. */
        const char *what = has_prefix(m, "hook.") || has_meta(m, "hook.spec.n_users")
                               ? "a hook checkpoint (irllrec_hook_export)"
                               : "an .irlm file without serve.kind metadata";
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: %s, not a serving model (build one with irllrec_rec_create and "
                             "write it with irllrec_rec_save)", L->path, what);
    }
    if (irllrec_model_get_meta_str(m, "serve.kind", kind, sizeof kind, &len) != IRLLREC_OK ||
        strcmp(kind, KIND) != 0)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: serve.kind is not the string \"" KIND "\": not a serving "
                             "model", L->path);
    int64_t v = 0;
    if (irllrec_model_get_meta_i64(m, "serve.version", &v) != IRLLREC_OK)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: serve.version (int64) is missing", L->path);
    IRL_CHECK_FN(L->ctx, FN_LOAD, v <= VERSION, IRLLREC_E_VERSION,
                 "%s: serve.version = %lld, this library reads up to %d", L->path, (long long)v,
                 VERSION);
    IRL_CHECK_FN(L->ctx, FN_LOAD, v >= 1, IRLLREC_E_FORMAT, "%s: serve.version = %lld < 1",
                 L->path, (long long)v);
    return IRLLREC_OK;
}

static irllrec_status meta_i64(lctx *L, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v = 0;
    if (irllrec_model_get_meta_i64(L->m, key, &v) != IRLLREC_OK)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: metadata %s (int64) is missing", L->path, key);
    IRL_CHECK_FN(L->ctx, FN_LOAD, v >= lo && v <= hi, IRLLREC_E_FORMAT,
                 "%s: metadata %s = %lld not in [%lld, %lld]", L->path, key, (long long)v,
                 (long long)lo, (long long)hi);
    *out = v;
    return IRLLREC_OK;
}

static irllrec_status meta_f64(lctx *L, const char *key, double *out)
{
    double v = 0.0;
    if (irllrec_model_get_meta_f64(L->m, key, &v) != IRLLREC_OK)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: metadata %s (double) is missing", L->path, key);
    IRL_CHECK_FN(L->ctx, FN_LOAD, isfinite(v) && v >= 0.0, IRLLREC_E_FORMAT,
                 "%s: metadata %s = %.17g is not a finite value >= 0", L->path, key, v);
    *out = v;
    return IRLLREC_OK;
}

static irllrec_status read_meta(lctx *L)
{
    IRL_TRY(meta_i64(L, "serve.dim", 1, INT32_MAX, &L->d));
    IRL_TRY(meta_i64(L, "serve.n_users", 1, INT32_MAX, &L->U));
    IRL_TRY(meta_i64(L, "serve.n_items", 1, INT32_MAX, &L->I));
    IRL_TRY(meta_i64(L, "serve.n_intents", 0, INT32_MAX, &L->K));
    IRL_TRY(meta_i64(L, "serve.profile_dim", 0, INT32_MAX, &L->Dp));
    IRL_TRY(meta_i64(L, "serve.intent_dim", 0, INT32_MAX, &L->Dt));
    IRL_TRY(meta_i64(L, "serve.has_seen", 0, 1, &L->has_seen));
    IRL_TRY(meta_i64(L, "serve.has_z", 0, 1, &L->has_z));
    IRL_CHECK_FN(L->ctx, FN_LOAD, (L->K > 0) == (L->Dt > 0) && (!L->has_z || L->K > 0),
                 IRLLREC_E_FORMAT,
                 "%s: serve.n_intents = %lld, serve.intent_dim = %lld, serve.has_z = %lld "
                 "disagree (intents come with the intent tower)", L->path, (long long)L->K,
                 (long long)L->Dt, (long long)L->has_z);
    IRL_TRY(meta_f64(L, "serve.norm.user", &L->norm[0]));
    IRL_TRY(meta_f64(L, "serve.norm.item", &L->norm[1]));
    if (L->Dp > 0) IRL_TRY(meta_f64(L, "serve.prf.slope", &L->slope[0]));
    if (L->Dt > 0) IRL_TRY(meta_f64(L, "serve.int.slope", &L->slope[1]));
    return IRLLREC_OK;
}

/* ---- load: shapes before anything is read ---------------------------------- */

/* Section name must exist with dtype and shape rows x cols (cols 0: 1-D). */
static irllrec_status expect(const lctx *L, const char *name, uint32_t dtype, int64_t rows,
                             int64_t cols)
{
    int32_t idx = -1, nd = 0;
    uint32_t dt = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    if (irllrec_model_find(L->m, name, &idx) != IRLLREC_OK)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: no section named \"%s\"", L->path, name);
    irllrec_model_section_info(L->m, idx, NULL, &dt, NULL, &nd, dims);
    IRL_CHECK_FN(L->ctx, FN_LOAD, dt == dtype, IRLLREC_E_FORMAT,
                 "%s: section \"%s\" has dtype %u, expected %u", L->path, name, dt, dtype);
    const int ok = cols > 0 ? nd == 2 && dims[0] == rows && dims[1] == cols
                            : nd == 1 && dims[0] == rows;
    IRL_CHECK_FN(L->ctx, FN_LOAD, ok, IRLLREC_E_FORMAT,
                 "%s: section \"%s\" is %lld x %lld (ndim %d), the metadata says %lld x %lld",
                 L->path, name, (long long)dims[0], (long long)(nd > 1 ? dims[1] : 0), (int)nd,
                 (long long)rows, (long long)cols);
    return IRLLREC_OK;
}

/* A tower's four blocks: its hidden width comes from w1, the rest must agree. */
static irllrec_status expect_tower(lctx *L, int t)
{
    const char *pfx = t == 0 ? "prf" : "int";
    const int64_t in = t == 0 ? L->Dp : L->Dt;
    char name[48];
    int32_t idx = -1, nd = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    snprintf(name, sizeof name, "serve.%s.w1", pfx);
    if (irllrec_model_find(L->m, name, &idx) != IRLLREC_OK)
        return irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                             "%s: no section named \"%s\"", L->path, name);
    irllrec_model_section_info(L->m, idx, NULL, NULL, NULL, &nd, dims);
    IRL_CHECK_FN(L->ctx, FN_LOAD, nd == 2 && dims[0] >= 1 && dims[0] <= INT32_MAX,
                 IRLLREC_E_FORMAT, "%s: section \"%s\" is not a hidden x in matrix", L->path,
                 name);
    const int64_t h = dims[0];
    const int64_t shp[4][2] = {{h, in}, {1, h}, {L->d, h}, {1, L->d}};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "serve.%s.%s", pfx, MLP_PART[i]);
        IRL_TRY(expect(L, name, IRLLREC_MODEL_F32, shp[i][0], shp[i][1]));
    }
    L->hid[t] = h;
    return IRLLREC_OK;
}

static irllrec_status expect_all(lctx *L)
{
    char name[48];
    for (int s = 0; s < 2; s++) {
        const int64_t n = s == 0 ? L->U : L->I;
        snprintf(name, sizeof name, "serve.%s_emb", SIDE_NAME[s]);
        IRL_TRY(expect(L, name, IRLLREC_MODEL_F32, n, L->d));
        if (L->K > 0) {
            snprintf(name, sizeof name, "serve.proto.%s", SIDE_NAME[s]);
            IRL_TRY(expect(L, name, IRLLREC_MODEL_F32, L->d, L->K));
            snprintf(name, sizeof name, "serve.probs.%s", SIDE_NAME[s]);
            IRL_TRY(expect(L, name, IRLLREC_MODEL_F32, n, L->K));
        }
        if (L->has_z) {
            snprintf(name, sizeof name, "serve.z.%s", SIDE_NAME[s]);
            IRL_TRY(expect(L, name, IRLLREC_MODEL_F32, n, L->d));
        }
    }
    if (L->Dp > 0) IRL_TRY(expect_tower(L, 0));
    if (L->Dt > 0) IRL_TRY(expect_tower(L, 1));
    if (!L->has_seen) return IRLLREC_OK;
    IRL_TRY(expect(L, "serve.seen.indptr", IRLLREC_MODEL_U64, L->U + 1, 0));
    return IRLLREC_OK;
}

/* ---- load: values ------------------------------------------------------------ */

static irllrec_status read_f32(const lctx *L, const char *name, float *dst, int64_t count)
{
    IRL_TRY(fwd(L->ctx, irllrec_model_get_f32(L->m, name, 0, NULL, dst, count), FN_LOAD, name));
    if (irllrec__all_finite(dst, count)) return IRLLREC_OK;
    for (int64_t i = 0; i < count; i++)
        IRL_CHECK_FN(L->ctx, FN_LOAD, isfinite(dst[i]), IRLLREC_E_NUMERIC,
                     "%s: section \"%s\": element %lld is not finite", L->path, name,
                     (long long)i);
    return IRLLREC_OK;
}

/* Distributions: every entry in [0, 1], every row summing to 1 (1e-3). */
static irllrec_status check_probs(const lctx *L, const char *name, const float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        int ok = 1;
        for (int64_t k = 0; k < L->K; k++) {
            ok &= p[i * L->K + k] >= 0.0f && p[i * L->K + k] <= 1.0f;
            s += (double)p[i * L->K + k];
        }
        IRL_CHECK_FN(L->ctx, FN_LOAD, ok && fabs(s - 1.0) <= 1e-3, IRLLREC_E_FORMAT,
                     "%s: section \"%s\": row %lld is not a distribution (sum %g)", L->path,
                     name, (long long)i, s);
    }
    return IRLLREC_OK;
}

static irllrec_status read_side(const lctx *L, irllrec_rec *r, int s)
{
    irllrec__rec_side *sd = &r->side[s];
    const int64_t n = s == 0 ? L->U : L->I;
    char name[48];
    IRL_TRY(irllrec__rec_reserve(r, FN_LOAD, s, n));
    snprintf(name, sizeof name, "serve.%s_emb", SIDE_NAME[s]);
    IRL_TRY(read_f32(L, name, sd->emb, n * L->d));
    if (L->K > 0) {
        snprintf(name, sizeof name, "serve.proto.%s", SIDE_NAME[s]);
        IRL_TRY(read_f32(L, name, r->proto[s], L->d * L->K));
        snprintf(name, sizeof name, "serve.probs.%s", SIDE_NAME[s]);
        IRL_TRY(read_f32(L, name, sd->probs, n * L->K));
        IRL_TRY(check_probs(L, name, sd->probs, n));
    }
    if (L->has_z) {
        snprintf(name, sizeof name, "serve.z.%s", SIDE_NAME[s]);
        IRL_TRY(read_f32(L, name, sd->z, n * L->d));
    }
    sd->n = n;
    sd->norm = L->norm[s];
    return IRLLREC_OK;
}

static irllrec_status check_indptr(const lctx *L, const uint64_t *p)
{
    IRL_CHECK_FN(L->ctx, FN_LOAD, p[0] == 0, IRLLREC_E_FORMAT,
                 "%s: section \"serve.seen.indptr\": entry 0 is not 0", L->path);
    for (int64_t u = 0; u < L->U; u++)
        IRL_CHECK_FN(L->ctx, FN_LOAD, p[u + 1] >= p[u] && p[u + 1] - p[u] <= (uint64_t)L->I,
                     IRLLREC_E_FORMAT,
                     "%s: section \"serve.seen.indptr\": row %lld spans offsets %llu..%llu "
                     "(decreasing, or more than the %lld items)", L->path, (long long)u,
                     (unsigned long long)p[u], (unsigned long long)p[u + 1], (long long)L->I);
    return IRLLREC_OK;
}

static irllrec_status check_indices(const lctx *L, const uint64_t *p, const uint64_t *ix)
{
    for (int64_t u = 0; u < L->U; u++)
        for (uint64_t q = p[u]; q < p[u + 1]; q++)
            IRL_CHECK_FN(L->ctx, FN_LOAD,
                         ix[q] < (uint64_t)L->I && (q == p[u] || ix[q] > ix[q - 1]),
                         IRLLREC_E_FORMAT,
                         "%s: section \"serve.seen.indices\": row %lld, entry %llu = %llu is "
                         "not an item id above the one before it", L->path, (long long)u,
                         (unsigned long long)q, (unsigned long long)ix[q]);
    return IRLLREC_OK;
}

/* The indices of a checked indptr p, into the rec's int32 array. */
static irllrec_status read_seen_ids(const lctx *L, irllrec_rec *r, const uint64_t *p)
{
    const int64_t U = L->U, nnz = (int64_t)p[U];
    r->has_seen = 1;
    if (nnz == 0) return IRLLREC_OK;
    IRL_TRY(expect(L, "serve.seen.indices", IRLLREC_MODEL_U64, nnz, 0));
    const size_t bytes = (size_t)nnz * sizeof(uint64_t);
    uint64_t *ix = (uint64_t *)irllrec__alloc_fn(L->ctx, FN_LOAD, bytes);
    if (ix == NULL) return IRLLREC_E_NOMEM;
    irllrec_status st = fwd(L->ctx, irllrec_model_get_u64(L->m, "serve.seen.indices", ix, nnz),
                            FN_LOAD, "serve.seen.indices");
    if (st == IRLLREC_OK) st = check_indices(L, p, ix);
    if (st == IRLLREC_OK) st = irllrec__rec_reserve_seen(r, FN_LOAD, nnz);
    if (st == IRLLREC_OK) {
        for (int64_t q = 0; q < nnz; q++) r->seen_idx[q] = (int32_t)ix[q];
        for (int64_t u = 0; u <= U; u++) r->seen_ptr[u] = (int64_t)p[u];
    }
    irllrec__free(L->ctx, ix, bytes);
    return st;
}

static irllrec_status read_seen(const lctx *L, irllrec_rec *r)
{
    const size_t bytes = ((size_t)L->U + 1) * sizeof(uint64_t);
    uint64_t *p = (uint64_t *)irllrec__alloc_fn(L->ctx, FN_LOAD, bytes);
    if (p == NULL) return IRLLREC_E_NOMEM;
    irllrec_status st = fwd(L->ctx, irllrec_model_get_u64(L->m, "serve.seen.indptr", p, L->U + 1),
                            FN_LOAD, "serve.seen.indptr");
    if (st == IRLLREC_OK) st = check_indptr(L, p);
    /* ids are int32 and row lengths are bounded by I, so this only guards the total */
    if (st == IRLLREC_OK && p[L->U] > INT32_MAX)
        st = irllrec__fail(L->ctx, IRLLREC_E_FORMAT, FN_LOAD,
                           "%s: section \"serve.seen.indptr\": %llu seen items, more than "
                           "INT32_MAX", L->path, (unsigned long long)p[L->U]);
    if (st == IRLLREC_OK) st = read_seen_ids(L, r, p);
    irllrec__free(L->ctx, p, bytes);
    return st;
}

static irllrec_status read_tower(const lctx *L, irllrec_rec *r, int t)
{
    const char *pfx = t == 0 ? "prf" : "int";
    irllrec_mlp **dst = t == 0 ? &r->prf : &r->intm;
    const float slope = (float)L->slope[t];
    IRL_TRY(irllrec__rec_tower(L->ctx, (int32_t)(t == 0 ? L->Dp : L->Dt), (int32_t)L->hid[t],
                               (int32_t)L->d, slope, dst));
    if (t == 0) r->prf_slope = slope;
    else r->int_slope = slope;
    irllrec__param *pb;
    int np;
    char name[48];
    irllrec__mlp_params(*dst, &pb, &np);
    for (int i = 0; i < np && i < 4; i++) {
        snprintf(name, sizeof name, "serve.%s.%s", pfx, MLP_PART[i]);
        IRL_TRY(read_f32(L, name, pb[i].data, pb[i].rows * pb[i].cols));
    }
    return IRLLREC_OK;
}

static irllrec_status read_all(lctx *L, irllrec_rec **out)
{
    IRL_TRY(identify(L));
    IRL_TRY(read_meta(L));
    IRL_TRY(expect_all(L));
    irllrec_rec *r = irllrec__rec_new(L->ctx, FN_LOAD, L->d, L->K, L->Dp, L->Dt);
    if (r == NULL) return IRLLREC_E_NOMEM;
    r->has_z = (int)L->has_z;
    irllrec_status st = read_side(L, r, 0);
    if (st == IRLLREC_OK) st = read_side(L, r, 1);
    if (st == IRLLREC_OK && L->has_seen) st = read_seen(L, r);
    if (st == IRLLREC_OK && L->Dp > 0) st = read_tower(L, r, 0);
    if (st == IRLLREC_OK && L->Dt > 0) st = read_tower(L, r, 1);
    if (st != IRLLREC_OK) {
        irllrec_rec_free(r);
        return st;
    }
    *out = r;
    return IRLLREC_OK;
}

irllrec_status irllrec_rec_load(irllrec_ctx *ctx, const char *path, irllrec_rec **out)
{
    irllrec_model *m = NULL;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, path != NULL, IRLLREC_E_INVALID_ARG, "path is NULL");
    IRL_TRY(fwd(ctx, irllrec_model_load(ctx, path, NULL, &m), FN_LOAD, path));
    lctx L;
    memset(&L, 0, sizeof L);
    L.ctx = ctx;
    L.m = m;
    L.path = path;
    irllrec_status st = read_all(&L, out);
    irllrec_model_free(m);
    return st;
}
