/* The hook's runtime parameters: one table gives each its id, stable name,
 * bounds, kind and place in the handle, and the presets' defaults; set, get,
 * by-name access, enumeration and checkpoints all read it. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include "hook_impl.h"

typedef struct pdesc {
    irllrec_hook_param id;
    const char *name;
    double lo, hi;
    int is_int;
    size_t off;              /* offsetof the double or int64_t field */
    double def, def_released;
} pdesc;

#define D(field) 0, offsetof(struct irllrec_hook, field)
#define I(field) 1, offsetof(struct irllrec_hook, field)

static const pdesc PARAMS[] = {
    {IRLLREC_HOOK_W_KD, "w_kd", 0.0, 1e6, D(w_kd), 1e-2, 1e-2},
    {IRLLREC_HOOK_TAU_KD, "tau_kd", 1e-3, 1e3, D(tau_kd), 0.2, 0.2},
    {IRLLREC_HOOK_W_PAIR, "w_pair", 0.0, 1e6, D(w_pair), 2e-2, 2e-2},
    {IRLLREC_HOOK_TAU_PAIR, "tau_pair", 1e-3, 1e3, D(tau_pair), 0.2, 0.2},
    {IRLLREC_HOOK_W_TRAN, "w_tran", 0.0, 1e6, D(w_tran), 5e-4, 1e-7},
    {IRLLREC_HOOK_W_ITM, "w_itm", 0.0, 1e6, D(w_itm), 1e-4, 1e-7},
    {IRLLREC_HOOK_ITM_ALPHA, "itm_alpha", 0.0, 1.0, D(alpha), 0.6, 0.6},
    {IRLLREC_HOOK_MOMENTUM, "momentum", 0.0, 1.0, D(momentum), 0.999, 0.999},
    {IRLLREC_HOOK_LR, "lr", 1e-12, 10.0, D(lr), 1e-3, 1e-3},
    {IRLLREC_HOOK_REG, "reg", 0.0, 1e6, D(reg), 1e-7, 1e-7},
    {IRLLREC_HOOK_TRAN_MODE, "tran_mode", 0.0, 1.0, I(tran_mode), 0, 0},
    {IRLLREC_HOOK_TRAN_SAMPLES, "tran_samples", 2.0, 2147483647.0, I(tran_samples), 4096, 4096},
    {IRLLREC_HOOK_TRAN_IN_ITM, "tran_in_itm", 0.0, 1.0, I(tran_in_itm), 0, 1},
    {IRLLREC_HOOK_REG_TEACHER, "reg_teacher", 0.0, 1.0, I(reg_teacher), 0, 1},
    {IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, "tran_itm_need_graph", 0.0, 1.0, I(need_graph), 1, 1},
    {IRLLREC_HOOK_BETA1, "beta1", 0.0, 0.9999999, D(beta1), 0.9, 0.9},
    {IRLLREC_HOOK_BETA2, "beta2", 0.0, 0.9999999, D(beta2), 0.999, 0.999},
    {IRLLREC_HOOK_EPS, "eps", 1e-30, 1.0, D(eps), 1e-8, 1e-8},
    {IRLLREC_HOOK_WEIGHT_DECAY, "weight_decay", 0.0, 10.0, D(weight_decay), 0.0, 0.0},
};
#undef D
#undef I
#define N_PARAMS ((int32_t)(sizeof PARAMS / sizeof PARAMS[0]))

static const pdesc *by_id(irllrec_hook_param p)
{
    for (int32_t i = 0; i < N_PARAMS; i++)
        if (PARAMS[i].id == p) return &PARAMS[i];
    return NULL;
}

static const pdesc *by_name(const char *name)
{
    if (name == NULL) return NULL;
    for (int32_t i = 0; i < N_PARAMS; i++)
        if (strcmp(PARAMS[i].name, name) == 0) return &PARAMS[i];
    return NULL;
}

static void store(irllrec_hook *h, const pdesc *pd, double v)
{
    char *slot = (char *)h + pd->off;
    if (pd->is_int)
        *(int64_t *)(void *)slot = (int64_t)v;
    else
        *(double *)(void *)slot = v;
}

static double load(const irllrec_hook *h, const pdesc *pd)
{
    const char *slot = (const char *)h + pd->off;
    return pd->is_int ? (double)*(const int64_t *)(const void *)slot
                      : *(const double *)(const void *)slot;
}

void irllrec__hook_param_defaults(irllrec_hook *h)
{
    const int rel = h->spec.preset == IRLLREC_HOOK_PRESET_RELEASED;
    for (int32_t i = 0; i < N_PARAMS; i++)
        store(h, &PARAMS[i], rel ? PARAMS[i].def_released : PARAMS[i].def);
}

void irllrec__hook_sync_adam(irllrec_hook *h)
{
    irllrec_adam_spec as;
    irllrec_adam_spec_init(&as, (uint32_t)sizeof as);
    as.lr = h->lr;
    as.beta1 = h->beta1;
    as.beta2 = h->beta2;
    as.eps = h->eps;
    as.weight_decay = h->weight_decay;
    /* every value was bounds-checked against the same ranges Adam accepts */
    (void)irllrec_adam_set_hparams(h->adam, &as);
}

/* The one setter: fn is the public function reporting, label how the
 * caller named the parameter. */
static irllrec_status set_checked(irllrec_hook *h, const char *fn, const pdesc *pd, double v)
{
    IRL_CHECK_FN(h->ctx, fn, isfinite(v) && v >= pd->lo && v <= pd->hi, IRLLREC_E_INVALID_ARG,
                 "parameter %s = %.17g outside [%.17g, %.17g]", pd->name, v, pd->lo, pd->hi);
    IRL_CHECK_FN(h->ctx, fn, !pd->is_int || v == floor(v), IRLLREC_E_INVALID_ARG,
                 "parameter %s takes an integer, got %.17g", pd->name, v);
    store(h, pd, v);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_param_bounds(irllrec_hook_param p, double *lo, double *hi)
{
    const pdesc *pd = by_id(p);
    if (pd == NULL || lo == NULL || hi == NULL) return IRLLREC_E_INVALID_ARG;
    *lo = pd->lo;
    *hi = pd->hi;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_param(irllrec_hook *h, irllrec_hook_param p, double v)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const pdesc *pd = by_id(p);
    IRL_CHECK(h->ctx, pd != NULL, IRLLREC_E_INVALID_ARG, "unknown parameter id %d", (int)p);
    return set_checked(h, __func__, pd, v);
}

irllrec_status irllrec_hook_get_param(const irllrec_hook *h, irllrec_hook_param p, double *v)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const pdesc *pd = by_id(p);
    IRL_CHECK(h->ctx, pd != NULL, IRLLREC_E_INVALID_ARG, "unknown parameter id %d", (int)p);
    IRL_CHECK(h->ctx, v != NULL, IRLLREC_E_INVALID_ARG, "v is NULL");
    *v = load(h, pd);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_param_by_name(irllrec_hook *h, const char *name, double v)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const pdesc *pd = by_name(name);
    IRL_CHECK(h->ctx, pd != NULL, IRLLREC_E_INVALID_ARG, "unknown parameter name \"%s\"",
              name ? name : "(null)");
    return set_checked(h, __func__, pd, v);
}

irllrec_status irllrec_hook_get_param_by_name(const irllrec_hook *h, const char *name, double *v)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const pdesc *pd = by_name(name);
    IRL_CHECK(h->ctx, pd != NULL, IRLLREC_E_INVALID_ARG, "unknown parameter name \"%s\"",
              name ? name : "(null)");
    IRL_CHECK(h->ctx, v != NULL, IRLLREC_E_INVALID_ARG, "v is NULL");
    *v = load(h, pd);
    return IRLLREC_OK;
}

int32_t irllrec_hook_param_count(void)
{
    return N_PARAMS;
}

irllrec_status irllrec_hook_param_at(int32_t i, irllrec_hook_param *out)
{
    if (out == NULL || i < 0 || i >= N_PARAMS) return IRLLREC_E_INVALID_ARG;
    *out = PARAMS[i].id;
    return IRLLREC_OK;
}

const char *irllrec_hook_param_name(irllrec_hook_param p)
{
    const pdesc *pd = by_id(p);
    return pd == NULL ? NULL : pd->name;
}

irllrec_status irllrec_hook_param_id(const char *name, irllrec_hook_param *out)
{
    const pdesc *pd = by_name(name);
    if (pd == NULL || out == NULL) return IRLLREC_E_INVALID_ARG;
    *out = pd->id;
    return IRLLREC_OK;
}
