/* lightgcn_train: train the LightGCN host on a LightGCN-format data folder
 * (or, with no --data, on freshly generated SYNTHETIC data), with the
 * reference protocol of DESIGN.md section 6: validate every eval_step epochs
 * (epochs 0, 3, 6, ...), keep the parameters with the best validation
 * Recall@20 (strictly greater), stop after `patience` evaluations without
 * improvement, report TEST at the kept parameters.
 *
 * Output folder: log.jsonl (one JSON object per evaluation, and the final
 * test), result.json, user_emb.npy / item_emb.npy (E_final at the best
 * validation parameters) and user_emb0.npy / item_emb0.npy (E(0) there). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "lightgcn.h"

typedef struct opts {
    const char *data, *out;
    int32_t dim, layers, batch, epochs, eval_step, patience, threads, quiet;
    double lr, reg, keep;
    uint64_t seed;
} opts;

static const int32_t KS[3] = {5, 10, 20};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lightgcn_train [options]\n"
            "  --data DIR       LightGCN-format folder (train/val/test.txt, stats.json);\n"
            "                   omitted: generate SYNTHETIC data into OUT/synthetic-data\n"
            "  --out DIR        output folder (default lightgcn-out)\n"
            "  --dim N          embedding size (32)\n"
            "  --layers N       graph layers (3)\n"
            "  --lr X           Adam learning rate (1e-3)\n"
            "  --batch N        batch size (4096)\n"
            "  --reg X          L2 weight over all parameters (1e-6)\n"
            "  --keep X         edge keep rate during training (0.8)\n"
            "  --epochs N       maximum epochs (3000)\n"
            "  --eval-step N    validate every N epochs, starting at epoch 0 (3)\n"
            "  --patience N     stop after N validations without improvement (5)\n"
            "  --seed N         seed of initialisation, sampling and dropout (2023)\n"
            "  --threads N      threads for propagation, Adam and evaluation (1)\n"
            "  --quiet          no per-epoch lines on stderr\n");
}

static int parse_int(const char *s, int32_t lo, int32_t *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > INT32_MAX) return -1;
    *out = (int32_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno || *end || !isfinite(*out) ? -1 : 0;
}

static int parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->out = "lightgcn-out";
    o->dim = 32;
    o->layers = 3;
    o->lr = 1e-3;
    o->batch = 4096;
    o->reg = 1e-6;
    o->keep = 0.8;
    o->epochs = 3000;
    o->eval_step = 3;
    o->patience = 5;
    o->seed = 2023;
    o->threads = 1;
    for (int a = 1; a < argc; a++) {
        const char *k = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        int bad = 0;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(k, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "lightgcn_train: %s needs a value\n", k);
            return -1;
        }
        a++;
        if (strcmp(k, "--data") == 0) o->data = v;
        else if (strcmp(k, "--out") == 0) o->out = v;
        else if (strcmp(k, "--dim") == 0) bad = parse_int(v, 1, &o->dim);
        else if (strcmp(k, "--layers") == 0) bad = parse_int(v, 0, &o->layers);
        else if (strcmp(k, "--batch") == 0) bad = parse_int(v, 1, &o->batch);
        else if (strcmp(k, "--epochs") == 0) bad = parse_int(v, 1, &o->epochs);
        else if (strcmp(k, "--eval-step") == 0) bad = parse_int(v, 1, &o->eval_step);
        else if (strcmp(k, "--patience") == 0) bad = parse_int(v, 1, &o->patience);
        else if (strcmp(k, "--threads") == 0) bad = parse_int(v, 1, &o->threads);
        else if (strcmp(k, "--lr") == 0) bad = parse_double(v, &o->lr) || o->lr <= 0;
        else if (strcmp(k, "--reg") == 0) bad = parse_double(v, &o->reg) || o->reg < 0;
        else if (strcmp(k, "--keep") == 0) bad = parse_double(v, &o->keep) || o->keep <= 0 || o->keep > 1;
        else if (strcmp(k, "--seed") == 0) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            bad = errno || *end;
        } else {
            fprintf(stderr, "lightgcn_train: unknown option %s\n", k);
            usage(stderr);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "lightgcn_train: bad value for %s: %s\n", k, v);
            return -1;
        }
    }
    return 0;
}

static int mkdir_p(const char *path)
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

typedef struct metrics {
    double recall[3], ndcg[3];
    int64_t n_users;
    double seconds;
} metrics;

static int evaluate(irllrec_evaluator *ev, lgcn *m, const irllrec_dataset *ds, int32_t split,
                    metrics *out, irllrec_ctx *ctx)
{
    irllrec_csr mask, truth;
    int64_t U = lgcn_n_users(m), I = lgcn_n_nodes(m) - U;
    int32_t d = lgcn_dim(m);
    float *fin = (float *)lgcn_final(m);
    irllrec_mat ue = irllrec_mat_dense(fin, U, d), ie = irllrec_mat_dense(fin + U * d, I, d);
    double t0 = now_s();
    irllrec_status st;
    lgcn_forward(m, LGCN_EVAL);
    irllrec_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &mask);
    irllrec_dataset_user_items(ds, split, &truth);
    st = irllrec_evaluator_run(ev, ue, ie, &mask, &truth, out->recall, out->ndcg, &out->n_users);
    out->seconds = now_s() - t0;
    if (st != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: evaluation failed: %s\n", irllrec_ctx_errmsg(ctx));
        return -1;
    }
    return 0;
}

static void json_metrics(FILE *f, const metrics *r)
{
    for (int k = 0; k < 3; k++) fprintf(f, "\"recall@%d\": %.6f, ", KS[k], r->recall[k]);
    for (int k = 0; k < 3; k++) fprintf(f, "\"ndcg@%d\": %.6f, ", KS[k], r->ndcg[k]);
    fprintf(f, "\"n_users\": %lld", (long long)r->n_users);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(FILE *f, const char *s)
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

static int save_npy(irllrec_ctx *ctx, const char *dir, const char *name, const float *x,
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

int main(int argc, char **argv)
{
    opts o;
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_dataset *ds = NULL;
    irllrec_sampler *sp = NULL;
    irllrec_evaluator *ev = NULL;
    lgcn *m = NULL;
    lgcn_opt *opt = NULL;
    lgcn_spec ls;
    irllrec_csr train;
    int32_t *users = NULL, *pos = NULL, *neg = NULL;
    float *best = NULL;
    int64_t n_pairs, nd;
    char err[512] = "", path[4096], synth_dir[4096];
    const char *data_dir;
    FILE *log = NULL;
    int rc = 1, best_epoch = -1, since_best = 0, epochs_run = 0, n_evals = 0;
    double best_recall = -1.0, t_start = now_s(), t_train = 0.0, t_eval = 0.0;
    metrics val_best, test;

    if (parse_args(argc, argv, &o) != 0) return 2;
    if (mkdir_p(o.out) != 0) {
        fprintf(stderr, "lightgcn_train: cannot create %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = o.threads;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot create a context\n");
        return 1;
    }
    data_dir = o.data;
    if (data_dir == NULL) {
        irllrec_synth_spec ss;
        irllrec_synth_spec_init(&ss, sizeof ss);
        snprintf(synth_dir, sizeof synth_dir, "%s/synthetic-data", o.out);
        if (mkdir_p(synth_dir) != 0 || irllrec_synth_write(ctx, &ss, synth_dir) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: cannot write synthetic data: %s\n",
                    irllrec_ctx_errmsg(ctx));
            goto done;
        }
        fprintf(stderr, "lightgcn_train: no --data: training on SYNTHETIC data written to %s\n",
                synth_dir);
        data_dir = synth_dir;
    }
    if (irllrec_dataset_load(ctx, data_dir, &ds) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    irllrec_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    lgcn_spec_init(&ls);
    ls.n_users = irllrec_dataset_n_users(ds);
    ls.n_items = irllrec_dataset_n_items(ds);
    ls.dim = o.dim;
    ls.n_layers = o.layers;
    ls.keep_rate = o.keep;
    ls.reg = o.reg;
    ls.seed = o.seed;
    ls.n_threads = o.threads;
    if (lgcn_create(&ls, &train, &m, err, sizeof err) != IRLLREC_OK ||
        lgcn_opt_create(m, o.lr, &opt, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", err);
        goto done;
    }
    if (irllrec_sampler_create(ctx, ds, o.seed, &sp) != IRLLREC_OK ||
        irllrec_evaluator_create(ctx, ls.n_items, KS, 3, &ev) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    n_pairs = irllrec_sampler_epoch_size(sp);
    nd = lgcn_n_nodes(m) * lgcn_dim(m);
    users = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    pos = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    neg = (int32_t *)malloc((size_t)n_pairs * sizeof(int32_t));
    best = (float *)malloc((size_t)nd * sizeof(float));
    if (!users || !pos || !neg || !best) {
        fprintf(stderr, "lightgcn_train: out of memory\n");
        goto done;
    }
    snprintf(path, sizeof path, "%s/log.jsonl", o.out);
    log = fopen(path, "w");
    if (log == NULL) {
        fprintf(stderr, "lightgcn_train: cannot open %s: %s\n", path, strerror(errno));
        goto done;
    }
    fprintf(stderr,
            "lightgcn_train: %lld users, %lld items, %lld train pairs; d %d, L %d, lr %g, batch %d, "
            "reg %g, keep %g, seed %llu, threads %d; gemm %s, OPENBLAS_NUM_THREADS=%s\n",
            (long long)ls.n_users, (long long)ls.n_items, (long long)n_pairs, o.dim, o.layers, o.lr,
            o.batch, o.reg, o.keep, (unsigned long long)o.seed, o.threads, irllrec_gemm_backend(),
            getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");

    for (int epoch = 0; epoch < o.epochs; epoch++) {
        double t0 = now_s(), sum_bpr = 0.0, sum_reg = 0.0, secs;
        int64_t n_batches = 0;
        if (irllrec_sampler_epoch(sp, users, pos, neg, n_pairs) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
        for (int64_t s = 0; s < n_pairs; s += o.batch) {
            int64_t b = n_pairs - s < o.batch ? n_pairs - s : o.batch;
            double bpr, reg;
            irllrec_status st = lgcn_train_step(m, opt, users + s, pos + s, neg + s, b, &bpr, &reg);
            if (st != IRLLREC_OK) {
                fprintf(stderr, "lightgcn_train: epoch %d: training step failed (%s)\n", epoch,
                        irllrec_status_str(st));
                goto done;
            }
            sum_bpr += bpr;
            sum_reg += reg;
            n_batches++;
        }
        secs = now_s() - t0;
        t_train += secs;
        epochs_run = epoch + 1;
        if (!o.quiet)
            fprintf(stderr, "epoch %4d  loss %.6f (bpr %.6f reg %.6f)  %.3f s\n", epoch,
                    (sum_bpr + sum_reg) / (double)n_batches, sum_bpr / (double)n_batches,
                    sum_reg / (double)n_batches, secs);
        if (epoch % o.eval_step == 0) {
            metrics r;
            int improved;
            if (evaluate(ev, m, ds, IRLLREC_SPLIT_VAL, &r, ctx) != 0) goto done;
            t_eval += r.seconds;
            n_evals++;
            improved = r.recall[2] > best_recall;
            if (improved) {
                best_recall = r.recall[2];
                best_epoch = epoch;
                since_best = 0;
                memcpy(best, lgcn_params(m), (size_t)nd * sizeof(float));
            } else {
                since_best++;
            }
            fprintf(log, "{\"epoch\": %d, \"split\": \"val\", ", epoch);
            json_metrics(log, &r);
            fprintf(log, ", \"loss\": %.6f, \"epoch_seconds\": %.4f, \"eval_seconds\": %.4f, "
                         "\"best\": %s}\n",
                    (sum_bpr + sum_reg) / (double)n_batches, secs, r.seconds,
                    improved ? "true" : "false");
            fflush(log);
            if (!o.quiet)
                fprintf(stderr,
                        "  val  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  "
                        "(%.2f s)%s\n",
                        r.recall[0], r.recall[1], r.recall[2], r.ndcg[0], r.ndcg[1], r.ndcg[2],
                        r.seconds, improved ? "  *best" : "");
            if (since_best >= o.patience) break;
        }
    }

    /* TEST at the best validation parameters. */
    memcpy(lgcn_params(m), best, (size_t)nd * sizeof(float));
    if (evaluate(ev, m, ds, IRLLREC_SPLIT_VAL, &val_best, ctx) != 0 ||
        evaluate(ev, m, ds, IRLLREC_SPLIT_TEST, &test, ctx) != 0)
        goto done;
    fprintf(log, "{\"epoch\": %d, \"split\": \"test\", ", best_epoch);
    json_metrics(log, &test);
    fprintf(log, "}\n");
    {
        int64_t U = lgcn_n_users(m), I = lgcn_n_nodes(m) - U;
        int32_t d = lgcn_dim(m);
        if (save_npy(ctx, o.out, "user_emb.npy", lgcn_final(m), U, d) ||
            save_npy(ctx, o.out, "item_emb.npy", lgcn_final(m) + U * d, I, d) ||
            save_npy(ctx, o.out, "user_emb0.npy", best, U, d) ||
            save_npy(ctx, o.out, "item_emb0.npy", best + U * d, I, d))
            goto done;
    }
    {
        double total = now_s() - t_start;
        FILE *f;
        snprintf(path, sizeof path, "%s/result.json", o.out);
        f = fopen(path, "w");
        if (f == NULL) {
            fprintf(stderr, "lightgcn_train: cannot write %s\n", path);
            goto done;
        }
        fprintf(f, "{\"data\": ");
        json_str(f, data_dir);
        fprintf(f, ", \"synthetic\": %s, \"seed\": %llu, \"threads\": %d, "
                   "\"best_epoch\": %d, \"epochs_run\": %d, \"evaluations\": %d, ",
                o.data ? "false" : "true", (unsigned long long)o.seed, o.threads,
                best_epoch, epochs_run, n_evals);
        fprintf(f, "\"train_seconds\": %.3f, \"eval_seconds\": %.3f, \"total_seconds\": %.3f, "
                   "\"test\": {",
                t_train, t_eval, total);
        json_metrics(f, &test);
        fprintf(f, "}, \"val\": {");
        json_metrics(f, &val_best);
        fprintf(f, "}}\n");
        fclose(f);
        printf("best epoch %d (of %d run, %d evaluations); train %.1f s, eval %.1f s, total %.1f s\n",
               best_epoch, epochs_run, n_evals, t_train, t_eval, total);
        printf("TEST  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  (%lld users)\n",
               test.recall[0], test.recall[1], test.recall[2], test.ndcg[0], test.ndcg[1],
               test.ndcg[2], (long long)test.n_users);
    }
    rc = 0;
done:
    if (log) fclose(log);
    free(users);
    free(pos);
    free(neg);
    free(best);
    irllrec_evaluator_free(ev);
    irllrec_sampler_free(sp);
    lgcn_opt_free(opt);
    lgcn_free(m);
    irllrec_dataset_free(ds);
    irllrec_ctx_free(ctx);
    return rc;
}
