/* The IRLLRec hook: composes the text towers, the interaction tower and the
 * alignment losses around a host's embeddings (DESIGN.md sections 4 and 5).
 *
 * One step = compute every term and every gradient into the hook's own
 * scratch, check that all of it is finite, and only then add the host's
 * gradients into the caller's buffers, step Adam and commit the teacher EMA.
 * That ordering is what makes a failed step change nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "hook.h"
#include "../tower/tower.h"
#include "../align/draw.h"

#define MAX_BUFS 96  /* > the number of A() calls in alloc_all */
#define MAX_BLOCKS 16
/* The alignment terms run on lib/align's blocked engine. A fixed slice count
 * keeps their summation order, hence the step's bits, independent of the
 * thread count; a row block spanning every column (when it fits the cap)
 * lets the engine exponentiate each logit once. */
#define ALIGN_SLICES 4
#define ALIGN_BLOCK_ROWS 32
#define ALIGN_MAX_BLOCK_FLOATS (8 << 20) /* 32 MiB of logits per thread */

typedef struct hbuf {
    void *p;
    size_t n;
} hbuf;

struct irllrec_hook {
    irllrec_ctx *ctx;
    irllrec_hook_spec spec;
    int64_t U, I, N, d, K, L, B, Dp, Dt, nl;
    int32_t nt;  /* the ctx's worker threads (irllrec_ctx_n_threads) */
    int has_prf, has_int;
    /* runtime parameters */
    double w_kd, tau_kd, w_pair, tau_pair, w_tran, w_itm, alpha, momentum, lr, reg;
    int64_t tran_mode, tran_samples, tran_in_itm, reg_teacher, need_graph;
    /* parameters: the text towers, the interaction tower and the ITM pair
     * are lib/tower handles; Adam steps every trainable block. */
    irllrec_mlp *prf, *intm;  /* student text towers (profile, intent) */
    irllrec_itm *itm;         /* momentum teacher of intm */
    irllrec_intent *tower;    /* prototypes + adaptive edge mask */
    irllrec_adam *adam;
    float *teacher_prev;      /* the teacher before this step's EMA (restored on failure) */
    int64_t n_teacher;
    irllrec__param blocks[MAX_BLOCKS];
    int n_blocks, n_train;    /* blocks [0, n_train) have gradients */
    /* frozen text: users then items */
    float *txt_p, *txt_t;
    int text_set[4];
    int graph_set;
    /* text-tower workspaces: rows = users, then items (all, or the batch) */
    float *p_out, *p_dout, *p_gather;
    float *z_out, *z_dout, *z_gather;
    /* interaction tower */
    float *tw_e, *tw_de;  /* graph-free: E_final as one N x d matrix, and its gradient */
    int64_t *anchors;
    float *r, *dr;
    float *kd_ax, *kd_dax;
    int64_t *item_rows;
    /* the batch's distinct items: the text towers run once per item */
    int32_t *item_slot;  /* I entries, -1 outside a step */
    int32_t *uniq;       /* 2B */
    int64_t *urows;      /* 2B: output row of pos[b] (b < B) and neg[b] */
    int64_t n_uniq;
    int64_t p_rows, z_rows;  /* text-tower rows of the last run (0 = not run) */
    /* InfoNCE */
    irllrec_align *align;  /* InfoNCE and translation (lib/align) */
    float *ya, *dya;
    /* translation: gathered rows, their gradients, the noise */
    float *xt, *yt, *dxh, *dyh, *eps1, *eps2, *noise1, *noise2;
    int32_t *sel;
    int noise_override;
    /* host gradients before commit */
    float *g_final, *g_layers;
    irllrec__rng rng;
    int64_t steps;
    irllrec_hook_timings tm;
    hbuf bufs[MAX_BUFS];
    int n_bufs;
};

/* ---- parameters ---------------------------------------------------------- */

typedef struct pdesc {
    irllrec_hook_param id;
    double lo, hi;
} pdesc;

static const pdesc PARAMS[] = {
    {IRLLREC_HOOK_W_KD, 0.0, 1e6},        {IRLLREC_HOOK_TAU_KD, 1e-3, 1e3},
    {IRLLREC_HOOK_W_PAIR, 0.0, 1e6},      {IRLLREC_HOOK_TAU_PAIR, 1e-3, 1e3},
    {IRLLREC_HOOK_W_TRAN, 0.0, 1e6},      {IRLLREC_HOOK_W_ITM, 0.0, 1e6},
    {IRLLREC_HOOK_ITM_ALPHA, 0.0, 1.0},   {IRLLREC_HOOK_MOMENTUM, 0.0, 1.0},
    {IRLLREC_HOOK_LR, 1e-12, 10.0},       {IRLLREC_HOOK_REG, 0.0, 1e6},
    {IRLLREC_HOOK_TRAN_MODE, 0.0, 1.0},   {IRLLREC_HOOK_TRAN_SAMPLES, 2.0, 2147483647.0},
    {IRLLREC_HOOK_TRAN_IN_ITM, 0.0, 1.0}, {IRLLREC_HOOK_REG_TEACHER, 0.0, 1.0},
    {IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0.0, 1.0},
};

static const pdesc *find_param(irllrec_hook_param p)
{
    for (size_t i = 0; i < sizeof PARAMS / sizeof PARAMS[0]; i++)
        if (PARAMS[i].id == p) return &PARAMS[i];
    return NULL;
}

static int param_is_int(irllrec_hook_param p)
{
    return p >= IRLLREC_HOOK_TRAN_MODE;
}

static double *param_dslot(irllrec_hook *h, irllrec_hook_param p)
{
    switch (p) {
    case IRLLREC_HOOK_W_KD: return &h->w_kd;
    case IRLLREC_HOOK_TAU_KD: return &h->tau_kd;
    case IRLLREC_HOOK_W_PAIR: return &h->w_pair;
    case IRLLREC_HOOK_TAU_PAIR: return &h->tau_pair;
    case IRLLREC_HOOK_W_TRAN: return &h->w_tran;
    case IRLLREC_HOOK_W_ITM: return &h->w_itm;
    case IRLLREC_HOOK_ITM_ALPHA: return &h->alpha;
    case IRLLREC_HOOK_MOMENTUM: return &h->momentum;
    case IRLLREC_HOOK_LR: return &h->lr;
    case IRLLREC_HOOK_REG: return &h->reg;
    default: return NULL;
    }
}

static int64_t *param_islot(irllrec_hook *h, irllrec_hook_param p)
{
    switch (p) {
    case IRLLREC_HOOK_TRAN_MODE: return &h->tran_mode;
    case IRLLREC_HOOK_TRAN_SAMPLES: return &h->tran_samples;
    case IRLLREC_HOOK_TRAN_IN_ITM: return &h->tran_in_itm;
    case IRLLREC_HOOK_REG_TEACHER: return &h->reg_teacher;
    case IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH: return &h->need_graph;
    default: return NULL;
    }
}

irllrec_status irllrec_hook_param_bounds(irllrec_hook_param p, double *lo, double *hi)
{
    const pdesc *pd = find_param(p);
    if (pd == NULL || lo == NULL || hi == NULL) return IRLLREC_E_INVALID_ARG;
    *lo = pd->lo;
    *hi = pd->hi;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_param(irllrec_hook *h, irllrec_hook_param p, double v)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    const pdesc *pd = find_param(p);
    IRL_CHECK(h->ctx, pd != NULL, IRLLREC_E_INVALID_ARG, "unknown parameter %d", (int)p);
    IRL_CHECK(h->ctx, isfinite(v) && v >= pd->lo && v <= pd->hi, IRLLREC_E_INVALID_ARG,
              "parameter %d = %g outside [%g, %g]", (int)p, v, pd->lo, pd->hi);
    if (param_is_int(p)) {
        IRL_CHECK(h->ctx, v == floor(v), IRLLREC_E_INVALID_ARG,
                  "parameter %d takes an integer, got %g", (int)p, v);
        *param_islot(h, p) = (int64_t)v;
    } else {
        *param_dslot(h, p) = v;
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_get_param(const irllrec_hook *h, irllrec_hook_param p, double *v)
{
    if (h == NULL || v == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_hook *hm = (irllrec_hook *)(uintptr_t)h;
    if (find_param(p) == NULL) return IRLLREC_E_INVALID_ARG;
    *v = param_is_int(p) ? (double)*param_islot(hm, p) : *param_dslot(hm, p);
    return IRLLREC_OK;
}

static void set_preset_defaults(irllrec_hook *h)
{
    const int rel = h->spec.preset == IRLLREC_HOOK_PRESET_RELEASED;
    h->w_kd = 1e-2;
    h->tau_kd = 0.2;
    h->w_pair = 2e-2;
    h->tau_pair = 0.2;
    h->w_tran = rel ? 1e-7 : 5e-4;
    h->w_itm = rel ? 1e-7 : 1e-4;
    h->alpha = 0.6;
    h->momentum = 0.999;
    h->lr = 1e-3;
    h->reg = 1e-7;
    h->tran_mode = 0;
    h->tran_samples = 4096;
    h->tran_in_itm = rel;
    h->reg_teacher = rel;
    h->need_graph = 1;
}

/* ---- create / free ---------------------------------------------------------- */

void irllrec_hook_spec_init(irllrec_hook_spec *spec, uint32_t struct_size)
{
    irllrec_hook_spec d;
    if (spec == NULL) return;
    memset(&d, 0, sizeof d);
    d.struct_size = (uint32_t)sizeof d;
    d.preset = IRLLREC_HOOK_PRESET_PAPER;
    d.dim = 32;
    d.n_intents = 128;
    d.max_batch = 4096;
    d.seed = 2025;
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
}

/* Allocate count*size bytes, zeroed, recorded for irllrec_hook_free. */
static void *halloc(irllrec_hook *h, int64_t count, size_t size)
{
    size_t n;
    if (count <= 0 || h->n_bufs >= MAX_BUFS) return NULL;
    if (irllrec__mul_overflow((size_t)count, size, &n)) return NULL;
    void *p = irllrec__calloc(h->ctx, (size_t)count, size);
    if (p == NULL) return NULL;
    h->bufs[h->n_bufs].p = p;
    h->bufs[h->n_bufs].n = n;
    h->n_bufs++;
    return p;
}

void irllrec_hook_free(irllrec_hook *h)
{
    if (h == NULL) return;
    irllrec_ctx *ctx = h->ctx;
    for (int i = 0; i < h->n_bufs; i++) irllrec__free(ctx, h->bufs[i].p, h->bufs[i].n);
    irllrec_adam_free(h->adam);
    irllrec_itm_free(h->itm);
    irllrec_mlp_free(h->intm);
    irllrec_mlp_free(h->prf);
    irllrec_intent_free(h->tower);
    irllrec_align_free(h->align);
    irllrec__free(ctx, h, sizeof *h);
}

static void add_block(irllrec_hook *h, const char *name, float *data, float *grad, int64_t rows,
                      int64_t cols)
{
    irllrec__param *b = &h->blocks[h->n_blocks++];
    memset(b, 0, sizeof *b);
    snprintf(b->name, sizeof b->name, "%s", name);
    b->data = data;
    b->grad = grad;
    b->rows = rows;
    b->cols = cols;
}

static irllrec_status check_spec(irllrec_ctx *ctx, const irllrec_hook_spec *s)
{
#define FAIL_IF_NOT(cond, st, ...) \
    do { if (!(cond)) return irllrec__fail(ctx, (st), "irllrec_hook_create", __VA_ARGS__); } while (0)
    FAIL_IF_NOT(s->preset == IRLLREC_HOOK_PRESET_PAPER || s->preset == IRLLREC_HOOK_PRESET_RELEASED,
              IRLLREC_E_INVALID_ARG, "unknown preset %d", (int)s->preset);
    FAIL_IF_NOT(s->n_users > 0 && s->n_items > 0 && s->n_users + s->n_items <= INT32_MAX,
              IRLLREC_E_INVALID_ARG, "n_users %lld, n_items %lld: need > 0 and N < 2^31",
              (long long)s->n_users, (long long)s->n_items);
    FAIL_IF_NOT(s->dim > 0 && s->dim <= 65536, IRLLREC_E_INVALID_ARG, "dim %d not in 1..65536",
              (int)s->dim);
    FAIL_IF_NOT(s->n_intents > 0 && s->n_intents <= 65536, IRLLREC_E_INVALID_ARG,
              "n_intents %d not in 1..65536", (int)s->n_intents);
    FAIL_IF_NOT(s->n_layers >= 0 && s->n_layers <= 64, IRLLREC_E_INVALID_ARG,
              "n_layers %d not in 0..64", (int)s->n_layers);
    FAIL_IF_NOT(s->max_batch > 0 && s->max_batch <= (1 << 24), IRLLREC_E_INVALID_ARG,
              "max_batch %d not in 1..2^24", (int)s->max_batch);
    FAIL_IF_NOT(s->profile_dim >= 0 && s->profile_dim <= (1 << 20) && s->intent_dim >= 0 &&
              s->intent_dim <= (1 << 20), IRLLREC_E_INVALID_ARG,
              "profile_dim %d / intent_dim %d not in 0..2^20", (int)s->profile_dim,
              (int)s->intent_dim);
    FAIL_IF_NOT(s->teacher_init >= 0 && s->teacher_init <= 2, IRLLREC_E_INVALID_ARG,
              "teacher_init %d not in 0..2", (int)s->teacher_init);
    FAIL_IF_NOT(s->reserved0 == 0, IRLLREC_E_INVALID_ARG, "reserved0 must be zero");
#undef FAIL_IF_NOT
    return IRLLREC_OK;
}

static irllrec_status alloc_all(irllrec_hook *h)
{
    const int64_t U = h->U, N = h->N, d = h->d, B = h->B;
    int ok = 1;
#define A(ptr, cnt, type) ok = ok && ((ptr) = (type *)halloc(h, (cnt), sizeof(type))) != NULL
    const int64_t rows_p = U + 2 * B;
    const int64_t rows_z = U + (h->I > 2 * B ? h->I : 2 * B);
    if (h->has_prf) {
        A(h->txt_p, N * h->Dp, float);
        A(h->p_out, rows_p * d, float);
        A(h->p_dout, rows_p * d, float);
        A(h->p_gather, 2 * B * h->Dp, float);
    }
    if (h->has_int) {
        A(h->txt_t, N * h->Dt, float);
        A(h->z_out, rows_z * d, float);
        A(h->z_dout, rows_z * d, float);
        A(h->z_gather, 2 * B * h->Dt, float);
        if (h->L == 0) {
            A(h->tw_e, N * d, float);
            A(h->tw_de, N * d, float);
        }
        A(h->anchors, 3 * B, int64_t);
        A(h->r, 3 * B * d, float);
        A(h->dr, 3 * B * d, float);
        /* translation */
        A(h->xt, N * d, float);
        A(h->yt, N * d, float);
        A(h->dxh, N * d, float);
        A(h->dyh, N * d, float);
        A(h->eps1, N * d, float);
        A(h->eps2, N * d, float);
        A(h->noise1, N * d, float);
        A(h->noise2, N * d, float);
        A(h->sel, N, int32_t);
    }
    A(h->ya, B * d, float);
    A(h->dya, B * d, float);
    A(h->item_rows, 2 * B, int64_t);
    A(h->item_slot, h->I, int32_t);
    A(h->uniq, 2 * B, int32_t);
    A(h->urows, 2 * B, int64_t);
    if (h->has_prf) {
        A(h->kd_ax, 3 * B * d, float);
        A(h->kd_dax, 3 * B * d, float);
    }
    A(h->g_final, N * d, float);
    if (h->L > 0) A(h->g_layers, h->L * N * d, float);
#undef A
    return ok ? IRLLREC_OK : irllrec__fail(h->ctx, IRLLREC_E_NOMEM, "irllrec_hook_create",
                                           "out of memory for the hook's workspaces");
}

/* One alignment handle serves every InfoNCE term (B anchors against U users
 * or B batch items) and the translation term (n <= N rows both sides). */
static irllrec_status align_create(irllrec_hook *h)
{
    irllrec_align_spec as;
    const int64_t rows = h->has_int && h->N > h->B ? h->N : h->B;
    int64_t cols = h->U > h->B ? h->U : h->B;
    if (h->has_int && h->N > cols) cols = h->N;
    irllrec_align_spec_init(&as, (uint32_t)sizeof as);
    as.dim = (int32_t)h->d;
    as.max_rows = rows;
    as.max_cols = cols;
    as.block_rows = ALIGN_BLOCK_ROWS;
    if ((int64_t)ALIGN_BLOCK_ROWS * cols <= ALIGN_MAX_BLOCK_FLOATS) as.block_cols = (int32_t)cols;
    as.n_slices = ALIGN_SLICES;
    as.seed = h->spec.seed;
    return irllrec_align_create(h->ctx, &as, &h->align);
}

/* Publish one handle's blocks under the hook's names (pfx.w1, .b1, .w2, .b2). */
static void mlp_blocks(irllrec_hook *h, const char *pfx, irllrec__param *src, int n)
{
    char name[48];
    static const char suffix[4][3] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < n && i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", pfx, suffix[i]);
        add_block(h, name, src[i].data, src[i].grad, src[i].rows, src[i].cols);
    }
}

static void layout_params(irllrec_hook *h)
{
    irllrec__param *pb;
    int np;
    h->n_blocks = 0;
    if (h->has_prf) {
        irllrec__mlp_params(h->prf, &pb, &np);
        mlp_blocks(h, "prf", pb, np);
    }
    if (h->has_int) {
        irllrec__mlp_params(h->intm, &pb, &np);
        mlp_blocks(h, "int", pb, np);
        irllrec__intent_params(h->tower, &pb, &np);
        add_block(h, "proto.user", pb[0].data, pb[0].grad, pb[0].rows, pb[0].cols);
        add_block(h, "proto.item", pb[1].data, pb[1].grad, pb[1].rows, pb[1].cols);
    }
    h->n_train = h->n_blocks;
    h->n_teacher = 0;
    if (h->has_int) {
        irllrec__itm_teacher_params(h->itm, &pb, &np);
        mlp_blocks(h, "teacher", pb, np);
        for (int i = h->n_train; i < h->n_blocks; i++)
            h->n_teacher += h->blocks[i].rows * h->blocks[i].cols;
    }
}

/* A text tower over din-wide text with room for rows rows; its own seed so
 * that, e.g., adding profiles does not change the intent tower's weights. */
static irllrec_status mlp_make(irllrec_hook *h, int64_t din, int64_t rows, uint64_t stream,
                               irllrec_mlp **out)
{
    irllrec_mlp_spec ms;
    irllrec_mlp_spec_init(&ms, (uint32_t)sizeof ms);
    ms.in_dim = (int32_t)din;
    ms.out_dim = (int32_t)h->d;
    ms.max_rows = rows;
    ms.seed = h->spec.seed ^ stream;
    return irllrec_mlp_create(h->ctx, &ms, out);
}

/* The towers, the ITM pair, then the blocks and what is sized by them. */
static irllrec_status modules_create(irllrec_hook *h)
{
    const irllrec_hook_spec *s = &h->spec;
    if (h->has_prf)
        IRL_TRY(mlp_make(h, h->Dp, h->U + (h->I < 2 * h->B ? h->I : 2 * h->B), 0x1001, &h->prf));
    if (h->has_int) {
        irllrec_itm_spec is;
        IRL_TRY(mlp_make(h, h->Dt, h->N, 0x1002, &h->intm));
        irllrec_itm_spec_init(&is, (uint32_t)sizeof is);
        /* The released code re-initialises the teacher after copying it. */
        is.init_equal = s->teacher_init == IRLLREC_HOOK_TEACHER_COPY ||
                        (s->teacher_init == IRLLREC_HOOK_TEACHER_DEFAULT &&
                         s->preset == IRLLREC_HOOK_PRESET_PAPER);
        is.momentum = h->momentum;
        is.alpha = h->alpha;
        is.seed = s->seed ^ 0x1004;
        IRL_TRY(irllrec_itm_create(h->ctx, &is, h->intm, &h->itm));
        /* graph-free (n_layers 0): one "layer", E_final, and no graph */
        irllrec_intent_spec ts;
        irllrec_intent_spec_init(&ts, (uint32_t)sizeof ts);
        ts.n_users = h->U;
        ts.n_items = h->I;
        ts.dim = (int32_t)h->d;
        ts.n_intents = (int32_t)h->K;
        ts.n_layers = (int32_t)h->nl;
        ts.seed = s->seed ^ 0x1003;
        IRL_TRY(irllrec_intent_create(h->ctx, &ts, NULL, &h->tower));
    }
    layout_params(h);
    if (h->has_int) {
        h->teacher_prev = (float *)halloc(h, h->n_teacher, sizeof(float));
        if (h->teacher_prev == NULL)
            return irllrec__fail(h->ctx, IRLLREC_E_NOMEM, "irllrec_hook_create",
                                 "out of memory for the teacher snapshot");
    }
    {
        int64_t sizes[MAX_BLOCKS];
        irllrec_adam_spec as;
        for (int i = 0; i < h->n_train; i++) sizes[i] = h->blocks[i].rows * h->blocks[i].cols;
        if (h->n_train == 0) sizes[0] = 1;  /* no trainable block: a dummy, never stepped */
        irllrec_adam_spec_init(&as, (uint32_t)sizeof as);
        as.lr = h->lr;
        IRL_TRY(irllrec_adam_create(h->ctx, &as, sizes, h->n_train > 0 ? h->n_train : 1,
                                    &h->adam));
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_create(irllrec_ctx *ctx, const irllrec_hook_spec *spec,
                                   irllrec_hook **out)
{
    irllrec_hook_spec s;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    IRL_CHECK(ctx, ctx != NULL && spec != NULL, IRLLREC_E_INVALID_ARG, "ctx or spec is NULL");
    IRL_TRY(irllrec__copy_spec(ctx, __func__, &s, sizeof s, spec));
    IRL_TRY(check_spec(ctx, &s));
    irllrec_hook *h = (irllrec_hook *)irllrec__calloc(ctx, 1, sizeof *h);
    if (h == NULL) return irllrec__fail(ctx, IRLLREC_E_NOMEM, __func__, "out of memory");
    h->ctx = ctx;
    h->spec = s;
    h->nt = irllrec_ctx_n_threads(ctx);
    h->U = s.n_users;
    h->I = s.n_items;
    h->N = s.n_users + s.n_items;
    h->d = s.dim;
    h->K = s.n_intents;
    h->L = s.n_layers;
    h->nl = s.n_layers > 0 ? s.n_layers : 1;
    h->B = s.max_batch;
    h->Dp = s.profile_dim;
    h->Dt = s.intent_dim;
    h->has_prf = s.profile_dim > 0;
    h->has_int = s.intent_dim > 0;
    set_preset_defaults(h);
    irllrec_status st = alloc_all(h);
    if (st != IRLLREC_OK) {
        irllrec_hook_free(h);
        return st;
    }
    st = modules_create(h);
    if (st == IRLLREC_OK) st = align_create(h);
    if (st != IRLLREC_OK) {
        irllrec_hook_free(h);
        return st;
    }
    for (int64_t i = 0; i < h->I; i++) h->item_slot[i] = -1;
    irllrec__rng_seed(&h->rng, s.seed, 0x1005);
    *out = h;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_last_timings(const irllrec_hook *h, irllrec_hook_timings *out)
{
    if (h == NULL || out == NULL || out->struct_size < 2 * sizeof(uint32_t))
        return IRLLREC_E_INVALID_ARG;
    irllrec_hook_timings t = h->tm;
    t.struct_size = out->struct_size < sizeof t ? out->struct_size : (uint32_t)sizeof t;
    memcpy(out, &t, t.struct_size);
    return IRLLREC_OK;
}

/* Seconds from a C11 clock; only differences are used. */
static double tnow(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) == 0) return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Add the time since *t0 to *acc and restart the clock. */
static void lap(double *acc, double *t0)
{
    const double t = tnow();
    *acc += t - *t0;
    *t0 = t;
}

int64_t irllrec_hook_steps(const irllrec_hook *h)
{
    return h == NULL ? -1 : h->steps;
}

/* ---- text and graph ---------------------------------------------------- */

irllrec_status irllrec_hook_set_text(irllrec_hook *h, int32_t which, irllrec_mat m)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, which >= 0 && which <= 3, IRLLREC_E_INVALID_ARG, "which = %d not in 0..3",
              (int)which);
    const int is_prf = which <= IRLLREC_HOOK_ITEM_PROFILE;
    const int is_user = which == IRLLREC_HOOK_USER_PROFILE || which == IRLLREC_HOOK_USER_INTENT;
    IRL_CHECK(h->ctx, is_prf ? h->has_prf : h->has_int, IRLLREC_E_STATE,
              "%s text is absent in the spec (its dim is 0)", is_prf ? "profile" : "intent");
    IRL_TRY(irllrec__check_mat(h->ctx, __func__, "m", m));
    const int64_t rows = is_user ? h->U : h->I, cols = is_prf ? h->Dp : h->Dt;
    IRL_CHECK(h->ctx, m.rows == rows && m.cols == cols, IRLLREC_E_SHAPE,
              "m is %lld x %lld, expected %lld x %lld", (long long)m.rows, (long long)m.cols,
              (long long)rows, (long long)cols);
    IRL_CHECK(h->ctx, irllrec__all_finite_mat(m), IRLLREC_E_NUMERIC, "m holds a non-finite value");
    float *dst = (is_prf ? h->txt_p : h->txt_t) + (is_user ? 0 : h->U * cols);
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + r * cols, m.data + r * m.ld, (size_t)cols * sizeof(float));
    h->text_set[which] = 1;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_graph(irllrec_hook *h, const irllrec_csr *adj)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_ctx *ctx = h->ctx;
    IRL_CHECK(ctx, h->L > 0, IRLLREC_E_STATE, "graph-free hook (n_layers = 0) takes no graph");
    IRL_CHECK(ctx, adj != NULL && adj->indptr != NULL, IRLLREC_E_INVALID_ARG, "adj is NULL");
    IRL_CHECK(ctx, adj->n_rows == h->N && adj->n_cols == h->N, IRLLREC_E_SHAPE,
              "adj is %lld x %lld, expected N x N = %lld", (long long)adj->n_rows,
              (long long)adj->n_cols, (long long)h->N);
    IRL_CHECK(ctx, adj->nnz >= 0 && adj->indptr[0] == 0 && adj->indptr[h->N] == adj->nnz &&
              (adj->nnz == 0 || adj->indices != NULL), IRLLREC_E_INVALID_ARG,
              "adj offsets: indptr[0] must be 0 and indptr[N] == nnz = %lld", (long long)adj->nnz);
    for (int64_t r = 0; r < h->N; r++)
        IRL_CHECK(ctx, adj->indptr[r + 1] >= adj->indptr[r], IRLLREC_E_INVALID_ARG,
                  "adj.indptr decreases at row %lld", (long long)r);
    for (int64_t p = 0; p < adj->nnz; p++)
        IRL_CHECK(ctx, adj->indices[p] >= 0 && adj->indices[p] < h->N, IRLLREC_E_INVALID_ARG,
                  "adj.indices[%lld] = %d out of range", (long long)p, (int)adj->indices[p]);
    /* the graph only serves the interaction tower, which needs intent text */
    if (h->has_int) IRL_TRY(irllrec_intent_set_graph(h->tower, adj));
    h->graph_set = 1;
    return IRLLREC_OK;
}

/* ---- internal access ------------------------------------------------------ */

int irllrec__hook_blocks(irllrec_hook *h, irllrec__param *out, int cap)
{
    int n = h->n_blocks < cap ? h->n_blocks : cap;
    memcpy(out, h->blocks, (size_t)n * sizeof *out);
    return n;
}

void irllrec__hook_get_view(irllrec_hook *h, irllrec__hook_view *v)
{
    v->ctx = h->ctx;
    v->spec = h->spec;
    v->blocks = h->blocks;
    v->n_blocks = h->n_blocks;
    v->n_train = h->n_train;
    v->adam = h->adam;
    v->align = h->align;
    v->rng = &h->rng;
    v->steps = &h->steps;
}

static uint64_t sign_hash(uint64_t hsh, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        hsh ^= (uint64_t)(x[i] > 0.0f) + 0x9e3779b97f4a7c15ull + (hsh << 6) + (hsh >> 2);
    }
    return hsh;
}

uint64_t irllrec__hook_preact_signs(const irllrec_hook *h)
{
    uint64_t hsh = 1469598103934665603ull;
    int32_t hid;
    /* the activation has the pre-activation's sign (slope > 0) */
    if (h->p_rows > 0 && irllrec_mlp_dims(h->prf, NULL, &hid, NULL) == IRLLREC_OK)
        hsh = sign_hash(hsh, irllrec__mlp_act(h->prf), h->p_rows * hid);
    if (h->z_rows > 0 && irllrec_mlp_dims(h->intm, NULL, &hid, NULL) == IRLLREC_OK)
        hsh = sign_hash(hsh, irllrec__mlp_act(h->intm), h->z_rows * hid);
    return hsh;
}

irllrec_status irllrec__hook_set_noise(irllrec_hook *h, const float *eps1, const float *eps2)
{
    IRL_CHECK(h->ctx, h->has_int, IRLLREC_E_STATE, "no intent text, no translation noise");
    if (eps1 == NULL || eps2 == NULL) {
        h->noise_override = 0;
        return IRLLREC_OK;
    }
    memcpy(h->noise1, eps1, (size_t)(h->N * h->d) * sizeof(float));
    memcpy(h->noise2, eps2, (size_t)(h->N * h->d) * sizeof(float));
    h->noise_override = 1;
    return IRLLREC_OK;
}

/* ---- one step ------------------------------------------------------------ */

typedef struct stepargs {
    const int32_t *users, *pos, *neg;
    int64_t B;
    irllrec_mat uf, itf;
    const irllrec_mat *layers;
} stepargs;

static const float *final_row(const stepargs *a, int64_t U, int64_t node)
{
    return node < U ? a->uf.data + node * a->uf.ld : a->itf.data + (node - U) * a->itf.ld;
}

/* One InfoNCE term between anchors x (nb x d) and candidates Y (m x d, ld d)
 * on the alignment handle. *l receives the unscaled sum; dx (nb x d) and dY
 * (ld d) receive += scale * grad. scale > 0 (the term is on). pos NULL:
 * pos[b] = b. */
static irllrec_status nce(irllrec_hook *h, const float *x, float *dx, int64_t nb, const float *y,
                          float *dy, int64_t m, const int32_t *pos, double tau, double scale,
                          double *l)
{
    const int64_t d = h->d;
    double v = 0.0;
    IRL_TRY(irllrec_align_infonce(h->align, irllrec_mat_dense((float *)(uintptr_t)x, nb, d),
                                  irllrec_mat_dense((float *)(uintptr_t)y, m, d), pos, tau, scale,
                                  irllrec_mat_dense(dx, nb, d), irllrec_mat_dense(dy, m, d), &v));
    *l += v / scale;
    return IRLLREC_OK;
}

/* The three terms of L_kd / L_pair: all users for the user term, the batch's
 * positives / negatives for the item terms. anchors(slot) are rows of ax
 * (3B x d; user slots, then pos, then neg) with gradients into dax; the text
 * side is out/dout with users at rows 0..U-1 and the batch items at
 * item_row[b] (pos) and item_row[B + b] (neg). */
static irllrec_status nce_three(irllrec_hook *h, const stepargs *a, const float *ax,
                                float *dax, const float *out, float *dout,
                                const int64_t *item_row, double tau, double w, double *loss)
{
    const int64_t B = a->B, d = h->d;
    const double scale = w / (double)B;
    double l = 0.0;
    IRL_TRY(nce(h, ax, dax, B, out, dout, h->U, a->users, tau, scale, &l));
    for (int side = 0; side < 2; side++) {
        for (int64_t b = 0; b < B; b++)
            memcpy(h->ya + b * d, out + item_row[side * B + b] * d, (size_t)d * sizeof(float));
        memset(h->dya, 0, (size_t)(B * d) * sizeof(float));
        IRL_TRY(nce(h, ax + (1 + side) * B * d, dax + (1 + side) * B * d, B, h->ya, h->dya, B,
                    NULL, tau, scale, &l));
        for (int64_t b = 0; b < B; b++) {
            float *dst = dout + item_row[side * B + b] * d;
            const float *src = h->dya + b * d;
            for (int64_t c = 0; c < d; c++) dst[c] += src[c];
        }
    }
    *loss = l / (double)B;
    return IRLLREC_OK;
}

/* Distinct items of the batch in first-seen order, and the text-tower row
 * of every pos/neg slot. item_slot is back to all -1 on return. */
static void dedup_batch_items(irllrec_hook *h, const stepargs *a)
{
    const int64_t B = a->B;
    int64_t n = 0;
    for (int64_t s = 0; s < 2 * B; s++) {
        const int32_t it = s < B ? a->pos[s] : a->neg[s - B];
        if (h->item_slot[it] < 0) {
            h->item_slot[it] = (int32_t)n;
            h->uniq[n++] = it;
        }
        h->urows[s] = h->U + h->item_slot[it];
    }
    for (int64_t k = 0; k < n; k++) h->item_slot[h->uniq[k]] = -1;
    h->n_uniq = n;
}

/* Rows of the text-tower output that hold the batch's items. */
static void batch_item_rows(const irllrec_hook *h, const stepargs *a, int full, int64_t *rows)
{
    for (int64_t b = 0; b < a->B; b++) {
        rows[b] = full ? h->U + a->pos[b] : h->urows[b];
        rows[a->B + b] = full ? h->U + a->neg[b] : h->urows[a->B + b];
    }
}

/* Text tower over users (all) and items (all when full, else the batch's
 * distinct items). */
static void text_fwd(irllrec_hook *h, irllrec_mlp *m, const float *txt, int64_t D,
                     float *gather, float *out, int full)
{
    if (full) {
        irllrec__mlp_fwd_rows(m, txt, D, h->N, 0, out, h->d);
        return;
    }
    for (int64_t k = 0; k < h->n_uniq; k++)
        memcpy(gather + k * D, txt + (h->U + h->uniq[k]) * D, (size_t)D * sizeof(float));
    irllrec__mlp_fwd_rows(m, txt, D, h->U, 0, out, h->d);
    irllrec__mlp_fwd_rows(m, gather, D, h->n_uniq, h->U, out + h->U * h->d, h->d);
}

static void text_bwd(irllrec_hook *h, irllrec_mlp *m, const float *txt, int64_t D,
                     const float *gather, const float *dout, int full)
{
    if (full) {
        irllrec__mlp_bwd_rows(m, txt, D, h->N, 0, dout, h->d, NULL, 0);
        return;
    }
    irllrec__mlp_bwd_rows(m, txt, D, h->U, 0, dout, h->d, NULL, 0);
    irllrec__mlp_bwd_rows(m, gather, D, h->n_uniq, h->U, dout + h->U * h->d, h->d, NULL, 0);
}

/* r for the 3B anchor slots (users, pos items, neg items) on the interaction
 * tower handle: per layer over the host's E(l), or graph-free over E_final. */
static void tower_fwd(irllrec_hook *h, const stepargs *a)
{
    const int64_t d = h->d, B = a->B, U = h->U;
    for (int64_t b = 0; b < B; b++) {
        h->anchors[b] = a->users[b];
        h->anchors[B + b] = U + a->pos[b];
        h->anchors[2 * B + b] = U + a->neg[b];
    }
    if (h->L == 0) {
        for (int64_t n = 0; n < h->N; n++)
            memcpy(h->tw_e + n * d, final_row(a, U, n), (size_t)d * sizeof(float));
        const irllrec_mat e = irllrec_mat_dense(h->tw_e, h->N, d);
        irllrec__intent_forward_nodes(h->tower, &e, h->anchors, 3 * B, h->r);
        return;
    }
    irllrec__intent_forward_nodes(h->tower, a->layers, h->anchors, 3 * B, h->r);
}

static void tower_bwd(irllrec_hook *h, const stepargs *a)
{
    const int64_t N = h->N, d = h->d, B = a->B;
    if (h->L == 0) {
        const irllrec_mat e = irllrec_mat_dense(h->tw_e, N, d);
        const irllrec_mat de = irllrec_mat_dense(h->tw_de, N, d);
        memset(h->tw_de, 0, (size_t)(N * d) * sizeof(float));
        irllrec__intent_backward_nodes(h->tower, &e, h->anchors, 3 * B, h->dr, &de);
        for (int64_t i = 0; i < N * d; i++) h->g_final[i] += h->tw_de[i];
        return;
    }
    irllrec_mat de[64];
    for (int64_t l = 0; l < h->L; l++) de[l] = irllrec_mat_dense(h->g_layers + l * N * d, N, d);
    irllrec__intent_backward_nodes(h->tower, a->layers, h->anchors, 3 * B, h->dr, de);
}

/* Translation alignment between z (all N rows, the intent tower's output)
 * and E_final, on all nodes (exact) or a sample (sampled mode). */
static irllrec_status tran_term(irllrec_hook *h, const stepargs *a, double scale,
                                double *loss)
{
    const int64_t N = h->N, d = h->d, U = h->U;
    int64_t n = N;
    if (h->tran_mode == 1 && h->tran_samples < N) {
        n = h->tran_samples;
        irllrec__align_draw_sample(&h->rng, N, n, h->sel);
    } else {
        for (int64_t i = 0; i < N; i++) h->sel[i] = (int32_t)i;
    }
    if (h->noise_override && n == N) {
        memcpy(h->eps1, h->noise1, (size_t)(N * d) * sizeof(float));
        memcpy(h->eps2, h->noise2, (size_t)(N * d) * sizeof(float));
    } else {
        irllrec__align_draw_noise(&h->rng, n * d, h->eps1, h->eps2);
    }
    /* the selected rows of X (intent tower) and Y (E_final); the alignment
     * handle applies the noise and returns dL/dX, dL/dY for weight 1 */
    for (int64_t i = 0; i < n; i++) {
        memcpy(h->xt + i * d, h->z_out + h->sel[i] * d, (size_t)d * sizeof(float));
        memcpy(h->yt + i * d, final_row(a, U, h->sel[i]), (size_t)d * sizeof(float));
    }
    memset(h->dxh, 0, (size_t)(n * d) * sizeof(float));
    memset(h->dyh, 0, (size_t)(n * d) * sizeof(float));
    IRL_TRY(irllrec_align_translation_noise(
        h->align, irllrec_mat_dense(h->xt, n, d), irllrec_mat_dense(h->yt, n, d),
        irllrec_mat_dense(h->eps1, n, d), irllrec_mat_dense(h->eps2, n, d),
        irllrec_mat_dense(h->dxh, n, d), irllrec_mat_dense(h->dyh, n, d), loss));
    const float sc = (float)scale;
    for (int64_t i = 0; i < n; i++) {
        float *dz = h->z_dout + h->sel[i] * d, *dy = h->g_final + h->sel[i] * d;
        for (int64_t c = 0; c < d; c++) {
            dz[c] += sc * h->dxh[i * d + c];
            dy[c] += sc * h->dyh[i * d + c];
        }
    }
    return IRLLREC_OK;
}

static double sumsq(const float *x, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

static irllrec_status validate(irllrec_hook *h, const stepargs *a, irllrec_mat ug,
                               irllrec_mat ig, const irllrec_mat *lg)
{
    irllrec_ctx *ctx = h->ctx;
    const char *fn = "irllrec_hook_step";
#define FAIL_IF_NOT(cond, st, ...) \
    do { if (!(cond)) return irllrec__fail(ctx, (st), fn, __VA_ARGS__); } while (0)
    const int64_t d = h->d;
    FAIL_IF_NOT(a->users != NULL && a->pos != NULL && a->neg != NULL, IRLLREC_E_INVALID_ARG,
              "users, pos or neg is NULL");
    FAIL_IF_NOT(a->B >= 1 && a->B <= h->B, IRLLREC_E_SHAPE, "batch %lld not in 1..%lld",
              (long long)a->B, (long long)h->B);
    const irllrec_mat mats[4] = {a->uf, a->itf, ug, ig};
    const char *names[4] = {"user_final", "item_final", "user_grad", "item_grad"};
    for (int i = 0; i < 4; i++) {
        IRL_TRY(irllrec__check_mat(ctx, fn, names[i], mats[i]));
        const int64_t rows = (i % 2 == 0) ? h->U : h->I;
        FAIL_IF_NOT(mats[i].rows == rows && mats[i].cols == d, IRLLREC_E_SHAPE,
                  "%s is %lld x %lld, expected %lld x %lld", names[i], (long long)mats[i].rows,
                  (long long)mats[i].cols, (long long)rows, (long long)d);
    }
    if (h->L == 0) {
        FAIL_IF_NOT(a->layers == NULL && lg == NULL, IRLLREC_E_INVALID_ARG,
                  "graph-free hook: layers and layer_grads must be NULL");
    } else {
        FAIL_IF_NOT(a->layers != NULL, IRLLREC_E_INVALID_ARG, "layers is NULL (n_layers = %lld)",
                  (long long)h->L);
        for (int64_t l = 0; l < h->L; l++) {
            IRL_TRY(irllrec__check_mat(ctx, fn, "layers[l]", a->layers[l]));
            FAIL_IF_NOT(a->layers[l].rows == h->N && a->layers[l].cols == d, IRLLREC_E_SHAPE,
                      "layers[%lld] is %lld x %lld, expected N x d = %lld x %lld", (long long)l,
                      (long long)a->layers[l].rows, (long long)a->layers[l].cols,
                      (long long)h->N, (long long)d);
            if (lg != NULL) {
                IRL_TRY(irllrec__check_mat(ctx, fn, "layer_grads[l]", lg[l]));
                FAIL_IF_NOT(lg[l].rows == h->N && lg[l].cols == d, IRLLREC_E_SHAPE,
                          "layer_grads[%lld] is %lld x %lld, expected %lld x %lld", (long long)l,
                          (long long)lg[l].rows, (long long)lg[l].cols, (long long)h->N,
                          (long long)d);
            }
        }
    }
    for (int64_t b = 0; b < a->B; b++) {
        FAIL_IF_NOT(a->users[b] >= 0 && a->users[b] < h->U, IRLLREC_E_INVALID_ARG,
                  "users[%lld] = %d not in [0, %lld)", (long long)b, (int)a->users[b],
                  (long long)h->U);
        FAIL_IF_NOT(a->pos[b] >= 0 && a->pos[b] < h->I && a->neg[b] >= 0 && a->neg[b] < h->I,
                  IRLLREC_E_INVALID_ARG, "pos[%lld] = %d or neg[%lld] = %d not in [0, %lld)",
                  (long long)b, (int)a->pos[b], (long long)b, (int)a->neg[b], (long long)h->I);
    }
    /* Gradients must not share memory with what is read, nor with each other. */
    irllrec_mat outs[2 + 64], ins[2 + 64];
    int n_out = 0, n_in = 0;
    outs[n_out++] = ug;
    outs[n_out++] = ig;
    ins[n_in++] = a->uf;
    ins[n_in++] = a->itf;
    for (int64_t l = 0; l < h->L; l++) {
        ins[n_in++] = a->layers[l];
        if (lg != NULL) outs[n_out++] = lg[l];
    }
    for (int i = 0; i < n_out; i++) {
        for (int j = 0; j < n_in; j++)
            FAIL_IF_NOT(!irllrec__mats_overlap(outs[i], ins[j]), IRLLREC_E_INVALID_ARG,
                        "gradient buffer %d overlaps input %d (order: user_grad, item_grad, "
                        "layer_grads; user_final, item_final, layers)", i, j);
        for (int j = 0; j < i; j++)
            FAIL_IF_NOT(!irllrec__mats_overlap(outs[i], outs[j]), IRLLREC_E_INVALID_ARG,
                        "gradient buffers %d and %d overlap", j, i);
    }
    if (h->has_prf)
        FAIL_IF_NOT(h->text_set[0] && h->text_set[1], IRLLREC_E_STATE,
                  "profile text announced in the spec but not set (irllrec_hook_set_text)");
    if (h->has_int) {
        FAIL_IF_NOT(h->text_set[2] && h->text_set[3], IRLLREC_E_STATE,
                  "intent text announced in the spec but not set (irllrec_hook_set_text)");
        FAIL_IF_NOT(h->L == 0 || h->graph_set, IRLLREC_E_STATE,
                  "n_layers > 0 but no graph set (irllrec_hook_set_graph)");
    }
    FAIL_IF_NOT(irllrec__all_finite_mat(a->uf) && irllrec__all_finite_mat(a->itf), IRLLREC_E_NUMERIC,
              "user_final or item_final holds a non-finite value");
    for (int64_t l = 0; l < h->L; l++)
        FAIL_IF_NOT(irllrec__all_finite_mat(a->layers[l]), IRLLREC_E_NUMERIC,
                  "layers[%lld] holds a non-finite value", (long long)l);
#undef FAIL_IF_NOT
    return IRLLREC_OK;
}

/* Teacher blocks to the snapshot (restore == 0) or back from it. */
static void teacher_copy(irllrec_hook *h, int restore)
{
    float *snap = h->teacher_prev;
    for (int i = h->n_train; i < h->n_blocks; i++) {
        const size_t n = (size_t)(h->blocks[i].rows * h->blocks[i].cols) * sizeof(float);
        if (restore)
            memcpy(h->blocks[i].data, snap, n);
        else
            memcpy(snap, h->blocks[i].data, n);
        snap += h->blocks[i].rows * h->blocks[i].cols;
    }
}

/* An alignment term refused its inputs or produced a non-finite value:
 * nothing was committed yet, so restoring the RNG undoes the step. */
static irllrec_status step_failed(irllrec_hook *h, const irllrec__rng *saved, irllrec_status st)
{
    h->rng = *saved;
    if (h->has_int) teacher_copy(h, 1);
    return irllrec__fail(h->ctx, st, "irllrec_hook_step",
                         "non-finite loss, gradient or text-tower output in an alignment term; "
                         "nothing was changed");
}

#define STEP_TRY(expr)                                                       \
    do {                                                                     \
        irllrec_status step_st_ = (expr);                                    \
        if (step_st_ != IRLLREC_OK) return step_failed(h, &rng_saved, step_st_); \
    } while (0)

static void add_into(irllrec_mat dst, const float *src)
{
    for (int64_t r = 0; r < dst.rows; r++) {
        float *restrict o = dst.data + r * dst.ld;
        const float *s = src + r * dst.cols;
        for (int64_t c = 0; c < dst.cols; c++) o[c] += s[c];
    }
}

/* The hook's own Adam (irllrec_adam over every trainable block). */
static void adam_commit(irllrec_hook *h)
{
    float *params[MAX_BLOCKS];
    const float *grads[MAX_BLOCKS];
    for (int i = 0; i < h->n_train; i++) {
        params[i] = h->blocks[i].data;
        grads[i] = h->blocks[i].grad;
    }
    if (h->n_train == 0) return;
    /* Both calls only fail on invalid arguments, which cannot happen here:
     * lr was bounds-checked by set_param and the pointers are our own. */
    (void)irllrec_adam_set_lr(h->adam, h->lr);
    (void)irllrec_adam_step(h->adam, params, grads);
}

irllrec_status irllrec__hook_run(irllrec_hook *h, const int32_t *users, const int32_t *pos,
                                 const int32_t *neg, int64_t batch, irllrec_mat user_final,
                                 irllrec_mat item_final, const irllrec_mat *layers,
                                 irllrec_mat user_grad, irllrec_mat item_grad,
                                 const irllrec_mat *layer_grads, irllrec_hook_losses *out,
                                 int flags)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_hook_timings tm;
    memset(&tm, 0, sizeof tm);
    const double t_start = tnow();
    double t0 = t_start;
    const stepargs a = {users, pos, neg, batch, user_final, item_final, layers};
    IRL_TRY(validate(h, &a, user_grad, item_grad, layer_grads));
    if (out != NULL && out->struct_size < 2 * sizeof(uint32_t))
        return irllrec__fail(h->ctx, IRLLREC_E_VERSION, "irllrec_hook_step",
                             "out->struct_size %u too small", out->struct_size);
    const int64_t N = h->N, d = h->d, B = batch, U = h->U;
    const irllrec__rng rng_saved = h->rng;
    irllrec_hook_losses lv;
    memset(&lv, 0, sizeof lv);

    const int graph_ok = h->L > 0 || !h->need_graph;
    const double c_tran = h->w_tran * (1.0 + (h->tran_in_itm ? h->w_itm * (1.0 - h->alpha) : 0.0));
    const double c_itm = h->w_itm * h->alpha;
    const int kd_on = h->has_prf && h->w_kd > 0.0;
    const int pair_on = h->has_int && h->w_pair > 0.0;
    const int tran_on = h->has_int && graph_ok && c_tran > 0.0;
    const int itm_on = h->has_int && graph_ok && c_itm > 0.0;
    const int full_z = tran_on || itm_on;

    for (int i = 0; i < h->n_train; i++)
        memset(h->blocks[i].grad, 0,
               (size_t)(h->blocks[i].rows * h->blocks[i].cols) * sizeof(float));
    memset(h->g_final, 0, (size_t)(N * d) * sizeof(float));
    if (h->L > 0) memset(h->g_layers, 0, (size_t)(h->L * N * d) * sizeof(float));

    dedup_batch_items(h, &a);
    h->p_rows = kd_on ? U + h->n_uniq : 0;
    h->z_rows = (pair_on || full_z) ? (full_z ? N : U + h->n_uniq) : 0;
    lap(&tm.validate, &t0);

    /* L_kd: E_final rows vs profile rows (all users, the batch's items). */
    if (kd_on) {
        text_fwd(h, h->prf, h->txt_p, h->Dp, h->p_gather, h->p_out, 0);
        lap(&tm.profile_mlp, &t0);
        memset(h->p_dout, 0, (size_t)((U + 2 * B) * d) * sizeof(float));
        for (int64_t b = 0; b < B; b++) {
            const int64_t nodes[3] = {users[b], U + pos[b], U + neg[b]};
            for (int s = 0; s < 3; s++)
                memcpy(h->kd_ax + (s * B + b) * d, final_row(&a, U, nodes[s]),
                       (size_t)d * sizeof(float));
        }
        memset(h->kd_dax, 0, (size_t)(3 * B * d) * sizeof(float));
        batch_item_rows(h, &a, 0, h->item_rows);
        STEP_TRY(nce_three(h, &a, h->kd_ax, h->kd_dax, h->p_out, h->p_dout, h->item_rows,
                           h->tau_kd, h->w_kd, &lv.kd));
        for (int64_t b = 0; b < B; b++) {
            const int64_t nodes[3] = {users[b], U + pos[b], U + neg[b]};
            for (int s = 0; s < 3; s++) {
                float *dst = h->g_final + nodes[s] * d;
                const float *src = h->kd_dax + (s * B + b) * d;
                for (int64_t c = 0; c < d; c++) dst[c] += src[c];
            }
        }
        lap(&tm.kd, &t0);
        text_bwd(h, h->prf, h->txt_p, h->Dp, h->p_gather, h->p_dout, 0);
        lap(&tm.profile_mlp, &t0);
    }

    if (h->has_int) {
        /* (e) EMA before the teacher forward, from the pre-step student, in
         * place; the snapshot undoes it unless the step commits. */
        teacher_copy(h, 0);
        (void)irllrec_itm_set_momentum(h->itm, h->momentum);  /* bounds checked by set_param */
        (void)irllrec_itm_update_teacher(h->itm);
        lap(&tm.teacher, &t0);
    }
    if (pair_on || full_z) {
        const int64_t rows_z = full_z ? N : U + 2 * B;
        text_fwd(h, h->intm, h->txt_t, h->Dt, h->z_gather, h->z_out, full_z);
        memset(h->z_dout, 0, (size_t)(rows_z * d) * sizeof(float));
        lap(&tm.intent_mlp, &t0);
        if (pair_on) {
            tower_fwd(h, &a);
            memset(h->dr, 0, (size_t)(3 * B * d) * sizeof(float));
            lap(&tm.tower, &t0);
            batch_item_rows(h, &a, full_z, h->item_rows);
            STEP_TRY(nce_three(h, &a, h->r, h->dr, h->z_out, h->z_dout, h->item_rows,
                               h->tau_pair, h->w_pair, &lv.pair));
            lap(&tm.pair, &t0);
            tower_bwd(h, &a);
            lap(&tm.tower, &t0);
        }
        if (tran_on) {
            STEP_TRY(tran_term(h, &a, c_tran, &lv.tran));
            lap(&tm.tran, &t0);
        }
        if (itm_on) {
            STEP_TRY(irllrec__itm_teacher_fwd(h->itm, irllrec_mat_dense(h->txt_t, N, h->Dt)));
            lap(&tm.teacher, &t0);
            STEP_TRY(irllrec__itm_ce(h->itm, irllrec_mat_dense(h->z_out, N, d), &lv.itm));
            STEP_TRY(irllrec_itm_backward(h->itm, c_itm, irllrec_mat_dense(h->z_dout, N, d)));
            lap(&tm.itm, &t0);
        }
        text_bwd(h, h->intm, h->txt_t, h->Dt, h->z_gather, h->z_dout, full_z);
        lap(&tm.intent_mlp, &t0);
    }

    if (h->reg > 0.0) {
        double sq = 0.0;
        const float g2 = (float)(2.0 * h->reg);
        for (int i = 0; i < h->n_blocks; i++) {
            const irllrec__param *p = &h->blocks[i];
            const int64_t n = p->rows * p->cols;
            if (i >= h->n_train && !h->reg_teacher) break;
            sq += sumsq(p->data, n);
            if (i < h->n_train)
                for (int64_t k = 0; k < n; k++) p->grad[k] += g2 * p->data[k];
        }
        lv.reg = h->reg * sq;
    }
    lv.total = h->w_kd * lv.kd + h->w_pair * lv.pair + h->w_tran * lv.tran +
               h->w_itm * (h->alpha * lv.itm +
                           (h->tran_in_itm ? (1.0 - h->alpha) * h->w_tran * lv.tran : 0.0)) +
               lv.reg;

    int finite = isfinite(lv.total) && irllrec__all_finite(h->g_final, N * d);
    for (int i = 0; i < h->n_blocks && finite; i++) {
        const irllrec__param *p = &h->blocks[i];
        finite = irllrec__all_finite(i < h->n_train ? p->grad : p->data, p->rows * p->cols);
    }
    if (finite && h->L > 0) finite = irllrec__all_finite(h->g_layers, h->L * N * d);
    if (!finite) {
        h->rng = rng_saved;
        if (h->has_int) teacher_copy(h, 1);
        return irllrec__fail(h->ctx, IRLLREC_E_NUMERIC, "irllrec_hook_step",
                             "non-finite loss or gradient (total = %g); nothing was changed",
                             lv.total);
    }

    if (flags & IRLLREC__HOOK_WRITE_GRADS) {
        add_into(user_grad, h->g_final);
        add_into(item_grad, h->g_final + U * d);
        if (layer_grads != NULL)
            for (int64_t l = 0; l < h->L; l++) add_into(layer_grads[l], h->g_layers + l * N * d);
    }
    if (flags & IRLLREC__HOOK_UPDATE) {
        adam_commit(h);
        h->steps++;
    } else {
        h->rng = rng_saved;
        if (h->has_int) teacher_copy(h, 1);
    }
    lap(&tm.commit, &t0);
    tm.total = t0 - t_start;
    tm.struct_size = (uint32_t)sizeof tm;
    h->tm = tm;
    if (out != NULL) {
        const uint32_t sz = out->struct_size;
        lv.struct_size = sz < sizeof lv ? sz : (uint32_t)sizeof lv;
        memcpy(out, &lv, lv.struct_size);
    }
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_step(irllrec_hook *h, const int32_t *users, const int32_t *pos,
                                 const int32_t *neg, int64_t batch, irllrec_mat user_final,
                                 irllrec_mat item_final, const irllrec_mat *layers,
                                 irllrec_mat user_grad, irllrec_mat item_grad,
                                 const irllrec_mat *layer_grads, irllrec_hook_losses *out)
{
    return irllrec__hook_run(h, users, pos, neg, batch, user_final, item_final, layers, user_grad,
                             item_grad, layer_grads, out,
                             IRLLREC__HOOK_WRITE_GRADS | IRLLREC__HOOK_UPDATE);
}
