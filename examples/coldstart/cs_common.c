/* Rebuild a serving recommender from lightgcn_train's outputs: see cs_common.h. */
#include "cs_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const TEXT_FILE[4] = {"usr_prf.npy", "itm_prf.npy", "usr_int.npy",
                                         "itm_int.npy"};
static const int32_t TEXT_WHICH[4] = {IRLLREC_HOOK_USER_PROFILE, IRLLREC_HOOK_ITEM_PROFILE,
                                      IRLLREC_HOOK_USER_INTENT, IRLLREC_HOOK_ITEM_INTENT};

int cs_fail(const cs_model *cm, const char *what, irllrec_status st)
{
    fprintf(stderr, "coldstart: %s: %s (%s)\n", what, irllrec_status_str(st),
            cm && cm->ctx ? irllrec_ctx_errmsg(cm->ctx) : "");
    return -1;
}

/* A float32 .npy file of @p rows rows (0: any); *cols receives its columns. */
static int read_npy(cs_model *cm, const char *dir, const char *name, int64_t rows,
                    float **out, int64_t *cols)
{
    char path[4096];
    int64_t r = 0, c = 0;
    irllrec_status st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    st = irllrec_npy_shape(cm->ctx, path, &r, &c);
    if (st != IRLLREC_OK) return cs_fail(cm, path, st);
    if (rows > 0 && r != rows) {
        fprintf(stderr, "coldstart: %s has %lld rows, want %lld\n", path, (long long)r,
                (long long)rows);
        return -1;
    }
    *out = (float *)malloc((size_t)(r * c) * sizeof(float));
    if (*out == NULL) return cs_fail(cm, path, IRLLREC_E_NOMEM);
    st = irllrec_npy_read(cm->ctx, path, irllrec_mat_dense(*out, r, c), 0);
    if (st != IRLLREC_OK) return cs_fail(cm, path, st);
    *cols = c;
    return 0;
}

static int meta_i64(cs_model *cm, const irllrec_model *md, const char *key, int64_t *v)
{
    irllrec_status st = irllrec_model_get_meta_i64(md, key, v);
    return st == IRLLREC_OK ? 0 : cs_fail(cm, key, st);
}

/* The hook spec the trainer used, from the checkpoint's hook.spec.* keys. */
static int hook_spec_from(cs_model *cm, const irllrec_model *md, irllrec_hook_spec *s)
{
    int64_t v[10];
    static const char *const KEY[10] = {
        "hook.spec.preset", "hook.spec.n_users", "hook.spec.n_items", "hook.spec.dim",
        "hook.spec.n_intents", "hook.spec.n_layers", "hook.spec.max_batch",
        "hook.spec.profile_dim", "hook.spec.intent_dim", "hook.spec.seed"};
    for (int k = 0; k < 10; k++)
        if (meta_i64(cm, md, KEY[k], &v[k]) != 0) return -1;
    irllrec_hook_spec_init(s, sizeof *s);
    s->preset = (int32_t)v[0];
    s->n_users = v[1];
    s->n_items = v[2];
    s->dim = (int32_t)v[3];
    s->n_intents = (int32_t)v[4];
    s->n_layers = (int32_t)v[5];
    s->max_batch = (int32_t)v[6];
    s->profile_dim = (int32_t)v[7];
    s->intent_dim = (int32_t)v[8];
    s->seed = (uint64_t)v[9];
    return 0;
}

/* The LightGCN model at the checkpoint's best E(0), forwarded without dropout. */
static int build_lgcn(cs_model *cm, const irllrec_model *md)
{
    lgcn_spec s;
    char err[512] = "";
    const int64_t N = cm->U + cm->I;
    const int64_t dims[2] = {N, cm->d};
    irllrec_status st;
    const float *fin;
    lgcn_spec_init(&s);
    s.n_users = cm->U;
    s.n_items = cm->I;
    s.dim = cm->d;
    s.n_layers = cm->L;
    st = lgcn_create(&s, &cm->train, &cm->m, err, sizeof err);
    if (st != IRLLREC_OK) {
        fprintf(stderr, "coldstart: lgcn_create: %s\n", err);
        return -1;
    }
    st = irllrec_model_get_f32(md, "lgcn.best_emb0", 2, dims, lgcn_params(cm->m), N * cm->d);
    if (st != IRLLREC_OK) return cs_fail(cm, "lgcn.best_emb0", st);
    lgcn_forward(cm->m, LGCN_EVAL);
    fin = lgcn_final(cm->m);
    cm->max_final_diff = 0.0;
    for (int64_t k = 0; k < N * cm->d; k++) {
        float ref = k < cm->U * cm->d ? cm->uemb[k] : cm->iemb[k - cm->U * cm->d];
        double e = fabs((double)fin[k] - (double)ref);
        if (e > cm->max_final_diff) cm->max_final_diff = e;
    }
    return 0;
}

/* The hook as the checkpoint left it, with the dataset's text and the train graph. */
static int build_hook(cs_model *cm, const irllrec_model *md)
{
    irllrec_hook_spec s;
    irllrec_csr adj;
    irllrec_status st;
    if (hook_spec_from(cm, md, &s) != 0) return -1;
    cm->K = s.n_intents;
    st = irllrec_hook_create(cm->ctx, &s, &cm->h);
    if (st != IRLLREC_OK) return cs_fail(cm, "irllrec_hook_create", st);
    st = irllrec_hook_import(cm->h, md);
    if (st != IRLLREC_OK) return cs_fail(cm, "irllrec_hook_import", st);
    for (int w = 0; w < 4; w++) {
        int64_t rows = (w % 2 == 0) ? cm->U : cm->I;
        st = irllrec_hook_set_text(cm->h, TEXT_WHICH[w],
                                   irllrec_cmat_dense(cm->text[w], rows, cm->text_dim[w]));
        if (st != IRLLREC_OK) return cs_fail(cm, TEXT_FILE[w], st);
    }
    if (s.n_layers > 0) {
        lgcn_adjacency(cm->m, &adj);
        st = irllrec_hook_set_graph(cm->h, &adj);
        if (st != IRLLREC_OK) return cs_fail(cm, "irllrec_hook_set_graph", st);
    }
    cm->hook_steps = irllrec_hook_steps(cm->h);
    return 0;
}

static int build_rec(cs_model *cm)
{
    irllrec_rec_spec s;
    irllrec_cmat lay[64];
    const int64_t N = cm->U + cm->I;
    irllrec_status st;
    if (cm->L > 64) return cs_fail(cm, "too many layers", IRLLREC_E_INVALID_ARG);
    /* what the trainer's hook saw each step (lightgcn_irl.c): E(0) .. E(L-1) */
    for (int32_t l = 0; l < cm->L; l++)
        lay[l] = irllrec_cmat_dense(lgcn_layer(cm->m, l), N, cm->d);
    irllrec_rec_spec_init(&s, sizeof s);
    s.user_emb = irllrec_cmat_dense(cm->uemb, cm->U, cm->d);
    s.item_emb = irllrec_cmat_dense(cm->iemb, cm->I, cm->d);
    s.seen = &cm->train;
    s.hook = cm->h;
    s.layers = cm->L > 0 ? lay : NULL;
    st = irllrec_rec_create(cm->ctx, &s, &cm->rec);
    return st == IRLLREC_OK ? 0 : cs_fail(cm, "irllrec_rec_create", st);
}

static int load_inputs(cs_model *cm, const char *data_dir, const char *run_dir)
{
    int64_t c = 0;
    irllrec_status st = irllrec_x_dataset_load(cm->ctx, data_dir, &cm->ds);
    if (st != IRLLREC_OK) return cs_fail(cm, data_dir, st);
    irllrec_x_dataset_user_items(cm->ds, IRLLREC_SPLIT_TRAIN, &cm->train);
    cm->U = irllrec_x_dataset_n_users(cm->ds);
    cm->I = irllrec_x_dataset_n_items(cm->ds);
    if (read_npy(cm, run_dir, "user_emb.npy", cm->U, &cm->uemb, &c) != 0) return -1;
    cm->d = (int32_t)c;
    if (read_npy(cm, run_dir, "item_emb.npy", cm->I, &cm->iemb, &c) != 0) return -1;
    if (c != cm->d) return cs_fail(cm, "item_emb.npy: another d", IRLLREC_E_SHAPE);
    for (int w = 0; w < 4; w++)
        if (read_npy(cm, data_dir, TEXT_FILE[w], (w % 2 == 0) ? cm->U : cm->I, &cm->text[w],
                     &cm->text_dim[w]) != 0)
            return -1;
    return 0;
}

int cs_open(cs_model *cm, const char *data_dir, const char *run_dir, const char *ckpt)
{
    irllrec_model *md = NULL;
    irllrec_model_load_opts lo;
    int64_t layers = 0;
    int rc = -1;
    irllrec_status st;
    memset(cm, 0, sizeof *cm);
    st = irllrec_ctx_create(NULL, &cm->ctx);
    if (st != IRLLREC_OK) return cs_fail(cm, "irllrec_ctx_create", st);
    if (load_inputs(cm, data_dir, run_dir) != 0) return -1;
    irllrec_model_load_opts_init(&lo, sizeof lo);
    lo.check_finite = 1;
    st = irllrec_model_load(cm->ctx, ckpt, &lo, &md);
    if (st != IRLLREC_OK) return cs_fail(cm, ckpt, st);
    if (meta_i64(cm, md, "lgcn.layers", &layers) != 0 ||
        meta_i64(cm, md, "lgcn.epoch", &cm->ck_epoch) != 0 ||
        meta_i64(cm, md, "lgcn.best_epoch", &cm->ck_best_epoch) != 0)
        goto out;
    cm->L = (int32_t)layers;
    if (build_lgcn(cm, md) != 0 || build_hook(cm, md) != 0 || build_rec(cm) != 0) goto out;
    rc = 0;
out:
    irllrec_model_free(md);
    return rc;
}

void cs_close(cs_model *cm)
{
    irllrec_rec_free(cm->rec);
    irllrec_hook_free(cm->h);
    lgcn_free(cm->m);
    irllrec_x_dataset_free(cm->ds);
    for (int w = 0; w < 4; w++) free(cm->text[w]);
    free(cm->uemb);
    free(cm->iemb);
    irllrec_ctx_free(cm->ctx);
    memset(cm, 0, sizeof *cm);
}
