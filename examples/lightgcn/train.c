/* lightgcn_train: train the LightGCN host on a LightGCN-format data folder
 * (or, with no --data, on freshly generated SYNTHETIC data), with the
 * reference protocol of docs/evaluation.md: validate every eval_step epochs
 * (epochs 0, 3, 6, ...), keep the parameters with the best validation
 * Recall@20 (strictly greater), stop after `patience` evaluations without
 * improvement, report TEST at the kept parameters.
 *
 * Output folder: log.jsonl (one JSON object per epoch with its mean training
 * losses, one per evaluation, and the final test), result.json, user_emb.npy / item_emb.npy (E_final at the best
 * validation parameters) and user_emb0.npy / item_emb0.npy (E(0) there). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "lightgcn_irl.h"
#include "checkpoint.h"

typedef struct opts {
    const char *data, *out;
    int32_t dim, layers, batch, epochs, eval_step, patience, threads, quiet, lib_log;
    double lr, reg, keep;
    uint64_t seed;
    int32_t reg_set, keep_set;
    /* IRLLRec (--irllrec): text paths (NULL = DATA/<name>.npy if present) and
     * the hook settings (NAN / -1 = the hook's preset default). */
    int32_t irllrec;
    const char *text[4];
    lgcn_irl_cfg hc;
    const char *resume;  /* --resume FILE */
    int32_t save_every;  /* --save-every N: OUT/checkpoint.irlm every N epochs (0: never) */
} opts;

static const char *const TEXT_FLAG[4] = {"--usr-prf", "--itm-prf", "--usr-int", "--itm-int"};
static const char *const TEXT_FILE[4] = {"usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy"};

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
            "  --quiet          no per-epoch lines on stderr\n"
            "  --lib-log N      library messages to stderr up to level N: 0 none, 1 errors,\n"
            "                   2 + warnings (default), 3 + info, 4 + debug\n"
            "  --save-every N   write OUT/checkpoint.irlm (atomically) every N epochs\n"
            "  --resume FILE    continue from a checkpoint (same data and flags)\n"
            "IRLLRec (the library's hook on this host; docs/hook.md):\n"
            "  --irllrec        enable it (off: plain LightGCN, unchanged). With it the\n"
            "                   defaults of --reg and --keep become 1e-7 and 1.0\n"
            "                   (the authors' Amazon-book config) unless given explicitly\n"
            "  --usr-prf/--itm-prf/--usr-int/--itm-int PATH\n"
            "                   .npy text embeddings (default DATA/usr_prf.npy, ... when\n"
            "                   present; a missing pair switches its terms off)\n"
            "  --w-kd X --tau-kd X      profile InfoNCE (1e-2, 0.2)\n"
            "  --w-pair X --tau-pair X  intent InfoNCE (2e-2, 0.2)\n"
            "  --w-tran X --w-itm X     translation / ITM weights (preset: paper 5e-4, 1e-4;\n"
            "                           released 1e-7, 1e-7)\n"
            "  --itm-alpha X --momentum X  ITM alpha (0.6), teacher EMA momentum (0.999)\n"
            "  --intents K      prototypes per side (128)\n"
            "  --hook-lr X --hook-reg X  the hook's Adam lr (1e-3) and L2 (1e-7)\n"
            "  --preset paper|released   (paper)\n"
            "  --tran-mode exact|sampled --tran-samples N  (exact; 4096)\n");
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

static int text_flag(const char *k)
{
    for (int w = 0; w < 4; w++)
        if (strcmp(k, TEXT_FLAG[w]) == 0) return w;
    return -1;
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
    o->lib_log = IRLLREC_LOG_WARN;
    lgcn_irl_cfg_init(&o->hc);
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
        if (strcmp(k, "--irllrec") == 0) {
            o->irllrec = 1;
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
        else if (strcmp(k, "--lib-log") == 0)
            bad = parse_int(v, 0, &o->lib_log) || o->lib_log > IRLLREC_LOG_DEBUG;
        else if (strcmp(k, "--save-every") == 0) bad = parse_int(v, 1, &o->save_every);
        else if (strcmp(k, "--resume") == 0) o->resume = v;
        else if (strcmp(k, "--lr") == 0) bad = parse_double(v, &o->lr) || o->lr <= 0;
        else if (strcmp(k, "--reg") == 0) {
            bad = parse_double(v, &o->reg) || o->reg < 0;
            o->reg_set = 1;
        } else if (strcmp(k, "--keep") == 0) {
            bad = parse_double(v, &o->keep) || o->keep <= 0 || o->keep > 1;
            o->keep_set = 1;
        }
        else if (text_flag(k) >= 0) o->text[text_flag(k)] = v;
        else if (strcmp(k, "--w-kd") == 0) bad = parse_double(v, &o->hc.w_kd);
        else if (strcmp(k, "--tau-kd") == 0) bad = parse_double(v, &o->hc.tau_kd);
        else if (strcmp(k, "--w-pair") == 0) bad = parse_double(v, &o->hc.w_pair);
        else if (strcmp(k, "--tau-pair") == 0) bad = parse_double(v, &o->hc.tau_pair);
        else if (strcmp(k, "--w-tran") == 0) bad = parse_double(v, &o->hc.w_tran);
        else if (strcmp(k, "--w-itm") == 0) bad = parse_double(v, &o->hc.w_itm);
        else if (strcmp(k, "--itm-alpha") == 0) bad = parse_double(v, &o->hc.itm_alpha);
        else if (strcmp(k, "--momentum") == 0) bad = parse_double(v, &o->hc.momentum);
        else if (strcmp(k, "--hook-lr") == 0) bad = parse_double(v, &o->hc.lr);
        else if (strcmp(k, "--hook-reg") == 0) bad = parse_double(v, &o->hc.reg);
        else if (strcmp(k, "--intents") == 0) bad = parse_int(v, 1, &o->hc.n_intents);
        else if (strcmp(k, "--tran-samples") == 0) {
            int32_t n;
            bad = parse_int(v, 2, &n);
            o->hc.tran_samples = n;
        } else if (strcmp(k, "--preset") == 0) {
            if (strcmp(v, "paper") == 0) o->hc.preset = IRLLREC_HOOK_PRESET_PAPER;
            else if (strcmp(v, "released") == 0) o->hc.preset = IRLLREC_HOOK_PRESET_RELEASED;
            else bad = 1;
        } else if (strcmp(k, "--tran-mode") == 0) {
            if (strcmp(v, "exact") == 0) o->hc.tran_mode = 0;
            else if (strcmp(v, "sampled") == 0) o->hc.tran_mode = 1;
            else bad = 1;
        }
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
    if (o->irllrec) {
        /* The authors' Amazon-book IRLLRec config instead of the plain
         * baseline's 1e-6 / 0.8, unless the caller chose (README.md). */
        if (!o->reg_set) o->reg = 1e-7;
        if (!o->keep_set) o->keep = 1.0;
        o->hc.seed = o->seed;
        o->hc.max_batch = o->batch;
    } else {
        int hook_flag = o->hc.n_intents != 128 || o->hc.preset != IRLLREC_HOOK_PRESET_PAPER ||
                        o->hc.tran_mode >= 0 || o->hc.tran_samples > 0 || !isnan(o->hc.w_kd) ||
                        !isnan(o->hc.tau_kd) || !isnan(o->hc.w_pair) || !isnan(o->hc.tau_pair) ||
                        !isnan(o->hc.w_tran) || !isnan(o->hc.w_itm) || !isnan(o->hc.itm_alpha) ||
                        !isnan(o->hc.momentum) || !isnan(o->hc.lr) || !isnan(o->hc.reg);
        for (int w = 0; w < 4; w++) hook_flag |= o->text[w] != NULL;
        if (hook_flag)
            fprintf(stderr, "lightgcn_train: note: IRLLRec flags given without --irllrec are ignored\n");
    }
    return 0;
}

/* The context's log callback: the library's warnings (and, on a failure, its
 * error, which the trainer then reports with its own context) go to stderr
 * with a prefix, instead of being lost. */
static void lib_log(void *ud, int32_t level, const char *msg)
{
    static const char *const names[5] = {"?", "error", "warning", "info", "debug"};
    (void)ud;
    fprintf(stderr, "lightgcn_train: libirllrec %s: %s\n",
            names[level >= 1 && level <= 4 ? level : 0], msg);
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

static int evaluate(irllrec_evaluator *ev, lgcn *m, const irllrec_x_dataset *ds, int32_t split,
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
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &mask);
    irllrec_x_dataset_user_items(ds, split, &truth);
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

/* ---- IRLLRec ------------------------------------------------------------- */

typedef struct irl_state {
    lgcn_irl *x;
    float *text[4];
    char path[4][4096];
    int64_t rows[4], cols[4];
} irl_state;

static const struct {
    irllrec_hook_param p;
    const char *name;
} HOOK_PARAMS[] = {
    {IRLLREC_HOOK_W_KD, "w_kd"},           {IRLLREC_HOOK_TAU_KD, "tau_kd"},
    {IRLLREC_HOOK_W_PAIR, "w_pair"},       {IRLLREC_HOOK_TAU_PAIR, "tau_pair"},
    {IRLLREC_HOOK_W_TRAN, "w_tran"},       {IRLLREC_HOOK_W_ITM, "w_itm"},
    {IRLLREC_HOOK_ITM_ALPHA, "itm_alpha"}, {IRLLREC_HOOK_MOMENTUM, "momentum"},
    {IRLLREC_HOOK_LR, "hook_lr"},          {IRLLREC_HOOK_REG, "hook_reg"},
    {IRLLREC_HOOK_TRAN_MODE, "tran_mode"}, {IRLLREC_HOOK_TRAN_SAMPLES, "tran_samples"},
    {IRLLREC_HOOK_TRAN_IN_ITM, "tran_in_itm"}, {IRLLREC_HOOK_REG_TEACHER, "reg_teacher"},
    {IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, "tran_itm_need_graph"}};
#define N_HOOK_PARAMS (sizeof HOOK_PARAMS / sizeof HOOK_PARAMS[0])

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Resolve the four text paths: an explicit flag must name a file; the
 * defaults are DATA/<name>.npy when present. A pair with a missing half is
 * dropped with a note (its terms are off). */
static int resolve_text(const opts *o, const char *data_dir, irl_state *s)
{
    static const char *const pair_terms[2] = {"profile pair absent: L_kd off (no RLMRec-Con term)",
                                              "intent pair absent: L_pair, L_tran and ITM off"};
    for (int w = 0; w < 4; w++) {
        if (o->text[w] != NULL) {
            if (!file_exists(o->text[w])) {
                fprintf(stderr, "lightgcn_train: %s %s: no such file\n", TEXT_FLAG[w], o->text[w]);
                return -1;
            }
            snprintf(s->path[w], sizeof s->path[w], "%s", o->text[w]);
        } else {
            int n = snprintf(s->path[w], sizeof s->path[w], "%s/%s", data_dir, TEXT_FILE[w]);
            if (n < 0 || (size_t)n >= sizeof s->path[w] || !file_exists(s->path[w]))
                s->path[w][0] = '\0';
        }
    }
    for (int pr = 0; pr < 2; pr++) {
        char *a = s->path[2 * pr], *b = s->path[2 * pr + 1];
        if (a[0] && b[0]) continue;
        fprintf(stderr, "lightgcn_train: note: %s (%s: %s, %s: %s)\n", pair_terms[pr],
                TEXT_FLAG[2 * pr], a[0] ? a : "missing", TEXT_FLAG[2 * pr + 1],
                b[0] ? b : "missing");
        a[0] = b[0] = '\0';
    }
    return 0;
}

static int load_text(irllrec_ctx *ctx, irl_state *s, int64_t U, int64_t I)
{
    for (int w = 0; w < 4; w++) {
        int64_t want = w % 2 == 0 ? U : I;
        if (!s->path[w][0]) continue;
        if (irllrec_npy_shape(ctx, s->path[w], &s->rows[w], &s->cols[w]) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            return -1;
        }
        if (s->rows[w] != want || s->cols[w] < 1 || s->cols[w] > INT32_MAX ||
            (w % 2 == 1 && s->cols[w] != s->cols[w - 1])) {
            fprintf(stderr, "lightgcn_train: %s is %lld x %lld; expected %lld rows%s\n", s->path[w],
                    (long long)s->rows[w], (long long)s->cols[w], (long long)want,
                    w % 2 == 1 ? " and the width of its user counterpart" : "");
            return -1;
        }
        s->text[w] = (float *)malloc((size_t)(s->rows[w] * s->cols[w]) * sizeof(float));
        if (s->text[w] == NULL) {
            fprintf(stderr, "lightgcn_train: out of memory for %s\n", s->path[w]);
            return -1;
        }
        if (irllrec_npy_read(ctx, s->path[w], irllrec_mat_dense(s->text[w], s->rows[w], s->cols[w]),
                             IRLLREC_NPY_CHECK_FINITE) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            return -1;
        }
    }
    return 0;
}

static irllrec_mat text_mat(const irl_state *s, int w)
{
    return irllrec_mat_dense(s->text[w], s->text[w] ? s->rows[w] : 0, s->text[w] ? s->cols[w] : 0);
}

/* The hook's effective settings, as JSON members (no braces). */
static void json_hook_config(FILE *f, const opts *o, const irl_state *s)
{
    irllrec_hook *h = lgcn_irl_hook(s->x);
    fprintf(f, "\"preset\": \"%s\", \"intents\": %d, ",
            o->hc.preset == IRLLREC_HOOK_PRESET_RELEASED ? "released" : "paper", o->hc.n_intents);
    for (size_t k = 0; k < N_HOOK_PARAMS; k++) {
        double v = 0.0;
        irllrec_hook_get_param(h, HOOK_PARAMS[k].p, &v);
        fprintf(f, "\"%s\": %.9g, ", HOOK_PARAMS[k].name, v);
    }
    for (int w = 0; w < 4; w++) {
        static const char *const key[4] = {"usr_prf", "itm_prf", "usr_int", "itm_int"};
        fprintf(f, "\"%s\": ", key[w]);
        if (s->path[w][0]) {
            json_str(f, s->path[w]);
            fprintf(f, ", \"%s_dim\": %lld, ", key[w], (long long)s->cols[w]);
        } else {
            fprintf(f, "null, ");
        }
    }
    fprintf(f, "\"hook_layers\": %d", o->layers);
}

static void irl_state_free(irl_state *s)
{
    lgcn_irl_free(s->x);
    for (int w = 0; w < 4; w++) free(s->text[w]);
}

/* ---- checkpoints (checkpoint.c) ---------------------------------------- */

static lgcn_ckpt_cfg ckpt_cfg(const opts *o)
{
    lgcn_ckpt_cfg c = {o->batch, o->seed, o->lr, o->reg, o->keep, o->irllrec};
    return c;
}

static int save_checkpoint(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                           irllrec_x_sampler *sp, irl_state *irl, float *best, int epoch,
                           int best_epoch, int since_best, int n_evals, double best_recall)
{
    char p[4096], err[1024] = "";
    const lgcn_ckpt_cfg c = ckpt_cfg(o);
    lgcn_ckpt_loop lp = {epoch, best_epoch, since_best, n_evals, best_recall, best};
    snprintf(p, sizeof p, "%s/checkpoint.irlm", o->out);
    if (lgcn_ckpt_save(ctx, p, &c, m, opt, sp, irl->x ? lgcn_irl_hook(irl->x) : NULL, &lp, err,
                       sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot save %s: %s\n", p, err);
        return -1;
    }
    return 0;
}

static int resume_from(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                       irllrec_x_sampler *sp, irl_state *irl, float *best, int *first_epoch,
                       int *best_epoch, int *since_best, int *n_evals, double *best_recall)
{
    char err[1024] = "";
    const lgcn_ckpt_cfg c = ckpt_cfg(o);
    lgcn_ckpt_loop lp = {0, -1, 0, 0, -1.0, best};
    if (lgcn_ckpt_load(ctx, o->resume, &c, m, opt, sp, irl->x ? lgcn_irl_hook(irl->x) : NULL,
                       &lp, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot resume from %s: %s\n", o->resume, err);
        return -1;
    }
    *first_epoch = lp.epoch + 1;
    *best_epoch = lp.best_epoch;
    *since_best = lp.since_best;
    *n_evals = lp.n_evals;
    *best_recall = lp.best_recall;
    fprintf(stderr, "lightgcn_train: resumed from %s after epoch %d\n", o->resume, lp.epoch);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_x_dataset *ds = NULL;
    irllrec_x_sampler *sp = NULL;
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
    int rc = 1, best_epoch = -1, since_best = 0, epochs_run = 0, n_evals = 0, first_epoch = 0;
    double best_recall = -1.0, t_start = now_s(), t_train = 0.0, t_eval = 0.0;
    metrics val_best, test;
    irl_state irl;

    memset(&irl, 0, sizeof irl);

    if (parse_args(argc, argv, &o) != 0) return 2;
    if (mkdir_p(o.out) != 0) {
        fprintf(stderr, "lightgcn_train: cannot create %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = o.threads;
    cs.log = o.lib_log > 0 ? lib_log : NULL;
    cs.log_level = o.lib_log;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot create a context\n");
        return 1;
    }
    data_dir = o.data;
    if (data_dir == NULL) {
        irllrec_x_synth_spec ss;
        irllrec_x_synth_spec_init(&ss, sizeof ss);
        snprintf(synth_dir, sizeof synth_dir, "%s/synthetic-data", o.out);
        if (mkdir_p(synth_dir) != 0 || irllrec_x_synth_write(ctx, &ss, synth_dir) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: cannot write synthetic data: %s\n",
                    irllrec_ctx_errmsg(ctx));
            goto done;
        }
        fprintf(stderr, "lightgcn_train: no --data: training on SYNTHETIC data written to %s\n",
                synth_dir);
        data_dir = synth_dir;
    }
    if (irllrec_x_dataset_load(ctx, data_dir, &ds) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &train);
    lgcn_spec_init(&ls);
    ls.n_users = irllrec_x_dataset_n_users(ds);
    ls.n_items = irllrec_x_dataset_n_items(ds);
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
    if (o.irllrec) {
        if (resolve_text(&o, data_dir, &irl) != 0 ||
            load_text(ctx, &irl, ls.n_users, ls.n_items) != 0)
            goto done;
        if (lgcn_irl_create(ctx, m, &train, &o.hc, text_mat(&irl, 0), text_mat(&irl, 1),
                            text_mat(&irl, 2), text_mat(&irl, 3), &irl.x) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: IRLLRec hook: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
    }
    if (irllrec_x_sampler_create(ctx, ds, o.seed, &sp) != IRLLREC_OK ||
        irllrec_evaluator_create(ctx, ls.n_items, KS, 3, &ev) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
        goto done;
    }
    n_pairs = irllrec_x_sampler_epoch_size(sp);
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
    if (o.resume != NULL && resume_from(&o, ctx, m, opt, sp, &irl, best, &first_epoch,
                                        &best_epoch, &since_best, &n_evals, &best_recall) != 0)
        goto done;
    epochs_run = first_epoch;
    log = fopen(path, o.resume != NULL ? "a" : "w");
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
    if (irl.x != NULL) {
        fprintf(stderr, "lightgcn_train: IRLLRec on: {");
        json_hook_config(stderr, &o, &irl);
        fprintf(stderr, "}\n");
    } else {
        fprintf(stderr, "lightgcn_train: IRLLRec off (plain LightGCN)\n");
    }

    for (int epoch = first_epoch; epoch < o.epochs; epoch++) {
        double t0 = now_s(), sum_bpr = 0.0, sum_reg = 0.0, secs;
        irllrec_hook_losses hsum;
        int64_t n_batches = 0;
        memset(&hsum, 0, sizeof hsum);
        if (irllrec_x_sampler_epoch(sp, users, pos, neg, n_pairs) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
        for (int64_t s = 0; s < n_pairs; s += o.batch) {
            int64_t b = n_pairs - s < o.batch ? n_pairs - s : o.batch;
            double bpr, reg;
            irllrec_status st;
            if (irl.x == NULL) {
                st = lgcn_train_step(m, opt, users + s, pos + s, neg + s, b, &bpr, &reg);
            } else {
                lgcn_irl_losses il;
                st = lgcn_irl_train_step(irl.x, opt, users + s, pos + s, neg + s, b, &il);
                bpr = il.bpr;
                reg = il.reg;
                hsum.total += il.hook.total;
                hsum.kd += il.hook.kd;
                hsum.pair += il.hook.pair;
                hsum.tran += il.hook.tran;
                hsum.itm += il.hook.itm;
                hsum.reg += il.hook.reg;
            }
            if (st != IRLLREC_OK) {
                fprintf(stderr, "lightgcn_train: epoch %d: training step failed (%s)%s%s\n", epoch,
                        irllrec_status_str(st), irl.x ? ": " : "",
                        irl.x ? irllrec_ctx_errmsg(ctx) : "");
                goto done;
            }
            sum_bpr += bpr;
            sum_reg += reg;
            n_batches++;
        }
        secs = now_s() - t0;
        t_train += secs;
        epochs_run = epoch + 1;
        {
            double nb = (double)n_batches;
            hsum.total /= nb;
            hsum.kd /= nb;
            hsum.pair /= nb;
            hsum.tran /= nb;
            hsum.itm /= nb;
            hsum.reg /= nb;
        }
        if (!o.quiet && irl.x == NULL)
            fprintf(stderr, "epoch %4d  loss %.6f (bpr %.6f reg %.6f)  %.3f s\n", epoch,
                    (sum_bpr + sum_reg) / (double)n_batches, sum_bpr / (double)n_batches,
                    sum_reg / (double)n_batches, secs);
        if (!o.quiet && irl.x != NULL)
            fprintf(stderr,
                    "epoch %4d  loss %.6f (bpr %.6f reg %.3g | hook %.6f: kd %.4f pair %.4f "
                    "tran %.4f itm %.4f hreg %.3g)  %.3f s\n",
                    epoch, (sum_bpr + sum_reg) / (double)n_batches + hsum.total,
                    sum_bpr / (double)n_batches, sum_reg / (double)n_batches, hsum.total, hsum.kd,
                    hsum.pair, hsum.tran, hsum.itm, hsum.reg, secs);
        fprintf(log, "{\"epoch\": %d, \"split\": \"train\", \"loss\": %.6f, \"bpr\": %.6f, "
                     "\"reg\": %.6g, ",
                epoch, (sum_bpr + sum_reg) / (double)n_batches + hsum.total,
                sum_bpr / (double)n_batches, sum_reg / (double)n_batches);
        if (irl.x != NULL)
            fprintf(log, "\"hook\": {\"total\": %.6g, \"kd\": %.6g, \"pair\": %.6g, "
                         "\"tran\": %.6g, \"itm\": %.6g, \"reg\": %.6g}, ",
                    hsum.total, hsum.kd, hsum.pair, hsum.tran, hsum.itm, hsum.reg);
        fprintf(log, "\"epoch_seconds\": %.4f}\n", secs);
        fflush(log); /* a plot of a running job sees every finished epoch */
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
            fprintf(log, ", \"loss\": %.6f, \"bpr\": %.6f, \"reg\": %.6g, ",
                    (sum_bpr + sum_reg) / (double)n_batches + hsum.total,
                    sum_bpr / (double)n_batches, sum_reg / (double)n_batches);
            if (irl.x != NULL)
                fprintf(log, "\"hook\": {\"total\": %.6g, \"kd\": %.6g, \"pair\": %.6g, "
                             "\"tran\": %.6g, \"itm\": %.6g, \"reg\": %.6g}, ",
                        hsum.total, hsum.kd, hsum.pair, hsum.tran, hsum.itm, hsum.reg);
            fprintf(log, "\"epoch_seconds\": %.4f, \"eval_seconds\": %.4f, \"best\": %s}\n",
                    secs, r.seconds, improved ? "true" : "false");
            fflush(log);
            if (!o.quiet)
                fprintf(stderr,
                        "  val  R@5 %.4f R@10 %.4f R@20 %.4f  N@5 %.4f N@10 %.4f N@20 %.4f  "
                        "(%.2f s)%s\n",
                        r.recall[0], r.recall[1], r.recall[2], r.ndcg[0], r.ndcg[1], r.ndcg[2],
                        r.seconds, improved ? "  *best" : "");
            if (since_best >= o.patience) break;
        }
        if (o.save_every > 0 && (epoch + 1) % o.save_every == 0 &&
            save_checkpoint(&o, ctx, m, opt, sp, &irl, best, epoch, best_epoch, since_best,
                            n_evals, best_recall) != 0)
            goto done;
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
        fprintf(f, "\"config\": {\"dim\": %d, \"layers\": %d, \"lr\": %.9g, \"batch\": %d, "
                   "\"reg\": %.9g, \"keep\": %.9g, \"epochs\": %d, \"eval_step\": %d, "
                   "\"patience\": %d}, \"irllrec\": ",
                o.dim, o.layers, o.lr, o.batch, o.reg, o.keep, o.epochs, o.eval_step, o.patience);
        if (irl.x != NULL) {
            fprintf(f, "{");
            json_hook_config(f, &o, &irl);
            fprintf(f, "}, ");
        } else {
            fprintf(f, "null, ");
        }
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
    irllrec_x_sampler_free(sp);
    irl_state_free(&irl);
    lgcn_opt_free(opt);
    lgcn_free(m);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    return rc;
}
