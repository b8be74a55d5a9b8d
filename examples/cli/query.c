/* irllrec recommend and irllrec similar over a serving model (serve.h):
 * top-K items for users, nearest users or items by cosine. The answer for
 * every queried id is computed before anything is printed. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char HELP_RECOMMEND[] =
    "usage: irllrec recommend MODEL --user ID[,ID...] [-k K] [--include-seen]\n"
    "                         [--allow FILE] [--deny FILE] [--json] [--threads N]\n"
    "Top-K items for each user by score <e_u, e_i>, best first; the user's TRAIN\n"
    "items (stored in the model) are excluded unless --include-seen.\n"
    "  --user ID[,ID...]  users to recommend for (repeatable)\n"
    "  -k, --k K          items per user, 1..100000 (default 20)\n"
    "  --include-seen     do not exclude the items the user interacted with in training\n"
    "  --allow FILE       only recommend these item ids (whitespace- or comma-separated;\n"
    "                     '#' starts a comment)\n"
    "  --deny FILE        never recommend these item ids (same format)\n"
    "  --json             one JSON object per user, one per line\n"
    "  --threads N        library threads, 1..256 (default 1; results do not depend on it)\n";

static const char HELP_SIMILAR[] =
    "usage: irllrec similar MODEL (--item ID[,ID...] | --user ID[,ID...]) [-k K] [--json]\n"
    "                       [--threads N]\n"
    "The K nearest items to each item (or users to each user) by cosine of their\n"
    "embeddings, best first, the node itself excluded.\n"
    "  --item ID[,ID...]  items to find neighbours of (repeatable)\n"
    "  --user ID[,ID...]  users to find neighbours of (repeatable)\n"
    "  -k, --k K          neighbours per node, 1..100000 (default 10)\n"
    "  --json             one JSON object per queried node, one per line\n"
    "  --threads N        library threads, 1..256 (default 1)\n";

/* Ranked results of n queries: n x k ids and scores, n counts. */
typedef struct ranked {
    int32_t *ids, *counts;
    float *scores;
} ranked;

static int ranked_alloc(ranked *r, int64_t n, int32_t k)
{
    size_t nk = (size_t)n * (size_t)k;
    r->ids = (int32_t *)malloc(nk * sizeof *r->ids);
    r->scores = (float *)malloc(nk * sizeof *r->scores);
    r->counts = (int32_t *)malloc((size_t)n * sizeof *r->counts);
    return r->ids && r->scores && r->counts ? 0 : -1;
}

static void ranked_free(ranked *r)
{
    free(r->ids);
    free(r->scores);
    free(r->counts);
}

/* One JSON line per query: {"<qkey>": q, "k": k, [extra] "<list>": [{"<rkey>": id,
 * "score": s}, ...]} */
static void json_lines(cli_buf *b, const cli_ids *q, int32_t k, const ranked *r, const char *qkey,
                       const char *extra, const char *list, const char *rkey)
{
    for (int64_t i = 0; i < q->n; i++) {
        cli_printf(b, "{\"%s\": %d, \"k\": %d, %s\"%s\": [", qkey, (int)q->v[i], (int)k, extra,
                   list);
        for (int32_t j = 0; j < r->counts[i]; j++) {
            cli_printf(b, "%s{\"%s\": %d, \"score\": ", j ? ", " : "", rkey,
                       (int)r->ids[i * k + j]);
            cli_json_f32(b, r->scores[i * k + j]);
            cli_printf(b, "}");
        }
        cli_printf(b, "]}\n");
    }
}

/* One aligned table for all queries: query, rank, result, score; a query
 * with nothing left to rank gets one row of dashes. */
static void text_table(cli_buf *b, const cli_ids *q, int32_t k, const ranked *r,
                       const char *const *header)
{
    cli_table t;
    cli_table_init(&t, 4, header);
    for (int64_t i = 0; i < q->n; i++) {
        if (r->counts[i] == 0) {
            cli_table_cell(&t, "%d", (int)q->v[i]);
            cli_table_cell(&t, "-");
            cli_table_cell(&t, "-");
            cli_table_cell(&t, "-");
        }
        for (int32_t j = 0; j < r->counts[i]; j++) {
            cli_table_cell(&t, "%d", (int)q->v[i]);
            cli_table_cell(&t, "%d", (int)j + 1);
            cli_table_cell(&t, "%d", (int)r->ids[i * k + j]);
            cli_table_cell(&t, "%.6f", (double)r->scores[i * k + j]);
        }
    }
    cli_table_emit(&t, b, "");
}

/* --allow / --deny into rank options; an empty allow file allows nothing,
 * so its pointer must not be NULL (NULL means "no list"). */
static int filters(const cli_args *a, int64_t n_items, cli_ids *allow, cli_ids *deny,
                   irllrec_rank_opts *o)
{
    static const int32_t NONE = 0;
    if (a->allow != NULL) {
        if (cli_read_id_file("recommend", "--allow", a->allow, n_items, allow) != CLI_OK)
            return CLI_FAIL;
        o->allow = allow->n > 0 ? allow->v : &NONE;
        o->n_allow = allow->n;
    }
    if (a->deny != NULL) {
        if (cli_read_id_file("recommend", "--deny", a->deny, n_items, deny) != CLI_OK)
            return CLI_FAIL;
        o->deny = deny->v;
        o->n_deny = deny->n;
    }
    return CLI_OK;
}

static int run_recommend(irllrec_ctx *ctx, irllrec_rec *rec, const irllrec_rec_info *info,
                         const cli_args *a, cli_buf *b)
{
    static const char *const HEADER[4] = {"user", "rank", "item", "score"};
    irllrec_rank_opts o;
    cli_ids allow = {0}, deny = {0};
    ranked r = {0};
    int rc = cli_check_ids("recommend", "--user", &a->users, info->n_users, "user");
    irllrec_rank_opts_init(&o, sizeof o);
    if (a->given & CLI_F_INCLUDE_SEEN) o.flags |= IRLLREC_RANK_INCLUDE_SEEN;
    if (rc == CLI_OK) rc = filters(a, info->n_items, &allow, &deny, &o);
    if (rc == CLI_OK && ranked_alloc(&r, a->users.n, a->k) != 0)
        rc = cli_fail(CLI_FAIL, "recommend", "out of memory for %lld x %d results",
                      (long long)a->users.n, (int)a->k);
    if (rc == CLI_OK &&
        irllrec_rec_recommend(rec, a->users.v, a->users.n, a->k, &o, r.ids, r.scores,
                              r.counts) != IRLLREC_OK)
        rc = cli_fail(CLI_FAIL, "recommend", "%s", irllrec_ctx_errmsg(ctx));
    if (rc == CLI_OK && (a->given & CLI_F_JSON)) {
        const char *extra = (a->given & CLI_F_INCLUDE_SEEN) || !info->has_seen
                                ? "\"seen_excluded\": false, "
                                : "\"seen_excluded\": true, ";
        json_lines(b, &a->users, a->k, &r, "user", extra, "items", "item");
    } else if (rc == CLI_OK) {
        cli_printf(b, "# top %d items for %lld user%s by <e_u, e_i>; seen items %s\n",
                   (int)a->k, (long long)a->users.n, a->users.n == 1 ? "" : "s",
                   (a->given & CLI_F_INCLUDE_SEEN) || !info->has_seen ? "included"
                                                                       : "excluded");
        text_table(b, &a->users, a->k, &r, HEADER);
    }
    ranked_free(&r);
    free(allow.v);
    free(deny.v);
    return rc;
}

static int run_similar(irllrec_ctx *ctx, irllrec_rec *rec, const irllrec_rec_info *info,
                       const cli_args *a, cli_buf *b)
{
    static const char *const HEAD_I[4] = {"item", "rank", "similar", "cosine"};
    static const char *const HEAD_U[4] = {"user", "rank", "similar", "cosine"};
    int users = (a->given & CLI_F_USER) != 0;
    const cli_ids *q = users ? &a->users : &a->items;
    const char *key = users ? "user" : "item";
    ranked r = {0};
    int rc = cli_check_ids("similar", users ? "--user" : "--item", q,
                           users ? info->n_users : info->n_items, key);
    if (rc == CLI_OK && ranked_alloc(&r, q->n, a->k) != 0)
        rc = cli_fail(CLI_FAIL, "similar", "out of memory for %lld x %d results",
                      (long long)q->n, (int)a->k);
    if (rc == CLI_OK &&
        irllrec_rec_similar(rec, users ? IRLLREC_USERS : IRLLREC_ITEMS, q->v, q->n, a->k, NULL,
                            r.ids, r.scores, r.counts) != IRLLREC_OK)
        rc = cli_fail(CLI_FAIL, "similar", "%s", irllrec_ctx_errmsg(ctx));
    if (rc == CLI_OK && (a->given & CLI_F_JSON)) {
        json_lines(b, q, a->k, &r, key, "", "similar", key);
    } else if (rc == CLI_OK) {
        cli_printf(b, "# %d nearest %ss by cosine for %lld %s%s\n", (int)a->k, key,
                   (long long)q->n, key, q->n == 1 ? "" : "s");
        text_table(b, q, a->k, &r, users ? HEAD_U : HEAD_I);
    }
    ranked_free(&r);
    return rc;
}

/* Parse, load, run, print: the shared frame of both commands. */
static int frame(int argc, char **argv, const char *cmd, uint32_t accepted, int32_t k_default,
                 const char *help)
{
    cli_args a;
    cli_buf b = {0};
    irllrec_ctx *ctx = NULL;
    irllrec_rec *rec = NULL;
    irllrec_rec_info info;
    int similar = strcmp(cmd, "similar") == 0;
    int rc = cli_parse(argc, argv, 2, cmd, accepted, k_default, 0, &a);
    if (rc == CLI_OK && a.help) {
        fputs(help, stdout);
    } else if (rc == CLI_OK && !similar && a.users.n == 0) {
        rc = cli_fail(CLI_USAGE, cmd, "--user ID is required (see irllrec %s --help)", cmd);
    } else if (rc == CLI_OK && similar && (a.users.n > 0) == (a.items.n > 0)) {
        rc = cli_fail(CLI_USAGE, cmd, "give exactly one of --item ID or --user ID (see "
                      "irllrec similar --help)");
    } else if (rc == CLI_OK) {
        if ((ctx = cli_ctx(cmd, a.threads)) == NULL ||
            (rec = cli_load_rec(ctx, cmd, a.model, &info)) == NULL)
            rc = CLI_FAIL;
        else
            rc = similar ? run_similar(ctx, rec, &info, &a, &b)
                         : run_recommend(ctx, rec, &info, &a, &b);
        if (rc == CLI_OK) rc = cli_buf_emit(&b, cmd);
    }
    cli_buf_free(&b);
    irllrec_rec_free(rec);
    irllrec_ctx_free(ctx);
    cli_args_free(&a);
    return rc;
}

int cli_recommend(int argc, char **argv)
{
    return frame(argc, argv, "recommend",
                 CLI_F_USER | CLI_F_K | CLI_F_INCLUDE_SEEN | CLI_F_ALLOW | CLI_F_DENY |
                     CLI_F_JSON | CLI_F_THREADS,
                 20, HELP_RECOMMEND);
}

int cli_similar(int argc, char **argv)
{
    return frame(argc, argv, "similar", CLI_F_USER | CLI_F_ITEM | CLI_F_K | CLI_F_JSON |
                                            CLI_F_THREADS,
                 10, HELP_SIMILAR);
}
