/* lightgcn_train: train the LightGCN host on a LightGCN-format data folder
 * (or, with no --data, on freshly generated SYNTHETIC data), with the
 * reference protocol of docs/evaluation.md: validate every eval_step epochs
 * (epochs 0, 3, 6, ...), keep the parameters with the best validation
 * Recall@20 (strictly greater), stop after `patience` evaluations without
 * improvement, report TEST at the kept parameters.
 *
 * Output folder: log.jsonl (one JSON object per epoch with its mean training
 * losses, one per evaluation, and the final test), result.json, user_emb.npy / item_emb.npy (E_final at the best
 * validation parameters), user_emb0.npy / item_emb0.npy (E(0) there) and
 * model.irlm, the serving model of those parameters (serving.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "hosts.h"
#include "checkpoint.h"
#include "train_args.h"
#include "serving.h"

static const char *const TEXT_FILE[4] = {"usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy"};

static const int32_t KS[3] = {5, 10, 20};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

/* Remove a tree this run created (no symlinks followed). */
static void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        char sub[4096];
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub) rm_tree(sub);
        }
        if (d != NULL) closedir(d);
        (void)rmdir(path);
    } else {
        (void)remove(path);
    }
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

/* ---- per-epoch losses ---------------------------------------------------- */

/* Sums over the epoch's batches, then means (sums_mean). */
typedef struct epoch_sums {
    double bpr, reg, cl;
    irllrec_hook_losses h;
    int64_t n;
    int has_cl; /* the backbone has a contrastive loss (sgl, simgcl) */
} epoch_sums;

static void sums_add(epoch_sums *e, const lgcn_host_losses *l)
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

static void sums_mean(epoch_sums *e, int32_t model)
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

static double sums_total(const epoch_sums *e) { return e->bpr + e->reg + e->cl + e->h.total; }

static void print_epoch(const epoch_sums *e, int epoch, int irl, double secs)
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

/* The loss members of a log.jsonl line (each followed by ", "). */
static void json_losses(FILE *f, const epoch_sums *e, int irl)
{
    fprintf(f, "\"loss\": %.6f, \"bpr\": %.6f, \"reg\": %.6g, ", sums_total(e), e->bpr,
            e->reg);
    if (e->has_cl) fprintf(f, "\"cl\": %.6g, ", e->cl);
    if (irl)
        fprintf(f, "\"hook\": {\"total\": %.6g, \"kd\": %.6g, \"pair\": %.6g, "
                   "\"tran\": %.6g, \"itm\": %.6g, \"reg\": %.6g}, ",
                e->h.total, e->h.kd, e->h.pair, e->h.tran, e->h.itm, e->h.reg);
}

/* ---- IRLLRec ------------------------------------------------------------- */

typedef struct irl_state {
    lgcn_irl *x;
    float *text[4];
    char path[4][4096];
    int64_t rows[4], cols[4];
    uint64_t data_fp, text_fp; /* fingerprints for checkpoints (checkpoint.h) */
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
                fprintf(stderr, "lightgcn_train: %s %s: no such file\n", LGCN_TEXT_FLAG[w], o->text[w]);
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
                LGCN_TEXT_FLAG[2 * pr], a[0] ? a : "missing", LGCN_TEXT_FLAG[2 * pr + 1],
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

/* Text embeddings that carry nothing are reported (ctx.h: empty text rows
 * are a warning): rows that are all zero (a failed embedding job writes
 * zeros), and --irllrec with no text at all (every term of the hook off). */
static void warn_text(const irl_state *s)
{
    int any = 0;
    for (int w = 0; w < 4; w++) {
        int64_t zero = 0;
        if (s->text[w] == NULL) continue;
        any = 1;
        for (int64_t r = 0; r < s->rows[w]; r++) {
            const float *row = s->text[w] + r * s->cols[w];
            int64_t c = 0;
            while (c < s->cols[w] && row[c] == 0.0f) c++;
            zero += c == s->cols[w];
        }
        if (zero == s->rows[w])
            fprintf(stderr, "lightgcn_train: warning: %s %s: all %lld rows are zero (a failed "
                            "embedding job?): its terms learn nothing from text\n",
                    LGCN_TEXT_FLAG[w], s->path[w], (long long)zero);
        else if (zero > 0)
            fprintf(stderr, "lightgcn_train: warning: %s %s: %lld of %lld rows are all zero "
                            "(empty text rows)\n",
                    LGCN_TEXT_FLAG[w], s->path[w], (long long)zero, (long long)s->rows[w]);
    }
    if (!any)
        fprintf(stderr, "lightgcn_train: warning: --irllrec without any text embeddings (no "
                        "--usr-prf/--itm-prf/--usr-int/--itm-int, none in the data folder): the "
                        "hook's terms are all off, this trains plain LightGCN\n");
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

static lgcn_ckpt_cfg ckpt_cfg(const opts *o, const irl_state *irl)
{
    lgcn_ckpt_cfg c = {o->batch, o->seed, o->lr, o->reg, o->keep, o->irllrec, irl->data_fp,
                       irl->text_fp, o->model, 0.0, 0.0, 0.0};
    if (o->model == LGCN_MODEL_SGL || o->model == LGCN_MODEL_SIMGCL) {
        c.cl_weight = o->cl_weight;
        c.cl_tau = o->cl_tau;
    }
    if (o->model == LGCN_MODEL_SIMGCL) c.eps = o->eps;
    return c;
}

/* FNV-1a 64 of the TRAIN split: its shape and user -> items CSR. */
static uint64_t train_fingerprint(const irllrec_x_dataset *ds)
{
    irllrec_csr c;
    int64_t shape[2] = {irllrec_x_dataset_n_users(ds), irllrec_x_dataset_n_items(ds)};
    uint64_t h = lgcn_ckpt_fnv1a(LGCN_FNV1A_INIT, shape, sizeof shape);
    irllrec_x_dataset_user_items(ds, IRLLREC_SPLIT_TRAIN, &c);
    h = lgcn_ckpt_fnv1a(h, c.indptr, (size_t)(c.n_rows + 1) * sizeof(int64_t));
    return lgcn_ckpt_fnv1a(h, c.indices, (size_t)c.nnz * sizeof(int32_t));
}

/* FNV-1a 64 of the text embeddings the hook got (which matrix, shape, floats). */
static uint64_t text_fingerprint(const irl_state *s)
{
    uint64_t h = LGCN_FNV1A_INIT;
    for (int w = 0; w < 4; w++) {
        int64_t shape[3] = {w, s->text[w] ? s->rows[w] : 0, s->text[w] ? s->cols[w] : 0};
        h = lgcn_ckpt_fnv1a(h, shape, sizeof shape);
        if (s->text[w])
            h = lgcn_ckpt_fnv1a(h, s->text[w], (size_t)(s->rows[w] * s->cols[w]) * sizeof(float));
    }
    return h;
}

/* --resume with hook flags: the checkpoint's hook settings are restored with
 * its state; a flag given on this command line must equal them, or the
 * resume is refused naming every differing flag and both values (docs/
 * lightgcn.md, "Checkpoints"). */
static int check_hook_flags(const opts *o, const irl_state *irl)
{
    static const struct {
        const char *flag;
        size_t off;
        irllrec_hook_param p;
    } F[] = {{"--w-kd", offsetof(lgcn_irl_cfg, w_kd), IRLLREC_HOOK_W_KD},
             {"--tau-kd", offsetof(lgcn_irl_cfg, tau_kd), IRLLREC_HOOK_TAU_KD},
             {"--w-pair", offsetof(lgcn_irl_cfg, w_pair), IRLLREC_HOOK_W_PAIR},
             {"--tau-pair", offsetof(lgcn_irl_cfg, tau_pair), IRLLREC_HOOK_TAU_PAIR},
             {"--w-tran", offsetof(lgcn_irl_cfg, w_tran), IRLLREC_HOOK_W_TRAN},
             {"--w-itm", offsetof(lgcn_irl_cfg, w_itm), IRLLREC_HOOK_W_ITM},
             {"--itm-alpha", offsetof(lgcn_irl_cfg, itm_alpha), IRLLREC_HOOK_ITM_ALPHA},
             {"--momentum", offsetof(lgcn_irl_cfg, momentum), IRLLREC_HOOK_MOMENTUM},
             {"--hook-lr", offsetof(lgcn_irl_cfg, lr), IRLLREC_HOOK_LR},
             {"--hook-reg", offsetof(lgcn_irl_cfg, reg), IRLLREC_HOOK_REG}};
    irllrec_hook *h;
    int bad = 0;
    if (irl->x == NULL) return 0;
    h = lgcn_irl_hook(irl->x);
    for (size_t k = 0; k < sizeof F / sizeof F[0]; k++) {
        double given, saved = 0.0;
        memcpy(&given, (const char *)&o->hc + F[k].off, sizeof given);
        if (isnan(given)) continue;
        if (irllrec_hook_get_param(h, F[k].p, &saved) != IRLLREC_OK) continue;
        if (memcmp(&given, &saved, sizeof given) != 0) {
            fprintf(stderr, "lightgcn_train: --resume %s: %s %.17g differs from the checkpoint's "
                            "%.17g\n", o->resume, F[k].flag, given, saved);
            bad = 1;
        }
    }
    if (o->hc.tran_mode >= 0 || o->hc.tran_samples > 0) {
        double mode = 0.0, samples = 0.0;
        irllrec_hook_get_param(h, IRLLREC_HOOK_TRAN_MODE, &mode);
        irllrec_hook_get_param(h, IRLLREC_HOOK_TRAN_SAMPLES, &samples);
        if (o->hc.tran_mode >= 0 && (double)o->hc.tran_mode != mode) {
            fprintf(stderr, "lightgcn_train: --resume %s: --tran-mode %s differs from the "
                            "checkpoint's %s\n", o->resume,
                    o->hc.tran_mode ? "sampled" : "exact", mode != 0.0 ? "sampled" : "exact");
            bad = 1;
        }
        if (o->hc.tran_samples > 0 && (double)o->hc.tran_samples != samples) {
            fprintf(stderr, "lightgcn_train: --resume %s: --tran-samples %lld differs from the "
                            "checkpoint's %.17g\n", o->resume, (long long)o->hc.tran_samples, samples);
            bad = 1;
        }
    }
    if (bad)
        fprintf(stderr, "lightgcn_train: refusing to resume with changed hook settings (drop the "
                        "flags to keep the checkpoint's, or start a new run)\n");
    return bad ? -1 : 0;
}

static int save_checkpoint(const opts *o, irllrec_ctx *ctx, lgcn *m, lgcn_opt *opt,
                           irllrec_x_sampler *sp, irl_state *irl, float *best, int epoch,
                           int best_epoch, int since_best, int n_evals, double best_recall)
{
    char p[4096], err[1024] = "";
    const lgcn_ckpt_cfg c = ckpt_cfg(o, irl);
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
    const lgcn_ckpt_cfg c = ckpt_cfg(o, irl);
    lgcn_ckpt_loop lp = {0, -1, 0, 0, -1.0, best};
    if (lgcn_ckpt_load(ctx, o->resume, &c, m, opt, sp, irl->x ? lgcn_irl_hook(irl->x) : NULL,
                       &lp, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot resume from %s: %s\n", o->resume, err);
        return -1;
    }
    if (check_hook_flags(o, irl) != 0) return -1;
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
    lgcn_host *host = NULL;
    lgcn_host_cfg hcfg;
    lgcn_spec ls;
    irllrec_csr train;
    int32_t *users = NULL, *pos = NULL, *neg = NULL;
    float *best = NULL;
    lgcn_hook_snap *best_hook = NULL; /* the hook's trainable blocks at the best epoch */
    int64_t n_pairs, nd;
    char err[512] = "", path[4096], synth_dir[4096];
    const char *data_dir;
    FILE *log = NULL;
    int created_out = 0, created_log = 0, created_synth = 0, started = 0;
    int rc = 1, best_epoch = -1, since_best = 0, epochs_run = 0, n_evals = 0, first_epoch = 0;
    double best_recall = -1.0, t_start = now_s(), t_train = 0.0, t_eval = 0.0;
    metrics val_best, test;
    irl_state irl;

    memset(&irl, 0, sizeof irl);

    {
        int pr = lgcn_train_parse_args(argc, argv, &o, stdout, stderr);
        if (pr != 0) return pr == 1 ? 0 : 2;
    }
    snprintf(path, sizeof path, "%s/checkpoint.irlm", o.out);
    if (o.resume == NULL && !o.overwrite && access(path, F_OK) == 0) {
        fprintf(stderr,
                "lightgcn_train: %s holds a checkpoint of an earlier run (%s); refusing to "
                "replace it and its log.jsonl: continue it with --resume %s, choose another "
                "--out, or pass --overwrite\n", o.out, path, path);
        return 2;
    }
    created_out = access(o.out, F_OK) != 0;
    snprintf(path, sizeof path, "%s/log.jsonl", o.out);
    created_log = access(path, F_OK) != 0;
    if (mkdir_p(o.out) != 0) {
        fprintf(stderr, "lightgcn_train: cannot create %s: %s\n", o.out, strerror(errno));
        return 1;
    }
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = o.threads;
    cs.log = o.lib_log > 0 ? lib_log : NULL;
    cs.log_level = o.lib_log;
    if (irllrec_ctx_create(&cs, &ctx) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: cannot create a context with %d threads\n", o.threads);
        goto done;
    }
    data_dir = o.data;
    if (data_dir == NULL) {
        irllrec_x_synth_spec ss;
        irllrec_x_synth_spec_init(&ss, sizeof ss);
        snprintf(synth_dir, sizeof synth_dir, "%s/synthetic-data", o.out);
        created_synth = access(synth_dir, F_OK) != 0;
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
    irl.data_fp = train_fingerprint(ds);
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
    hcfg.model = o.model;
    hcfg.cl_weight = o.cl_weight;
    hcfg.cl_tau = o.cl_tau;
    hcfg.eps = o.eps;
    hcfg.max_batch = o.batch;
    hcfg.seed = o.seed;
    if (lgcn_host_create(ctx, m, &hcfg, &host, err, sizeof err) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: --model %s: %s\n", lgcn_model_name(o.model), err);
        goto done;
    }
    if (o.irllrec) {
        if (resolve_text(&o, data_dir, &irl) != 0 ||
            load_text(ctx, &irl, ls.n_users, ls.n_items) != 0)
            goto done;
        warn_text(&irl);
        irl.text_fp = text_fingerprint(&irl);
        if (lgcn_irl_create(ctx, m, &o.hc, text_mat(&irl, 0), text_mat(&irl, 1),
                            text_mat(&irl, 2), text_mat(&irl, 3), &irl.x) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: IRLLRec hook: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
        if (o.hc.text_precision == IRLLREC_HOOK_TEXT_BF16) {
            int32_t prec = 0;
            irllrec_hook_get_text_precision(lgcn_irl_hook(irl.x), &prec);
            fprintf(stderr, "lightgcn_train: text towers: %s (%s)\n",
                    prec == IRLLREC_HOOK_TEXT_BF16 ? "bf16" : "fp32", irllrec_text_bf16_backend());
        }
        /* The graph-free host gets translation and ITM only when asked for
         * (the hook's default keeps them to graph hosts, as the authors do). */
        if (o.model == LGCN_MODEL_MF && (!isnan(o.hc.w_tran) || !isnan(o.hc.w_itm)) &&
            irllrec_hook_set_param(lgcn_irl_hook(irl.x), IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0.0) !=
                IRLLREC_OK) {
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
    fprintf(stderr, "lightgcn_train: model %s", lgcn_model_name(o.model));
    if (o.model == LGCN_MODEL_SGL || o.model == LGCN_MODEL_SIMGCL)
        fprintf(stderr, " (dataset config %s: cl_weight %g, cl_tau %g%s%g)",
                LGCN_DATASET_CFG_NAME[o.dataset_cfg], o.cl_weight, o.cl_tau,
                o.model == LGCN_MODEL_SGL ? ", view keep " : ", eps ",
                o.model == LGCN_MODEL_SGL ? o.view_keep : o.eps);
    fprintf(stderr, "\n");
    if (irl.x != NULL) {
        fprintf(stderr, "lightgcn_train: IRLLRec on: {");
        json_hook_config(stderr, &o, &irl);
        fprintf(stderr, "}\n");
    } else {
        fprintf(stderr, "lightgcn_train: IRLLRec off (plain %s)\n", lgcn_model_name(o.model));
    }

    started = 1; /* from here on a failure keeps what the run wrote */
    for (int epoch = first_epoch; epoch < o.epochs; epoch++) {
        double t0 = now_s(), secs;
        epoch_sums es;
        memset(&es, 0, sizeof es);
        if (irllrec_x_sampler_epoch(sp, users, pos, neg, n_pairs) != IRLLREC_OK) {
            fprintf(stderr, "lightgcn_train: %s\n", irllrec_ctx_errmsg(ctx));
            goto done;
        }
        for (int64_t s = 0; s < n_pairs; s += o.batch) {
            int64_t b = n_pairs - s < o.batch ? n_pairs - s : o.batch;
            lgcn_host_losses il;
            irllrec_status st;
            irllrec_ctx_clear_error(ctx);
            st = lgcn_host_train_step(host, irl.x, opt, users + s, pos + s, neg + s, b, &il);
            if (st != IRLLREC_OK) {
                fprintf(stderr, "lightgcn_train: epoch %d: training step failed (%s): %s\n",
                        epoch, irllrec_status_str(st),
                        irllrec_ctx_errcode(ctx) != IRLLREC_OK ? irllrec_ctx_errmsg(ctx)
                                                               : "a non-finite loss");
                goto done;
            }
            sums_add(&es, &il);
        }
        secs = now_s() - t0;
        t_train += secs;
        epochs_run = epoch + 1;
        sums_mean(&es, o.model);
        if (!o.quiet) print_epoch(&es, epoch, irl.x != NULL, secs);
        fprintf(log, "{\"epoch\": %d, \"split\": \"train\", ", epoch);
        json_losses(log, &es, irl.x != NULL);
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
                if (irl.x != NULL && lgcn_hook_snap_take(&best_hook, lgcn_irl_hook(irl.x)) != 0)
                    goto done;
            } else {
                since_best++;
            }
            fprintf(log, "{\"epoch\": %d, \"split\": \"val\", ", epoch);
            json_metrics(log, &r);
            fprintf(log, ", ");
            json_losses(log, &es, irl.x != NULL);
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
            save_npy(ctx, o.out, "item_emb0.npy", best + U * d, I, d) ||
            lgcn_serving_write(ctx, o.out, m, &train, irl.x ? lgcn_irl_hook(irl.x) : NULL,
                               best_hook) != 0)
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
        fprintf(f, "\"config\": {\"model\": \"%s\", \"dataset_config\": \"%s\", ",
                lgcn_model_name(o.model), LGCN_DATASET_CFG_NAME[o.dataset_cfg]);
        if (o.model == LGCN_MODEL_SGL || o.model == LGCN_MODEL_SIMGCL)
            fprintf(f, "\"cl_weight\": %.9g, \"cl_tau\": %.9g, ", o.cl_weight, o.cl_tau);
        if (o.model == LGCN_MODEL_SGL) fprintf(f, "\"view_keep\": %.9g, ", o.view_keep);
        if (o.model == LGCN_MODEL_SIMGCL) fprintf(f, "\"eps\": %.9g, ", o.eps);
        fprintf(f, "\"dim\": %d, \"layers\": %d, \"lr\": %.9g, \"batch\": %d, "
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
    lgcn_hook_snap_free(best_hook);
    irllrec_evaluator_free(ev);
    irllrec_x_sampler_free(sp);
    irl_state_free(&irl);
    lgcn_host_free(host);
    lgcn_opt_free(opt);
    lgcn_free(m);
    irllrec_x_dataset_free(ds);
    irllrec_ctx_free(ctx);
    if (rc != 0 && !started) {
        /* A run that failed before training removes what it created (and
         * only that): the folder when it made it, else its log and data. */
        if (created_out) {
            rm_tree(o.out);
        } else {
            snprintf(path, sizeof path, "%s/log.jsonl", o.out);
            if (created_log) (void)remove(path);
            if (created_synth) rm_tree(synth_dir);
        }
    }
    return rc;
}
