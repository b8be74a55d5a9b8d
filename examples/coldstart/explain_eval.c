/* explain_eval: are explanations decorative? On a trained LightGCN + IRLLRec
 * model, for every user with TEST items, take the top-20 recommendations; for
 * each (user, item) pair remove the top shared intent (irllrec_rec_explain's
 * first) or a uniformly drawn other intent, the removal being that intent's
 * contribution to the score (serve.h: score = sum_k contribution_k +
 * residual). Also the intents' exemplars (irllrec_rec_intent_exemplars) for
 * the labels, JSON out.
 *
 *   explain_eval --data DIR --run DIR --ckpt FILE --out FILE [--labels N] [--top N]
 */
#include "cs_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOPK 20

typedef struct args {
    const char *data, *run, *ckpt, *out;
    int32_t labels, top;
} args;

/* Per-user means of one pair statistic set, then summed over users. */
enum { S_TOP, S_RAND, S_RAND_EXP, S_MAX, S_TOP_GT_RAND, S_TOP_GT_EXP, S_OUT_TOP, S_OUT_RAND,
       S_OUT_RAND_EXP, S_RANK_TOP, S_SCORE, S_RESID, S_REL_TOP, S_REL_RAND, N_STAT };
static const char *const STAT_NAME[N_STAT] = {
    "drop_top", "drop_random", "drop_random_expected", "drop_max", "frac_top_gt_random",
    "frac_top_gt_random_expected", "frac_leaves_top20_top", "frac_leaves_top20_random",
    "frac_leaves_top20_random_expected", "contribution_rank_of_top", "score", "residual",
    "rel_drop_top", "rel_drop_random"};

typedef struct ex_ctx {
    cs_model cm;
    int32_t *ids;            /* users x (TOPK + 1) */
    float *scores;
    int32_t *intents, *usage;
    double *shared, *contrib;
    double sum[N_STAT];
    int64_t n_users, n_pairs;
    uint64_t rng;
} ex_ctx;

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->labels = 8;
    a->top = 10;
    if (argc % 2 == 0) return -1;
    for (int k = 1; k + 1 < argc; k += 2) {
        const char *f = argv[k], *v = argv[k + 1];
        if (!strcmp(f, "--data")) a->data = v;
        else if (!strcmp(f, "--run")) a->run = v;
        else if (!strcmp(f, "--ckpt")) a->ckpt = v;
        else if (!strcmp(f, "--out")) a->out = v;
        else if (!strcmp(f, "--labels")) a->labels = atoi(v);
        else if (!strcmp(f, "--top")) a->top = atoi(v);
        else return -1;
    }
    return (a->data && a->run && a->ckpt && a->out && a->labels > 0 && a->top > 0) ? 0 : -1;
}

static int explain_pair(ex_ctx *x, int32_t u, int32_t i, irllrec_explanation *e)
{
    irllrec_status st;
    memset(e, 0, sizeof *e);
    e->struct_size = sizeof *e;
    e->intents = x->intents;
    e->shared = x->shared;
    e->contribution = x->contrib;
    st = irllrec_rec_explain(x->cm.rec, u, i, x->cm.K, e);
    return st == IRLLREC_OK ? 0 : cs_fail(&x->cm, "irllrec_rec_explain", st);
}

/* Statistics of one pair into acc; s21 is the score of the user's 21st item. */
static void pair_stats(ex_ctx *x, const irllrec_explanation *e, double s21, double *acc)
{
    const int32_t K = e->n;
    const double *c = x->contrib, sc = e->score;
    int64_t j = 1 + cs_rand_below(&x->rng, K - 1);
    double mean_other = 0.0, mx = c[0], gt_exp = 0.0, out_exp = 0.0;
    int32_t rank = 1;
    for (int32_t k = 1; k < K; k++) {
        mean_other += c[k] / (K - 1);
        gt_exp += (c[0] > c[k]) / (double)(K - 1);
        out_exp += (sc - c[k] < s21) / (double)(K - 1);
        if (c[k] > mx) mx = c[k];
        rank += c[k] > c[0];
    }
    acc[S_TOP] += c[0];
    acc[S_RAND] += c[j];
    acc[S_RAND_EXP] += mean_other;
    acc[S_MAX] += mx;
    acc[S_TOP_GT_RAND] += c[0] > c[j];
    acc[S_TOP_GT_EXP] += gt_exp;
    acc[S_OUT_TOP] += sc - c[0] < s21;
    acc[S_OUT_RAND] += sc - c[j] < s21;
    acc[S_OUT_RAND_EXP] += out_exp;
    acc[S_RANK_TOP] += rank;
    acc[S_SCORE] += sc;
    acc[S_RESID] += e->residual;
    acc[S_REL_TOP] += fabs(sc) > 1e-12 ? c[0] / fabs(sc) : 0.0;
    acc[S_REL_RAND] += fabs(sc) > 1e-12 ? c[j] / fabs(sc) : 0.0;
}

static int one_user(ex_ctx *x, int64_t r, int32_t u, int32_t count)
{
    double acc[N_STAT] = {0};
    irllrec_explanation e;
    int32_t n = count < TOPK ? count : TOPK;
    double s21 = count > TOPK ? x->scores[r * (TOPK + 1) + TOPK] : -INFINITY;
    if (n == 0) return 0;
    for (int32_t k = 0; k < n; k++) {
        if (explain_pair(x, u, x->ids[r * (TOPK + 1) + k], &e) != 0) return -1;
        if (e.n != x->cm.K) return cs_fail(&x->cm, "explain listed fewer than K", IRLLREC_OK);
        pair_stats(x, &e, s21, acc);
        x->usage[x->intents[0]]++;
    }
    for (int s = 0; s < N_STAT; s++) x->sum[s] += acc[s] / n;
    x->n_users++;
    x->n_pairs += n;
    return 0;
}

static int run_pairs(ex_ctx *x)
{
    irllrec_csr test;
    int32_t *users, *counts;
    int64_t n = 0;
    irllrec_status st;
    int rc = -1;
    irllrec_x_dataset_user_items(x->cm.ds, IRLLREC_SPLIT_TEST, &test);
    users = (int32_t *)malloc((size_t)x->cm.U * sizeof(int32_t));
    counts = (int32_t *)malloc((size_t)x->cm.U * sizeof(int32_t));
    x->ids = (int32_t *)malloc((size_t)(x->cm.U * (TOPK + 1)) * sizeof(int32_t));
    x->scores = (float *)malloc((size_t)(x->cm.U * (TOPK + 1)) * sizeof(float));
    if (!users || !counts || !x->ids || !x->scores) goto out;
    for (int64_t u = 0; u < x->cm.U; u++)
        if (test.indptr[u + 1] > test.indptr[u]) users[n++] = (int32_t)u;
    st = irllrec_rec_recommend(x->cm.rec, users, n, TOPK + 1, NULL, x->ids, x->scores, counts);
    if (st != IRLLREC_OK) {
        cs_fail(&x->cm, "irllrec_rec_recommend", st);
        goto out;
    }
    for (int64_t r = 0; r < n; r++)
        if (one_user(x, r, users[r], counts[r]) != 0) goto out;
    rc = 0;
out:
    free(users);
    free(counts);
    return rc;
}

/* Mean max-probability and entropy (nats) of one side's intent distributions. */
static int json_peakedness(ex_ctx *x, FILE *f, int32_t side, int64_t n)
{
    const int32_t K = x->cm.K;
    float *p = (float *)malloc((size_t)K * sizeof(float));
    double mx = 0.0, ent = 0.0;
    for (int32_t id = 0; p && id < n; id++) {
        double m = 0.0;
        irllrec_status st = irllrec_rec_intents(x->cm.rec, side, &id, 1, p);
        if (st != IRLLREC_OK) {
            free(p);
            return cs_fail(&x->cm, "irllrec_rec_intents", st);
        }
        for (int32_t k = 0; k < K; k++) {
            double q = (double)p[k];
            if (q > m) m = q;
            if (q > 0.0) ent -= q * log(q);
        }
        mx += m / n;
    }
    free(p);
    fprintf(f, "{\"mean_max_prob\": %.6f, \"mean_entropy\": %.6f, \"uniform_entropy\": %.6f}", mx,
            ent / n, log((double)K));
    return 0;
}

/* The @p labels most used intents (as first shared intent), with exemplars. */
static int json_labels(ex_ctx *x, FILE *f, const args *a)
{
    const int32_t K = x->cm.K, T = a->top;
    int32_t *ex[2];
    float *sc[2];
    int32_t *order = (int32_t *)malloc((size_t)K * sizeof(int32_t));
    int rc = -1;
    for (int s = 0; s < 2; s++) {
        ex[s] = (int32_t *)malloc((size_t)(K * T) * sizeof(int32_t));
        sc[s] = (float *)malloc((size_t)(K * T) * sizeof(float));
    }
    if (!order || !ex[0] || !ex[1] || !sc[0] || !sc[1]) goto out;
    for (int s = 0; s < 2; s++) {
        irllrec_status st = irllrec_rec_intent_exemplars(x->cm.rec, s, T, ex[s], sc[s]);
        if (st != IRLLREC_OK) {
            cs_fail(&x->cm, "irllrec_rec_intent_exemplars", st);
            goto out;
        }
    }
    for (int32_t k = 0; k < K; k++) order[k] = k;
    for (int32_t k = 0; k < K; k++) /* selection by usage, ties by the lower id */
        for (int32_t j = k + 1; j < K; j++)
            if (x->usage[order[j]] > x->usage[order[k]]) {
                int32_t t = order[k];
                order[k] = order[j];
                order[j] = t;
            }
    fprintf(f, "\"usage\": [");
    for (int32_t k = 0; k < K; k++) fprintf(f, "%s%d", k ? ", " : "", x->usage[k]);
    fprintf(f, "],\n \"labels\": [");
    for (int32_t r = 0; r < a->labels && r < K; r++) {
        int32_t k = order[r];
        fprintf(f, "%s\n  {\"intent\": %d, \"first_in_pairs\": %d", r ? "," : "", k, x->usage[k]);
        for (int s = 0; s < 2; s++) {
            fprintf(f, ", \"%s\": [", s == IRLLREC_USERS ? "users" : "items");
            for (int32_t t = 0; t < T; t++)
                fprintf(f, "%s[%d, %.4f]", t ? ", " : "", ex[s][k * T + t],
                        (double)sc[s][k * T + t]);
            fprintf(f, "]");
        }
        fprintf(f, "}");
    }
    fprintf(f, "]");
    rc = 0;
out:
    for (int s = 0; s < 2; s++) {
        free(ex[s]);
        free(sc[s]);
    }
    free(order);
    return rc;
}

/* A few example explanations: each of the first three users' first item. */
static int json_examples(ex_ctx *x, FILE *f)
{
    irllrec_explanation e;
    fprintf(f, "\"examples\": [");
    for (int64_t r = 0; r < 3 && r < x->n_users; r++) {
        int32_t u = -1, i = x->ids[r * (TOPK + 1)];
        irllrec_csr test;
        irllrec_x_dataset_user_items(x->cm.ds, IRLLREC_SPLIT_TEST, &test);
        for (int64_t v = 0, seen = -1; v < x->cm.U && u < 0; v++)
            if (test.indptr[v + 1] > test.indptr[v] && ++seen == r) u = (int32_t)v;
        if (explain_pair(x, u, i, &e) != 0) return -1;
        fprintf(f, "%s\n  {\"user\": %d, \"item\": %d, \"score\": %.5f, \"residual\": %.5f, "
                   "\"top\": [", r ? "," : "", u, i, e.score, e.residual);
        for (int k = 0; k < 3; k++)
            fprintf(f, "%s[%d, %.5f, %.5f]", k ? ", " : "", x->intents[k], x->shared[k],
                    x->contrib[k]);
        fprintf(f, "]}");
    }
    fprintf(f, "]");
    return 0;
}

static int write_json(ex_ctx *x, const args *a)
{
    FILE *f = fopen(a->out, "w");
    int rc = -1;
    if (f == NULL) return -1;
    fprintf(f, "{\"n_users\": %lld, \"n_pairs\": %lld, \"K\": %d, \"per_user_means\": {",
            (long long)x->n_users, (long long)x->n_pairs, x->cm.K);
    for (int s = 0; s < N_STAT; s++)
        fprintf(f, "%s\"%s\": %.6f", s ? ", " : "", STAT_NAME[s], x->sum[s] / x->n_users);
    fprintf(f, "},\n \"checkpoint_epoch\": %lld, \"best_epoch\": %lld, \"hook_steps\": %lld, "
               "\"max_final_diff\": %.3g,\n \"peakedness\": {\"users\": ",
            (long long)x->cm.ck_epoch, (long long)x->cm.ck_best_epoch,
            (long long)x->cm.hook_steps, x->cm.max_final_diff);
    if (json_peakedness(x, f, IRLLREC_USERS, x->cm.U) != 0) goto out;
    fprintf(f, ", \"items\": ");
    if (json_peakedness(x, f, IRLLREC_ITEMS, x->cm.I) != 0) goto out;
    fprintf(f, "},\n ");
    if (json_examples(x, f) != 0) goto out;
    fprintf(f, ",\n ");
    if (json_labels(x, f, a) != 0) goto out;
    fprintf(f, "}\n");
    rc = 0;
out:
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    ex_ctx x;
    int rc = 1;
    memset(&x, 0, sizeof x);
    x.rng = 2025;
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: explain_eval --data DIR --run DIR --ckpt FILE --out FILE "
                        "[--labels N] [--top N]\n");
        return 2;
    }
    if (cs_open(&x.cm, a.data, a.run, a.ckpt) != 0) goto out;
    x.intents = (int32_t *)malloc((size_t)x.cm.K * sizeof(int32_t));
    x.usage = (int32_t *)calloc((size_t)x.cm.K, sizeof(int32_t));
    x.shared = (double *)malloc((size_t)x.cm.K * sizeof(double));
    x.contrib = (double *)malloc((size_t)x.cm.K * sizeof(double));
    if (!x.intents || !x.usage || !x.shared || !x.contrib || x.cm.K < 2) goto out;
    if (run_pairs(&x) != 0 || write_json(&x, &a) != 0) goto out;
    fprintf(stderr, "explain_eval: %lld users, %lld pairs -> %s\n", (long long)x.n_users,
            (long long)x.n_pairs, a.out);
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "explain_eval: failed\n");
    free(x.ids);
    free(x.scores);
    free(x.intents);
    free(x.usage);
    free(x.shared);
    free(x.contrib);
    cs_close(&x.cm);
    return rc;
}
