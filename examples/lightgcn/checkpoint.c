/* Trainer checkpoints: see checkpoint.h. The host sections are named
 * "lgcn.*"; the hook adds its "hook.*" sections through irllrec_hook_export. */
#include "checkpoint.h"
#include "hosts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static irllrec_status fail(char *err, size_t cap, irllrec_status st, const char *what,
                           irllrec_ctx *ctx)
{
    if (err != NULL)
        snprintf(err, cap, "%s: %s (%s)", what, irllrec_status_str(st),
                 ctx ? irllrec_ctx_errmsg(ctx) : "");
    return st;
}

#define TRY(expr, what)                                                  \
    do {                                                                 \
        st = (expr);                                                     \
        if (st != IRLLREC_OK) {                                          \
            fail(err, errcap, st, (what), ctx);                          \
            goto out;                                                    \
        }                                                                \
    } while (0)

irllrec_status lgcn_ckpt_save(irllrec_ctx *ctx, const char *path, const lgcn_ckpt_cfg *cfg,
                              lgcn *m, const lgcn_opt *o, const irllrec_x_sampler *sp,
                              const irllrec_hook *h, const lgcn_ckpt_loop *loop, char *err,
                              size_t errcap)
{
    irllrec_model *md = NULL;
    irllrec_status st = IRLLREC_OK;
    const int64_t dims[2] = {lgcn_n_nodes(m), lgcn_dim(m)};
    const int64_t nd = dims[0] * dims[1];
    float *mom = (float *)malloc((size_t)nd * sizeof(float));
    float *vel = (float *)malloc((size_t)nd * sizeof(float));
    int64_t t = 0;
    uint64_t u[4];
    if (mom == NULL || vel == NULL) {
        st = fail(err, errcap, IRLLREC_E_NOMEM, "checkpoint: Adam state", NULL);
        goto out;
    }
    TRY(irllrec_model_create(ctx, &md), "checkpoint");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.n_users", lgcn_n_users(m)), "lgcn.n_users");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.n_nodes", dims[0]), "lgcn.n_nodes");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.dim", dims[1]), "lgcn.dim");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.layers", lgcn_n_layers(m)), "lgcn.layers");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.batch", cfg->batch), "lgcn.batch");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.seed", (int64_t)cfg->seed), "lgcn.seed");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.lr", cfg->lr), "lgcn.lr");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.reg", cfg->reg), "lgcn.reg");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.keep", cfg->keep), "lgcn.keep");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.irllrec", cfg->irllrec), "lgcn.irllrec");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.model", cfg->model), "lgcn.model");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.cl_weight", cfg->cl_weight), "lgcn.cl_weight");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.cl_tau", cfg->cl_tau), "lgcn.cl_tau");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.eps", cfg->eps), "lgcn.eps");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.data_fnv1a64", (int64_t)cfg->data_fp),
        "lgcn.data_fnv1a64");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.text_fnv1a64", (int64_t)cfg->text_fp),
        "lgcn.text_fnv1a64");
    if (cfg->ranks > 1)
        TRY(irllrec_model_add_meta_i64(md, "lgcn.ranks", cfg->ranks), "lgcn.ranks");
    if (cfg->shard)
        TRY(irllrec_model_add_meta_i64(md, "lgcn.shard", 1), "lgcn.shard");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.epoch", loop->epoch), "lgcn.epoch");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.best_epoch", loop->best_epoch), "lgcn.best_epoch");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.since_best", loop->since_best), "lgcn.since_best");
    TRY(irllrec_model_add_meta_i64(md, "lgcn.n_evals", loop->n_evals), "lgcn.n_evals");
    TRY(irllrec_model_add_meta_f64(md, "lgcn.best_recall20", loop->best_recall),
        "lgcn.best_recall20");
    TRY(irllrec_model_add_tensor(md, IRLLREC_MODEL_TENSOR, "lgcn.emb0", lgcn_params(m), 2, dims,
                                 IRLLREC_MODEL_REQUIRED), "lgcn.emb0");
    TRY(irllrec_model_add_tensor(md, IRLLREC_MODEL_TENSOR, "lgcn.best_emb0", loop->best, 2, dims,
                                 IRLLREC_MODEL_REQUIRED), "lgcn.best_emb0");
    TRY(lgcn_opt_get_state(o, &t, mom, vel), "lgcn Adam state");
    TRY(irllrec_model_add_tensor(md, IRLLREC_MODEL_OPTIM, "lgcn.adam.m", mom, 2, dims,
                                 IRLLREC_MODEL_REQUIRED), "lgcn.adam.m");
    TRY(irllrec_model_add_tensor(md, IRLLREC_MODEL_OPTIM, "lgcn.adam.v", vel, 2, dims,
                                 IRLLREC_MODEL_REQUIRED), "lgcn.adam.v");
    u[0] = (uint64_t)t;
    TRY(irllrec_model_add_u64s(md, IRLLREC_MODEL_OPTIM, "lgcn.adam.t", u, 1,
                               IRLLREC_MODEL_REQUIRED), "lgcn.adam.t");
    irllrec_x_sampler_get_state(sp, u);
    TRY(irllrec_model_add_u64s(md, IRLLREC_MODEL_RNG, "lgcn.sampler.rng", u, 4,
                               IRLLREC_MODEL_REQUIRED), "lgcn.sampler.rng");
    /* the edge dropout is a counter-based stream: its state is the step count */
    u[0] = (uint64_t)lgcn_steps(m);
    TRY(irllrec_model_add_u64s(md, IRLLREC_MODEL_RNG, "lgcn.dropout.step", u, 1,
                               IRLLREC_MODEL_REQUIRED), "lgcn.dropout.step");
    if (h != NULL) TRY(irllrec_hook_export(h, md), "hook state");
    TRY(irllrec_model_save(md, path), path);
out:
    irllrec_model_free(md);
    free(mom);
    free(vel);
    return st;
}

/* An int64 key equal to want; E_SHAPE (shapes) or E_FORMAT (settings) otherwise. */
static irllrec_status want_i64(const irllrec_model *md, const char *key, int64_t want,
                               irllrec_status mismatch, char *err, size_t errcap)
{
    int64_t v = 0;
    irllrec_status st = irllrec_model_get_meta_i64(md, key, &v);
    if (st != IRLLREC_OK) return fail(err, errcap, st, key, NULL);
    if (v != want) {
        snprintf(err, errcap, "checkpoint has %s = %lld, this run %lld", key, (long long)v,
                 (long long)want);
        return mismatch;
    }
    return IRLLREC_OK;
}

static irllrec_status want_f64(const irllrec_model *md, const char *key, double want, char *err,
                               size_t errcap)
{
    double v = 0.0;
    irllrec_status st = irllrec_model_get_meta_f64(md, key, &v);
    if (st != IRLLREC_OK) return fail(err, errcap, st, key, NULL);
    if (memcmp(&v, &want, sizeof v) != 0) {
        snprintf(err, errcap, "checkpoint has %s = %.17g, this run %.17g", key, v, want);
        return IRLLREC_E_FORMAT;
    }
    return IRLLREC_OK;
}

/* A data fingerprint equal to want; E_FORMAT naming what differs otherwise. */
static irllrec_status want_fp(const irllrec_model *md, const char *key, uint64_t want,
                              const char *what, char *err, size_t errcap)
{
    int64_t v = 0;
    irllrec_status st = irllrec_model_get_meta_i64(md, key, &v);
    if (st != IRLLREC_OK) {
        snprintf(err, errcap, "checkpoint has no %s (written before data fingerprints): "
                 "cannot check it was trained on this data", key);
        return IRLLREC_E_FORMAT;
    }
    if ((uint64_t)v != want) {
        snprintf(err, errcap, "%s: checkpoint has %s = %016llx, this run %016llx", what, key,
                 (unsigned long long)(uint64_t)v, (unsigned long long)want);
        return IRLLREC_E_FORMAT;
    }
    return IRLLREC_OK;
}

uint64_t lgcn_ckpt_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t k = 0; k < n; k++) {
        h ^= b[k];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* The backbone first, so resuming with another --model says so rather than
 * naming a setting that follows from it. A checkpoint from before hosts.c
 * has no lgcn.model and is a LightGCN one. */
static irllrec_status want_model(const irllrec_model *md, int32_t want, char *err, size_t errcap)
{
    int64_t v = LGCN_MODEL_LIGHTGCN;
    const char *saved;
    if (irllrec_model_get_meta_i64(md, "lgcn.model", &v) != IRLLREC_OK) v = LGCN_MODEL_LIGHTGCN;
    if (v == want) return IRLLREC_OK;
    saved = v >= 0 && v < LGCN_N_MODELS ? lgcn_model_name((int32_t)v) : NULL;
    if (saved != NULL)
        snprintf(err, errcap, "the checkpoint is of --model %s, this run is --model %s: resume "
                 "with --model %s or start a new run", saved, lgcn_model_name(want), saved);
    else
        snprintf(err, errcap, "the checkpoint's lgcn.model = %lld is not a known model",
                 (long long)v);
    return IRLLREC_E_FORMAT;
}

/* The rank count: a global batch is split into that many slices, so another
 * count does not continue the saved run. Absent: one process. */
static irllrec_status want_ranks(const irllrec_model *md, int32_t want, char *err, size_t errcap)
{
    int64_t v = 1;
    if (want < 1) want = 1;
    if (irllrec_model_get_meta_i64(md, "lgcn.ranks", &v) != IRLLREC_OK) v = 1;
    if (v == want) return IRLLREC_OK;
    if (v == 1)
        snprintf(err, errcap, "the checkpoint was written by a run of 1 rank (one process), "
                 "this run has %d ranks: resume with the same rank count (lightgcn_train, or "
                 "mpirun -n 1 lightgcn_train_mpi --mpi): each global batch is split by it",
                 (int)want);
    else
        snprintf(err, errcap, "the checkpoint was written by a run of %lld ranks, this run has "
                 "%d rank%s: resume with the same rank count (mpirun -n %lld lightgcn_train_mpi "
                 "--mpi): each global batch is split by it", (long long)v, (int)want,
                 want == 1 ? "" : "s", (long long)v);
    return IRLLREC_E_FORMAT;
}

/* Node-sharded or data-parallel: the ranks' batches differ between the two. */
static irllrec_status want_shard(const irllrec_model *md, int32_t want, char *err, size_t errcap)
{
    int64_t v = 0;
    if (irllrec_model_get_meta_i64(md, "lgcn.shard", &v) != IRLLREC_OK) v = 0;
    if ((v != 0) == (want != 0)) return IRLLREC_OK;
    snprintf(err, errcap, "the checkpoint was written by a %s run, this run is %s: resume %s "
             "--mpi-shard", v ? "node-sharded (--mpi-shard)" : "not node-sharded",
             want ? "node-sharded" : "not", v ? "with" : "without");
    return IRLLREC_E_FORMAT;
}

static irllrec_status get_i32(const irllrec_model *md, const char *key, int32_t *out)
{
    int64_t v = 0;
    irllrec_status st = irllrec_model_get_meta_i64(md, key, &v);
    if (st != IRLLREC_OK) return st;
    if (v < INT32_MIN || v > INT32_MAX) return IRLLREC_E_FORMAT;
    *out = (int32_t)v;
    return IRLLREC_OK;
}

irllrec_status lgcn_ckpt_load(irllrec_ctx *ctx, const char *path, const lgcn_ckpt_cfg *cfg,
                              lgcn *m, lgcn_opt *o, irllrec_x_sampler *sp, irllrec_hook *h,
                              lgcn_ckpt_loop *loop, char *err, size_t errcap)
{
    irllrec_model *md = NULL;
    irllrec_model_load_opts lo;
    irllrec_status st = IRLLREC_OK;
    const int64_t dims[2] = {lgcn_n_nodes(m), lgcn_dim(m)};
    const int64_t nd = dims[0] * dims[1];
    float *buf = (float *)malloc((size_t)(4 * nd) * sizeof(float));
    float *emb = buf, *best = buf + nd, *mom = buf + 2 * nd, *vel = buf + 3 * nd;
    uint64_t adam_t = 0, steps = 0, srng[4];
    lgcn_ckpt_loop lp = *loop;
    if (buf == NULL) {
        st = fail(err, errcap, IRLLREC_E_NOMEM, "checkpoint", NULL);
        goto out;
    }
    irllrec_model_load_opts_init(&lo, sizeof lo);
    lo.check_finite = 1;
    lo.max_bytes = LGCN_CKPT_MAX_BYTES(nd);
    TRY(irllrec_model_load(ctx, path, &lo, &md), path);
#define WANT(expr)                  \
    do {                            \
        st = (expr);                \
        if (st != IRLLREC_OK) goto out; \
    } while (0)
    WANT(want_model(md, cfg->model, err, errcap));
    WANT(want_ranks(md, cfg->ranks, err, errcap));
    WANT(want_shard(md, cfg->shard, err, errcap));
    WANT(want_i64(md, "lgcn.n_users", lgcn_n_users(m), IRLLREC_E_SHAPE, err, errcap));
    WANT(want_i64(md, "lgcn.n_nodes", dims[0], IRLLREC_E_SHAPE, err, errcap));
    WANT(want_i64(md, "lgcn.dim", dims[1], IRLLREC_E_SHAPE, err, errcap));
    WANT(want_i64(md, "lgcn.layers", lgcn_n_layers(m), IRLLREC_E_SHAPE, err, errcap));
    WANT(want_i64(md, "lgcn.batch", cfg->batch, IRLLREC_E_FORMAT, err, errcap));
    WANT(want_i64(md, "lgcn.seed", (int64_t)cfg->seed, IRLLREC_E_FORMAT, err, errcap));
    WANT(want_i64(md, "lgcn.irllrec", cfg->irllrec, IRLLREC_E_FORMAT, err, errcap));
    WANT(want_f64(md, "lgcn.lr", cfg->lr, err, errcap));
    WANT(want_f64(md, "lgcn.reg", cfg->reg, err, errcap));
    WANT(want_f64(md, "lgcn.keep", cfg->keep, err, errcap));
    if (cfg->model != LGCN_MODEL_LIGHTGCN) {
        WANT(want_f64(md, "lgcn.cl_weight", cfg->cl_weight, err, errcap));
        WANT(want_f64(md, "lgcn.cl_tau", cfg->cl_tau, err, errcap));
        WANT(want_f64(md, "lgcn.eps", cfg->eps, err, errcap));
    }
    WANT(want_fp(md, "lgcn.data_fnv1a64", cfg->data_fp,
                 "the TRAIN data (shape or user -> items pairs) differs", err, errcap));
    WANT(want_fp(md, "lgcn.text_fnv1a64", cfg->text_fp,
                 "the text embeddings (--usr-prf/--itm-prf/--usr-int/--itm-int) differ", err,
                 errcap));
#undef WANT
    TRY(get_i32(md, "lgcn.epoch", &lp.epoch), "lgcn.epoch");
    TRY(get_i32(md, "lgcn.best_epoch", &lp.best_epoch), "lgcn.best_epoch");
    TRY(get_i32(md, "lgcn.since_best", &lp.since_best), "lgcn.since_best");
    TRY(get_i32(md, "lgcn.n_evals", &lp.n_evals), "lgcn.n_evals");
    TRY(irllrec_model_get_meta_f64(md, "lgcn.best_recall20", &lp.best_recall),
        "lgcn.best_recall20");
    TRY(irllrec_model_get_f32(md, "lgcn.emb0", 2, dims, emb, nd), "lgcn.emb0");
    TRY(irllrec_model_get_f32(md, "lgcn.best_emb0", 2, dims, best, nd), "lgcn.best_emb0");
    TRY(irllrec_model_get_f32(md, "lgcn.adam.m", 2, dims, mom, nd), "lgcn.adam.m");
    TRY(irllrec_model_get_f32(md, "lgcn.adam.v", 2, dims, vel, nd), "lgcn.adam.v");
    TRY(irllrec_model_get_u64(md, "lgcn.adam.t", &adam_t, 1), "lgcn.adam.t");
    TRY(irllrec_model_get_u64(md, "lgcn.sampler.rng", srng, 4), "lgcn.sampler.rng");
    TRY(irllrec_model_get_u64(md, "lgcn.dropout.step", &steps, 1), "lgcn.dropout.step");
    if (lp.epoch < 0 || adam_t > (uint64_t)INT64_MAX || steps > (uint64_t)INT64_MAX) {
        st = fail(err, errcap, IRLLREC_E_FORMAT, "checkpoint counters out of range", NULL);
        goto out;
    }
    /* Fallible restores first, each validating before it changes anything. */
    if (h != NULL) TRY(irllrec_hook_import(h, md), "hook state");
    TRY(irllrec_x_sampler_set_state(sp, srng), "lgcn.sampler.rng");
    TRY(lgcn_opt_set_state(o, (int64_t)adam_t, mom, vel), "lgcn Adam state");
    memcpy(lgcn_params(m), emb, (size_t)nd * sizeof(float));
    memcpy(lp.best, best, (size_t)nd * sizeof(float));
    lgcn_set_steps(m, (int64_t)steps);
    *loop = lp;
out:
    irllrec_model_free(md);
    free(buf);
    return st;
}
