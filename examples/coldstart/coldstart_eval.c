/* coldstart_eval: rank the cold items of an item cold-start split for every
 * user with each method, score against the held-out cold positives, JSON out.
 *
 *   coldstart_eval --data DIR --run DIR --ckpt FILE --cold DIR --pop FILE --out FILE
 *                  [--draws 10]
 *
 * DIR (--data): the dataset the trainer read (split and the four text .npy).
 * --run: the trainer's OUT (user_emb.npy, item_emb.npy); --ckpt: its
 * checkpoint.irlm (hook state, best E(0)). --cold: cold_items.txt,
 * cold_test.txt, cold_all.txt (scripts/coldstart/make_split.py). --pop: one
 * score per item id (the metadata popularity of scripts/coldstart/run.py).
 * Candidates are the cold items only; nothing is masked (they have no train
 * pair). Ties: lower id first (irllrec_rank). */
#include "cs_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOPK 20

typedef struct args {
    const char *data, *run, *ckpt, *cold, *pop, *out;
    int32_t draws;
} args;

typedef struct cold_ctx {
    cs_model cm;
    int32_t *cold;       /* C cold item ids, ascending */
    int64_t C;
    cs_rows truth[3];    /* cold_test, cold_all, cold_val */
    int32_t *ids;        /* U x TOPK */
    double *per_user;    /* U x CS_KS recall values of the last scoring */
    FILE *f;
    int n_written;
} cold_ctx;

/* "val": the removed VAL pairs with cold items, where the tower rule is chosen. */
#define N_PROTOCOL 3
static const char *const PROTOCOL[N_PROTOCOL] = {"test", "all", "val"};

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->draws = 10;
    for (int k = 1; k + 1 < argc; k += 2) {
        const char *f = argv[k], *v = argv[k + 1];
        if (!strcmp(f, "--data")) a->data = v;
        else if (!strcmp(f, "--run")) a->run = v;
        else if (!strcmp(f, "--ckpt")) a->ckpt = v;
        else if (!strcmp(f, "--cold")) a->cold = v;
        else if (!strcmp(f, "--pop")) a->pop = v;
        else if (!strcmp(f, "--out")) a->out = v;
        else if (!strcmp(f, "--draws")) a->draws = atoi(v);
        else return -1;
    }
    if (argc % 2 == 0) return -1;
    return (a->data && a->run && a->ckpt && a->cold && a->pop && a->out && a->draws > 0) ? 0
                                                                                          : -1;
}

/* Rows @p rows of an n x d matrix, gathered densely. */
static float *gather(const float *x, int64_t d, const int32_t *rows, int64_t n)
{
    float *g = (float *)malloc((size_t)(n * d) * sizeof(float));
    for (int64_t r = 0; g && r < n; r++)
        memcpy(g + r * d, x + (int64_t)rows[r] * d, (size_t)d * sizeof(float));
    return g;
}

/* Write one method's metrics for both protocols from x->ids (cold item ids),
 * and each evaluated user's Recall@20 (users in id order) for paired tests. */
static void emit(cold_ctx *x, const char *name)
{
    fprintf(x->f, "%s\n  \"%s\": {", x->n_written++ ? "," : "", name);
    for (int p = 0; p < N_PROTOCOL; p++) {
        cs_metrics m;
        const cs_rows *t = &x->truth[p];
        cs_score(x->ids, TOPK, t, &m, x->per_user);
        if (p) fprintf(x->f, ", ");
        cs_json_metrics(x->f, PROTOCOL[p], &m);
        fprintf(x->f, ", \"%s_user_r20\": [", PROTOCOL[p]);
        for (int64_t u = 0, n = 0; u < x->cm.U; u++)
            if (t->indptr[u + 1] > t->indptr[u])
                fprintf(x->f, "%s%.4f", n++ ? ", " : "", x->per_user[u * CS_KS + CS_KS - 1]);
        fprintf(x->f, "]");
    }
    fprintf(x->f, "}");
    fprintf(stderr, "coldstart_eval: %-34s done\n", name);
}

/* Rank the C candidates for all U queries; ids mapped to cold item ids. */
static int rank_cold(cold_ctx *x, const float *q, const float *cand, int64_t d, uint32_t flags)
{
    irllrec_rank_opts o;
    irllrec_status st;
    irllrec_rank_opts_init(&o, sizeof o);
    o.flags = flags;
    st = irllrec_rank(x->cm.ctx, irllrec_cmat_dense(q, x->cm.U, d),
                      irllrec_cmat_dense(cand, x->C, d), TOPK, &o, x->ids, NULL, NULL);
    if (st != IRLLREC_OK) return cs_fail(&x->cm, "irllrec_rank", st);
    for (int64_t k = 0; k < x->cm.U * TOPK; k++)
        if (x->ids[k] >= 0) x->ids[k] = x->cold[x->ids[k]];
    return 0;
}

static int method_dot(cold_ctx *x, const char *name, const float *q, const float *cand,
                      int64_t d, uint32_t flags)
{
    if (rank_cold(x, q, cand, d, flags) != 0) return -1;
    emit(x, name);
    return 0;
}

/* Random: the exact expectation, and the mean of @p draws seeded shuffles. */
static int method_random(cold_ctx *x, int32_t draws)
{
    int32_t *perm = (int32_t *)malloc((size_t)x->C * sizeof(int32_t));
    uint64_t s = 2025;
    fprintf(x->f, "%s\n  \"random (expected value)\": {", x->n_written++ ? "," : "");
    for (int p = 0; p < N_PROTOCOL; p++) {
        cs_metrics m;
        cs_score_random_expectation(x->C, &x->truth[p], &m);
        if (p) fprintf(x->f, ", ");
        cs_json_metrics(x->f, PROTOCOL[p], &m);
    }
    fprintf(x->f, "}");
    if (perm == NULL) return -1;
    fprintf(x->f, ",\n  \"random (mean of %d draws)\": {", draws);
    for (int p = 0; p < N_PROTOCOL; p++) {
        cs_metrics sum, m;
        memset(&sum, 0, sizeof sum);
        for (int32_t t = 0; t < draws; t++) {
            for (int64_t u = 0; u < x->cm.U; u++) {
                for (int64_t c = 0; c < x->C; c++) perm[c] = x->cold[c];
                for (int64_t c = 0; c < TOPK && c < x->C; c++) { /* partial Fisher-Yates */
                    int64_t j = c + cs_rand_below(&s, x->C - c);
                    int32_t tmp = perm[c];
                    perm[c] = perm[j];
                    perm[j] = tmp;
                }
                for (int64_t c = 0; c < TOPK; c++) x->ids[u * TOPK + c] = c < x->C ? perm[c] : -1;
            }
            cs_score(x->ids, TOPK, &x->truth[p], &m, NULL);
            for (int c = 0; c < CS_KS; c++) {
                sum.recall[c] += m.recall[c] / draws;
                sum.ndcg[c] += m.ndcg[c] / draws;
            }
            sum.n_users = m.n_users;
        }
        if (p) fprintf(x->f, ", ");
        cs_json_metrics(x->f, PROTOCOL[p], &sum);
    }
    fprintf(x->f, "}");
    free(perm);
    return 0;
}

/* Popularity from metadata: the same score for every user (a 1-d dot product). */
static int method_pop(cold_ctx *x, const char *path)
{
    float *pop = NULL, *cand, *one;
    int64_t n = cs_read_floats(path, &pop);
    int rc = -1;
    if (n != x->cm.I) {
        fprintf(stderr, "coldstart_eval: %s has %lld values, want %lld\n", path, (long long)n,
                (long long)x->cm.I);
        free(pop);
        return -1;
    }
    cand = gather(pop, 1, x->cold, x->C);
    one = (float *)malloc((size_t)x->cm.U * sizeof(float));
    if (cand && one) {
        for (int64_t u = 0; u < x->cm.U; u++) one[u] = 1.0f;
        rc = method_dot(x, "genre popularity (metadata)", one, cand, 1, 0);
    }
    free(pop);
    free(cand);
    free(one);
    return rc;
}

/* Content kNN: the user is the mean direction of its train items' text vectors. */
static float *mean_of_train_texts(const cs_model *cm, const float *t, int64_t D)
{
    float *q = (float *)calloc((size_t)(cm->U * D), sizeof(float));
    for (int64_t u = 0; q && u < cm->U; u++) {
        for (int64_t k = cm->train.indptr[u]; k < cm->train.indptr[u + 1]; k++) {
            const float *v = t + (int64_t)cm->train.indices[k] * D;
            double nn = 1e-8;
            for (int64_t c = 0; c < D; c++) nn += (double)v[c] * (double)v[c];
            nn = 1.0 / sqrt(nn);
            for (int64_t c = 0; c < D; c++) q[u * D + c] += (float)((double)v[c] * nn);
        }
    }
    return q;
}

static int methods_text(cold_ctx *x)
{
    cs_model *cm = &x->cm;
    static const char *const NN[2] = {"text NN: user profile vs item profile (raw)",
                                      "text NN: user intent vs item intent (raw)"};
    static const char *const KNN[2] = {"content kNN: user's train items, profile (raw)",
                                       "content kNN: user's train items, intent (raw)"};
    for (int s = 0; s < 2; s++) { /* s 0: profile (texts 0, 1), 1: intent (2, 3) */
        const int64_t D = cm->text_dim[2 * s + 1];
        float *cand = gather(cm->text[2 * s + 1], D, x->cold, x->C);
        float *q = mean_of_train_texts(cm, cm->text[2 * s + 1], D);
        int rc = (cand && q) ? 0 : -1;
        if (rc == 0) rc = method_dot(x, NN[s], cm->text[2 * s], cand, D, IRLLREC_RANK_COSINE);
        if (rc == 0) rc = method_dot(x, KNN[s], q, cand, D, IRLLREC_RANK_COSINE);
        free(cand);
        free(q);
        if (rc != 0) return -1;
    }
    return 0;
}

/* Rows @p rows of one side through one tower (irllrec_rec_embed_text with the
 * other text absent); use_profile 1: the profile tower. Texts: 0 usr_prf, 1
 * itm_prf, 2 usr_int, 3 itm_int. */
static float *tower_of(cold_ctx *x, int32_t side, int use_profile, const int32_t *rows,
                       int64_t n)
{
    cs_model *cm = &x->cm;
    const int w = (use_profile ? 0 : 2) + (side == IRLLREC_ITEMS);
    float *t = gather(cm->text[w], cm->text_dim[w], rows, n);
    float *e = (float *)malloc((size_t)(n * cm->d) * sizeof(float));
    irllrec_cmat tv = irllrec_cmat_dense(t, n, cm->text_dim[w]);
    irllrec_cmat none = irllrec_cmat_dense(NULL, 0, cm->text_dim[use_profile ? w + 2 : w - 2]);
    irllrec_status st = IRLLREC_E_NOMEM;
    if (t && e)
        st = irllrec_rec_embed_text(cm->rec, side, use_profile ? tv : none,
                                    use_profile ? none : tv, irllrec_mat_dense(e, n, cm->d));
    free(t);
    if (st == IRLLREC_OK) return e;
    cs_fail(cm, "irllrec_rec_embed_text", st);
    free(e);
    return NULL;
}

static float *tower_rows(cold_ctx *x, int use_profile)
{
    return tower_of(x, IRLLREC_ITEMS, use_profile, x->cold, x->C);
}

/* 0 .. n-1 */
static int32_t *iota(int64_t n)
{
    int32_t *r = (int32_t *)malloc((size_t)n * sizeof(int32_t));
    for (int64_t k = 0; r && k < n; k++) r[k] = (int32_t)k;
    return r;
}

/* Candidate rules that keep the cold items' intent-tower embeddings (ez) and
 * change only the user side: the users' own intent text through the tower, and
 * the mean direction of their train items' tower embeddings (content kNN in the
 * tower's space instead of the raw text space). Chosen or not on the cold VAL
 * pairs like the other tower rows. */
static int methods_tower_users(cold_ctx *x, const float *ez)
{
    cs_model *cm = &x->cm;
    int32_t *all_i = iota(cm->I), *all_u = iota(cm->U);
    float *zu = all_u ? tower_of(x, IRLLREC_USERS, 0, all_u, cm->U) : NULL;
    float *zi = all_i ? tower_of(x, IRLLREC_ITEMS, 0, all_i, cm->I) : NULL;
    float *q = zi ? mean_of_train_texts(cm, zi, cm->d) : NULL;
    int rc = (zu && q) ? 0 : -1;
    if (rc == 0)
        rc = method_dot(x, "IRLLRec intent tower, both sides (user text vs item text)", zu, ez,
                        cm->d, IRLLREC_RANK_COSINE);
    if (rc == 0)
        rc = method_dot(x, "IRLLRec intent tower kNN: user's train items", q, ez, cm->d,
                        IRLLREC_RANK_COSINE);
    free(q);
    q = mean_of_train_texts(cm, cm->iemb, cm->d);
    if (rc == 0) rc = q ? 0 : -1;
    if (rc == 0)
        rc = method_dot(x, "IRLLRec item kNN: user's train items' E_final", q, ez, cm->d,
                        IRLLREC_RANK_COSINE);
    free(all_i);
    free(all_u);
    free(zu);
    free(zi);
    free(q);
    return rc;
}

/* IRLLRec: the cold items through the text towers, scored with the trained user
 * embeddings: the profile tower, the direction of the sum of both (both towers have
 * the same output norm s, so this is their mean direction), and the intent tower,
 * which is the library's rule when intent text is given (chosen on the cold VAL
 * pairs, see docs/results-coldstart.md). */
static int methods_tower(cold_ctx *x, float **keep)
{
    const int64_t n = x->C * x->cm.d;
    float *ep = tower_rows(x, 1), *ez = tower_rows(x, 0);
    float *sum = (float *)malloc((size_t)n * sizeof(float));
    int rc = (ep && ez && sum) ? 0 : -1;
    if (rc == 0) rc = method_dot(x, "IRLLRec text tower (profile only)", x->cm.uemb, ep,
                                 x->cm.d, 0);
    if (rc == 0) rc = methods_tower_users(x, ez);
    for (int64_t k = 0; rc == 0 && k < n; k++) sum[k] = ez[k] + ep[k];
    if (rc == 0) rc = method_dot(x, "IRLLRec text towers (profile + intent, mean direction)",
                                 x->cm.uemb, sum, x->cm.d, IRLLREC_RANK_COSINE);
    /* last: check_add_from_text compares the library path with this ranking */
    if (rc == 0) rc = method_dot(x, "IRLLRec text tower (intent; the serving path)", x->cm.uemb,
                                 ez, x->cm.d, 0);
    free(ep);
    free(sum);
    if (rc == 0 && keep) *keep = ez;
    else free(ez);
    return rc;
}

/* The library path a server takes: add the cold items from text, recommend
 * among them; must give the lists of the embed_text ranking. Returns mismatches. */
static int64_t check_add_from_text(cold_ctx *x)
{
    cs_model *cm = &x->cm;
    float *p = gather(cm->text[1], cm->text_dim[1], x->cold, x->C);
    float *t = gather(cm->text[3], cm->text_dim[3], x->cold, x->C);
    int32_t *allow = (int32_t *)malloc((size_t)x->C * sizeof(int32_t));
    int32_t *ids = (int32_t *)malloc((size_t)(cm->U * TOPK) * sizeof(int32_t));
    int32_t *users = (int32_t *)malloc((size_t)cm->U * sizeof(int32_t));
    int32_t first = -1;
    int64_t bad = -1;
    irllrec_rank_opts o;
    irllrec_status st = IRLLREC_E_NOMEM;
    if (p && t && allow && ids && users)
        st = irllrec_rec_add_from_text(cm->rec, IRLLREC_ITEMS,
                                       irllrec_cmat_dense(p, x->C, cm->text_dim[1]),
                                       irllrec_cmat_dense(t, x->C, cm->text_dim[3]), &first);
    if (st == IRLLREC_OK) {
        for (int64_t c = 0; c < x->C; c++) allow[c] = first + (int32_t)c;
        for (int64_t u = 0; u < cm->U; u++) users[u] = (int32_t)u;
        irllrec_rank_opts_init(&o, sizeof o);
        o.allow = allow;
        o.n_allow = x->C;
        st = irllrec_rec_recommend(cm->rec, users, cm->U, TOPK, &o, ids, NULL, NULL);
    }
    if (st != IRLLREC_OK) cs_fail(cm, "add_from_text + recommend", st);
    else {
        bad = 0;
        for (int64_t k = 0; k < cm->U * TOPK; k++) {
            int32_t want = x->ids[k], got = ids[k] >= first ? x->cold[ids[k] - first] : -1;
            bad += want != got;
        }
    }
    free(p);
    free(t);
    free(allow);
    free(ids);
    free(users);
    return bad;
}

static int run_all(cold_ctx *x, const args *a)
{
    float *e_tower = NULL;
    float *ecold = gather(x->cm.iemb, x->cm.d, x->cold, x->C);
    int64_t bad;
    int rc = -1;
    if (ecold == NULL) return -1;
    fprintf(x->f, "{\"cold_items\": %lld, \"users\": %lld, \"methods\": {", (long long)x->C,
            (long long)x->cm.U);
    if (method_random(x, a->draws) == 0 && method_pop(x, a->pop) == 0 && methods_text(x) == 0 &&
        method_dot(x, "IRLLRec trained E_final of the cold item (diagnostic)", x->cm.uemb, ecold,
                   x->cm.d, 0) == 0 &&
        methods_tower(x, &e_tower) == 0) {
        bad = check_add_from_text(x);
        fprintf(x->f, "\n}, \"add_from_text_mismatches\": %lld", (long long)bad);
        fprintf(x->f, ", \"checkpoint_epoch\": %lld, \"best_epoch\": %lld, \"hook_steps\": %lld",
                (long long)x->cm.ck_epoch, (long long)x->cm.ck_best_epoch,
                (long long)x->cm.hook_steps);
        fprintf(x->f, ", \"max_final_diff\": %.3g}\n", x->cm.max_final_diff);
        rc = bad == 0 ? 0 : -1;
    }
    free(ecold);
    free(e_tower);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    cold_ctx x;
    char path[4096];
    int rc = 1;
    memset(&x, 0, sizeof x);
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: coldstart_eval --data DIR --run DIR --ckpt FILE --cold DIR "
                        "--pop FILE --out FILE [--draws N]\n");
        return 2;
    }
    if (cs_open(&x.cm, a.data, a.run, a.ckpt) != 0) goto out;
    snprintf(path, sizeof path, "%s/cold_items.txt", a.cold);
    x.C = cs_read_ints(path, &x.cold);
    for (int p = 0; p < N_PROTOCOL && x.C > 0; p++) {
        snprintf(path, sizeof path, "%s/cold_%s.txt", a.cold, PROTOCOL[p]);
        if (cs_rows_read(path, x.cm.U, x.cm.I, &x.truth[p]) != 0) goto out;
    }
    x.ids = (int32_t *)malloc((size_t)(x.cm.U * TOPK) * sizeof(int32_t));
    x.per_user = (double *)calloc((size_t)(x.cm.U * CS_KS), sizeof(double));
    x.f = fopen(a.out, "w");
    if (x.C <= 0 || x.ids == NULL || x.per_user == NULL || x.f == NULL) goto out;
    rc = run_all(&x, &a) == 0 ? 0 : 1;
out:
    if (x.f) fclose(x.f);
    if (rc != 0) fprintf(stderr, "coldstart_eval: failed\n");
    for (int p = 0; p < N_PROTOCOL; p++) cs_rows_free(&x.truth[p]);
    free(x.ids);
    free(x.per_user);
    free(x.cold);
    cs_close(&x.cm);
    return rc;
}
