/* lightgcn_train's outputs (train_impl.h): folders, evaluation, the per-epoch
 * losses, and the files of a run: log.jsonl lines, result.json, the .npy
 * embeddings and model.irlm. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "train_impl.h"
#include "serving.h"

const int32_t LT_KS[3] = {5, 10, 20};

double lt_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The context's log callback: the library's warnings (and, on a failure, its
 * error, which the trainer then reports with its own context) go to stderr
 * with a prefix, instead of being lost. */
void lt_lib_log(void *ud, int32_t level, const char *msg)
{
    static const char *const names[5] = {"?", "error", "warning", "info", "debug"};
    (void)ud;
    fprintf(stderr, "lightgcn_train: libirllrec %s: %s\n",
            names[level >= 1 && level <= 4 ? level : 0], msg);
}

int lt_mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t k = 1; k <= n; k++) {
        if (buf[k] == '/' || buf[k] == '\0') {
            char c = buf[k];
            buf[k] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[k] = c;
        }
    }
    return 0;
}

/* Remove a tree this run created (no symlinks followed). */
void lt_rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[4096];
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
                lt_rm_tree(sub);
        }
        if (d != NULL) closedir(d);
        (void)rmdir(path);
    } else {
        (void)remove(path);
    }
}

int lt_evaluate(irllrec_evaluator *ev, lgcn *m, const irllrec_x_dataset *ds, int32_t split,
                lt_metrics *out, irllrec_ctx *ctx)
{
    irllrec_csr mask, truth;
    int64_t U = lgcn_n_users(m), I = lgcn_n_nodes(m) - U;
    int32_t d = lgcn_dim(m);
    float *fin = (float *)lgcn_final(m);
    irllrec_mat ue = irllrec_mat_dense(fin, U, d), ie = irllrec_mat_dense(fin + U * d, I, d);
    double t0 = lt_now_s();
    irllrec_status st;
    lgcn_forward(m, LGCN_EVAL);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &mask);
    irllrec_x_dataset_user_items(ds, split, &truth);
    st = irllrec_evaluator_run(ev, ue, ie, &mask, &truth, out->recall, out->ndcg, &out->n_users);
    out->seconds = lt_now_s() - t0;
    if (st != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: evaluation failed: %s\n", irllrec_ctx_errmsg(ctx));
        return -1;
    }
    return 0;
}

void lt_json_metrics(FILE *f, const lt_metrics *r)
{
    for (int k = 0; k < 3; k++) fprintf(f, "\"recall@%d\": %.6f, ", LT_KS[k], r->recall[k]);
    for (int k = 0; k < 3; k++) fprintf(f, "\"ndcg@%d\": %.6f, ", LT_KS[k], r->ndcg[k]);
    fprintf(f, "\"n_users\": %lld", (long long)r->n_users);
}

void lt_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int lt_save_npy(irllrec_ctx *ctx, const char *dir, const char *name, const float *x,
                int64_t rows, int32_t d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (irllrec_npy_write(ctx, path, irllrec_mat_dense((float *)x, rows, d)) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        return -1;
    }
    return 0;
}

/* ---- per-epoch losses ---------------------------------------------------- */

void lt_sums_add(lt_epoch_sums *e, const lgcn_host_losses *l)
{
    e->bpr += l->bpr;
    e->reg += l->reg;
    e->cl += l->cl;
    e->h.total += l->hook.total;
    e->h.kd += l->hook.kd;
    e->h.pair += l->hook.pair;
    e->h.tran += l->hook.tran;
    e->h.itm += l->hook.itm;
    e->h.reg += l->hook.reg;
    e->n++;
}

void lt_sums_mean(lt_epoch_sums *e, int32_t model)
{
    double nb = e->n > 0 ? (double)e->n : 1.0;
    e->bpr /= nb;
    e->reg /= nb;
    e->cl /= nb;
    e->h.total /= nb;
    e->h.kd /= nb;
    e->h.pair /= nb;
    e->h.tran /= nb;
    e->h.itm /= nb;
    e->h.reg /= nb;
    e->has_cl = model == LGCN_MODEL_SGL || model == LGCN_MODEL_SIMGCL;
}

static double sums_total(const lt_epoch_sums *e) { return e->bpr + e->reg + e->cl + e->h.total; }

void lt_print_epoch(const lt_epoch_sums *e, int epoch, int irl, double secs)
{
    fprintf(stderr, "epoch %4d  loss %.6f (bpr %.6f ", epoch, sums_total(e), e->bpr);
    if (e->has_cl) fprintf(stderr, "cl %.6f ", e->cl);
    if (!irl)
        fprintf(stderr, "reg %.6f)  %.3f s\n", e->reg, secs);
    else
        fprintf(stderr, "reg %.3g | hook %.6f: kd %.4f pair %.4f tran %.4f itm %.4f hreg %.3g)  "
                        "%.3f s\n", e->reg, e->h.total, e->h.kd, e->h.pair, e->h.tran, e->h.itm,
                e->h.reg, secs);
}

void lt_json_losses(FILE *f, const lt_epoch_sums *e, int irl)
{
    fprintf(f, "\"loss\": %.6f, \"bpr\": %.6f, \"reg\": %.6g, ", sums_total(e), e->bpr,
            e->reg);
    if (e->has_cl) fprintf(f, "\"cl\": %.6g, ", e->cl);
    if (irl)
        fprintf(f, "\"hook\": {\"total\": %.6g, \"kd\": %.6g, \"pair\": %.6g, "
                   "\"tran\": %.6g, \"itm\": %.6g, \"reg\": %.6g}, ",
                e->h.total, e->h.kd, e->h.pair, e->h.tran, e->h.itm, e->h.reg);
}

/* ---- the run's files ------------------------------------------------------ */

void lt_log_train(FILE *log, int epoch, const lt_epoch_sums *es, int irl, double secs)
{
    fprintf(log, "{\"epoch\": %d, \"split\": \"train\", ", epoch);
    lt_json_losses(log, es, irl);
    fprintf(log, "\"epoch_seconds\": %.4f}\n", secs);
    fflush(log); /* a plot of a running job sees every finished epoch */
}

void lt_log_val(FILE *log, int epoch, const lt_metrics *r, const lt_epoch_sums *es, int irl,
                double secs, int improved)
{
    fprintf(log, "{\"epoch\": %d, \"split\": \"val\", ", epoch);
    lt_json_metrics(log, r);
    fprintf(log, ", ");
    lt_json_losses(log, es, irl);
    fprintf(log, "\"epoch_seconds\": %.4f, \"eval_seconds\": %.4f, \"best\": %s}\n",
            secs, r->seconds, improved ? "true" : "false");
    fflush(log);
}

int lt_write_embeddings(irllrec_ctx *ctx, const char *dir, lgcn *m, const float *best,
                        const irllrec_csr *train, irllrec_hook *h, const lgcn_hook_snap *best_hook)
{
    int64_t U = lgcn_n_users(m), I = lgcn_n_nodes(m) - U;
    int32_t d = lgcn_dim(m);
    if (lt_save_npy(ctx, dir, "user_emb.npy", lgcn_final(m), U, d) ||
        lt_save_npy(ctx, dir, "item_emb.npy", lgcn_final(m) + U * d, I, d) ||
        lt_save_npy(ctx, dir, "user_emb0.npy", best, U, d) ||
        lt_save_npy(ctx, dir, "item_emb0.npy", best + U * d, I, d) ||
        lgcn_serving_write(ctx, dir, m, train, h, best_hook) != 0)
        return -1;
    return 0;
}

int lt_open_out(const opts *o, int *created_out, int *created_log)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.irlm", o->out);
    if (o->resume == NULL && !o->overwrite && access(path, F_OK) == 0) {
        fprintf(stderr,
                "lightgcn_train: %s holds a checkpoint of an earlier run (%s); refusing to "
                "replace it and its log.jsonl: continue it with --resume %s, choose another "
                "--out, or pass --overwrite\n", o->out, path, path);
        return 2;
    }
    *created_out = access(o->out, F_OK) != 0;
    snprintf(path, sizeof path, "%s/log.jsonl", o->out);
    *created_log = access(path, F_OK) != 0;
    if (lt_mkdir_p(o->out) != 0) {
        fprintf(stderr, "lightgcn_train: cannot create %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    return 0;
}

int lt_write_result(const opts *o, const char *data_dir, const lt_irl_state *irl,
                    const lt_result *r)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/result.json", o->out);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "lightgcn_train: cannot write %s\n", path);
        return -1;
    }
    fprintf(f, "{\"data\": ");
    lt_json_str(f, data_dir);
    fprintf(f, ", \"synthetic\": %s, \"seed\": %llu, \"threads\": %d, "
               "\"best_epoch\": %d, \"epochs_run\": %d, \"evaluations\": %d, ",
            o->data ? "false" : "true", (unsigned long long)o->seed, o->threads,
            r->best_epoch, r->epochs_run, r->n_evals);
    if (r->ranks > 0) fprintf(f, "\"ranks\": %d, ", r->ranks);
    if (r->ranks > 0 && o->mpi_shard) fprintf(f, "\"node_sharded\": true, ");
    fprintf(f, "\"config\": {\"model\": \"%s\", \"dataset_config\": \"%s\", ",
            lgcn_model_name(o->model), LGCN_DATASET_CFG_NAME[o->dataset_cfg]);
    if (o->model == LGCN_MODEL_SGL || o->model == LGCN_MODEL_SIMGCL)
        fprintf(f, "\"cl_weight\": %.9g, \"cl_tau\": %.9g, \"cl_precision\": \"%s\", ",
                o->cl_weight, o->cl_tau, lgcn_precision_name(r->cl_precision));
    if (o->model == LGCN_MODEL_SGL) fprintf(f, "\"view_keep\": %.9g, ", o->view_keep);
    if (o->model == LGCN_MODEL_SIMGCL) fprintf(f, "\"eps\": %.9g, ", o->eps);
    fprintf(f, "\"dim\": %d, \"layers\": %d, \"lr\": %.9g, \"batch\": %d, "
               "\"reg\": %.9g, \"keep\": %.9g, \"epochs\": %d, \"eval_step\": %d, "
               "\"patience\": %d}, \"irllrec\": ",
            o->dim, o->layers, o->lr, o->batch, o->reg, o->keep, o->epochs, o->eval_step,
            o->patience);
    if (irl->x != NULL) {
        fprintf(f, "{");
        lt_json_hook_config(f, o, irl);
        fprintf(f, "}, ");
    } else {
        fprintf(f, "null, ");
    }
    fprintf(f, "\"train_seconds\": %.3f, \"eval_seconds\": %.3f, \"total_seconds\": %.3f, "
               "\"test\": {",
            r->t_train, r->t_eval, r->total);
    lt_json_metrics(f, &r->test);
    fprintf(f, "}, \"val\": {");
    lt_json_metrics(f, &r->val);
    fprintf(f, "}}\n");
    fclose(f);
    printf("best epoch %d (of %d run, %d evaluations); train %.1f s, eval %.1f s, total %.1f s\n",
           r->best_epoch, r->epochs_run, r->n_evals, r->t_train, r->t_eval, r->total);
    printf("TEST  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  (%lld users)\n",
           r->test.recall[0], r->test.recall[1], r->test.recall[2], r->test.ndcg[0],
           r->test.ndcg[1], r->test.ndcg[2], (long long)r->test.n_users);
    return 0;
}
