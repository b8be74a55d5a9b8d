/* irllrec explain over a serving model built with the IRLLRec hook: a user
 * or an item alone gets the top intents of its intent distribution; a
 * (user, item) pair gets its score split into intent contributions and a
 * residual (serve.h, irllrec_rec_explain). */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char HELP[] =
    "usage: irllrec explain MODEL (--user ID[,ID...] | --item ID[,ID...] | both)\n"
    "                       [--top N] [--json] [--threads N]\n"
    "With --user or --item alone: the N most probable intents of each node's\n"
    "intent distribution. With both: every (user, item) pair's score <e_u, e_i>\n"
    "as the sum of its intents' contributions plus a residual, and the N intents\n"
    "the two share most (by p_uk q_ik). Needs a model trained with --irllrec.\n"
    "  --user ID[,ID...]  users (repeatable)\n"
    "  --item ID[,ID...]  items (repeatable); with --user, every pair is explained\n"
    "  --top N            intents to list, 1..K (default 5, or K if smaller)\n"
    "  --json             one JSON object per node or pair, one per line\n"
    "  --threads N        library threads, 1..256 (default 1)\n";

/* Exemplars shown per intent: enough to recognise it, short enough for a column. */
#define N_EXEMPLARS 3

/* The nodes of one side nearest to each prototype (irllrec_rec_intent_exemplars):
 * K x N_EXEMPLARS ids, or NULL when the model cannot say (no intent text). */
static int32_t *exemplars(irllrec_rec *rec, int32_t side, int32_t K)
{
    int32_t *ids = (int32_t *)malloc((size_t)K * N_EXEMPLARS * sizeof *ids);
    if (ids != NULL &&
        irllrec_rec_intent_exemplars(rec, side, N_EXEMPLARS, ids, NULL) != IRLLREC_OK) {
        free(ids);
        ids = NULL;
    }
    return ids;
}

/* Intent k's exemplars: " 12 40 7" as a text cell, "[12, 40, 7]" in JSON. */
static void exemplar_cell(cli_table *t, const int32_t *ex, int32_t k)
{
    char s[3 * 12] = "";
    size_t len = 0;
    for (int32_t j = 0; j < N_EXEMPLARS && ex[k * N_EXEMPLARS + j] >= 0; j++)
        len += (size_t)snprintf(s + len, sizeof s - len, "%s%d", j ? " " : "",
                                (int)ex[k * N_EXEMPLARS + j]);
    cli_table_cell(t, "%s", s);
}

static void exemplar_json(cli_buf *b, const int32_t *ex, int32_t k)
{
    cli_printf(b, ", \"exemplars\": [");
    for (int32_t j = 0; j < N_EXEMPLARS && ex[k * N_EXEMPLARS + j] >= 0; j++)
        cli_printf(b, "%s%d", j ? ", " : "", (int)ex[k * N_EXEMPLARS + j]);
    cli_printf(b, "]");
}

/* The top entries of p[0..K) by probability, ties by the lower intent id
 * (a selection: top is small). */
static void top_intents(const float *p, int32_t K, int32_t top, int32_t *out)
{
    for (int32_t t = 0; t < top; t++) {
        int32_t best = -1;
        for (int32_t k = 0; k < K; k++) {
            int used = 0;
            for (int32_t s = 0; s < t && !used; s++) used = out[s] == k;
            if (!used && (best < 0 || p[k] > p[best])) best = k;
        }
        out[t] = best;
    }
}

/* One node's top intents (order[0..top)) as a JSON line or a small table. */
static void node_out(cli_buf *b, int json, int first, const char *key, int32_t id,
                     const float *p, int32_t K, const int32_t *order, int32_t top,
                     const int32_t *ex)
{
    static const char *const HEADER[4] = {"rank", "intent", "prob", "exemplars"};
    cli_table t;
    if (json) {
        cli_printf(b, "{\"%s\": %d, \"n_intents\": %d, \"intents\": [", key, (int)id, (int)K);
        for (int32_t s = 0; s < top; s++) {
            cli_printf(b, "%s{\"intent\": %d, \"prob\": ", s ? ", " : "", (int)order[s]);
            cli_json_f32(b, p[order[s]]);
            if (ex != NULL) exemplar_json(b, ex, order[s]);
            cli_printf(b, "}");
        }
        cli_printf(b, "]}\n");
        return;
    }
    cli_printf(b, "%s%s %d: top %d of %d intents (uniform: %.6g)\n", first ? "" : "\n", key,
               (int)id, (int)top, (int)K, 1.0 / K);
    cli_table_init(&t, ex != NULL ? 4 : 3, HEADER);
    for (int32_t s = 0; s < top; s++) {
        cli_table_cell(&t, "%d", (int)s + 1);
        cli_table_cell(&t, "%d", (int)order[s]);
        cli_table_cell(&t, "%.6g", (double)p[order[s]]);
        if (ex != NULL) exemplar_cell(&t, ex, order[s]);
    }
    cli_table_emit(&t, b, "  ");
}

static int explain_nodes(irllrec_ctx *ctx, irllrec_rec *rec, int32_t K, const cli_args *a,
                         cli_buf *b)
{
    int users = a->users.n > 0;
    int32_t side = users ? IRLLREC_USERS : IRLLREC_ITEMS;
    const cli_ids *q = users ? &a->users : &a->items;
    float *p = (float *)malloc((size_t)q->n * (size_t)K * sizeof *p);
    int32_t *order = (int32_t *)malloc((size_t)a->top * sizeof *order);
    int32_t *ex = exemplars(rec, side, K);
    int rc = CLI_OK;
    if (p == NULL || order == NULL)
        rc = cli_fail(CLI_FAIL, "explain", "out of memory for %lld x %d intent probabilities",
                      (long long)q->n, (int)K);
    else if (irllrec_rec_intents(rec, side, q->v, q->n, p) != IRLLREC_OK)
        rc = cli_fail(CLI_FAIL, "explain", "%s", irllrec_ctx_errmsg(ctx));
    for (int64_t i = 0; rc == CLI_OK && i < q->n; i++) {
        top_intents(p + i * K, K, a->top, order);
        node_out(b, (a->given & CLI_F_JSON) != 0, i == 0, users ? "user" : "item", q->v[i],
                 p + i * K, K, order, a->top, ex);
    }
    free(p);
    free(order);
    free(ex);
    return rc;
}

/* One pair's explanation; @p ex: the items nearest to each item prototype. */
static void pair_out(cli_buf *b, int json, int first, int32_t u, int32_t i,
                     const irllrec_explanation *e, const int32_t *ex)
{
    static const char *const HEADER[5] = {"rank", "intent", "shared", "contribution",
                                          "exemplar items"};
    cli_table t;
    if (json) {
        cli_printf(b, "{\"user\": %d, \"item\": %d, \"score\": ", (int)u, (int)i);
        cli_json_num(b, e->score);
        cli_printf(b, ", \"residual\": ");
        cli_json_num(b, e->residual);
        cli_printf(b, ", \"intents\": [");
        for (int32_t s = 0; s < e->n; s++) {
            cli_printf(b, "%s{\"intent\": %d, \"shared\": ", s ? ", " : "", (int)e->intents[s]);
            cli_json_num(b, e->shared[s]);
            cli_printf(b, ", \"contribution\": ");
            cli_json_num(b, e->contribution[s]);
            if (ex != NULL) exemplar_json(b, ex, e->intents[s]);
            cli_printf(b, "}");
        }
        cli_printf(b, "]}\n");
        return;
    }
    cli_printf(b, "%suser %d, item %d: score %.6f = intents %.6f + residual %.6f\n",
               first ? "" : "\n", (int)u, (int)i, e->score, e->score - e->residual, e->residual);
    cli_table_init(&t, ex != NULL ? 5 : 4, HEADER);
    for (int32_t s = 0; s < e->n; s++) {
        cli_table_cell(&t, "%d", (int)s + 1);
        cli_table_cell(&t, "%d", (int)e->intents[s]);
        cli_table_cell(&t, "%.6g", e->shared[s]);
        cli_table_cell(&t, "%.6g", e->contribution[s]);
        if (ex != NULL) exemplar_cell(&t, ex, e->intents[s]);
    }
    cli_table_emit(&t, b, "  ");
}

static int explain_pairs(irllrec_ctx *ctx, irllrec_rec *rec, int32_t K, const cli_args *a,
                         cli_buf *b)
{
    irllrec_explanation e;
    int32_t *ids = (int32_t *)malloc((size_t)a->top * sizeof *ids);
    double *shared = (double *)malloc((size_t)a->top * sizeof *shared);
    double *contrib = (double *)malloc((size_t)a->top * sizeof *contrib);
    int32_t *ex = exemplars(rec, IRLLREC_ITEMS, K);
    int rc = CLI_OK;
    if (ids == NULL || shared == NULL || contrib == NULL)
        rc = cli_fail(CLI_FAIL, "explain", "out of memory");
    for (int64_t x = 0; rc == CLI_OK && x < a->users.n; x++) {
        for (int64_t y = 0; rc == CLI_OK && y < a->items.n; y++) {
            memset(&e, 0, sizeof e);
            e.struct_size = sizeof e;
            e.intents = ids;
            e.shared = shared;
            e.contribution = contrib;
            if (irllrec_rec_explain(rec, a->users.v[x], a->items.v[y], a->top, &e) != IRLLREC_OK)
                rc = cli_fail(CLI_FAIL, "explain", "%s", irllrec_ctx_errmsg(ctx));
            else
                pair_out(b, (a->given & CLI_F_JSON) != 0, x == 0 && y == 0, a->users.v[x],
                         a->items.v[y], &e, ex);
        }
    }
    free(ids);
    free(shared);
    free(contrib);
    free(ex);
    return rc;
}

static int run(irllrec_ctx *ctx, irllrec_rec *rec, const irllrec_rec_info *info, cli_args *a,
               cli_buf *b)
{
    if (cli_check_ids("explain", "--user", &a->users, info->n_users, "user") != CLI_OK ||
        cli_check_ids("explain", "--item", &a->items, info->n_items, "item") != CLI_OK)
        return CLI_FAIL;
    if (info->n_intents <= 0)
        return cli_fail(CLI_FAIL, "explain", "%s: the model has no intents (it was built "
                        "without the IRLLRec hook, e.g. trained without --irllrec or without "
                        "intent text): nothing to explain with", a->model);
    if (!(a->given & CLI_F_TOP) && a->top > info->n_intents) a->top = info->n_intents;
    if (a->top > info->n_intents)
        return cli_fail(CLI_USAGE, "explain", "--top %d exceeds the model's %d intents",
                        (int)a->top, (int)info->n_intents);
    if (a->users.n > 0 && a->items.n > 0) return explain_pairs(ctx, rec, info->n_intents, a, b);
    return explain_nodes(ctx, rec, info->n_intents, a, b);
}

int cli_explain(int argc, char **argv)
{
    cli_args a;
    cli_buf b = {0};
    irllrec_ctx *ctx = NULL;
    irllrec_rec *rec = NULL;
    irllrec_rec_info info;
    int rc = cli_parse(argc, argv, 2, "explain",
                       CLI_F_USER | CLI_F_ITEM | CLI_F_TOP | CLI_F_JSON | CLI_F_THREADS, 0, 5, &a);
    if (rc == CLI_OK && a.help) {
        fputs(HELP, stdout);
    } else if (rc == CLI_OK && a.users.n == 0 && a.items.n == 0) {
        rc = cli_fail(CLI_USAGE, "explain", "give --user ID, --item ID or both (see irllrec "
                      "explain --help)");
    } else if (rc == CLI_OK) {
        if ((ctx = cli_ctx("explain", a.threads)) == NULL ||
            (rec = cli_load_rec(ctx, "explain", a.model, &info)) == NULL)
            rc = CLI_FAIL;
        else
            rc = run(ctx, rec, &info, &a, &b);
        if (rc == CLI_OK) rc = cli_buf_emit(&b, "explain");
    }
    cli_buf_free(&b);
    irllrec_rec_free(rec);
    irllrec_ctx_free(ctx);
    cli_args_free(&a);
    return rc;
}
