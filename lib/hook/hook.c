/* The hook's handle: create, free, the text and the graph it is given, its
 * parameter blocks, and accessors. A step is in step.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "hook_impl.h"
#include "../ops/ops.h"
#include "../core/streams.h"
#include "hook_serve.h"

void irllrec_hook_spec_init(irllrec_hook_spec *spec, uint32_t struct_size)
{
    static const irllrec_hook_spec d = {
        .preset = IRLLREC_HOOK_PRESET_PAPER,
        .dim = 32,
        .n_intents = 128,
        .max_batch = 4096,
        .seed = 2025};
    irllrec__spec_init(spec, struct_size, &d, sizeof d);
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

static void add_block(irllrec_hook *h, const char *name, const irllrec__param *src)
{
    irllrec__param *b = &h->blocks[h->n_blocks++];
    *b = *src;
    snprintf(b->name, sizeof b->name, "%s", name);
}

/* One handle's blocks under the hook's names (pfx.w1, .b1, .w2, .b2). */
static void mlp_blocks(irllrec_hook *h, const char *pfx, irllrec_mlp *m, int teacher)
{
    static const char suffix[4][3] = {"w1", "b1", "w2", "b2"};
    irllrec__param *pb;
    int np;
    char name[48];
    if (teacher)
        irllrec__itm_teacher_params(h->itm, &pb, &np);
    else
        irllrec__mlp_params(m, &pb, &np);
    for (int i = 0; i < np && i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", pfx, suffix[i]);
        add_block(h, name, &pb[i]);
    }
}

static void layout_params(irllrec_hook *h)
{
    h->n_blocks = 0;
    if (h->has_prf) mlp_blocks(h, "prf", h->prf, 0);
    if (h->has_int) {
        irllrec__param *pb;
        int np;
        mlp_blocks(h, "int", h->intm, 0);
        irllrec__intent_params(h->tower, &pb, &np);
        add_block(h, "proto.user", &pb[0]);
        add_block(h, "proto.item", &pb[1]);
    }
    h->n_train = h->n_blocks;
    if (h->has_int) mlp_blocks(h, "teacher", NULL, 1);
}

/* The profile tower runs on all users and the batch's distinct items; the
 * intent tower on all N nodes (translation and ITM need every row). */
static int64_t profile_rows(const irllrec_hook *h)
{
    return h->U + (h->I < 2 * h->B ? h->I : 2 * h->B);
}

/* A text tower over din-wide text with room for rows rows; its own seed so
 * that adding profiles does not change the intent tower's weights. */
void irllrec__hook_mlp_spec(const irllrec_hook *h, int profile, irllrec_mlp_spec *ms)
{
    irllrec_mlp_spec_init(ms, (uint32_t)sizeof *ms);
    ms->in_dim = (int32_t)(profile ? h->Dp : h->Dt);
    ms->out_dim = (int32_t)h->d;
    /* sharded: each tower runs on the rank's rows only (all of them) */
    ms->max_rows = h->sh_on ? h->sh_n : profile ? profile_rows(h) : h->N;
    ms->seed = h->spec.seed ^ (profile ? IRLLREC__STREAM_HOOK_PRF : IRLLREC__STREAM_HOOK_INT);
}

static irllrec_status mlp_make(irllrec_hook *h, int profile, irllrec_mlp **out)
{
    irllrec_mlp_spec ms;
    irllrec__hook_mlp_spec(h, profile, &ms);
    return h->bf16 ? irllrec__mlp_create_bf16(h->ctx, &ms, out) : irllrec_mlp_create(h->ctx, &ms, out);
}

static irllrec_status intent_side_create(irllrec_hook *h)
{
    const irllrec_hook_spec *s = &h->spec;
    irllrec_itm_spec is;
    irllrec_intent_spec ts;
    IRL_TRY(mlp_make(h, 0, &h->intm));
    irllrec_itm_spec_init(&is, (uint32_t)sizeof is);
    /* The released code re-initialises the teacher after copying it. */
    is.init_equal = s->teacher_init == IRLLREC_HOOK_TEACHER_COPY ||
                    (s->teacher_init == IRLLREC_HOOK_TEACHER_DEFAULT &&
                     s->preset == IRLLREC_HOOK_PRESET_PAPER);
    is.momentum = h->momentum;
    is.alpha = h->alpha;
    is.seed = s->seed ^ IRLLREC__STREAM_HOOK_ITM;
    IRL_TRY(irllrec_itm_create(h->ctx, &is, h->intm, &h->itm));
    /* graph-free (n_layers 0): one "layer", E_final, and no graph */
    irllrec__hook_intent_spec(h, &ts);
    return irllrec_intent_create(h->ctx, &ts, NULL, &h->tower);
}

void irllrec__hook_intent_spec(const irllrec_hook *h, irllrec_intent_spec *ts)
{
    irllrec_intent_spec_init(ts, (uint32_t)sizeof *ts);
    ts->n_users = h->U;
    ts->n_items = h->I;
    ts->dim = (int32_t)h->d;
    ts->n_intents = (int32_t)h->K;
    ts->n_layers = (int32_t)h->nl;
    ts->seed = h->spec.seed ^ IRLLREC__STREAM_HOOK_TOWER;
}

/* One alignment handle serves every InfoNCE term (B anchors against U users
 * or B batch items) and translation (N rows both sides). A fixed slice
 * count keeps the summation order, hence the bits, independent of the
 * thread count; a row block spanning every column (when it fits 32 MiB of
 * logits per thread) lets the engine exponentiate each logit once. */
void irllrec__hook_align_spec(const irllrec_hook *h, irllrec_align_spec *as)
{
    const int64_t rows = h->has_int && h->N > h->B ? h->N : h->B;
    int64_t cols = h->U > h->B ? h->U : h->B;
    if (h->has_int && h->N > cols) cols = h->N;
    irllrec_align_spec_init(as, (uint32_t)sizeof *as);
    as->dim = (int32_t)h->d;
    as->max_rows = rows;
    as->max_cols = cols;
    as->block_rows = 32;
    if (32 * cols <= (8 << 20)) as->block_cols = (int32_t)cols;
    as->n_slices = IRLLREC__HOOK_SLICES;
    as->seed = h->spec.seed;
    as->precision = h->spec.align_precision;
}

static irllrec_status modules_create(irllrec_hook *h)
{
    irllrec_align_spec as;
    if (h->has_prf) IRL_TRY(mlp_make(h, 1, &h->prf));
    if (h->has_int) IRL_TRY(intent_side_create(h));
    if (h->bf16 && h->has_int) IRL_TRY(irllrec__itm_enable_bf16(h->itm));
    layout_params(h);
    int64_t sizes[IRLLREC__HOOK_MAX_BLOCKS];
    irllrec_adam_spec ads;
    for (int i = 0; i < h->n_train; i++) sizes[i] = h->blocks[i].rows * h->blocks[i].cols;
    if (h->n_train == 0) sizes[0] = 1;  /* no trainable block: a dummy, never stepped */
    irllrec_adam_spec_init(&ads, (uint32_t)sizeof ads);
    ads.lr = h->lr;
    IRL_TRY(irllrec_adam_create(h->ctx, &ads, sizes, h->n_train > 0 ? h->n_train : 1, &h->adam));
    irllrec__hook_align_spec(h, &as);
    return irllrec_align_create(h->ctx, &as, &h->align);
}

void irllrec__hook_shapes(irllrec_hook *h, const irllrec_hook_spec *s)
{
    h->spec = *s;
    h->U = s->n_users;
    h->I = s->n_items;
    h->N = s->n_users + s->n_items;
    h->d = s->dim;
    h->K = s->n_intents;
    h->L = s->n_layers;
    h->nl = s->n_layers > 0 ? s->n_layers : 1;
    h->B = s->max_batch;
    h->Dp = s->profile_dim;
    h->Dt = s->intent_dim;
    h->has_prf = s->profile_dim > 0;
    h->has_int = s->intent_dim > 0;
    h->C = s->reduce_rows > 0 ? s->reduce_rows : IRLLREC__HOOK_REDUCE_ROWS;
    h->n_chunks = irllrec__hook_n_chunks(h->U, h->I, h->C);
    /* asked for and runnable here; otherwise exactly the fp32 path */
    h->bf16 = s->text_precision == IRLLREC_HOOK_TEXT_BF16 && irllrec__bf16_usable();
}

/* create for rank r of p node shards (p 0: not sharded); fn names the caller. */
irllrec_status irllrec__hook_create_at(irllrec_ctx *ctx, const char *fn,
                                       const irllrec_hook_spec *spec, int32_t p, int32_t r,
                                       irllrec_hook **out)
{
    irllrec_hook_spec s;
    if (out != NULL) *out = NULL;
    IRL_TRY(irllrec__begin_create(ctx, fn, out == NULL, spec, &s, sizeof s));
    IRL_TRY(irllrec__hook_check_spec(ctx, &s));
    irllrec_hook *h = (irllrec_hook *)irllrec__calloc_fn(ctx, fn, 1, sizeof *h);
    if (h == NULL) return irllrec__fail(ctx, IRLLREC_E_NOMEM, fn, "out of memory");
    h->ctx = ctx;
    irllrec__hook_shapes(h, &s);
    if (p > h->n_chunks) {
        const long long nc = (long long)h->n_chunks, c = (long long)h->C;
        irllrec__free(ctx, h, sizeof *h);
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, fn,
                             "%d ranks for %lld reduction chunks (users and items cut every "
                             "reduce_rows = %lld rows): every rank must hold a chunk; lower "
                             "spec->reduce_rows", (int)p, nc, c);
    }
    irllrec__hook_set_shard(h, p, r);
    h->T = irllrec__hook_threads(irllrec_ctx_n_threads(ctx));
    irllrec__hook_param_defaults(h);
    irllrec_status st = irllrec__hook_alloc(h);
    if (st == IRLLREC_OK) st = modules_create(h);
    if (st != IRLLREC_OK) {
        irllrec_hook_free(h);
        return st;
    }
    for (int64_t i = 0; i < h->N; i++) h->node_slot[i] = -1;
    irllrec__hook_cuts(h);
    irllrec__hook_text_init(h);
    *out = h;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_create(irllrec_ctx *ctx, const irllrec_hook_spec *spec,
                                   irllrec_hook **out)
{
    return irllrec__hook_create_at(ctx, "irllrec_hook_create", spec, 0, 0, out);
}

int32_t irllrec__hook_threads(int32_t n_threads)
{
    return n_threads < IRLLREC__HOOK_SLICES ? n_threads : IRLLREC__HOOK_SLICES;
}

/* ---- graph, noise --------------------------------------------------- */

irllrec_status irllrec_hook_set_graph(irllrec_hook *h, const irllrec_csr *adj)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, h->L > 0, IRLLREC_E_STATE, "graph-free hook (n_layers = 0) takes no graph");
    IRL_TRY(irllrec__check_csr(h->ctx, __func__, "adj", adj, h->N, h->N));
    /* the graph only serves the interaction tower, which needs intent text */
    if (h->has_int) IRL_TRY(irllrec_intent_set_graph(h->tower, adj));
    h->graph_set = 1;
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_set_noise_fn(irllrec_hook *h, irllrec_noise_fn fn, void *ud)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, h->has_int, IRLLREC_E_STATE, "no intent text, so no translation noise");
    return irllrec_align_set_noise_fn(h->align, fn, ud);
}

/* ---- blocks, rows, counters ---------------------------------------------------- */

int32_t irllrec_hook_block_count(const irllrec_hook *h)
{
    return h == NULL ? -1 : h->n_blocks;
}

irllrec_status irllrec_hook_get_block(irllrec_hook *h, int32_t i, irllrec_hook_block *out)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    IRL_CHECK(h->ctx, out->struct_size >= 2 * sizeof(uint32_t), IRLLREC_E_VERSION,
              "out->struct_size = %u is too small", out->struct_size);
    IRL_CHECK(h->ctx, i >= 0 && i < h->n_blocks, IRLLREC_E_INVALID_ARG,
              "block %d not in 0..%d", (int)i, h->n_blocks - 1);
    const irllrec__param *p = &h->blocks[i];
    irllrec_hook_block b;
    b.struct_size = out->struct_size < sizeof b ? out->struct_size : (uint32_t)sizeof b;
    b.trainable = i < h->n_train;
    b.name = p->name;
    b.data = p->data;
    b.grad = i < h->n_train ? p->grad : NULL;
    b.rows = p->rows;
    b.cols = p->cols;
    memcpy(out, &b, b.struct_size);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_grad_rows(const irllrec_hook *h, irllrec_hook_rows *out)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, out != NULL, IRLLREC_E_INVALID_ARG, "out is NULL");
    IRL_CHECK(h->ctx, h->rows_valid, IRLLREC_E_STATE,
              "the last compute was not a successful IRLLREC_HOOK_GRAD_ROWS one");
    out->n_users = h->out_nu;
    out->user_ids = h->out_uid;
    out->user_grad = irllrec_cmat_dense(h->out_ug, h->out_nu, h->d);
    out->n_items = h->out_ni;
    out->item_ids = h->out_iid;
    out->item_grad = irllrec_cmat_dense(h->out_ig, h->out_ni, h->d);
    return IRLLREC_OK;
}

irllrec_status irllrec_hook_last_timings(const irllrec_hook *h, irllrec_hook_timings *out)
{
    if (h == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(h->ctx, out != NULL && out->struct_size >= 2 * sizeof(uint32_t),
              IRLLREC_E_INVALID_ARG, "out is NULL or out->struct_size < 8");
    irllrec_hook_timings t = h->tm;
    t.struct_size = out->struct_size < sizeof t ? out->struct_size : (uint32_t)sizeof t;
    memcpy(out, &t, t.struct_size);
    return IRLLREC_OK;
}

int64_t irllrec_hook_steps(const irllrec_hook *h)
{
    return h == NULL ? -1 : h->steps;
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
    v->steps = &h->steps;
}

uint64_t irllrec__hook_preact_signs(const irllrec_hook *h)
{
    uint64_t hsh = 1469598103934665603ull;
    /* the activation has the pre-activation's sign (slope > 0) */
    if (h->p_rows > 0) hsh = irllrec__mlp_act_signs(h->prf, h->p_rows, hsh);
    if (h->z_rows > 0) hsh = irllrec__mlp_act_signs(h->intm, h->z_rows, hsh);
    return hsh;
}

void irllrec__hook_serve_view(const irllrec_hook *h, irllrec__hook_serve *v)
{
    memset(v, 0, sizeof *v);
    v->U = h->U;
    v->I = h->I;
    v->d = h->d;
    v->K = h->has_int ? h->K : 0;
    v->Dp = h->has_prf ? h->Dp : 0;
    v->Dt = h->has_int ? h->Dt : 0;
    v->n_layers = h->L;
    v->prf = h->has_prf ? h->prf : NULL;
    if (!h->has_int) return;
    v->intm = h->intm;
    for (int i = 0; i < h->n_train; i++) {
        if (strcmp(h->blocks[i].name, "proto.user") == 0) v->proto_user = h->blocks[i].data;
        if (strcmp(h->blocks[i].name, "proto.item") == 0) v->proto_item = h->blocks[i].data;
    }
    /* a sharded hook holds some rows of the text only */
    if (!h->sh_on && h->text_set[IRLLREC_HOOK_USER_INTENT] &&
        h->text_set[IRLLREC_HOOK_ITEM_INTENT]) {
        v->txt_int = h->txt_t;
        v->txt_int_bf16 = h->txh_t;
    }
}
