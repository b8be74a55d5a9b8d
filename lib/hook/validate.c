/* The public boundary of the hook: every argument of a compute is checked
 * here, once, before anything is computed; the stages after it trust them.
 * Messages name the argument as the caller wrote it. */
#include <math.h>
#include <stdio.h>
#include "hook_impl.h"

#define FN "irllrec_hook_compute"

irllrec_status irllrec__hook_check_spec(irllrec_ctx *ctx, const irllrec_hook_spec *s)
{
    static const char fn[] = "irllrec_hook_create";
    IRL_CHECK_FN(ctx, fn, s->preset == IRLLREC_HOOK_PRESET_PAPER ||
                              s->preset == IRLLREC_HOOK_PRESET_RELEASED,
                 IRLLREC_E_INVALID_ARG, "spec->preset = %d is not a known preset", (int)s->preset);
    IRL_CHECK_FN(ctx, fn, s->n_users > 0 && s->n_items > 0 && s->n_users + s->n_items <= INT32_MAX,
                 IRLLREC_E_INVALID_ARG, "spec->n_users = %lld, n_items = %lld: need > 0 and "
                 "n_users + n_items < 2^31", (long long)s->n_users, (long long)s->n_items);
    IRL_CHECK_FN(ctx, fn, s->dim > 0 && s->dim <= 65536, IRLLREC_E_INVALID_ARG,
                 "spec->dim = %d not in 1..65536", (int)s->dim);
    IRL_CHECK_FN(ctx, fn, s->n_intents > 0 && s->n_intents <= 65536, IRLLREC_E_INVALID_ARG,
                 "spec->n_intents = %d not in 1..65536", (int)s->n_intents);
    IRL_CHECK_FN(ctx, fn, s->n_layers >= 0 && s->n_layers <= IRLLREC__HOOK_MAX_LAYERS,
                 IRLLREC_E_INVALID_ARG, "spec->n_layers = %d not in 0..%d", (int)s->n_layers,
                 IRLLREC__HOOK_MAX_LAYERS);
    IRL_CHECK_FN(ctx, fn, s->max_batch > 0 && s->max_batch <= (1 << 24), IRLLREC_E_INVALID_ARG,
                 "spec->max_batch = %d not in 1..2^24", (int)s->max_batch);
    IRL_CHECK_FN(ctx, fn, s->profile_dim >= 0 && s->profile_dim <= (1 << 20),
                 IRLLREC_E_INVALID_ARG, "spec->profile_dim = %d not in 0..2^20",
                 (int)s->profile_dim);
    IRL_CHECK_FN(ctx, fn, s->intent_dim >= 0 && s->intent_dim <= (1 << 20),
                 IRLLREC_E_INVALID_ARG, "spec->intent_dim = %d not in 0..2^20",
                 (int)s->intent_dim);
    IRL_CHECK_FN(ctx, fn, s->teacher_init >= 0 && s->teacher_init <= 2, IRLLREC_E_INVALID_ARG,
                 "spec->teacher_init = %d not in 0..2", (int)s->teacher_init);
    IRL_CHECK_FN(ctx, fn,
                 s->text_precision == IRLLREC_HOOK_TEXT_FP32 ||
                     s->text_precision == IRLLREC_HOOK_TEXT_BF16,
                 IRLLREC_E_INVALID_ARG,
                 "spec->text_precision = %d is neither IRLLREC_HOOK_TEXT_FP32 (0) nor "
                 "IRLLREC_HOOK_TEXT_BF16 (1)", (int)s->text_precision);
    IRL_CHECK_FN(ctx, fn, s->reduce_rows >= 0 && s->reduce_rows <= (1 << 30),
                 IRLLREC_E_INVALID_ARG, "spec->reduce_rows = %d not in 0..2^30 (0 = 512)",
                 (int)s->reduce_rows);
    IRL_CHECK_FN(ctx, fn,
                 s->align_precision >= IRLLREC_ALIGN_FP32 &&
                     s->align_precision <= IRLLREC_ALIGN_BF16,
                 IRLLREC_E_INVALID_ARG,
                 "spec->align_precision = %d is not FP32 (0), BF16_LOGITS (1) or BF16 (2)",
                 (int)s->align_precision);
    return IRLLREC_OK;
}

/* A view of rows x d that the caller named name. */
static irllrec_status check_view(irllrec_ctx *ctx, const char *name, irllrec_mat m, int64_t rows,
                                 int64_t d)
{
    IRL_TRY(irllrec__check_mat(ctx, FN, name, m));
    IRL_CHECK_FN(ctx, FN, m.rows == rows && m.cols == d, IRLLREC_E_SHAPE,
                 "%s is %lld x %lld, expected %lld x %lld", name, (long long)m.rows,
                 (long long)m.cols, (long long)rows, (long long)d);
    return IRLLREC_OK;
}

static irllrec_status check_batch(irllrec_hook *h, const irllrec_hook_batch *b)
{
    irllrec_ctx *ctx = h->ctx;
    IRL_CHECK_FN(ctx, FN, b != NULL, IRLLREC_E_INVALID_ARG, "batch is NULL");
    IRL_CHECK_FN(ctx, FN, b->count >= 1 && b->count <= h->B, IRLLREC_E_SHAPE,
                 "batch->count = %lld not in 1..max_batch = %lld", (long long)b->count,
                 (long long)h->B);
    IRL_TRY(irllrec__check_ids(ctx, FN, "batch->users", b->users, b->count, h->U));
    IRL_TRY(irllrec__check_ids(ctx, FN, "batch->pos", b->pos, b->count, h->I));
    IRL_TRY(irllrec__check_ids(ctx, FN, "batch->neg", b->neg, b->count, h->I));
    return IRLLREC_OK;
}

static irllrec_status check_inputs(irllrec_hook *h, const irllrec_hook_inputs *in)
{
    irllrec_ctx *ctx = h->ctx;
    char name[48];
    IRL_CHECK_FN(ctx, FN, in != NULL, IRLLREC_E_INVALID_ARG, "in is NULL");
    IRL_TRY(check_view(ctx, "in->user_final", irllrec__mat_of(in->user_final), h->U, h->d));
    IRL_TRY(check_view(ctx, "in->item_final", irllrec__mat_of(in->item_final), h->I, h->d));
    if (h->L == 0) {
        IRL_CHECK_FN(ctx, FN, in->layers == NULL, IRLLREC_E_INVALID_ARG,
                     "in->layers must be NULL for a graph-free hook (n_layers = 0)");
        return IRLLREC_OK;
    }
    IRL_CHECK_FN(ctx, FN, in->layers != NULL, IRLLREC_E_INVALID_ARG,
                 "in->layers is NULL but n_layers = %lld", (long long)h->L);
    for (int64_t l = 0; l < h->L; l++) {
        snprintf(name, sizeof name, "in->layers[%lld]", (long long)l);
        IRL_TRY(check_view(ctx, name, irllrec__mat_of(in->layers[l]), h->N, h->d));
    }
    return IRLLREC_OK;
}

static irllrec_status check_grads(irllrec_hook *h, const irllrec_hook_grads *g)
{
    irllrec_ctx *ctx = h->ctx;
    char name[48];
    IRL_CHECK_FN(ctx, FN, g != NULL, IRLLREC_E_INVALID_ARG,
                 "grads is NULL (only IRLLREC_HOOK_LOSS_ONLY takes none)");
    IRL_CHECK_FN(ctx, FN, g->struct_size >= 2 * sizeof(uint32_t), IRLLREC_E_VERSION,
                 "grads->struct_size = %u is too small", g->struct_size);
    IRL_CHECK_FN(ctx, FN, g->mode == IRLLREC_HOOK_GRAD_DENSE || g->mode == IRLLREC_HOOK_GRAD_ROWS,
                 IRLLREC_E_INVALID_ARG, "grads->mode = %d is not a known mode", (int)g->mode);
    if (g->mode == IRLLREC_HOOK_GRAD_DENSE) {
        IRL_TRY(check_view(ctx, "grads->user_grad", g->user_grad, h->U, h->d));
        IRL_TRY(check_view(ctx, "grads->item_grad", g->item_grad, h->I, h->d));
    } else {
        IRL_CHECK_FN(ctx, FN, g->user_grad.data == NULL && g->item_grad.data == NULL,
                     IRLLREC_E_INVALID_ARG,
                     "grads->user_grad and item_grad must be empty in ROWS mode");
    }
    if (g->layer_grads == NULL) return IRLLREC_OK;
    IRL_CHECK_FN(ctx, FN, h->L > 0, IRLLREC_E_INVALID_ARG,
                 "grads->layer_grads must be NULL for a graph-free hook");
    for (int64_t l = 0; l < h->L; l++) {
        snprintf(name, sizeof name, "grads->layer_grads[%lld]", (long long)l);
        IRL_TRY(check_view(ctx, name, g->layer_grads[l], h->N, h->d));
    }
    return IRLLREC_OK;
}

/* "name" or, for a layer view (index >= 0), "name[index]". */
static const char *view_name(char *buf, size_t cap, const char *name, int64_t index)
{
    if (index < 0) return name;
    snprintf(buf, cap, "%s[%lld]", name, (long long)index);
    return buf;
}

/* Gradient buffers must not share memory with what is read, nor with each other. */
static irllrec_status check_overlap(irllrec_hook *h, const irllrec_hook_inputs *in,
                                    const irllrec_hook_grads *g)
{
    irllrec_mat outs[2 + IRLLREC__HOOK_MAX_LAYERS], ins[2 + IRLLREC__HOOK_MAX_LAYERS];
    const char *on[2 + IRLLREC__HOOK_MAX_LAYERS], *inn[2 + IRLLREC__HOOK_MAX_LAYERS];
    int64_t oi[2 + IRLLREC__HOOK_MAX_LAYERS], ii[2 + IRLLREC__HOOK_MAX_LAYERS];
    char a[48], b[48];
    int no = 0, ni = 0;
    if (g->mode == IRLLREC_HOOK_GRAD_DENSE) {
        oi[no] = -1, on[no] = "grads->user_grad", outs[no++] = g->user_grad;
        oi[no] = -1, on[no] = "grads->item_grad", outs[no++] = g->item_grad;
    }
    ii[ni] = -1, inn[ni] = "in->user_final", ins[ni++] = irllrec__mat_of(in->user_final);
    ii[ni] = -1, inn[ni] = "in->item_final", ins[ni++] = irllrec__mat_of(in->item_final);
    for (int64_t l = 0; l < h->L; l++) {
        ii[ni] = l, inn[ni] = "in->layers", ins[ni++] = irllrec__mat_of(in->layers[l]);
        if (g->layer_grads != NULL)
            oi[no] = l, on[no] = "grads->layer_grads", outs[no++] = g->layer_grads[l];
    }
    for (int i = 0; i < no; i++) {
        for (int j = 0; j < ni; j++)
            IRL_CHECK_FN(h->ctx, FN, !irllrec__mats_overlap(outs[i], ins[j]),
                         IRLLREC_E_INVALID_ARG, "%s overlaps %s",
                         view_name(a, sizeof a, on[i], oi[i]),
                         view_name(b, sizeof b, inn[j], ii[j]));
        for (int j = 0; j < i; j++)
            IRL_CHECK_FN(h->ctx, FN, !irllrec__mats_overlap(outs[i], outs[j]),
                         IRLLREC_E_INVALID_ARG, "%s overlaps %s",
                         view_name(a, sizeof a, on[i], oi[i]),
                         view_name(b, sizeof b, on[j], oi[j]));
    }
    return IRLLREC_OK;
}

static irllrec_status check_state(irllrec_hook *h)
{
    if (h->has_prf)
        IRL_CHECK_FN(h->ctx, FN, h->text_set[0] && h->text_set[1], IRLLREC_E_STATE,
                     "%s profile text announced in the spec (profile_dim %lld) but not set "
                     "(irllrec_hook_set_text)",
                     h->text_set[0] ? "item" : "user", (long long)h->Dp);
    if (h->has_int) {
        IRL_CHECK_FN(h->ctx, FN, h->text_set[2] && h->text_set[3], IRLLREC_E_STATE,
                     "%s intent text announced in the spec (intent_dim %lld) but not set "
                     "(irllrec_hook_set_text)",
                     h->text_set[2] ? "item" : "user", (long long)h->Dt);
        IRL_CHECK_FN(h->ctx, FN, h->L == 0 || h->graph_set, IRLLREC_E_STATE,
                     "n_layers = %lld but no graph set (irllrec_hook_set_graph)",
                     (long long)h->L);
    }
    return IRLLREC_OK;
}

static irllrec_status check_finite(irllrec_hook *h, const irllrec_hook_inputs *in)
{
    char name[48];
    IRL_TRY(
        irllrec__check_finite_mat(h->ctx, FN, "in->user_final", irllrec__mat_of(in->user_final)));
    IRL_TRY(
        irllrec__check_finite_mat(h->ctx, FN, "in->item_final", irllrec__mat_of(in->item_final)));
    for (int64_t l = 0; l < h->L; l++) {
        snprintf(name, sizeof name, "in->layers[%lld]", (long long)l);
        IRL_TRY(irllrec__check_finite_mat(h->ctx, FN, name, irllrec__mat_of(in->layers[l])));
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__hook_validate(irllrec_hook *h, const irllrec_hook_batch *b,
                                      const irllrec_hook_inputs *in, const irllrec_hook_grads *g,
                                      uint32_t flags, const irllrec_hook_losses *out)
{
    IRL_CHECK_FN(h->ctx, FN, (flags & ~(uint32_t)IRLLREC_HOOK_LOSS_ONLY) == 0,
                 IRLLREC_E_INVALID_ARG, "flags = 0x%x has unknown bits", (unsigned)flags);
    IRL_CHECK_FN(h->ctx, FN, out == NULL || out->struct_size >= 2 * sizeof(uint32_t),
                 IRLLREC_E_VERSION, "out->struct_size = %u is too small",
                 out ? out->struct_size : 0u);
    IRL_TRY(check_batch(h, b));
    IRL_TRY(check_inputs(h, in));
    if (!(flags & IRLLREC_HOOK_LOSS_ONLY)) {
        IRL_TRY(check_grads(h, g));
        IRL_TRY(check_overlap(h, in, g));
    }
    IRL_TRY(check_state(h));
    return check_finite(h, in);
}
