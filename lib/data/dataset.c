/* Datasets: reading a LightGCN folder, building CSR in both directions, and
 * the borrowed views the rest of the library (and hosts) read. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "dataset.h"
#include "../io/ropen.h"

static const char *const split_files[3] = {"train.txt", "val.txt", "test.txt"};

/* ---- building ------------------------------------------------------- */

irllrec_status irllrec__dataset_alloc(irllrec_ctx *ctx, const char *func, int64_t n_users,
                                      int64_t n_items, irllrec_x_dataset **out)
{
    irllrec_x_dataset *ds = (irllrec_x_dataset *)irllrec__calloc_fn(ctx, func, 1, sizeof *ds);
    *out = NULL;
    if (ds == NULL) return IRLLREC_E_NOMEM;
    ds->ctx = ctx;
    ds->n_users = n_users;
    ds->n_items = n_items;
    for (int s = 0; s < 3; s++) {
        ds->split[s].u_ptr =
            (int64_t *)irllrec__calloc_fn(ctx, func, (size_t)n_users + 1, sizeof(int64_t));
        ds->split[s].i_ptr =
            (int64_t *)irllrec__calloc_fn(ctx, func, (size_t)n_items + 1, sizeof(int64_t));
        if (ds->split[s].u_ptr == NULL || ds->split[s].i_ptr == NULL) {
            irllrec_x_dataset_free(ds);
            return IRLLREC_E_NOMEM;
        }
    }
    *out = ds;
    return IRLLREC_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Counting sort into CSR: ptr[r] ends as the start of row r. */
static void bucket(int64_t *ptr, int64_t n_rows, const int32_t *row, const int32_t *col,
                   int64_t n, int32_t *idx)
{
    for (int64_t k = 0; k < n; k++) ptr[row[k] + 1]++;
    for (int64_t r = 0; r < n_rows; r++) ptr[r + 1] += ptr[r];
    /* Scatter with ptr[r] as the cursor, then shift back by one row: no temp. */
    for (int64_t k = 0; k < n; k++) idx[ptr[row[k]]++] = col[k];
    for (int64_t r = n_rows; r > 0; r--) ptr[r] = ptr[r - 1];
    ptr[0] = 0;
}

/* Sort every row and drop repeated ids, compacting idx in place. */
static int64_t sort_dedup(int64_t *ptr, int64_t n_rows, int32_t *idx)
{
    int64_t w = 0, rd = 0;
    for (int64_t r = 0; r < n_rows; r++) {
        int64_t end = ptr[r + 1], k;
        int sorted = 1;
        for (k = rd + 1; k < end; k++)
            if (idx[k] < idx[k - 1]) sorted = 0;
        if (!sorted) qsort(idx + rd, (size_t)(end - rd), sizeof(int32_t), cmp_i32);
        ptr[r] = w;
        for (k = rd; k < end; k++)
            if (k == rd || idx[k] != idx[k - 1]) idx[w++] = idx[k];
        rd = end;
    }
    ptr[n_rows] = w;
    return w;
}

irllrec_status irllrec__dataset_fill_split(irllrec_x_dataset *ds, const char *func, int32_t s,
                                           const int32_t *u, const int32_t *it, int64_t n)
{
    irllrec_ctx *ctx = ds->ctx;
    irllrec__split *sp = &ds->split[s];
    size_t bytes;
    if (n == 0) return IRLLREC_OK;
    if ((uint64_t)n > SIZE_MAX / sizeof(int32_t)) return IRLLREC_E_NOMEM;
    bytes = (size_t)n * sizeof(int32_t);
    sp->u_idx = (int32_t *)irllrec__alloc_fn(ctx, func, bytes);
    if (sp->u_idx == NULL) return IRLLREC_E_NOMEM;
    sp->u_idx_bytes = bytes;
    bucket(sp->u_ptr, ds->n_users, u, it, n, sp->u_idx);
    sp->nnz = sort_dedup(sp->u_ptr, ds->n_users, sp->u_idx);

    bytes = (size_t)sp->nnz * sizeof(int32_t);
    sp->i_idx = (int32_t *)irllrec__alloc_fn(ctx, func, bytes);
    if (sp->i_idx == NULL) return IRLLREC_E_NOMEM;
    sp->i_idx_bytes = bytes;
    /* Transposing row by row in user order leaves each item's users sorted. */
    for (int64_t k = 0; k < sp->nnz; k++) sp->i_ptr[sp->u_idx[k] + 1]++;
    for (int64_t r = 0; r < ds->n_items; r++) sp->i_ptr[r + 1] += sp->i_ptr[r];
    for (int64_t r = 0; r < ds->n_users; r++)
        for (int64_t k = sp->u_ptr[r]; k < sp->u_ptr[r + 1]; k++)
            sp->i_idx[sp->i_ptr[sp->u_idx[k]]++] = (int32_t)r;
    for (int64_t r = ds->n_items; r > 0; r--) sp->i_ptr[r] = sp->i_ptr[r - 1];
    sp->i_ptr[0] = 0;
    return IRLLREC_OK;
}

void irllrec_x_dataset_free(irllrec_x_dataset *ds)
{
    irllrec_ctx *ctx;
    if (ds == NULL) return;
    ctx = ds->ctx;
    for (int s = 0; s < 3; s++) {
        irllrec__split *sp = &ds->split[s];
        irllrec__free(ctx, sp->u_ptr, ((size_t)ds->n_users + 1) * sizeof(int64_t));
        irllrec__free(ctx, sp->i_ptr, ((size_t)ds->n_items + 1) * sizeof(int64_t));
        irllrec__free(ctx, sp->u_idx, sp->u_idx_bytes);
        irllrec__free(ctx, sp->i_idx, sp->i_idx_bytes);
    }
    irllrec__free(ctx, ds, sizeof *ds);
}

static irllrec_status check_shape(irllrec_ctx *ctx, const char *func, int64_t n_users,
                                  int64_t n_items)
{
    if (n_users < 1 || n_users > INT32_MAX || n_items < 1 || n_items > INT32_MAX)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, func,
                             "shape n_users = %lld, n_items = %lld: each must be in 1..%d",
                             (long long)n_users, (long long)n_items, INT32_MAX);
    return IRLLREC_OK;
}

/* One split's pairs: n >= 0, both arrays present when n > 0, ids in range;
 * messages name the arrays ("train_u[3] = 12 not in [0, 10)"). */
static irllrec_status check_pairs(irllrec_ctx *ctx, const char *func, const char *name,
                                  int64_t n_users, int64_t n_items, const int32_t *u,
                                  const int32_t *it, int64_t n)
{
    char nu[16], ni[16];
    snprintf(nu, sizeof nu, "%s_u", name);
    snprintf(ni, sizeof ni, "%s_i", name);
    if (n < 0)
        return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, func, "n_%s = %lld < 0", name,
                             (long long)n);
    IRL_TRY(irllrec__check_ids(ctx, func, nu, u, n, n_users));
    return irllrec__check_ids(ctx, func, ni, it, n, n_items);
}

irllrec_status irllrec_x_dataset_from_pairs(irllrec_ctx *ctx, int64_t n_users, int64_t n_items,
                                          const int32_t *train_u, const int32_t *train_i,
                                          int64_t n_train, const int32_t *val_u,
                                          const int32_t *val_i, int64_t n_val,
                                          const int32_t *test_u, const int32_t *test_i,
                                          int64_t n_test, irllrec_x_dataset **out)
{
    irllrec_x_dataset *ds;
    irllrec_status st;
    const int32_t *us[3] = {train_u, val_u, test_u}, *is[3] = {train_i, val_i, test_i};
    int64_t ns[3] = {n_train, n_val, n_test};
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_TRY(check_shape(ctx, __func__, n_users, n_items));
    IRL_TRY(check_pairs(ctx, __func__, "train", n_users, n_items, train_u, train_i, n_train));
    IRL_TRY(check_pairs(ctx, __func__, "val", n_users, n_items, val_u, val_i, n_val));
    IRL_TRY(check_pairs(ctx, __func__, "test", n_users, n_items, test_u, test_i, n_test));
    IRL_TRY(irllrec__dataset_alloc(ctx, __func__, n_users, n_items, &ds));
    for (int32_t s = 0; s < 3; s++) {
        st = irllrec__dataset_fill_split(ds, __func__, s, us[s], is[s], ns[s]);
        if (st != IRLLREC_OK) {
            irllrec_x_dataset_free(ds);
            return st;
        }
    }
    *out = ds;
    return IRLLREC_OK;
}

/* ---- loading a folder ------------------------------------------------ */

typedef struct text_buf {
    char *data;
    size_t len;
    size_t cap;
} text_buf;

/* Read a whole file. *absent = 1 (and OK) when it does not exist and
 * @p optional is set. */
static irllrec_status read_file(irllrec_ctx *ctx, const char *path, int optional, text_buf *tb,
                                int *absent)
{
    FILE *f;
    uint64_t size;
    size_t got;
    memset(tb, 0, sizeof *tb);
    *absent = 0;
    IRL_TRY(irllrec__open_regular(ctx, "irllrec_x_dataset_load", path, optional, &f, &size));
    if (f == NULL) {
        *absent = 1;
        return IRLLREC_OK;
    }
    if (size >= SIZE_MAX) {
        fclose(f);
        return irllrec__fail(ctx, IRLLREC_E_IO, "irllrec_x_dataset_load",
                             "%s: %llu bytes do not fit in memory", path,
                             (unsigned long long)size);
    }
    tb->cap = (size_t)size + 1;
    tb->data = (char *)irllrec__alloc_fn(ctx, "irllrec_x_dataset_load", tb->cap);
    if (tb->data == NULL) {
        fclose(f);
        return IRLLREC_E_NOMEM;
    }
    got = fread(tb->data, 1, (size_t)size, f);
    if (got != (size_t)size || fgetc(f) != EOF || ferror(f)) {
        fclose(f);
        irllrec__free(ctx, tb->data, tb->cap);
        tb->data = NULL;
        return irllrec__fail(ctx, IRLLREC_E_IO, "irllrec_x_dataset_load",
                             "%s: read failed or the file changed size while reading", path);
    }
    fclose(f);
    tb->len = got;
    tb->data[got] = '\0';
    return IRLLREC_OK;
}

typedef struct pairs {
    int32_t *u, *it;
    int64_t n;
    size_t bytes; /* of each array */
} pairs;

static void pairs_free(irllrec_ctx *ctx, pairs *p)
{
    irllrec__free(ctx, p->u, p->bytes);
    irllrec__free(ctx, p->it, p->bytes);
    memset(p, 0, sizeof *p);
}

static irllrec_status join(irllrec_ctx *ctx, const char *func, char *buf, size_t cap,
                           const char *dir, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    IRL_CHECK_FN(ctx, func, n > 0 && (size_t)n < cap, IRLLREC_E_INVALID_ARG,
                 "path %s/%s is too long", dir, name);
    return IRLLREC_OK;
}

/* Two passes over the text: the first validates and counts, so the second
 * writes into arrays of the exact size. */
/* The largest id of one side over the splits read so far: its value, the
 * split and the line it first appears on. */
typedef struct id_max {
    int64_t id, line;
    int32_t split;
} id_max;

static irllrec_status load_split(irllrec_ctx *ctx, const char *path, int optional,
                                 int64_t nu_lim, int64_t ni_lim, const char *lim_src, pairs *pr,
                                 int32_t split, id_max *max_u, id_max *max_i)
{
    text_buf tb;
    int absent;
    int64_t n = 0, mu = -1, mi = -1, mu_line = 0, mi_line = 0;
    irllrec_status st;
    memset(pr, 0, sizeof *pr);
    IRL_TRY(read_file(ctx, path, optional, &tb, &absent));
    if (absent) return IRLLREC_OK;
    st = irllrec__parse_pairs(ctx, path, tb.data, tb.len, nu_lim, ni_lim, lim_src, NULL, NULL, &n,
                              &mu, &mi, &mu_line, &mi_line);
    if (st == IRLLREC_OK && n > 0) {
        if ((uint64_t)n > SIZE_MAX / sizeof(int32_t)) {
            st = irllrec__fail(ctx, IRLLREC_E_NOMEM, "irllrec_x_dataset_load", "%s: too many pairs",
                               path);
        } else {
            pr->bytes = (size_t)n * sizeof(int32_t);
            pr->u = (int32_t *)irllrec__alloc_fn(ctx, "irllrec_x_dataset_load", pr->bytes);
            pr->it = (int32_t *)irllrec__alloc_fn(ctx, "irllrec_x_dataset_load", pr->bytes);
            if (pr->u == NULL || pr->it == NULL)
                st = IRLLREC_E_NOMEM;
            else
                st = irllrec__parse_pairs(ctx, path, tb.data, tb.len, nu_lim, ni_lim, lim_src,
                                          pr->u, pr->it, &pr->n, NULL, NULL, NULL, NULL);
        }
    }
    irllrec__free(ctx, tb.data, tb.cap);
    if (st != IRLLREC_OK) {
        pairs_free(ctx, pr);
        return st;
    }
    if (mu > max_u->id) *max_u = (id_max){mu, mu_line, split};
    if (mi > max_i->id) *max_i = (id_max){mi, mi_line, split};
    return IRLLREC_OK;
}

static irllrec_status load_stats(irllrec_ctx *ctx, const char *path, int64_t *nu, int64_t *ni,
                                 int *present)
{
    text_buf tb;
    int absent;
    irllrec_status st;
    *nu = *ni = -1;
    IRL_TRY(read_file(ctx, path, 1, &tb, &absent));
    *present = !absent;
    if (absent) return IRLLREC_OK;
    st = irllrec__stats_scan(ctx, path, tb.data, tb.len, nu, ni);
    irllrec__free(ctx, tb.data, tb.cap);
    return st;
}

/* A shape the pairs cannot plausibly need is refused before the CSR arrays
 * (O(n_users + n_items)) are allocated: each side at most
 * IRLLREC_X_DATASET_MAX_SIDE and at most IRLLREC_X_DATASET_FREE_SIDE +
 * IRLLREC_X_DATASET_SIDE_PER_PAIR x (pairs of all splits). The message names
 * stats.json's key, or the file, line and id the size was inferred from. */
static irllrec_status check_plausible(irllrec_ctx *ctx, const char *dir, const char *stats_path,
                                      const char *side, const char *key, int64_t n, int from_stats,
                                      const id_max *mx, int64_t n_pairs)
{
    int64_t lim = IRLLREC_X_DATASET_FREE_SIDE + IRLLREC_X_DATASET_SIDE_PER_PAIR * n_pairs;
    char path[4096];
    if (lim > IRLLREC_X_DATASET_MAX_SIDE) lim = IRLLREC_X_DATASET_MAX_SIDE;
    if (n <= lim) return IRLLREC_OK;
    if (from_stats)
        return irllrec__fail(ctx, IRLLREC_E_SHAPE, "irllrec_x_dataset_load",
                             "%s: \"%s\" = %lld is implausible for %lld pairs: at most %lld %s "
                             "(%lld + %lld per pair, capped at %lld; docs/data-format.md)",
                             stats_path, key, (long long)n, (long long)n_pairs, (long long)lim,
                             side, (long long)IRLLREC_X_DATASET_FREE_SIDE,
                             (long long)IRLLREC_X_DATASET_SIDE_PER_PAIR,
                             (long long)IRLLREC_X_DATASET_MAX_SIDE);
    if (join(ctx, "irllrec_x_dataset_load", path, sizeof path, dir, split_files[mx->split]) !=
        IRLLREC_OK)
        return IRLLREC_E_INVALID_ARG;
    return irllrec__fail(ctx, IRLLREC_E_SHAPE, "irllrec_x_dataset_load",
                         "%s:%lld: %s id %lld is implausible for %lld pairs: it would make "
                         "%lld %s, at most %lld (%lld + %lld per pair, capped at %lld; "
                         "docs/data-format.md)",
                         path, (long long)mx->line, side[0] == 'u' ? "user" : "item",
                         (long long)mx->id, (long long)n_pairs, (long long)n, side,
                         (long long)lim,
                         (long long)IRLLREC_X_DATASET_FREE_SIDE,
                         (long long)IRLLREC_X_DATASET_SIDE_PER_PAIR,
                         (long long)IRLLREC_X_DATASET_MAX_SIDE);
}

irllrec_status irllrec_x_dataset_load(irllrec_ctx *ctx, const char *dir, irllrec_x_dataset **out)
{
    char path[4096], stats_path[4096];
    int64_t nu_stat, ni_stat, nu, ni;
    id_max max_u = {-1, 0, 0}, max_i = {-1, 0, 0};
    int present = 0;
    pairs pr[3];
    irllrec_x_dataset *ds = NULL;
    irllrec_status st = IRLLREC_OK;
    if (out == NULL) return irllrec__fail(ctx, IRLLREC_E_INVALID_ARG, __func__, "out is NULL");
    *out = NULL;
    if (ctx == NULL) return IRLLREC_E_INVALID_ARG;
    IRL_CHECK(ctx, dir != NULL, IRLLREC_E_INVALID_ARG, "dir is NULL");
    IRL_TRY(join(ctx, __func__, stats_path, sizeof stats_path, dir, "stats.json"));
    IRL_TRY(load_stats(ctx, stats_path, &nu_stat, &ni_stat, &present));
    if (present && (nu_stat < 0 || ni_stat < 0))
        irllrec__log(ctx, IRLLREC_LOG_WARN,
                     "%s: %s lacks \"n_users\" or \"n_items\"; that size is inferred from the ids",
                     __func__, stats_path);

    memset(pr, 0, sizeof pr);
    for (int s = 0; s < 3 && st == IRLLREC_OK; s++) {
        st = join(ctx, __func__, path, sizeof path, dir, split_files[s]);
        if (st == IRLLREC_OK)
            st = load_split(ctx, path, s != IRLLREC_SPLIT_TRAIN, nu_stat > 0 ? nu_stat : 0,
                            ni_stat > 0 ? ni_stat : 0, stats_path, &pr[s], s, &max_u, &max_i);
    }
    if (st == IRLLREC_OK) {
        int64_t n_pairs = pr[0].n + pr[1].n + pr[2].n;
        nu = nu_stat > 0 ? nu_stat : max_u.id + 1;
        ni = ni_stat > 0 ? ni_stat : max_i.id + 1;
        if (nu < 1 || ni < 1)
            st = irllrec__fail(ctx, IRLLREC_E_SHAPE, __func__,
                               "%s: no stats.json size and no ids to infer it from (%lld users, "
                               "%lld items)", dir, (long long)nu, (long long)ni);
        else
            st = check_shape(ctx, __func__, nu, ni);
        if (st == IRLLREC_OK)
            st = check_plausible(ctx, dir, stats_path, "users", "n_users", nu, nu_stat > 0, &max_u,
                                 n_pairs);
        if (st == IRLLREC_OK)
            st = check_plausible(ctx, dir, stats_path, "items", "n_items", ni, ni_stat > 0, &max_i,
                                 n_pairs);
    }
    if (st == IRLLREC_OK) {
        st = irllrec__dataset_alloc(ctx, __func__, nu, ni, &ds);
        if (st == IRLLREC_E_NOMEM)
            irllrec__fail(ctx, st, __func__,
                          "%s: out of memory allocating the CSR arrays (both directions, 3 splits) "
                          "for %lld users x %lld items, %lld pairs",
                          dir, (long long)nu, (long long)ni,
                          (long long)(pr[0].n + pr[1].n + pr[2].n));
    }
    for (int32_t s = 0; s < 3 && st == IRLLREC_OK; s++)
        st = irllrec__dataset_fill_split(ds, __func__, s, pr[s].u, pr[s].it, pr[s].n);
    for (int s = 0; s < 3; s++) pairs_free(ctx, &pr[s]);
    if (st != IRLLREC_OK) {
        irllrec_x_dataset_free(ds);
        return st;
    }
    *out = ds;
    return IRLLREC_OK;
}

/* ---- accessors ------------------------------------------------------ */

int64_t irllrec_x_dataset_n_users(const irllrec_x_dataset *ds) { return ds ? ds->n_users : -1; }
int64_t irllrec_x_dataset_n_items(const irllrec_x_dataset *ds) { return ds ? ds->n_items : -1; }

static irllrec_status view(const irllrec_x_dataset *ds, int32_t split, irllrec_csr *out,
                           int by_item, const char *func)
{
    const irllrec__split *sp;
    if (ds == NULL) return IRLLREC_E_INVALID_ARG;
    if (out == NULL) return irllrec__fail(ds->ctx, IRLLREC_E_INVALID_ARG, func, "out is NULL");
    if (split < 0 || split > 2)
        return irllrec__fail(ds->ctx, IRLLREC_E_INVALID_ARG, func, "split %d is not 0, 1 or 2",
                             (int)split);
    sp = &ds->split[split];
    out->n_rows = by_item ? ds->n_items : ds->n_users;
    out->n_cols = by_item ? ds->n_users : ds->n_items;
    out->nnz = sp->nnz;
    out->indptr = by_item ? sp->i_ptr : sp->u_ptr;
    out->indices = by_item ? sp->i_idx : sp->u_idx;
    return IRLLREC_OK;
}

irllrec_status irllrec_x_dataset_user_items(const irllrec_x_dataset *ds, int32_t split,
                                          irllrec_csr *out)
{
    return view(ds, split, out, 0, __func__);
}

irllrec_status irllrec_x_dataset_item_users(const irllrec_x_dataset *ds, int32_t split,
                                          irllrec_csr *out)
{
    return view(ds, split, out, 1, __func__);
}
