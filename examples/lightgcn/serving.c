/* lightgcn_train's serving model (serving.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "irllrec/serve.h"
#include "serving.h"

struct lgcn_hook_snap {
    int32_t n;       /* trainable blocks */
    size_t total;    /* floats over all of them */
    float *data;     /* the blocks back to back, in block order */
};

/* The trainable blocks of @p h: their count and total size. Trainable
 * blocks come first (hook.h), so the count ends at the first teacher block. */
static int32_t trainable(irllrec_hook *h, size_t *total)
{
    int32_t n = 0, nb = irllrec_hook_block_count(h);
    *total = 0;
    for (; n < nb; n++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        if (irllrec_hook_get_block(h, n, &b) != IRLLREC_OK || !b.trainable) break;
        *total += (size_t)(b.rows * b.cols);
    }
    return n;
}

/* Copy between the hook's blocks and the snapshot (to_hook: put back). */
static void copy_blocks(irllrec_hook *h, float *data, int32_t n, int to_hook)
{
    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        irllrec_hook_block b;
        size_t len;
        b.struct_size = sizeof b;
        irllrec_hook_get_block(h, i, &b);
        len = (size_t)(b.rows * b.cols);
        if (to_hook) memcpy(b.data, data + off, len * sizeof *data);
        else memcpy(data + off, b.data, len * sizeof *data);
        off += len;
    }
}

int lgcn_hook_snap_take(lgcn_hook_snap **s, irllrec_hook *h)
{
    size_t total = 0;
    int32_t n = trainable(h, &total);
    if (*s == NULL) {
        *s = (lgcn_hook_snap *)calloc(1, sizeof **s);
        if (*s != NULL) (*s)->data = (float *)malloc((total ? total : 1) * sizeof(float));
        if (*s == NULL || (*s)->data == NULL) {
            fprintf(stderr, "lightgcn_train: out of memory for the hook's best-epoch snapshot\n");
            lgcn_hook_snap_free(*s);
            *s = NULL;
            return -1;
        }
        (*s)->n = n;
        (*s)->total = total;
    }
    if ((*s)->n != n || (*s)->total != total) {
        fprintf(stderr, "lightgcn_train: internal error: the hook's blocks changed shape\n");
        return -1;
    }
    copy_blocks(h, (*s)->data, n, 0);
    return 0;
}

void lgcn_hook_snap_free(lgcn_hook_snap *s)
{
    if (s == NULL) return;
    free(s->data);
    free(s);
}

/* The hook has an intent tower (and so takes per-layer embeddings) when it
 * publishes its prototypes. */
static int has_intent_tower(irllrec_hook *h)
{
    for (int32_t i = 0; i < irllrec_hook_block_count(h); i++) {
        irllrec_hook_block b;
        b.struct_size = sizeof b;
        if (irllrec_hook_get_block(h, i, &b) == IRLLREC_OK && strcmp(b.name, "proto.user") == 0)
            return 1;
    }
    return 0;
}

int lgcn_serving_write(irllrec_ctx *ctx, const char *dir, const lgcn *m, const irllrec_csr *train,
                       irllrec_hook *h, const lgcn_hook_snap *s)
{
    int64_t U = lgcn_n_users(m), I = lgcn_n_nodes(m) - U, N = lgcn_n_nodes(m);
    int32_t d = lgcn_dim(m), L = lgcn_n_layers(m);
    irllrec_cmat layers[65]; /* lgcn_create allows up to 64 layers */
    irllrec_rec_spec spec;
    irllrec_rec *r = NULL;
    char path[4096];
    int rc = 0;
    if (h != NULL && s != NULL) copy_blocks(h, s->data, s->n, 1);
    if (h != NULL && s == NULL)
        fprintf(stderr, "lightgcn_train: warning: the best epoch predates the resumed "
                        "checkpoint, which does not keep the hook's parameters of that epoch: "
                        "%s/model.irlm gets the hook's current ones\n", dir);
    irllrec_rec_spec_init(&spec, sizeof spec);
    spec.user_emb = irllrec_cmat_dense(lgcn_final(m), U, d);
    spec.item_emb = irllrec_cmat_dense(lgcn_final(m) + U * d, I, d);
    spec.seen = train;
    spec.hook = h;
    /* The hook's tower reads E(0..L-1) during training (lightgcn_irl.h), so
     * the intent distributions are computed from the same layers. */
    if (h != NULL && L > 0 && L <= 64 && has_intent_tower(h)) {
        for (int32_t l = 0; l < L; l++) layers[l] = irllrec_cmat_dense(lgcn_layer(m, l), N, d);
        spec.layers = layers;
    }
    snprintf(path, sizeof path, "%s/model.irlm", dir);
    if (irllrec_rec_create(ctx, &spec, &r) != IRLLREC_OK ||
        irllrec_rec_save(r, path) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot write the serving model %s: %s\n", path,
                irllrec_ctx_errmsg(ctx));
        rc = -1;
    }
    irllrec_rec_free(r);
    return rc;
}
