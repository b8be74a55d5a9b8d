/* Hook checkpoints: the hook's whole mutable state as model-file sections
 * (names in docs/file-format.md, "Hook checkpoints").
 *
 * Import reads and checks everything into scratch first and only then
 * writes into the hook, so a refused model leaves the hook as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "hook.h"
#include "irllrec/version.h"

#define FN_EXPORT "irllrec_hook_export"
#define FN_IMPORT "irllrec_hook_import"

typedef struct pname {
    irllrec_hook_param id;
    const char *key;
} pname;

/* Meta keys of the runtime parameters: stable names, not enum values. */
static const pname PNAMES[] = {
    {IRLLREC_HOOK_W_KD, "hook.param.w_kd"},
    {IRLLREC_HOOK_TAU_KD, "hook.param.tau_kd"},
    {IRLLREC_HOOK_W_PAIR, "hook.param.w_pair"},
    {IRLLREC_HOOK_TAU_PAIR, "hook.param.tau_pair"},
    {IRLLREC_HOOK_W_TRAN, "hook.param.w_tran"},
    {IRLLREC_HOOK_W_ITM, "hook.param.w_itm"},
    {IRLLREC_HOOK_ITM_ALPHA, "hook.param.itm_alpha"},
    {IRLLREC_HOOK_MOMENTUM, "hook.param.momentum"},
    {IRLLREC_HOOK_LR, "hook.param.lr"},
    {IRLLREC_HOOK_REG, "hook.param.reg"},
    {IRLLREC_HOOK_TRAN_MODE, "hook.param.tran_mode"},
    {IRLLREC_HOOK_TRAN_SAMPLES, "hook.param.tran_samples"},
    {IRLLREC_HOOK_TRAN_IN_ITM, "hook.param.tran_in_itm"},
    {IRLLREC_HOOK_REG_TEACHER, "hook.param.reg_teacher"},
    {IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, "hook.param.tran_itm_need_graph"},
};
#define N_PNAMES (sizeof PNAMES / sizeof PNAMES[0])

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

/* Forward a model error to the hook's context, naming the section. */
static irllrec_status sec_fail(irllrec_ctx *ctx, irllrec_status st, const char *fn,
                               const char *what)
{
    return irllrec__fail(ctx, st, fn, "%s: %s", what, irllrec_status_str(st));
}

#define EX_TRY(expr, what)                                               \
    do {                                                                 \
        irllrec_status ex_st_ = (expr);                                  \
        if (ex_st_ != IRLLREC_OK) return sec_fail(v.ctx, ex_st_, FN_EXPORT, (what)); \
    } while (0)

static irllrec_status export_adam(const irllrec__hook_view *vp, irllrec_model *m)
{
    const irllrec__hook_view v = *vp;
    int64_t nf = 0, t = 0;
    EX_TRY(irllrec_adam_state_size(v.adam, &nf), "hook.adam.state");
    float *buf = (float *)irllrec__alloc(v.ctx, (size_t)nf * sizeof(float));
    if (buf == NULL)
        return irllrec__fail(v.ctx, IRLLREC_E_NOMEM, FN_EXPORT, "out of memory for the Adam state");
    irllrec_status st = irllrec_adam_get_state(v.adam, &t, buf, nf);
    if (st == IRLLREC_OK)
        st = irllrec_model_add_tensor(m, IRLLREC_MODEL_OPTIM, "hook.adam.state", buf, 1, &nf,
                                      IRLLREC_MODEL_REQUIRED);
    irllrec__free(v.ctx, buf, (size_t)nf * sizeof(float));
    EX_TRY(st, "hook.adam.state");
    const uint64_t tu = (uint64_t)t;
    EX_TRY(irllrec_model_add_u64s(m, IRLLREC_MODEL_OPTIM, "hook.adam.t", &tu, 1,
                                  IRLLREC_MODEL_REQUIRED), "hook.adam.t");
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

    EX_TRY(irllrec_model_add_meta_str(m, "hook.lib_version", irllrec_version_string()),
           "hook.lib_version");
    spec_values(&v.spec, sv);
    for (size_t i = 0; i < N_SFIELDS; i++)
        EX_TRY(irllrec_model_add_meta_i64(m, SFIELDS[i].key, sv[i]), SFIELDS[i].key);
    for (size_t i = 0; i < N_PNAMES; i++) {
        double pv = 0.0;
        (void)irllrec_hook_get_param(h, PNAMES[i].id, &pv);  /* every id is known */
        EX_TRY(irllrec_model_add_meta_f64(m, PNAMES[i].key, pv), PNAMES[i].key);
    }
    EX_TRY(irllrec_model_add_meta_i64(m, "hook.steps", *v.steps), "hook.steps");

    for (int i = 0; i < v.n_blocks; i++) {
        const irllrec__param *b = &v.blocks[i];
        const int64_t dims[2] = {b->rows, b->cols};
        block_key(key, sizeof key, b);
        EX_TRY(irllrec_model_add_tensor(m, i < v.n_train ? IRLLREC_MODEL_TENSOR
                                                         : IRLLREC_MODEL_TEACHER,
                                        key, b->data, 2, dims, IRLLREC_MODEL_REQUIRED),
               key);
    }
    IRL_TRY(export_adam(&v, m));

    uint64_t rs[4];
    EX_TRY(irllrec_model_add_u64s(m, IRLLREC_MODEL_RNG, "hook.rng", v.rng->s, 4,
                                  IRLLREC_MODEL_REQUIRED), "hook.rng");
    EX_TRY(irllrec_align_get_rng_state(v.align, rs), "hook.align.rng");
    EX_TRY(irllrec_model_add_u64s(m, IRLLREC_MODEL_RNG, "hook.align.rng", rs, 4,
                                  IRLLREC_MODEL_REQUIRED), "hook.align.rng");
    return IRLLREC_OK;
}

/* ---- import ------------------------------------------------------------- */

typedef struct staged {
    double params[N_PNAMES];
    int64_t steps;
    int64_t adam_t;
    uint64_t rng[4], align_rng[4];
    float *buf;      /* every block, in block order, then the Adam state */
    size_t buf_bytes;
    int64_t n_adam;
} staged;

#define IM_TRY(expr, what)                                               \
    do {                                                                 \
        irllrec_status im_st_ = (expr);                                  \
        if (im_st_ != IRLLREC_OK) return sec_fail(v->ctx, im_st_, FN_IMPORT, (what)); \
    } while (0)

static irllrec_status check_meta(const irllrec__hook_view *v, const irllrec_model *m, staged *sg)
{
    int64_t sv[N_SFIELDS];
    size_t len = 0;
    IM_TRY(irllrec_model_get_meta_str(m, "hook.lib_version", NULL, 0, &len), "hook.lib_version");
    spec_values(&v->spec, sv);
    for (size_t i = 0; i < N_SFIELDS; i++) {
        int64_t x = 0;
        IM_TRY(irllrec_model_get_meta_i64(m, SFIELDS[i].key, &x), SFIELDS[i].key);
        IRL_CHECK(v->ctx, !SFIELDS[i].shape || x == sv[i], IRLLREC_E_SHAPE,
                  "%s is %lld in the model, %lld in the hook", SFIELDS[i].key, (long long)x,
                  (long long)sv[i]);
    }
    for (size_t i = 0; i < N_PNAMES; i++) {
        double x = 0.0, lo = 0.0, hi = 0.0;
        IM_TRY(irllrec_model_get_meta_f64(m, PNAMES[i].key, &x), PNAMES[i].key);
        (void)irllrec_hook_param_bounds(PNAMES[i].id, &lo, &hi);
        IRL_CHECK(v->ctx, isfinite(x), IRLLREC_E_NUMERIC, "%s is not finite", PNAMES[i].key);
        IRL_CHECK(v->ctx, x >= lo && x <= hi &&
                  (PNAMES[i].id < IRLLREC_HOOK_TRAN_MODE || x == floor(x)),
                  IRLLREC_E_FORMAT, "%s = %g is not a valid value", PNAMES[i].key, x);
        sg->params[i] = x;
    }
    IM_TRY(irllrec_model_get_meta_i64(m, "hook.steps", &sg->steps), "hook.steps");
    IRL_CHECK(v->ctx, sg->steps >= 0, IRLLREC_E_FORMAT, "hook.steps = %lld < 0",
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
    IM_TRY(irllrec_model_find(m, name, &idx), name);
    IM_TRY(irllrec_model_section_info(m, idx, &kind, NULL, NULL, NULL, NULL), name);
    IRL_CHECK(v->ctx, kind == want, IRLLREC_E_FORMAT, "section %s has kind %u, expected %u",
              name, (unsigned)kind, (unsigned)want);
    return IRLLREC_OK;
}

static irllrec_status read_rng(const irllrec__hook_view *v, const irllrec_model *m,
                               const char *name, uint64_t s[4])
{
    IRL_TRY(check_kind(v, m, name, IRLLREC_MODEL_RNG));
    IM_TRY(irllrec_model_get_u64(m, name, s, 4), name);
    /* xoshiro never leaves the all-zero state, so no run produced it */
    IRL_CHECK(v->ctx, (s[0] | s[1] | s[2] | s[3]) != 0, IRLLREC_E_FORMAT,
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
        IM_TRY(irllrec_model_get_f32(m, key, 2, dims, dst, n), key);
        IRL_CHECK(v->ctx, irllrec__all_finite(dst, n), IRLLREC_E_NUMERIC,
                  "section %s holds a non-finite value", key);
        dst += n;
    }
    uint64_t t = 0;
    IRL_TRY(check_kind(v, m, "hook.adam.t", IRLLREC_MODEL_OPTIM));
    IM_TRY(irllrec_model_get_u64(m, "hook.adam.t", &t, 1), "hook.adam.t");
    IRL_CHECK(v->ctx, t <= (uint64_t)INT64_MAX, IRLLREC_E_FORMAT, "hook.adam.t out of range");
    sg->adam_t = (int64_t)t;
    IRL_TRY(check_kind(v, m, "hook.adam.state", IRLLREC_MODEL_OPTIM));
    IM_TRY(irllrec_model_get_f32(m, "hook.adam.state", 1, &sg->n_adam, dst, sg->n_adam),
           "hook.adam.state");
    IRL_CHECK(v->ctx, irllrec__all_finite(dst, sg->n_adam), IRLLREC_E_NUMERIC,
              "hook.adam.state holds a non-finite value");
    for (int64_t k = sg->n_adam / 2; k < sg->n_adam; k++)
        IRL_CHECK(v->ctx, dst[k] >= 0.0f, IRLLREC_E_NUMERIC,
                  "hook.adam.state: negative second moment at %lld", (long long)k);
    IRL_TRY(read_rng(v, m, "hook.rng", sg->rng));
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
    memcpy(v->rng->s, sg->rng, sizeof sg->rng);
    (void)irllrec_align_set_rng_state(v->align, sg->align_rng);
    for (size_t i = 0; i < N_PNAMES; i++) (void)irllrec_hook_set_param(h, PNAMES[i].id, sg->params[i]);
    *v->steps = sg->steps;
}

irllrec_status irllrec_hook_import(irllrec_hook *h, const irllrec_model *m)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec__hook_view v;
    irllrec__hook_get_view(h, &v);
    IRL_CHECK(v.ctx, m != NULL, IRLLREC_E_INVALID_ARG, "m is NULL");
    staged sg;
    memset(&sg, 0, sizeof sg);
    IRL_TRY(check_meta(&v, m, &sg));
    int64_t total = 0;
    IRL_TRY(irllrec_adam_state_size(v.adam, &sg.n_adam));
    for (int i = 0; i < v.n_blocks; i++) total += v.blocks[i].rows * v.blocks[i].cols;
    total += sg.n_adam;
    sg.buf_bytes = (size_t)total * sizeof(float);
    sg.buf = (float *)irllrec__alloc(v.ctx, sg.buf_bytes);
    IRL_CHECK(v.ctx, sg.buf != NULL, IRLLREC_E_NOMEM, "out of memory for %lld staged floats",
              (long long)total);
    irllrec_status st = read_tensors(&v, m, &sg);
    if (st == IRLLREC_OK) commit(h, &v, &sg);
    irllrec__free(v.ctx, sg.buf, sg.buf_bytes);
    return st;
}
