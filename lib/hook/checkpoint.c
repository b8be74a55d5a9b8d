/* Hook checkpoints: the hook's whole mutable state as model-file sections
 * (names in docs/file-format.md, "Hook checkpoints").
 *
 * Import reads and checks everything into scratch first and only then
 * writes into the hook, so a refused model leaves the hook as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "hook_impl.h"
#include "../model/model_impl.h"
#include "irllrec/version.h"

#define FN_EXPORT "irllrec_hook_export"
#define FN_IMPORT "irllrec_hook_import"

#define MAX_PARAMS 64

/* Meta key of a runtime parameter: its stable name, not its enum value. */
static void param_key(char *buf, size_t cap, irllrec_hook_param p)
{
    snprintf(buf, cap, "hook.param.%s", irllrec_hook_param_name(p));
}

static int has_meta(const irllrec_model *m, const char *key)
{
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++) {
        const char *k = irllrec_model_meta_key(m, i, NULL);
        if (k != NULL && strcmp(k, key) == 0) return 1;
    }
    return 0;
}

/* Parameters added after 0.1 (Adam's settings): a checkpoint without them
 * keeps the hook's current values. */
static int param_optional(irllrec_hook_param p)
{
    return p >= IRLLREC_HOOK_BETA1;
}

typedef struct sfield {
    const char *key;
    int shape;  /* must match the importing hook's spec */
} sfield;

static const sfield SFIELDS[] = {
    {"hook.spec.preset", 0},      {"hook.spec.n_users", 1},     {"hook.spec.n_items", 1},
    {"hook.spec.dim", 1},         {"hook.spec.n_intents", 1},   {"hook.spec.n_layers", 1},
    {"hook.spec.max_batch", 1},   {"hook.spec.profile_dim", 1}, {"hook.spec.intent_dim", 1},
    {"hook.spec.teacher_init", 0}, {"hook.spec.seed", 0},
};
#define N_SFIELDS (sizeof SFIELDS / sizeof SFIELDS[0])

static void spec_values(const irllrec_hook_spec *s, int64_t out[N_SFIELDS])
{
    out[0] = s->preset;
    out[1] = s->n_users;
    out[2] = s->n_items;
    out[3] = s->dim;
    out[4] = s->n_intents;
    out[5] = s->n_layers;
    out[6] = s->max_batch;
    out[7] = s->profile_dim;
    out[8] = s->intent_dim;
    out[9] = s->teacher_init;
    out[10] = (int64_t)s->seed;  /* bit pattern; read back the same way */
}

static void block_key(char *buf, size_t cap, const irllrec__param *b)
{
    snprintf(buf, cap, "hook.%s", b->name);
}

/* A model call's status, forwarded to the hook's context with the section
 * it concerned (IRLLREC_OK passes through). */
static irllrec_status sec(irllrec_ctx *ctx, irllrec_ctx *src, irllrec_status st, const char *fn,
                          const char *what)
{
    char detail[256];
    const char *d;
    if (st == IRLLREC_OK) return IRLLREC_OK;
    /* The callee's own message (in src, the context it reports to) says
     * what was wrong, e.g. that the section is missing: keep it, without
     * its function prefix. */
    snprintf(detail, sizeof detail, "%s", src != NULL ? irllrec_ctx_errmsg(src) : "");
    d = detail;
    if (strncmp(d, "irllrec_", 8) == 0 && strstr(d, ": ") != NULL) d = strstr(d, ": ") + 2;
    if (d[0] == '\0') d = irllrec_status_str(st);
    return irllrec__fail(ctx, st, fn, "%s: %s", what, d);
}


static irllrec_status export_adam(const irllrec__hook_view *vp, irllrec_model *m)
{
    const irllrec__hook_view v = *vp;
    int64_t nf = 0, t = 0;
    IRL_TRY(sec(v.ctx, v.ctx, irllrec_adam_state_size(v.adam, &nf), FN_EXPORT, "hook.adam.state"));
    float *buf = (float *)irllrec__alloc_fn(v.ctx, FN_EXPORT, (size_t)nf * sizeof(float));
    if (buf == NULL)
        return irllrec__fail(v.ctx, IRLLREC_E_NOMEM, FN_EXPORT, "out of memory for the Adam state");
    irllrec_status st = irllrec_adam_get_state(v.adam, &t, buf, nf);
    irllrec_ctx *src = v.ctx;
    if (st == IRLLREC_OK) {
        st = irllrec_model_add_tensor(m, IRLLREC_MODEL_OPTIM, "hook.adam.state", buf, 1, &nf,
                                      IRLLREC_MODEL_REQUIRED);
        src = m->ctx;
    }
    irllrec__free(v.ctx, buf, (size_t)nf * sizeof(float));
    IRL_TRY(sec(v.ctx, src, st, FN_EXPORT, "hook.adam.state"));
    const uint64_t tu = (uint64_t)t;
    IRL_TRY(sec(v.ctx, m->ctx, irllrec_model_add_u64s(m, IRLLREC_MODEL_OPTIM, "hook.adam.t", &tu, 1,
                                  IRLLREC_MODEL_REQUIRED), FN_EXPORT, "hook.adam.t"));
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_export(const irllrec_hook *hc, irllrec_model *m)
{
    if (hc == NULL || m == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_hook *h = (irllrec_hook *)(uintptr_t)hc;
    irllrec__hook_view v;
    irllrec__hook_get_view(h, &v);
    char key[64];
    int64_t sv[N_SFIELDS];

    IRL_TRY(sec(v.ctx, m->ctx, irllrec_model_add_meta_str(m, "hook.lib_version", irllrec_version_string()),
                FN_EXPORT, "hook.lib_version"));
    spec_values(&v.spec, sv);
    for (size_t i = 0; i < N_SFIELDS; i++)
        IRL_TRY(sec(v.ctx, m->ctx, irllrec_model_add_meta_i64(m, SFIELDS[i].key, sv[i]), FN_EXPORT,
                    SFIELDS[i].key));
    for (int32_t i = 0; i < irllrec_hook_param_count(); i++) {
        irllrec_hook_param p = IRLLREC_HOOK_W_KD;
        double pv = 0.0;
        (void)irllrec_hook_param_at(i, &p);  /* i is in range, every id is known */
        (void)irllrec_hook_get_param(h, p, &pv);
        param_key(key, sizeof key, p);
        IRL_TRY(sec(v.ctx, m->ctx, irllrec_model_add_meta_f64(m, key, pv), FN_EXPORT, key));
    }
    IRL_TRY(
        sec(v.ctx, m->ctx, irllrec_model_add_meta_i64(m, "hook.steps", *v.steps), FN_EXPORT, "hook.steps"));

    for (int i = 0; i < v.n_blocks; i++) {
        const irllrec__param *b = &v.blocks[i];
        const int64_t dims[2] = {b->rows, b->cols};
        block_key(key, sizeof key, b);
        IRL_TRY(sec(v.ctx, m->ctx,
                    irllrec_model_add_tensor(
                        m, i < v.n_train ? IRLLREC_MODEL_TENSOR : IRLLREC_MODEL_TEACHER, key,
                        b->data, 2, dims, IRLLREC_MODEL_REQUIRED),
                    FN_EXPORT, key));
    }
    IRL_TRY(export_adam(&v, m));

    uint64_t rs[4];
    IRL_TRY(sec(v.ctx, v.ctx, irllrec_align_get_rng_state(v.align, rs), FN_EXPORT, "hook.align.rng"));
    IRL_TRY(sec(v.ctx, m->ctx, irllrec_model_add_u64s(m, IRLLREC_MODEL_RNG, "hook.align.rng", rs, 4,
                                  IRLLREC_MODEL_REQUIRED), FN_EXPORT, "hook.align.rng"));
    return IRLLREC_OK;
}

/* ---- import ------------------------------------------------------------- */

typedef struct staged {
    double params[MAX_PARAMS];
    int64_t steps;
    int64_t adam_t;
    uint64_t align_rng[4];
    float *buf;      /* every block, in block order, then the Adam state */
    size_t buf_bytes;
    int64_t n_adam;
} staged;


static irllrec_status check_meta(const irllrec_hook *h, const irllrec__hook_view *v,
                                 const irllrec_model *m, staged *sg)
{
    int64_t sv[N_SFIELDS];
    size_t len = 0;
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_meta_str(m, "hook.lib_version", NULL, 0, &len), FN_IMPORT,
                "hook.lib_version"));
    spec_values(&v->spec, sv);
    for (size_t i = 0; i < N_SFIELDS; i++) {
        int64_t x = 0;
        IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_meta_i64(m, SFIELDS[i].key, &x), FN_IMPORT,
                    SFIELDS[i].key));
        IRL_CHECK_FN(v->ctx, FN_IMPORT, !SFIELDS[i].shape || x == sv[i], IRLLREC_E_SHAPE,
                  "%s is %lld in the model, %lld in the hook", SFIELDS[i].key, (long long)x,
                  (long long)sv[i]);
    }
    for (int32_t i = 0; i < irllrec_hook_param_count(); i++) {
        irllrec_hook_param p = IRLLREC_HOOK_W_KD;
        char key[64];
        double x = 0.0, lo = 0.0, hi = 0.0;
        (void)irllrec_hook_param_at(i, &p);
        param_key(key, sizeof key, p);
        (void)irllrec_hook_param_bounds(p, &lo, &hi);
        if (param_optional(p) && !has_meta(m, key)) {
            (void)irllrec_hook_get_param(h, p, &sg->params[i]);
            continue;
        }
        IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_meta_f64(m, key, &x), FN_IMPORT, key));
        IRL_CHECK_FN(v->ctx, FN_IMPORT, isfinite(x), IRLLREC_E_NUMERIC, "%s is not finite", key);
        IRL_CHECK_FN(v->ctx, FN_IMPORT, x >= lo && x <= hi &&
                         (p < IRLLREC_HOOK_TRAN_MODE || p > IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH ||
                          x == floor(x)),
                     IRLLREC_E_FORMAT, "%s = %.17g is not a valid value (range [%.17g, %.17g])",
                     key, x, lo, hi);
        sg->params[i] = x;
    }
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_meta_i64(m, "hook.steps", &sg->steps), FN_IMPORT,
                "hook.steps"));
    IRL_CHECK_FN(v->ctx, FN_IMPORT, sg->steps >= 0, IRLLREC_E_FORMAT, "hook.steps = %lld < 0",
              (long long)sg->steps);
    return IRLLREC_OK;
}

/* The section called name exists with the expected kind (shape and dtype are
 * checked by the getters). */
static irllrec_status check_kind(const irllrec__hook_view *v, const irllrec_model *m,
                                 const char *name, uint32_t want)
{
    int32_t idx = -1;
    uint32_t kind = 0;
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_find(m, name, &idx), FN_IMPORT, name));
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_section_info(m, idx, &kind, NULL, NULL, NULL, NULL),
                FN_IMPORT, name));
    IRL_CHECK_FN(v->ctx, FN_IMPORT, kind == want, IRLLREC_E_FORMAT,
                 "section %s has kind %u, expected %u", name, (unsigned)kind, (unsigned)want);
    return IRLLREC_OK;
}

static irllrec_status read_rng(const irllrec__hook_view *v, const irllrec_model *m,
                               const char *name, uint64_t s[4])
{
    IRL_TRY(check_kind(v, m, name, IRLLREC_MODEL_RNG));
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_u64(m, name, s, 4), FN_IMPORT, name));
    /* xoshiro never leaves the all-zero state, so no run produced it */
    IRL_CHECK_FN(v->ctx, FN_IMPORT, (s[0] | s[1] | s[2] | s[3]) != 0, IRLLREC_E_FORMAT,
              "%s is the all-zero state", name);
    return IRLLREC_OK;
}

static irllrec_status read_tensors(const irllrec__hook_view *v, const irllrec_model *m,
                                   staged *sg)
{
    char key[64];
    float *dst = sg->buf;
    for (int i = 0; i < v->n_blocks; i++) {
        const irllrec__param *b = &v->blocks[i];
        const int64_t dims[2] = {b->rows, b->cols}, n = b->rows * b->cols;
        block_key(key, sizeof key, b);
        IRL_TRY(check_kind(v, m, key, i < v->n_train ? IRLLREC_MODEL_TENSOR
                                                     : IRLLREC_MODEL_TEACHER));
        IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_f32(m, key, 2, dims, dst, n), FN_IMPORT, key));
        IRL_CHECK_FN(v->ctx, FN_IMPORT, irllrec__all_finite(dst, n), IRLLREC_E_NUMERIC,
                  "section %s holds a non-finite value", key);
        dst += n;
    }
    uint64_t t = 0;
    IRL_TRY(check_kind(v, m, "hook.adam.t", IRLLREC_MODEL_OPTIM));
    IRL_TRY(sec(v->ctx, m->ctx, irllrec_model_get_u64(m, "hook.adam.t", &t, 1), FN_IMPORT, "hook.adam.t"));
    IRL_CHECK_FN(v->ctx, FN_IMPORT, t <= (uint64_t)INT64_MAX, IRLLREC_E_FORMAT,
                 "hook.adam.t out of range");
    sg->adam_t = (int64_t)t;
    IRL_TRY(check_kind(v, m, "hook.adam.state", IRLLREC_MODEL_OPTIM));
    IRL_TRY(sec(v->ctx, m->ctx,
                irllrec_model_get_f32(m, "hook.adam.state", 1, &sg->n_adam, dst, sg->n_adam),
                FN_IMPORT, "hook.adam.state"));
    IRL_CHECK_FN(v->ctx, FN_IMPORT, irllrec__all_finite(dst, sg->n_adam), IRLLREC_E_NUMERIC,
              "hook.adam.state holds a non-finite value");
    for (int64_t k = sg->n_adam / 2; k < sg->n_adam; k++)
        IRL_CHECK_FN(v->ctx, FN_IMPORT, dst[k] >= 0.0f, IRLLREC_E_NUMERIC,
                  "hook.adam.state: negative second moment at %lld", (long long)k);
    IRL_TRY(read_rng(v, m, "hook.align.rng", sg->align_rng));
    return IRLLREC_OK;
}

/* Every check passed: nothing below can fail. */
static void commit(irllrec_hook *h, const irllrec__hook_view *v, const staged *sg)
{
    const float *src = sg->buf;
    for (int i = 0; i < v->n_blocks; i++) {
        const int64_t n = v->blocks[i].rows * v->blocks[i].cols;
        memcpy(v->blocks[i].data, src, (size_t)n * sizeof(float));
        src += n;
    }
    (void)irllrec_adam_set_state(v->adam, sg->adam_t, src, sg->n_adam);
    (void)irllrec_align_set_rng_state(v->align, sg->align_rng);
    for (int32_t i = 0; i < irllrec_hook_param_count(); i++) {
        irllrec_hook_param p = IRLLREC_HOOK_W_KD;
        (void)irllrec_hook_param_at(i, &p);
        (void)irllrec_hook_set_param(h, p, sg->params[i]);
    }
    *v->steps = sg->steps;
    h->pending = 0;  /* a compute before the import is not the imported state's */
}

irllrec_status irllrec_hook_import(irllrec_hook *h, const irllrec_model *m)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec__hook_view v;
    irllrec__hook_get_view(h, &v);
    IRL_CHECK(v.ctx, m != NULL, IRLLREC_E_INVALID_ARG, "m is NULL");
    staged sg;
    memset(&sg, 0, sizeof sg);
    IRL_TRY(check_meta(h, &v, m, &sg));
    int64_t total = 0;
    IRL_TRY(irllrec_adam_state_size(v.adam, &sg.n_adam));
    for (int i = 0; i < v.n_blocks; i++) total += v.blocks[i].rows * v.blocks[i].cols;
    total += sg.n_adam;
    sg.buf_bytes = (size_t)total * sizeof(float);
    sg.buf = (float *)irllrec__alloc_fn(v.ctx, FN_IMPORT, sg.buf_bytes);
    IRL_CHECK(v.ctx, sg.buf != NULL, IRLLREC_E_NOMEM, "out of memory for %lld staged floats",
              (long long)total);
    irllrec_status st = read_tensors(&v, m, &sg);
    if (st == IRLLREC_OK) commit(h, &v, &sg);
    irllrec__free(v.ctx, sg.buf, sg.buf_bytes);
    return st;
}
