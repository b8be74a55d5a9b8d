/* lightgcn_train with --irllrec (train_impl.h): the four text embeddings
 * (paths, loading, checks, fingerprint), the hook made from them, and its
 * settings as JSON. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "train_impl.h"
#include "checkpoint.h"

static const char *const TEXT_FILE[4] = {"usr_prf.npy", "itm_prf.npy", "usr_int.npy", "itm_int.npy"};

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
int lt_resolve_text(const opts *o, const char *data_dir, lt_irl_state *s, FILE *note)
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
        if (note != NULL)
            fprintf(note, "lightgcn_train: note: %s (%s: %s, %s: %s)\n", pair_terms[pr],
                    LGCN_TEXT_FLAG[2 * pr], a[0] ? a : "missing", LGCN_TEXT_FLAG[2 * pr + 1],
                    b[0] ? b : "missing");
        a[0] = b[0] = '\0';
    }
    return 0;
}

int lt_load_text(irllrec_ctx *ctx, lt_irl_state *s, int64_t U, int64_t I)
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
void lt_warn_text(const lt_irl_state *s)
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

static irllrec_mat text_mat(const lt_irl_state *s, int w)
{
    return irllrec_mat_dense(s->text[w], s->text[w] ? s->rows[w] : 0, s->text[w] ? s->cols[w] : 0);
}

int lt_make_hook(irllrec_ctx *ctx, lgcn *m, const opts *o, lt_irl_state *s,
                 const irllrec_collective *layer, FILE *note)
{
    /* --mpi-shard: a node-sharded hook, its layer fixed at create */
    lgcn_irl_cfg hc = o->hc;
    hc.shard = o->mpi_shard ? layer : NULL;
    if (lgcn_irl_create(ctx, m, &hc, text_mat(s, 0), text_mat(s, 1), text_mat(s, 2),
                        text_mat(s, 3), &s->x) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: IRLLRec hook: %s\n", irllrec_ctx_errmsg(ctx));
        return -1;
    }
    if (note != NULL && o->hc.text_precision == IRLLREC_HOOK_TEXT_BF16) {
        int32_t prec = 0;
        irllrec_hook_get_text_precision(lgcn_irl_hook(s->x), &prec);
        fprintf(note, "lightgcn_train: text towers: %s (%s)\n",
                prec == IRLLREC_HOOK_TEXT_BF16 ? "bf16" : "fp32", irllrec_text_bf16_backend());
    }
    /* The graph-free host gets translation and ITM only when asked for
     * (the hook's default keeps them to graph hosts, as the authors do). */
    if (o->model == LGCN_MODEL_MF && (!isnan(o->hc.w_tran) || !isnan(o->hc.w_itm)) &&
        irllrec_hook_set_param(lgcn_irl_hook(s->x), IRLLREC_HOOK_TRAN_ITM_NEED_GRAPH, 0.0) !=
            IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: IRLLRec hook: %s\n", irllrec_ctx_errmsg(ctx));
        return -1;
    }
    /* Several ranks: the hook averages its losses and gradients over them
     * (collective; checks that every rank's hook is rank 0's). */
    if (layer != NULL && !o->mpi_shard &&
        irllrec_hook_set_collective(lgcn_irl_hook(s->x), layer) != IRLLREC_OK) {
        fprintf(stderr, "lightgcn_train: IRLLRec hook over the ranks: %s\n",
                irllrec_ctx_errmsg(ctx));
        return -1;
    }
    return 0;
}

void lt_json_hook_config(FILE *f, const opts *o, const lt_irl_state *s)
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
            lt_json_str(f, s->path[w]);
            fprintf(f, ", \"%s_dim\": %lld, ", key[w], (long long)s->cols[w]);
        } else {
            fprintf(f, "null, ");
        }
    }
    {
        int32_t ap = 0;
        irllrec_hook_get_align_precision(h, &ap);
        fprintf(f, "\"align_precision\": \"%s\", ", lgcn_precision_name(ap));
    }
    fprintf(f, "\"hook_layers\": %d", o->layers);
}

void lt_irl_state_free(lt_irl_state *s)
{
    lgcn_irl_free(s->x);
    for (int w = 0; w < 4; w++) free(s->text[w]);
}

uint64_t lt_text_fingerprint(const lt_irl_state *s)
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
